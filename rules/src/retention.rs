//! `TERM-RETENTION` over a whole population (CGVU-2026 §16.1.4): personal data
//! is kept for the relationship and 5 years after the end of the last
//! contract, then archived. [`RetentionRun`] gathers every contract and person
//! state of a ledger, in any order, and names the persons whose retention ran
//! out on a given day. Pure: the caller passes the states and "today"; nothing
//! here reads a clock or a store.
//!
//! RULES.md leaves several cases open; each is decided once here:
//!
//! - Decision (the end of a contract): a contract ends on its termination date
//!   (the first day no longer in force), or on the last effective date of an
//!   event of its stream when later (a refund paid or a debt settled after the
//!   termination is still the relationship); a contract active or suspended
//!   has not ended, whatever its dates.
//! - Decision (who a contract concerns): its holder, every payer it ever had,
//!   and the fraudster and accomplices a fraud names (`BAN-FRAUD-3Y` needs
//!   their identity for 3 years after the termination, which the 5 years
//!   cover).
//! - Decision (money still open): a contract whose account is not settled
//!   (a debt outstanding, or a refund due and not paid) keeps the data of every
//!   person it concerns, whatever its dates: the ledger still has to collect or
//!   pay, and a ban tied to that debt (`BAN-UNPAID-2M`, `BAN-TREASURY-2Y`)
//!   lasts while the debt does. A punctuality refund due to the person and not
//!   paid keeps the person likewise. Every other ban window ends within the
//!   5 years after the end of a contract the person is party to, so no ban
//!   needs a rule of its own.
//! - Decision (a person without a contract, registered only or payer only):
//!   the relationship ends on the last date of an event of the person's own
//!   stream (the registration at the least; an address change, a claim or a
//!   refund later), each counted at the later of its effective date and the
//!   day it was recorded ([`PersonState::last_event_date`]). The same date
//!   counts for a person with contracts when it is later than their end.
//! - Decision (day arithmetic): the retention runs out on the relationship's
//!   end plus 5 calendar years (`add_months`, 60 months): the data is kept
//!   through the day before and is due from that day on. An end on 29
//!   February runs out on 28 February (chrono clamps to the month's end), a
//!   day early rather than a day late being impossible to tell apart from the
//!   anniversary in a non-leap year.
//! - Decision (persons already erased): skipped, through the one predicate
//!   the run is given for each person ([`RetentionRun::add_person`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use navigo_events_schema::types::{add_months, ClientNumber};
use uuid::Uuid;

use crate::contract::state::ContractState;
use crate::world::PersonState;

/// `TERM-RETENTION`: personal data is kept this many years after the end of the
/// last contract, then archived (CGVU-2026 §16.1.4).
pub const RETENTION_YEARS: u32 = 5;

/// The parameters of a retention run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Calendar years the data is kept after the relationship ends.
    pub years_after_last_contract_end: u32,
}

impl RetentionPolicy {
    /// `TERM-RETENTION` as CGVU-2026 §16.1.4 states it.
    pub const TERM_RETENTION: RetentionPolicy = RetentionPolicy {
        years_after_last_contract_end: RETENTION_YEARS,
    };

    /// The first day the data of a relationship that ended on `end` is no
    /// longer kept: `end` plus the policy's calendar years.
    pub fn runs_out(&self, end: NaiveDate) -> NaiveDate {
        add_months(end, 12 * self.years_after_last_contract_end)
    }
}

/// Whether a person's personal data was erased already.
///
/// A person already erased is never due again: their personal data is gone,
/// and a second erasure would append nothing.
pub fn already_erased(person: &PersonState) -> bool {
    person.erased
}

/// A person whose retention ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionDue {
    /// The person.
    pub person: Uuid,
    /// Their client number.
    pub client_number: ClientNumber,
    /// The contract that ended last, when the person had one.
    pub last_contract: Option<Uuid>,
    /// Its end (see the module's decisions).
    pub last_contract_end: Option<NaiveDate>,
    /// The end of the relationship: the last contract's end or the person's
    /// own last event, the later.
    pub relationship_end: NaiveDate,
    /// The first day the data was no longer kept.
    pub ran_out_on: NaiveDate,
}

/// Why a person's data is still kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// This contract is active or suspended.
    ContractInForce(Uuid),
    /// This contract's account is not settled (a debt, or a refund not paid).
    AccountOpen(Uuid),
    /// A punctuality refund due to the person is not paid.
    RefundUnpaid,
    /// Within the retention: kept through the day before this date.
    Until(NaiveDate),
}

/// What `TERM-RETENTION` says of one person on the run's day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Already erased: nothing left to do.
    Erased,
    /// Still kept, and why.
    Kept(Kept),
    /// The retention ran out.
    Due(RetentionDue),
}

/// What the run knows of one person.
#[derive(Debug, Clone, Default)]
struct Relationship {
    /// The person's client number, own last event date and whether a refund
    /// due to them on their own stream is unpaid, once their state was given.
    person: Option<(ClientNumber, NaiveDate, bool)>,
    /// Erased already.
    erased: bool,
    /// A contract of theirs still in force.
    in_force: Option<Uuid>,
    /// A contract of theirs whose account is open.
    account_open: Option<Uuid>,
    /// The latest end of an ended contract of theirs, and that contract.
    last_end: Option<(NaiveDate, Uuid)>,
}

/// A retention run on one day: give it every contract and person state (in
/// any order), then ask [`RetentionRun::due`].
#[derive(Debug, Clone)]
pub struct RetentionRun {
    policy: RetentionPolicy,
    today: NaiveDate,
    persons: BTreeMap<Uuid, Relationship>,
}

impl RetentionRun {
    /// A run of `policy` on `today`.
    pub fn new(policy: RetentionPolicy, today: NaiveDate) -> RetentionRun {
        RetentionRun {
            policy,
            today,
            persons: BTreeMap::new(),
        }
    }

    /// The policy of the run.
    pub fn policy(&self) -> RetentionPolicy {
        self.policy
    }

    /// Counts a contract for every person it concerns.
    pub fn add_contract(&mut self, c: &ContractState) {
        let end = contract_end(c);
        let open = account_open(c);
        for person in parties(c) {
            let r = self.persons.entry(person).or_default();
            match end {
                None => r.in_force = r.in_force.or(Some(c.id)),
                Some(end) => {
                    if r.last_end.is_none_or(|(last, _)| end > last) {
                        r.last_end = Some((end, c.id));
                    }
                }
            }
            if open {
                r.account_open = r.account_open.or(Some(c.id));
            }
        }
    }

    /// Counts a person's own stream; `erased` is whether their personal data
    /// was erased already (such a person is never due again).
    pub fn add_person(&mut self, p: &PersonState, erased: bool) {
        let unpaid = p.refunds.values().any(|(_, paid)| !paid);
        let r = self.persons.entry(p.id).or_default();
        r.person = Some((p.client_number.clone(), p.last_event_date, unpaid));
        r.erased = erased;
    }

    /// What the rule says of `person`; `None` for an id no person state was
    /// given for (a party of a contract never registered has nothing to erase).
    pub fn standing(&self, person: Uuid) -> Option<Standing> {
        let r = self.persons.get(&person)?;
        let (client_number, own_last, unpaid) = r.person.clone()?;
        if r.erased {
            return Some(Standing::Erased);
        }
        if let Some(c) = r.in_force {
            return Some(Standing::Kept(Kept::ContractInForce(c)));
        }
        if let Some(c) = r.account_open {
            return Some(Standing::Kept(Kept::AccountOpen(c)));
        }
        if unpaid {
            return Some(Standing::Kept(Kept::RefundUnpaid));
        }
        let relationship_end = r.last_end.map_or(own_last, |(end, _)| end.max(own_last));
        let ran_out_on = self.policy.runs_out(relationship_end);
        if self.today < ran_out_on {
            return Some(Standing::Kept(Kept::Until(ran_out_on)));
        }
        Some(Standing::Due(RetentionDue {
            person,
            client_number,
            last_contract: r.last_end.map(|(_, c)| c),
            last_contract_end: r.last_end.map(|(end, _)| end),
            relationship_end,
            ran_out_on,
        }))
    }

    /// Every person whose retention ran out by the run's day, in id order.
    pub fn due(&self) -> Vec<RetentionDue> {
        self.persons
            .keys()
            .filter_map(|p| match self.standing(*p) {
                Some(Standing::Due(d)) => Some(d),
                _ => None,
            })
            .collect()
    }
}

/// The end of a contract (see the module's decisions); `None` while it is in
/// force.
pub fn contract_end(c: &ContractState) -> Option<NaiveDate> {
    match &c.termination {
        Some((end, _, _)) if c.is_terminated() => Some((*end).max(c.last_event_date)),
        _ => None,
    }
}

/// Whether a contract's account is still open: a debt, or a refund not paid.
fn account_open(c: &ContractState) -> bool {
    c.money.debt().is_positive() || c.refunds.values().any(|r| !r.paid)
}

/// Every person a contract concerns: holder, every payer it had, the parties
/// of a fraud.
fn parties(c: &ContractState) -> Vec<Uuid> {
    let mut out = vec![c.holder, c.payer];
    out.extend(c.payers.iter().map(|(_, p)| *p));
    if let Some((fraudster, accomplices)) = &c.fraud {
        out.push(*fraudster);
        out.extend(accomplices.iter().copied());
    }
    out.sort_unstable();
    out.dedup();
    out
}
