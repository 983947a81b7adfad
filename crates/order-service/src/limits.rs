//! Rate limits per client address on the endpoints that check a secret: login (a password),
//! pairing (a pairing code) and device tokens (a device secret). Through `tower_governor`
//! (a token bucket per address: a burst, then one request per period); a client over its limit
//! gets 429 problem+json `rate_limited` with `Retry-After`.
//!
//! The address is the TCP peer's, or — only when the operator says the service sits behind a
//! reverse proxy that sets them ([`RateLimits::trust_forwarded`]) — the one in `Forwarded` /
//! `X-Forwarded-For` / `X-Real-IP` (otherwise anyone could pick their own key by sending one).

use crate::error::ApiError;
use axum::body::Body;
use axum::http::Request;
use axum::response::IntoResponse;
use std::net::IpAddr;
use std::time::Duration;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{KeyExtractor, PeerIpKeyExtractor, SmartIpKeyExtractor};
use tower_governor::{GovernorError, GovernorLayer};

/// A bucket: `burst` requests at once, then one more every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub burst: u32,
    pub every: Duration,
}

/// The limits the service applies (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `POST /auth/login`, per address: 10 at once, then one every 6 s (10 a minute). A shop's
    /// office logs in a few times a day; a guesser gets 600 tries an hour from one address, and
    /// each account locks after 5 wrong ones anyway ([`pos_domain::Lockout::SERVICE_LOGIN`]).
    pub login: Quota,
    /// `POST /devices/pair`, per address: 5 at once, then one every 12 s. Pairing codes are
    /// one-time and short-lived; a shop pairs a counter now and then.
    pub pairing: Quota,
    /// `POST /auth/device-token`, per address: 30 at once, then one every 2 s. Every counter
    /// of a shop (often behind one NAT address) asks for a token when its own expires.
    pub device_token: Quota,
    /// Take the client address from the proxy's headers (only behind a trusted proxy).
    pub trust_forwarded: bool,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            login: Quota {
                burst: 10,
                every: Duration::from_secs(6),
            },
            pairing: Quota {
                burst: 5,
                every: Duration::from_secs(12),
            },
            device_token: Quota {
                burst: 30,
                every: Duration::from_secs(2),
            },
            trust_forwarded: false,
        }
    }
}

/// The client address a limit counts against.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress {
    trust_forwarded: bool,
}

impl KeyExtractor for ClientAddress {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        if self.trust_forwarded {
            SmartIpKeyExtractor.extract(req)
        } else {
            PeerIpKeyExtractor.extract(req)
        }
    }
}

/// The layer limiting one endpoint by `quota`. Spawns a task that forgets idle addresses every
/// minute, so the table of addresses stays small; it ends with the limiter.
pub fn layer(
    quota: Quota,
    trust_forwarded: bool,
) -> GovernorLayer<ClientAddress, governor::middleware::NoOpMiddleware, Body> {
    let config = GovernorConfigBuilder::default()
        .period(quota.every)
        .burst_size(quota.burst.max(1))
        .key_extractor(ClientAddress { trust_forwarded })
        .finish();
    // period and burst are never zero here (the burst is at least 1; a zero period is refused
    // when the configuration is read)
    let config = std::sync::Arc::new(config.unwrap_or_else(|| {
        GovernorConfigBuilder::default()
            .key_extractor(ClientAddress { trust_forwarded })
            .finish()
            .unwrap_or_else(|| unreachable!("the default quota is valid"))
    }));
    let limiter = std::sync::Arc::downgrade(config.limiter());
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                match limiter.upgrade() {
                    Some(l) => l.retain_recent(),
                    None => return,
                }
            }
        });
    }
    GovernorLayer::new(config).error_handler(refusal)
}

/// A limit's refusal as problem+json.
fn refusal(e: GovernorError) -> axum::response::Response {
    match e {
        GovernorError::TooManyRequests { wait_time, .. } => ApiError::TooManyRequests {
            code: "rate_limited",
            message: "Too many requests from this address; try again later".into(),
            retry_after: wait_time.max(1),
        }
        .into_response(),
        GovernorError::UnableToExtractKey => {
            ApiError::BadRequest("the client address is unknown".into()).into_response()
        }
        GovernorError::Other { .. } => ApiError::Internal("rate limiter".into()).into_response(),
    }
}
