//! What the ledger's population tests share: a fresh directory, a sled store
//! opened on the built-in instant, a generated population plan, a runtime.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::types::{Actor, ActorRole, Channel};
use navigo_events_schema::{Command, CommandEnvelope};
use navigo_sim::generate::{generate, Plan, PopulationConfig};
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::SledStore;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A directory of its own for one test ledger (removed first if left over).
pub fn fresh_dir(name: &str) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("ledger-tests")
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The instant the built-in reference data is recorded at.
pub fn builtin_at() -> DateTime<Utc> {
    "2011-06-01T00:00:00Z".parse().unwrap()
}

/// A new sled store in `dir`, its clock standing at [`builtin_at`].
pub fn open_store(dir: &Path) -> SledStore {
    SledStore::init(dir).unwrap();
    SledStore::open(
        dir,
        Limits::default(),
        Arc::new(ManualClock::new(builtin_at())),
    )
    .unwrap()
}

/// A generated population of `contracts` contracts from 2024-01 to 2025-03.
// Not every test file of the population takes a whole plan.
#[allow(dead_code)]
pub fn plan(seed: u64, contracts: u32) -> Plan {
    let campaigns = navigo_rules::reference::builtin_campaigns().unwrap();
    generate(
        PopulationConfig {
            seed,
            contracts,
            from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            through: NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
        },
        &campaigns,
    )
}

/// A single-threaded runtime for the async ledger.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An agent's command at `at`, at the agency, under an idempotency key of its
/// own: how the tests add corrections and back-office work to a population.
// Not every test file of the population sends one.
#[allow(dead_code)]
pub fn agent_command(at: DateTime<Utc>, key: String, command: Command) -> CommandEnvelope {
    CommandEnvelope {
        request_at: at,
        actor: Actor {
            role: ActorRole::Agent,
            id: "A1".into(),
        },
        channel: Some(Channel::Agency),
        idempotency_key: Some(key),
        expected_version: None,
        command,
    }
}
