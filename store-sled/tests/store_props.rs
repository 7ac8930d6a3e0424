//! Property tests of the store: random sequences and random concurrent
//! interleavings of appends and reads keep positions gapless and reads consistent.

mod store_support;

use std::collections::HashMap;
use std::sync::Arc;

use navigo_events_schema::Envelope;
use navigo_store::{AppendOutcome, EventStore, ExpectedVersion, StoreError};
use navigo_store_sled::SledStore;
use proptest::prelude::*;
use store_support::*;
use uuid::Uuid;

/// Streams the operations pick from.
const STREAMS: u128 = 4;

#[derive(Debug, Clone)]
enum Op {
    /// Append `n` events to a stream; `stale` asks for a version off by one.
    Append {
        stream: u128,
        n: usize,
        exact: bool,
        stale: bool,
    },
    /// Read one stream.
    ReadStream { stream: u128 },
    /// Read the log from a position.
    ReadAll { from: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..STREAMS, 1..4usize, any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(stream, n, exact, stale)| Op::Append { stream, n, exact, stale }),
        1 => (0..STREAMS).prop_map(|stream| Op::ReadStream { stream }),
        1 => (0..40u64).prop_map(|from| Op::ReadAll { from }),
    ]
}

async fn read_all(store: &SledStore, from: u64) -> Vec<Envelope> {
    let mut s = store.read_all(from);
    let mut out = Vec::new();
    while let Some(item) = std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await {
        out.push(item.unwrap());
    }
    out
}

/// Checks the whole store against the event ids each stream should hold.
async fn check_consistent(store: &SledStore, model: &HashMap<u128, Vec<Uuid>>) {
    let all = read_all(store, 1).await;
    let head = store.head().await.unwrap();
    assert_eq!(all.len() as u64, head.position);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "positions are gapless");
    }
    for s in 0..STREAMS {
        let events = store.read_stream(stream(s), 1..=u64::MAX).await.unwrap();
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        assert_eq!(&ids, model.get(&s).unwrap_or(&Vec::new()), "stream {s}");
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.stream_seq, i as u64 + 1);
            assert_eq!(
                &all[e.position as usize - 1],
                e,
                "read_stream agrees with read_all"
            );
        }
    }
    assert!(store.verify().unwrap().is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn store_sequential_operations_match_a_model(ops in prop::collection::vec(op(), 1..40)) {
        let rt = runtime();
        rt.block_on(async {
            let (store, _dir, _) = new_store("prop-seq");
            let mut model: HashMap<u128, Vec<Uuid>> = HashMap::new();
            let mut head = 0u64;
            for op in ops {
                match op {
                    Op::Append { stream: s, n, exact, stale } => {
                        let version = model.get(&s).map_or(0, |v| v.len() as u64);
                        let expected = match (exact, stale) {
                            (_, true) => ExpectedVersion::Exact(version + 1),
                            (true, false) => ExpectedVersion::Exact(version),
                            (false, false) => ExpectedVersion::Any,
                        };
                        let events: Vec<_> = (0..n).map(|_| event("p")).collect();
                        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                        let out = store.append(request(stream(s), expected, events)).await;
                        if stale {
                            assert!(matches!(out, Err(StoreError::Conflict { actual, .. }) if actual == version));
                        } else {
                            let want: Vec<u64> = (head + 1..=head + n as u64).collect();
                            assert_eq!(out.unwrap(), AppendOutcome::Appended {
                                positions: want,
                                stream_version: version + n as u64,
                            });
                            head += n as u64;
                            model.entry(s).or_default().extend(ids);
                        }
                    }
                    Op::ReadStream { stream: s } => {
                        let got = store.read_stream(stream(s), 1..=u64::MAX).await.unwrap();
                        let ids: Vec<Uuid> = got.iter().map(|e| e.event_id).collect();
                        assert_eq!(&ids, model.get(&s).unwrap_or(&Vec::new()));
                    }
                    Op::ReadAll { from } => {
                        let got = read_all(&store, from).await;
                        let want: Vec<u64> = (from.max(1)..=head).collect();
                        assert_eq!(got.iter().map(|e| e.position).collect::<Vec<_>>(), want);
                    }
                }
            }
            check_consistent(&store, &model).await;
        });
    }

    #[test]
    fn store_concurrent_interleavings_keep_positions_gapless(
        groups in prop::collection::vec(prop::collection::vec(op(), 1..12), 1..6)
    ) {
        let rt = runtime();
        rt.block_on(async {
            let (store, _dir, _) = new_store("prop-conc");
            let store = Arc::new(store);
            // Every append that succeeded, with its event ids, by stream.
            let mut accepted: Vec<(u128, Vec<u64>, Vec<Uuid>)> = Vec::new();
            for group in groups {
                // The operations of a group run at once, in whatever order the
                // runtime and the writer interleave them.
                let mut handles = Vec::new();
                for op in group {
                    let store = store.clone();
                    handles.push(tokio::spawn(async move {
                        match op {
                            Op::Append { stream: s, n, exact, stale } => {
                                let v = store.stream_version(stream(s)).await.unwrap();
                                let expected = match (exact, stale) {
                                    (_, true) => ExpectedVersion::Exact(v + 7),
                                    (true, false) => ExpectedVersion::Exact(v),
                                    (false, false) => ExpectedVersion::Any,
                                };
                                let events: Vec<_> = (0..n).map(|_| event("c")).collect();
                                let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                                match store.append(request(stream(s), expected, events)).await {
                                    Ok(out) => Some((s, out.positions().to_vec(), ids)),
                                    Err(StoreError::Conflict { .. }) => None,
                                    Err(e) => panic!("{e}"),
                                }
                            }
                            Op::ReadStream { stream: s } => {
                                let evs = store.read_stream(stream(s), 1..=u64::MAX).await.unwrap();
                                for (i, e) in evs.iter().enumerate() {
                                    assert_eq!(e.stream_seq, i as u64 + 1);
                                }
                                None
                            }
                            Op::ReadAll { from } => {
                                let evs = read_all(&store, from).await;
                                for (i, e) in evs.iter().enumerate() {
                                    assert_eq!(e.position, from.max(1) + i as u64);
                                }
                                None
                            }
                        }
                    }));
                }
                for h in handles {
                    if let Some(a) = h.await.unwrap() {
                        accepted.push(a);
                    }
                }
            }
            // Each accepted append owns contiguous positions; together they are 1..=head.
            let mut positions: Vec<u64> = accepted.iter().flat_map(|a| a.1.clone()).collect();
            positions.sort_unstable();
            let head = store.head().await.unwrap().position;
            assert_eq!(positions, (1..=head).collect::<Vec<_>>());
            // Each stream holds exactly its accepted events, in position order.
            let mut model: HashMap<u128, Vec<(u64, Uuid)>> = HashMap::new();
            for (s, pos, ids) in &accepted {
                model.entry(*s).or_default().extend(pos.iter().copied().zip(ids.iter().copied()));
            }
            let model: HashMap<u128, Vec<Uuid>> = model
                .into_iter()
                .map(|(s, mut v)| {
                    v.sort_unstable();
                    (s, v.into_iter().map(|(_, id)| id).collect())
                })
                .collect();
            check_consistent(&store, &model).await;
        });
    }
}
