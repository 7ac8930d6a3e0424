//! The HTTP service (issue 7): `navigo-ledger serve --listen ADDR`.
//!
//! One writer: the [`Ledger`] sits behind a tokio mutex, so concurrent command
//! submissions are judged one after the other against the latest state and an
//! update is never lost. Reads fold the stored events with the same
//! `navigo-projections` functions as the CLI. Authentication: bearer API tokens
//! with a role ([`auth::Role`]), or a customer session opened with an account's
//! login and password. Not served (issue 5 has no library API yet): audit, diff,
//! what-if.

pub mod auth;
pub mod error;
pub mod openapi;
mod routes;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use navigo_ledger_core::Ledger;
use navigo_store::{Clock, EventStore};
use navigo_store_sled::SledStore;
use serde_json::Value;
use tokio::sync::{Mutex, Notify, RwLock};

pub use routes::router;

/// Largest request body accepted (413 beyond).
pub const BODY_BYTES_MAX: usize = 1024 * 1024;
/// Most commands in one batch (400 beyond).
pub const BATCH_COMMANDS_MAX: usize = 100;
/// Most events in one feed page.
pub const FEED_PAGE_MAX: usize = 1000;
/// Longest long-poll wait of the feed, in milliseconds.
pub const FEED_WAIT_MS_MAX: u64 = 30_000;
/// A request running longer is answered 503... by the timeout layer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(40);
/// Idempotency-Key answers remembered in memory (oldest forgotten beyond).
pub const IDEMPOTENCY_KEYS_MAX: usize = 100_000;
/// Failed attempts on one login (sessions) or one client number (accounts)
/// within [`ATTEMPTS_WINDOW_MINUTES`] after which further attempts are refused
/// (429) until the window ends: a password or a birth date cannot be guessed by
/// repeated tries.
pub const FAILED_ATTEMPTS_MAX: u32 = 5;
/// The window of [`FAILED_ATTEMPTS_MAX`], in minutes from the first failure.
pub const ATTEMPTS_WINDOW_MINUTES: i64 = 15;
/// Logins and client numbers whose failures are remembered (all forgotten beyond).
pub const ATTEMPT_KEYS_MAX: usize = 100_000;
/// Characters in a personal-space login.
pub const LOGIN_CHARS_MAX: usize = 64;
/// Customer sessions kept in memory.
pub const SESSIONS_MAX: usize = 100_000;

/// Failed attempts by key, each with the instant of the first failure of its
/// window ([`FAILED_ATTEMPTS_MAX`], [`ATTEMPTS_WINDOW_MINUTES`]).
#[derive(Debug, Default)]
pub struct Attempts(HashMap<String, (u32, chrono::DateTime<chrono::Utc>)>);

impl Attempts {
    /// `Err` with the reason (and when to try again) when `key` has failed too
    /// often within its window at `now`.
    ///
    /// # Errors
    /// The message of the refusal.
    pub fn check(&self, key: &str, now: chrono::DateTime<chrono::Utc>) -> Result<(), String> {
        let window = chrono::Duration::minutes(ATTEMPTS_WINDOW_MINUTES);
        match self.0.get(key) {
            Some((n, first)) if *n >= FAILED_ATTEMPTS_MAX && now < *first + window => Err(format!(
                "{FAILED_ATTEMPTS_MAX} failed attempts since {}; try again from {}",
                first.format("%Y-%m-%dT%H:%M:%SZ"),
                (*first + window).format("%Y-%m-%dT%H:%M:%SZ")
            )),
            _ => Ok(()),
        }
    }

    /// Records an attempt on `key` at `now`: a failure counts within its window
    /// (a failure after the window starts a new one); a success forgets the key.
    pub fn record(&mut self, key: &str, now: chrono::DateTime<chrono::Utc>, succeeded: bool) {
        if succeeded {
            self.0.remove(key);
            return;
        }
        if self.0.len() >= ATTEMPT_KEYS_MAX && !self.0.contains_key(key) {
            self.0.clear();
        }
        let window = chrono::Duration::minutes(ATTEMPTS_WINDOW_MINUTES);
        let entry = self.0.entry(key.to_owned()).or_insert((0, now));
        if now >= entry.1 + window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }
}

/// What the handlers share.
pub struct AppState {
    /// The one writer.
    pub ledger: Mutex<Ledger<SledStore>>,
    /// Tokens and accounts, reloaded when the file changes.
    pub auth: RwLock<(auth::AuthDb, Option<SystemTime>)>,
    /// The auth file.
    pub auth_path: PathBuf,
    /// The clock ("now").
    pub clock: Arc<dyn Clock>,
    /// Answers by Idempotency-Key: (request body hash, status, body).
    pub idempotency: Mutex<HashMap<String, (blake3::Hash, u16, Value)>>,
    /// Failed attempts by key (`session:<login>`, `account:<client number>`):
    /// (count, instant of the first failure of the window).
    pub attempts: Mutex<Attempts>,
    /// Customer sessions: session token hash → person.
    pub sessions: RwLock<HashMap<blake3::Hash, uuid::Uuid>>,
    /// Woken after every append (feed long-polls).
    pub appended: Notify,
    /// Every stored event, read once and extended with what was appended since,
    /// so that a projection read does not re-read the whole store.
    pub events: Mutex<Arc<Vec<navigo_events_schema::Envelope>>>,
}

impl AppState {
    /// Refuses the attempt when `key` has failed [`FAILED_ATTEMPTS_MAX`] times
    /// within the window.
    ///
    /// # Errors
    /// [`error::ApiError::TooManyAttempts`], naming when to try again.
    pub async fn may_attempt(&self, key: &str) -> Result<(), error::ApiError> {
        self.attempts
            .lock()
            .await
            .check(key, self.clock.now())
            .map_err(error::ApiError::TooManyAttempts)
    }

    /// Records the outcome of an attempt on `key`.
    pub async fn attempted(&self, key: &str, succeeded: bool) {
        self.attempts
            .lock()
            .await
            .record(key, self.clock.now(), succeeded);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acc_link_failed_attempts_are_refused_within_the_window_and_allowed_after_it() {
        let t0: chrono::DateTime<chrono::Utc> = "2027-10-15T08:00:00Z".parse().unwrap();
        let mut a = Attempts::default();
        for i in 0..FAILED_ATTEMPTS_MAX {
            assert!(a.check("account:NV1", t0).is_ok(), "attempt {i}");
            a.record(
                "account:NV1",
                t0 + chrono::Duration::minutes(i64::from(i)),
                false,
            );
        }
        let during = t0 + chrono::Duration::minutes(ATTEMPTS_WINDOW_MINUTES - 1);
        let why = a.check("account:NV1", during).unwrap_err();
        assert!(why.contains("try again from 2027-10-15T08:15:00Z"), "{why}");
        assert!(
            a.check("account:NV2", during).is_ok(),
            "another key is not limited"
        );
        let after = t0 + chrono::Duration::minutes(ATTEMPTS_WINDOW_MINUTES);
        assert!(a.check("account:NV1", after).is_ok());
        // A failure after the window starts a new count of one.
        a.record("account:NV1", after, false);
        assert!(a.check("account:NV1", after).is_ok());
        // A success forgets the failures.
        for _ in 0..FAILED_ATTEMPTS_MAX {
            a.record("session:bob", t0, false);
        }
        assert!(a.check("session:bob", t0).is_err());
        a.record("session:bob", t0, true);
        assert!(a.check("session:bob", t0).is_ok());
    }
}
