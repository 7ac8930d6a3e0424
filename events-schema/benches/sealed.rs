//! The cost of sealing personal data (not a timed test): a person's
//! registration encoded as a stored record (what an append writes) and
//! decoded from one (what a rebuild reads), sealed with its person's key
//! against the same event in clear (what a ledger without sealing stored),
//! timed alternately over several rounds and the least of each kept.
//!
//! ```sh
//! cargo bench -p navigo-events-schema --bench sealed
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::event::{PersonDetails, PersonRegistered};
use navigo_events_schema::sealed::Sealed;
use navigo_events_schema::types::{Actor, ActorRole, Address};
use navigo_events_schema::{
    decode_record, encode_record, Assigned, Event, Hash, NewEvent, StreamId,
};
use uuid::Uuid;

/// Events per round.
const EVENTS: u128 = 20_000;
/// Rounds, alternating clear and sealed.
const ROUNDS: usize = 5;

fn registration(i: u128) -> (StreamId, NewEvent) {
    let person = Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0000 + i);
    let event = Event::PersonRegistered(PersonRegistered {
        client_number: format!("NV{:08}", i % 100_000_000).parse().expect("number"),
        personal: Sealed::clear(PersonDetails {
            first_name: "Camille".into(),
            last_name: "Martin".into(),
            birth_date: NaiveDate::from_ymd_opt(1988, 3, 14).expect("date"),
            emancipation_proof: None,
            address: Address {
                street: "12 rue Paul Vaillant-Couturier".into(),
                postal_code: "95100".into(),
                municipality: "Argenteuil".into(),
            },
        }),
    });
    let e = NewEvent {
        event_id: Uuid::from_u128(0x0197_0000_0000_7000_8000_0000_0000_0000 + i),
        effective_date: NaiveDate::from_ymd_opt(2026, 9, 1).expect("date"),
        actor: Actor {
            role: ActorRole::Agent,
            id: "AG-1".into(),
        },
        channel: None,
        correlation_id: Uuid::from_u128(i),
        causation_id: None,
        event,
    };
    (StreamId::person(person), e)
}

fn assigned(stream: StreamId, i: u128) -> Assigned<'static> {
    let at: DateTime<Utc> = "2026-09-01T08:00:00Z".parse().expect("instant");
    Assigned {
        stream,
        stream_seq: 1,
        position: i as u64 + 1,
        recorded_at: at,
        idempotency_key: None,
        prev_hash: Hash::GENESIS,
    }
}

/// Appends' side: encode every event (sealing it first when `seal`); the
/// records, for the rebuild's side.
fn append(seal: bool, key: &[u8; 32]) -> (Duration, Vec<Vec<u8>>) {
    let events: Vec<_> = (0..EVENTS).map(registration).collect();
    let start = Instant::now();
    let mut records = Vec::with_capacity(events.len());
    for (i, (stream, mut e)) in events.into_iter().enumerate() {
        if seal {
            let id = e.event_id;
            for (person, sealing_id, field) in e.event.personal_fields_mut(stream.id, id) {
                field.seal(person, key, sealing_id).expect("seal");
            }
        }
        let (record, _) = encode_record(&assigned(stream, i as u128), &e).expect("encode");
        records.push(record);
    }
    (start.elapsed(), records)
}

/// Rebuild's side: decode every record (opening it when `open`).
fn rebuild(records: &[Vec<u8>], open: bool, key: &[u8; 32]) -> Duration {
    let start = Instant::now();
    for r in records {
        let mut env = decode_record(r).expect("decode");
        if open {
            let (stream, id) = (env.stream, env.event_id);
            for (person, sealing_id, field) in env.event.personal_fields_mut(stream.id, id) {
                field.open(person, key, sealing_id).expect("open");
            }
        }
        black_box(&env);
    }
    start.elapsed()
}

fn main() {
    let key = [7u8; 32];
    let mut best = [[Duration::MAX; 2]; 2];
    let mut bytes = [0usize; 2];
    for _ in 0..ROUNDS {
        for (k, seal) in [false, true].into_iter().enumerate() {
            let (a, records) = append(seal, &key);
            let r = rebuild(&records, seal, &key);
            best[k][0] = best[k][0].min(a);
            best[k][1] = best[k][1].min(r);
            bytes[k] = records.iter().map(Vec::len).sum::<usize>() / records.len();
        }
    }
    let per = |d: Duration| d.as_nanos() as f64 / EVENTS as f64 / 1000.0;
    println!("PersonRegistered, {EVENTS} events, least of {ROUNDS} rounds (µs per event)");
    println!("             encode   decode   record bytes");
    for (k, name) in ["clear ", "sealed"].iter().enumerate() {
        println!(
            "{name}       {:>6.2}   {:>6.2}   {:>5}",
            per(best[k][0]),
            per(best[k][1]),
            bytes[k]
        );
    }
    println!(
        "sealed/clear  {:>5.2}x   {:>5.2}x",
        per(best[1][0]) / per(best[0][0]),
        per(best[1][1]) / per(best[0][1])
    );
}
