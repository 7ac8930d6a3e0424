//! The summary of `navigo-ledger demo --json`: what a seeded population asked,
//! how the ledger judged it, the money, the bans and refunds, the chain, the
//! rebuilt projections, the timings and the audit of one contract.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Hash, Money, RuleId};

/// A materialized view's rows and state hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoViewRows {
    /// Its rows.
    pub rows: u64,
    /// Its state hash.
    pub state_hash: String,
}

/// The totals of the materialized contract balances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoBalances {
    /// Due.
    pub due: Money,
    /// Collected.
    pub collected: Money,
    /// Returned.
    pub returned: Money,
}

/// The projections rebuilt from the log after the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoProjections {
    /// The generation swapped in.
    pub generation: u64,
    /// The date its views are read on (the last simulated day).
    pub at: NaiveDate,
    /// The last log position folded into it.
    pub checkpoint: u64,
    /// Rows and state hash by view.
    pub views: BTreeMap<String, DemoViewRows>,
    /// The totals of the materialized balances.
    pub balances: DemoBalances,
    /// Whether they equal the folded world's amounts.
    pub agree_with_world: bool,
}

/// What the population asked and how the ledger judged it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoRequests {
    /// Requests planned.
    pub planned: u64,
    /// Requests judged.
    pub judged: u64,
    /// Accepted.
    pub accepted: u64,
    /// Already applied (a resumed run's idempotency keys).
    pub already_applied: u64,
    /// Refused by a rule.
    pub refused: u64,
    /// Invalid.
    pub invalid: u64,
    /// Out of order.
    pub out_of_order: u64,
    /// Intents with nothing to do.
    pub intents_skipped: u64,
    /// Events appended by commands.
    pub command_events: u64,
    /// Events appended by the billing clock.
    pub clock_events: u64,
}

/// The money of every contract, from the folded world (EUR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoAmounts {
    /// Due.
    pub due: Money,
    /// Collected.
    pub collected: Money,
    /// Returned (refunds paid).
    pub returned: Money,
    /// The sum of the debts.
    pub outstanding: Money,
    /// The sum of the credits.
    pub credit: Money,
    /// Refunds due and not yet paid.
    pub refunds_pending: Money,
}

/// The refund claims of one campaign operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoOperationRefunds {
    /// Claims judged.
    pub judged: u64,
    /// Eligible.
    pub eligible: u64,
    /// Amount granted.
    pub amount: Money,
}

/// The verification of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoChain {
    /// Every record and the chain verify.
    pub ok: bool,
    /// The records checked.
    pub records: u64,
    /// The hash of the last sound record.
    pub head: Hash,
}

/// The audit of an interesting contract (a suspension, a zone change and a
/// rejection where one exists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoAudit {
    /// The contract.
    pub contract: Uuid,
    /// Its events, one line each.
    pub events: Vec<String>,
}

/// The summary of a demo run (`navigo-ledger demo --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoSummary {
    /// The population's seed.
    pub seed: u64,
    /// The contracts asked for.
    pub contracts_requested: u32,
    /// The first simulated day.
    pub from: NaiveDate,
    /// The last simulated day.
    pub through: NaiveDate,
    /// Where the figures come from.
    pub source: String,
    /// The projections rebuilt from the log.
    pub projections: DemoProjections,
    /// The requests.
    pub requests: DemoRequests,
    /// Refusals by rule.
    pub refused_by_rule: BTreeMap<RuleId, u64>,
    /// Invalid commands by field.
    pub invalid_by_field: BTreeMap<String, u64>,
    /// Contracts in the ledger.
    pub contracts: u64,
    /// Persons in the ledger.
    pub persons: u64,
    /// Contracts by status on the last simulated day.
    pub by_status: BTreeMap<String, u64>,
    /// Contracts by product.
    pub by_product: BTreeMap<String, u64>,
    /// The money.
    pub amounts: DemoAmounts,
    /// Contracts whose balance breaks `PAY-DUE-VS-COLLECTED` (0 when it holds).
    pub balance_mismatches: u64,
    /// Ban windows active on the last simulated day, by rule.
    pub active_bans: BTreeMap<RuleId, u64>,
    /// Refund claims filed.
    pub claims_filed: u64,
    /// Refund claims by campaign operation.
    pub refunds_by_operation: BTreeMap<String, DemoOperationRefunds>,
    /// The chain.
    pub chain: DemoChain,
    /// The duration of each step, in seconds (a measurement, not money).
    pub timings_s: BTreeMap<String, f64>,
    /// The audit of one interesting contract, when there is one.
    pub audit: Option<DemoAudit>,
}
