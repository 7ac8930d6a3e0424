//! The auditor's reads: the audit trail of a contract or person, what changed
//! between two readings (diff), and hypothetical commands (what-if).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::as_of::AsOf;
use crate::types::{Actor, Channel};
use crate::{Hash, Money, RuleId, StreamId};

/// One event of an audit trail: where it sits in the chain, who recorded it,
/// the rules it applies, the running balance after it, and the corrections
/// around it (`navigo-ledger audit`, `GET /v1/audit/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEntryView {
    /// Its position in the log.
    pub position: u64,
    /// Its stream.
    pub stream: StreamId,
    /// Its sequence in the stream.
    pub stream_seq: u64,
    /// Its id.
    pub event_id: Uuid,
    /// Its type name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Its effective Europe/Paris date.
    pub effective_date: NaiveDate,
    /// Who recorded it.
    pub actor: Actor,
    /// The channel of a customer's request.
    pub channel: Option<Channel>,
    /// The rules it applies.
    pub rules: Vec<RuleId>,
    /// The contract's (or the person's contracts') balance after it.
    pub balance_after: Money,
    /// The position of the event it annuls, for a correction.
    pub corrects_position: Option<u64>,
    /// The position of the correction that annuls it, if any.
    pub annulled_by_position: Option<u64>,
    /// The hash of the record before it.
    pub prev_hash: Hash,
    /// Its record's hash.
    pub hash: Hash,
}

/// The audit trail of a contract or person (`GET /v1/audit/{id}`; `navigo-ledger
/// audit --json` prints its entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Audit")]
pub struct AuditTrail {
    /// The contract or person.
    pub id: Uuid,
    /// Its events, in log order.
    pub entries: Vec<AuditEntryView>,
}

/// One value that changed between the two readings of a diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeView {
    /// Where, in the views: `calendar.rows[3].status`.
    pub path: String,
    /// The value before, absent when the path is new.
    pub before: Option<serde_json::Value>,
    /// The value after, absent when the path went away.
    pub after: Option<serde_json::Value>,
    /// The positions of the events that caused it (empty: the read date or
    /// the forecast moved).
    pub caused_by: Vec<u64>,
}

/// An event recorded between the two readings of a diff, and what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CauseView {
    /// Its position.
    pub position: u64,
    /// Its type name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Its effective date.
    pub effective_date: NaiveDate,
    /// The rules it applies.
    pub rules: Vec<String>,
    /// What it did, in a sentence.
    pub explanation: String,
    /// Its record's hash.
    pub hash: Hash,
}

/// What changed in the views of a contract or person between two readings, and
/// which events caused each change (`navigo-ledger diff --json`, `GET
/// /v1/diff/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Diff")]
pub struct DiffView {
    /// The contract or person.
    pub id: Uuid,
    /// The first reading.
    pub from: AsOf,
    /// The second reading.
    pub to: AsOf,
    /// Every value that changed.
    pub changes: Vec<ChangeView>,
    /// The events between the two readings.
    pub events: Vec<CauseView>,
}

/// An event a hypothetical command would append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HypotheticalEvent {
    /// Its type name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its effective date.
    pub effective_date: NaiveDate,
}

/// How a hypothetical command was judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhatIfJudgement {
    /// Accepted: the events it would append.
    Accepted(Vec<HypotheticalEvent>),
    /// Refused: the rule, article and message, in a sentence.
    Refused(String),
}

/// One hypothetical command and how it was judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WhatIfOutcome {
    /// Its request instant.
    pub request_at: DateTime<Utc>,
    /// Its type name.
    pub command: String,
    /// `accepted` (the events) or `refused` (why).
    #[serde(flatten)]
    pub judgement: WhatIfJudgement,
}

/// Hypothetical commands on a contract, judged and clocked in memory, and the
/// contract's views with and without them (`navigo-ledger what-if --json`,
/// `POST /v1/what-if/{id}`); nothing is appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "WhatIf")]
pub struct WhatIfView {
    /// The contract.
    pub contract: Uuid,
    /// The date both sets of views are read on.
    pub at: NaiveDate,
    /// The real events of the contract set aside (recorded after the first
    /// hypothetical instant).
    pub set_aside: u64,
    /// Each command's judgement.
    pub outcomes: Vec<WhatIfOutcome>,
    /// The actual views by name (`state`, `balance`, `calendar`: the views of
    /// `schemas/views/`, without their `as_of`, which is `at`).
    pub actual: BTreeMap<String, serde_json::Value>,
    /// The hypothetical views, by the same names.
    pub hypothetical: BTreeMap<String, serde_json::Value>,
}
