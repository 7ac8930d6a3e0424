//! The billing clock reads only the contracts due (the wake dates of
//! `billing::wake_date`, kept in the world and stored with the states), on
//! generated populations over sled:
//! - the clock with the dates appends exactly the log a walk of every contract
//!   appends, event for event, whatever the cache, across annulments, payer
//!   changes, suspensions, a catalogue change and a reopen;
//! - a contract's wake date is never later than the step the clock decides for
//!   it, through any date;
//! - derived data without the dates (an older schema, or dates removed) is
//!   rebuilt and gives the same clock;
//! - the world's dates name exactly the contracts with a step.

mod population;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use navigo_events_schema::command::{AnnulEvent, ChangePayer, Suspend};
use navigo_events_schema::event::TariffPublished;
use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::{Command, CommandEnvelope, Envelope, Event, Money, StreamKind};
use navigo_ledger_core::states::{Refused, STATES_SPACE, STATE_SCHEMA_VERSION};
use navigo_ledger_core::{ClockMode, Ledger, StateRef};
use navigo_rules::billing::{advance_among, wake_date};
use navigo_rules::decision::Context;
use navigo_rules::ids::IdGen;
use navigo_rules::world::World;
use navigo_rules::Policy;
use navigo_sim::driver::{resolve_paged, send};
use navigo_sim::generate::Plan;
use navigo_store::{DerivedBatch, EventStore};
use navigo_store_sled::SledStore;
use proptest::prelude::*;
use uuid::Uuid;

use population::{agent_command, builtin_at, fresh_dir, open_store, plan, rt};

/// The caches the clock is compared under: a handful of states (every chunk
/// paged in and out), a few dozen, and every state.
const CACHES: [usize; 3] = [4, 40, usize::MAX];

/// Everything a stored event is, as comparable text.
fn canonical(e: &Envelope) -> String {
    serde_json::to_string(e).unwrap()
}

/// How the clock is run on a ledger under test.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Walk {
    /// With the wake dates.
    Due,
    /// Every contract at every advance: the dates forgotten before each.
    Whole,
}

/// A tariff published at `at` on the catalogue stream: the latest built-in
/// prices raised by 12.00 €, from September 2024 (a catalogue change between
/// two advances of the clock).
fn tariff_change(at: DateTime<Utc>) -> CommandEnvelope {
    let latest = navigo_rules::reference::builtin_catalogue_events()
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            Event::TariffPublished(t) => Some(t),
            _ => None,
        })
        .max_by_key(|t| t.effective_from)
        .unwrap();
    let mut prices = latest.prices;
    for p in &mut prices {
        p.annual += Money::from_cents(1_200);
    }
    CommandEnvelope {
        request_at: at,
        actor: Actor {
            role: ActorRole::System,
            id: "test-tariff".into(),
        },
        channel: None,
        idempotency_key: Some("test:tariff:2024-09".into()),
        expected_version: None,
        command: Command::PublishTariff(TariffPublished {
            effective_from: NaiveDate::from_ymd_opt(2024, 9, 1).unwrap(),
            prices,
            source: "test: a price change".into(),
        }),
    }
}

/// Planned requests between two corrections (an annulment or a payer change)
/// the tests add to the population.
const CORRECTION_EVERY: usize = 23;

/// An annulment of the `nth` annullable event of the contract streams (not a
/// stream's opening event nor an annulment), read from the log.
async fn annulment(
    ledger: &Ledger<SledStore>,
    nth: usize,
    at: DateTime<Utc>,
) -> Option<CommandEnvelope> {
    let events = ledger.store().read_log(1).await.unwrap();
    let annullable: Vec<&Envelope> = events
        .iter()
        .filter(|e| e.stream.kind == StreamKind::Contract)
        .filter(|e| {
            !matches!(
                e.event,
                Event::ContractSubscribed(_) | Event::EventAnnulled(_)
            )
        })
        .collect();
    let target = annullable.get(nth.wrapping_mul(7919) % annullable.len().max(1))?;
    Some(agent_command(
        at,
        format!("test:annul:{nth}"),
        Command::AnnulEvent(AnnulEvent {
            stream: target.stream,
            event_id: target.event_id,
            reason: "a correction".into(),
        }),
    ))
}

/// A payer change of the `nth` active contract paid by direct debit, to
/// another adult person, with the contract's last mandate (read through the
/// paged world, so that every cache finds the same).
async fn payer_change(
    ledger: &mut Ledger<SledStore>,
    nth: usize,
    at: DateTime<Utc>,
) -> Option<CommandEnvelope> {
    use navigo_rules::contract::state::Status;
    let w = ledger.world();
    let ids = |kind| -> Vec<Uuid> {
        w.versions
            .keys()
            .filter(|s| s.kind == kind)
            .map(|s| s.id)
            .collect()
    };
    let (contracts, persons) = (ids(StreamKind::Contract), ids(StreamKind::Person));
    let adult = NaiveDate::from_ymd_opt(2000, 1, 1)?;
    ledger
        .read_paged(|w| {
            let candidates: Vec<_> = contracts
                .iter()
                .filter_map(|id| w.contract(*id))
                .filter(|c| c.current_status() == Status::Active && !c.mandates.is_empty())
                .collect();
            let c = candidates.get(nth % candidates.len().max(1))?;
            let payer = persons
                .iter()
                .filter_map(|id| w.person(*id))
                .filter(|p| p.id != c.payer && p.birth_date < adult)
                .nth(nth % 7)?;
            Some(agent_command(
                at,
                format!("test:payer:{nth}"),
                Command::ChangePayer(ChangePayer {
                    contract_id: c.id,
                    payer: payer.id,
                    mandate: c.mandates.last().and_then(|(_, m)| m.to_input()),
                }),
            ))
        })
        .await
        .unwrap()
}

/// A suspension of the `nth` active contract from its earliest date, with a
/// resumption planned two months after the request (the clock resumes it).
async fn suspension(
    ledger: &mut Ledger<SledStore>,
    nth: usize,
    at: DateTime<Utc>,
) -> Option<CommandEnvelope> {
    use navigo_rules::contract::state::Status;
    let contracts: Vec<Uuid> = ledger
        .world()
        .versions
        .keys()
        .filter(|s| s.kind == StreamKind::Contract)
        .map(|s| s.id)
        .collect();
    let resume = at.date_naive() + Duration::days(60);
    ledger
        .read_paged(|w| {
            let active: Vec<Uuid> = contracts
                .iter()
                .filter_map(|id| w.contract(*id))
                .filter(|c| c.current_status() == Status::Active)
                .map(|c| c.id)
                .collect();
            let id = *active.get(nth % active.len().max(1))?;
            Some(agent_command(
                at,
                format!("test:suspend:{nth}"),
                Command::Suspend(Suspend {
                    contract_id: id,
                    effective_date: None,
                    planned_resumption: Some(resume),
                }),
            ))
        })
        .await
        .unwrap()
}

/// Sends the planned commands one by one, from the `first`-th of the plan on,
/// with an annulment or a payer change every [`CORRECTION_EVERY`] requests
/// (refusals are fine); before each advance of the clock a [`Walk::Whole`]
/// ledger forgets its wake dates.
async fn send_all(
    ledger: &mut Ledger<SledStore>,
    plan: &Plan,
    range: std::ops::Range<usize>,
    walk: Walk,
) {
    for i in range {
        let p = &plan.commands[i];
        for cmd in resolve_paged(ledger, p).await.unwrap() {
            if walk == Walk::Whole && matches!(cmd.command, Command::AdvanceClock(_)) {
                ledger.forget_wake_dates();
            }
            send(ledger, &cmd).await.unwrap();
        }
        if i % CORRECTION_EVERY != 0 {
            continue;
        }
        let at = p.at + Duration::milliseconds(1);
        let correction = match i / CORRECTION_EVERY % 3 {
            0 => annulment(ledger, i, at).await,
            1 => payer_change(ledger, i, at).await,
            _ => suspension(ledger, i, at).await,
        };
        if let Some(cmd) = correction {
            // Refusals are fine (the clock may have moved the stream on).
            let _ = ledger.execute(&cmd, ClockMode::Import).await;
        }
    }
}

/// Drives `plan` on a ledger of `cache` states: its first half, a tariff
/// change, a reopen, the second half. Returns the log and the stored wake
/// dates the reopened ledger holds at the end.
async fn drive(dir: &Path, plan: &Plan, cache: usize, walk: Walk) -> (Vec<String>, Wakes) {
    let half = plan.commands.len() / 2;
    let mut ledger = Ledger::open_with(open_store(dir), Policy::default(), 7, cache)
        .await
        .unwrap();
    ledger
        .load_builtin_reference(builtin_at(), ClockMode::Import)
        .await
        .unwrap();
    send_all(&mut ledger, plan, 0..half, walk).await;
    let at = plan.commands[half].at;
    let outcome = send(&mut ledger, &tariff_change(at)).await.unwrap();
    assert!(
        matches!(outcome, navigo_sim::driver::Outcome::Accepted { .. }),
        "{outcome:?}"
    );
    // The steps read the catalogue: every date not computed again since is
    // forgotten, the non-resident contracts' included.
    let w = ledger.world();
    assert!(
        w.wakes.known() <= w.contracts.len() + w.residency.stateless.len(),
        "{} dates known after a tariff change, {} contracts resident",
        w.wakes.known(),
        w.contracts.len()
    );
    let store = ledger.close().await.unwrap();
    let mut ledger = Ledger::open_with(store, Policy::default(), 7, cache)
        .await
        .unwrap();
    send_all(&mut ledger, plan, half..plan.commands.len(), walk).await;
    let store = ledger.close().await.unwrap();
    let log = store
        .read_log(1)
        .await
        .unwrap()
        .iter()
        .map(canonical)
        .collect();
    let ledger = Ledger::open_with(store, Policy::default(), 7, cache)
        .await
        .unwrap();
    let wakes = known_wakes(ledger.world());
    ledger.into_store().close().await.unwrap();
    (log, wakes)
}

/// The wake dates a world knows, by contract (`None`: no step).
type Wakes = BTreeMap<Uuid, Option<NaiveDate>>;

/// The contract streams of a world.
fn contract_streams(w: &World) -> usize {
    w.versions
        .keys()
        .filter(|s| s.kind == StreamKind::Contract)
        .count()
}

fn known_wakes(w: &World) -> Wakes {
    w.versions
        .keys()
        .filter(|s| s.kind == StreamKind::Contract)
        .filter_map(|s| w.wakes.get(s.id).map(|d| (s.id, d)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    /// The clock pages in only the contracts whose wake date is within its
    /// bound: under every cache, the log equals the log of a clock that walks
    /// every contract at every advance, event for event.
    #[test]
    fn clock_due_index_log_equals_the_whole_walk_log_event_for_event(seed in 1u64..1_000) {
        rt().block_on(async {
            let plan = plan(seed, 20);
            let whole_dir = fresh_dir("whole-walk");
            let (whole, whole_wakes) = drive(&whole_dir, &plan, usize::MAX, Walk::Whole).await;
            let _ = std::fs::remove_dir_all(&whole_dir);
            prop_assert!(whole.len() > 100, "seed {seed}: a log of some length ({})", whole.len());
            let kinds = ["EventAnnulled", "PayerChanged", "ContractSuspended", "ContractResumed", "DebitPresented"];
            for kind in kinds {
                prop_assert!(
                    whole.iter().any(|e| e.contains(&format!("\"type\":\"{kind}\""))),
                    "seed {seed}: the population holds a {kind}"
                );
            }
            for cache in CACHES {
                let dir = fresh_dir("due-walk");
                let (due, due_wakes) = drive(&dir, &plan, cache, Walk::Due).await;
                let _ = std::fs::remove_dir_all(&dir);
                prop_assert_eq!(due.len(), whole.len(), "seed {}, cache {}", seed, cache);
                for (i, (a, b)) in due.iter().zip(&whole).enumerate() {
                    prop_assert_eq!(a, b, "seed {}, cache {}: event {} differs", seed, cache, i + 1);
                }
                // Every contract's date is stored, and they agree.
                prop_assert_eq!(&due_wakes, &whole_wakes, "seed {}, cache {}", seed, cache);
            }
            Ok(())
        })?;
    }

    /// `billing::wake_date` is a lower bound: through any date, the clock
    /// decides nothing for a contract whose wake date is later (or which has
    /// none), and the first step it decides is dated on or after it (on it,
    /// unless that step cannot be decided yet).
    #[test]
    fn clock_wake_date_is_never_later_than_the_step_the_clock_decides(
        seed in 1u64..1_000,
        cut_percent in 10usize..=100,
        ahead_days in prop::collection::vec(0i64..900, 4),
    ) {
        rt().block_on(async {
            let plan = plan(seed, 10);
            let dir = fresh_dir("lower-bound");
            let cut = plan.commands.len() * cut_percent / 100;
            let mut ledger = Ledger::open_with(open_store(&dir), Policy::default(), 7, usize::MAX)
                .await
                .unwrap();
            ledger.load_builtin_reference(builtin_at(), ClockMode::Import).await.unwrap();
            send_all(&mut ledger, &plan, 0..cut, Walk::Due).await;
            let at = plan.commands[cut.saturating_sub(1)].at;
            let w = ledger.world();
            let policy = Policy::default();
            let mut decided = 0;
            for c in w.contracts.values() {
                let wake = wake_date(w, c, &policy);
                for days in &ahead_days {
                    let through = at.date_naive() + Duration::days(*days);
                    let mut ids = IdGen::new(seed);
                    let mut ctx = Context { policy: &policy, ids: &mut ids };
                    let decisions = advance_among(w, &[c.id], through, at, &mut ctx, usize::MAX);
                    let Some(first) = decisions.first() else {
                        continue;
                    };
                    decided += 1;
                    let date = first.events[0].effective_date;
                    prop_assert!(
                        wake.is_some_and(|wake| wake <= date),
                        "contract {}: wake {:?}, decided on {} through {}", c.id, wake, date, through
                    );
                }
            }
            prop_assert!(decided > 0 || cut_percent == 100, "seed {seed}: some step decided");
            ledger.into_store().close().await.unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            Ok(())
        })?;
    }
}

/// Rewrites the derived space as a ledger of an older schema left it: every
/// frame stamped with version `STATE_SCHEMA_VERSION - 1` when `older`, and no
/// wake date in either case.
async fn strip_wakes(store: &SledStore, older: bool) {
    let all = store.scan_derived_entries(STATES_SPACE, &[]).await.unwrap();
    let older_version = (STATE_SCHEMA_VERSION - 1).to_be_bytes();
    let entries = all
        .into_iter()
        .map(|(key, mut value)| {
            if key.first() == Some(&b'w') {
                return (key, None);
            }
            if older {
                value[..4].copy_from_slice(&older_version);
            }
            (key, Some(value))
        })
        .collect();
    store
        .write_derived_entries(
            STATES_SPACE,
            &DerivedBatch {
                clear: true,
                entries,
            },
        )
        .await
        .unwrap();
}

/// A ledger whose derived data holds no wake date (stored before they were,
/// under the older schema or the current one) rebuilds them: the older
/// schema is refused and refolded, the missing dates are computed as the
/// clock pages each contract in; either way the clock appends the log of a
/// ledger that kept its dates, and ends with the same dates.
#[test]
fn clock_due_index_missing_from_derived_data_is_rebuilt_with_the_same_clock() {
    rt().block_on(async {
        let plan = plan(11, 10);
        let half = plan.commands.len() / 2;
        let mut results = Vec::new();
        for case in ["kept", "removed", "older"] {
            let dir = fresh_dir(case);
            let mut ledger = Ledger::open_with(open_store(&dir), Policy::default(), 7, CACHES[0])
                .await
                .unwrap();
            ledger
                .load_builtin_reference(builtin_at(), ClockMode::Import)
                .await
                .unwrap();
            send_all(&mut ledger, &plan, 0..half, Walk::Due).await;
            let store = ledger.close().await.unwrap();
            if case != "kept" {
                strip_wakes(&store, case == "older").await;
            }
            let mut ledger = Ledger::open_with(store, Policy::default(), 7, CACHES[0])
                .await
                .unwrap();
            let opened = ledger.opened().clone();
            let known_at_open = ledger.world().wakes.known();
            let contracts = contract_streams(ledger.world());
            match case {
                "kept" => {
                    assert!(contracts >= 5, "{contracts} contracts");
                    assert_eq!(known_at_open, contracts, "every date loaded");
                }
                "removed" => assert_eq!(known_at_open, 0, "no date stored"),
                _ => {
                    assert_eq!(
                        opened.snapshot_refused,
                        Some(Refused::Version {
                            found: STATE_SCHEMA_VERSION - 1
                        })
                    );
                }
            }
            send_all(&mut ledger, &plan, half..plan.commands.len(), Walk::Due).await;
            let store = ledger.close().await.unwrap();
            let log: Vec<String> = store
                .read_log(1)
                .await
                .unwrap()
                .iter()
                .map(canonical)
                .collect();
            let ledger = Ledger::open_with(store, Policy::default(), 7, CACHES[0])
                .await
                .unwrap();
            let wakes = known_wakes(ledger.world());
            ledger.into_store().close().await.unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            results.push((case, log, wakes));
        }
        let (_, kept_log, kept_wakes) = &results[0];
        assert!(kept_log.len() > 100, "{}", kept_log.len());
        for (case, log, wakes) in &results[1..] {
            assert_eq!(log.len(), kept_log.len(), "{case}");
            for (i, (a, b)) in log.iter().zip(kept_log).enumerate() {
                assert_eq!(a, b, "{case}: event {} differs", i + 1);
            }
            assert_eq!(wakes, kept_wakes, "{case}");
        }
    });
}

/// The world's wake dates name exactly the contracts with a step, each with
/// the date `billing::wake_date` gives its state, and every contract of the
/// ledger has a known date after a run (counted, nothing timed), under a
/// cache of a handful of states.
#[test]
fn clock_due_index_holds_exactly_the_contracts_with_a_step() {
    rt().block_on(async {
        let dir = fresh_dir("exact");
        let plan = plan(13, 20);
        drive(&dir, &plan, CACHES[0], Walk::Due).await;
        let mut ledger = Ledger::open_with(open_store(&dir), Policy::default(), 7, CACHES[0])
            .await
            .unwrap();
        let stored = known_wakes(ledger.world());
        let policy = Policy::default();
        let catalogue_only = World {
            catalogue: ledger.world().catalogue.clone(),
            ..World::default()
        };
        // A contract stream without a state (an annulled subscription) has no
        // step; every other contract gets the date of its state.
        let mut expected: Wakes = ledger
            .world()
            .versions
            .keys()
            .filter(|s| s.kind == StreamKind::Contract)
            .map(|s| (s.id, None))
            .collect();
        ledger
            .walk_states(8, |stream, _, state| {
                if let StateRef::Contract(c) = state {
                    expected.insert(stream.id, wake_date(&catalogue_only, c, &policy));
                }
            })
            .await
            .unwrap();
        let contracts = ledger
            .world()
            .versions
            .keys()
            .filter(|s| s.kind == StreamKind::Contract)
            .count();
        assert!(contracts >= 20, "{contracts} contracts");
        assert_eq!(stored.len(), contracts, "every contract's date is known");
        assert_eq!(stored, expected);
        let with_step = ledger.world().wakes.with_step().count();
        let expected_with_step = expected.values().filter(|d| d.is_some()).count();
        assert_eq!(with_step, expected_with_step);
        assert!(with_step > 0, "some contract has a step ahead");
        ledger.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}
