//! The materialized projections' maintenance: `navigo-ledger rebuild --json`,
//! `follow --json` and `check-projections --json`.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A rebuild of every materialized view (`navigo-ledger rebuild --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebuildSummary {
    /// The generation swapped in.
    pub generation: u64,
    /// The effective date its views are read on.
    pub at: NaiveDate,
    /// The last log position folded into it.
    pub checkpoint: u64,
    /// The events replayed.
    pub events: u64,
    /// How long it took, in seconds (a measurement, not money).
    pub seconds: f64,
    /// Events replayed per second, rounded.
    pub events_per_second: f64,
}

/// Where the follower stands (`navigo-ledger follow --json`, one line per
/// checkpoint reached).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowProgress {
    /// The generation followed.
    pub generation: u64,
    /// The last log position folded into it.
    pub checkpoint: u64,
}

/// One materialized projection's state hashes, stored and recomputed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectionHashes {
    /// The projection (`state`, `balance`, `calendar`, `bans`, `refunds`).
    pub name: String,
    /// Its rows.
    pub rows: u64,
    /// The state hash of its stored rows.
    pub stored_hash: String,
    /// The state hash of the rows recomputed from the log.
    pub recomputed_hash: String,
}

/// A materialized row that differs from the one recomputed from the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectionMismatch {
    /// The projection.
    pub projection: String,
    /// The row's contract or person.
    pub id: Uuid,
    /// How it differs.
    pub what: String,
}

/// Every materialized projection compared with the log (`navigo-ledger
/// check-projections --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectionCheck {
    /// The generation compared.
    pub generation: u64,
    /// The effective date its views are read on.
    pub at: NaiveDate,
    /// The last log position folded into it.
    pub checkpoint: u64,
    /// The log's head position.
    pub head: u64,
    /// Every view equals the recomputed one and the checkpoint is the head.
    pub consistent: bool,
    /// The hashes of each projection.
    pub projections: Vec<ProjectionHashes>,
    /// The rows that differ.
    pub mismatches: Vec<ProjectionMismatch>,
}
