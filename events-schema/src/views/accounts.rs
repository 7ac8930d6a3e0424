//! The personal space's answers: an account created, a session opened, the
//! customer's contracts, online renewal (`ACC-MINOR-RENEW`) and the attestation
//! (`TERM-ATTESTATION`).

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::instant::offset;
use crate::types::Product;
use crate::RuleId;

/// The status of a new account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Created and linked to its customer (`ACC-LINK`).
    Created,
}

/// `POST /v1/accounts`, 201.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Created")]
pub struct AccountCreated {
    /// Always `created`.
    pub status: AccountStatus,
}

/// A customer session (`POST /v1/sessions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Session")]
pub struct SessionOpened {
    /// The bearer token of the session, shown once.
    pub token: String,
    /// The instant from which it no longer authenticates, with a numeric offset.
    #[serde(with = "offset")]
    #[schemars(with = "DateTime<Utc>")]
    pub expires_at: DateTime<Utc>,
}

/// The contracts a customer holds or pays (`GET /v1/me/contracts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MyContracts {
    /// Their ids, in order.
    pub contracts: Vec<Uuid>,
}

/// `ACC-MINOR-RENEW`: the contract may be renewed online (a refusal is an
/// error answer naming the rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnlineRenewal {
    /// Always `true`.
    pub online_renewal: bool,
}

/// The holder named on an attestation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationHolder {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
}

/// A contract's status on the day an attestation is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttestationStatus {
    /// In force.
    Active,
    /// Suspended.
    Suspended,
    /// Terminated (less than 6 months ago: `TERM-ATTESTATION`).
    Terminated,
    /// Not started yet.
    NotStarted,
}

/// The attestation of a contract (`TERM-ATTESTATION`): the contract, its
/// holder, its product and its status on the day it is issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// Always `TERM-ATTESTATION`.
    pub rule: RuleId,
    /// The contract.
    pub contract: Uuid,
    /// Its holder.
    pub holder: AttestationHolder,
    /// Its product.
    pub product: Product,
    /// Its start date.
    pub start_date: NaiveDate,
    /// Its status on `issued_on`.
    pub status: AttestationStatus,
    /// The day of issue (Europe/Paris).
    pub issued_on: NaiveDate,
}
