//! Simulation tests, at small sizes: seeded populations driven
//! through the ledger over a sled store, with duplicate deliveries and commands
//! arriving out of order. After each run: the chain verifies, the balance
//! invariant holds on every contract, and folding the stored events again gives
//! the live world (no acknowledged event lost).
//!
//! Each run prints its seed; `NAVIGO_SIM_SEED=<seed>` reruns that one,
//! `NAVIGO_SIM_RUNS=<n>` runs n seeds (the long run, e.g. `NAVIGO_SIM_RUNS=50`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use navigo_events_schema::{Command, Event, StreamId};
use navigo_ledger_core::{ClockMode, Ledger};
use navigo_rules::contract::collection::Presentation;
use navigo_rules::world::World;
use navigo_rules::Policy;
use navigo_sim::drive;
use navigo_sim::driver::{resolve, send, Outcome};
use navigo_sim::generate::{generate, Plan, PopulationConfig, Step};
use navigo_sim::summary::{balance_holds, summarize};
use navigo_store::{EventStore, Limits, ManualClock};
use navigo_store_sled::SledStore;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// Contracts of one simulation run (small: CI).
const SIM_CONTRACTS: u32 = 60;
/// Contracts of the run whose presented debits are checked.
const PRESENTED_CONTRACTS: u32 = 400;

fn seeds() -> Vec<u64> {
    if let Ok(s) = std::env::var("NAVIGO_SIM_SEED") {
        return vec![s.trim().parse().expect("NAVIGO_SIM_SEED is a u64")];
    }
    let runs: u64 = std::env::var("NAVIGO_SIM_RUNS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    (0..runs).map(|i| 0x5EED_0000 + i * 7919).collect()
}

fn announce(test: &str, seed: u64) {
    eprintln!("{test}: simulation seed {seed} (rerun with NAVIGO_SIM_SEED={seed})");
}

fn plan(seed: u64) -> Plan {
    plan_of(seed, SIM_CONTRACTS)
}

fn plan_of(seed: u64, contracts: u32) -> Plan {
    let campaigns = navigo_rules::reference::builtin_campaigns().unwrap();
    generate(
        PopulationConfig {
            seed,
            contracts,
            from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            // Through the PUNCT-2024 filing window of 2025.
            through: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
        },
        &campaigns,
    )
}

fn fresh_dir(name: &str) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("population-tests")
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn builtin_at() -> DateTime<Utc> {
    "2011-06-01T00:00:00Z".parse().unwrap()
}

fn open(dir: &Path) -> SledStore {
    SledStore::init(dir).unwrap();
    SledStore::open(
        dir,
        Limits::default(),
        Arc::new(ManualClock::new(builtin_at())),
    )
    .unwrap()
}

async fn new_ledger(name: &str, seed: u64) -> (Ledger<SledStore>, PathBuf) {
    let dir = fresh_dir(name);
    let mut ledger = Ledger::open(open(&dir), Policy::default(), seed)
        .await
        .unwrap();
    ledger
        .load_builtin_reference(builtin_at(), ClockMode::Import)
        .await
        .unwrap();
    (ledger, dir)
}

/// The business state of a world, without the generated ids: per stream, its
/// version (the world keeps no histories: they are read from the store); per
/// contract, status, product and money.
fn fingerprint(world: &World) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (stream, version) in &world.versions {
        out.insert(stream.to_string(), vec![format!("version {version}")]);
    }
    for c in world.contracts.values() {
        out.insert(
            format!("money:{}", c.id),
            vec![format!(
                "{:?} {} due {} collected {} returned {}",
                c.current_status(),
                c.product,
                c.money.due,
                c.money.collected,
                c.money.returned
            )],
        );
    }
    out
}

/// The checks after every run: the chain verifies, the balance invariant holds on
/// every contract, and the stored events fold again into the live world.
async fn check_after_run(ledger: Ledger<SledStore>, dir: &Path, seed: u64) -> World {
    let live = ledger.world().clone();
    for c in live.contracts.values() {
        assert!(
            balance_holds(c),
            "seed {seed}: balance invariant broken on {}",
            c.id
        );
    }
    // BAN-FRAUD-3Y, BAN-UNPAID-2M, BAN-TREASURY-2Y: the facts read through the
    // person indexes equal the full scan of every contract.
    for p in live.persons.keys() {
        assert_eq!(
            live.ban_facts(*p),
            live.ban_facts_among(*p, live.contracts.values()),
            "seed {seed}: ban facts of {p} differ from the full scan"
        );
    }
    let summary = summarize(&live, NaiveDate::from_ymd_opt(2025, 6, 30).unwrap());
    assert_eq!(summary.balance_mismatches, 0, "seed {seed}");
    let store = ledger.into_store();
    let report = store.verify().unwrap();
    assert!(
        report.first_bad.is_none(),
        "seed {seed}: chain fails: {:?}",
        report.first_bad
    );
    assert_eq!(
        report.head.position, live.position,
        "seed {seed}: acknowledged events lost"
    );
    // The stored log holds, per stream, exactly the events the live world
    // counted, in sequence: nothing acknowledged is missing from a stream and
    // nothing is there that the world did not fold.
    let mut stored: BTreeMap<_, u64> = BTreeMap::new();
    for e in store.read_log(1).await.unwrap() {
        let seq = stored.entry(e.stream).or_default();
        *seq += 1;
        assert_eq!(
            e.stream_seq, *seq,
            "seed {seed}: {} out of sequence",
            e.stream
        );
    }
    assert_eq!(
        stored, live.versions,
        "seed {seed}: the log's streams differ from the world's"
    );
    store.close().await.unwrap();
    let reopened = Ledger::open(open(dir), Policy::default(), seed)
        .await
        .unwrap();
    assert_eq!(
        fingerprint(reopened.world()),
        fingerprint(&live),
        "seed {seed}: folding the store again differs from the live world"
    );
    reopened.into_store().close().await.unwrap();
    live
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn population_duplicate_delivery_is_answered_as_already_applied_and_changes_nothing() {
    for seed in seeds() {
        announce("duplicate delivery", seed);
        let plan = plan(seed);
        runtime().block_on(async {
            // Given a run where every command is delivered once
            let (mut once, dir_once) = new_ledger("once", seed).await;
            let report = drive(&mut once, &plan.commands, &mut |_| {}).await.unwrap();
            assert!(report.accepted > 0, "seed {seed}");
            let world_once = check_after_run(once, &dir_once, seed).await;

            // When every command is delivered twice with the same idempotency key
            let (mut twice, dir_twice) = new_ledger("twice", seed).await;
            let mut duplicates_applied = 0u64;
            for p in &plan.commands {
                for cmd in resolve(twice.world(), p) {
                    let first = send(&mut twice, &cmd).await.unwrap();
                    let position = twice.world().position;
                    let second = send(&mut twice, &cmd).await.unwrap();
                    // Then nothing is appended by the second delivery
                    assert_eq!(twice.world().position, position, "seed {seed}: {}", p.key);
                    let is_clock = matches!(cmd.command, Command::AdvanceClock(_));
                    match (&first, &second) {
                        // The clock carries its own keys: running it again appends
                        // nothing new.
                        (Outcome::Accepted { .. }, Outcome::Accepted { events: 0 }) if is_clock => {
                        }
                        (Outcome::Accepted { .. }, Outcome::AlreadyApplied) => {
                            duplicates_applied += 1
                        }
                        // A refused command is judged again, with the same answer.
                        (Outcome::Refused { rule: a, .. }, Outcome::Refused { rule: b, .. }) => {
                            assert_eq!(a, b, "seed {seed}")
                        }
                        (Outcome::Invalid { field: a, .. }, Outcome::Invalid { field: b, .. }) => {
                            assert_eq!(a, b, "seed {seed}")
                        }
                        other => panic!("seed {seed}: {} answered {other:?}", p.key),
                    }
                }
            }
            assert!(duplicates_applied > 0, "seed {seed}");
            let world_twice = check_after_run(twice, &dir_twice, seed).await;
            // And the state is the one of the run without duplicates
            assert_eq!(
                fingerprint(&world_twice),
                fingerprint(&world_once),
                "seed {seed}: duplicates changed the state"
            );
        });
    }
}

#[test]
fn population_command_earlier_than_the_head_is_refused_as_out_of_order() {
    for seed in seeds() {
        announce("out of order", seed);
        let plan = plan(seed);
        runtime().block_on(async {
            // Given a reference run
            let (mut clean, dir_clean) = new_ledger("ooo-clean", seed).await;
            drive(&mut clean, &plan.commands, &mut |_| {}).await.unwrap();
            let head_clean = clean.world().head_hash;
            check_after_run(clean, &dir_clean, seed).await;

            // When, halfway, a copy of an earlier command arrives under a new key
            let (mut late, dir_late) = new_ledger("ooo-late", seed).await;
            let half = plan.commands.len() / 2;
            drive(&mut late, &plan.commands[..half], &mut |_| {}).await.unwrap();
            let early = plan
                .commands
                .iter()
                .take(half / 2)
                .rev()
                .find(|p| matches!(&p.step, Step::Command(c) if !matches!(c.command, Command::AdvanceClock(_))))
                .expect("an early command");
            let mut copy = resolve(late.world(), early).remove(0);
            copy.idempotency_key = Some(format!("late-copy:{}", early.key));
            copy.request_at = early.at + Duration::milliseconds(1);
            let position = late.world().position;
            let outcome = send(&mut late, &copy).await.unwrap();
            // Then it is refused as out of order and nothing is appended
            assert!(
                matches!(outcome, Outcome::OutOfOrder { .. }),
                "seed {seed}: {outcome:?}"
            );
            assert_eq!(late.world().position, position, "seed {seed}");
            // And the rest of the run ends on the reference chain head
            let report = drive(&mut late, &plan.commands[half..], &mut |_| {}).await.unwrap();
            assert_eq!(report.out_of_order, 0, "seed {seed}");
            assert_eq!(late.world().head_hash, head_clean, "seed {seed}");
            check_after_run(late, &dir_late, seed).await;
        });
    }
}

#[test]
fn population_swapped_arrivals_are_reported_out_of_order() {
    for seed in seeds() {
        announce("swapped arrivals", seed);
        let mut plan = plan(seed);
        // Given two customer requests that arrive in the wrong order
        let i = plan
            .commands
            .iter()
            .enumerate()
            .skip(plan.commands.len() / 3)
            .find(|(i, p)| {
                let q = &plan.commands[i + 1];
                let customer = |s: &Step| matches!(s, Step::Command(c) if !matches!(c.command, Command::AdvanceClock(_)));
                // The second is a registration, which is always accepted and so
                // moves the head past the first.
                let registration = matches!(&q.step, Step::Command(c) if matches!(c.command, Command::RegisterPerson(_)));
                customer(&p.step) && registration && p.at < q.at
            })
            .map(|(i, _)| i)
            .expect("two adjacent customer requests");
        plan.commands.swap(i, i + 1);
        runtime().block_on(async {
            let (mut ledger, dir) = new_ledger("swapped", seed).await;
            // When the plan is driven
            let report = drive(&mut ledger, &plan.commands, &mut |_| {})
                .await
                .unwrap();
            // Then the late one is refused as out of order, and the ledger is sound
            assert_eq!(report.out_of_order, 1, "seed {seed}");
            check_after_run(ledger, &dir, seed).await;
        });
    }
}

/// An event of a log by its stream, sequence, key and hash (the hash covers
/// the rest: the event, its ids, its instants and the chain before it).
type Logged = (
    navigo_events_schema::StreamId,
    u64,
    Option<String>,
    navigo_events_schema::Hash,
);

/// Every event of the log of `store`, in order.
async fn log(store: &SledStore) -> Vec<Logged> {
    store
        .read_log(1)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.stream, e.stream_seq, e.idempotency_key, e.hash))
        .collect()
}

#[test]
fn plan_windows_driven_append_the_log_the_whole_plan_appends() {
    runtime().block_on(async {
        let seed = seeds()[0];
        announce("plan_windows_driven", seed);
        // Given the same population driven whole, and a window of at most
        // 100 requests at a time
        let (mut whole, whole_dir) = new_ledger("windows-whole", seed).await;
        let whole_report = drive(&mut whole, &plan(seed).commands, &mut |_| {})
            .await
            .unwrap();
        let (mut windowed, windowed_dir) = new_ledger("windows-cut", seed).await;
        let campaigns = navigo_rules::reference::builtin_campaigns().unwrap();
        let config = plan(seed).config;
        let mut windows = navigo_sim::PlanWindows::new(config, &campaigns, 100).unwrap();
        assert!(windows.windows_left() > 3, "the bound cuts the plan");
        let mut done = 0;
        let report = navigo_sim::drive_windows(&mut windowed, &mut windows, &mut |n| done = n)
            .await
            .unwrap();
        // Then both logs hold the same events, key for key and stream for
        // stream, and the reports the same counts
        assert_eq!(log(whole.store()).await, log(windowed.store()).await);
        assert_eq!(
            (
                report.accepted,
                report.refused,
                report.skipped,
                report.clock_events
            ),
            (
                whole_report.accepted,
                whole_report.refused,
                whole_report.skipped,
                whole_report.clock_events
            )
        );
        assert_eq!(
            done,
            plan(seed).commands.len(),
            "progress counts every request"
        );
        whole.into_store().close().await.unwrap();
        windowed.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(whole_dir);
        let _ = std::fs::remove_dir_all(windowed_dir);
    });
}

/// PAY-MANDATE-SEQUENCE, PAY-MANDATE-AMENDMENT, PAY-CUTOFF: every debit a
/// generated population presented keeps how it went to the bank as the
/// contract's state just before it said (first or recurrent, amended or not),
/// and the mandate the contract holds at the end for the debit's date is the
/// one it was presented under: what a collection file built later reads
/// from the contract's state instead of its history.
#[test]
fn pay_mandate_sequence_each_debit_keeps_the_mandate_and_sequence_it_was_presented_with() {
    for seed in seeds() {
        announce("presented debits", seed);
        // Enough contracts for a few payer changes (0.15 % a month each).
        let plan = plan_of(seed, PRESENTED_CONTRACTS);
        runtime().block_on(async {
            // Given a generated population run through its plan
            let (mut ledger, _dir) = new_ledger("presented", seed).await;
            drive(&mut ledger, &plan.commands, &mut |_| {})
                .await
                .unwrap();
            let live = ledger.world().clone();
            let store = ledger.into_store();
            let (mut checked, mut payers_changed) = (0, 0);
            for c in live.contracts.values() {
                let stream = StreamId::contract(c.id);
                let events = store
                    .read_stream(stream, 1..=live.version(stream))
                    .await
                    .unwrap();
                // An annulment refolds the stream without the event it
                // annuls: the state before a debit is then not a prefix.
                if events
                    .iter()
                    .any(|e| matches!(e.event, Event::EventAnnulled(_)))
                {
                    continue;
                }
                payers_changed += usize::from(
                    events
                        .iter()
                        .any(|e| matches!(e.event, Event::PayerChanged(_))),
                );
                for (i, e) in events.iter().enumerate() {
                    let Event::DebitPresented(d) = &e.event else {
                        continue;
                    };
                    // When the contract's state just before the debit is folded
                    let mut before = World::new();
                    before.apply_all_states(events[..i].iter());
                    let then = before
                        .contract(c.id)
                        .and_then(|b| b.collection_mandate(e.effective_date));
                    // Then the debit kept what it said, and the mandate of its
                    // date is still that one
                    let kept = c.debits.get(&d.month).expect("the debit's month");
                    assert_eq!(kept.event_id, e.event_id, "seed {seed}: {}", c.id);
                    assert_eq!(kept.recorded_at, e.recorded_at, "seed {seed}: {}", c.id);
                    assert_eq!(
                        kept.presented_as,
                        then.as_ref().map(Presentation::of),
                        "seed {seed}: {} {}",
                        c.id,
                        d.month
                    );
                    assert_eq!(
                        c.collection_mandate(e.effective_date).map(|m| m.mandate),
                        then.map(|m| m.mandate),
                        "seed {seed}: {} {}",
                        c.id,
                        d.month
                    );
                    checked += 1;
                }
            }
            assert!(checked > 200, "seed {seed}: {checked} debits checked");
            assert!(payers_changed > 0, "seed {seed}: no payer changed");
            store.close().await.unwrap();
        });
    }
}
