//! The on-disk layout: one sled tree, keys with a one-byte prefix, fixed-width
//! big-endian integers so that byte order is numeric order.
//!
//! | key                                   | value                                   |
//! |---------------------------------------|-----------------------------------------|
//! | `L` ‖ position (u64 BE)               | the stored record (see [`crate::frame`]) |
//! | `S` ‖ stream (17 bytes) ‖ seq (u64 BE)| position (u64 BE) (formats 1 to 3)      |
//! | `S` ‖ stream (17 bytes) ‖ block (u64 BE) | positions of a block of sequences (format 4, see [`crate::stream_index`]) |
//! | `I` ‖ idempotency key (UTF-8)         | digest (32) ‖ first position (u64 BE) ‖ event count (u32 BE) |
//! | `M` ‖ name                            | meta data (format marker)               |
//! | `G` ‖ group (u64 BE)                  | Merkle tree nodes `group × 64` onwards, 32 bytes each |
//! | `T` ‖ stored hash index (u64 BE)      | the earlier layout of the Merkle tree: one node a key, converted to `G` on open |
//! | `D` ‖ …                               | reserved: derived data (snapshots, caches) |
//!
//! The layout of keys is the same in formats 1 to 3 (see [`crate::format`]);
//! only the stored record differs. Format 4 keeps the stream index in blocks
//! under keys of the same width. Everything lives in one tree so that a whole
//! group commit is one atomic sled batch (see `writer::Writer::apply`), which
//! is why the Merkle tree's nodes, written in the same batch as the records
//! they cover, get a prefix of this tree rather than a tree of their own.
//! Persisted: never renumber a prefix or change a width.

use navigo_events_schema::StreamId;

/// The sled tree holding the ledger.
pub const TREE_NAME: &[u8] = b"navigo-ledger";
/// Prefix of the global log.
pub const LOG: u8 = b'L';
/// Prefix of the stream index.
pub const STREAM: u8 = b'S';
/// Prefix of the idempotency keys.
pub const IDEM: u8 = b'I';
/// Prefix of the Merkle tree over the log: `G ‖ group` → the SHA-256 of the
/// nodes (see `navigo_merkle`) of stored hash indexes `group ×`
/// [`MERKLE_NODES_PER_GROUP`] onwards, concatenated in index order; a group
/// is rewritten by each batch that adds nodes to it until it is full.
///
/// Decision: nodes are grouped because sled's cost is per key: one key a
/// node (about two a record) made the tree halve the append rate, while
/// hashing was 4 % of the time (profiled). Nodes are stored in index order as
/// their records are appended, so a batch's nodes fill one or two groups.
pub const MERKLE: u8 = b'G';
/// The nodes of one group of the Merkle tree: 64 × 32 bytes, so that a
/// batch rewrites at most 2 KiB of its last, partial group.
pub const MERKLE_NODES_PER_GROUP: u64 = 64;
/// Prefix of the Merkle tree as ledgers before the grouping stored it:
/// `T ‖ stored hash index` → one node. `open` converts them to groups.
pub const MERKLE_PER_NODE: u8 = b'T';
/// Prefix reserved, unused: derived data (the ledger's snapshots) lives in a
/// sled tree of its own (`crate::derived`), apart from the log. `verify`
/// ignores the prefix.
pub const DERIVED: u8 = b'D';
/// Key of the format marker inside the tree; its value is
/// [`crate::format::Format::tree_marker`].
pub const FORMAT_KEY: &[u8] = b"Mformat";
/// Name of the marker file `init` writes in the data directory (its content is
/// [`crate::format::Format::marker_content`]). `open` refuses a directory
/// without it before sled touches anything.
pub const MARKER_FILE: &str = "NAVIGO-LEDGER";

/// Length of a log key.
pub const LOG_KEY_LEN: usize = 9;
/// Length of a stream index key.
pub const STREAM_KEY_LEN: usize = 1 + StreamId::KEY_LEN + 8;
/// Length of an idempotency value.
pub const IDEM_VALUE_LEN: usize = 32 + 8 + 4;

/// `L ‖ position`.
pub fn log_key(position: u64) -> [u8; LOG_KEY_LEN] {
    let mut k = [0u8; LOG_KEY_LEN];
    k[0] = LOG;
    k[1..].copy_from_slice(&position.to_be_bytes());
    k
}

/// `G ‖ group`: the key of the group holding the node of stored hash index
/// `group × MERKLE_NODES_PER_GROUP` onwards.
pub fn merkle_group_key(group: u64) -> [u8; LOG_KEY_LEN] {
    let mut k = [0u8; LOG_KEY_LEN];
    k[0] = MERKLE;
    k[1..].copy_from_slice(&group.to_be_bytes());
    k
}

/// `T ‖ stored hash index`: one node, as ledgers before the grouping stored it.
pub fn merkle_per_node_key(index: u64) -> [u8; LOG_KEY_LEN] {
    let mut k = [0u8; LOG_KEY_LEN];
    k[0] = MERKLE_PER_NODE;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

/// The position of a log key, if it is one.
pub fn log_key_position(key: &[u8]) -> Option<u64> {
    if key.len() != LOG_KEY_LEN || key[0] != LOG {
        return None;
    }
    be_u64(&key[1..])
}

/// `S ‖ stream`: the prefix of every index entry of a stream.
pub fn stream_prefix(stream: &StreamId) -> [u8; 1 + StreamId::KEY_LEN] {
    let mut k = [0u8; 1 + StreamId::KEY_LEN];
    k[0] = STREAM;
    k[1..].copy_from_slice(&stream.key_bytes());
    k
}

/// `S ‖ stream ‖ n`: the index entry of sequence `n` (formats 1 to 3), or
/// of block `n` (format 4).
pub fn stream_key(stream: &StreamId, seq: u64) -> [u8; STREAM_KEY_LEN] {
    let mut k = [0u8; STREAM_KEY_LEN];
    k[..1 + StreamId::KEY_LEN].copy_from_slice(&stream_prefix(stream));
    k[1 + StreamId::KEY_LEN..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The stream and the sequence (formats 1 to 3) or block (format 4) of a
/// stream index key.
pub fn parse_stream_key(key: &[u8]) -> Option<(StreamId, u64)> {
    if key.len() != STREAM_KEY_LEN || key[0] != STREAM {
        return None;
    }
    let stream = StreamId::from_key_bytes(&key[1..1 + StreamId::KEY_LEN])?;
    Some((stream, be_u64(&key[1 + StreamId::KEY_LEN..])?))
}

/// `I ‖ key`.
pub fn idem_key(key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(IDEM);
    k.extend_from_slice(key.as_bytes());
    k
}

/// What an idempotency key recorded: the content digest of the first append and
/// its positions, which are contiguous (a request's events are assigned
/// consecutive positions inside one group commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdemEntry {
    /// Digest of the append's content (see `writer::content_digest`).
    pub digest: [u8; 32],
    /// Position of its first event.
    pub first: u64,
    /// Number of events.
    pub count: u32,
}

impl IdemEntry {
    /// The stored value.
    pub fn encode(&self) -> [u8; IDEM_VALUE_LEN] {
        let mut v = [0u8; IDEM_VALUE_LEN];
        v[..32].copy_from_slice(&self.digest);
        v[32..40].copy_from_slice(&self.first.to_be_bytes());
        v[40..].copy_from_slice(&self.count.to_be_bytes());
        v
    }
    /// Parses a stored value.
    pub fn decode(v: &[u8]) -> Option<IdemEntry> {
        if v.len() != IDEM_VALUE_LEN {
            return None;
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&v[..32]);
        let first = be_u64(&v[32..40])?;
        let count = u32::from_be_bytes(v[40..44].try_into().ok()?);
        Some(IdemEntry {
            digest,
            first,
            count,
        })
    }
    /// The positions.
    pub fn positions(&self) -> Vec<u64> {
        (0..u64::from(self.count)).map(|i| self.first + i).collect()
    }
}

/// A big-endian u64 from exactly 8 bytes.
pub fn be_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn keys_sort_numerically_and_round_trip() {
        assert!(log_key(255) < log_key(256));
        assert_eq!(log_key_position(&log_key(u64::MAX)), Some(u64::MAX));
        let s = StreamId::contract(Uuid::from_u128(9));
        assert!(stream_key(&s, 255) < stream_key(&s, 256));
        assert_eq!(parse_stream_key(&stream_key(&s, 7)), Some((s, 7)));
        let e = IdemEntry {
            digest: [3; 32],
            first: 10,
            count: 3,
        };
        assert_eq!(IdemEntry::decode(&e.encode()), Some(e));
        assert_eq!(e.positions(), vec![10, 11, 12]);
    }
}
