//! The planned requests: what the generator draws, what a window holds and
//! what the spill writes (a module of their own, so that `generate` and
//! `spill` both name them without naming each other).

use chrono::{DateTime, Utc};
use navigo_events_schema::event::SettlementChannel;
use navigo_events_schema::types::{PaymentRequest, ReasonCode, YearMonth};
use navigo_events_schema::CommandEnvelope;
use uuid::Uuid;

/// A request whose content depends on what only the ledger knows; [`crate::resolve`]
/// turns it into a command when it is sent, or into nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// The bank rejects the debit of `month` if one was presented and not rejected.
    RejectDebit {
        /// The contract.
        contract_id: Uuid,
        /// The month debited.
        month: YearMonth,
        /// ISO 20022 reason code.
        reason_code: ReasonCode,
    },
    /// The payer settles the whole debt, if any.
    SettleDebt {
        /// The contract.
        contract_id: Uuid,
        /// Channel.
        via: SettlementChannel,
    },
    /// The payer pays cash: the debt if any, else the renewal at the annual price.
    PayCash {
        /// The contract.
        contract_id: Uuid,
    },
    /// A cash payer at the end of the period: within the renewal window (the
    /// last [`crate::driver::CASH_RENEWAL_LEAD_DAYS`] days of the period), renews at
    /// the annual price, or switches to `switch_to` when given; outside it, nothing.
    CashRenewal {
        /// The contract.
        contract_id: Uuid,
        /// Switch to direct debit instead of renewing.
        switch_to: Option<PaymentRequest>,
    },
    /// The month's back office: pay every refund due, deliver the Trésor Public
    /// notices issued, record the settlement of some of them.
    BackOffice {
        /// The back office's seed for its draws (which notices are settled).
        seed: u64,
    },
}

/// A planned request: a ready command or an intent.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A command as it is sent.
    Command(Box<CommandEnvelope>),
    /// A command resolved against the ledger when it is sent.
    Intent(Intent),
}

/// One planned request.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCommand {
    /// The request instant (strictly increasing along a plan).
    pub at: DateTime<Utc>,
    /// The deterministic idempotency key.
    pub key: String,
    /// The request.
    pub step: Step,
}
