//! What the shell keeps between commands: the open store (or why it could not open) and who
//! is logged in at this counter.

use crate::error::{CmdResult, CommandError};
use pos_core::{OsKeyring, Session, Store, SyncClient};
use std::sync::{Arc, Mutex};

pub struct AppState {
    store: Result<Arc<Store>, CommandError>,
    session: Mutex<Option<Session>>,
    /// The OS keyring: the data key and, once paired, the device secret.
    pub keys: Arc<OsKeyring>,
    sync: Result<Arc<SyncClient>, CommandError>,
}

impl AppState {
    pub fn new(
        store: Result<Store, CommandError>,
        keys: Arc<OsKeyring>,
        sync: Result<SyncClient, CommandError>,
    ) -> Self {
        AppState {
            store: store.map(Arc::new),
            session: Mutex::new(None),
            keys,
            sync: sync.map(Arc::new),
        }
    }

    pub fn store(&self) -> CmdResult<&Store> {
        self.store.as_deref().map_err(Clone::clone)
    }

    pub fn shared_store(&self) -> CmdResult<Arc<Store>> {
        self.store.clone()
    }

    pub fn sync(&self) -> CmdResult<&SyncClient> {
        self.sync.as_deref().map_err(Clone::clone)
    }

    pub fn shared_sync(&self) -> CmdResult<Arc<SyncClient>> {
        self.sync.clone()
    }

    /// Tells the background sync that something new is queued.
    pub fn changed(&self) {
        if let Ok(s) = &self.sync {
            s.wake();
        }
    }

    pub fn open_error(&self) -> Option<CommandError> {
        self.store.as_ref().err().cloned()
    }

    /// The logged-in staff member, or `not_logged_in` (the UI then shows the login screen).
    pub fn session(&self) -> CmdResult<Session> {
        self.session
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .ok_or_else(|| CommandError::new("not_logged_in", "Log in with your PIN first"))
    }

    pub fn current_session(&self) -> Option<Session> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    pub fn set_session(&self, session: Option<Session>) {
        if let Ok(mut s) = self.session.lock() {
            *s = session;
        }
    }
}
