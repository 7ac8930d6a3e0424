//! As-of projections of navigo-ledger: balances, debit calendars, ban windows,
//! refund entitlements and contract state, each a pure fold over a list of stored
//! envelopes (the contract and person streams concerned, the catalogue and the
//! campaigns). The folds are the core's: [`World::apply`] and
//! [`ContractState`](navigo_rules::contract::state::ContractState); the rules are the
//! core's too (billing clock, bans, punctuality, validity, termination). Nothing here
//! re-implements a rule: the projections choose which events count and read the
//! folded state.
//!
//! # The two parameters
//!
//! Every projection answers for a [`Query`]:
//!
//! - `known_at` (a recorded UTC instant; `None`: everything recorded): only the
//!   envelopes whose `recorded_at` is at or before it count. Among those, an event
//!   annulled by an `EventAnnulled` also recorded by then no longer counts, and the
//!   annulments themselves are dropped ([`known_events`]). A correction recorded
//!   later therefore changes the answer for a `known_at` after it, not before.
//! - `at` (an effective Europe/Paris date): the state of the contract on that day.
//!   Timelines (status, product and zones, payment method, payer, free-month cycle,
//!   scheduled debits) are read on `at` from the fold of every known event, so that
//!   a change recorded before `at` but effective after it shows as scheduled. Money
//!   (amounts due, collected, returned, fees, refunds and their payment), bans and
//!   losses count only the known events whose effective date is at or before `at`
//!   ([`effective_by`]); the events opening a stream (subscription, registration)
//!   and the reference data (catalogue, campaigns, which carry their own effective
//!   dates) always count.
//!
//! `at` in the future is a forecast: debits not recorded yet are what the billing
//! clock ([`navigo_rules::billing::advance_to`]) would emit from the state as known,
//! with no other command arriving. The library takes "now" from its caller; only the
//! binary reads the system clock.
//!
//! # One function per view, one input
//!
//! Every view is one function whose input is a [`Folded`]: the envelopes of a
//! slice of the log (a whole log, or the streams the view reads:
//! [`slice`]) with the [`Query`] they are read for, built once by
//! [`Folded::new`] and folded on first use. Several views of one slice share
//! its folds: `balance::contract_balance(&f, id)`, `state::contract_state(&f,
//! id)`, `calendar::calendar(&f, id, policy, horizon)`, `bans::person_bans(&f,
//! id)`, `refunds::person_refunds(&f, id)`, `balance::payer_balance(&f, id)`,
//! `bans::every_person_bans(&f)`, `bans::may_person_be(&f, id, role)`,
//! `state::validity(&f, id, zone, instant)`. A view reads no more than its
//! slice: a superset of the streams it needs gives the same answer.
#![warn(missing_docs)]

use navigo_events_schema::YearMonth;
use uuid::Uuid;

pub mod balance;
pub mod bans;
pub mod calendar;
mod folded;
pub mod refunds;
pub mod slice;
pub mod state;

pub use folded::{effective_by, fold, fold_states, known_events, known_events_of, Folded, Query};

/// Why a projection cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// No contract with that id was known at `known_at`.
    #[error("no contract {0} in the ledger (as known at the instant asked)")]
    UnknownContract(Uuid),
    /// No person with that id was known at `known_at`.
    #[error("no person {0} in the ledger (as known at the instant asked)")]
    UnknownPerson(Uuid),
    /// A calendar horizon beyond its bound.
    #[error(transparent)]
    Horizon(#[from] calendar::HorizonError),
    /// A calendar longer than [`calendar::CALENDAR_MONTHS_MAX`] months from the
    /// contract's start to its horizon.
    #[error(
        "the calendar from the contract's start ({from}) through {through} would be longer \
         than {max} months (CALENDAR_MONTHS_MAX); read it at an earlier date",
        max = calendar::CALENDAR_MONTHS_MAX
    )]
    CalendarTooLong {
        /// The contract's first month.
        from: YearMonth,
        /// The horizon asked.
        through: YearMonth,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_on_means_everything_known() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(Query::on(d).known_at, None);
        assert_eq!(Query::on(d).as_of().at, d);
    }
}
