//! `TERM-RETENTION` over generated populations: the retention run
//! (`navigo_rules::retention`, over the folded states) picks exactly the
//! persons the rule names, compared with a straightforward computation from
//! the events themselves, on any date; and the `retention` command answers
//! the same list from a ledger on disk.

mod population_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use chrono::{Datelike, Duration, NaiveDate};
use navigo_events_schema::{Envelope, Event, StreamKind};
use navigo_rules::retention::{RetentionPolicy, RetentionRun};
use navigo_rules::world::World;
use proptest::prelude::*;
use uuid::Uuid;

use population_support::{advance_monthly, generated_ledger, in_scratch, into_log, scratch};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}

/// A generated population (payers of several holders, suspensions,
/// rejections, unpaid and payer terminations, fraud, refunds, corrections)
/// driven through a ledger on sled from 2024-01 to 2025-06, then the billing
/// clock month by month through 2026-06: the stored log.
fn population(seed: u64) -> Vec<Envelope> {
    let dir = scratch(&format!("retention-{seed:x}"));
    in_scratch(&dir, async {
        let mut ledger = generated_ledger(&dir, seed, 40, d(2025, 6, 30)).await;
        advance_monthly(&mut ledger, d(2025, 7, 1), d(2026, 6, 1), |_| Vec::new()).await;
        into_log(ledger).await
    })
}

/// The populations of the properties, generated once per test binary.
fn populations() -> &'static [(World, Vec<Envelope>)] {
    static POPULATIONS: OnceLock<Vec<(World, Vec<Envelope>)>> = OnceLock::new();
    POPULATIONS.get_or_init(|| {
        [0x7E7E_0001_u64, 0x7E7E_0002]
            .into_iter()
            .map(|seed| {
                let events = population(seed);
                let mut world = World::new();
                world.apply_all(&events);
                (world, events)
            })
            .collect()
    })
}

/// What the run under test answers: every state of the folded world, the
/// persons `erased` skipped; person → the day their retention ran out.
fn by_the_run(
    world: &World,
    today: NaiveDate,
    erased: &BTreeSet<Uuid>,
) -> BTreeMap<Uuid, NaiveDate> {
    let mut run = RetentionRun::new(RetentionPolicy::TERM_RETENTION, today);
    for c in world.contracts.values() {
        run.add_contract(c);
    }
    for p in world.persons.values() {
        run.add_person(p, erased.contains(&p.id));
    }
    run.due()
        .into_iter()
        .map(|d| (d.person, d.ran_out_on))
        .collect()
}

/// What the oracle knows of one contract, read from its events.
#[derive(Default)]
struct ContractFacts {
    parties: BTreeSet<Uuid>,
    terminated_on: Option<NaiveDate>,
    last_date: Option<NaiveDate>,
    refunds_due: BTreeSet<Uuid>,
    refunds_paid: BTreeSet<Uuid>,
}

/// What the oracle knows of one person's own stream.
#[derive(Default)]
struct PersonFacts {
    registered: bool,
    last_date: Option<NaiveDate>,
    refunds_due: BTreeSet<Uuid>,
    refunds_paid: BTreeSet<Uuid>,
}

/// The same date `years` later, 29 February becoming 28 February: calendar
/// years counted on the calendar, not through `add_months`.
fn years_later(date: NaiveDate, years: i32) -> NaiveDate {
    date.with_year(date.year() + years)
        .unwrap_or_else(|| d(date.year() + years, 2, 28))
}

/// The rule read straight from the events: a person is due when every
/// contract they hold, paid or are named in a fraud of was terminated, none of
/// them owes or is owed (the debt is the fold's `money.debt()`, the one figure
/// taken from the states: the balance properties prove it on the same
/// populations), no refund due to them on their own stream is unpaid, and 5
/// calendar years passed since the latest of those contracts' terminations and
/// events and of their own stream's events (each at the later of its effective
/// and recorded day).
fn by_the_events(
    events: &[Envelope],
    world: &World,
    today: NaiveDate,
    erased: &BTreeSet<Uuid>,
) -> BTreeMap<Uuid, NaiveDate> {
    let annulled: BTreeSet<Uuid> = events
        .iter()
        .filter_map(|e| e.event.annulled_event_id())
        .collect();
    let mut contracts: BTreeMap<Uuid, ContractFacts> = BTreeMap::new();
    let mut persons: BTreeMap<Uuid, PersonFacts> = BTreeMap::new();
    for e in events.iter().filter(|e| !annulled.contains(&e.event_id)) {
        match e.stream.kind {
            StreamKind::Contract => contract_fact(contracts.entry(e.stream.id).or_default(), e),
            StreamKind::Person => person_fact(persons.entry(e.stream.id).or_default(), e),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    for (id, p) in &persons {
        if !p.registered
            || erased.contains(id)
            || p.refunds_due.difference(&p.refunds_paid).next().is_some()
        {
            continue;
        }
        let mut end = p.last_date.expect("a registration");
        let mut kept = false;
        for (cid, c) in contracts.iter().filter(|(_, c)| c.parties.contains(id)) {
            let owes = world
                .contracts
                .get(cid)
                .is_some_and(|s| s.money.debt().is_positive());
            let owed = c.refunds_due.difference(&c.refunds_paid).next().is_some();
            match c.terminated_on {
                Some(t) if !owes && !owed => end = end.max(t).max(c.last_date.unwrap_or(t)),
                _ => kept = true,
            }
        }
        let ran_out = years_later(end, 5);
        if !kept && today >= ran_out {
            out.insert(*id, ran_out);
        }
    }
    out
}

fn contract_fact(c: &mut ContractFacts, e: &Envelope) {
    c.last_date = Some(
        c.last_date
            .map_or(e.effective_date, |l| l.max(e.effective_date)),
    );
    match &e.event {
        Event::ContractSubscribed(s) => {
            c.parties.extend([s.holder, s.payer]);
        }
        Event::PayerChanged(p) => {
            c.parties.insert(p.payer);
        }
        Event::FraudEstablished(f) => {
            c.parties.insert(f.fraudster);
            c.parties.extend(f.accomplices.iter().copied());
        }
        Event::ContractTerminated(_) => c.terminated_on = Some(e.effective_date),
        Event::RefundDue(_) => {
            c.refunds_due.insert(e.event_id);
        }
        Event::RefundPaid(p) => {
            c.refunds_paid.insert(p.refund_event_id);
        }
        _ => {}
    }
}

fn person_fact(p: &mut PersonFacts, e: &Envelope) {
    let day = e
        .effective_date
        .max(navigo_rules::calendar::paris_date(e.recorded_at));
    p.last_date = Some(p.last_date.map_or(day, |l| l.max(day)));
    match &e.event {
        Event::PersonRegistered(_) => p.registered = true,
        Event::RefundDue(_) => {
            p.refunds_due.insert(e.event_id);
        }
        Event::RefundPaid(r) => {
            p.refunds_paid.insert(r.refund_event_id);
        }
        _ => {}
    }
}

#[test]
fn term_retention_the_generated_populations_have_persons_due_kept_and_owing() {
    // The property below is not vacuous: on its last date, some persons of
    // each population are due and some are kept (a contract in force, a debt).
    for (world, events) in populations() {
        let today = d(2036, 12, 31);
        let due = by_the_events(events, world, today, &BTreeSet::new());
        assert!(!due.is_empty(), "nobody due in 2036");
        assert!(due.len() < world.persons.len(), "everybody due in 2036");
        let owing = world
            .contracts
            .values()
            .filter(|c| c.money.debt().is_positive());
        assert!(owing.count() > 0, "no debt in the population");
        assert!(by_the_run(world, d(2026, 1, 1), &BTreeSet::new()).is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `TERM-RETENTION`: on any date, the run picks exactly the persons the
    /// rule names, with the day their retention ran out; the persons erased
    /// already are never picked.
    #[test]
    fn term_retention_picks_exactly_the_persons_the_rule_names_on_generated_populations(
        population in 0usize..2,
        days in 0i64..(13 * 366),
        erased_one_in in 2u128..9,
    ) {
        let (world, events) = &populations()[population];
        let today = d(2024, 1, 1) + Duration::days(days);
        let erased: BTreeSet<Uuid> = world
            .persons
            .keys()
            .filter(|id| id.as_u128() % erased_one_in == 0)
            .copied()
            .collect();
        prop_assert_eq!(
            by_the_run(world, today, &erased),
            by_the_events(events, world, today, &erased)
        );
    }
}

/// The binary's `retention --json` on `data` on `at`: person → the day their
/// retention ran out.
fn by_the_command(data: &std::path::Path, at: &str) -> BTreeMap<Uuid, NaiveDate> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_navigo-ledger"))
        .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
        .arg("--data")
        .arg(data)
        .args(["retention", "--json", "--at", at])
        .output()
        .expect("retention");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["due"]
        .as_array()
        .expect("due")
        .iter()
        .map(|d| {
            let id = d["person"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("person");
            let on = d["ran_out_on"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("date");
            (id, on)
        })
        .collect()
}

#[test]
fn term_retention_command_walks_a_demo_ledger_to_the_persons_the_rule_names() {
    // Given a generated population written by `demo` (the ledger's paged
    // states, walked a chunk at a time by the command),
    let dir = scratch("retention-demo");
    let demo = std::process::Command::new(env!("CARGO_BIN_EXE_navigo-ledger"))
        .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
        .arg("--data")
        .arg(&dir)
        .args([
            "demo",
            "--contracts",
            "40",
            "--seed",
            "77",
            "--through",
            "2026-06-30",
        ])
        .output()
        .expect("demo");
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let events = {
        use navigo_store::{Limits, ManualClock};
        use navigo_store_sled::SledStore;
        let now = "2027-10-15T08:00:00Z".parse().expect("instant");
        let store = SledStore::open(&dir, Limits::default(), Arc::new(ManualClock::new(now)))
            .expect("open");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let events = navigo_ledger_core::load::read_everything(&store)
                .await
                .expect("read");
            let _ = store.close().await;
            events
        })
    };
    let mut world = World::new();
    world.apply_all(&events);
    // then on every date the command names exactly the persons of the rule
    // read from the events.
    let mut someone = false;
    for at in [
        "2026-06-30",
        "2029-06-30",
        "2030-12-31",
        "2031-06-30",
        "2033-01-01",
    ] {
        let today: NaiveDate = at.parse().expect("date");
        let expected = by_the_events(&events, &world, today, &BTreeSet::new());
        someone |= !expected.is_empty();
        assert_eq!(by_the_command(&dir, at), expected, "on {at}");
    }
    assert!(someone, "nobody due on any date");
    let _ = std::fs::remove_dir_all(&dir);
}
