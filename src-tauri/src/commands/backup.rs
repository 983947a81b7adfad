//! Backups: the recovery passphrase, the folder, a backup now, the status the top bar shows,
//! and restoring a backup on the setup screen (the app restarts to finish it).

use crate::error::CmdResult;
use crate::state::AppState;
use pos_core::backup::{BackupConfig, BackupHeader, BackupReason, BackupRecord, BackupStatus};
use pos_core::{OsKeyring, Store};
use std::sync::Arc;
use tauri::{AppHandle, Runtime, State};

#[tauri::command]
pub async fn backup_status(state: State<'_, AppState>) -> CmdResult<BackupStatus> {
    Ok(state.store()?.backup_status().await?)
}

#[tauri::command]
pub async fn set_recovery_passphrase(
    state: State<'_, AppState>,
    passphrase: String,
) -> CmdResult<BackupStatus> {
    let session = state.session()?;
    let store = state.store()?;
    let passphrase = zeroize::Zeroizing::new(passphrase);
    store
        .set_recovery_passphrase(&session, &passphrase, state.keys.as_ref())
        .await?;
    Ok(store.backup_status().await?)
}

#[tauri::command]
pub async fn save_backup_config(
    state: State<'_, AppState>,
    config: BackupConfig,
) -> CmdResult<BackupStatus> {
    let session = state.session()?;
    let store = state.store()?;
    store.save_backup_config(&session, config).await?;
    Ok(store.backup_status().await?)
}

#[tauri::command]
pub async fn backup_now(state: State<'_, AppState>) -> CmdResult<BackupRecord> {
    let session = state.session()?;
    Ok(state
        .store()?
        .backup(Some(&session), state.keys.as_ref(), BackupReason::OnDemand)
        .await?)
}

/// Checks the backup with its passphrase and stages it; the UI then calls
/// [`finish_restore`]. Only on a new install's setup screen (the core refuses otherwise).
#[tauri::command]
pub async fn restore_backup(
    state: State<'_, AppState>,
    file: String,
    passphrase: String,
) -> CmdResult<BackupHeader> {
    let passphrase = zeroize::Zeroizing::new(passphrase);
    Ok(state
        .store()?
        .stage_restore(
            std::path::Path::new(&file),
            &passphrase,
            state.keys.as_ref(),
            state.sync()?,
        )
        .await?)
}

/// Restarts the app to open the restored store (only while a restore is staged).
#[tauri::command]
pub async fn finish_restore<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<()> {
    if !state.store()?.restore_staged() {
        return Err(crate::error::CommandError::new(
            "no_restore",
            "No backup is waiting to be restored",
        ));
    }
    tracing::info!("restarting to open the restored store");
    app.restart()
}

/// Takes the day's backup when it is due: at start, then hourly while the app runs. A failure
/// is recorded (the top bar shows it) and tried again the next hour.
pub async fn daily(store: Arc<Store>, keys: Arc<OsKeyring>) {
    loop {
        if let Err(e) = store.backup_if_due(keys.as_ref()).await {
            tracing::warn!(code = e.code(), "the daily backup failed");
        }
        tokio::time::sleep(std::time::Duration::from_secs(60 * 60)).await;
    }
}

/// After an end-of-day sync: the day's end-of-day backup (see
/// [`Store::backup_at_end_of_day`]). Its failure is recorded and shown in the top bar; it does
/// not fail the sync.
pub async fn end_of_day(store: &Store, keys: &OsKeyring) {
    if let Err(e) = store.backup_at_end_of_day(keys).await {
        tracing::warn!(code = e.code(), "the end-of-day backup failed");
    }
}

/// On the "the store did not open" screen, when the OS keyring lost the data key: the recovery
/// passphrase puts it back (see [`pos_core::backup::unlock_with_passphrase`]), then the app
/// restarts on the store.
#[tauri::command]
pub async fn unlock_with_recovery<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    passphrase: String,
) -> CmdResult<()> {
    if state.open_error().is_none_or(|e| e.code != "key_error") {
        return Err(crate::error::CommandError::new(
            "not_locked",
            "The store is open: nothing to unlock",
        ));
    }
    let passphrase = zeroize::Zeroizing::new(passphrase);
    let path = crate::store_path(&app)?;
    pos_core::backup::unlock_with_passphrase(&path, &passphrase, state.keys.as_ref()).await?;
    tracing::info!("the data key is back in the keyring; restarting");
    app.restart()
}
