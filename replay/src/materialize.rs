//! Materialized projections in sled, rebuilt atomically and followed.
//!
//! Layout (a sled database in `<ledger>/projections`, beside the log's own
//! database, so that the store keeps sole ownership of its `Db`): one tree per
//! projection kind and generation, `<kind>.g<n>`, whose rows are
//! `id (16 bytes) -> JSON view, LZ4-compressed` ([`encode_row`]) and whose key [`CHECKPOINT_KEY`] holds the last
//! log position folded. Every write of rows goes with the checkpoint in one atomic
//! batch (rebuild) or one multi-tree transaction (follow), so rows and checkpoint
//! never disagree, even across a crash. The tree `replay.meta` holds
//! [`CURRENT_KEY`]: the generation readers use. A rebuild fills generation n+1
//! (shadow trees) and then writes the pointer in one transaction: readers see the
//! old projection or the new one, never a mix. Shadow trees left by a crash are
//! dropped by the next rebuild.
//!
//! A rebuild indexes the log once (the positions of each stream's known events;
//! the envelopes stay in the caller's slice), then folds each contract and each
//! person from its own streams and the reference streams on worker threads (a
//! fold's state of a stream depends on that stream alone, so the views equal
//! those of the whole log's folds, [`compute_rows`]), while the calling thread
//! writes the rows in batches as they come. It holds the log once plus the
//! index, never every row. The follower ([`ProjectionDb::catch_up`]) recomputes
//! the rows of the ids the new events touch the same way, from the same index;
//! [`check`] computes every view from the whole log's folds, as an independent
//! oracle.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};

use chrono::NaiveDate;
use navigo_events_schema::views::{AsOf, PersonSummary};
use navigo_events_schema::{Envelope, Event, StreamId, StreamKind};
use navigo_projections::{
    balance, bans, calendar, fold_states, refunds, slice, state, Folded, Query,
};
use navigo_rules::policy::Policy;
use navigo_rules::world::World;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use uuid::Uuid;

use crate::ReplayError;

pub mod codec;
pub mod dir;
pub mod index;
pub mod rows;

pub use codec::{
    decode_row, encode_row, layout, ROW_BYTES_MAX, ROW_DICTIONARY, ROW_LZ4, ROW_LZ4_DICT,
};
pub use dir::projection_dir;
use index::{row_entries, INDEXES};

/// The projection kinds materialized, in tree order. `person` (who a person
/// is: client number and name) serves the person lists.
pub const KINDS: [&str; 6] = ["state", "balance", "calendar", "bans", "refunds", "person"];
/// The key of the checkpoint in every projection tree (never 16 bytes long, so it
/// cannot collide with an id).
pub const CHECKPOINT_KEY: &[u8] = b"~checkpoint";
/// The key of the current generation in the meta tree.
pub const CURRENT_KEY: &[u8] = b"current";
/// Rows per atomic batch during a rebuild: bounds the memory of one batch. Small
/// batches also keep sled's own memory and log smaller (measured on 100 000
/// events: 256 rows per batch, 330 MiB peak and 164 MiB of projections on disk;
/// 4 096 rows, 490 MiB and 212 MiB, and no faster).
pub const REBUILD_BATCH_ROWS_MAX: usize = 256;
/// Most threads a rebuild projects with (it uses as many as the machine has
/// cores, up to this bound); the writer is one more.
pub const REBUILD_WORKERS_MAX: usize = 8;
/// Contracts or persons in one unit of work handed to a rebuild worker.
pub const REBUILD_CHUNK_IDS: usize = 64;
/// Units of projected rows waiting for the writer: with [`REBUILD_CHUNK_IDS`],
/// bounds the rows a rebuild holds in memory whatever the size of the log.
pub const REBUILD_QUEUE_CHUNKS_MAX: usize = 16;
/// Bytes of the projection database's page cache (sled's default is 1 GiB): a
/// rebuild writes every row once and readers ask for one row at a time, so a
/// small cache costs little. sled treats it as a hint (its memory exceeds it
/// under a burst of writes), but without it a rebuild of millions of rows would
/// let the cache grow to the default.
pub const PROJECTION_CACHE_BYTES: u64 = 64 * 1024 * 1024;
const META_TREE: &str = "replay.meta";

/// Progress of long work, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What is being done.
    pub phase: &'static str,
    /// Units done.
    pub done: u64,
    /// Units in all.
    pub total: u64,
}

/// The materialized views of one log, before they are written: per kind, id to
/// encoded view.
pub type Rows = BTreeMap<&'static str, BTreeMap<Uuid, Vec<u8>>>;

/// Which ids a set of new events touches, so that a follower recomputes only
/// those: the contracts and persons of their streams, the holders and payers of
/// those contracts, the persons a fraud finding names (their bans change), and
/// every contract those persons hold or pay. `None`: a reference event
/// (catalogue, campaign) touches everything.
fn touched(events: &[Envelope], ix: &LogIndex<'_>) -> Option<(BTreeSet<Uuid>, BTreeSet<Uuid>)> {
    // The persons a touched contract names are read from every event of its
    // stream, annulled ones included: an annulment (recorded on the annulled
    // event's stream) can end a person's relation to the contract (a payer
    // change annulled), and that person's views change with it.
    let mut contracts = BTreeSet::new();
    let mut persons = BTreeSet::new();
    for e in events {
        match e.stream.kind {
            StreamKind::Contract => {
                contracts.insert(e.stream.id);
            }
            StreamKind::Person => {
                persons.insert(e.stream.id);
            }
            _ => return None,
        }
        if let Event::FraudEstablished(f) = &e.event {
            persons.insert(f.fraudster);
            persons.extend(f.accomplices.iter().copied());
        }
    }
    for e in ix.events {
        if e.stream.kind != StreamKind::Contract || !contracts.contains(&e.stream.id) {
            continue;
        }
        persons.extend(e.event.contract_parties());
        if let Event::FraudEstablished(f) = &e.event {
            persons.insert(f.fraudster);
            persons.extend(f.accomplices.iter().copied());
        }
    }
    for p in persons.clone() {
        contracts.extend(ix.contracts_of(&p).copied());
    }
    Some((contracts, persons))
}

/// The contracts and persons whose rows the events `new` change, among
/// those `ix` knows (a subscription, a registration): every one when `new`
/// holds a reference event, which touches every row.
///
/// # Errors
/// [`ReplayError::WholeLogNeeded`] for a reference event when `ix` is not
/// the whole log (`whole` false).
fn touched_ids(
    new: &[Envelope],
    ix: &LogIndex<'_>,
    whole: bool,
) -> Result<(Vec<Uuid>, Vec<Uuid>), ReplayError> {
    let Some((c, p)) = touched(new, ix) else {
        if !whole {
            let position = new.last().map_or(0, |e| e.position);
            return Err(ReplayError::WholeLogNeeded { position });
        }
        return Ok((ix.contract_ids.clone(), ix.person_ids.clone()));
    };
    let known = |ids: &std::collections::BTreeSet<Uuid>, of: &[Uuid]| -> Vec<Uuid> {
        ids.iter()
            .filter(|id| of.binary_search(id).is_ok())
            .copied()
            .collect()
    };
    Ok((known(&c, &ix.contract_ids), known(&p, &ix.person_ids)))
}

/// Whether `tail` holds a reference event (catalogue, campaign): it touches
/// every row, so its catch-up reads the whole log.
pub fn touches_every_row(tail: &[Envelope]) -> bool {
    tail.iter()
        .any(|e| !matches!(e.stream.kind, StreamKind::Contract | StreamKind::Person))
}

/// The contract streams of `tail`: what a catch-up reads first, since the
/// persons a touched contract names come from its whole stream.
pub fn tail_contract_streams(tail: &[Envelope]) -> BTreeSet<StreamId> {
    tail.iter()
        .filter(|e| e.stream.kind == StreamKind::Contract)
        .map(|e| e.stream)
        .collect()
}

/// The streams [`ProjectionDb::catch_up_slice`] reads for `tail`, picked by
/// the live `world`'s indexes: every id [`touched`] finds (from the tail and
/// `contracts`, the whole streams of [`tail_contract_streams`]), and for each
/// of them the streams its rows read ([`slice::contract_streams`],
/// [`slice::person_streams`], which also hold every contract of the persons
/// they name, so that the slice's own index of who holds or pays what is
/// complete for them). A world ahead of the tail picks a superset, which
/// changes no row: the rows fold their ids' streams, and more streams are
/// only more ids.
pub fn catch_up_streams(
    world: &World,
    tail: &[Envelope],
    contracts: &[Envelope],
) -> BTreeSet<StreamId> {
    let mut ids = (BTreeSet::new(), BTreeSet::new());
    for e in tail.iter().chain(contracts) {
        match e.stream.kind {
            StreamKind::Contract => {
                ids.0.insert(e.stream.id);
                ids.1.extend(e.event.contract_parties());
            }
            StreamKind::Person => {
                ids.1.insert(e.stream.id);
            }
            _ => {}
        }
        if let Event::FraudEstablished(f) = &e.event {
            ids.1.insert(f.fraudster);
            ids.1.extend(f.accomplices.iter().copied());
        }
    }
    streams_of_ids(world, ids.0, &ids.1)
}

/// The streams a sliced rebuild reads to project the rows of `contracts` and
/// `persons` ([`SlicedRebuild::project`]): those a catch-up reads for a tail
/// touching these ids ([`catch_up_streams`]), picked from `world`'s states and
/// indexes (which must know every id: a paged world pages them in first).
pub fn rebuild_streams(world: &World, contracts: &[Uuid], persons: &[Uuid]) -> BTreeSet<StreamId> {
    let persons: BTreeSet<Uuid> = persons.iter().copied().collect();
    streams_of_ids(world, contracts.iter().copied().collect(), &persons)
}

/// The streams of `contracts` and `persons`, with every contract of those
/// persons, and the slices' streams of each ([`slice::contract_streams`],
/// [`slice::person_streams`]).
fn streams_of_ids(
    world: &World,
    mut contracts: BTreeSet<Uuid>,
    persons: &BTreeSet<Uuid>,
) -> BTreeSet<StreamId> {
    for p in persons {
        let of = world
            .by_holder
            .get(p)
            .into_iter()
            .chain(world.by_payer.get(p));
        contracts.extend(of.flatten().copied());
    }
    let mut streams: BTreeSet<StreamId> =
        contracts.iter().map(|c| StreamId::contract(*c)).collect();
    streams.extend(persons.iter().map(|p| StreamId::person(*p)));
    for c in &contracts {
        streams.extend(slice::contract_streams(world, *c).unwrap_or_default());
    }
    for p in persons {
        streams.extend(slice::person_streams(world, *p).unwrap_or_default());
    }
    streams
}

/// Who person `id` is in `input`'s known fold (their own stream decides it).
///
/// # Errors
/// An unknown person.
pub fn person_summary(input: &Folded<'_>, id: Uuid) -> Result<PersonSummary, ReplayError> {
    let p = input
        .known()
        .persons
        .get(&id)
        .ok_or(navigo_projections::ProjectionError::UnknownPerson(id))?;
    Ok(PersonSummary {
        person: id,
        as_of: AsOf {
            at: input.query().at,
            known_at: input.query().known_at,
        },
        client_number: p.client_number.clone(),
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        erased: p.erased,
    })
}

/// Computes every materialized row from the whole log `events`, on `at`,
/// everything known: each view from the folds of the whole log (one
/// [`Folded`]), bans from one walk of every event. The independent oracle
/// [`check`] holds the rebuild's per-id folds to.
///
/// # Errors
/// A view that cannot be computed or encoded.
pub fn compute_rows(events: &[Envelope], at: NaiveDate) -> Result<Rows, ReplayError> {
    let whole = Folded::new(events, &Query::on(at));
    let policy = Policy::default();
    let mut rows: Rows = KINDS.iter().map(|k| (*k, BTreeMap::new())).collect();
    let mut put = |kind: &'static str, id: Uuid, v: Vec<u8>| {
        if let Some(t) = rows.get_mut(kind) {
            t.insert(id, v);
        }
    };
    for id in whole.known().contracts.keys().copied() {
        put(
            "state",
            id,
            serde_json::to_vec(&state::contract_state(&whole, id)?)?,
        );
        put(
            "balance",
            id,
            serde_json::to_vec(&balance::contract_balance(&whole, id)?)?,
        );
        let c = calendar::calendar(&whole, id, &policy, None)?;
        put("calendar", id, serde_json::to_vec(&c)?);
    }
    // Bans on demand from the whole log, not the materializer's slice: a slice
    // that missed an event shows here. One walk of the log gives every person's
    // (`every_person_bans`, equal to `person_bans` person by person): a walk
    // per person made the check quadratic (a 10,000-contract demo ledger did
    // not finish in 8 minutes).
    let every = bans::every_person_bans(&whole);
    for id in whole.known().persons.keys().copied() {
        let b = every
            .get(&id)
            .ok_or(navigo_projections::ProjectionError::UnknownPerson(id))?;
        put("bans", id, serde_json::to_vec(b)?);
        put(
            "refunds",
            id,
            serde_json::to_vec(&refunds::person_refunds(&whole, id)?)?,
        );
        put(
            "person",
            id,
            serde_json::to_vec(&person_summary(&whole, id)?)?,
        );
    }
    Ok(rows)
}

/// What a rebuild knows of the log before projecting: for every stream, the
/// indices (in `events`) of its known events, and who holds or pays what. One
/// pass over the log; the envelopes themselves are never copied, so a rebuild
/// holds the log once (the caller's slice) plus these indices, and folds each
/// contract and person from its own events only.
struct LogIndex<'a> {
    events: &'a [Envelope],
    /// Known events (not annulments, not annulled) of each contract stream.
    contracts: HashMap<Uuid, Vec<usize>>,
    /// Known events of each person stream.
    persons: HashMap<Uuid, Vec<usize>>,
    /// Known events of the catalogue.
    catalogue: Vec<usize>,
    /// Known events of every campaign stream.
    campaigns: Vec<usize>,
    /// The contracts each person holds, pays or paid: the union of
    /// `World::by_holder` and `World::by_payer` of the fold of the known events.
    of_person: HashMap<Uuid, BTreeSet<Uuid>>,
    /// The holder of each contract the known fold holds (the first known
    /// subscription's: no event changes a contract's holder).
    holders: HashMap<Uuid, Uuid>,
    /// The contracts the known fold holds (a known subscription), in id order.
    contract_ids: Vec<Uuid>,
    /// The persons the known fold holds (a known registration), in id order.
    person_ids: Vec<Uuid>,
    /// The contracts whose known fraud finding names each person (fraudster or
    /// accomplice): a person's ban windows read those contracts' whole streams
    /// (the termination that opens the window, the fold that knows the finding),
    /// as the whole log's `person_bans` does, even when the person neither holds
    /// nor pays them.
    fraud_contracts: HashMap<Uuid, BTreeSet<Uuid>>,
    /// The fold of the reference streams (catalogue and campaigns), made on
    /// first use and shared by every person's refunds row
    /// ([`refunds::person_refunds_with`]): folding them again for each person
    /// was the largest part of a new person's rows.
    reference: OnceLock<World>,
}

impl<'a> LogIndex<'a> {
    /// Indexes `events` (the whole log in position order) as known now
    /// (`known_at` = everything recorded, as a rebuild reads).
    fn new(events: &'a [Envelope]) -> LogIndex<'a> {
        // The known events of `known_events(events, None)`: annulments and the
        // events they annul (in any stream) drop out.
        let annulled: HashSet<Uuid> = events
            .iter()
            .filter_map(|e| e.event.annulled_event_id())
            .collect();
        let mut ix = LogIndex {
            events,
            contracts: HashMap::new(),
            persons: HashMap::new(),
            catalogue: Vec::new(),
            campaigns: Vec::new(),
            of_person: HashMap::new(),
            holders: HashMap::new(),
            contract_ids: Vec::new(),
            person_ids: Vec::new(),
            fraud_contracts: HashMap::new(),
            reference: OnceLock::new(),
        };
        let mut registered: HashSet<Uuid> = HashSet::new();
        for (i, e) in events.iter().enumerate() {
            if matches!(e.event, Event::EventAnnulled(_)) || annulled.contains(&e.event_id) {
                continue;
            }
            let id = e.stream.id;
            if let (Event::FraudEstablished(f), StreamKind::Contract) = (&e.event, e.stream.kind) {
                for party in std::iter::once(&f.fraudster).chain(&f.accomplices) {
                    ix.fraud_contracts.entry(*party).or_default().insert(id);
                }
            }
            match e.stream.kind {
                StreamKind::Contract => {
                    ix.contracts.entry(id).or_default().push(i);
                    // The world's fold creates a contract at its first
                    // subscription and indexes its holder and payer; afterwards
                    // every payer change indexes the new payer (the only event
                    // that changes `ContractState::payer`).
                    match &e.event {
                        Event::ContractSubscribed(s) if !ix.holders.contains_key(&id) => {
                            ix.holders.insert(id, s.holder);
                            ix.of_person.entry(s.holder).or_default().insert(id);
                            ix.of_person.entry(s.payer).or_default().insert(id);
                        }
                        Event::PayerChanged(p) if ix.holders.contains_key(&id) => {
                            ix.of_person.entry(p.payer).or_default().insert(id);
                        }
                        _ => {}
                    }
                }
                StreamKind::Person => {
                    ix.persons.entry(id).or_default().push(i);
                    if matches!(e.event, Event::PersonRegistered(_)) {
                        registered.insert(id);
                    }
                }
                StreamKind::Catalogue => ix.catalogue.push(i),
                StreamKind::Campaign => ix.campaigns.push(i),
                // The ledger's own records feed no view.
                StreamKind::Ledger => {}
                // The bank stream's files feed no materialized view: the
                // money they move is on the contracts' streams.
                StreamKind::Bank => {}
            }
        }
        ix.contract_ids = ix.holders.keys().copied().collect();
        ix.contract_ids.sort_unstable();
        ix.person_ids = registered.into_iter().collect();
        ix.person_ids.sort_unstable();
        ix
    }

    /// The known events of the given index lists, merged in position order.
    fn merged(&self, lists: &[&[usize]]) -> Vec<&'a Envelope> {
        let mut all: Vec<usize> = lists.iter().flat_map(|l| l.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        all.into_iter().filter_map(|i| self.events.get(i)).collect()
    }

    fn contract_events(&self, id: &Uuid) -> &[usize] {
        self.contracts.get(id).map_or(&[], Vec::as_slice)
    }

    fn person_events(&self, id: &Uuid) -> &[usize] {
        self.persons.get(id).map_or(&[], Vec::as_slice)
    }

    fn contracts_of(&self, person: &Uuid) -> impl Iterator<Item = &Uuid> {
        self.of_person.get(person).into_iter().flatten()
    }

    /// The reference streams folded once (the known events: a rebuild and a
    /// catch-up read everything known, and every reference event counts
    /// whatever the date asked).
    fn reference(&self) -> refunds::ReferenceData<'_> {
        let world = self
            .reference
            .get_or_init(|| fold_states(&self.merged(&[&self.catalogue, &self.campaigns])));
        refunds::ReferenceData::of(world)
    }

    /// The rows of one contract: state, balance and calendar, each computed from
    /// the contract's own streams exactly as [`compute_rows`] computes it from
    /// the whole log (a fold's state of a stream depends on that stream alone):
    /// the contract's stream and the catalogue, its holder (attestation) and
    /// every contract the holder holds or pays (retention), folded once for
    /// the three views.
    fn contract_rows(
        &self,
        id: Uuid,
        q: &Query,
        policy: &Policy,
        out: &mut UnitRows,
    ) -> Result<(), ReplayError> {
        let holder = *self
            .holders
            .get(&id)
            .ok_or(navigo_projections::ProjectionError::UnknownContract(id))?;
        let mut lists: Vec<&[usize]> = vec![
            self.contract_events(&id),
            &self.catalogue,
            self.person_events(&holder),
        ];
        lists.extend(
            self.contracts_of(&holder)
                .filter(|k| **k != id)
                .map(|k| self.contract_events(k)),
        );
        let input = Folded::new(self.merged(&lists), q);
        out.put(0, id, &state::contract_state(&input, id)?)?;
        out.put(1, id, &balance::contract_balance(&input, id)?)?;
        out.put(2, id, &calendar::calendar(&input, id, policy, None)?)?;
        Ok(())
    }

    /// The rows of one person: bans, refunds and who they are, from the
    /// person's stream, the contracts they hold or pay, the reference streams
    /// and (bans) the contracts whose fraud finding names them, as the whole
    /// log gives them.
    fn person_rows(&self, id: Uuid, q: &Query, out: &mut UnitRows) -> Result<(), ReplayError> {
        let mut lists: Vec<&[usize]> = vec![self.person_events(&id)];
        lists.extend(self.contracts_of(&id).map(|k| self.contract_events(k)));
        // Bans: also every contract whose fraud finding names the person (its
        // termination opens their window; `merged` drops a contract listed
        // twice). Every other contract's facts concern other persons only.
        let named = self.fraud_contracts.get(&id).into_iter().flatten();
        let extra = lists.len();
        lists.extend(named.map(|k| self.contract_events(k)));
        let with_named = Folded::new(self.merged(&lists), q);
        out.put(3, id, &bans::person_bans(&with_named, id)?)?;
        // Refunds: the person and their contracts (the same input as the
        // bans' when no finding names the person), over the reference
        // streams' shared fold.
        let own_contracts;
        let input = if lists.len() == extra {
            &with_named
        } else {
            lists.truncate(extra);
            own_contracts = Folded::new(self.merged(&lists), q);
            &own_contracts
        };
        out.put(
            4,
            id,
            &refunds::person_refunds_with(input, self.reference(), id)?,
        )?;
        // Who the person is: their own stream's fold, which the refunds'
        // input holds as it is (a fold's state of a stream depends on that
        // stream alone), so it is not folded again.
        out.put(5, id, &person_summary(input, id)?)?;
        Ok(())
    }
}

/// The encoded rows of one unit of work: (index of the kind in [`KINDS`], id,
/// JSON view).
#[derive(Default)]
struct UnitRows {
    /// Each value is already the `sled::IVec` the writer inserts: the copy of
    /// the encoded bytes into sled's own buffer is made here, on the worker
    /// threads, rather than on the single writer thread (inserting an `IVec`
    /// into a batch only counts a reference).
    rows: Vec<(usize, Uuid, sled::IVec)>,
    /// The encoding buffer, reused from row to row (a calendar is kilobytes:
    /// encoding into a fresh vector would grow it several times).
    buf: Vec<u8>,
    /// The compression buffer ([`encode_row`]), reused likewise.
    packed: Vec<u8>,
    /// The index entries of the rows: (index in [`INDEXES`], key, entry).
    entries: Vec<IndexEntry>,
}

/// One entry of a secondary index: (index in [`INDEXES`], key, entry JSON).
type IndexEntry = (usize, Vec<u8>, Vec<u8>);

/// The entries of every index of `kind` (an index in [`KINDS`]) for one row.
fn entries_of(kind: usize, id: Uuid, json: &[u8]) -> Result<Vec<IndexEntry>, ReplayError> {
    let mut out = Vec::new();
    for (i, def) in INDEXES.iter().enumerate() {
        if KINDS.get(kind) == Some(&def.kind) {
            out.extend(
                row_entries(def, id, json)?
                    .into_iter()
                    .map(|(k, v)| (i, k, v)),
            );
        }
    }
    Ok(out)
}

impl UnitRows {
    /// Encodes a view as `serde_json::to_vec` does, then in its stored form
    /// ([`encode_row`]).
    fn put<T: serde::Serialize>(
        &mut self,
        kind: usize,
        id: Uuid,
        v: &T,
    ) -> Result<(), ReplayError> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, v)?;
        self.entries.extend(entries_of(kind, id, &self.buf)?);
        let row = encode_row(&self.buf, &mut self.packed);
        self.rows.push((kind, id, row));
        Ok(())
    }
}

/// Writes a rebuild's rows into the shadow trees in atomic batches of at most
/// [`REBUILD_BATCH_ROWS_MAX`] rows, each with the checkpoint.
struct ShadowWriter<'t> {
    trees: &'t [sled::Tree],
    batches: Vec<(sled::Batch, usize)>,
    /// The index trees ([`INDEXES`] order) and their pending entries.
    index_trees: &'t [sled::Tree],
    index_batches: Vec<(sled::Batch, usize)>,
    checkpoint: u64,
    written: u64,
}

impl<'t> ShadowWriter<'t> {
    fn new(
        trees: &'t [sled::Tree],
        index_trees: &'t [sled::Tree],
        checkpoint: u64,
    ) -> ShadowWriter<'t> {
        ShadowWriter {
            trees,
            batches: trees.iter().map(|_| (sled::Batch::default(), 0)).collect(),
            index_trees,
            index_batches: index_trees
                .iter()
                .map(|_| (sled::Batch::default(), 0))
                .collect(),
            checkpoint,
            written: 0,
        }
    }

    /// An index entry, in batches as rows are. The index trees of a shadow
    /// generation are read only once it is swapped in, after every batch.
    fn put_entry(&mut self, (index, key, entry): IndexEntry) -> Result<(), ReplayError> {
        let (Some(tree), Some((batch, n))) = (
            self.index_trees.get(index),
            self.index_batches.get_mut(index),
        ) else {
            return Err(ReplayError::Corrupt {
                tree: format!("index #{index}"),
                why: "no such index".into(),
            });
        };
        batch.insert(key, entry);
        *n += 1;
        if *n == REBUILD_BATCH_ROWS_MAX {
            tree.apply_batch(std::mem::take(batch))?;
            *n = 0;
        }
        Ok(())
    }

    fn put(&mut self, kind: usize, id: Uuid, v: sled::IVec) -> Result<(), ReplayError> {
        let (Some(tree), Some((batch, n))) = (self.trees.get(kind), self.batches.get_mut(kind))
        else {
            return Err(ReplayError::Corrupt {
                tree: format!("kind #{kind}"),
                why: "no such projection kind".into(),
            });
        };
        batch.insert(id.as_bytes().as_slice(), v);
        *n += 1;
        if *n == REBUILD_BATCH_ROWS_MAX {
            // The checkpoint rides in every batch: rows and position move
            // together.
            batch.insert(CHECKPOINT_KEY, &be(self.checkpoint));
            tree.apply_batch(std::mem::take(batch))?;
            self.written += *n as u64;
            *n = 0;
        }
        Ok(())
    }

    /// Writes the last batch of every tree (the checkpoint at least).
    fn finish(mut self) -> Result<u64, ReplayError> {
        for (tree, (batch, _)) in self.index_trees.iter().zip(self.index_batches.drain(..)) {
            tree.apply_batch(batch)?;
        }
        for (tree, (mut batch, n)) in self.trees.iter().zip(self.batches.drain(..)) {
            batch.insert(CHECKPOINT_KEY, &be(self.checkpoint));
            tree.apply_batch(batch)?;
            self.written += n as u64;
        }
        Ok(self.written)
    }
}

/// Projects every contract and person of `ix` on `at` with `workers` threads and
/// hands each row to `writer` (on the calling thread) as units of work complete.
/// Rows wait in a bounded queue: memory does not grow with the log.
fn project_all(
    ix: &LogIndex<'_>,
    at: NaiveDate,
    workers: usize,
    writer: &mut ShadowWriter<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), ReplayError> {
    let q = Query::on(at);
    let policy = Policy::default();
    let nc = ix.contract_ids.len();
    let total = (nc + ix.person_ids.len()) as u64;
    let chunks = (
        nc.div_ceil(REBUILD_CHUNK_IDS),
        ix.person_ids.len().div_ceil(REBUILD_CHUNK_IDS),
    );
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    type Unit = Result<(u64, Vec<(usize, Uuid, sled::IVec)>, Vec<IndexEntry>), ReplayError>;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Unit>(REBUILD_QUEUE_CHUNKS_MAX);
        for _ in 0..workers.max(1) {
            let tx = tx.clone();
            let (next, stop, q, policy) = (&next, &stop, &q, &policy);
            scope.spawn(move || {
                let (mut buf, mut packed) = (Vec::new(), Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let (ids, is_contract) = if k < chunks.0 {
                        (ix.contract_ids.chunks(REBUILD_CHUNK_IDS).nth(k), true)
                    } else if k < chunks.0 + chunks.1 {
                        (
                            ix.person_ids.chunks(REBUILD_CHUNK_IDS).nth(k - chunks.0),
                            false,
                        )
                    } else {
                        break;
                    };
                    let ids = ids.unwrap_or_default();
                    let mut rows = UnitRows {
                        rows: Vec::with_capacity(ids.len() * 3),
                        buf: std::mem::take(&mut buf),
                        packed: std::mem::take(&mut packed),
                        entries: Vec::new(),
                    };
                    let mut unit = Ok(());
                    for id in ids {
                        unit = if is_contract {
                            ix.contract_rows(*id, q, policy, &mut rows)
                        } else {
                            ix.person_rows(*id, q, &mut rows)
                        };
                        if unit.is_err() {
                            break;
                        }
                    }
                    buf = std::mem::take(&mut rows.buf);
                    packed = std::mem::take(&mut rows.packed);
                    let msg = unit.map(|()| (ids.len() as u64, rows.rows, rows.entries));
                    if tx.send(msg).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut done = 0u64;
        let mut result = Ok(());
        for unit in rx.iter() {
            let written = unit.and_then(|(n, rows, entries)| {
                for (kind, id, v) in rows {
                    writer.put(kind, id, v)?;
                }
                for e in entries {
                    writer.put_entry(e)?;
                }
                Ok(n)
            });
            match written {
                Ok(n) => {
                    done += n;
                    progress(Progress {
                        phase: "projecting",
                        done,
                        total,
                    });
                }
                Err(e) => {
                    // Stop the workers; the receiver goes with this scope, so a
                    // worker blocked on a full queue is released.
                    stop.store(true, Ordering::Relaxed);
                    result = Err(e);
                    break;
                }
            }
        }
        result
    })
}

/// Contracts (or persons) whose rows a sliced rebuild projects from one slice
/// of the log: the slice holds their streams and their neighbours' (holders,
/// payers, the persons' other contracts), so its size is bounded by this
/// many ids' histories, not by the log.
pub const REBUILD_SLICE_IDS: usize = 1_024;

/// A rebuild that never holds the whole log
/// ([`ProjectionDb::begin_sliced_rebuild`]): the caller hands it, for every
/// contract and then every person in id order, a chunk of at most
/// [`REBUILD_SLICE_IDS`] ids with their slice of the log (the streams
/// [`rebuild_streams`] picks from a world that knows them, read from the
/// store), and [`SlicedRebuild::finish`] swaps the generation in. Each row is
/// computed from its ids' streams exactly as [`ProjectionDb::rebuild`] computes
/// it from the whole log, since each reads only those streams (as a catch-up
/// from a slice does).
pub struct SlicedRebuild<'d> {
    db: &'d ProjectionDb,
    trees: Vec<sled::Tree>,
    index_trees: Vec<sled::Tree>,
    next: u64,
    at: NaiveDate,
    checkpoint: u64,
    projected: u64,
}

impl SlicedRebuild<'_> {
    /// Projects the rows of `contracts` and `persons` on the rebuild's date
    /// from `slice` (every event of [`rebuild_streams`] of them, in position
    /// order; events after the rebuild's checkpoint are left out) and writes
    /// them into the shadow generation. An id the slice does not know (no
    /// known subscription or registration) has no row, as in a whole rebuild.
    ///
    /// # Errors
    /// A projection failure or a sled failure: the current generation is
    /// untouched.
    pub fn project(
        &mut self,
        contracts: &[Uuid],
        persons: &[Uuid],
        slice: &[Envelope],
    ) -> Result<(), ReplayError> {
        let through = slice.partition_point(|e| e.position <= self.checkpoint);
        let ix = LogIndex::new(slice.get(..through).unwrap_or_default());
        let (q, policy) = (Query::on(self.at), Policy::default());
        let mut unit = UnitRows::default();
        for id in contracts {
            if ix.contract_ids.binary_search(id).is_ok() {
                ix.contract_rows(*id, &q, &policy, &mut unit)?;
                self.projected += 1;
            }
        }
        for id in persons {
            if ix.person_ids.binary_search(id).is_ok() {
                ix.person_rows(*id, &q, &mut unit)?;
                self.projected += 1;
            }
        }
        let mut writer = ShadowWriter::new(&self.trees, &self.index_trees, self.checkpoint);
        for (kind, id, v) in unit.rows {
            writer.put(kind, id, v)?;
        }
        for e in unit.entries {
            writer.put_entry(e)?;
        }
        writer.finish()?;
        Ok(())
    }

    /// The contracts and persons projected so far.
    pub fn projected(&self) -> u64 {
        self.projected
    }

    /// Swaps the generation in, once every contract and person was projected.
    ///
    /// # Errors
    /// A sled failure: the previous generation stays current.
    pub fn finish(self) -> Result<Generation, ReplayError> {
        self.db.swap_in(self.next, self.at)?;
        Ok(Generation {
            number: self.next,
            at: self.at,
            checkpoint: self.checkpoint,
        })
    }
}

/// The materialized projections of a ledger.
#[derive(Debug, Clone)]
pub struct ProjectionDb {
    db: sled::Db,
    meta: sled::Tree,
}

/// The live bytes of one tree ([`ProjectionDb::tree_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeBytes {
    /// The tree's name.
    pub tree: String,
    /// Its entries.
    pub entries: u64,
    /// The bytes of its keys.
    pub key_bytes: u64,
    /// The bytes of its values.
    pub value_bytes: u64,
}

/// What a generation holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// Its number.
    pub number: u64,
    /// The effective date its views are read on.
    pub at: NaiveDate,
    /// The last log position folded into it.
    pub checkpoint: u64,
}

fn be(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

fn read_u64(tree: &str, v: &[u8]) -> Result<u64, ReplayError> {
    let b: [u8; 8] = v.try_into().map_err(|_| ReplayError::Corrupt {
        tree: tree.into(),
        why: format!("expected 8 bytes, found {}", v.len()),
    })?;
    Ok(u64::from_be_bytes(b))
}

fn tree_name(kind: &str, generation: u64) -> String {
    format!("{kind}.g{generation}")
}

fn at_key(generation: u64) -> Vec<u8> {
    format!("at.g{generation}").into_bytes()
}

/// The tree of an index in a generation.
fn index_tree_name(index: &str, generation: u64) -> String {
    format!("ix.{index}.g{generation}")
}

/// The meta key of the set of indexes a generation was built with.
fn indexes_key(generation: u64) -> Vec<u8> {
    format!("indexes.g{generation}").into_bytes()
}

impl ProjectionDb {
    /// Opens (or creates) the projection database of the ledger in `ledger`.
    ///
    /// # Errors
    /// A sled failure (e.g. another process holds it).
    pub fn open(ledger: &Path) -> Result<ProjectionDb, ReplayError> {
        ProjectionDb::open_dir(&dir::database_dir(ledger)?)
    }

    /// Opens a new, empty projection database for the ledger in `ledger`, in
    /// a directory no earlier database used, and gives its directory: rebuilt
    /// and flushed, [`dir::adopt`] makes it the one [`ProjectionDb::open`]
    /// opens and deletes the previous one's files (see [`dir`]).
    ///
    /// # Errors
    /// The directory cannot be made, a sled failure.
    pub fn open_fresh(ledger: &Path) -> Result<(ProjectionDb, PathBuf), ReplayError> {
        let fresh = dir::fresh_dir(ledger)?;
        Ok((ProjectionDb::open_dir(&fresh)?, fresh))
    }

    fn open_dir(path: &Path) -> Result<ProjectionDb, ReplayError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(PROJECTION_CACHE_BYTES)
            .open()?;
        let meta = db.open_tree(META_TREE)?;
        Ok(ProjectionDb { db, meta })
    }

    /// The generation readers use, if any was built.
    ///
    /// # Errors
    /// A sled failure or a corrupt pointer.
    pub fn current(&self) -> Result<Option<Generation>, ReplayError> {
        let Some(n) = self.meta.get(CURRENT_KEY)? else {
            return Ok(None);
        };
        let number = read_u64(META_TREE, &n)?;
        let at = match self.meta.get(at_key(number))? {
            Some(v) => std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse::<NaiveDate>().ok())
                .ok_or_else(|| ReplayError::Corrupt {
                    tree: META_TREE.into(),
                    why: "the generation's date is not YYYY-MM-DD".into(),
                })?,
            None => {
                return Err(ReplayError::Corrupt {
                    tree: META_TREE.into(),
                    why: format!("generation {number} has no date"),
                })
            }
        };
        let t = self.db.open_tree(tree_name(KINDS[0], number))?;
        let checkpoint = match t.get(CHECKPOINT_KEY)? {
            Some(v) => read_u64(KINDS[0], &v)?,
            None => 0,
        };
        Ok(Some(Generation {
            number,
            at,
            checkpoint,
        }))
    }

    fn trees(&self, generation: u64) -> Result<Vec<sled::Tree>, ReplayError> {
        KINDS
            .iter()
            .map(|k| Ok(self.db.open_tree(tree_name(k, generation))?))
            .collect()
    }

    fn index_trees(&self, generation: u64) -> Result<Vec<sled::Tree>, ReplayError> {
        INDEXES
            .iter()
            .map(|d| Ok(self.db.open_tree(index_tree_name(d.name, generation))?))
            .collect()
    }

    /// Rebuilds every projection from `events` (the whole log, in position order)
    /// on `at` into a new generation, then swaps it in. The old generation and any
    /// shadow left by a crash are dropped after the swap.
    ///
    /// # Errors
    /// A sled failure or an encoding failure; the current generation is untouched.
    pub fn rebuild(
        &self,
        events: &[Envelope],
        at: NaiveDate,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Generation, ReplayError> {
        let next = self.start_shadow()?;
        let checkpoint = events.last().map_or(0, |e| e.position);
        // One pass indexes the log; then every contract and person is folded
        // from its own events by worker threads (the views are independent and
        // read-only) while this thread writes the rows in bounded batches.
        let ix = LogIndex::new(events);
        progress(Progress {
            phase: "indexed",
            done: events.len() as u64,
            total: events.len() as u64,
        });
        let trees = self.trees(next)?;
        let index_trees = self.index_trees(next)?;
        let mut writer = ShadowWriter::new(&trees, &index_trees, checkpoint);
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(REBUILD_WORKERS_MAX);
        project_all(&ix, at, workers, &mut writer, progress)?;
        drop(ix);
        let written = writer.finish()?;
        progress(Progress {
            phase: "writing",
            done: written,
            total: written,
        });
        self.swap_in(next, at)?;
        Ok(Generation {
            number: next,
            at,
            checkpoint,
        })
    }

    /// Starts a rebuild that reads the log a slice at a time
    /// ([`SlicedRebuild`]): the projections on `at` of the log through
    /// position `checkpoint`, written into a new generation that
    /// [`SlicedRebuild::finish`] swaps in.
    ///
    /// # Errors
    /// A sled failure.
    pub fn begin_sliced_rebuild(
        &self,
        checkpoint: u64,
        at: NaiveDate,
    ) -> Result<SlicedRebuild<'_>, ReplayError> {
        let next = self.start_shadow()?;
        Ok(SlicedRebuild {
            db: self,
            trees: self.trees(next)?,
            index_trees: self.index_trees(next)?,
            next,
            at,
            checkpoint,
            projected: 0,
        })
    }

    /// The number of the next generation, its shadow trees empty.
    fn start_shadow(&self) -> Result<u64, ReplayError> {
        let next = self.next_generation()?;
        // A shadow of the same number may survive a crash: start it empty.
        for k in KINDS {
            self.db.drop_tree(tree_name(k, next))?;
        }
        for d in &INDEXES {
            self.db.drop_tree(index_tree_name(d.name, next))?;
        }
        Ok(next)
    }

    /// Makes the shadow generation `next`, whose rows are all written, the
    /// current one on `at`, and drops every other.
    fn swap_in(&self, next: u64, at: NaiveDate) -> Result<(), ReplayError> {
        self.db.flush()?;
        // The swap: one transaction writes the generation's date and the pointer.
        let at_text = at.to_string();
        let set = index::index_set();
        self.meta
            .transaction(|m| {
                m.insert(at_key(next), at_text.as_bytes())?;
                m.insert(indexes_key(next), set.as_bytes())?;
                m.insert(CURRENT_KEY, &be(next))?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(tx_err)?;
        self.db.flush()?;
        self.drop_stale(next)
    }

    fn next_generation(&self) -> Result<u64, ReplayError> {
        let mut max = 0;
        for name in self.db.tree_names() {
            if let Some(g) = std::str::from_utf8(&name)
                .ok()
                .and_then(|s| s.rsplit_once(".g"))
                .and_then(|(_, n)| n.parse::<u64>().ok())
            {
                max = max.max(g);
            }
        }
        Ok(max + 1)
    }

    /// Drops every generation's trees except `keep`.
    fn drop_stale(&self, keep: u64) -> Result<(), ReplayError> {
        for name in self.db.tree_names() {
            let Some(g) = std::str::from_utf8(&name)
                .ok()
                .and_then(|s| s.rsplit_once(".g"))
                .filter(|(k, _)| KINDS.contains(k) || k.starts_with("ix."))
                .and_then(|(_, n)| n.parse::<u64>().ok())
            else {
                continue;
            };
            if g != keep {
                self.db.drop_tree(&name)?;
                self.meta.remove(at_key(g))?;
                self.meta.remove(indexes_key(g))?;
            }
        }
        Ok(())
    }

    /// Folds the events after the current checkpoint into the current generation:
    /// the rows of every contract and person they touch are recomputed from the
    /// whole log `events` and written with the new checkpoint in one transaction
    /// over all the trees. Returns the generation after the catch-up.
    ///
    /// # Errors
    /// [`ReplayError::NotBuilt`], a sled failure.
    pub fn catch_up(
        &self,
        events: &[Envelope],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Generation, ReplayError> {
        let g = self.current()?.ok_or(ReplayError::NotBuilt)?;
        let new: Vec<Envelope> = events
            .iter()
            .filter(|e| e.position > g.checkpoint)
            .cloned()
            .collect();
        self.catch_up_from(g, &new, events, true, progress)
    }

    /// [`ProjectionDb::catch_up`] without the whole log: `tail` holds the
    /// events after the current checkpoint (from the checkpoint's next position
    /// on, in position order; those at or before the checkpoint are skipped),
    /// and `slice` every event, up to the tail's last, of the streams
    /// [`catch_up_streams`] picks for that tail, in position order. The rows of
    /// the ids the tail touches are computed from `slice` exactly as from the
    /// whole log, since each reads only those streams.
    ///
    /// # Errors
    /// [`ReplayError::NotBuilt`], [`ReplayError::Discontinuous`] for a tail
    /// that does not start right after the checkpoint,
    /// [`ReplayError::WholeLogNeeded`] for a tail with a reference event (it
    /// touches every row: catch up from the whole log), a sled failure.
    pub fn catch_up_slice(
        &self,
        tail: &[Envelope],
        slice: &[Envelope],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Generation, ReplayError> {
        let g = self.current()?.ok_or(ReplayError::NotBuilt)?;
        let new: Vec<Envelope> = tail
            .iter()
            .filter(|e| e.position > g.checkpoint)
            .cloned()
            .collect();
        if let Some(first) = new.first().filter(|e| e.position != g.checkpoint + 1) {
            return Err(ReplayError::Discontinuous {
                position: first.position,
                why: format!("the projections cover position {}", g.checkpoint),
            });
        }
        self.catch_up_from(g, &new, slice, false, progress)
    }

    /// The catch-up of `new` (the events after `g`'s checkpoint) with the rows
    /// computed from `events`: the whole log when `whole`, else a slice holding
    /// the streams of every id `new` touches.
    fn catch_up_from(
        &self,
        g: Generation,
        new: &[Envelope],
        events: &[Envelope],
        whole: bool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Generation, ReplayError> {
        let Some(last) = new.last().map(|e| e.position) else {
            return Ok(g);
        };
        // The rows of the touched ids, each from its own streams, as a rebuild
        // computes them (the same `LogIndex` and per-id folds), not from a fold
        // of the whole log.
        let ix = LogIndex::new(events);
        let (contracts, persons) = touched_ids(new, &ix, whole)?;
        let q = Query::on(g.at);
        let policy = Policy::default();
        let total = (contracts.len() + persons.len()) as u64;
        let mut unit = UnitRows::default();
        for id in &contracts {
            ix.contract_rows(*id, &q, &policy, &mut unit)?;
        }
        for id in &persons {
            ix.person_rows(*id, &q, &mut unit)?;
        }
        progress(Progress {
            phase: "projecting",
            done: total,
            total,
        });
        // Per kind, the rows in id order, each the `IVec` the worker encoded:
        // the transaction inserts it by reference, not through another copy.
        let mut rows: Vec<BTreeMap<Uuid, sled::IVec>> =
            KINDS.iter().map(|_| BTreeMap::new()).collect();
        for (kind, id, v) in unit.rows {
            if let Some(r) = rows.get_mut(kind) {
                r.insert(id, v);
            }
        }
        // For a reference event (every row may change) every
        // contract and person is upserted, which is complete: ids are never
        // removed from the log.
        let mut trees = self.trees(g.number)?;
        // A generation built before its indexes keeps none (its lists are
        // refused until a rebuild); every other keeps them current.
        let (stale, entries) = if self.indexed(g.number)? {
            (self.stale_entries(&trees, g.number, &rows)?, unit.entries)
        } else {
            (Vec::new(), Vec::new())
        };
        trees.extend(self.index_trees(g.number)?);
        trees
            .as_slice()
            .transaction(|txs| {
                for (tx, r) in txs.iter().zip(&rows) {
                    for (id, v) in r {
                        tx.insert(id.as_bytes().as_slice(), v.clone())?;
                    }
                    tx.insert(CHECKPOINT_KEY, &be(last))?;
                }
                // The entries of the rows replaced go, those of the new rows
                // come, in the same transaction: an index never lists a row
                // by a term it no longer has.
                let ix = txs.get(KINDS.len()..).unwrap_or_default();
                for (i, key) in &stale {
                    if let Some(tx) = ix.get(*i) {
                        tx.remove(key.as_slice())?;
                    }
                }
                for (i, key, entry) in &entries {
                    if let Some(tx) = ix.get(*i) {
                        tx.insert(key.as_slice(), entry.as_slice())?;
                    }
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(tx_err)?;
        self.db.flush()?;
        Ok(Generation {
            checkpoint: last,
            ..g
        })
    }

    /// The index keys of the stored rows `rows` replace: (index in
    /// [`INDEXES`], key). Read outside the transaction that replaces them,
    /// which is sound because the follower is the only writer of a
    /// generation.
    fn stale_entries(
        &self,
        trees: &[sled::Tree],
        generation: u64,
        rows: &[BTreeMap<Uuid, sled::IVec>],
    ) -> Result<Vec<(usize, Vec<u8>)>, ReplayError> {
        let mut out = Vec::new();
        for ((name, tree), r) in KINDS.iter().zip(trees).zip(rows) {
            for id in r.keys() {
                let Some(old) = tree.get(id.as_bytes())? else {
                    continue;
                };
                let json = decode_row(&tree_name(name, generation), id.as_bytes(), &old)?;
                // The keys alone: the entries removed are not encoded.
                for (i, def) in INDEXES.iter().enumerate() {
                    if def.kind == *name {
                        out.extend(
                            index::row_keys(def, *id, &json)?
                                .into_iter()
                                .map(|k| (i, k)),
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    /// The stored rows of the current generation, per kind: each row's JSON
    /// ([`decode_row`]).
    ///
    /// # Errors
    /// [`ReplayError::NotBuilt`], a sled failure.
    pub fn stored_rows(&self) -> Result<(Generation, Rows), ReplayError> {
        let g = self.current()?.ok_or(ReplayError::NotBuilt)?;
        let mut rows: Rows = BTreeMap::new();
        for (tree, kind) in self.trees(g.number)?.iter().zip(KINDS) {
            let mut r = BTreeMap::new();
            for item in tree.iter() {
                let (k, v) = item?;
                if &*k == CHECKPOINT_KEY {
                    continue;
                }
                let id = Uuid::from_slice(&k).map_err(|e| ReplayError::Corrupt {
                    tree: tree_name(kind, g.number),
                    why: format!("key {}: {e}", hex::encode(&k)),
                })?;
                r.insert(
                    id,
                    decode_row(&tree_name(kind, g.number), &k, &v)?.into_owned(),
                );
            }
            rows.insert(kind, r);
        }
        Ok((g, rows))
    }

    /// One stored view, if materialized.
    ///
    /// # Errors
    /// [`ReplayError::NotBuilt`], a sled failure.
    pub fn get(&self, kind: &str, id: Uuid) -> Result<Option<serde_json::Value>, ReplayError> {
        let g = self.current()?.ok_or(ReplayError::NotBuilt)?;
        let t = self.db.open_tree(tree_name(kind, g.number))?;
        match t.get(id.as_bytes())? {
            Some(v) => Ok(Some(serde_json::from_slice(&decode_row(
                &tree_name(kind, g.number),
                id.as_bytes(),
                &v,
            )?)?)),
            None => Ok(None),
        }
    }

    /// The live bytes of every tree of the database (its keys and values, before
    /// sled's own overhead), in tree-name order: what the database holds,
    /// to set beside its files' bytes.
    ///
    /// # Errors
    /// A sled failure.
    pub fn tree_bytes(&self) -> Result<Vec<TreeBytes>, ReplayError> {
        let mut out = Vec::new();
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name)?;
            let mut t = TreeBytes {
                tree: String::from_utf8_lossy(&name).into_owned(),
                entries: 0,
                key_bytes: 0,
                value_bytes: 0,
            };
            for item in tree.iter() {
                let (k, v) = item?;
                t.entries += 1;
                t.key_bytes += k.len() as u64;
                t.value_bytes += v.len() as u64;
            }
            out.push(t);
        }
        out.sort_by(|a, b| a.tree.cmp(&b.tree));
        Ok(out)
    }

    /// Flushes and releases the database.
    ///
    /// # Errors
    /// A sled failure.
    pub fn close(self) -> Result<(), ReplayError> {
        self.db.flush()?;
        Ok(())
    }
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The generation read (its date, the position its rows cover).
    pub generation: Generation,
    /// The entries, in key order.
    pub items: Vec<index::PageItem>,
    /// The cursor of the next page, `None` at the end of the list.
    pub next: Option<Vec<u8>>,
}

impl ProjectionDb {
    /// The current generation, the tree of `index` in it and the tree's name:
    /// what a page reads (and what a benchmark's raw reference scans).
    ///
    /// # Errors
    /// [`ReplayError::NotBuilt`], [`ReplayError::NotIndexed`] when the
    /// generation was built with other indexes, a sled failure.
    pub fn index_tree(
        &self,
        index: &index::IndexDef,
    ) -> Result<(Generation, sled::Tree, String), ReplayError> {
        let g = self.current()?.ok_or(ReplayError::NotBuilt)?;
        if !self.indexed(g.number)? {
            return Err(ReplayError::NotIndexed);
        }
        let name = index_tree_name(index.name, g.number);
        let tree = self.db.open_tree(&name)?;
        Ok((g, tree, name))
    }

    /// Whether generation `number` was built with today's [`INDEXES`].
    ///
    /// # Errors
    /// A sled failure.
    pub fn indexed(&self, number: u64) -> Result<bool, ReplayError> {
        Ok(self
            .meta
            .get(indexes_key(number))?
            .is_some_and(|v| *v == *index::index_set().as_bytes()))
    }

    /// One page of a list, read from the current generation's index.
    ///
    /// # Errors
    /// [`ReplayError::NotBuilt`]; [`ReplayError::NotIndexed`] for a generation
    /// built without this index; [`ReplayError::Cursor`] for a cursor outside
    /// the list's range; a sled failure.
    pub fn page(&self, req: &index::PageRequest<'_>) -> Result<Page, ReplayError> {
        let (g, tree, name) = self.index_tree(req.index)?;
        let (lo, hi) = req.range.key_bounds();
        let lo = match &req.after {
            Some(k) if index::within(k, &(lo.clone(), hi.clone())) => Bound::Excluded(k.clone()),
            Some(k) => {
                return Err(ReplayError::Cursor(format!(
                    "{} is not a place in this list",
                    hex::encode(k)
                )))
            }
            None => lo,
        };
        let limit = req.limit.clamp(1, index::LIST_PAGE_ROWS_MAX);
        let s = index::scan(&tree, &name, (lo, hi), limit, req.filter)?;
        Ok(Page {
            generation: g,
            items: s.items,
            next: if s.more { s.last } else { None },
        })
    }
}

fn tx_err(e: TransactionError<()>) -> ReplayError {
    match e {
        TransactionError::Storage(s) => ReplayError::Sled(s),
        TransactionError::Abort(()) => ReplayError::Corrupt {
            tree: META_TREE.into(),
            why: "transaction aborted".into(),
        },
    }
}

/// The state hash of one kind's rows: BLAKE3 over `(key length, key, value
/// length, value)` in key order, hex. Two rebuilds of the same log on the same
/// date, on any machine, give the same hashes.
pub fn state_hash(rows: &BTreeMap<Uuid, Vec<u8>>) -> String {
    let mut h = blake3::Hasher::new();
    for (k, v) in rows {
        h.update(&(16u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update(&(v.len() as u64).to_be_bytes());
        h.update(v);
    }
    h.finalize().to_hex().to_string()
}

/// One difference found by [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The projection kind.
    pub kind: &'static str,
    /// The contract or person.
    pub id: Uuid,
    /// What differs: "missing", "unexpected" or "differs".
    pub what: &'static str,
}

/// The result of comparing the materialized projections with the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The generation compared.
    pub generation: Generation,
    /// The log's head position (a checkpoint behind it means the follower lags).
    pub head: u64,
    /// Per kind: (rows, stored hash, recomputed hash).
    pub hashes: Vec<(&'static str, u64, String, String)>,
    /// The differences.
    pub mismatches: Vec<Mismatch>,
}

impl CheckReport {
    /// No difference and the checkpoint is the head.
    pub fn consistent(&self) -> bool {
        self.mismatches.is_empty() && self.generation.checkpoint == self.head
    }
}

/// Compares every materialized row with the view computed on demand from the log
/// (each projection computed from the whole log, bans from every event).
///
/// # Errors
/// [`ReplayError::NotBuilt`], a sled failure.
pub fn check(db: &ProjectionDb, events: &[Envelope]) -> Result<CheckReport, ReplayError> {
    let (g, stored) = db.stored_rows()?;
    let fresh = compute_rows(events, g.at)?;
    let mut mismatches = Vec::new();
    let mut hashes = Vec::new();
    let empty = BTreeMap::new();
    for kind in KINDS {
        let s = stored.get(kind).unwrap_or(&empty);
        let f = fresh.get(kind).unwrap_or(&empty);
        for (id, v) in f {
            match s.get(id) {
                None => mismatches.push(Mismatch {
                    kind,
                    id: *id,
                    what: "missing",
                }),
                Some(x) if x != v => mismatches.push(Mismatch {
                    kind,
                    id: *id,
                    what: "differs",
                }),
                Some(_) => {}
            }
        }
        for id in s.keys().filter(|id| !f.contains_key(id)) {
            mismatches.push(Mismatch {
                kind,
                id: *id,
                what: "unexpected",
            });
        }
        hashes.push((kind, s.len() as u64, state_hash(s), state_hash(f)));
    }
    if db.indexed(g.number)? {
        mismatches.extend(check_indexes(db, g.number, &stored)?);
    }
    Ok(CheckReport {
        generation: g,
        head: events.last().map_or(0, |e| e.position),
        hashes,
        mismatches,
    })
}

/// Compares every index of generation `number` with the entries a full scan
/// of the stored rows `stored` gives (the oracle of the indexes): an entry
/// missing, one that no row gives ("unexpected"), or one whose entry differs.
///
/// # Errors
/// A sled failure, a row that is not its kind's view.
pub fn check_indexes(
    db: &ProjectionDb,
    number: u64,
    stored: &Rows,
) -> Result<Vec<Mismatch>, ReplayError> {
    let mut out = Vec::new();
    let empty = BTreeMap::new();
    for def in &INDEXES {
        let mut expected: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for (id, json) in stored.get(def.kind).unwrap_or(&empty) {
            expected.extend(row_entries(def, *id, json)?);
        }
        let name = index_tree_name(def.name, number);
        let tree = db.db.open_tree(&name)?;
        let mut held: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for item in tree.iter() {
            let (k, v) = item?;
            held.insert(k.to_vec(), v.to_vec());
        }
        let mut push = |key: &[u8], what| -> Result<(), ReplayError> {
            out.push(Mismatch {
                kind: def.name,
                id: index::key_id(&name, key)?,
                what,
            });
            Ok(())
        };
        for (k, v) in &expected {
            match held.get(k) {
                None => push(k, "index entry missing")?,
                Some(h) if h != v => push(k, "index entry differs")?,
                Some(_) => {}
            }
        }
        for k in held.keys().filter(|k| !expected.contains_key(*k)) {
            push(k, "index entry unexpected")?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plain(tree: &str, key: &[u8], stored: &[u8]) -> Result<Vec<u8>, ReplayError> {
        decode_row(tree, key, stored).map(std::borrow::Cow::into_owned)
    }

    proptest! {
        #[test]
        fn projection_row_encoding_round_trips_any_view_json(
            body in proptest::collection::vec(any::<u8>(), 0..600),
            repeat in 1usize..40,
        ) {
            let mut scratch = Vec::new();
            // A view's JSON (an object) and one that repeats itself as a
            // calendar's rows do.
            let once = [b"{".as_slice(), &body].concat();
            let many = [b"{".as_slice(), &body.repeat(repeat)].concat();
            // And an index entry (an array).
            let entry = [b"[".as_slice(), &body].concat();
            for json in [once, many, entry] {
                let stored = encode_row(&json, &mut scratch);
                prop_assert_eq!(plain("calendar.g1", &[7; 16], &stored)?, json.clone());
                prop_assert!(stored.len() <= json.len().max(5 + lz4_flex::block::get_maximum_output_size(json.len())));
            }
        }
    }

    #[test]
    fn projection_row_encoding_shrinks_a_repetitive_view_and_keeps_a_tiny_one_as_is() {
        let mut scratch = Vec::new();
        let row = r#"{"amount":"90.00","debit_date":"2026-08-01","lines":[{"amount":"90.00","kind":"full_installment"}],"status":"collected"}"#;
        let calendar = format!("{{\"rows\":[{}]}}", vec![row; 24].join(","));
        let stored = encode_row(calendar.as_bytes(), &mut scratch);
        assert_eq!(stored.first(), Some(&ROW_LZ4_DICT));
        assert!(
            stored.len() * 5 < calendar.len(),
            "{} of {}",
            stored.len(),
            calendar.len()
        );
        let tiny = br#"{"a":1}"#;
        assert_eq!(&*encode_row(tiny, &mut scratch), tiny.as_slice());
        assert_eq!(
            plain("bans.g1", &[1; 16], tiny).expect("plain row"),
            tiny.to_vec()
        );
    }

    /// One index entry of the debits by date: a calendar row of a few hundred
    /// bytes, whose JSON LZ4 alone barely shrinks.
    const DEBIT_ENTRY: &str = r#"[{"amount":"78.80","debit_date":"2025-03-08","lines":[{"amount":"78.80","kind":"full_installment","month":"2025-03","tariff":{"annual":"866.80","effective_from":"2025-01-01","mark":"D","product":"2-3"}}],"month":"2025-03","recorded":true,"status":"collected"}]"#;

    #[test]
    fn projection_entry_encoding_shrinks_a_debit_entry_against_the_dictionary() {
        let mut scratch = Vec::new();
        let stored = encode_row(DEBIT_ENTRY.as_bytes(), &mut scratch);
        assert_eq!(stored.first(), Some(&ROW_LZ4_DICT));
        let alone = lz4_flex::block::compress(DEBIT_ENTRY.as_bytes()).len();
        // Under a third of its JSON, and under half of what LZ4 alone gives.
        assert!(
            stored.len() * 3 < DEBIT_ENTRY.len() && stored.len() * 2 < alone,
            "{} of {} (LZ4 alone {alone})",
            stored.len(),
            DEBIT_ENTRY.len()
        );
        assert_eq!(
            plain("ix.debits_by_date.g1", &[2; 16], &stored).expect("entry"),
            DEBIT_ENTRY.as_bytes()
        );
        assert_eq!(
            index::decode_entry("ix.debits_by_date.g1", &[2; 16], &stored).expect("entry"),
            serde_json::from_str::<serde_json::Value>(DEBIT_ENTRY).expect("json")
        );
    }

    #[test]
    fn projection_row_compressed_without_the_dictionary_by_an_older_rebuild_still_reads() {
        // A row as rebuilds wrote it before the dictionary: LZ4 alone.
        let json = format!("{{\"rows\":[{}]}}", vec!["\"2026-08-01\""; 50].join(","));
        let len = u32::try_from(json.len()).expect("u32").to_be_bytes();
        let block = lz4_flex::block::compress(json.as_bytes());
        let stored = [&[ROW_LZ4][..], &len, &block].concat();
        assert_eq!(
            plain("calendar.g1", &[4; 16], &stored).expect("row"),
            json.as_bytes()
        );
    }

    #[test]
    fn projection_row_decoding_refuses_a_corrupt_row_naming_its_tree_and_key() {
        let mut scratch = Vec::new();
        let json = format!("{{\"rows\":[{}]}}", vec!["\"2026-08-01\""; 50].join(","));
        let good = encode_row(json.as_bytes(), &mut scratch).to_vec();
        assert_eq!(good.first(), Some(&ROW_LZ4_DICT));
        let key = [0xAB; 16];
        let mut over = good.clone();
        over[1..5].copy_from_slice(&u32::try_from(ROW_BYTES_MAX + 1).expect("u32").to_be_bytes());
        let mut short = good.clone();
        short[1..5].copy_from_slice(&10u32.to_be_bytes());
        let mut long = good.clone();
        long[1..5].copy_from_slice(&(u32::try_from(json.len()).expect("u32") + 1).to_be_bytes());
        let cases: [(&str, Vec<u8>, &str); 6] = [
            (
                "unknown byte",
                vec![0x03, 1, 2],
                "unknown encoding byte 0x03",
            ),
            ("empty", Vec::new(), "empty row"),
            ("no length", vec![ROW_LZ4, 1, 2], "shorter than its length"),
            ("length over the bound", over, "over the bound"),
            ("length too short", short, "LZ4 block"),
            ("length too long", long, "announced"),
        ];
        for (what, stored, why) in cases {
            let e = plain("calendar.g3", &key, &stored)
                .expect_err(what)
                .to_string();
            assert!(e.contains("calendar.g3"), "{what}: {e}");
            assert!(e.contains(&"ab".repeat(16)), "{what}: {e}");
            assert!(e.contains(why), "{what}: {e}");
        }
        let mut truncated = good;
        truncated.truncate(truncated.len() - 3);
        assert!(plain("calendar.g3", &key, &truncated).is_err());
    }

    #[test]
    fn projection_rows_are_stored_compressed_and_a_plain_row_of_an_older_rebuild_still_reads() {
        use navigo_testkit::*;
        // Given a contract billed from July 2026 through February 2027, rebuilt
        let s = agency_contract_billed_through(d(2027, 2, 1));
        let mut events: Vec<Envelope> = s.world.history.values().flatten().cloned().collect();
        events.sort_by_key(|e| e.position);
        let dir = std::env::temp_dir().join(format!("navigo-row-codec-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = ProjectionDb::open(&dir).expect("open");
        let g = db
            .rebuild(&events, d(2027, 2, 15), &mut |_| {})
            .expect("rebuild");
        let calendar = db
            .db
            .open_tree(tree_name("calendar", g.number))
            .expect("tree");
        let stored = calendar.get(cid(1).as_bytes()).expect("read").expect("row");
        let json = serde_json::to_vec(&db.get("calendar", cid(1)).expect("get").expect("row"))
            .expect("encode");
        // Then the calendar row is compressed, to under a fifth of its JSON
        assert_eq!(stored.first(), Some(&ROW_LZ4_DICT));
        assert!(
            stored.len() * 5 < json.len(),
            "{} of {}",
            stored.len(),
            json.len()
        );
        assert!(check(&db, &events).expect("check").consistent());
        // When the row is replaced by its plain JSON, as a rebuild before
        // compression wrote it
        let (_, rows) = db.stored_rows().expect("rows");
        let plain = rows["calendar"][&cid(1)].clone();
        calendar
            .insert(cid(1).as_bytes(), plain.as_slice())
            .expect("write");
        // Then it reads the same, and the projection is still consistent
        let (_, again) = db.stored_rows().expect("rows");
        assert_eq!(again["calendar"][&cid(1)], plain);
        assert_eq!(
            serde_json::to_vec(&db.get("calendar", cid(1)).expect("get").expect("row"))
                .expect("encode"),
            json
        );
        assert!(check(&db, &events).expect("check").consistent());
        // And a corrupt row is refused by name, not read as a view
        calendar
            .insert(cid(1).as_bytes(), &[0x03, 0, 0][..])
            .expect("write");
        let e = db.get("calendar", cid(1)).expect_err("corrupt").to_string();
        assert!(e.contains(&tree_name("calendar", g.number)), "{e}");
        drop(calendar);
        let _ = db.close();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn projection_layout_a_generation_of_another_layout_is_not_listed_from_until_rebuilt() {
        use navigo_testkit::*;
        // Given a contract rebuilt
        let s = agency_contract_billed_through(d(2027, 2, 1));
        let mut events: Vec<Envelope> = s.world.history.values().flatten().cloned().collect();
        events.sort_by_key(|e| e.position);
        let dir = std::env::temp_dir().join(format!("navigo-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = ProjectionDb::open(&dir).expect("open");
        let at = d(2027, 2, 15);
        let g = db.rebuild(&events, at, &mut |_| {}).expect("rebuild");
        let listed = |db: &ProjectionDb| -> Result<usize, ReplayError> {
            let mut n = 0;
            for tag in index::STATUS_TAGS {
                n += db
                    .page(&index::PageRequest {
                        index: index::index("contracts_by_status").expect("index"),
                        range: index::TermRange::eq(index::Term::Text(tag.into())),
                        after: None,
                        limit: 10,
                        filter: None,
                    })?
                    .items
                    .len();
            }
            Ok(n)
        };
        assert_eq!(listed(&db).expect("listed"), 1);
        // When its generation says it was built with the layout before the
        // dictionary (the index names alone, as the previous version wrote)
        let before = index::INDEXES.map(|d| d.name).join(",");
        db.meta
            .insert(indexes_key(g.number), before.as_bytes())
            .expect("write");
        // Then its lists are refused, not read
        assert!(!db.indexed(g.number).expect("indexed"));
        assert!(matches!(listed(&db), Err(ReplayError::NotIndexed)));
        // And a rebuild lists again, consistent with the log
        let again = db.rebuild(&events, at, &mut |_| {}).expect("rebuild");
        assert!(db.indexed(again.number).expect("indexed"));
        assert_eq!(listed(&db).expect("listed"), 1);
        assert!(check(&db, &events).expect("check").consistent());
        let _ = db.close();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sliced_rebuild_equals_the_whole_log_rebuild_holding_one_chunk_of_ids_at_a_time() {
        use navigo_events_schema::command::RecordDebitRejected;
        use navigo_events_schema::types::Channel;
        use navigo_events_schema::Command;
        use navigo_testkit::*;
        // Given six persons, six contracts (person 1 holds two), a debit
        // rejected, and the clock through February 2027
        let mut s = Scenario::new().given([tariff_990(), reason_codes()]);
        for p in 1..=6u128 {
            s = s.given([register(p, d(1980 + p as i32, 3, 1))]);
        }
        for c in 1..=6u128 {
            let start = d(2026, 7, 1 + c as u32);
            let holder = if c == 6 { 1 } else { c };
            let sub = subscribe(
                start,
                Channel::Agency,
                c,
                holder,
                annual_1_5(),
                start,
                debit(1, c),
            );
            let _ = s.run(&sub);
        }
        s = s.advance(d(2026, 10, 1));
        let _ = s.run(&cmd(
            d(2026, 10, 5),
            Some(Channel::Agency),
            Command::RecordDebitRejected(RecordDebitRejected {
                contract_id: cid(2),
                month: "2026-10".parse().expect("month"),
                reason_code: "AM04".parse().expect("code"),
            }),
        ));
        s = s.advance(d(2027, 2, 1));
        let mut events: Vec<Envelope> = s.world.history.values().flatten().cloned().collect();
        events.sort_by_key(|e| e.position);
        let checkpoint = events.last().map_or(0, |e| e.position);
        let at = d(2027, 1, 15);
        let base = std::env::temp_dir().join(format!("navigo-sliced-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let whole = ProjectionDb::open(&base.join("whole")).expect("open");
        whole.rebuild(&events, at, &mut |_| {}).expect("rebuild");
        // When rebuilt two ids at a time, each from its slice of the log
        let sliced = ProjectionDb::open(&base.join("sliced")).expect("open");
        let mut build = sliced.begin_sliced_rebuild(checkpoint, at).expect("begin");
        let ids_of = |kind: StreamKind| -> Vec<Uuid> {
            s.world
                .versions
                .keys()
                .filter(|k| k.kind == kind)
                .map(|k| k.id)
                .collect()
        };
        let (contracts, persons) = (ids_of(StreamKind::Contract), ids_of(StreamKind::Person));
        let mut held_max = 0;
        let chunks = contracts
            .chunks(2)
            .map(|c| (c, &[][..]))
            .chain(persons.chunks(2).map(|p| (&[][..], p)));
        for (c, p) in chunks {
            let streams = rebuild_streams(&s.world, c, p);
            let slice: Vec<Envelope> = events
                .iter()
                .filter(|e| streams.contains(&e.stream))
                .cloned()
                .collect();
            held_max = held_max.max(slice.len());
            build.project(c, p, &slice).expect("project");
        }
        assert_eq!(build.projected(), (contracts.len() + persons.len()) as u64);
        let g = build.finish().expect("finish");
        // Then every row is the whole rebuild's, the checkpoint the log's head,
        // and no slice held the whole log
        assert_eq!(g.checkpoint, checkpoint);
        let (_, a) = whole.stored_rows().expect("rows");
        let (_, b) = sliced.stored_rows().expect("rows");
        assert_eq!(a, b);
        assert!(a.values().all(|r| !r.is_empty()));
        assert!(check(&sliced, &events).expect("check").consistent());
        assert!(held_max < events.len(), "{held_max} of {}", events.len());
        drop((whole, sliced));
        let _ = std::fs::remove_dir_all(&base);
    }
}
