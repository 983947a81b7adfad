use std::collections::BTreeMap;
use std::fmt;

/// A rule was violated by the input. `field` names the input field (e.g. `items[1].quantity`)
/// so a form can show the message next to it; `code` is stable for machines; `message` is
/// what a cashier reads (in English); `params` are the figures the message names (a limit, an
/// amount as a decimal string), so a translation keyed by `code` can name them too.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ValidationError {
    pub field: String,
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
            params: BTreeMap::new(),
        }
    }

    /// Names a figure the message gives (`max`, `total`, …) for translations.
    pub fn with(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.params.insert(name.to_owned(), value.to_string());
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ValidationError {}
