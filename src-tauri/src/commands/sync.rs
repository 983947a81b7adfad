//! Sync: pairing, the status bar, end-of-day sync with progress events, needs-attention.

use super::orders::approval;
use crate::error::CmdResult;
use crate::state::AppState;
use pos_core::{AttentionItem, SyncProgress, SyncReport, SyncStatus};
use pos_domain::StaffId;
use tauri::{AppHandle, Emitter, Runtime, State};
use uuid::Uuid;

/// The event carrying [`SyncProgress`] while an end-of-day sync runs.
pub const PROGRESS_EVENT: &str = "sync-progress";

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> CmdResult<SyncStatus> {
    Ok(state.sync()?.status(state.store()?).await?)
}

#[tauri::command]
pub async fn pair_device(
    state: State<'_, AppState>,
    server_url: String,
    code: String,
    device_name: String,
) -> CmdResult<SyncStatus> {
    let session = state.session()?;
    let (store, sync) = (state.store()?, state.sync()?);
    sync.pair(
        store,
        state.keys.as_ref(),
        &session,
        &server_url,
        &code,
        &device_name,
    )
    .await?;
    Ok(sync.status(store).await?)
}

#[tauri::command]
pub async fn unpair_device(state: State<'_, AppState>) -> CmdResult<SyncStatus> {
    let session = state.session()?;
    let store = state.store()?;
    store.unpair(&session, state.keys.as_ref()).await?;
    Ok(state.sync()?.status(store).await?)
}

/// A full sync now (the end-of-day button), then the end-of-day backup; progress goes out as
/// `sync-progress` events.
#[tauri::command]
pub async fn sync_now<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<SyncReport> {
    state.session()?;
    let emit = move |p: SyncProgress| {
        let _ = app.emit(PROGRESS_EVENT, p);
    };
    let store = state.store()?;
    let report = state.sync()?.sync(store, state.keys.as_ref(), &emit).await;
    super::backup::end_of_day(store, state.keys.as_ref()).await;
    Ok(report?)
}

#[tauri::command]
pub async fn needs_attention(state: State<'_, AppState>) -> CmdResult<Vec<AttentionItem>> {
    let session = state.session()?;
    Ok(state.store()?.needs_attention(&session).await?)
}

#[tauri::command]
pub async fn retry_attention(state: State<'_, AppState>, mutation_id: Uuid) -> CmdResult<()> {
    let session = state.session()?;
    state
        .store()?
        .retry_attention(&session, mutation_id)
        .await?;
    state.changed();
    Ok(())
}

#[tauri::command]
pub async fn discard_attention(
    state: State<'_, AppState>,
    mutation_id: Uuid,
    reason: String,
    approver_id: Option<StaffId>,
    approver_pin: Option<String>,
) -> CmdResult<()> {
    let session = state.session()?;
    let approval = approval(approver_id, approver_pin)?;
    Ok(state
        .store()?
        .discard_attention(&session, mutation_id, &reason, approval)
        .await?)
}
