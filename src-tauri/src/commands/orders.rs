use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use chrono::NaiveDate;
use pos_core::orders::Dashboard;
use pos_core::{
    ApprovalInput, ListQuery, NewOrder, OrderDetail, OrderEdit, OrderPage, OrderPreview,
    PaymentInput, Pin, PreviewInput,
};
use pos_domain::{OrderId, PaymentId, StaffId};
use tauri::State;

/// The approver a cashier's screen collected: both the manager and their PIN, or neither.
pub(crate) fn approval(
    approver_id: Option<StaffId>,
    approver_pin: Option<String>,
) -> CmdResult<Option<ApprovalInput>> {
    match (approver_id, approver_pin) {
        (Some(approver_id), Some(pin)) => Ok(Some(ApprovalInput {
            approver_id,
            pin: Pin::new(&pin)?,
        })),
        (None, None) => Ok(None),
        _ => Err(CommandError {
            code: "approval_incomplete".into(),
            message: "Choose the approving manager and enter their PIN".into(),
            field: Some("pin".into()),
            params: None,
        }),
    }
}

#[tauri::command]
pub async fn preview_order(
    state: State<'_, AppState>,
    input: PreviewInput,
) -> CmdResult<OrderPreview> {
    state.session()?;
    Ok(state.store()?.preview_order(input)?)
}

#[tauri::command]
pub async fn create_order(state: State<'_, AppState>, input: NewOrder) -> CmdResult<OrderDetail> {
    let session = state.session()?;
    let order = state.store()?.create_order(&session, input).await?;
    state.changed();
    Ok(order)
}

#[tauri::command]
pub async fn list_orders(state: State<'_, AppState>, query: ListQuery) -> CmdResult<OrderPage> {
    let session = state.session()?;
    Ok(state.store()?.list_orders(&session, query).await?)
}

#[tauri::command]
pub async fn get_order(state: State<'_, AppState>, id: OrderId) -> CmdResult<OrderDetail> {
    let session = state.session()?;
    Ok(state.store()?.get_order(&session, id).await?)
}

#[tauri::command]
pub async fn record_payment(
    state: State<'_, AppState>,
    id: OrderId,
    payment: PaymentInput,
) -> CmdResult<OrderDetail> {
    let session = state.session()?;
    let order = state.store()?.record_payment(&session, id, payment).await?;
    state.changed();
    Ok(order)
}

#[tauri::command]
pub async fn update_order(
    state: State<'_, AppState>,
    id: OrderId,
    version: u32,
    edit: OrderEdit,
) -> CmdResult<OrderDetail> {
    let session = state.session()?;
    let order = state
        .store()?
        .update_order(&session, id, version, edit)
        .await?;
    state.changed();
    Ok(order)
}

#[tauri::command]
pub async fn complete_order(state: State<'_, AppState>, id: OrderId) -> CmdResult<OrderDetail> {
    let session = state.session()?;
    let order = state.store()?.complete_order(&session, id).await?;
    state.changed();
    Ok(order)
}

/// An owner or manager deletes with a reason; a cashier's deletion also carries the approving
/// manager's id and PIN, which the core checks and audits. With `refund`, the payments still
/// standing on the order are reversed first, under the same approval.
#[tauri::command]
pub async fn delete_order(
    state: State<'_, AppState>,
    id: OrderId,
    reason: String,
    approver_id: Option<StaffId>,
    approver_pin: Option<String>,
    refund: Option<bool>,
) -> CmdResult<OrderDetail> {
    let session = state.session()?;
    let approval = approval(approver_id, approver_pin)?;
    let store = state.store()?;
    let order = if refund.unwrap_or(false) {
        store
            .refund_and_delete_order(&session, id, &reason, approval)
            .await?
    } else {
        store.delete_order(&session, id, &reason, approval).await?
    };
    state.changed();
    Ok(order)
}

/// Reverses (refunds) one payment in full; approved as a deletion is.
#[tauri::command]
pub async fn reverse_payment(
    state: State<'_, AppState>,
    id: OrderId,
    payment_id: PaymentId,
    reason: String,
    approver_id: Option<StaffId>,
    approver_pin: Option<String>,
) -> CmdResult<OrderDetail> {
    let session = state.session()?;
    let approval = approval(approver_id, approver_pin)?;
    let order = state
        .store()?
        .reverse_payment(&session, id, payment_id, &reason, approval)
        .await?;
    state.changed();
    Ok(order)
}

#[tauri::command]
pub async fn dashboard(
    state: State<'_, AppState>,
    from: NaiveDate,
    to: NaiveDate,
) -> CmdResult<Dashboard> {
    let session = state.session()?;
    Ok(state.store()?.dashboard(&session, from, to).await?)
}
