//! What the handlers share: the service's state (the one writer, the caches,
//! the credentials, the limits on guessing) and the bounds of what a request
//! may ask.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::app::store::AnyStore;
use navigo_ledger_core::Ledger;
use navigo_store::Clock;
use serde_json::Value;
use tokio::sync::{Mutex, Notify, RwLock, Semaphore};
use uuid::Uuid;

use super::error::ApiError;
use super::{limits, metrics, sessions};
use crate::app::auth;

/// Largest request body accepted (413 beyond).
pub const BODY_BYTES_MAX: usize = 1024 * 1024;
/// Most commands in one batch (400 beyond).
pub const BATCH_COMMANDS_MAX: usize = 100;
/// Most events in one feed page.
pub const FEED_PAGE_MAX: usize = 1000;
/// Longest long-poll wait of the feed, in milliseconds.
pub const FEED_WAIT_MS_MAX: u64 = 30_000;
/// A request running longer is answered 408 by the timeout of the middleware.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(40);
/// Idempotency-Key answers remembered in memory (oldest forgotten beyond).
pub const IDEMPOTENCY_KEYS_MAX: usize = 100_000;
/// Characters in a personal-space login.
pub const LOGIN_CHARS_MAX: usize = 64;
/// Characters of an `Idempotency-Key`. The ledger's key of a command is
/// `http:<credential scope>:<key>:<index>`: 5 + 8 + 1 + 196 + 1 + 2 = 213
/// characters at most, within the ledger's bound on a command's key.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 196;
/// How far a command's `request_at` may be from the server's instant, in
/// seconds, either way. Every command is judged at the server's instant; a
/// client's clock a few minutes off is tolerated, a backdated or post-dated
/// request is refused (400 naming `request_at`).
pub const REQUEST_SKEW_SECONDS_MAX: i64 = 300;
/// Verifications of the whole chain running at once; more wait their turn, so
/// that a burst of them cannot take every core from the other requests.
pub const VERIFY_CONCURRENT_MAX: usize = 1;

/// What the handlers share.
pub struct AppState {
    /// The metrics of `/metrics`.
    pub metrics: metrics::Metrics,
    /// Partner checks per partner token (`PARTNER-CHECK`).
    pub partner_checks: Mutex<limits::PartnerChecks>,
    /// Whole-chain verifications running ([`VERIFY_CONCURRENT_MAX`]).
    pub verifying: Semaphore,
    /// The bound of a request's time (408 beyond): [`REQUEST_TIMEOUT`] unless
    /// a test serves a shorter one.
    pub request_timeout: Duration,
    /// The one writer.
    pub ledger: Mutex<Ledger<AnyStore>>,
    /// The queue of the pipelined command path (`super::pipeline`), on the
    /// embedded store; none on PostgreSQL, whose commands are judged one at
    /// a time under its command lock.
    pub pipeline: Option<super::command_queue::Queue>,
    /// Tokens and accounts, reloaded when the file changes.
    pub auth: RwLock<(auth::AuthDb, Option<SystemTime>)>,
    /// The auth file.
    pub auth_path: PathBuf,
    /// The clock ("now").
    pub clock: Arc<dyn Clock>,
    /// Answers by Idempotency-Key: (request body hash, status, body).
    pub idempotency: Mutex<HashMap<String, (blake3::Hash, u16, Value)>>,
    /// Failed attempts by client address and subject (`session:<login>`,
    /// `account:<client number>`).
    pub attempts: Mutex<limits::Attempts>,
    /// Customer sessions, persisted with their expiry.
    pub sessions: RwLock<sessions::Sessions>,
    /// Woken after every append (feed long-polls).
    pub appended: Notify,
    /// The key that signs checkpoints (`serve --checkpoint-key`), if any.
    pub checkpoint_signer: Option<Arc<navigo_merkle::CheckpointSigner>>,
    /// The materialized projections, kept current by the service.
    pub projector: super::projector::Projector,
    /// The administrative jobs running, one of a kind at a time.
    pub admin_jobs: super::admin_jobs::AdminJobs,
    /// A test hook (`serve --admin-hold-file`): an administrative job, once
    /// started, waits while this file exists.
    pub admin_hold_file: Option<PathBuf>,
    /// Set when the service stops: the pushed feeds, which never end on
    /// their own, end then, so that the graceful shutdown does not wait for
    /// their readers.
    pub closing: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// Forgets the personal-space accounts and closes the sessions of the
    /// persons whose erasure `events` record, once those events are durable:
    /// an erased person keeps no login in the auth file and no way into a
    /// personal space that shows them as erased.
    pub async fn forget_erased(&self, persons: Vec<Uuid>) {
        if persons.is_empty() {
            return;
        }
        for person in persons {
            if let Err(e) = crate::app::accounts::forget_person(&self.auth_path, person) {
                tracing::error!(%person, error = %e, "an erased person's account could not be forgotten; erase them again");
            }
            if let Err(e) = self.sessions.write().await.forget_person(person) {
                tracing::error!(%person, error = %e, "an erased person's sessions could not be closed");
            }
        }
        self.refresh_auth().await;
    }

    /// Refuses the attempt of `address` on `subject` when it failed too often
    /// ([`limits`]); waits [`limits::SUBJECT_DELAY_MS`] first when the subject
    /// failed often from anywhere.
    ///
    /// # Errors
    /// [`ApiError::TooManyAttempts`], naming when to try again.
    pub async fn may_attempt(
        &self,
        subject: &str,
        address: std::net::IpAddr,
    ) -> Result<(), ApiError> {
        let verdict = self
            .attempts
            .lock()
            .await
            .check(subject, address, self.clock.now())
            .map_err(ApiError::TooManyAttempts)?;
        if verdict == limits::Verdict::GoAfterDelay {
            tokio::time::sleep(Duration::from_millis(limits::SUBJECT_DELAY_MS)).await;
        }
        Ok(())
    }

    /// Records the outcome of an attempt of `address` on `subject`.
    pub async fn attempted(&self, subject: &str, address: std::net::IpAddr, succeeded: bool) {
        self.attempts
            .lock()
            .await
            .record(subject, address, self.clock.now(), succeeded);
    }

    /// Reloads the auth file if it changed since it was read.
    pub async fn refresh_auth(&self) {
        let now = auth::mtime(&self.auth_path);
        if self.auth.read().await.1 == now {
            return;
        }
        match auth::AuthDb::load(&self.auth_path) {
            Ok(db) => *self.auth.write().await = (db, now),
            Err(e) => {
                tracing::error!(error = %e, "auth file does not load; keeping the previous one")
            }
        }
    }
}
