//! Counter settings kept outside the order store (the shell persists them with the Tauri store
//! plugin): the UI language, the receipt header and the sync server's address. Never PII, keys,
//! tokens or orders.

use pos_domain::ValidationError;
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    En,
    Id,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AppSettings {
    pub language: Language,
    /// Printed at the top of every receipt (shop address, tax number...).
    #[serde(default)]
    pub receipt_header: String,
    /// Base address of the order-service, e.g. `https://pos.example.com`; empty until paired.
    #[serde(default)]
    pub server_url: String,
}

pub const MAX_RECEIPT_HEADER: usize = 300;

impl AppSettings {
    /// Checks and normalises the settings (trimmed, no trailing slash on the server URL).
    pub fn validated(mut self) -> Result<AppSettings, ValidationError> {
        self.receipt_header = self.receipt_header.trim().to_owned();
        if self.receipt_header.chars().count() > MAX_RECEIPT_HEADER {
            return Err(ValidationError::new(
                "receipt_header",
                "too_long",
                format!("The receipt header may have at most {MAX_RECEIPT_HEADER} characters"),
            )
            .with("max", MAX_RECEIPT_HEADER));
        }
        let url = self.server_url.trim().trim_end_matches('/').to_owned();
        if !url.is_empty() {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .unwrap_or("");
            let host = rest.split('/').next().unwrap_or("");
            if host.is_empty() || host.contains(char::is_whitespace) || url.contains(['?', '#']) {
                return Err(ValidationError::new(
                    "server_url",
                    "invalid_url",
                    "Server address must look like https://pos.example.com",
                ));
            }
        }
        self.server_url = url;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(u: &str) -> AppSettings {
        AppSettings {
            server_url: u.into(),
            ..AppSettings::default()
        }
    }

    #[test]
    fn server_url_is_checked_and_normalised() {
        assert_eq!(
            with_url(" https://pos.example.com/ ")
                .validated()
                .unwrap()
                .server_url,
            "https://pos.example.com"
        );
        assert_eq!(with_url("").validated().unwrap().server_url, "");
        for bad in [
            "pos.example.com",
            "ftp://x",
            "https://",
            "http://a b",
            "https://x/?q=1",
        ] {
            let e = with_url(bad).validated().unwrap_err();
            assert_eq!(e.field, "server_url", "{bad}");
        }
    }

    #[test]
    fn receipt_header_has_a_limit() {
        let long = AppSettings {
            receipt_header: "x".repeat(MAX_RECEIPT_HEADER + 1),
            ..AppSettings::default()
        };
        assert_eq!(long.validated().unwrap_err().field, "receipt_header");
    }
}
