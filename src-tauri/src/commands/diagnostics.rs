//! "Export diagnostics" (Settings): one text file for support with the versions, the platform,
//! the sync and backup state and the recent log lines. No PII: the status structures hold
//! counts, codes and times, the backup folder is only said to be set, and the logs never
//! hold customer data.

use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use std::io::Write;
use std::path::{Path, PathBuf};
use tauri::{AppHandle, Manager, Runtime, State};

/// Log files are `<prefix>.<date>.log` in the app's log directory.
pub const LOG_PREFIX: &str = "offline-order-pos";
/// The most log bytes a report carries (the newest).
const MAX_LOG_BYTES: usize = 512 * 1024;

/// The newest log lines across the rotated files, oldest first, at most `max` bytes.
pub fn recent_logs(dir: &Path, max: usize) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(LOG_PREFIX) && n.ends_with(".log"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut text = String::new();
    for f in files {
        if let Ok(s) = std::fs::read_to_string(&f) {
            text.push_str(&s);
        }
    }
    if text.len() > max {
        let mut cut = text.len() - max;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        // from the next whole line
        let from = text[cut..].find('\n').map_or(cut, |i| cut + i + 1);
        text = text[from..].to_owned();
    }
    text
}

/// Writes the report to `folder` and answers its path.
#[tauri::command]
pub async fn export_diagnostics<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    folder: String,
) -> CmdResult<String> {
    state.session()?;
    let folder = PathBuf::from(folder);
    if !folder.is_dir() {
        return Err(CommandError {
            field: Some("folder".into()),
            ..CommandError::new("folder_unavailable", "Pick a folder that exists")
        });
    }
    let store = state.store()?;
    let sync = state.sync()?.status(store).await?;
    let backup = store.backup_status().await?;
    let mut report = String::new();
    let now = store.now();
    report.push_str("Offline Order POS — diagnostics\n");
    report.push_str(&format!("generated_at: {}\n", now.to_rfc3339()));
    report.push_str(&format!("app_version: {}\n", env!("CARGO_PKG_VERSION")));
    report.push_str(&format!("tauri: {}\n", tauri::VERSION));
    report.push_str(&format!(
        "platform: {} {} ({})\n",
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::env::consts::FAMILY
    ));
    report.push_str(&format!("keyring: {}\n", state.keys.backend().name()));
    report.push_str(&format!("device_id: {}\n", store.device_id()));
    if let Some(shop) = store.config() {
        report.push_str(&format!(
            "counter: {} currency={} time_zone={}\n",
            shop.device_code,
            shop.currency.code(),
            shop.time_zone.as_deref().unwrap_or("(not paired)")
        ));
    }
    report.push_str(&format!(
        "sync: paired={} online={:?} pending={} needs_attention={} last_success_at={:?} clock_offset_ms={:?} last_error={:?}\n",
        sync.paired,
        sync.online,
        sync.pending,
        sync.needs_attention,
        sync.last_success_at.map(|t| t.to_rfc3339()),
        sync.clock_offset_ms,
        sync.last_error.as_ref().map(|e| e.code.as_str()),
    ));
    report.push_str(&format!(
        "backup: passphrase_set={} folder_set={} keep={} last_success_at={:?} last_failure={:?} attention={:?}\n",
        backup.passphrase_set,
        backup.config.folder.is_some(),
        backup.config.keep,
        backup.last_success.as_ref().map(|r| r.at.to_rfc3339()),
        backup.last_failure.as_ref().map(|f| f.code.as_str()),
        backup.attention,
    ));
    let logs = app
        .path()
        .app_log_dir()
        .map(|d| recent_logs(&d, MAX_LOG_BYTES))
        .unwrap_or_default();
    report.push_str("\n--- recent log ---\n");
    report.push_str(&logs);
    let name = format!(
        "offline-order-pos-diagnostics-{}.txt",
        now.format("%Y%m%d-%H%M%S")
    );
    let path = folder.join(name);
    let written = std::fs::File::create(&path).and_then(|mut f| {
        f.write_all(report.as_bytes())?;
        f.sync_all()
    });
    written.map_err(|e| {
        CommandError::new(
            "export_failed",
            format!("The diagnostics could not be written: {}", e.kind()),
        )
    })?;
    Ok(path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_logs_reads_rotated_files_oldest_first_and_keeps_the_newest_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("offline-order-pos.2026-11-29.log"), "a1\na2\n").unwrap();
        std::fs::write(p("offline-order-pos.2026-11-30.log"), "b1\nb2\n").unwrap();
        std::fs::write(p("other.log"), "x\n").unwrap();
        assert_eq!(recent_logs(dir.path(), 1000), "a1\na2\nb1\nb2\n");
        assert_eq!(recent_logs(dir.path(), 7), "b1\nb2\n");
        assert_eq!(recent_logs(&p("missing"), 10), "");
    }
}
