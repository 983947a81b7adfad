//! The one error shape the UI receives from every command.

use pos_core::StoreError;
use pos_domain::ValidationError;
use serde::Serialize;

/// `code` is stable (the UI translates by it), `field` names the input it concerns,
/// `message` is the core's English text, shown when the UI has no translation for the code,
/// and `params` the values that text names (a translation names them too).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CommandError {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub params: Option<std::collections::BTreeMap<String, String>>,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CommandError {
            code: code.into(),
            message: message.into(),
            field: None,
            params: None,
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        // Internal failures are logged in full here and shown generically: their text may name
        // files or SQL, which a cashier cannot act on.
        let internal = e.is_internal();
        if internal {
            tracing::error!(error = %e, "command failed");
        }
        CommandError {
            code: e.code().to_owned(),
            message: if internal {
                StoreError::INTERNAL_MESSAGE.into()
            } else {
                e.to_string()
            },
            field: e.field().map(str::to_owned),
            params: {
                let p = e.params();
                (!p.is_empty()).then(|| p.into_iter().collect())
            },
        }
    }
}

impl From<pos_core::SyncError> for CommandError {
    fn from(e: pos_core::SyncError) -> Self {
        match e {
            pos_core::SyncError::Store(inner) => inner.into(),
            other => {
                tracing::warn!(error = %other, "sync");
                CommandError {
                    code: other.code().to_owned(),
                    message: other.to_string(),
                    field: other.field().map(str::to_owned),
                    params: None,
                }
            }
        }
    }
}

impl From<ValidationError> for CommandError {
    fn from(e: ValidationError) -> Self {
        StoreError::from(e).into()
    }
}

pub type CmdResult<T> = Result<T, CommandError>;
