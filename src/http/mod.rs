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

use navigo_core::ledger::Ledger;
use navigo_core::store::sled_store::SledStore;
use navigo_core::store::{Clock, EventStore};
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
/// Characters in a personal-space login.
pub const LOGIN_CHARS_MAX: usize = 64;
/// Customer sessions kept in memory.
pub const SESSIONS_MAX: usize = 100_000;

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
    /// Customer sessions: session token hash → person.
    pub sessions: RwLock<HashMap<blake3::Hash, uuid::Uuid>>,
    /// Woken after every append (feed long-polls).
    pub appended: Notify,
    /// Every stored event, read once and extended with what was appended since,
    /// so that a projection read does not re-read the whole store.
    pub events: Mutex<Arc<Vec<navigo_events_schema::Envelope>>>,
}

impl AppState {
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
