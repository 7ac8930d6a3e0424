//! The ledger's folded world as keyed derived data: one entry per contract and
//! per person state and per campaign, chunks of stream versions and of index
//! edges, and one meta entry naming the position they cover, all in the store's keyed
//! derived space [`STATES_SPACE`] ([`EventStore::write_derived_entries`]).
//! Derived data is never trusted: every entry carries the schema version of
//! the states and a BLAKE3 of its key and bytes, and [`load`] checks the meta
//! against the log.
//!
//! Incremental writes are sound because of one invariant: when the world has
//! folded through position P, writing every dirty state (and every new edge
//! and changed version) with meta = P in one atomic batch ([`flush`]) leaves the
//! derived data consistent at P, since a clean entry has not changed since it
//! was written. A state is therefore dropped from memory ([`evict_if_over`])
//! only once clean, and read back ([`page_in`]) as it was at P.
//!
//! Entry keys (the entry's value is [`frame`]d):
//!
//! | key | payload |
//! |---|---|
//! | `m` | [`Meta`] |
//! | `c` ‖ contract id | the contract's state |
//! | `p` ‖ person id | the person's state |
//! | `s` ‖ first stream key of the chunk | a chunk of stream rows ([`STREAM_ROW_BYTES`] each) |
//! | `e` ‖ index tag ‖ first index key of the chunk | a chunk of edge rows |
//! | `g` ‖ campaign id | the campaign |
//! | `w` ‖ contract id | the contract's wake date ([`wake_payload`]) |
//!
//! Versions and index edges are many (about two streams and three edges per
//! contract) and tiny, so they are stored in chunks of many rows, one frame
//! (and one BLAKE3) per chunk, rather than one entry each: opening reads a
//! few thousand chunks instead of millions of entries. A chunk covers a range
//! of keys, from its own start to the next chunk's start, like a leaf of a
//! B-tree: rows are sorted, a flush rewrites (from the world, which holds every
//! version and edge) only the chunks its changed versions and new edges fall
//! in, and splits a chunk grown beyond [`CHUNK_ROWS_MAX`] rows. Ids are
//! time-ordered, so the streams a command or a chunk of the billing clock
//! changes fall in few chunks. A chunk that does not verify makes the whole
//! space rebuilt from the log, as any version or edge does (neither is one
//! stream's fold alone).
//!
//! A stream row is fixed-width: the stream key ([`StreamId::KEY_LEN`] bytes)
//! then its version (u64 BE). Adding a per-stream field is adding its
//! fixed-width bytes after the version in `chunks::stream_row` and reading them
//! in `chunks::read_streams_chunk`, raising [`STREAM_ROW_BYTES`] and
//! [`STATE_SCHEMA_VERSION`] (older chunks are then refused and rebuilt). An
//! edge row is the index key's length (u8), the key (a person id, or a client
//! number's bytes), then the id it names (16 bytes).

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use navigo_events_schema::event::CampaignPublished;
use navigo_events_schema::{Hash, StreamId, StreamKind};
use navigo_rules::world::{IndexKind, PagedState, World};
use navigo_store::{next_envelope, DerivedBatch, EventStore, StoreError};
use uuid::Uuid;

mod chunks;
pub mod stored;

/// The keyed derived space of the ledger's states.
pub const STATES_SPACE: &str = "world-states";

/// The version of the states' encoding: raised whenever a field of a folded
/// state (`ContractState`, `PersonState` and what they hold) or of [`Meta`]
/// changes, so that entries of older states are refused and rebuilt, never
/// misread.
///
/// Version 3 stored versions and edges in chunks; version 4 added the wake
/// dates (`w` entries): a binary of an earlier version would change states
/// without writing their dates, so it must not read (nor keep writing) a
/// space of version 4, and an older space is rebuilt. Version 5 added the
/// person's last event date (`TERM-RETENTION`). Version 6 changed the
/// mandates a contract holds (signature date, sealed debtor account) and
/// added the mandate of the last debit presented. Version 7 stores a
/// contract's state in its positional form ([`stored`]) instead of CBOR keyed
/// by field names. Version 8 keeps with each debit presented when it was
/// recorded and how it went to the bank under its mandate.
pub const STATE_SCHEMA_VERSION: u32 = 8;

/// The resident states (contracts, persons, and streams known to hold none)
/// the ledger's world keeps by default; beyond it, states are paged from the
/// store and memory is bounded by this cache, not by the number of contracts.
///
/// Decision: 25,000, enough for the 10,000-contract demo to stay whole in
/// memory (a contract and its holder and payer are two or three states). A
/// resident state holds 15 to 21 KiB of heap while importing, so the cache is
/// the largest part of a region's memory: at 100,000 contracts the import's
/// peak RSS was 3,807 MiB with a cache of 100,000 states and 1,299 MiB with
/// 10,000, for 1.15 times the CPU per event (4,690 against 5,370 events per
/// CPU-second, the derived database compacted while open; BENCHMARKS.md,
/// Region). A million contracts hold 4 GiB only with a cache well below
/// 100,000.
pub const STATE_CACHE_ENTRIES_MAX: usize = 25_000;

/// The share (in percent) of [`STATE_CACHE_ENTRIES_MAX`] (or the limit given)
/// an eviction leaves resident: evicting below the limit, not just to it, so
/// that the next eviction (a flush of every dirty state) is that many page-ins
/// away, not one.
pub const STATE_CACHE_LOW_WATER_PERCENT: usize = 75;

/// Keys read from the store in one call when paging states in.
pub const PAGE_IN_KEYS_MAX: usize = 1_024;

/// Rows of a chunk of versions or edges beyond which a flush splits it (into
/// chunks of half as many): small enough that a flush of a few changed
/// streams rewrites a few kilobytes, large enough that opening a region of a
/// million contracts reads tens of thousands of chunks, not millions of
/// entries.
pub const CHUNK_ROWS_MAX: usize = 256;

/// Bytes of one stream row of a chunk: the stream key, the version (u64 BE).
pub const STREAM_ROW_BYTES: usize = StreamId::KEY_LEN + 8;

const META_KEY: &[u8] = b"m";
const CONTRACT: u8 = b'c';
const PERSON: u8 = b'p';
const STREAMS_CHUNK: u8 = b's';
const EDGES_CHUNK: u8 = b'e';
const CAMPAIGN: u8 = b'g';
const WAKE: u8 = b'w';
const FRAME_HEADER_BYTES: usize = 4 + 32;

/// What the meta entry says: the position the entries cover and the record
/// there.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    /// The position covered (0: none).
    pub position: u64,
    /// The hash of the record at that position (genesis for 0).
    pub head_hash: Hash,
    /// The latest instant recorded on a folded event.
    pub head_recorded_at: Option<DateTime<Utc>>,
}

/// Why the stored states were refused (the ledger rebuilds them from the log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// An entry too short to hold its frame.
    #[error("derived entry {key} is truncated")]
    Format {
        /// The entry's key, in hexadecimal.
        key: String,
    },
    /// Written for other states.
    #[error("state schema version {found}, this ledger reads {STATE_SCHEMA_VERSION}")]
    Version {
        /// The entry's version.
        found: u32,
    },
    /// An entry's bytes do not hash to the hash it carries.
    #[error("derived entry {key}: hash mismatch")]
    Hash {
        /// The entry's key, in hexadecimal.
        key: String,
    },
    /// An entry's payload does not decode.
    #[error("derived entry {key} does not decode: {why}")]
    Payload {
        /// The entry's key, in hexadecimal.
        key: String,
        /// Why.
        why: String,
    },
    /// It covers positions the log does not hold.
    #[error("covers position {position}, beyond the log's head {head}")]
    BeyondHead {
        /// The meta's position.
        position: u64,
        /// The log's head.
        head: u64,
    },
    /// The log's record at its position is not the one it was written after.
    #[error("the log's record at position {position} is not the one the states cover")]
    OtherLog {
        /// The position.
        position: u64,
    },
}

/// The stored value of an entry: [`STATE_SCHEMA_VERSION`] (u32 BE), BLAKE3 of
/// the key and the payload, the payload.
pub fn frame(key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    out.extend_from_slice(&STATE_SCHEMA_VERSION.to_be_bytes());
    out.extend_from_slice(entry_hash(key, payload).as_bytes());
    out.extend_from_slice(payload);
    out
}

fn entry_hash(key: &[u8], payload: &[u8]) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    h.update(&(key.len() as u64).to_be_bytes());
    h.update(key);
    h.update(payload);
    h.finalize()
}

/// The payload of a stored entry, when its version and hash check.
///
/// # Errors
/// [`Refused`], saying why.
pub fn unframe<'a>(key: &[u8], bytes: &'a [u8]) -> Result<&'a [u8], Refused> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return Err(Refused::Format { key: hex(key) });
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&bytes[..4]);
    let found = u32::from_be_bytes(v);
    if found != STATE_SCHEMA_VERSION {
        return Err(Refused::Version { found });
    }
    let payload = &bytes[FRAME_HEADER_BYTES..];
    if entry_hash(key, payload).as_bytes() != &bytes[4..FRAME_HEADER_BYTES] {
        return Err(Refused::Hash { key: hex(key) });
    }
    Ok(payload)
}

fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(out)
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], payload: &[u8]) -> Result<T, Refused> {
    ciborium::from_reader(payload).map_err(|e| Refused::Payload {
        key: hex(key),
        why: e.to_string(),
    })
}

/// The payload of a meta entry.
///
/// # Errors
/// Only if it does not serialise, which its types never make happen.
pub fn meta_payload(meta: &Meta) -> Result<Vec<u8>, StoreError> {
    encode(meta)
}

/// The meta a payload holds.
///
/// # Errors
/// [`Refused::Payload`] when it does not decode.
pub fn meta_of(payload: &[u8]) -> Result<Meta, Refused> {
    decode(META_KEY, payload)
}

/// The person whose state the entry `key` of [`STATES_SPACE`] is, if it is a
/// person's: the entries holding personal data, which the store may seal with
/// that person's key.
pub fn person_of_state_key(key: &[u8]) -> Option<Uuid> {
    match key {
        [PERSON, id @ ..] => Uuid::from_slice(id).ok(),
        _ => None,
    }
}

/// The key of a contract's or person's state (`None` for other streams).
pub fn state_key(stream: StreamId) -> Option<Vec<u8>> {
    let tag = match stream.kind {
        StreamKind::Contract => CONTRACT,
        StreamKind::Person => PERSON,
        // The bank stream, like the catalogue, has no paged state.
        StreamKind::Catalogue | StreamKind::Campaign | StreamKind::Ledger | StreamKind::Bank => {
            return None
        }
    };
    let mut k = vec![tag];
    k.extend_from_slice(stream.id.as_bytes());
    Some(k)
}

fn index_tag(kind: IndexKind) -> u8 {
    match kind {
        IndexKind::Holder => b'h',
        IndexKind::Payer => b'y',
        IndexKind::FraudParty => b'f',
        IndexKind::ClientNumber => b'n',
    }
}

fn campaign_key(id: Uuid) -> Vec<u8> {
    let mut k = vec![CAMPAIGN];
    k.extend_from_slice(id.as_bytes());
    k
}

/// The entry of a resident state, or `None` (a removal) when the stream holds
/// no state.
fn state_entry(world: &World, stream: StreamId) -> Result<Option<Vec<u8>>, StoreError> {
    let key = state_key(stream).unwrap_or_default();
    let payload = match stream.kind {
        StreamKind::Contract => world
            .contracts
            .get(&stream.id)
            .map(|c| stored::encode(c).map_err(|e| StoreError::Encode(e.to_string())))
            .transpose()?,
        StreamKind::Person => world.persons.get(&stream.id).map(encode).transpose()?,
        StreamKind::Catalogue | StreamKind::Campaign | StreamKind::Ledger | StreamKind::Bank => {
            None
        }
    };
    Ok(payload.map(|p| frame(&key, &p)))
}

/// What the entries a flush writes are said to cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covers {
    /// The world's position: the meta entry naming it is written with them
    /// (the world has folded every event up to it, as a fold in log order
    /// has).
    Position,
    /// No position: the meta entry stays absent. A rebuild a stream at a
    /// time has folded some streams whole and others not at all, which no
    /// position describes; until its last flush, a crash leaves a space that
    /// no open trusts.
    Nothing,
}

/// Writes every dirty state, changed version and new index edge of `world`,
/// with the meta entry of its position when `covers` says so, in one atomic
/// batch (`clear`: the space emptied first, for a rebuild), and marks them
/// clean.
///
/// # Errors
/// A store failure (nothing is marked clean then).
pub async fn flush<S: EventStore>(
    store: &S,
    world: &mut World,
    clear: bool,
    covers: Covers,
) -> Result<(), StoreError> {
    if clear {
        // A clear may be made in steps (`DerivedBatch::clear`): the meta entry
        // goes first, on its own, so that a crash during the clear leaves a
        // space without it, which `load` does not trust and rebuilds.
        let forget = DerivedBatch {
            clear: false,
            entries: vec![(META_KEY.to_vec(), None)],
        };
        store.write_derived_entries(STATES_SPACE, &forget).await?;
    }
    let r = &world.residency;
    let mut entries = Vec::with_capacity(r.dirty.len() + r.dirty_versions.len() + 1);
    for stream in &r.dirty {
        let Some(key) = state_key(*stream) else {
            continue;
        };
        entries.push((key, state_entry(world, *stream)?));
    }
    let campaigns_changed = r
        .dirty_versions
        .iter()
        .any(|s| s.kind == StreamKind::Campaign);
    let (chunks, starts) = chunks::changed(world);
    entries.extend(chunks);
    if campaigns_changed || clear {
        for (id, c) in &world.campaigns {
            let key = campaign_key(*id);
            let value = frame(&key, &encode(c)?);
            entries.push((key, Some(value)));
        }
    }
    write_wakes(world, &mut entries);
    if covers == Covers::Position {
        let meta = Meta {
            position: world.position,
            head_hash: world.head_hash,
            head_recorded_at: world.head_recorded_at,
        };
        entries.push((META_KEY.to_vec(), Some(frame(META_KEY, &encode(&meta)?))));
    }
    store
        .write_derived_entries(STATES_SPACE, &DerivedBatch { clear, entries })
        .await?;
    let r = &mut world.residency;
    r.dirty.clear();
    r.dirty_versions.clear();
    r.new_edges.clear();
    r.chunk_starts.extend(starts);
    Ok(())
}

fn wake_key(id: Uuid) -> Vec<u8> {
    let mut k = vec![WAKE];
    k.extend_from_slice(id.as_bytes());
    k
}

/// The payload of a contract's wake date: the catalogue stream's version and
/// the policy's fingerprint it was computed under (u64 BE each), then the date
/// as days from the common era (i32 BE), absent when the contract has no step.
pub fn wake_payload(catalogue_version: u64, policy: u64, wake: Option<NaiveDate>) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 8 + 4);
    out.extend_from_slice(&catalogue_version.to_be_bytes());
    out.extend_from_slice(&policy.to_be_bytes());
    if let Some(d) = wake {
        out.extend_from_slice(&d.num_days_from_ce().to_be_bytes());
    }
    out
}

/// The date a wake payload holds when it was computed under this catalogue
/// version and policy; `None` otherwise, or when malformed.
fn wake_of(payload: &[u8], catalogue_version: u64, policy: u64) -> Option<Option<NaiveDate>> {
    let (basis, date) = payload.split_at_checked(16)?;
    if basis[..8] != catalogue_version.to_be_bytes() || basis[8..] != policy.to_be_bytes() {
        return None;
    }
    if date.is_empty() {
        return Some(None);
    }
    let days = i32::from_be_bytes(<[u8; 4]>::try_from(date).ok()?);
    NaiveDate::from_num_days_from_ce_opt(days).map(Some)
}

/// The entries of the wake dates that changed since the last flush: written
/// under the catalogue version and policy of the world, or removed when the
/// date is unknown (it is computed again when the contract is next paged in).
fn write_wakes(world: &mut World, entries: &mut Vec<(Vec<u8>, Option<Vec<u8>>)>) {
    let catalogue_version = world.version(StreamId::catalogue());
    let policy = world.wakes.policy;
    for id in world.wakes.take_dirty() {
        let key = wake_key(id);
        let value = world
            .wakes
            .get(id)
            .map(|wake| frame(&key, &wake_payload(catalogue_version, policy, wake)));
        entries.push((key, value));
    }
}

/// Loads the stored wake dates computed under the world's catalogue version
/// and `policy` (the ledger's fingerprint of its policy) into `world`.
///
/// Decision: a wake entry that does not verify, or was computed under another
/// catalogue or policy, is left out rather than refusing the whole space: a
/// contract without a date is due at the next advance, which pages it in and
/// computes its date again, so a missing date costs a page-in, never a step.
///
/// # Errors
/// A store failure.
pub async fn load_wakes<S: EventStore>(
    store: &S,
    world: &mut World,
    policy: u64,
) -> Result<(), StoreError> {
    world.wakes.policy = policy;
    let catalogue_version = world.version(StreamId::catalogue());
    for (key, value) in store.scan_derived_entries(STATES_SPACE, &[WAKE]).await? {
        let Ok(id) = Uuid::from_slice(&key[1..]) else {
            continue;
        };
        let wake = unframe(&key, &value)
            .ok()
            .and_then(|p| wake_of(p, catalogue_version, policy));
        if let Some(wake) = wake {
            world.wakes.load(id, wake);
        }
    }
    Ok(())
}

/// What [`page_in`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagedIn {
    /// States read from the store.
    pub read: usize,
    /// Entries that did not verify, whose state was refolded from its stream.
    pub refolded: usize,
}

/// Reads the states of `streams` that are missing from `world` (see
/// [`World::is_missing`]) from the store. An entry that does not verify (hash,
/// version, payload) is never trusted: a contract's or person's state depends
/// on its own stream only, so it is refolded from that stream alone, and
/// marked dirty so that the next flush writes it again.
///
/// # Errors
/// A store failure or a corrupt record of the log.
pub async fn page_in<S: EventStore>(
    store: &S,
    world: &mut World,
    streams: &BTreeSet<StreamId>,
) -> Result<PagedIn, StoreError> {
    let missing: Vec<StreamId> = streams
        .iter()
        .copied()
        .filter(|s| world.is_missing(*s))
        .collect();
    let mut done = PagedIn::default();
    for chunk in missing.chunks(PAGE_IN_KEYS_MAX) {
        let keys: Vec<Vec<u8>> = chunk
            .iter()
            .map(|s| state_key(*s).unwrap_or_default())
            .collect();
        let values = store.read_derived_entries(STATES_SPACE, &keys).await?;
        for ((stream, key), value) in chunk.iter().zip(&keys).zip(values) {
            let decoded = match &value {
                None => Ok(None),
                Some(bytes) => unframe(key, bytes).and_then(|p| decode_state(*stream, key, p)),
            };
            match decoded {
                Ok(state) => {
                    world.insert_paged(*stream, state);
                    done.read += 1;
                }
                Err(_) => {
                    let version = world.version(*stream);
                    let events = store.read_stream(*stream, 1..=version).await?;
                    world.refold_state(*stream, &events);
                    world.residency.dirty.insert(*stream);
                    done.refolded += 1;
                }
            }
        }
    }
    Ok(done)
}

fn decode_state(
    stream: StreamId,
    key: &[u8],
    payload: &[u8],
) -> Result<Option<PagedState>, Refused> {
    Ok(Some(match stream.kind {
        StreamKind::Contract => {
            PagedState::Contract(Box::new(stored::decode(payload).map_err(|e| {
                Refused::Payload {
                    key: hex(key),
                    why: e.to_string(),
                }
            })?))
        }
        StreamKind::Person => PagedState::Person(Box::new(decode(key, payload)?)),
        StreamKind::Catalogue | StreamKind::Campaign | StreamKind::Ledger | StreamKind::Bank => {
            return Ok(None)
        }
    }))
}

/// When `world` holds more than `limit` states: flushes every dirty one (the
/// caller has made the world's position durable: no import batch pending;
/// `covers` as [`flush`]), then drops the least recently used down to
/// [`STATE_CACHE_LOW_WATER_PERCENT`] of the limit. Returns whether it evicted.
///
/// Decision: "recently used" is when a state was last paged in or changed,
/// not every read of it (a read through `&World` cannot update it without a
/// lock on every access); a state a command reads is paged in again when it
/// was dropped, which costs a read, never a wrong judgment.
///
/// # Errors
/// A store failure.
pub async fn evict_if_over<S: EventStore>(
    store: &S,
    world: &mut World,
    limit: usize,
    covers: Covers,
) -> Result<bool, StoreError> {
    if world.resident_states() <= limit {
        return Ok(false);
    }
    flush(store, world, false, covers).await?;
    let low = limit / 100 * STATE_CACHE_LOW_WATER_PERCENT
        + limit % 100 * STATE_CACHE_LOW_WATER_PERCENT / 100;
    let resident = world
        .contracts
        .keys()
        .map(|id| StreamId::contract(*id))
        .chain(world.persons.keys().map(|id| StreamId::person(*id)))
        .chain(world.residency.stateless.iter().copied());
    let mut by_age: Vec<(u64, StreamId)> = resident
        .map(|s| {
            let used = world.residency.last_used.get(&s).copied().unwrap_or(0);
            (used, s)
        })
        .collect();
    by_age.sort_unstable();
    let excess = by_age.len().saturating_sub(low);
    for (_, stream) in by_age.into_iter().take(excess) {
        world.evict(stream);
    }
    Ok(true)
}

/// The stored states' world, checked against the store: its meta verifies,
/// the position it covers is in the log and the log's record there has the
/// hash it names; its versions, index edges and campaigns loaded and verified
/// (every state stays in the store until paged in); its catalogue folded from
/// the catalogue stream as of that position. `Ok(None)` when there is no meta;
/// `Ok(Some(Err))` when anything does not verify (the caller rebuilds).
///
/// # Errors
/// A storage failure or a corrupt record of the log.
pub async fn load<S: EventStore>(store: &S) -> Result<Option<Result<World, Refused>>, StoreError> {
    let meta = store
        .read_derived_entries(STATES_SPACE, &[META_KEY.to_vec()])
        .await?;
    let Some(Some(bytes)) = meta.into_iter().next() else {
        return Ok(None);
    };
    let meta: Meta = match unframe(META_KEY, &bytes).and_then(|p| decode(META_KEY, p)) {
        Ok(m) => m,
        Err(r) => return Ok(Some(Err(r))),
    };
    if let Err(r) = check_against_log(store, &meta).await? {
        return Ok(Some(Err(r)));
    }
    let mut world = World::new();
    world.residency.paged = true;
    world.position = meta.position;
    world.head_hash = meta.head_hash;
    world.head_recorded_at = meta.head_recorded_at;
    if let Err(r) = load_keyed(store, &mut world).await? {
        return Ok(Some(Err(r)));
    }
    fold_catalogue(store, &mut world).await?;
    Ok(Some(Ok(world)))
}

async fn check_against_log<S: EventStore>(
    store: &S,
    meta: &Meta,
) -> Result<Result<(), Refused>, StoreError> {
    let head = store.head().await?.position;
    if meta.position > head {
        return Ok(Err(Refused::BeyondHead {
            position: meta.position,
            head,
        }));
    }
    let found = if meta.position > 0 {
        let mut at = store.read_all(meta.position);
        next_envelope(&mut at)
            .await
            .transpose()?
            .map(|e| (e.position, e.hash))
    } else {
        Some((0, Hash::GENESIS))
    };
    Ok(if found == Some((meta.position, meta.head_hash)) {
        Ok(())
    } else {
        Err(Refused::OtherLog {
            position: meta.position,
        })
    })
}

/// Loads the versions, the index edges and the campaigns into `world`.
async fn load_keyed<S: EventStore>(
    store: &S,
    world: &mut World,
) -> Result<Result<(), Refused>, StoreError> {
    let streams = store
        .scan_derived_entries(STATES_SPACE, &[STREAMS_CHUNK])
        .await?;
    if let Err(r) = chunks::load_space(world, &[STREAMS_CHUNK], &streams) {
        return Ok(Err(r));
    }
    drop(streams);
    for kind in chunks::INDEXES {
        let prefix = [EDGES_CHUNK, index_tag(kind)];
        let edges = store.scan_derived_entries(STATES_SPACE, &prefix).await?;
        if let Err(r) = chunks::load_space(world, &prefix, &edges) {
            return Ok(Err(r));
        }
    }
    for (key, value) in store
        .scan_derived_entries(STATES_SPACE, &[CAMPAIGN])
        .await?
    {
        let c: CampaignPublished = match unframe(&key, &value).and_then(|p| decode(&key, p)) {
            Ok(c) => c,
            Err(r) => return Ok(Err(r)),
        };
        let Ok(id) = Uuid::from_slice(&key[1..]) else {
            return Ok(Err(malformed(&key)));
        };
        world.campaigns.insert(id, c);
    }
    Ok(Ok(()))
}

fn malformed(key: &[u8]) -> Refused {
    Refused::Payload {
        key: hex(key),
        why: "malformed key".into(),
    }
}

/// Folds the catalogue stream's events up to the world's version of it,
/// skipping the annulled ones (as the world's rebuild of a stream does).
async fn fold_catalogue<S: EventStore>(store: &S, world: &mut World) -> Result<(), StoreError> {
    let version = world.version(StreamId::catalogue());
    let events = store
        .read_stream(StreamId::catalogue(), 1..=version)
        .await?;
    let annulled: BTreeSet<Uuid> = events
        .iter()
        .filter_map(|e| e.event.annulled_event_id())
        .collect();
    for e in events.iter().filter(|e| !annulled.contains(&e.event_id)) {
        world.catalogue.apply(&e.event);
    }
    Ok(())
}

/// An empty paged world, and the derived space emptied to match it (meta at
/// position 0 when `covers` is [`Covers::Position`], none otherwise): the
/// start of a rebuild from the log.
///
/// # Errors
/// A store failure.
pub async fn start_rebuild<S: EventStore>(store: &S, covers: Covers) -> Result<World, StoreError> {
    let mut world = World::new();
    world.residency.paged = true;
    // Every state of this world will change through `apply_live`, which keeps
    // the open items; a world loaded from stored states does not know them.
    world.open_items.mark_known();
    flush(store, &mut world, true, covers).await?;
    Ok(world)
}

/// The contract and person streams of `world` after `after` (exclusive; from
/// the first when `None`), at most `n`, in stream order: the chunks a
/// whole-ledger walk pages in one after the other.
pub fn state_streams_after(world: &World, after: Option<StreamId>, n: usize) -> Vec<StreamId> {
    use std::ops::Bound;
    let from = after.map_or(Bound::Unbounded, Bound::Excluded);
    world
        .versions
        .range((from, Bound::Unbounded))
        .map(|(s, _)| *s)
        .filter(|s| matches!(s.kind, StreamKind::Contract | StreamKind::Person))
        .take(n)
        .collect()
}

/// Pages in every state when they all fit in `limit`: a ledger within its
/// cache then holds its whole world from the start, as it did before states
/// were paged, so that readers of the world that do not page (the CLI's and
/// the service's reads) see every state.
///
/// # Errors
/// A store failure or a corrupt record.
pub async fn warm<S: EventStore>(
    store: &S,
    world: &mut World,
    limit: usize,
) -> Result<(), StoreError> {
    let states = world
        .versions
        .keys()
        .filter(|s| matches!(s.kind, StreamKind::Contract | StreamKind::Person))
        .count();
    if states > limit {
        return Ok(());
    }
    let mut after = None;
    loop {
        let chunk = state_streams_after(world, after, PAGE_IN_KEYS_MAX);
        let Some(last) = chunk.last() else { break };
        after = Some(*last);
        page_in(store, world, &chunk.into_iter().collect()).await?;
    }
    Ok(())
}
