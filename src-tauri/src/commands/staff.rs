use crate::error::CmdResult;
use crate::state::AppState;
use pos_core::{Pin, Session, StaffMember};
use pos_domain::{Role, StaffId};
use tauri::State;

#[tauri::command]
pub async fn login(
    state: State<'_, AppState>,
    staff_id: StaffId,
    pin: String,
) -> CmdResult<Session> {
    let pin = Pin::new(&pin)?;
    let session = state.store()?.login(staff_id, pin).await?;
    state.set_session(Some(session.clone()));
    Ok(session)
}

/// Locks the counter: the next person logs in with their own PIN.
#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> CmdResult<()> {
    if let Some(session) = state.current_session() {
        state.set_session(None);
        state.store()?.logout(&session).await?;
    }
    Ok(())
}

#[tauri::command]
pub async fn list_staff(state: State<'_, AppState>) -> CmdResult<Vec<StaffMember>> {
    Ok(state.store()?.list_staff().await?)
}

#[tauri::command]
pub async fn add_staff(
    state: State<'_, AppState>,
    name: String,
    role: Role,
    pin: String,
) -> CmdResult<StaffMember> {
    let session = state.session()?;
    let pin = Pin::new(&pin)?;
    Ok(state.store()?.add_staff(&session, &name, role, pin).await?)
}
