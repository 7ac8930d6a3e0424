//! What the ledger answers about a person's data as such: the persons whose
//! retention ran out (`retention`, `TERM-RETENTION`) and everything the ledger
//! holds about one person (`subject-export`, an access request: its parts
//! here, the whole in `views.rs` beside the projection views it holds).

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::{Address, ClientNumber};
use crate::RuleId;

/// The parameters a retention run applied, printed with its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicyView {
    /// Always `TERM-RETENTION`.
    pub rule: RuleId,
    /// Its article.
    pub article: String,
    /// Calendar years the data is kept after the relationship ends.
    pub years_after_last_contract_end: u32,
}

/// A person whose retention ran out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionDueView {
    /// The person.
    pub person: Uuid,
    /// Their client number.
    pub client_number: ClientNumber,
    /// The contract that ended last; none for a person who never held nor paid
    /// one.
    pub last_contract: Option<Uuid>,
    /// Its end: its termination date, or its last event's effective date when
    /// later.
    pub last_contract_end: Option<NaiveDate>,
    /// The end of the relationship: the last contract's end, or the person's
    /// own last dealing with the operator when later.
    pub relationship_end: NaiveDate,
    /// The first day the data was no longer kept: the relationship's end plus
    /// the policy's years.
    pub ran_out_on: NaiveDate,
}

/// `retention`: the persons whose data `TERM-RETENTION` no longer keeps on a
/// date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionView {
    /// The date the retention was judged on (Europe/Paris).
    pub on: NaiveDate,
    /// The parameters applied.
    pub policy: RetentionPolicyView,
    /// Whether the persons listed were erased; `false` for a dry run.
    pub applied: bool,
    /// The persons due, in id order.
    pub due: Vec<RetentionDueView>,
    /// Persons considered (every registered person).
    pub persons: u64,
}

/// A residence of the person from a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressFrom {
    /// From.
    pub from: NaiveDate,
    /// The address.
    pub address: Address,
}

/// Who the person is, as the ledger holds it on the date read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectIdentity {
    /// Client number.
    pub client_number: ClientNumber,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Emancipation proof reference, if any.
    pub emancipation_proof: Option<String>,
    /// Every residence, by date.
    pub addresses: Vec<AddressFrom>,
    /// Declared places of work or study: kind, municipality, proof, since.
    pub places: Vec<SubjectPlace>,
}

/// A declared place of work or study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectPlace {
    /// Work or study.
    pub kind: crate::types::PlaceKind,
    /// The municipality.
    pub municipality: String,
    /// The proof reference.
    pub proof_ref: String,
    /// Declared from.
    pub since: NaiveDate,
}

/// How a contract concerns the person.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SubjectRole {
    /// Holder.
    Holder,
    /// Payer, now or before.
    Payer,
    /// Named in a fraud finding (fraudster or accomplice).
    Fraud,
}

/// The person's personal-space account: its login only (never its password
/// hash, sessions or tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectAccount {
    /// The login.
    pub login: String,
}
