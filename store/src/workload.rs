//! The append workload the backends' benchmarks share, so that the sled and
//! PostgreSQL figures (and the Merkle tree's cost) are measured on the same
//! events driven the same way.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::NaiveDate;
use navigo_events_schema::event::{ChargeKind, ChargeLine, DebitPresented};
use navigo_events_schema::types::Actor;
use navigo_events_schema::{Event, NewEvent, StreamId};
use uuid::Uuid;

use crate::{AppendRequest, EventStore, ExpectedVersion};

/// A monthly debit of a contract, as the billing clock records it: the
/// benchmarks' typical record (about 680 bytes stored). Its event and
/// correlation ids are drawn from `n`, so that every event is distinct.
///
/// # Panics
/// Never: the literals parse.
#[must_use]
pub fn debit_event(n: u64) -> NewEvent {
    let month = "2026-12".parse().expect("a month literal");
    let amount = "90.80".parse().expect("an amount literal");
    NewEvent {
        event_id: Uuid::from_u128(u128::from(n) | 0x0192 << 112),
        effective_date: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date literal"),
        actor: Actor::billing_clock(),
        channel: None,
        correlation_id: Uuid::from_u128(u128::from(n) | 0x0193 << 112),
        causation_id: None,
        event: Event::DebitPresented(DebitPresented {
            month,
            amount,
            due: amount,
            lines: vec![ChargeLine {
                kind: ChargeKind::FullInstallment,
                amount,
                days: None,
                month,
                tariff: None,
            }],
            mandate_reference: "UMR-NAVIGO-0001".into(),
            payer: Uuid::from_u128(7),
        }),
    }
}

/// [`debit_event`] `n` cloned from one built once, with its event id set: a
/// benchmark measures the store, not the construction of events.
#[must_use]
pub fn debit_event_no(n: u64) -> NewEvent {
    static TEMPLATE: OnceLock<NewEvent> = OnceLock::new();
    let mut e = TEMPLATE.get_or_init(|| debit_event(0)).clone();
    e.event_id = Uuid::from_u128(u128::from(n) | 0x0192 << 112);
    e
}

/// Runs `writers` tasks for `run`, each appending `batch` events at a time to
/// a stream of its own with an exact expected version, each append awaited
/// (durable) before the next, and returns how many events were appended.
///
/// # Panics
/// When the store refuses an append: a benchmark that failed must not print
/// a figure.
pub async fn drive_appends<S: EventStore + 'static>(
    store: Arc<S>,
    writers: u32,
    batch: u32,
    run: Duration,
) -> u64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for w in 0..writers {
        let (store, stop, done) = (store.clone(), stop.clone(), done.clone());
        handles.push(tokio::spawn(async move {
            let stream = StreamId::contract(Uuid::from_u128(u128::from(w) + 1));
            let mut version = 0;
            while !stop.load(Ordering::Relaxed) {
                let events = (0..u64::from(batch))
                    .map(|i| debit_event_no(version + i))
                    .collect();
                let request = AppendRequest {
                    stream,
                    expected: ExpectedVersion::Exact(version),
                    events,
                    idempotency_key: None,
                    recorded_at: None,
                };
                store.append(request).await.expect("a benchmark append");
                version += u64::from(batch);
                done.fetch_add(u64::from(batch), Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(run).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.expect("a benchmark writer");
    }
    done.load(Ordering::Relaxed)
}
