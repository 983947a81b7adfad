//! Offline Order POS: the Tauri shell. It opens the store in the app data directory with its
//! key in the OS keyring, keeps who is logged in, and exposes pos-core through the commands in
//! [`commands`]. No business rules live here.

pub mod bindings;
pub mod commands;
pub mod error;
pub mod state;

use error::CommandError;
use pos_core::{KeyringBackend, OsKeyring, RetryPolicy, Store, SyncClient, SystemClock};
use state::AppState;
use std::sync::Arc;
use tauri::Manager;

/// The keyring service under which the data key is kept (one per app identity).
pub const KEYRING_SERVICE: &str = "id.offlineorderpos.desktop";

/// The store's file in the app data directory (created if missing).
pub fn store_path<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
) -> Result<std::path::PathBuf, CommandError> {
    let dir = app
        .path()
        .app_data_dir()
        .map_err(|e| CommandError::new("no_data_dir", format!("No app data directory: {e}")))?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        CommandError::new(
            "no_data_dir",
            format!(
                "The data directory {} cannot be created: {e}",
                dir.display()
            ),
        )
    })?;
    Ok(dir.join("orders.db"))
}

async fn open_store(app: &tauri::AppHandle, keys: &OsKeyring) -> Result<Store, CommandError> {
    let path = store_path(app)?;
    // not the path: it names the computer's user
    tracing::info!("opening the order store");
    // Right after a restart (a restore, an unlock) the previous process may still hold the
    // store for a moment as it exits: wait for it, a few seconds at most. (A second launch
    // never gets here: the single-instance plugin hands it over first.)
    let mut attempts = 0;
    loop {
        match Store::open(&path, keys, Arc::new(SystemClock)).await {
            Err(e) if e.code() == "store_in_use" && attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => return Ok(other?),
        }
    }
}

/// Shrinks and centres `window` when it is larger than its monitor (a size remembered on a
/// bigger screen, or the default on a small one).
fn fit_on_screen(window: &tauri::WebviewWindow) {
    let (Ok(Some(monitor)), Ok(size)) = (window.current_monitor(), window.outer_size()) else {
        return;
    };
    let screen = monitor.size();
    if size.width > screen.width || size.height > screen.height {
        let fitted =
            tauri::PhysicalSize::new(size.width.min(screen.width), size.height.min(screen.height));
        if let Err(e) = window.set_size(fitted).and_then(|()| window.center()) {
            tracing::warn!(error = %e, "could not fit the window on the screen");
        }
    }
}

/// How many daily log files are kept in the app's log directory.
pub const LOG_FILES_KEPT: usize = 7;

/// Logs go to stderr and to daily-rotated files in the app's log directory (the newest
/// [`LOG_FILES_KEPT`] kept), which "export diagnostics" reads. Nothing logged holds PII:
/// the core's messages name codes, counts and ids only.
fn init_logging(app: &tauri::AppHandle) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter =
        || tracing_subscriber::EnvFilter::try_from_env("POS_LOG").unwrap_or_else(|_| "info".into());
    let file = app.path().app_log_dir().ok().and_then(|dir| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix(commands::diagnostics::LOG_PREFIX)
            .filename_suffix("log")
            .max_log_files(LOG_FILES_KEPT)
            .build(dir)
            .map_err(|e| eprintln!("log files unavailable: {e}"))
            .ok()
    });
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let file = file.map(|w| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(w)
            .with_filter(filter())
    });
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
}

/// A second launch (a double click on the icon while the app runs) brings the running
/// window forward instead of failing on the store's lock.
fn focus_main(app: &tauri::AppHandle) {
    tracing::info!("second launch: focusing the running window");
    if let Some(w) = app.get_webview_window("main") {
        let shown = w
            .unminimize()
            .and_then(|()| w.show())
            .and_then(|()| w.set_focus());
        if let Err(e) = shown {
            tracing::warn!(error = %e, "could not focus the window");
        }
    }
}

pub fn run() {
    let result = tauri::Builder::default()
        // First: a second process hands over to the first and exits before opening anything.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            focus_main(app)
        }))
        .plugin(tauri_plugin_store::Builder::default().build())
        // Only the native "pick a folder / a file" dialogs (backups and restore).
        .plugin(tauri_plugin_dialog::init())
        // The window opens as the person last left it (size, position, maximized)...
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .setup(|app| {
            init_logging(app.handle());
            // ...and always within the screen it is on (a 1024×768 till included).
            if let Some(window) = app.get_webview_window("main") {
                fit_on_screen(&window);
            }
            let handle = app.handle().clone();
            let keys = Arc::new(OsKeyring::new(KEYRING_SERVICE, KeyringBackend::native()));
            let store = tauri::async_runtime::block_on(open_store(&handle, &keys));
            if let Err(e) = &store {
                // the code only: the message may name the data folder (and so the user)
                tracing::error!(code = %e.code, "the store did not open");
            }
            let sync = SyncClient::new(RetryPolicy::default()).map_err(CommandError::from);
            let keys_for_backup = keys.clone();
            app.manage(AppState::new(store, keys.clone(), sync));
            // Sync in the background whenever paired: every 30 s, at once after a change, and
            // with backoff while the service cannot be reached.
            let state = app.state::<AppState>();
            if let (Ok(store), Ok(sync)) = (state.shared_store(), state.shared_sync()) {
                tauri::async_runtime::spawn(sync.run_background(
                    store,
                    keys,
                    std::time::Duration::from_secs(30),
                ));
            }
            // The day's backup, once a day while the app runs (and at start).
            if let Ok(store) = state.shared_store() {
                tauri::async_runtime::spawn(commands::backup::daily(store, keys_for_backup));
            }
            // Build the customer search index in the background so the first search is quick.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = handle.state::<AppState>();
                if let Ok(store) = state.store() {
                    if let Err(e) = store.warm_search_index().await {
                        tracing::warn!(error = %e, "search index warm-up failed");
                    }
                }
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app::app_status,
            commands::app::setup,
            commands::staff::login,
            commands::staff::logout,
            commands::staff::list_staff,
            commands::staff::add_staff,
            commands::orders::preview_order,
            commands::orders::create_order,
            commands::orders::list_orders,
            commands::orders::get_order,
            commands::orders::record_payment,
            commands::orders::update_order,
            commands::orders::complete_order,
            commands::orders::delete_order,
            commands::orders::reverse_payment,
            commands::orders::dashboard,
            commands::audit::list_audit_events,
            commands::audit::verify_audit_chain,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::sync::sync_status,
            commands::sync::pair_device,
            commands::sync::unpair_device,
            commands::sync::sync_now,
            commands::sync::needs_attention,
            commands::sync::retry_attention,
            commands::sync::discard_attention,
            commands::backup::backup_status,
            commands::backup::set_recovery_passphrase,
            commands::backup::save_backup_config,
            commands::backup::backup_now,
            commands::backup::restore_backup,
            commands::backup::finish_restore,
            commands::backup::unlock_with_recovery,
            commands::diagnostics::export_diagnostics,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "the app stopped with an error");
        std::process::exit(1);
    }
}
