use crate::error::CmdResult;
use crate::state::AppState;
use pos_core::{AuditFilter, ChainReport};
use pos_protocol::AuditEvent;
use tauri::State;

/// A page of the audit log, with what a person reads for the entities it names (order
/// numbers, staff names) by entity id.
#[derive(Debug, serde::Serialize, ts_rs::TS)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub labels: std::collections::BTreeMap<String, String>,
}

#[tauri::command]
pub async fn list_audit_events(
    state: State<'_, AppState>,
    filter: AuditFilter,
) -> CmdResult<AuditPage> {
    let session = state.session()?;
    let store = state.store()?;
    let events = store.list_audit_events(&session, filter).await?;
    let labels = store.audit_entity_labels(&events).await?;
    Ok(AuditPage { events, labels })
}

#[tauri::command]
pub async fn verify_audit_chain(state: State<'_, AppState>) -> CmdResult<ChainReport> {
    let session = state.session()?;
    Ok(state.store()?.verify_audit_chain(&session).await?)
}
