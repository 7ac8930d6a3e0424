//! Ban windows per person (`BAN-UNPAID-2M`, `BAN-UNPAID-2011`, `BAN-TREASURY-2Y`,
//! `BAN-FRAUD-3Y`): the facts are read from the contract streams the person pays or
//! is named in, the windows are the core's ([`navigo_rules::bans::ban_windows`]), and
//! "may this person be payer / holder on `at`?" is [`navigo_rules::bans::may_be`].
//! Facts count when known and effective by `at`, so a lift after `at` is not shown.

use chrono::NaiveDate;
use navigo_events_schema::event::TerminationReason;
use navigo_events_schema::views::{BanLift, BanRoleView, BanWindowView, MayBe, PersonBans};
use navigo_events_schema::{Envelope, Event, StreamKind};
use navigo_rules::bans::{ban_windows, may_be, BanFact, BanRole, BanWindow, FraudRole};
use navigo_rules::contract::state::ContractState;
use uuid::Uuid;

use crate::{Folded, ProjectionError, Query};

/// The ban facts about `person` in the given envelopes (effective by the date
/// read), walking each contract stream in order with the core's fold so that the
/// payer at the time and the settlement of the debt are those of the contract.
pub fn ban_facts(events: &[&Envelope], person: Uuid) -> Vec<BanFact> {
    let mut facts = Vec::new();
    ban_facts_pass(events, |about, fact| {
        if about.is_none_or(|p| p == person) {
            facts.push(fact);
        }
    });
    facts
}

/// The one walk behind [`ban_facts`] and [`BanFactsByPerson`]: every fact in
/// event order, with the person it is about (`None`: a fact of the contract,
/// which every person's windows read, such as a treasury notice delivered or a
/// debt settled). A fraud finding gives one fact to each distinct party.
fn ban_facts_pass(events: &[&Envelope], mut emit: impl FnMut(Option<Uuid>, BanFact)) {
    let mut states: std::collections::BTreeMap<Uuid, ContractState> = Default::default();
    let mut settled: std::collections::BTreeSet<Uuid> = Default::default();
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
                TerminationReason::Unpaid => emit(
                    Some(payer_before),
                    BanFact::UnpaidTermination {
                        date: e.effective_date,
                        rulebook: t.rulebook.clone(),
                        contract: id,
                        event_id: e.event_id,
                    },
                ),
                TerminationReason::SubscriptionFraud | TerminationReason::UsageFraud => {
                    if let Some(fraud) = &c.fraud {
                        let mut parties: Vec<Uuid> = std::iter::once(fraud.0)
                            .chain(fraud.1.iter().copied())
                            .collect();
                        parties.sort_unstable();
                        parties.dedup();
                        for party in parties {
                            if let Some(role) = FraudRole::of(fraud, party) {
                                emit(
                                    Some(party),
                                    BanFact::FraudTermination {
                                        date: e.effective_date,
                                        rulebook: t.rulebook.clone(),
                                        role,
                                        contract: id,
                                        event_id: e.event_id,
                                    },
                                );
                            }
                        }
                    }
                }
                _ => {}
            },
            Event::TreasuryNoticeIssued(n) => emit(
                Some(n.payer),
                BanFact::TreasuryNoticeIssued {
                    date: e.effective_date,
                    contract: id,
                    notice_ref: n.notice_ref.clone(),
                    event_id: e.event_id,
                },
            ),
            Event::TreasuryNoticeDelivered(n) => emit(
                None,
                BanFact::TreasuryNoticeDelivered {
                    date: e.effective_date,
                    contract: id,
                    notice_ref: n.notice_ref.clone(),
                },
            ),
            Event::TreasuryNoticeSettled(n) => emit(
                None,
                BanFact::TreasuryNoticeSettled {
                    date: e.effective_date,
                    contract: id,
                    notice_ref: n.notice_ref.clone(),
                },
            ),
            _ => {}
        }
        // BAN-UNPAID-2M: the debt of a contract terminated for unpaid debt is
        // settled when its balance no longer shows a debt.
        let unpaid_terminated = matches!(c.termination, Some((_, TerminationReason::Unpaid, _)));
        if unpaid_terminated && !c.money.debt().is_positive() && settled.insert(id) {
            emit(
                None,
                BanFact::DebtSettled {
                    date: e.effective_date,
                    contract: id,
                },
            );
        }
    }
}

/// The ban facts of every person in one walk of the envelopes: what
/// [`ban_facts`] gives for each person, without walking every contract once per
/// person (`check-projections` reads every person's bans from the whole log).
#[derive(Debug, Default)]
pub struct BanFactsByPerson {
    /// The facts of the contracts, which every person reads, with their rank
    /// in the walk.
    shared: Vec<(usize, BanFact)>,
    /// The facts about each person, with their rank in the walk.
    own: std::collections::HashMap<Uuid, Vec<(usize, BanFact)>>,
}

impl BanFactsByPerson {
    /// Walks `events` (effective by the date read) once.
    pub fn new(events: &[&Envelope]) -> BanFactsByPerson {
        let mut out = BanFactsByPerson::default();
        let mut rank = 0;
        ban_facts_pass(events, |about, fact| {
            match about {
                None => out.shared.push((rank, fact)),
                Some(p) => out.own.entry(p).or_default().push((rank, fact)),
            }
            rank += 1;
        });
        out
    }

    /// The facts about `person`, in the order [`ban_facts`] gives them.
    pub fn of(&self, person: Uuid) -> Vec<BanFact> {
        let own = self.own.get(&person).map_or(&[][..], Vec::as_slice);
        let mut facts = Vec::with_capacity(own.len() + self.shared.len());
        let (mut own, mut shared) = (own.iter().peekable(), self.shared.iter().peekable());
        // The two lists are each in walk order: merge them by rank.
        while let (Some((ro, _)), Some((rs, _))) = (own.peek(), shared.peek()) {
            let next = if ro < rs { own.next() } else { shared.next() };
            facts.extend(next.map(|(_, f)| f.clone()));
        }
        facts.extend(own.chain(shared).map(|(_, f)| f.clone()));
        facts
    }
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

/// The ban windows of a person (the input holding every contract stream the
/// person pays or is named in, and the person's stream), and whether they may be
/// payer or holder on `at`. Reads the known events only: no fold.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`] when no registration of the person is known.
pub fn person_bans(input: &Folded<'_>, person: Uuid) -> Result<PersonBans, ProjectionError> {
    let registered = input.known_events().iter().any(|e| {
        e.stream.kind == StreamKind::Person
            && e.stream.id == person
            && matches!(e.event, Event::PersonRegistered(_))
    });
    if !registered {
        return Err(ProjectionError::UnknownPerson(person));
    }
    let facts = ban_facts(input.effective_events(), person);
    Ok(bans_view(person, &facts, input.query()))
}

/// The view of a person's ban facts (effective by `q.at`) on `q.at`.
fn bans_view(person: Uuid, facts: &[BanFact], q: &Query) -> PersonBans {
    // A window opened after `at` is not known on `at` (its fact is not effective).
    let windows: Vec<BanWindow> = ban_windows(facts)
        .into_iter()
        .filter(|w| w.from <= q.at)
        .collect();
    PersonBans {
        person,
        as_of: q.as_of(),
        windows: windows.iter().map(|w| view(w, q.at)).collect(),
        may_be_payer: answer(BanRole::Payer, q.at, &windows),
        may_be_holder: answer(BanRole::Holder, q.at, &windows),
    }
}

/// [`person_bans`] of every person registered in the input (a whole log), from
/// one walk of its events: what `check-projections` compares each materialized
/// bans row with. Equal, person by person, to [`person_bans`] over the same
/// input (tested on generated populations).
pub fn every_person_bans(input: &Folded<'_>) -> std::collections::BTreeMap<Uuid, PersonBans> {
    let facts = BanFactsByPerson::new(input.effective_events());
    input
        .known_events()
        .iter()
        .filter(|e| {
            e.stream.kind == StreamKind::Person && matches!(e.event, Event::PersonRegistered(_))
        })
        .map(|e| e.stream.id)
        .collect::<std::collections::BTreeSet<Uuid>>()
        .into_iter()
        .map(|p| (p, bans_view(p, &facts.of(p), input.query())))
        .collect()
}

/// "May this person be `role` on `at`?" as known at `known_at`: `Ok` or the
/// window that forbids it.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`].
pub fn may_person_be(
    input: &Folded<'_>,
    person: Uuid,
    role: BanRole,
) -> Result<MayBe, ProjectionError> {
    let b = person_bans(input, person)?;
    Ok(match role {
        BanRole::Payer => b.may_be_payer,
        BanRole::Holder => b.may_be_holder,
    })
}
