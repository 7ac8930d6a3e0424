//! The keyed derived states of the folded world and the memory the ledger
//! holds, on generated populations over sled:
//! - states written at any point plus the log's tail after them fold to the
//!   world the whole log folds to, across annulments and payer changes;
//! - a corrupt, stale (beyond the log, or of another log) or other-version
//!   meta, chunk of versions or edges, or state entry is refused and rebuilt
//!   (the whole space from the log, or one state from its own stream), never
//!   trusted;
//! - the ledger's world holds states, indexes and versions only, within named
//!   bounds, whatever the length of the log, and stores its versions and
//!   edges in a few chunks, not an entry each.

mod population;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::command::AnnulEvent;
use navigo_events_schema::types::{Actor, ActorRole, Channel};
use navigo_events_schema::{Command, CommandEnvelope, Event, StreamId, StreamKind};
use navigo_ledger_core::snapshot;
use navigo_ledger_core::states::{self, Refused, STATES_SPACE};
use navigo_ledger_core::{ClockMode, Ledger};
use navigo_rules::world::World;
use navigo_rules::Policy;
use navigo_sim::driver::{resolve, send};
use navigo_sim::generate::Plan;
use navigo_store::faults::FaultyStore;
use navigo_store::{DerivedBatch, EventStore};
use navigo_store_sled::SledStore;
use proptest::prelude::*;

use population::{agent_command, builtin_at, fresh_dir, open_store, plan, rt};

/// Everything a world holds but its histories and keys, as comparable bytes: the
/// snapshot's own encoding (states, indexes, versions, head) and the catalogue.
fn fingerprint(world: &World) -> (Vec<u8>, String) {
    (
        snapshot::encode(world).unwrap(),
        format!("{:?}", world.catalogue),
    )
}

/// The world the whole log folds to, through `World::apply` (with histories).
async fn full_fold(store: &SledStore) -> World {
    let mut w = World::new();
    w.apply_all(&store.read_log(1).await.unwrap());
    w
}

/// An annulment of the `nth` annullable event (not a stream's opening event)
/// of the contract streams, by an agent at `at`.
fn annulment(
    world: &World,
    events: &[navigo_events_schema::Envelope],
    nth: usize,
    at: DateTime<Utc>,
) -> Option<CommandEnvelope> {
    let annullable: Vec<_> = events
        .iter()
        .filter(|e| e.stream.kind == StreamKind::Contract)
        .filter(|e| {
            !matches!(
                e.event,
                Event::ContractSubscribed(_) | Event::EventAnnulled(_)
            )
        })
        .filter(|e| world.contract(e.stream.id).is_some())
        .collect();
    let target = annullable.get(nth % annullable.len().max(1))?;
    Some(agent_command(
        at,
        format!("annul-{nth}"),
        Command::AnnulEvent(AnnulEvent {
            stream: target.stream,
            event_id: target.event_id,
            reason: "a correction".into(),
        }),
    ))
}

/// A payer change of the `nth` contract in force paid by direct debit, to
/// another adult person, with the contract's last mandate.
fn payer_change(world: &World, nth: usize, at: DateTime<Utc>) -> Option<CommandEnvelope> {
    use navigo_rules::contract::state::Status;
    let candidates: Vec<_> = world
        .contracts
        .values()
        .filter(|c| c.current_status() == Status::Active && !c.mandates.is_empty())
        .collect();
    let c = candidates.get(nth % candidates.len().max(1))?;
    let adult = NaiveDate::from_ymd_opt(2000, 1, 1)?;
    let payer = world
        .persons
        .values()
        .filter(|p| p.id != c.payer && p.birth_date < adult)
        .nth(nth % 7)?;
    Some(CommandEnvelope {
        request_at: at,
        actor: Actor {
            role: ActorRole::Agent,
            id: "A1".into(),
        },
        channel: Some(Channel::Agency),
        idempotency_key: Some(format!("payer-{nth}")),
        expected_version: None,
        command: Command::ChangePayer(navigo_events_schema::command::ChangePayer {
            contract_id: c.id,
            payer: payer.id,
            mandate: c.mandates.last().and_then(|(_, m)| m.to_input()),
        }),
    })
}

/// Drives `plan` through a ledger in `dir`, writing a snapshot after `cut`
/// planned requests and annulling an event after every `annul_every` requests
/// past the first third; returns the position of the snapshot.
async fn drive_with_cut(dir: &Path, plan: &Plan, cut: usize, annul_every: usize) -> u64 {
    let mut ledger = Ledger::open(open_store(dir), Policy::default(), 7)
        .await
        .unwrap();
    ledger
        .load_builtin_reference(builtin_at(), ClockMode::Import)
        .await
        .unwrap();
    let mut snapshot_at = 0;
    for (i, p) in plan.commands.iter().enumerate() {
        if i == cut {
            snapshot_at = ledger.write_snapshot().await.unwrap();
        }
        for cmd in resolve(ledger.world(), p) {
            send(&mut ledger, &cmd).await.unwrap();
        }
        if i % (annul_every / 2) == 0 {
            if let Some(cmd) =
                payer_change(ledger.world(), i, p.at + chrono::Duration::milliseconds(1))
            {
                let _ = ledger.execute(&cmd, ClockMode::Import).await;
            }
        }
        if i > plan.commands.len() / 3 && i % annul_every == 0 {
            let events = ledger.store().read_log(1).await.unwrap();
            let at = p.at + chrono::Duration::milliseconds(1);
            if let Some(cmd) = annulment(ledger.world(), &events, i, at) {
                // Refusals are fine (the clock may have moved the stream on).
                let _ = ledger.execute(&cmd, ClockMode::Import).await;
            }
        }
    }
    ledger.into_store().close().await.unwrap();
    snapshot_at
}

/// A ledger driven from `plan(seed, 12)` with a snapshot after `cut`
/// requests, whose log holds an annulment and a payer change: its directory,
/// the snapshot's position, its store and the world the whole log folds to.
async fn driven_with_corrections(
    name: &str,
    seed: u64,
    cut_permille: usize,
    annul_every: usize,
) -> (PathBuf, u64, SledStore, World) {
    let plan = plan(seed, 12);
    let cut = plan.commands.len() * cut_permille / 1_000;
    let dir = fresh_dir(name);
    let snapshot_at = drive_with_cut(&dir, &plan, cut, annul_every).await;
    let store = open_store(&dir);
    let events = store.read_log(1).await.unwrap();
    let has = |f: fn(&Event) -> bool| events.iter().any(|e| f(&e.event));
    assert!(
        has(|e| matches!(e, Event::EventAnnulled(_))),
        "seed {seed}: an annulment"
    );
    assert!(
        has(|e| matches!(e, Event::PayerChanged(_))),
        "seed {seed}: a payer change"
    );
    let full = full_fold(&store).await;
    (dir, snapshot_at, store, full)
}

/// Opens `store` (of the ledger in `dir`) with the default cache, checks that
/// it loaded states covering `position` and folded the log after them to
/// `full`, then removes `dir`.
async fn assert_loaded_then_remove(dir: &Path, store: SledStore, position: u64, full: &World) {
    let ledger = Ledger::open(store, Policy::default(), 7).await.unwrap();
    assert_eq!(ledger.opened().snapshot_position, Some(position));
    assert_eq!(ledger.opened().tail_events, full.position - position);
    assert!(
        fingerprint(ledger.world()) == fingerprint(full),
        "position {position}"
    );
    ledger.into_store().close().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    /// Snapshot + tail equals the full fold, for random cut points, across
    /// annulments (each rebuilds its stream) and the payer changes of the
    /// generated population.
    #[test]
    fn snapshot_plus_tail_equals_full_fold_at_random_cut_points(
        seed in 1u64..1_000,
        cut_permille in 0usize..1_000,
        annul_every in 40usize..120,
    ) {
        rt().block_on(async {
            let (dir, snapshot_at, store, full) =
                driven_with_corrections("cut", seed, cut_permille, annul_every).await;
            assert_loaded_then_remove(&dir, store, snapshot_at, &full).await;
            Ok::<(), TestCaseError>(())
        })?;
    }

    /// States absent from the store are rebuilt a stream at a time, each
    /// stream folded whole, with a cache too small for them (states evicted
    /// and written during the rebuild, without a meta entry): the states it
    /// writes load to the world the whole log folds to, across annulments and
    /// payer changes, and the rebuild never holds more states than its cache.
    #[test]
    fn snapshot_rebuilt_stream_by_stream_equals_the_fold_in_log_order(
        seed in 1u64..1_000,
        annul_every in 40usize..120,
        cache in 2usize..16,
    ) {
        rt().block_on(async {
            let (dir, _, store, full) =
                driven_with_corrections("by-streams", seed, 1_000, annul_every).await;
            let gone = DerivedBatch { clear: false, entries: vec![(b"m".to_vec(), None)] };
            store.write_derived_entries(STATES_SPACE, &gone).await.unwrap();
            let ledger = Ledger::open_with(store, Policy::default(), 7, cache).await.unwrap();
            prop_assert_eq!(ledger.opened().snapshot_position, None);
            prop_assert_eq!(ledger.opened().tail_events, full.position);
            let resident = ledger.world().resident_states();
            prop_assert!(resident <= cache, "{resident} states resident");
            prop_assert!(full.contracts.len() + full.persons.len() > cache, "the cache evicted");
            ledger.close().await.unwrap().close().await.unwrap();
            assert_loaded_then_remove(&dir, open_store(&dir), full.position, &full).await;
            Ok(())
        })?;
    }
}

/// The store of the ledger in `dir` behind a `FaultyStore` (no fault armed
/// yet), its meta entry made of another schema version so that the next open
/// refuses the states and rebuilds them; and the world the log folds to.
async fn faulty_with_meta_refused(dir: &Path) -> (FaultyStore<SledStore>, World) {
    let store = open_store(dir);
    let mut meta = entry(&store, b"m").await;
    meta[..4].copy_from_slice(&999u32.to_be_bytes());
    put_entry(&store, b"m", meta).await;
    let full = full_fold(&store).await;
    (FaultyStore::new(store), full)
}

/// A rebuild a stream at a time cut after some of its evictions wrote states
/// (a crash in its middle) leaves those states without a meta entry: the next
/// open trusts none of them and rebuilds.
#[test]
fn snapshot_rebuild_by_streams_cut_before_its_last_flush_leaves_no_meta_to_trust() {
    rt().block_on(async {
        let dir = ledger_with_snapshot("by-streams-cut", 15).await;
        let (faulty, full) = faulty_with_meta_refused(&dir).await;
        // The meta's removal, the clear, then two evictions.
        faulty.fail_derived_writes_after(4);
        assert!(Ledger::open_with(faulty, Policy::default(), 7, 2)
            .await
            .is_err());
        let store = open_store(&dir);
        let written = store
            .scan_derived_entries(STATES_SPACE, b"c")
            .await
            .unwrap();
        assert!(!written.is_empty(), "the evictions wrote states");
        assert_eq!(
            store
                .read_derived_entries(STATES_SPACE, &[b"m".to_vec()])
                .await
                .unwrap(),
            vec![None]
        );
        let ledger = Ledger::open(store, Policy::default(), 7).await.unwrap();
        assert_folded_whole_without_meta(&ledger, &full);
        ledger.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// A small driven ledger with a snapshot at its head; returns its directory.
async fn ledger_with_snapshot(name: &str, seed: u64) -> PathBuf {
    let dir = fresh_dir(name);
    let plan = plan(seed, 6);
    drive_with_cut(&dir, &plan, plan.commands.len() / 2, 50).await;
    let mut ledger = Ledger::open(open_store(&dir), Policy::default(), 7)
        .await
        .unwrap();
    ledger.write_snapshot().await.unwrap();
    ledger.into_store().close().await.unwrap();
    dir
}

/// The stored entry under `key` of the states' space.
async fn entry(store: &SledStore, key: &[u8]) -> Vec<u8> {
    store
        .read_derived_entries(STATES_SPACE, &[key.to_vec()])
        .await
        .unwrap()
        .remove(0)
        .expect("an entry")
}

async fn put_entry(store: &SledStore, key: &[u8], value: Vec<u8>) {
    let batch = DerivedBatch {
        clear: false,
        entries: vec![(key.to_vec(), Some(value))],
    };
    store
        .write_derived_entries(STATES_SPACE, &batch)
        .await
        .unwrap();
}

/// The key of the first stored entry whose key starts with `prefix`.
async fn first_key(store: &SledStore, prefix: &[u8]) -> Vec<u8> {
    store
        .scan_derived_entries(STATES_SPACE, prefix)
        .await
        .unwrap()
        .remove(0)
        .0
}

/// Opens the ledger in `dir` after `tamper` changed the entry under `key`;
/// checks the refusal, that the world equals the full fold, and that closing
/// writes states that verify again.
async fn check_refused(
    dir: &Path,
    key: &[u8],
    tamper: impl FnOnce(&mut Vec<u8>),
    expect: fn(&Refused) -> bool,
) {
    let store = open_store(dir);
    let mut bytes = entry(&store, key).await;
    tamper(&mut bytes);
    put_entry(&store, key, bytes).await;
    let full = full_fold(&store).await;
    let ledger = Ledger::open(store, Policy::default(), 7).await.unwrap();
    let refused = ledger.opened().snapshot_refused.clone().expect("refused");
    assert!(expect(&refused), "{refused:?}");
    assert_eq!(ledger.opened().snapshot_position, None);
    assert_eq!(ledger.opened().tail_events, full.position);
    assert!(fingerprint(ledger.world()) == fingerprint(&full));
    // Rebuilt: the next close writes states that verify.
    ledger.close().await.unwrap().close().await.unwrap();
    let ledger = Ledger::open(open_store(dir), Policy::default(), 7)
        .await
        .unwrap();
    assert_eq!(ledger.opened().snapshot_position, Some(full.position));
    assert_eq!(ledger.opened().tail_events, 0);
    assert!(fingerprint(ledger.world()) == fingerprint(&full));
    ledger.into_store().close().await.unwrap();
}

#[test]
fn snapshot_corrupt_is_refused_and_rebuilt_from_the_log() {
    rt().block_on(async {
        let dir = ledger_with_snapshot("corrupt", 11).await;
        let (streams_chunk, edges_chunk) = {
            let s = open_store(&dir);
            let k = (first_key(&s, b"s").await, first_key(&s, b"eh").await);
            s.close().await.unwrap();
            k
        };
        // A flipped byte in the meta's payload: its hash no longer matches.
        check_refused(
            &dir,
            b"m",
            |b| {
                let i = b.len() - 3;
                b[i] ^= 0x20;
            },
            |r| matches!(r, Refused::Hash { .. }),
        )
        .await;
        // Truncated.
        check_refused(
            &dir,
            b"m",
            |b| b.truncate(20),
            |r| matches!(r, Refused::Format { .. }),
        )
        .await;
        // Another schema version of the states.
        check_refused(
            &dir,
            b"m",
            |b| b[..4].copy_from_slice(&999u32.to_be_bytes()),
            |r| *r == Refused::Version { found: 999 },
        )
        .await;
        // A chunk of stream versions that does not verify: the whole space
        // is rebuilt (a version is not one stream's fold alone).
        check_refused(
            &dir,
            &streams_chunk,
            |b| {
                let i = b.len() - 1;
                b[i] ^= 0x01;
            },
            |r| matches!(r, Refused::Hash { .. }),
        )
        .await;
        // A chunk of index edges that does not verify, likewise.
        check_refused(
            &dir,
            &edges_chunk,
            |b| {
                let i = b.len() - 20;
                b[i] ^= 0x40;
            },
            |r| matches!(r, Refused::Hash { .. }),
        )
        .await;
        // A chunk framed as valid whose rows are malformed (one byte short
        // of whole rows): refused for what it holds, not for its hash.
        check_refused(
            &dir,
            &streams_chunk,
            |b| {
                let payload = states::unframe(&streams_chunk, b).unwrap();
                let short = payload[..payload.len() - 1].to_vec();
                *b = states::frame(&streams_chunk, &short);
            },
            |r| matches!(r, Refused::Payload { .. }),
        )
        .await;
        // A chunk framed as valid whose rows come twice (out of order, each
        // version read twice): refused.
        check_refused(
            &dir,
            &streams_chunk,
            |b| {
                let payload = states::unframe(&streams_chunk, b).unwrap().to_vec();
                let mut doubled = payload.clone();
                doubled.extend_from_slice(&payload);
                *b = states::frame(&streams_chunk, &doubled);
            },
            |r| matches!(r, Refused::Payload { .. }),
        )
        .await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// The ledger found no meta entry (nothing refused, no snapshot) and folded
/// the whole log to the world the full fold gives.
fn assert_folded_whole_without_meta(ledger: &Ledger<SledStore>, full: &World) {
    assert_eq!(ledger.opened().snapshot_refused, None, "no meta was left");
    assert_eq!(ledger.opened().snapshot_position, None);
    assert_eq!(ledger.opened().tail_events, full.position);
    assert!(fingerprint(ledger.world()) == fingerprint(full));
}

/// A clear of the states cut short (a crash between its steps) leaves a space
/// without its meta entry, which goes first and on its own, and some entries
/// of the old states: the open trusts none of them, rebuilds from the log, and
/// the rebuilt space holds none of the leftovers.
#[test]
fn snapshot_clear_cut_after_its_meta_is_removed_is_rebuilt_from_the_log() {
    rt().block_on(async {
        let dir = ledger_with_snapshot("clear-cut", 13).await;
        let store = open_store(&dir);
        let leftover = first_key(&store, b"c").await;
        let cut = DerivedBatch {
            clear: false,
            entries: vec![(b"m".to_vec(), None)],
        };
        store
            .write_derived_entries(STATES_SPACE, &cut)
            .await
            .unwrap();
        let stale = b"a state of another schema".to_vec();
        put_entry(&store, &leftover, stale.clone()).await;
        let full = full_fold(&store).await;
        let ledger = Ledger::open(store, Policy::default(), 7).await.unwrap();
        assert_folded_whole_without_meta(&ledger, &full);
        let store = ledger.close().await.unwrap();
        let rebuilt = store
            .read_derived_entries(STATES_SPACE, &[leftover])
            .await
            .unwrap()
            .remove(0);
        assert_ne!(rebuilt, Some(stale), "the leftover entry was cleared");
        store.close().await.unwrap();
        let ledger = Ledger::open(open_store(&dir), Policy::default(), 7)
            .await
            .unwrap();
        assert_eq!(ledger.opened().snapshot_position, Some(full.position));
        assert!(fingerprint(ledger.world()) == fingerprint(&full));
        ledger.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// A rebuild whose clear of the old states is cut (the open fails) leaves no
/// meta entry behind it: the next open trusts nothing of the space it was
/// clearing, rather than finding the old meta beside a space half emptied.
#[test]
fn snapshot_rebuild_cut_during_its_clear_leaves_no_meta_to_trust() {
    rt().block_on(async {
        let dir = ledger_with_snapshot("clear-fails", 14).await;
        let (faulty, full) = faulty_with_meta_refused(&dir).await;
        faulty.fail_derived_clears();
        assert!(Ledger::open(faulty, Policy::default(), 7).await.is_err());
        let ledger = Ledger::open(open_store(&dir), Policy::default(), 7)
            .await
            .unwrap();
        assert_folded_whole_without_meta(&ledger, &full);
        ledger.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn snapshot_corrupt_state_entry_is_refolded_from_its_own_stream() {
    rt().block_on(async {
        let dir = ledger_with_snapshot("corrupt-state", 12).await;
        let store = open_store(&dir);
        let key = first_key(&store, b"c").await;
        let stream = StreamId::contract(uuid::Uuid::from_slice(&key[1..]).unwrap());
        let mut bytes = entry(&store, &key).await;
        let i = bytes.len() - 5;
        bytes[i] ^= 0x10;
        put_entry(&store, &key, bytes).await;
        let full = full_fold(&store).await;
        // Opened with a cache too small to hold every state: nothing is paged
        // in at open, the contract is paged in when asked for.
        let mut ledger = Ledger::open_with(store, Policy::default(), 7, 1)
            .await
            .unwrap();
        assert_eq!(ledger.opened().snapshot_refused, None);
        let paged = ledger
            .page_in(&std::iter::once(stream).collect())
            .await
            .unwrap();
        assert_eq!(paged.refolded, 1, "the corrupt entry is not trusted");
        assert_eq!(
            ledger.world().contracts.get(&stream.id),
            full.contracts.get(&stream.id)
        );
        // Written again at the next close: it verifies on the next page-in.
        ledger.close().await.unwrap().close().await.unwrap();
        let mut ledger = Ledger::open_with(open_store(&dir), Policy::default(), 7, 1)
            .await
            .unwrap();
        let paged = ledger
            .page_in(&std::iter::once(stream).collect())
            .await
            .unwrap();
        assert_eq!((paged.read, paged.refolded), (1, 0));
        assert_eq!(
            ledger.world().contracts.get(&stream.id),
            full.contracts.get(&stream.id)
        );
        ledger.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn snapshot_stale_beyond_the_log_or_of_another_log_is_refused_and_rebuilt() {
    rt().block_on(async {
        let long = ledger_with_snapshot("long", 21).await;
        let other = ledger_with_snapshot("other", 22).await;
        let long_meta = {
            let s = open_store(&long);
            let b = entry(&s, b"m").await;
            s.close().await.unwrap();
            b
        };
        let (other_head, long_head) = {
            let a = open_store(&other);
            let h = a.head().await.unwrap().position;
            a.close().await.unwrap();
            let b = open_store(&long);
            let l = b.head().await.unwrap().position;
            b.close().await.unwrap();
            (h, l)
        };
        // The meta of one ledger put in another's derived data: beyond its
        // head, or at a position whose record is not the one it was taken after.
        let expect_beyond = long_head > other_head;
        check_refused(
            &other,
            b"m",
            |b| *b = long_meta.clone(),
            if expect_beyond {
                |r: &Refused| matches!(r, Refused::BeyondHead { .. })
            } else {
                |r: &Refused| matches!(r, Refused::OtherLog { .. })
            },
        )
        .await;
        // A meta that names its position's record with a wrong hash, framed
        // as a valid entry: the log refuses it.
        let forged = {
            let s = open_store(&other);
            let payload = states::unframe(b"m", &entry(&s, b"m").await)
                .unwrap()
                .to_vec();
            s.close().await.unwrap();
            let mut meta = states::meta_of(&payload).unwrap();
            meta.head_hash.0[0] ^= 0xFF;
            states::frame(b"m", &states::meta_payload(&meta).unwrap())
        };
        check_refused(
            &other,
            b"m",
            |b| *b = forged,
            |r| matches!(r, Refused::OtherLog { .. }),
        )
        .await;
        let _ = std::fs::remove_dir_all(&long);
        let _ = std::fs::remove_dir_all(&other);
    });
}

#[test]
fn memory_world_holds_states_indexes_and_versions_only_within_named_bounds() {
    use navigo_ledger_core::histories::COMMAND_HISTORY_STREAMS_MAX;
    rt().block_on(async {
        let dir = fresh_dir("memory");
        let plan = plan(5, 30);
        let mut ledger = Ledger::open(open_store(&dir), Policy::default(), 7)
            .await
            .unwrap();
        ledger
            .load_builtin_reference(builtin_at(), ClockMode::Import)
            .await
            .unwrap();
        ledger.begin_import();
        let mut keys_seen = 0usize;
        for p in &plan.commands {
            for cmd in resolve(ledger.world(), p) {
                keys_seen += usize::from(cmd.idempotency_key.is_some());
                send(&mut ledger, &cmd).await.unwrap();
                // Between commands: no history and no key, and an import batch
                // within its bound.
                let w = ledger.world();
                assert!(
                    w.history.is_empty(),
                    "histories are forgotten after each command"
                );
                assert!(w.idempotency_keys.is_empty(), "keys stay in the store");
                assert!(ledger.staged_events() <= navigo_ledger_core::IMPORT_BATCH_EVENTS_MAX);
            }
        }
        ledger.end_import().await.unwrap();
        let store_events = ledger.store().read_log(1).await.unwrap();
        let w = ledger.world();
        // One state per contract and person stream, one version per stream,
        // whatever the number of events.
        let streams: std::collections::BTreeSet<StreamId> =
            store_events.iter().map(|e| e.stream).collect();
        let count = |k: StreamKind| streams.iter().filter(|s| s.kind == k).count();
        assert_eq!(w.contracts.len(), count(StreamKind::Contract));
        assert_eq!(w.persons.len(), count(StreamKind::Person));
        assert_eq!(w.versions.len(), streams.len());
        assert!(
            store_events.len() > 10 * streams.len() / 2,
            "a log much longer than its streams"
        );
        assert!(keys_seen > 0);
        // The indexes hold one entry per contract and person at most (plus the
        // persons a payer change or a fraud finding added).
        let indexed: usize = w.by_holder.values().map(|s| s.len()).sum();
        assert_eq!(indexed, w.contracts.len());
        assert!(w.by_client_number.len() <= w.persons.len());
        // A command's histories are bounded.
        for p in w.persons.keys() {
            let mut s = Default::default();
            navigo_ledger_core::histories::ban_streams(w, *p, &mut s);
            assert!(s.len() <= COMMAND_HISTORY_STREAMS_MAX);
        }
        // Stored, the versions and edges take a chunk per `CHUNK_ROWS_MAX / 2`
        // rows at most (and one first chunk per space), not an entry each: the
        // derived entries are the states, the chunks, the campaigns, the
        // contracts' wake dates (one entry each, not yet in the chunks) and
        // the meta.
        let edges: usize = [&w.by_holder, &w.by_payer, &w.by_fraud_party]
            .iter()
            .map(|i| i.values().map(|s| s.len()).sum::<usize>())
            .sum::<usize>()
            + w.by_client_number.values().map(|s| s.len()).sum::<usize>();
        let rows = w.versions.len() + edges;
        let chunks_max = rows / (states::CHUNK_ROWS_MAX / 2) + 5;
        let (states_held, campaigns) = (w.contracts.len() + w.persons.len(), w.campaigns.len());
        let wakes = count(StreamKind::Contract);
        ledger.write_snapshot().await.unwrap();
        let chunks = ledger.world().residency.chunk_starts.len();
        assert!(chunks <= chunks_max, "{chunks} chunks for {rows} rows");
        let stored = ledger
            .store()
            .scan_derived_entries(STATES_SPACE, b"")
            .await
            .unwrap()
            .len();
        assert!(
            stored <= states_held + chunks_max + campaigns + wakes + 1,
            "{stored} entries for {states_held} states and {rows} versions and edges"
        );
        assert!(
            rows > 2 * chunks_max,
            "a population with more rows than chunks"
        );
        ledger.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}
