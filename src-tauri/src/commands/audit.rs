use crate::error::CmdResult;
use crate::state::AppState;
use pos_core::{AuditFilter, ChainReport};
use pos_protocol::AuditEvent;
use tauri::State;

#[tauri::command]
pub async fn list_audit_events(
    state: State<'_, AppState>,
    filter: AuditFilter,
) -> CmdResult<Vec<AuditEvent>> {
    let session = state.session()?;
    Ok(state.store()?.list_audit_events(&session, filter).await?)
}

#[tauri::command]
pub async fn verify_audit_chain(state: State<'_, AppState>) -> CmdResult<ChainReport> {
    let session = state.session()?;
    Ok(state.store()?.verify_audit_chain(&session).await?)
}
