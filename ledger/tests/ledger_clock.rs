//! The ledger over the sled store: idempotent commands, the billing clock run twice
//! (nothing new) and resumed after a crash mid-way (same result as a straight run),
//! refusals that append nothing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use navigo_events_schema::types::Channel;
use navigo_events_schema::{CommandEnvelope, Event, RuleId};
use navigo_ledger_core::{ClockMode, Ledger, LedgerError};
use navigo_rules::decision::Context;
use navigo_rules::ids::IdGen;
use navigo_rules::{CommandError, Policy};
use navigo_store::{AppendRequest, EventStore, Limits, ManualClock};
use navigo_store_sled::SledStore;
use navigo_testkit::*;

static NEXT: AtomicU64 = AtomicU64::new(1);

fn fresh(name: &str) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("ledger-tests")
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    SledStore::init(&dir).expect("init");
    dir
}

fn open(dir: &std::path::Path) -> SledStore {
    let clock = Arc::new(ManualClock::new(
        "2026-11-24T10:00:00Z".parse().expect("instant"),
    ));
    SledStore::open(dir, Limits::default(), clock).expect("open")
}

fn setup() -> Vec<CommandEnvelope> {
    agency_contract(debit(1, 1))
}

/// A ledger over `dir` with the tariff, the reason codes, person 1 and contract 1.
async fn set_up(dir: &std::path::Path) -> Ledger<SledStore> {
    let mut ledger = Ledger::open(open(dir), Policy::default(), 1)
        .await
        .expect("open");
    for c in setup() {
        ledger
            .execute(&c, ClockMode::Import)
            .await
            .expect("accepted");
    }
    ledger
}

fn clock_at(date: chrono::NaiveDate) -> DateTime<Utc> {
    navigo_rules::calendar::paris_start_of_day(date) + Duration::hours(6)
}

#[tokio::test]
async fn ledger_clock_advanced_twice_emits_nothing_new_and_a_retried_command_appends_nothing() {
    let dir = fresh("twice");
    let mut ledger = set_up(&dir).await;
    let first = ledger
        .advance_to(d(2026, 12, 1), clock_at(d(2026, 12, 1)), ClockMode::Import)
        .await
        .expect("advance");
    assert_eq!(
        first
            .iter()
            .filter(|e| matches!(e.event, Event::DebitPresented(_)))
            .count(),
        5,
        "August to December"
    );
    let again = ledger
        .advance_to(d(2026, 12, 1), clock_at(d(2026, 12, 1)), ClockMode::Import)
        .await
        .expect("advance");
    assert!(again.is_empty(), "{again:?}");

    // A command retried with its idempotency key returns the first answer.
    let mut register_2 = cmd(
        d(2026, 12, 2),
        Some(Channel::Agency),
        navigo_events_schema::Command::RegisterPerson(match register(2, d(1980, 1, 1)).command {
            navigo_events_schema::Command::RegisterPerson(r) => r,
            _ => unreachable!(),
        }),
    );
    register_2.idempotency_key = Some("register-2".into());
    let a = ledger
        .execute(&register_2, ClockMode::Import)
        .await
        .expect("first");
    let position = ledger.world().position;
    let b = ledger
        .execute(&register_2, ClockMode::Import)
        .await
        .expect("retry");
    assert_eq!(a, b);
    assert_eq!(
        ledger.world().position,
        position,
        "nothing appended by the retry"
    );

    // A refusal appends nothing.
    let late = subscribe(
        d(2026, 12, 20),
        Channel::Online,
        2,
        2,
        annual_1_5(),
        d(2027, 1, 1),
        debit(1, 2),
    );
    match ledger.execute(&late, ClockMode::Import).await {
        Err(LedgerError::Command(CommandError::Refused(r))) => {
            assert_eq!(r.rule, RuleId::SubWindow)
        }
        other => panic!("expected SUB-WINDOW, got {other:?}"),
    }
    assert_eq!(ledger.world().position, position);
    ledger.into_store().close().await.expect("close");
}

#[tokio::test]
async fn pay_free_month_clock_resumes_after_a_crash_mid_advance_with_the_same_result() {
    // A straight run through 2027-08-01.
    let straight_dir = fresh("straight");
    let mut straight = Ledger::open(open(&straight_dir), Policy::default(), 1)
        .await
        .expect("open");
    for c in setup() {
        straight
            .execute(&c, ClockMode::Import)
            .await
            .expect("accepted");
    }
    straight
        .advance_to(d(2027, 8, 1), clock_at(d(2027, 8, 1)), ClockMode::Import)
        .await
        .expect("advance");

    // A run that "crashes" after appending the first 5 clock decisions, then reopens
    // and advances again.
    let dir = fresh("crash");
    let ledger = set_up(&dir).await;
    let policy = Policy::default();
    let mut ids = IdGen::new(99);
    let decisions = {
        let mut ctx = Context {
            policy: &policy,
            ids: &mut ids,
        };
        navigo_rules::billing::advance_to(
            ledger.world(),
            d(2027, 8, 1),
            clock_at(d(2027, 8, 1)),
            &mut ctx,
        )
    };
    assert!(decisions.len() > 5);
    let store = ledger.into_store();
    for dec in decisions.into_iter().take(5) {
        store
            .append(AppendRequest {
                stream: dec.stream,
                expected: dec.expected,
                events: dec.events,
                idempotency_key: dec.idempotency_key,
                recorded_at: Some(clock_at(d(2027, 8, 1))),
            })
            .await
            .expect("append");
    }
    store.close().await.expect("close");
    let mut ledger = Ledger::open(open(&dir), Policy::default(), 1)
        .await
        .expect("reopen");
    ledger
        .advance_to(d(2027, 8, 1), clock_at(d(2027, 8, 1)), ClockMode::Import)
        .await
        .expect("resume");

    let months = |l: &Ledger<SledStore>| {
        l.world()
            .contract(cid(1))
            .expect("contract")
            .debits
            .iter()
            .map(|(m, d)| (*m, d.amount))
            .collect::<Vec<_>>()
    };
    assert_eq!(months(&ledger), months(&straight));
    // The free month 2027-06 is skipped in both (worked example 1).
    assert!(!months(&ledger)
        .iter()
        .any(|(m, _)| m.to_string() == "2027-06"));
    assert_eq!(months(&ledger).len(), 12);
    ledger.into_store().close().await.expect("close");
    straight.into_store().close().await.expect("close");
}

#[tokio::test]
async fn ledger_expected_version_refuses_a_command_decided_on_an_older_reading_and_appends_nothing()
{
    use navigo_events_schema::command::{AdvanceClock, Command, Suspend};
    use navigo_events_schema::StreamId;
    // Given a subscribed contract and a reading of its stream's version
    let dir = fresh("expected-version");
    let mut ledger = set_up(&dir).await;
    let stream = StreamId::contract(cid(1));
    let read = ledger.world().version(stream);
    assert!(read > 0);
    // And a change recorded on the contract after that reading
    ledger
        .advance_to(d(2026, 9, 1), clock_at(d(2026, 9, 1)), ClockMode::Import)
        .await
        .expect("advance");
    let now = ledger.world().version(stream);
    assert!(now > read, "the clock presented debits");
    let head = ledger.world().position;
    // When a suspension decided on the older reading arrives
    let mut suspend = cmd(
        d(2026, 9, 2),
        Some(Channel::Agency),
        Command::Suspend(Suspend {
            contract_id: cid(1),
            effective_date: None,
            planned_resumption: None,
        }),
    );
    suspend.expected_version = Some(read);
    let err = ledger
        .execute(&suspend, ClockMode::Import)
        .await
        .expect_err("a conflict");
    // Then it is a conflict naming the stream and both versions, nothing appended
    match &err {
        LedgerError::VersionConflict {
            stream: s,
            expected,
            actual,
        } => {
            assert_eq!((*s, *expected, *actual), (stream, read, now));
        }
        other => panic!("expected a version conflict, got {other}"),
    }
    assert!(err.to_string().contains(&stream.to_string()), "{err}");
    assert_eq!(ledger.world().position, head);
    // And the same request on the current reading is judged and accepted
    suspend.expected_version = Some(now);
    ledger
        .execute(&suspend, ClockMode::Import)
        .await
        .expect("accepted on the current version");
    assert!(ledger.world().version(stream) > now);
    // The billing clock has no subject: an expected version on it is invalid
    let mut clock = cmd(
        d(2026, 9, 3),
        None,
        // Through the request date: the clock runs no further than
        // CLOCK_AHEAD_DAYS_MAX past it (ledger_clock_refuses_to_run_...).
        Command::AdvanceClock(AdvanceClock { to: d(2026, 9, 3) }),
    );
    clock.expected_version = Some(1);
    let head = ledger.world().position;
    match ledger.execute(&clock, ClockMode::Import).await {
        Err(LedgerError::Command(CommandError::Invalid { field, .. })) => {
            assert_eq!(field, "expected_version")
        }
        other => panic!("expected an invalid expected_version, got {other:?}"),
    }
    assert_eq!(ledger.world().position, head);
    ledger.into_store().close().await.expect("close");
}

/// Person `n`'s registration at an agency on `date`, under an idempotency key.
fn keyed_register(n: u128, date: chrono::NaiveDate, key: &str) -> CommandEnvelope {
    let mut c = register(n, d(1980, 1, 1));
    c.request_at = navigo_testkit::at(date);
    c.idempotency_key = Some(key.into());
    c
}

#[tokio::test]
async fn ledger_same_key_with_another_command_is_a_conflict_naming_the_key_even_after_a_restart() {
    // Given a command executed under a key, and the ledger closed and reopened
    let dir = fresh("key-conflict");
    let mut ledger = set_up(&dir).await;
    let first = keyed_register(2, d(2026, 8, 1), "desk-42");
    let answer = ledger
        .execute(&first, ClockMode::Import)
        .await
        .expect("first");
    assert_eq!(answer.len(), 1);
    ledger.into_store().close().await.expect("close");
    let mut ledger = Ledger::open(open(&dir), Policy::default(), 1)
        .await
        .expect("reopen");
    let head = ledger.world().position;

    // When another command (another person) comes under the same key
    let other = keyed_register(3, d(2026, 8, 2), "desk-42");
    let err = ledger
        .execute(&other, ClockMode::Import)
        .await
        .expect_err("a conflict");
    // Then it is a conflict naming the key, and nothing is appended
    match &err {
        LedgerError::IdempotencyConflict { key } => assert_eq!(key, "desk-42"),
        other => panic!("expected an idempotency conflict, got {other:?}"),
    }
    assert!(err.to_string().contains("\"desk-42\""), "{err}");
    assert_eq!(ledger.world().position, head);
    assert!(ledger.world().person(navigo_testkit::pid(3)).is_none());

    // And the first command again, later, answers the stored events, appending
    // nothing (the request instant is not part of what a retry must repeat)
    let retry = keyed_register(2, d(2026, 8, 3), "desk-42");
    let again = ledger
        .execute(&retry, ClockMode::Import)
        .await
        .expect("the stored answer");
    assert_eq!(again, answer);
    assert_eq!(ledger.world().position, head);
    ledger.into_store().close().await.expect("close");
}

#[tokio::test]
async fn ledger_same_key_from_another_actor_or_channel_is_a_conflict() {
    let dir = fresh("key-actor");
    let mut ledger = set_up(&dir).await;
    let first = keyed_register(2, d(2026, 8, 1), "k");
    ledger
        .execute(&first, ClockMode::Import)
        .await
        .expect("first");
    let mut by_other = first.clone();
    by_other.actor.id = "another-agent".into();
    let mut online = first.clone();
    online.channel = Some(Channel::Online);
    for c in [by_other, online] {
        assert!(matches!(
            ledger.execute(&c, ClockMode::Import).await,
            Err(LedgerError::IdempotencyConflict { .. })
        ));
    }
    ledger.into_store().close().await.expect("close");
}

#[tokio::test]
async fn ledger_a_key_recorded_before_fingerprints_answers_its_stored_events() {
    // Given a ledger written before command fingerprints: its first append under
    // the key `old` is recorded as `old#0`
    let dir = fresh("key-old");
    let ledger = set_up(&dir).await;
    let policy = Policy::default();
    let mut ids = IdGen::new(7);
    let old = keyed_register(2, d(2026, 8, 1), "old");
    let decisions = {
        let mut ctx = Context {
            policy: &policy,
            ids: &mut ids,
        };
        navigo_rules::engine::handle(ledger.world(), &old, &mut ctx).expect("decided")
    };
    let store = ledger.into_store();
    for (i, dec) in decisions.into_iter().enumerate() {
        store
            .append(AppendRequest {
                stream: dec.stream,
                expected: dec.expected,
                events: dec.events,
                idempotency_key: Some(format!("old#{i}")),
                recorded_at: Some(old.request_at),
            })
            .await
            .expect("append");
    }
    store.close().await.expect("close");
    let mut ledger = Ledger::open(open(&dir), Policy::default(), 1)
        .await
        .expect("reopen");
    let head = ledger.world().position;
    // When any command comes under that key
    // Then it is answered with the stored events, as before (Decision: there is
    // no fingerprint to compare), and nothing is appended
    for c in [old.clone(), keyed_register(3, d(2026, 8, 2), "old")] {
        let answer = ledger.execute(&c, ClockMode::Import).await.expect("stored");
        assert_eq!(answer.len(), 1);
        assert_eq!(answer[0].position, head);
        assert_eq!(ledger.world().position, head);
    }
    assert!(ledger
        .idempotency_key_used("old")
        .await
        .expect("key lookup"));
    ledger.into_store().close().await.expect("close");
}

#[tokio::test]
async fn ledger_keys_that_start_alike_are_distinct_and_a_long_key_is_refused() {
    let dir = fresh("key-prefix");
    let mut ledger = set_up(&dir).await;
    // Given two keys, one the other's first append key ("a" writes "a#1" for a
    // second decision, "a#1" is a key of its own)
    let a = ledger
        .execute(&keyed_register(2, d(2026, 8, 1), "a"), ClockMode::Import)
        .await
        .expect("a");
    let a1 = ledger
        .execute(&keyed_register(3, d(2026, 8, 1), "a#1"), ClockMode::Import)
        .await
        .expect("a#1");
    assert_ne!(a, a1);
    // Then each retry answers its own events only
    let again = ledger
        .execute(&keyed_register(2, d(2026, 8, 2), "a"), ClockMode::Import)
        .await
        .expect("a again");
    assert_eq!(again, a);

    // And a key longer than the bound is refused as invalid, naming the field
    let long = "k".repeat(navigo_ledger_core::COMMAND_KEY_BYTES_MAX + 1);
    match ledger
        .execute(&keyed_register(4, d(2026, 8, 3), &long), ClockMode::Import)
        .await
    {
        Err(LedgerError::Command(CommandError::Invalid { field, .. })) => {
            assert_eq!(field, "idempotency_key")
        }
        other => panic!("expected invalid, got {other:?}"),
    }
    // And the longest key with the ledger's suffix fits the store's bound.
    assert!(
        navigo_ledger_core::COMMAND_KEY_BYTES_MAX + navigo_ledger_core::KEY_SUFFIX_BYTES_MAX
            <= Limits::default().idempotency_key_bytes_max as usize
    );
    let longest = "k".repeat(navigo_ledger_core::COMMAND_KEY_BYTES_MAX);
    ledger
        .execute(
            &keyed_register(5, d(2026, 8, 3), &longest),
            ClockMode::Import,
        )
        .await
        .expect("the longest key");
    ledger.into_store().close().await.expect("close");
}

#[tokio::test]
async fn ledger_clock_runs_no_further_than_the_request_date_plus_the_bound_and_nothing_is_recorded_after_the_clock(
) {
    use navigo_events_schema::command::{AdvanceClock, Command};
    use navigo_ledger_core::CLOCK_AHEAD_DAYS_MAX;
    let dir = fresh("time");
    // Given a ledger whose clock stands at 2026-11-24T10:00Z
    let now: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().expect("instant");
    let mut ledger = set_up(&dir)
        .await
        .with_clock(Arc::new(ManualClock::new(now)));
    let head = ledger.world().position;
    // When the billing clock is asked past the request date plus the bound
    let bound = i64::from(CLOCK_AHEAD_DAYS_MAX);
    let beyond = d(2026, 11, 24) + Duration::days(bound + 1);
    let far = cmd(
        d(2026, 11, 24),
        None,
        Command::AdvanceClock(AdvanceClock { to: beyond }),
    );
    // Then it is refused naming the latest date, in either mode, nothing appended
    for mode in [ClockMode::Import, ClockMode::Service] {
        match ledger.execute(&far, mode).await {
            Err(LedgerError::ClockTooFarAhead { to, latest }) => {
                assert_eq!((to, latest), (beyond, beyond - Duration::days(1)));
            }
            other => panic!("expected ClockTooFarAhead, got {other:?}"),
        }
    }
    assert_eq!(ledger.world().position, head);
    // An import whose instant is after the clock is refused, nothing appended
    let mut later = cmd(
        d(2026, 11, 25),
        None,
        Command::AdvanceClock(AdvanceClock {
            to: d(2026, 11, 25),
        }),
    );
    match ledger.execute(&later, ClockMode::Import).await {
        Err(LedgerError::AfterClock { now: n, .. }) => assert_eq!(n, now),
        other => panic!("expected AfterClock, got {other:?}"),
    }
    assert_eq!(ledger.world().position, head);
    // Within the bound, at the clock's instant, the clock runs.
    later.request_at = now;
    later.command = Command::AdvanceClock(AdvanceClock {
        to: beyond - Duration::days(1),
    });
    ledger
        .execute(&later, ClockMode::Import)
        .await
        .expect("within the bound");
    ledger.into_store().close().await.expect("close");
}
