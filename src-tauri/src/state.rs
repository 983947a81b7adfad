//! What the shell keeps between commands: the open store (or why it could not open) and who
//! is logged in at this counter.

use crate::error::{CmdResult, CommandError};
use pos_core::{Session, Store};
use std::sync::Mutex;

pub struct AppState {
    store: Result<Store, CommandError>,
    session: Mutex<Option<Session>>,
}

impl AppState {
    pub fn new(store: Result<Store, CommandError>) -> Self {
        AppState {
            store,
            session: Mutex::new(None),
        }
    }

    pub fn store(&self) -> CmdResult<&Store> {
        self.store.as_ref().map_err(Clone::clone)
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
