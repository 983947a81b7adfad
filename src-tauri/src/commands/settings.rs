//! Settings live in the Tauri store plugin's `settings.json`, validated by pos-core.

use crate::error::{CmdResult, CommandError};
use pos_core::AppSettings;
use tauri::{AppHandle, Runtime};
use tauri_plugin_store::StoreExt;

const FILE: &str = "settings.json";
const KEY: &str = "settings";

fn store_error(e: impl std::fmt::Display) -> CommandError {
    tracing::error!(error = %e, "settings store");
    CommandError::new(
        "settings_unavailable",
        "Settings could not be read or saved",
    )
}

#[tauri::command]
pub async fn get_settings<R: Runtime>(app: AppHandle<R>) -> CmdResult<AppSettings> {
    let store = app.store(FILE).map_err(store_error)?;
    Ok(store
        .get(KEY)
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// Saving needs someone logged in (reading does not: the login screen shows the language).
#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    state: tauri::State<'_, crate::state::AppState>,
    settings: AppSettings,
) -> CmdResult<AppSettings> {
    state.session()?;
    let settings = settings.validated()?;
    let store = app.store(FILE).map_err(store_error)?;
    store.set(KEY, serde_json::to_value(&settings).map_err(store_error)?);
    store.save().map_err(store_error)?;
    Ok(settings)
}
