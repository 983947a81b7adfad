//! The TypeScript declarations of every type the UI sends or receives, generated from the Rust
//! types by ts-rs into `ui/src/bindings/`. The test below regenerates them and fails when the
//! committed files differ (run it with `UPDATE_BINDINGS=1` to rewrite them).

use std::path::Path;
use ts_rs::{ExportError, TS};

/// Writes the declarations of the commands' argument and result types (and everything they
/// refer to) into `dir`, one file per type.
pub fn export_all(dir: &Path) -> Result<(), ExportError> {
    // serde_json writes u64/i64 as JSON numbers; every count here is far below 2^53.
    let cfg = ts_rs::Config::new()
        .with_large_int("number")
        .with_out_dir(dir);
    macro_rules! export {
        ($($t:ty),* $(,)?) => {
            $( <$t as TS>::export_all(&cfg)?; )*
        };
    }
    export!(
        crate::commands::app::AppStatus,
        crate::error::CommandError,
        pos_core::SetupInput,
        pos_core::Session,
        pos_core::StaffMember,
        pos_core::NewOrder,
        pos_core::OrderEdit,
        pos_core::PaymentInput,
        pos_core::ListQuery,
        pos_core::OrderPage,
        pos_core::OrderDetail,
        pos_core::PreviewInput,
        pos_core::OrderPreview,
        pos_core::orders::Dashboard,
        pos_core::AuditFilter,
        pos_core::ChainReport,
        pos_core::AppSettings,
        pos_core::SyncStatus,
        pos_core::SyncProgress,
        pos_core::SyncReport,
        pos_core::AttentionItem,
        pos_core::backup::BackupStatus,
        pos_core::backup::BackupConfig,
        pos_core::backup::BackupRecord,
        pos_core::backup::BackupHeader,
        crate::commands::audit::AuditPage,
        pos_protocol::AuditEvent,
        pos_domain::Role,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn read_dir(dir: &Path) -> BTreeMap<String, String> {
        std::fs::read_dir(dir)
            .map(|it| {
                it.filter_map(|e| e.ok())
                    .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
                    .map(|e| {
                        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                        (e.file_name().to_string_lossy().into_owned(), text)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The committed `ui/src/bindings` must be exactly what the Rust types generate.
    #[test]
    fn typescript_bindings_are_current() {
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings");
        let fresh = tempfile::tempdir().unwrap();
        super::export_all(fresh.path()).unwrap();
        let generated = read_dir(fresh.path());
        assert!(
            generated.contains_key("OrderDetail.ts"),
            "{:?}",
            generated.keys()
        );
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed);
            std::fs::create_dir_all(&committed).unwrap();
            for (name, text) in &generated {
                std::fs::write(committed.join(name), text).unwrap();
            }
        }
        let on_disk = read_dir(&committed);
        let stale: Vec<_> = generated
            .keys()
            .chain(on_disk.keys())
            .filter(|k| generated.get(*k) != on_disk.get(*k))
            .collect();
        assert!(
            stale.is_empty(),
            "ui/src/bindings is out of date for {stale:?}: run `UPDATE_BINDINGS=1 cargo test -p offline-order-pos bindings`"
        );
    }
}
