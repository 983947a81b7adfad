//! How a sync request fails and is retried: the retry policy (exponential backoff with
//! jitter), the typed [`SyncError`] the counter shows, and a service's problem answer read
//! into it.

use crate::error::StoreError;
use rand::Rng;
use std::time::Duration;

/// How failed requests are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The first wait; doubled at every further attempt…
    pub initial: Duration,
    /// …up to this.
    pub max: Duration,
    /// Attempts per request before the sync gives up (it resumes from there next time).
    pub attempts: u32,
    /// Connect and whole-request time limits.
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            attempts: 8,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `n` (0-based): exponential, capped, with "equal jitter"
    /// (half fixed, half random) so that counters coming back together do not retry in step.
    pub fn backoff(&self, n: u32) -> Duration {
        let exp = self
            .initial
            .saturating_mul(1u32.checked_shl(n.min(20)).unwrap_or(u32::MAX))
            .min(self.max);
        let half = exp / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("This counter is not paired with a shop on the service")]
    NotPaired,
    #[error("The service cannot be reached ({0}); everything stays queued")]
    Offline(String),
    #[error("{message}")]
    Service {
        status: u16,
        code: String,
        message: String,
    },
    #[error("The service no longer accepts this counter's credentials; pair it again")]
    Unauthorized,
    #[error("{0}")]
    BadUrl(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    pub fn code(&self) -> &str {
        match self {
            SyncError::NotPaired => "not_paired",
            SyncError::Offline(_) => "offline",
            SyncError::Service { code, .. } => code,
            SyncError::Unauthorized => "unauthorized",
            SyncError::BadUrl(_) => "invalid_url",
            SyncError::Store(e) => e.code(),
        }
    }

    /// The field an error concerns, for the pairing form.
    pub fn field(&self) -> Option<&str> {
        match self {
            SyncError::BadUrl(_) => Some("server_url"),
            SyncError::Service { code, .. } if code == "pairing_code_invalid" => Some("code"),
            SyncError::Service { code, .. } if code.starts_with("device_code") => Some("code"),
            SyncError::Store(e) => e.field(),
            _ => None,
        }
    }

    /// Transport failures and server errors are retried; refusals are not.
    pub fn retryable(&self) -> bool {
        match self {
            SyncError::Offline(_) => true,
            SyncError::Service { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

pub(super) fn offline(e: reqwest::Error) -> SyncError {
    // never the URL's query (none carry secrets, but keep errors short)
    SyncError::Offline(e.without_url().to_string())
}

pub(super) fn normalize_url(raw: &str) -> Result<String, SyncError> {
    let raw = raw.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(raw).map_err(|_| {
        SyncError::BadUrl("Server URL must look like https://orders.example.com".into())
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(SyncError::BadUrl(
            "Server URL must start with https:// (or http:// on a local network)".into(),
        ));
    }
    Ok(raw.to_owned())
}

pub(super) async fn service_error(r: reqwest::Response) -> SyncError {
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    let code = body["code"].as_str().unwrap_or("service_error").to_owned();
    let message = body["detail"]
        .as_str()
        .or(body["title"].as_str())
        .unwrap_or("The service refused the request")
        .to_owned();
    SyncError::Service {
        status,
        code,
        message,
    }
}

impl SyncError {
    /// The failure as the counter shows it: its code and a message (an internal store
    /// failure's own text may name files or SQL, so it shows the shared one).
    pub fn failure(&self) -> crate::store::sync::SyncFailure {
        let e = self;
        let message = match e {
            SyncError::Store(inner) if inner.is_internal() => {
                StoreError::INTERNAL_MESSAGE.to_owned()
            }
            other => other.to_string(),
        };
        crate::store::sync::SyncFailure {
            code: e.code().to_owned(),
            message,
        }
    }
}
