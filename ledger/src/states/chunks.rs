//! The chunks of stream rows and index edge rows (see the module above for
//! their keys and rows): which chunks a flush rewrites, what each holds, and
//! how they are read back at open.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use navigo_events_schema::StreamId;
use navigo_rules::idset::IdSet;
use navigo_rules::world::{IndexKind, World};
use uuid::Uuid;

use super::{
    frame, hex, index_tag, unframe, Refused, CHUNK_ROWS_MAX, EDGES_CHUNK, STREAMS_CHUNK,
    STREAM_ROW_BYTES,
};

/// The indexes whose edges are stored in chunks, one space each.
pub(super) const INDEXES: [IndexKind; 4] = [
    IndexKind::Holder,
    IndexKind::Payer,
    IndexKind::FraudParty,
    IndexKind::ClientNumber,
];

/// Entries of a keyed derived batch: key, and value (`None`: a removal).
type Entries = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Bytes of an edge row besides its index key: the key's length, the id.
const EDGE_ROW_FIXED_BYTES: usize = 1 + 16;

/// A space of chunks: the stream rows, or one index's edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Space {
    Streams,
    Edges(IndexKind),
}

impl Space {
    fn prefix(self) -> Vec<u8> {
        match self {
            Space::Streams => vec![STREAMS_CHUNK],
            Space::Edges(kind) => vec![EDGES_CHUNK, index_tag(kind)],
        }
    }

    fn of_prefix(prefix: &[u8]) -> Option<Space> {
        match prefix {
            [STREAMS_CHUNK] => Some(Space::Streams),
            [EDGES_CHUNK, tag] => INDEXES
                .into_iter()
                .find(|k| index_tag(*k) == *tag)
                .map(Space::Edges),
            _ => None,
        }
    }
}

/// One group of rows under one row key (a stream's row, or every edge of one
/// index key): a chunk is never cut inside a group, so that a chunk's range of
/// keys says which rows it holds.
struct Group {
    key: Vec<u8>,
    rows: usize,
    bytes: Vec<u8>,
}

/// The fixed-width row of a stream: its key and its version.
pub(super) fn stream_row(stream: StreamId, version: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(&stream.key_bytes());
    out.extend_from_slice(&version.to_be_bytes());
}

fn edge_row(key: &[u8], id: Uuid, out: &mut Vec<u8>) {
    // A client number is at most 20 bytes and an id 16: the length fits a u8.
    out.push(u8::try_from(key.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(key);
    out.extend_from_slice(id.as_bytes());
}

/// The entry key of the chunk of `space` that a row keyed `key` falls in: the
/// greatest start not after it (the space's first chunk starts at its bare
/// prefix).
fn chunk_of(starts: &BTreeSet<Vec<u8>>, space: Space, key: &[u8]) -> Vec<u8> {
    let prefix = space.prefix();
    let mut full = prefix.clone();
    full.extend_from_slice(key);
    starts
        .range(..=full)
        .next_back()
        .filter(|s| s.starts_with(&prefix) && s.len() > prefix.len())
        .cloned()
        .unwrap_or(prefix)
}

/// The start of the chunk after `start` in its space, as a row key.
fn next_start(starts: &BTreeSet<Vec<u8>>, space: Space, start: &[u8]) -> Option<Vec<u8>> {
    let prefix = space.prefix();
    starts
        .range::<[u8], _>((Bound::Excluded(start), Bound::Unbounded))
        .next()
        .filter(|s| s.starts_with(&prefix))
        .map(|s| s[prefix.len()..].to_vec())
}

/// The entries of every chunk the world's changed versions and new edges fall
/// in, rebuilt from the world (split when grown too large), and the chunk
/// starts the splits added.
pub(super) fn changed(world: &World) -> (Entries, Vec<Vec<u8>>) {
    let r = &world.residency;
    let starts = &r.chunk_starts;
    let mut touched: BTreeSet<(Space, Vec<u8>)> = BTreeSet::new();
    for stream in &r.dirty_versions {
        let chunk = chunk_of(starts, Space::Streams, &stream.key_bytes());
        touched.insert((Space::Streams, chunk));
    }
    for (kind, key, _) in &r.new_edges {
        let space = Space::Edges(*kind);
        touched.insert((space, chunk_of(starts, space, key)));
    }
    let mut entries = Vec::with_capacity(touched.len());
    let mut added = Vec::new();
    for (space, start) in touched {
        let prefix_len = space.prefix().len();
        let next = next_start(starts, space, &start);
        let groups = groups_in(world, space, &start[prefix_len..], next.as_deref());
        for (i, piece) in split(groups).into_iter().enumerate() {
            let key = if i == 0 {
                if !starts.contains(&start) {
                    // A space's first chunk, written for the first time.
                    added.push(start.clone());
                }
                start.clone()
            } else {
                let mut k = space.prefix();
                k.extend_from_slice(&piece.0);
                added.push(k.clone());
                k
            };
            let value = frame(&key, &piece.1);
            entries.push((key, Some(value)));
        }
    }
    (entries, added)
}

/// The groups of rows of `space` whose key is in `[from, to)`, in key order,
/// read from the world (which holds every version and edge).
fn groups_in(world: &World, space: Space, from: &[u8], to: Option<&[u8]>) -> Vec<Group> {
    match space {
        Space::Streams => {
            let lo = StreamId::from_key_bytes(from).map_or(Bound::Unbounded, Bound::Included);
            let hi = to
                .and_then(StreamId::from_key_bytes)
                .map_or(Bound::Unbounded, Bound::Excluded);
            world
                .versions
                .range((lo, hi))
                .map(|(s, v)| {
                    let mut bytes = Vec::with_capacity(STREAM_ROW_BYTES);
                    stream_row(*s, *v, &mut bytes);
                    Group {
                        key: s.key_bytes().to_vec(),
                        rows: 1,
                        bytes,
                    }
                })
                .collect()
        }
        Space::Edges(IndexKind::ClientNumber) => {
            let lo = std::str::from_utf8(from).unwrap_or_default().to_owned();
            let hi = to
                .map(|t| String::from_utf8_lossy(t).into_owned())
                .map_or(Bound::Unbounded, Bound::Excluded);
            let range = world.by_client_number.range((Bound::Included(lo), hi));
            range
                .map(|(k, ids)| edge_group(k.as_bytes(), ids))
                .collect()
        }
        Space::Edges(kind) => {
            let index = uuid_index(world, kind);
            let lo = Uuid::from_slice(from).map_or(Bound::Unbounded, Bound::Included);
            let hi = to
                .and_then(|t| Uuid::from_slice(t).ok())
                .map_or(Bound::Unbounded, Bound::Excluded);
            index
                .range((lo, hi))
                .map(|(k, ids)| edge_group(k.as_bytes(), ids))
                .collect()
        }
    }
}

fn uuid_index(world: &World, kind: IndexKind) -> &BTreeMap<Uuid, IdSet> {
    match kind {
        IndexKind::Holder => &world.by_holder,
        IndexKind::Payer => &world.by_payer,
        // The client numbers are keyed by text (see `groups_in`).
        IndexKind::FraudParty | IndexKind::ClientNumber => &world.by_fraud_party,
    }
}

fn edge_group(key: &[u8], ids: &IdSet) -> Group {
    let mut bytes = Vec::with_capacity(ids.len() * (EDGE_ROW_FIXED_BYTES + key.len()));
    for id in ids {
        edge_row(key, *id, &mut bytes);
    }
    Group {
        key: key.to_vec(),
        rows: ids.len(),
        bytes,
    }
}

/// The chunks `groups` make: one when they hold at most [`CHUNK_ROWS_MAX`]
/// rows, else pieces of about half as many, each cut between two groups;
/// each piece is its first row key and its bytes.
fn split(groups: Vec<Group>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let total: usize = groups.iter().map(|g| g.rows).sum();
    let target = if total > CHUNK_ROWS_MAX {
        CHUNK_ROWS_MAX / 2
    } else {
        usize::MAX
    };
    let mut pieces: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut rows = 0usize;
    for g in groups {
        if pieces.is_empty() || rows >= target {
            pieces.push((g.key, Vec::new()));
            rows = 0;
        }
        rows += g.rows;
        if let Some(last) = pieces.last_mut() {
            last.1.extend_from_slice(&g.bytes);
        }
    }
    if pieces.is_empty() {
        pieces.push((Vec::new(), Vec::new()));
    }
    pieces
}

/// The order every row read must keep: within its chunk's range of keys (from
/// the chunk's start to the next chunk's), and after the row before it.
#[derive(Default)]
struct Order {
    last_key: Vec<u8>,
    last_id: Option<Uuid>,
    started: bool,
}

impl Order {
    /// Whether a row keyed `key` (and `id`, for an edge) keeps the order.
    fn keeps(&mut self, key: &[u8], id: Option<Uuid>, from: &[u8], to: Option<&[u8]>) -> bool {
        let in_range = key >= from && to.is_none_or(|t| key < t);
        let after = !self.started || (self.last_key.as_slice(), self.last_id) < (key, id);
        self.started = true;
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.last_id = id;
        in_range && after
    }
}

/// Reads the chunks of one space (as scanned: entry keys in order) into the
/// world and its chunk starts. Every chunk must verify, and its rows must be
/// sorted and within its range (from its start to the next chunk's); else the
/// whole space is refused.
pub(super) fn load_space(
    world: &mut World,
    prefix: &[u8],
    chunks: &[(Vec<u8>, Vec<u8>)],
) -> Result<(), Refused> {
    let space = Space::of_prefix(prefix).ok_or_else(|| malformed(prefix))?;
    let mut order = Order::default();
    for (i, (key, value)) in chunks.iter().enumerate() {
        let payload = unframe(key, value)?;
        let from = &key[prefix.len()..];
        if !valid_start(space, from) {
            return Err(malformed(key));
        }
        let to = chunks.get(i + 1).map(|(k, _)| &k[prefix.len()..]);
        let mut keeps = |k: &[u8], id: Option<Uuid>| order.keeps(k, id, from, to);
        let read = match space {
            Space::Streams => read_streams_chunk(world, payload, &mut keeps),
            Space::Edges(kind) => read_edges_chunk(world, kind, payload, &mut keeps),
        };
        if read.is_none() {
            return Err(malformed(key));
        }
        world.residency.chunk_starts.insert(key.clone());
    }
    Ok(())
}

/// Whether a chunk's start is a row key of its space (or empty: the space's
/// first chunk), as a flush reads it back to find the chunk's rows.
fn valid_start(space: Space, from: &[u8]) -> bool {
    from.is_empty()
        || match space {
            Space::Streams => {
                StreamId::from_key_bytes(from).is_some() && from.len() == StreamId::KEY_LEN
            }
            Space::Edges(IndexKind::ClientNumber) => std::str::from_utf8(from).is_ok(),
            Space::Edges(_) => from.len() == 16,
        }
}

fn malformed(key: &[u8]) -> Refused {
    Refused::Payload {
        key: hex(key),
        why: "malformed chunk".into(),
    }
}

/// Inserts a stream chunk's versions; `None` when a row is malformed or out
/// of order.
fn read_streams_chunk(
    world: &mut World,
    payload: &[u8],
    keeps: &mut impl FnMut(&[u8], Option<Uuid>) -> bool,
) -> Option<()> {
    if payload.len() % STREAM_ROW_BYTES != 0 {
        return None;
    }
    for row in payload.chunks_exact(STREAM_ROW_BYTES) {
        let (key, version) = row.split_at(StreamId::KEY_LEN);
        let stream = StreamId::from_key_bytes(key)?;
        let version = u64::from_be_bytes(version.try_into().ok()?);
        if !keeps(key, None) {
            return None;
        }
        world.versions.insert(stream, version);
    }
    Some(())
}

/// Inserts an edge chunk's edges; `None` when a row is malformed or out of
/// order.
fn read_edges_chunk(
    world: &mut World,
    kind: IndexKind,
    payload: &[u8],
    keeps: &mut impl FnMut(&[u8], Option<Uuid>) -> bool,
) -> Option<()> {
    let mut rest = payload;
    while let Some((len, tail)) = rest.split_first() {
        let len = usize::from(*len);
        if tail.len() < len + 16 {
            return None;
        }
        let (key, tail) = tail.split_at(len);
        let (id, tail) = tail.split_at(16);
        let id = Uuid::from_slice(id).ok()?;
        if !keeps(key, Some(id)) {
            return None;
        }
        match kind {
            IndexKind::ClientNumber => {
                let number = std::str::from_utf8(key).ok()?;
                let set = world.by_client_number.entry(number.to_owned()).or_default();
                set.insert(id);
            }
            IndexKind::Holder => insert_uuid_edge(&mut world.by_holder, key, id)?,
            IndexKind::Payer => insert_uuid_edge(&mut world.by_payer, key, id)?,
            IndexKind::FraudParty => insert_uuid_edge(&mut world.by_fraud_party, key, id)?,
        }
        rest = tail;
    }
    Some(())
}

fn insert_uuid_edge(index: &mut BTreeMap<Uuid, IdSet>, key: &[u8], id: Uuid) -> Option<()> {
    let key = Uuid::from_slice(key).ok()?;
    index.entry(key).or_default().insert(id);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Applies a flush's chunks to `stored` (the keyed space) as the store
    /// would, and marks the world clean as `flush` does.
    fn flush_into(world: &mut World, stored: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
        let (entries, starts) = changed(world);
        for (k, v) in entries {
            stored.insert(k, v.expect("a chunk is never removed"));
        }
        let r = &mut world.residency;
        r.chunk_starts.extend(starts);
        r.dirty_versions.clear();
        r.new_edges.clear();
    }

    /// The world the stored chunks load into.
    fn load_all(stored: &BTreeMap<Vec<u8>, Vec<u8>>) -> Result<World, Refused> {
        let mut w = World::new();
        let spaces = std::iter::once(Space::Streams).chain(INDEXES.map(Space::Edges));
        for space in spaces {
            let prefix = space.prefix();
            let chunks: Vec<(Vec<u8>, Vec<u8>)> = stored
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            load_space(&mut w, &prefix, &chunks)?;
        }
        Ok(w)
    }

    /// Adds a stream with its version and its edges to `world`, recording
    /// them as changed as the world's fold does.
    fn add(world: &mut World, n: u128, version: u64, holder: u128, number: &str) {
        let id = Uuid::from_u128(n.rotate_left(64));
        let stream = StreamId::contract(id);
        world.versions.insert(stream, version);
        world.residency.dirty_versions.insert(stream);
        let holder = Uuid::from_u128(holder);
        if world.by_holder.entry(holder).or_default().insert(id) {
            let edge = (IndexKind::Holder, holder.as_bytes().to_vec(), id);
            world.residency.new_edges.push(edge);
        }
        let set = world.by_client_number.entry(number.to_owned()).or_default();
        if set.insert(id) {
            let edge = (IndexKind::ClientNumber, number.as_bytes().to_vec(), id);
            world.residency.new_edges.push(edge);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Flushed in steps (chunks rewritten and split as they grow), the
        /// chunks load back into the versions and indexes the world holds,
        /// with the same chunk starts, and no chunk of versions holds more
        /// than `CHUNK_ROWS_MAX` rows.
        #[test]
        fn snapshot_chunks_written_in_steps_load_back_to_the_same_world(
            steps in prop::collection::vec(
                prop::collection::vec((any::<u128>(), 1u64..50, 0u128..40, "[A-Z0-9]{1,3}"), 0..400),
                1..5,
            ),
        ) {
            let mut world = World::new();
            world.residency.paged = true;
            let mut stored = BTreeMap::new();
            for step in &steps {
                for (n, version, holder, number) in step {
                    add(&mut world, *n, *version, *holder, number);
                }
                flush_into(&mut world, &mut stored);
            }
            let loaded = load_all(&stored).expect("the chunks verify");
            prop_assert_eq!(&loaded.versions, &world.versions);
            prop_assert_eq!(&loaded.by_holder, &world.by_holder);
            prop_assert_eq!(&loaded.by_client_number, &world.by_client_number);
            prop_assert_eq!(&loaded.residency.chunk_starts, &world.residency.chunk_starts);
            for (k, v) in &stored {
                if k.starts_with(&[STREAMS_CHUNK]) {
                    let rows = unframe(k, v).expect("verifies").len() / STREAM_ROW_BYTES;
                    prop_assert!(rows <= CHUNK_ROWS_MAX, "{} rows", rows);
                }
            }
        }
    }

    /// A region's worth of streams makes chunks of many rows each, and a
    /// flush of a few changed streams rewrites only the chunks they fall in.
    #[test]
    fn snapshot_chunks_a_flush_rewrites_only_the_chunks_changed() {
        let mut world = World::new();
        world.residency.paged = true;
        let mut stored = BTreeMap::new();
        for n in 0..10_000u128 {
            add(&mut world, n, 3, n / 2, &format!("C{n:08}"));
        }
        flush_into(&mut world, &mut stored);
        let chunks = stored.len();
        let rows = 10_000 * 3;
        // Pieces of half the maximum, but the last of each of the 3 spaces.
        assert!(chunks <= rows / (CHUNK_ROWS_MAX / 2) + 3, "{chunks} chunks");
        assert!(chunks >= rows / CHUNK_ROWS_MAX, "{chunks} chunks");
        // Two streams changed: their version chunk and edge chunks only.
        add(&mut world, 17, 4, 8, "C00000017");
        add(&mut world, 9_000, 4, 4_500, "C00009000");
        let (entries, added) = changed(&world);
        assert!(entries.len() <= 2, "{} chunks rewritten", entries.len());
        assert!(added.is_empty());
    }

    /// A chunk framed as valid (its hash matches) that holds a row of the next
    /// chunk's range is refused, as is one whose start is not a row key: the
    /// whole space is then rebuilt, never half read.
    #[test]
    fn snapshot_chunk_with_a_row_out_of_its_range_is_refused() {
        let mut world = World::new();
        world.residency.paged = true;
        let mut stored = BTreeMap::new();
        for n in 0..1_000u128 {
            add(&mut world, n, 2, n, &format!("C{n:08}"));
        }
        flush_into(&mut world, &mut stored);
        assert!(load_all(&stored).is_ok());
        let streams: Vec<(Vec<u8>, Vec<u8>)> = stored
            .iter()
            .filter(|(k, _)| k.starts_with(&[STREAMS_CHUNK]))
            .map(|(k, v)| (k.clone(), v.clone()))
            .take(2)
            .collect();
        let [(first, a), (second, b)] = &streams[..] else {
            panic!("two chunks of streams");
        };
        // The second chunk's first row moved to the end of the first chunk:
        // every row still in order, but one out of its chunk's range.
        let mut rows = unframe(first, a).unwrap().to_vec();
        let next = unframe(second, b).unwrap();
        rows.extend_from_slice(&next[..STREAM_ROW_BYTES]);
        let mut tampered = stored.clone();
        tampered.insert(first.clone(), frame(first, &rows));
        tampered.insert(second.clone(), frame(second, &next[STREAM_ROW_BYTES..]));
        assert!(matches!(load_all(&tampered), Err(Refused::Payload { .. })));
        // A start that is no stream key, framed as valid.
        let mut tampered = stored.clone();
        let bad = vec![STREAMS_CHUNK, 9, 9];
        tampered.insert(bad.clone(), frame(&bad, &[]));
        assert!(matches!(load_all(&tampered), Err(Refused::Payload { .. })));
    }
}
