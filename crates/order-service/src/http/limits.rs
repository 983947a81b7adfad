//! Rate limits per client address on the endpoints that check a secret: login (a password),
//! pairing (a pairing code) and device tokens (a device secret). Through `tower_governor`
//! (a token bucket per address: a burst, then one request per period); a client over its limit
//! gets 429 problem+json `rate_limited` with `Retry-After`.
//!
//! The address is the TCP peer's, or — only when the operator says the service sits behind one
//! reverse proxy ([`RateLimits::trust_forwarded`]) — the last one in `X-Forwarded-For`: the
//! address that proxy saw (a proxy appends it; anything before it the client wrote itself, so
//! it is never read). An IPv6 address counts by its /64 network: one host is given a whole /64
//! and could otherwise take a fresh bucket per address.

use crate::error::ApiError;
use axum::body::Body;
use axum::http::Request;
use axum::response::IntoResponse;
use std::net::IpAddr;
use std::time::Duration;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{KeyExtractor, PeerIpKeyExtractor};
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
    /// Take the client address from the last `X-Forwarded-For` entry (only behind one trusted
    /// proxy that appends it).
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

impl ClientAddress {
    /// The key of `ip`: itself for IPv4, its /64 network for IPv6 (an IPv4-mapped IPv6
    /// address counts as the IPv4 address).
    pub fn key_of(ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(std::net::Ipv6Addr::from(
                    u128::from(v6) & !((1u128 << 64) - 1),
                )),
            },
        }
    }
}

impl KeyExtractor for ClientAddress {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        let forwarded = self
            .trust_forwarded
            .then(|| {
                req.headers()
                    .get_all("x-forwarded-for")
                    .iter()
                    .next_back()
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.rsplit(',').next())
                    .and_then(|a| a.trim().parse::<IpAddr>().ok())
            })
            .flatten();
        let ip = match forwarded {
            Some(ip) => ip,
            None => PeerIpKeyExtractor.extract(req)?,
        };
        Ok(Self::key_of(ip))
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
            // the limiter's wait is rounded down to whole seconds: one more, so a client that
            // waits as told is let through
            retry_after: wait_time + 1,
        }
        .into_response(),
        GovernorError::UnableToExtractKey => {
            ApiError::BadRequest("the client address is unknown".into()).into_response()
        }
        GovernorError::Other { .. } => ApiError::Internal("rate limiter".into()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(trust: bool, peer: &str, xff: &[&str]) -> IpAddr {
        let mut req = Request::builder().body(()).unwrap();
        for v in xff {
            req.headers_mut()
                .append("x-forwarded-for", v.parse().unwrap());
        }
        req.extensions_mut().insert(axum::extract::ConnectInfo(
            peer.parse::<std::net::SocketAddr>().unwrap(),
        ));
        ClientAddress {
            trust_forwarded: trust,
        }
        .extract(&req)
        .unwrap()
    }

    #[test]
    fn a_client_cannot_choose_its_own_key() {
        // without a trusted proxy the header is ignored
        assert_eq!(
            key(false, "203.0.113.7:5000", &["198.51.100.1"]),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        // behind one: the address the proxy appended, not what the client wrote before it
        assert_eq!(
            key(true, "10.0.0.2:5000", &["198.51.100.1, 203.0.113.7"]),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            key(true, "10.0.0.2:5000", &["198.51.100.1", "203.0.113.7"]),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        // a proxy that sent nothing readable: the peer
        assert_eq!(
            key(true, "10.0.0.2:5000", &["nonsense"]),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn an_ipv6_host_counts_as_its_64_network() {
        let a = key(false, "[2001:db8:1:2:aaaa::1]:5000", &[]);
        let b = key(false, "[2001:db8:1:2:ffff:1:2:3]:5000", &[]);
        assert_eq!(a, b);
        assert_ne!(a, key(false, "[2001:db8:1:3::1]:5000", &[]));
        assert_eq!(
            key(false, "[::ffff:203.0.113.7]:5000", &[]),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
    }
}
