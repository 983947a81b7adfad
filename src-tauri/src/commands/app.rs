use crate::error::CmdResult;
use crate::state::AppState;
use pos_core::{Pin, Session, SetupInput, ShopConfig, StaffMember};
use serde::Serialize;
use tauri::State;

/// What the UI needs to pick its first screen.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct AppStatus {
    /// Why the store could not be opened (e.g. the OS keyring is unavailable), if it could not.
    pub open_error: Option<crate::error::CommandError>,
    pub shop: Option<ShopConfig>,
    pub staff: Vec<StaffMember>,
    pub session: Option<Session>,
    /// Every currency and its minor unit, from `pos_domain::Currency`: the UI reads and shows
    /// amounts with these (no second table).
    pub currencies: Vec<CurrencyInfo>,
}

/// A currency and the digits after the decimal point of its smallest unit in use.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct CurrencyInfo {
    pub code: pos_domain::Currency,
    pub minor_units: u32,
}

fn currencies() -> Vec<CurrencyInfo> {
    pos_domain::Currency::ALL
        .iter()
        .map(|c| CurrencyInfo {
            code: *c,
            minor_units: c.minor_units(),
        })
        .collect()
}

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> CmdResult<AppStatus> {
    if let Some(e) = state.open_error() {
        return Ok(AppStatus {
            open_error: Some(e),
            shop: None,
            staff: vec![],
            session: None,
            currencies: currencies(),
        });
    }
    let store = state.store()?;
    let shop = store.config();
    let staff = if shop.is_some() {
        store.list_staff().await?
    } else {
        vec![]
    };
    Ok(AppStatus {
        open_error: None,
        shop,
        staff,
        session: state.current_session(),
        currencies: currencies(),
    })
}

/// Sets the shop up; with `recovery_passphrase` (the setup screen asks for it), the data key
/// is wrapped under it at once, so backups can be taken from the first day.
#[tauri::command]
pub async fn setup(
    state: State<'_, AppState>,
    input: SetupInput,
    owner_pin: String,
    recovery_passphrase: Option<String>,
) -> CmdResult<Session> {
    let pin = Pin::new(&owner_pin)?;
    let passphrase = recovery_passphrase.map(zeroize::Zeroizing::new);
    if let Some(p) = &passphrase {
        // checked before anything is written
        pos_domain::backup::passphrase("recovery_passphrase", p)?;
    }
    let store = state.store()?;
    let session = store.setup(input, pin).await?;
    state.set_session(Some(session.clone()));
    if let Some(p) = &passphrase {
        store
            .set_recovery_passphrase(&session, p, state.keys.as_ref())
            .await?;
    }
    Ok(session)
}
