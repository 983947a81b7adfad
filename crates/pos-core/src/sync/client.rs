//! The HTTP side of sync: pairing, device tokens, pushing the outbox and the audit chain in
//! batches (oldest first), pulling central changes and the roster, retrying transport errors
//! and 5xx with exponential backoff and jitter. One sync at a time; resumable at any point
//! (every push is idempotent: mutation ids and audit sequence numbers).

use super::transport::{normalize_url, offline, service_error};
pub use super::transport::{RetryPolicy, SyncError};
use crate::error::StoreError;
use crate::keystore::KeyStore;
use crate::session::Session;
use crate::store::sync::local::secret_id;
use crate::store::sync::{SyncProgress, SyncReport, SyncStatus, Tally};
use crate::store::Store;
use chrono::{DateTime, Utc};
use pos_protocol::{PairRequest, PairResponse, PullResponse, PushRequest, PushResponse};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Progress<'a> = &'a (dyn Fn(SyncProgress) + Send + Sync);

#[derive(Default)]
struct ClientState {
    online: Option<bool>,
    syncing: bool,
    last_error: Option<crate::store::sync::SyncFailure>,
    token: Option<(String, Instant)>,
}

/// The sync client. Share one per store (`Arc`); it serialises syncs itself.
pub struct SyncClient {
    http: reqwest::Client,
    policy: RetryPolicy,
    batch: u32,
    /// Bytes of JSON per push (see [`pos_protocol::PUSH_BUDGET_BYTES`]).
    push_bytes: usize,
    run: tokio::sync::Mutex<()>,
    state: std::sync::Mutex<ClientState>,
    wake: tokio::sync::Notify,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient").finish_non_exhaustive()
    }
}

/// Bytes of `v` as JSON (as sent).
/// What a pull took in.
#[derive(Debug, Default)]
struct Pulled {
    changes: u32,
    roster_size: u32,
}

fn json_len<T: serde::Serialize>(v: &T) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX)
}

/// The longest prefix of `items` whose sizes sum to at most `budget`, and at least one item.
fn take_within<T>(items: Vec<T>, budget: usize, size: impl Fn(&T) -> usize) -> Vec<T> {
    let mut used = 0usize;
    let mut n = 0usize;
    for it in &items {
        let s = size(it);
        if n > 0 && used + s > budget {
            break;
        }
        used += s;
        n += 1;
    }
    let mut items = items;
    items.truncate(n);
    items
}

/// Server time minus the local midpoint of the exchange.
fn offset_ms(server: DateTime<Utc>, sent: DateTime<Utc>, received: DateTime<Utc>) -> i64 {
    let mid = sent + (received - sent) / 2;
    (server - mid).num_milliseconds()
}

impl SyncClient {
    pub fn new(policy: RetryPolicy) -> Result<Self, SyncError> {
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.request_timeout)
            .build()
            .map_err(|e| SyncError::Offline(e.to_string()))?;
        Ok(SyncClient {
            http,
            policy,
            batch: 500,
            push_bytes: pos_protocol::PUSH_BUDGET_BYTES,
            run: tokio::sync::Mutex::new(()),
            state: Default::default(),
            wake: tokio::sync::Notify::new(),
        })
    }

    /// Uses `http` for every request (e.g. one that never reuses connections, so that a
    /// test's fault-injecting proxy sees each request on its own connection).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Bytes of JSON per push (at least 1 KiB, at most the service's limit). A mutation
    /// larger than this on its own goes to needs-attention as `too_large` instead of being sent.
    pub fn with_push_bytes(mut self, bytes: usize) -> Self {
        self.push_bytes = bytes.clamp(1024, pos_protocol::MAX_PUSH_BYTES);
        self
    }

    /// Mutations per push (the service takes up to 2,000).
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch.clamp(1, 2000);
        self
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut ClientState) -> T) -> T {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// Wakes the background loop (after a local change, or when the user asks).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The status bar: the store's figures and this client's view of the connection.
    pub async fn status(&self, store: &Store) -> Result<SyncStatus, SyncError> {
        let mut s = store.sync_status().await?;
        self.with_state(|c| {
            s.online = c.online;
            s.syncing = c.syncing;
            s.last_error = c.last_error.clone();
        });
        Ok(s)
    }

    /// Pairs this counter (owner only) with a shop on the service using a pairing code an
    /// owner or manager made there. The counter's staff are adopted into the shop's roster;
    /// the device secret goes to the OS keyring.
    pub async fn pair(
        &self,
        store: &Store,
        keys: &dyn KeyStore,
        session: &Session,
        server_url: &str,
        code: &str,
        device_name: &str,
    ) -> Result<(), SyncError> {
        let base = normalize_url(server_url)?;
        let code = code.trim();
        if code.is_empty() || code.len() > 32 {
            return Err(SyncError::Service {
                status: 422,
                code: "pairing_code_invalid".into(),
                message: "Enter the pairing code shown on the service".into(),
            });
        }
        store.check_can_pair(session).await?;
        let config = store.require_config()?;
        let staff = store.staff_for_pairing(session).await?;
        let req = PairRequest {
            code: code.to_owned(),
            device_id: Some(store.device_id()),
            name: if device_name.trim().is_empty() {
                format!("{} {}", config.shop_name, config.device_code)
            } else {
                device_name.trim().to_owned()
            },
            device_code: config.device_code.clone(),
            currency: config.currency,
            staff,
        };
        let r = self
            .http
            .post(format!("{base}/api/v1/devices/pair"))
            .json(&req)
            .send()
            .await
            .map_err(offline)?;
        self.with_state(|c| c.online = Some(true));
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(SyncError::Service {
                status: 404,
                code: "pairing_code_invalid".into(),
                message:
                    "The pairing code is wrong, used or expired; make a new one on the service"
                        .into(),
            });
        }
        if !r.status().is_success() {
            return Err(service_error(r).await);
        }
        let paired: PairResponse = r.json().await.map_err(offline)?;
        let secret = zeroize::Zeroizing::new(paired.device_secret);
        if paired.device_id != store.device_id() {
            return Err(SyncError::Service {
                status: 409,
                code: "device_id_in_use".into(),
                message: "The service gave this counter another identity; pairing refused".into(),
            });
        }
        let id = secret_id(store.device_id());
        keys.save_secret(&id, &secret).map_err(StoreError::from)?;
        if let Err(e) = store.record_pairing(session, &base, paired.tenant_id).await {
            let _ = keys.delete(&id);
            return Err(e.into());
        }
        self.with_state(|c| c.token = None);
        self.wake();
        Ok(())
    }

    async fn token(
        &self,
        base: &str,
        store: &Store,
        keys: &dyn KeyStore,
    ) -> Result<String, SyncError> {
        if let Some(t) = self.with_state(|c| {
            c.token
                .as_ref()
                .filter(|(_, until)| *until > Instant::now())
                .map(|(t, _)| t.clone())
        }) {
            return Ok(t);
        }
        let secret = keys
            .load_secret(&secret_id(store.device_id()))
            .map_err(StoreError::from)?
            .ok_or(SyncError::Unauthorized)?;
        let r = self
            .http
            .post(format!("{base}/api/v1/auth/device-token"))
            .json(&pos_protocol::DeviceTokenRequest {
                device_id: store.device_id(),
                device_secret: secret.to_string(),
            })
            .send()
            .await
            .map_err(offline)?;
        if r.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(SyncError::Unauthorized);
        }
        if !r.status().is_success() {
            return Err(service_error(r).await);
        }
        let body: serde_json::Value = r.json().await.map_err(offline)?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| SyncError::Offline("no token in the answer".into()))?
            .to_owned();
        let ttl = body["expires_in"]
            .as_u64()
            .unwrap_or(300)
            .saturating_sub(30);
        self.with_state(|c| {
            c.token = Some((token.clone(), Instant::now() + Duration::from_secs(ttl)))
        });
        Ok(token)
    }

    /// Sends one request with a device token, retrying transport errors and 5xx with backoff
    /// (up to `attempts`), and a refused token once with a fresh one.
    async fn send<T: DeserializeOwned>(
        &self,
        base: &str,
        store: &Store,
        keys: &dyn KeyStore,
        attempts: u32,
        build: &(dyn Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder + Send + Sync),
    ) -> Result<(T, DateTime<Utc>, DateTime<Utc>), SyncError> {
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            let result = async {
                let token = self.token(base, store, keys).await?;
                let sent = store.now();
                let r = build(&self.http, &token).send().await.map_err(offline)?;
                self.with_state(|c| c.online = Some(true));
                if r.status() == reqwest::StatusCode::UNAUTHORIZED {
                    self.with_state(|c| c.token = None);
                    return Err(SyncError::Unauthorized);
                }
                if !r.status().is_success() {
                    return Err(service_error(r).await);
                }
                let v: T = r.json().await.map_err(offline)?;
                Ok((v, sent, store.now()))
            }
            .await;
            match result {
                Ok(v) => return Ok(v),
                Err(SyncError::Unauthorized) if !refreshed => refreshed = true,
                Err(e) if e.retryable() && attempt + 1 < attempts => {
                    if matches!(e, SyncError::Offline(_)) {
                        self.with_state(|c| c.online = Some(false));
                    }
                    tracing::info!(error = %e, attempt, "sync request failed; retrying");
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => {
                    if matches!(e, SyncError::Offline(_)) {
                        self.with_state(|c| c.online = Some(false));
                    }
                    return Err(e);
                }
            }
        }
    }

    /// A full sync: push everything queued (oldest first, in batches, with the audit chain),
    /// then pull central changes and the roster. Waits for a sync already running. Ends with
    /// the end-of-day report; a failure part-way still reports what was settled, with
    /// `complete: false` and the error.
    pub async fn sync(
        &self,
        store: &Store,
        keys: &dyn KeyStore,
        progress: Progress<'_>,
    ) -> Result<SyncReport, SyncError> {
        let _running = self.run.lock().await;
        self.run_locked(store, keys, progress, self.policy.attempts)
            .await
    }

    /// A sync unless one is running (the background loop's), trying each request once: the
    /// loop does its own backing off.
    pub async fn sync_if_idle(
        &self,
        store: &Store,
        keys: &dyn KeyStore,
    ) -> Option<Result<SyncReport, SyncError>> {
        let _running = self.run.try_lock().ok()?;
        Some(self.run_locked(store, keys, &|_| {}, 1).await)
    }

    async fn run_locked(
        &self,
        store: &Store,
        keys: &dyn KeyStore,
        progress: Progress<'_>,
        attempts: u32,
    ) -> Result<SyncReport, SyncError> {
        self.with_state(|c| c.syncing = true);
        let started = store.now();
        let mut report = SyncReport {
            started_at: started,
            finished_at: started,
            currency: store.require_config()?.currency,
            pushed: Tally::default(),
            already_there: Tally::default(),
            needs_attention: Tally::default(),
            still_pending: Tally::default(),
            audit_events_pushed: 0,
            audit_refused: None,
            pulled_changes: 0,
            diverging_orders: 0,
            roster_size: 0,
            complete: false,
            error: None,
            last_success_at: None,
        };
        let outcome = self
            .exchange(store, keys, progress, attempts, &mut report)
            .await;
        self.with_state(|c| {
            c.syncing = false;
            c.last_error = outcome.as_ref().err().map(SyncError::failure);
        });
        let pairing = store.pairing().await?;
        let floor = pairing.as_ref().map(|p| p.outbox_floor).unwrap_or(0);
        let (pending, attention) = store.open_tallies(floor).await?;
        report.still_pending = pending;
        report.needs_attention = attention;
        report.diverging_orders = store.diverging_orders().await?;
        report.finished_at = store.now();
        report.last_success_at = pairing.and_then(|p| p.last_success_at);
        match outcome {
            Ok(()) => {
                // never "complete" while an order here differs from the service's
                report.complete = pending.count == 0 && report.diverging_orders == 0;
                Ok(report)
            }
            // not paired / credentials refused: nothing was exchanged, say so plainly
            Err(e @ (SyncError::NotPaired | SyncError::Unauthorized)) => Err(e),
            Err(e) => {
                report.error = Some(e.failure());
                if report.pushed.count + report.already_there.count == 0 && !e.retryable() {
                    return Err(e);
                }
                Ok(report)
            }
        }
    }

    async fn exchange(
        &self,
        store: &Store,
        keys: &dyn KeyStore,
        progress: Progress<'_>,
        attempts: u32,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let pairing = store.pairing().await?.ok_or(SyncError::NotPaired)?;
        let base = pairing.server_url.clone();
        let total = store.sync_status().await?.pending;
        let mut done = 0u32;
        progress(SyncProgress { done, total });
        let mut after = pairing.outbox_floor;
        let mut audit_after = pairing.audit_acked_through;
        let mut audit_blocked = false;
        // Halved when the service answers 413 (its limit is lower than ours), never below
        // one mutation per push.
        let mut budget = self.push_bytes;
        loop {
            let candidates = store.next_push_batch(after, self.batch).await?;
            let events = if audit_blocked {
                Vec::new()
            } else {
                store
                    .audit_events_after(audit_after, self.batch * 5)
                    .await?
            };
            // The mutations take up to three quarters of the budget (a mutation alone may take
            // all of it), the audit chain what is left (at least one event); a mutation too
            // large to send on its own is set aside.
            let mut room = if events.is_empty() {
                budget
            } else {
                budget - budget / 4
            };
            let mut used = 0usize;
            let mut batch = Vec::new();
            for e in candidates {
                let size = json_len(&e.mutation);
                if size > room {
                    if !batch.is_empty() {
                        break;
                    }
                    if size > budget {
                        store.set_aside_too_large(&e, size, budget).await?;
                        done += 1;
                        continue;
                    }
                    room = budget;
                }
                room -= size;
                used += size;
                batch.push(e);
            }
            let events = take_within(events, budget.saturating_sub(used), json_len);
            if batch.is_empty() && events.is_empty() {
                if store.next_push_batch(after, 1).await?.is_empty() {
                    break;
                }
                continue;
            }
            let req = PushRequest {
                mutations: batch.iter().map(|e| e.mutation.clone()).collect(),
                audit_events: events,
            };
            let sent_bytes = json_len(&req);
            let answer: Result<(PushResponse, _, _), SyncError> = self
                .send(&base, store, keys, attempts, &|http, token| {
                    http.post(format!("{base}/api/v1/sync/push"))
                        .bearer_auth(token)
                        .json(&req)
                })
                .await;
            let (resp, sent, received) = match answer {
                Err(SyncError::Service { status: 413, .. }) if budget > 1024 => {
                    // The service takes less than we sent: send less (what it refused stays queued).
                    budget = (sent_bytes / 2).min(budget / 2).max(1024);
                    tracing::info!(
                        budget,
                        "the service refused a push as too large; sending smaller ones"
                    );
                    continue;
                }
                other => other?,
            };
            store.observe_server_time(resp.server_time).await?;
            let (applied, duplicate, attention) = store
                .apply_push_results(&batch, &resp, offset_ms(resp.server_time, sent, received))
                .await?;
            let settled = applied.count + duplicate.count + attention.count;
            report.pushed += applied;
            report.already_there += duplicate;
            let pushed_events = resp.audit.accepted_through.saturating_sub(audit_after);
            report.audit_events_pushed += pushed_events;
            if let Some(b) = &resp.audit.rejected {
                tracing::warn!(seq = b.seq, reason = %b.reason, "the service refused the audit chain");
                report.audit_refused = Some(format!("event {}: {}", b.seq, b.reason));
                audit_blocked = true;
            } else if pushed_events == 0 && !req.audit_events.is_empty() {
                // nothing new was taken: do not loop on it
                audit_blocked = true;
            }
            audit_after = audit_after.max(resp.audit.accepted_through);
            if let Some(last) = batch.last() {
                after = last.seq;
            }
            done += settled;
            progress(SyncProgress {
                done,
                total: total.max(done),
            });
        }
        let mut pulled = Pulled::default();
        let result = self
            .pull_all(
                store,
                keys,
                &base,
                pairing.pull_cursor,
                attempts,
                &mut pulled,
            )
            .await;
        // what was taken in counts in the report, also when the pull stopped part-way
        report.pulled_changes += pulled.changes;
        if pulled.roster_size > 0 {
            report.roster_size = pulled.roster_size;
        }
        result?;
        store.record_sync_success(store.now()).await?;
        Ok(())
    }

    /// Pulls central changes and the roster from `cursor` to the end, then asks again for the
    /// orders left behind at an earlier pull.
    async fn pull_all(
        &self,
        store: &Store,
        keys: &dyn KeyStore,
        base: &str,
        cursor: i64,
        attempts: u32,
        report: &mut Pulled,
    ) -> Result<(), SyncError> {
        let base = base.to_owned();
        let mut cursor = cursor;
        loop {
            let (resp, sent, received): (PullResponse, _, _) = self
                .send(&base, store, keys, attempts, &|http, token| {
                    http.get(format!("{base}/api/v1/sync/pull"))
                        .query(&[("cursor", cursor), ("limit", 1000)])
                        .bearer_auth(token)
                })
                .await?;
            store.observe_server_time(resp.server_time).await?;
            report.changes += store
                .apply_pull(&resp, offset_ms(resp.server_time, sent, received))
                .await?;
            report.roster_size = resp.roster.len() as u32;
            if resp.next_cursor <= cursor {
                break;
            }
            cursor = resp.next_cursor;
        }
        // Orders left behind at an earlier pull (changes of this counter were waiting) whose
        // changes are settled now: asked for again and converged (one request per sync).
        let ids = store
            .deferred_orders_to_converge(pos_protocol::MAX_ORDERS_PER_REQUEST)
            .await?;
        if !ids.is_empty() {
            let req = pos_protocol::OrdersRequest { ids: ids.clone() };
            let (resp, _, _): (pos_protocol::OrdersResponse, _, _) = self
                .send(&base, store, keys, attempts, &|http, token| {
                    http.post(format!("{base}/api/v1/sync/orders"))
                        .bearer_auth(token)
                        .json(&req)
                })
                .await?;
            report.changes += store.converge_deferred(&ids, &resp.orders).await?;
        }
        Ok(())
    }

    /// For a store restored from a backup of a paired counter, before anything else is written
    /// in it: brings back what the counter recorded after the backup and synced before its disk
    /// was lost. Its audit events on the service continue its chain here (so the chains stay
    /// one), the roster comes as at a pull, and the orders its own later changes concern are
    /// taken in whole (or converged where it holds them). Afterwards its numbering goes on
    /// past every number it gave. Needs the service: a restored paired counter is not opened
    /// on a guess of what it synced.
    pub async fn recover(&self, store: &Store, keys: &dyn KeyStore) -> Result<u32, SyncError> {
        let _running = self.run.lock().await;
        let pairing = store.pairing().await?.ok_or(SyncError::NotPaired)?;
        let base = pairing.server_url.clone();
        let attempts = self.policy.attempts;
        let ask = |req: pos_protocol::RecoverRequest| {
            let base = base.clone();
            move |http: &reqwest::Client, token: &str| {
                http.post(format!("{base}/api/v1/sync/recover"))
                    .bearer_auth(token)
                    .json(&req)
            }
        };
        // 1. the audit chain, first: nothing may be appended here before it
        loop {
            let req = pos_protocol::RecoverRequest {
                audit_after: store.audit_head().await?,
                changes_after: i64::MAX,
            };
            let (resp, _, _): (pos_protocol::RecoverResponse, _, _) =
                self.send(&base, store, keys, attempts, &ask(req)).await?;
            store.adopt_audit(&resp.audit).await?;
            if resp.audit.len() < pos_protocol::RECOVER_AUDIT_PAGE {
                break;
            }
        }
        // 2. the roster and other devices' changes (the staff the orders name)
        self.pull_all(
            store,
            keys,
            &base,
            pairing.pull_cursor,
            attempts,
            &mut Pulled::default(),
        )
        .await?;
        // 3. the orders its own later changes concern
        let mut recovered = 0u32;
        let mut after = pairing.pull_cursor;
        loop {
            let req = pos_protocol::RecoverRequest {
                audit_after: i64::MAX as u64,
                changes_after: after,
            };
            let (resp, _, _): (pos_protocol::RecoverResponse, _, _) =
                self.send(&base, store, keys, attempts, &ask(req)).await?;
            recovered += store.recover_orders(&resp.orders).await?;
            if resp.done || resp.next_changes_after <= after {
                break;
            }
            after = resp.next_changes_after;
        }
        Ok(recovered)
    }

    /// Runs until the process ends: syncs when paired, every `every` or when woken; on
    /// transport errors backs off (with jitter, up to a minute) and keeps probing, so it
    /// syncs by itself as soon as the service is reachable again.
    pub async fn run_background(
        self: Arc<Self>,
        store: Arc<Store>,
        keys: Arc<dyn KeyStore>,
        every: Duration,
    ) {
        let mut failures = 0u32;
        loop {
            let delay = match store.pairing().await {
                Ok(Some(_)) => match self.sync_if_idle(&store, keys.as_ref()).await {
                    Some(Ok(r)) if r.error.is_none() => {
                        failures = 0;
                        every
                    }
                    Some(Ok(_)) | Some(Err(_)) => {
                        failures += 1;
                        self.policy.backoff(failures).min(Duration::from_secs(60))
                    }
                    None => every,
                },
                _ => every,
            };
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.wake.notified() => {}
            }
        }
    }
}

impl crate::backup::RecoverStaged for SyncClient {
    async fn recover_staged(&self, store: &Store, keys: &dyn KeyStore) -> crate::error::Result<()> {
        self.recover(store, keys)
            .await
            .map(drop)
            .map_err(|e| match e {
                SyncError::Store(e) => e,
                other => crate::error::BackupError::ServiceNeeded(other.to_string()).into(),
            })
    }
}
