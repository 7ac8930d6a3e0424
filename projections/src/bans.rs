//! Ban windows per person (`BAN-UNPAID-2M`, `BAN-UNPAID-2011`, `BAN-TREASURY-2Y`,
//! `BAN-FRAUD-3Y`): the facts are read from the contract streams the person pays or
//! is named in, the windows are the core's ([`navigo_core::bans::ban_windows`]), and
//! "may this person be payer / holder on `at`?" is [`navigo_core::bans::may_be`].
//! Facts count when known and effective by `at`, so a lift after `at` is not shown.

use chrono::NaiveDate;
use navigo_core::bans::{ban_windows, may_be, BanFact, BanRole, BanWindow, FraudRole};
use navigo_core::contract::state::ContractState;
use navigo_events_schema::event::TerminationReason;
use navigo_events_schema::views::{BanLift, BanRoleView, BanWindowView, MayBe, PersonBans};
use navigo_events_schema::{Envelope, Event, StreamKind};
use uuid::Uuid;

use crate::{effective_by, known_events, ProjectionError, Query};

/// The ban facts about `person` in the given envelopes (effective by the date
/// read), walking each contract stream in order with the core's fold so that the
/// payer at the time and the settlement of the debt are those of the contract.
pub fn ban_facts(events: &[&Envelope], person: Uuid) -> Vec<BanFact> {
    let mut states: std::collections::BTreeMap<Uuid, ContractState> = Default::default();
    let mut settled: std::collections::BTreeSet<Uuid> = Default::default();
    let mut facts = Vec::new();
    for e in events
        .iter()
        .filter(|e| e.stream.kind == StreamKind::Contract)
    {
        let id = e.stream.id;
        let Some(c) = states.get_mut(&id) else {
            if let Some(c) = ContractState::from_subscription(e) {
                states.insert(id, c);
            }
            continue;
        };
        let payer_before = c.payer;
        c.apply(e);
        match &e.event {
            Event::ContractTerminated(t) => match t.reason {
                TerminationReason::Unpaid if payer_before == person => {
                    facts.push(BanFact::UnpaidTermination {
                        date: e.effective_date,
                        rulebook: t.rulebook.clone(),
                        contract: id,
                        event_id: e.event_id,
                    });
                }
                TerminationReason::SubscriptionFraud | TerminationReason::UsageFraud => {
                    if let Some(fraud) = &c.fraud {
                        if let Some(role) = FraudRole::of(fraud, person) {
                            facts.push(BanFact::FraudTermination {
                                date: e.effective_date,
                                rulebook: t.rulebook.clone(),
                                role,
                                contract: id,
                                event_id: e.event_id,
                            });
                        }
                    }
                }
                _ => {}
            },
            Event::TreasuryNoticeIssued(n) if n.payer == person => {
                facts.push(BanFact::TreasuryNoticeIssued {
                    date: e.effective_date,
                    contract: id,
                    notice_ref: n.notice_ref.clone(),
                    event_id: e.event_id,
                });
            }
            Event::TreasuryNoticeDelivered(n) => facts.push(BanFact::TreasuryNoticeDelivered {
                date: e.effective_date,
                contract: id,
                notice_ref: n.notice_ref.clone(),
            }),
            Event::TreasuryNoticeSettled(n) => facts.push(BanFact::TreasuryNoticeSettled {
                date: e.effective_date,
                contract: id,
                notice_ref: n.notice_ref.clone(),
            }),
            _ => {}
        }
        // BAN-UNPAID-2M: the debt of a contract terminated for unpaid debt is
        // settled when its balance no longer shows a debt.
        let unpaid_terminated = matches!(c.termination, Some((_, TerminationReason::Unpaid, _)));
        if unpaid_terminated && !c.money.debt().is_positive() && settled.insert(id) {
            facts.push(BanFact::DebtSettled {
                date: e.effective_date,
                contract: id,
            });
        }
    }
    facts
}

fn view(w: &BanWindow, at: NaiveDate) -> BanWindowView {
    BanWindowView {
        rule: w.rule,
        role: match w.role {
            BanRole::Payer => BanRoleView::Payer,
            BanRole::Holder => BanRoleView::Holder,
        },
        start: w.from,
        end: w.end(),
        until: w.until,
        lifted: w
            .lifted
            .as_ref()
            .filter(|l| l.date < w.until)
            .map(|l| BanLift {
                date: l.date,
                why: l.why.clone(),
            }),
        opened_by_event: w.opened_by_event,
        contract: w.contract,
        rulebook: w.rulebook.to_owned(),
        active: w.is_active_on(at),
    }
}

fn answer(role: BanRole, at: NaiveDate, windows: &[BanWindow]) -> MayBe {
    match may_be(role, at, windows) {
        Ok(()) => MayBe {
            allowed: true,
            forbidden_by: None,
        },
        Err(w) => MayBe {
            allowed: false,
            forbidden_by: Some(view(w, at)),
        },
    }
}

/// The ban windows of a person over `events` (every contract stream the person
/// pays or is named in, and the person's stream), and whether they may be payer
/// or holder on `q.at`.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`] when no registration of the person is known.
pub fn person_bans(
    events: &[Envelope],
    person: Uuid,
    q: &Query,
) -> Result<PersonBans, ProjectionError> {
    person_bans_of(&known_events(events, q.known_at), person, q)
}

/// [`person_bans`] over events already known at `q.known_at` (annulled events
/// and annulments left out, as [`known_events`] gives them), in position order.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`] when no registration of the person is known.
pub fn person_bans_of(
    known: &[&Envelope],
    person: Uuid,
    q: &Query,
) -> Result<PersonBans, ProjectionError> {
    let registered = known.iter().any(|e| {
        e.stream.kind == StreamKind::Person
            && e.stream.id == person
            && matches!(e.event, Event::PersonRegistered(_))
    });
    if !registered {
        return Err(ProjectionError::UnknownPerson(person));
    }
    let at = effective_by(known, q.at);
    let facts = ban_facts(&at, person);
    // A window opened after `at` is not known on `at` (its fact is not effective).
    let windows: Vec<BanWindow> = ban_windows(&facts)
        .into_iter()
        .filter(|w| w.from <= q.at)
        .collect();
    Ok(PersonBans {
        person,
        as_of: q.as_of(),
        windows: windows.iter().map(|w| view(w, q.at)).collect(),
        may_be_payer: answer(BanRole::Payer, q.at, &windows),
        may_be_holder: answer(BanRole::Holder, q.at, &windows),
    })
}

/// "May this person be `role` on `date`?" as known at `known_at`: `Ok` or the
/// window that forbids it.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`].
pub fn may_person_be(
    events: &[Envelope],
    person: Uuid,
    role: BanRole,
    q: &Query,
) -> Result<MayBe, ProjectionError> {
    let b = person_bans(events, person, q)?;
    Ok(match role {
        BanRole::Payer => b.may_be_payer,
        BanRole::Holder => b.may_be_holder,
    })
}
