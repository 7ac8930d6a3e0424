//! A contract's views computed from its slice (`navigo_projections::slice`: the
//! streams the ledger's world picks, read from the store, what the HTTP service
//! reads; equal to the slice cut from a world folded with its histories) equal the views
//! computed from the whole log, for every contract (and every person's bans and
//! refunds from `slice::person_slice`) of a generated population
//! (payers paying for several holders, suspensions, zone changes, rejections,
//! terminations, fraud, corrections), on several `at` dates and `known_at` instants.

mod population_support;
mod projections_support;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::command::{Command, ContractRef};
use navigo_events_schema::types::Channel;
use navigo_events_schema::{Envelope, RuleId, StreamId, StreamKind};
use navigo_ledger_core::{load, Ledger};
use navigo_projections::{balance, bans, calendar, refunds, slice, state, Folded, Query};
use navigo_rules::Policy;
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::SledStore;
use navigo_testkit::{annual_1_5, cid, pid, register, subscribe};
use population_support::{generated_ledger, scratch};
use projections_support::*;

const SEED: u64 = 0x51_1CE;
const CONTRACTS: u32 = 40;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn instant(s: &str) -> DateTime<Utc> {
    s.parse().expect("instant")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_slice_views_equal_whole_log_views_on_a_generated_population() {
    // Given a generated population driven through the ledger
    let dir = scratch("projections-slice");
    let ledger = generated_ledger(&dir, SEED, CONTRACTS, date(2025, 9, 30)).await;
    let all = load::read_everything(ledger.store()).await.expect("log");
    // The ledger's world holds states only; the slices are cut from a world
    // folded from the whole log, histories included.
    let folded = navigo_projections::fold(&all.iter().collect::<Vec<_>>());
    let world = &folded;
    // And the slices a one-id read takes through the ledger (the streams its
    // world's indexes pick, read from the store) are those cut from the folded
    // world, for every contract and every person.
    for id in world.contracts.keys() {
        let streams = slice::contract_streams(ledger.world(), *id).expect("a known contract");
        let read = ledger.read_streams(&streams).await.expect("read");
        assert_eq!(
            Some(read),
            slice::contract_slice(world, *id),
            "slice of {id}"
        );
    }
    // And the slices a one-id read takes without paging a state in (a
    // contract's own stream and the catalogue read first, a person's own
    // stream first) are those the ledger's world picks, and an id the ledger
    // does not know has none.
    let reader = &ledger;
    let read = |streams| async move { reader.read_streams(&streams).await };
    for id in world.contracts.keys() {
        let streams = slice::contract_streams(ledger.world(), *id).expect("a known contract");
        let by_own = slice::read_contract_slice(ledger.world(), *id, read).await;
        let expected = ledger.read_streams(&streams).await.expect("read");
        assert_eq!(by_own.expect("read"), Some(expected), "slice of {id}");
    }
    for id in world.persons.keys() {
        let streams = slice::person_streams(ledger.world(), *id).expect("a known person");
        let by_own = slice::read_person_slice(ledger.world(), *id, read).await;
        let expected = ledger.read_streams(&streams).await.expect("read");
        assert_eq!(by_own.expect("read"), Some(expected), "slice of {id}");
    }
    let unknown = uuid::Uuid::from_u128(7);
    let none = slice::read_contract_slice(ledger.world(), unknown, read).await;
    assert_eq!(none.expect("read"), None);
    let none = slice::read_person_slice(ledger.world(), unknown, read).await;
    assert_eq!(none.expect("read"), None);
    for id in world.persons.keys() {
        let streams = slice::person_streams(ledger.world(), *id).expect("a known person");
        let read = ledger.read_streams(&streams).await.expect("read");
        assert_eq!(Some(read), slice::person_slice(world, *id), "slice of {id}");
    }
    assert!(world.contracts.len() >= CONTRACTS as usize / 2);
    let policy = Policy::default();
    // When each contract's views are read from its slice and from the whole log
    let queries = [
        Query::on(date(2025, 9, 30)),
        Query::on(date(2026, 3, 15)),
        Query {
            at: date(2024, 11, 30),
            known_at: Some(instant("2024-12-01T00:00:00Z")),
        },
        Query {
            at: date(2025, 2, 28),
            known_at: Some(instant("2025-06-15T12:00:00Z")),
        },
    ];
    let mut compared = 0usize;
    for q in &queries {
        let whole = Folded::new(&all, q);
        for id in world.contracts.keys() {
            let part = slice::contract_slice(world, *id).expect("a known contract");
            assert!(part.len() < all.len());
            let sliced = Folded::new(&part, q);
            // Then they are equal, view by view (or absent in both)
            let a = state::contract_state(&whole, *id).ok();
            let b = state::contract_state(&sliced, *id).ok();
            assert_eq!(a, b, "state of {id} at {q:?}");
            let a = balance::contract_balance(&whole, *id).ok();
            let b = balance::contract_balance(&sliced, *id).ok();
            assert_eq!(a, b, "balance of {id} at {q:?}");
            let a = calendar::calendar(&whole, *id, &policy, None).ok();
            let b = calendar::calendar(&sliced, *id, &policy, None).ok();
            assert_eq!(a, b, "calendar of {id} at {q:?}");
            compared += a.is_some() as usize;
        }
    }
    assert!(
        compared > CONTRACTS as usize,
        "{compared} calendars compared"
    );
    // And each person's bans and refunds read from the person's slice equal
    // those read from the whole log.
    // And the bans of every person from one walk of the log (what
    // `check-projections` compares with) equal each person's own.
    // And each person's refunds read from the person's slice without the
    // reference streams, over one fold of those streams shared by every
    // person (what the materializer computes), equal them too.
    let reference_events: Vec<Envelope> = all
        .iter()
        .filter(|e| matches!(e.stream.kind, StreamKind::Catalogue | StreamKind::Campaign))
        .cloned()
        .collect();
    assert!(reference_events
        .iter()
        .any(|e| e.stream.kind == StreamKind::Campaign));
    let mut persons_compared = 0usize;
    for q in &queries {
        let whole = Folded::new(&all, q);
        let every = bans::every_person_bans(&whole);
        let reference = Folded::new(&reference_events, q);
        for id in world.persons.keys() {
            let part = slice::person_slice(world, *id).expect("a known person");
            assert!(part.len() < all.len());
            let sliced = Folded::new(&part, q);
            let a = bans::person_bans(&whole, *id).ok();
            let b = bans::person_bans(&sliced, *id).ok();
            assert_eq!(a, b, "bans of {id} at {q:?}");
            assert_eq!(every.get(id), a.as_ref(), "bans of {id} at {q:?}, one walk");
            let a = refunds::person_refunds(&whole, *id).ok();
            let b = refunds::person_refunds(&sliced, *id).ok();
            assert_eq!(a, b, "refunds of {id} at {q:?}");
            let own: Vec<Envelope> = part
                .iter()
                .filter(|e| !matches!(e.stream.kind, StreamKind::Catalogue | StreamKind::Campaign))
                .cloned()
                .collect();
            let c = refunds::person_refunds_with(
                &Folded::new(&own, q),
                refunds::ReferenceData::of(reference.known()),
                *id,
            )
            .ok();
            assert_eq!(a, c, "refunds of {id} at {q:?}, reference folded apart");
            persons_compared += a.is_some() as usize;
        }
    }
    assert!(
        persons_compared > CONTRACTS as usize,
        "{persons_compared} persons compared"
    );
    ledger.into_store().close().await.expect("close");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_and_person_slices_of_a_paged_ledger_page_no_state_in() {
    // Given a generated population, its ledger reopened with a cache of two
    // states, so that almost none is resident
    let dir = scratch("projections-slice-paged");
    let ledger = generated_ledger(&dir, SEED, CONTRACTS, date(2025, 9, 30)).await;
    let ids = |kind| -> Vec<uuid::Uuid> {
        let streams = ledger.world().versions.keys();
        streams.filter(|s| s.kind == kind).map(|s| s.id).collect()
    };
    let (contracts, persons) = (ids(StreamKind::Contract), ids(StreamKind::Person));
    ledger.into_store().close().await.expect("close");
    let clock = ManualClock::new(instant("2025-10-01T08:00:00Z"));
    let store = SledStore::open(&dir, Limits::default(), Arc::new(clock)).expect("open");
    let ledger = Ledger::open_with(store, Policy::default(), SEED, 2)
        .await
        .expect("reopen");
    let resident = ledger.world().resident_states();
    let _ = ledger.world().take_misses();
    // When every contract's and every person's slice is read
    let reader = &ledger;
    let read = |streams| async move { reader.read_streams(&streams).await };
    for id in &contracts {
        let slice = slice::read_contract_slice(ledger.world(), *id, read).await;
        assert!(slice.expect("read").is_some(), "slice of {id}");
    }
    for id in &persons {
        let slice = slice::read_person_slice(ledger.world(), *id, read).await;
        assert!(slice.expect("read").is_some(), "slice of {id}");
    }
    // Then no state was asked of the world, and none was paged in
    assert_eq!(ledger.world().take_misses(), Default::default());
    assert_eq!(ledger.world().resident_states(), resident);
    // While asking the world for a state that is not resident is a miss
    let absent = contracts
        .iter()
        .find(|id| !ledger.world().contracts.contains_key(id))
        .expect("a contract not resident");
    assert_eq!(slice::contract_streams(ledger.world(), *absent), None);
    assert!(!ledger.world().take_misses().is_empty());
    ledger.into_store().close().await.expect("close");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Contract 2 of person 2, subscribed at an agency on 2026-07-12 and paid
/// by person 1's mandate.
fn contract_2_paid_by_person_1() -> navigo_events_schema::CommandEnvelope {
    let mut paid = subscribe(
        date(2026, 7, 12),
        Channel::Agency,
        2,
        2,
        annual_1_5(),
        date(2026, 7, 12),
        navigo_testkit::debit(1, 1),
    );
    if let Command::Subscribe(s) = &mut paid.command {
        s.payer = pid(1);
    }
    paid
}

/// Contract 1's streams picked from its own stream and the catalogue, folded
/// alone, as the one-id reads pick them, and those the world picks from its
/// state.
fn streams_both_ways(s: &navigo_testkit::Scenario) -> [std::collections::BTreeSet<StreamId>; 2] {
    let own: Vec<Envelope> = envelopes(s)
        .into_iter()
        .filter(|e| e.stream == StreamId::contract(cid(1)) || e.stream == StreamId::catalogue())
        .collect();
    [
        slice::contract_streams_from_own(&s.world, &own, cid(1)).expect("a known contract"),
        slice::contract_streams(&s.world, cid(1)).expect("a known contract"),
    ]
}

#[test]
fn pay_payer_change_contract_streams_from_its_own_stream_equal_the_worlds_across_an_annulment() {
    use navigo_events_schema::command::{AnnulEvent, ChangePayer};
    // Given contract 1 of person 1, and contract 2 of person 2 paid by person 1
    let paid = contract_2_paid_by_person_1();
    let mut s = base()
        .given([
            register(2, date(1992, 5, 1)),
            register(3, date(1980, 2, 2)),
            agency(date(2026, 7, 12), annual_1_5()),
            paid,
        ])
        .advance(date(2026, 9, 1));
    let [from_own, worlds] = streams_both_ways(&s);
    assert_eq!(from_own, worlds);
    assert!(
        from_own.contains(&StreamId::contract(cid(2))),
        "{from_own:?}"
    );
    // When contract 1's payer changes to person 2, then to person 3
    for (payer, day) in [(2, 10), (3, 20)] {
        s.run(&on(
            date(2026, 9, day),
            Channel::Agency,
            Command::ChangePayer(ChangePayer {
                contract_id: cid(1),
                payer: pid(payer),
                mandate: Some(navigo_testkit::mandate(payer)),
            }),
        ))
        .expect("payer changed");
    }
    // Then both ways pick every payer's stream
    let [from_own, worlds] = streams_both_ways(&s);
    assert_eq!(from_own, worlds);
    assert!(from_own.contains(&StreamId::person(pid(3))), "{from_own:?}");
    // And when the change to person 3 is annulled, both drop person 3 alike
    let change = envelopes(&s)
        .into_iter()
        .rfind(|e| e.stream == StreamId::contract(cid(1)) && e.event.type_name() == "PayerChanged")
        .expect("the change to person 3");
    s.run(&on(
        date(2026, 9, 25),
        Channel::Agency,
        Command::AnnulEvent(AnnulEvent {
            stream: StreamId::contract(cid(1)),
            event_id: change.event_id,
            reason: "test: recorded on the wrong contract".into(),
        }),
    ))
    .expect("annulled");
    let [from_own, worlds] = streams_both_ways(&s);
    assert_eq!(from_own, worlds);
    assert!(
        !from_own.contains(&StreamId::person(pid(3))),
        "{from_own:?}"
    );
    // And a contract the log does not hold has no streams
    assert_eq!(
        slice::contract_streams_from_own(&s.world, &[], cid(9)),
        None
    );
}

#[test]
fn term_retention_contract_slice_reads_the_contracts_the_holder_pays() {
    // Given person 1 holding contract 1 and paying contract 2 of person 2
    let child = contract_2_paid_by_person_1();
    let s = base()
        .given([
            register(2, date(1992, 5, 1)),
            agency(date(2026, 7, 12), annual_1_5()),
            child,
        ])
        .advance(date(2026, 9, 1));
    // And contract 1 terminated by its payer, contract 2 still in force
    let terminate = on(
        date(2026, 9, 10),
        Channel::Agency,
        Command::TerminateByPayer(ContractRef {
            contract_id: cid(1),
        }),
    );
    let s = s.given([terminate]).advance(date(2026, 12, 1));
    let all = envelopes(&s);
    let q = Query::on(date(2026, 12, 15));
    // When contract 1's state is read from its slice and from the whole log
    let part = slice::contract_slice(&s.world, cid(1)).expect("known");
    let whole = state::contract_state(&Folded::new(&all, &q), cid(1)).expect("state");
    let sliced = state::contract_state(&Folded::new(&part, &q), cid(1)).expect("state");
    // Then TERM-RETENTION keeps the holder's data (they still pay contract 2),
    // in both
    assert_eq!(whole.retention.rule, RuleId::TermRetention);
    assert!(
        whole.retention.yes && whole.retention.message.is_none(),
        "{:?}",
        whole.retention
    );
    assert_eq!(whole, sliced);
}

#[test]
fn ban_fraud_3y_person_slice_reads_the_finding_that_names_an_accomplice() {
    // Given person 2, who neither holds nor pays contract 1, named as accomplice
    // in the fraud finding that terminates it
    let s = base()
        .given([
            register(2, date(1992, 5, 1)),
            agency(date(2026, 7, 12), annual_1_5()),
            fraud_with_accomplice(date(2026, 9, 1)),
        ])
        .advance(date(2026, 10, 1));
    let all = envelopes(&s);
    let q = Query::on(date(2026, 10, 15));
    // When person 2's bans are read from their slice and from the whole log
    let part = slice::person_slice(&s.world, pid(2)).expect("known");
    let whole = bans::person_bans(&Folded::new(&all, &q), pid(2)).expect("bans");
    let sliced = bans::person_bans(&Folded::new(&part, &q), pid(2)).expect("bans");
    // Then both show the three-year fraud ban
    assert!(format!("{whole:?}").contains("BanFraud3y"), "{whole:?}");
    assert_eq!(whole, sliced);
    // And the one walk for every person (`check-projections`) gives both
    // parties exactly their own view
    let every = bans::every_person_bans(&Folded::new(&all, &q));
    assert_eq!(every.get(&pid(2)), Some(&whole));
    let fraudster = bans::person_bans(&Folded::new(&all, &q), pid(1)).expect("bans");
    assert!(
        format!("{fraudster:?}").contains("BanFraud3y"),
        "{fraudster:?}"
    );
    assert_eq!(every.get(&pid(1)), Some(&fraudster));
    assert_eq!(every.len(), 2);
}
