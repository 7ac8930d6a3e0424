//! The stream index: the position of each record of a stream, by sequence.
//!
//! Formats 1 to 3 keep one key per record: `S ‖ stream ‖ seq` → position.
//! Format 4 keeps one key per stream and block of [`SEQS_PER_BLOCK`]
//! sequences: `S ‖ stream ‖ block` → the positions of sequences
//! `block × SEQS_PER_BLOCK + 1` onwards, u64 BE each, concatenated in sequence
//! order. A block holds 1 to [`SEQS_PER_BLOCK`] positions, and every block of
//! a stream but its last is full.
//!
//! Decision: sled's memory at open grows with its number of keys, not with
//! their size (it keeps a descriptor of every page resident and splits a leaf
//! past 16 entries: about 28 bytes a key, measured on the 1 M-contract
//! ledger). There the per-record index was a third of the log's keys (23.5 M
//! of 70.5 M). A stream takes 10 to 25 records a year, so most streams fit in
//! one block for years, and the index shrinks to about one key per stream.
//! The price is a read and a rewrite of a stream's last, partial block (at
//! most 512 bytes) by each batch that appends to the stream, done by the
//! applier thread, which applies the batches in order and so finds in the
//! tree every entry before the batch's. Blocks of 64, as the Merkle tree's
//! groups, so that a reader's one-stream read is one key for most streams.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use navigo_events_schema::StreamId;
use navigo_store::StoreError;

use crate::batch::KeyValue;
use crate::format::Format;
use crate::keys::{self, be_u64};
use crate::writer::storage;

/// The sequences of one block of a format-4 stream index.
pub const SEQS_PER_BLOCK: u64 = 64;

/// One entry of the index: the position of a stream's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The stream.
    pub stream: StreamId,
    /// The record's sequence in its stream, from 1.
    pub seq: u64,
    /// The record's position in the log.
    pub position: u64,
}

/// What a scan of the whole index meets: an entry, or a key or value no
/// format writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A well-formed entry.
    Entry(Entry),
    /// A malformed key or value, described.
    Malformed(String),
}

/// The stream index of a ledger of a given format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamIndex {
    blocked: bool,
}

/// The block holding sequence `seq` (from 1).
pub fn block_of(seq: u64) -> u64 {
    seq.saturating_sub(1) / SEQS_PER_BLOCK
}

/// The place of sequence `seq` (from 1) in its block.
fn place_in_block(seq: u64) -> u64 {
    seq.saturating_sub(1) % SEQS_PER_BLOCK
}

fn corrupt(stream: &StreamId, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        position: 0,
        why: format!("stream index of {stream}: {why}"),
    }
}

/// The `(seq, position)` entries of block `block`'s value, or why it is
/// malformed (a block whose sequences would not fit a u64 included: no
/// writer makes one, but a tampered key must not overflow a reader).
fn decode_block(block: u64, value: &[u8]) -> Result<Vec<(u64, u64)>, String> {
    let n = value.len() / 8;
    if value.is_empty() || value.len() % 8 != 0 || n as u64 > SEQS_PER_BLOCK {
        return Err(format!("a block of {} bytes", value.len()));
    }
    if block >= u64::MAX / SEQS_PER_BLOCK {
        return Err(format!("a block numbered {block}"));
    }
    let first = block * SEQS_PER_BLOCK + 1;
    Ok((first..)
        .zip(value.chunks_exact(8).filter_map(be_u64))
        .collect())
}

impl StreamIndex {
    /// The index of a ledger of `format`.
    pub fn of(format: Format) -> StreamIndex {
        StreamIndex {
            blocked: format.stream_blocks(),
        }
    }

    /// The entries of `stream` whose sequences are in `range`, in sequence
    /// order, as `(seq, position)`.
    ///
    /// # Errors
    /// A storage failure or a malformed key or value.
    pub fn entries<'t>(
        self,
        tree: &'t sled::Tree,
        stream: StreamId,
        range: RangeInclusive<u64>,
    ) -> Box<dyn Iterator<Item = Result<(u64, u64), StoreError>> + 't> {
        let (start, end) = (*range.start(), *range.end());
        // A key per record is keyed by its sequence, a block by its number.
        let key_of = |seq| {
            let n = if self.blocked { block_of(seq) } else { seq };
            keys::stream_key(&stream, n)
        };
        Box::new(
            tree.range(key_of(start)..=key_of(end))
                .flat_map(move |item| match self.stored(item) {
                    Ok(v) => v.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                })
                .filter(move |r| r.as_ref().map_or(true, |(q, _)| (start..=end).contains(q))),
        )
    }

    /// The last entry of `stream` at a position at or below `committed`, as
    /// `(seq, position)`: the stream's version as of that position.
    ///
    /// # Errors
    /// A storage failure or a malformed key or value.
    pub fn last_at_or_below(
        self,
        tree: &sled::Tree,
        stream: &StreamId,
        committed: u64,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        for item in tree.scan_prefix(keys::stream_prefix(stream)).rev() {
            let entries = self.stored(item)?;
            if let Some(last) = entries.into_iter().rev().find(|(_, p)| *p <= committed) {
                return Ok(Some(last));
            }
        }
        Ok(None)
    }

    /// The position the index holds for one sequence of a stream.
    ///
    /// # Errors
    /// A storage failure or a malformed value.
    pub fn position(
        self,
        tree: &sled::Tree,
        stream: &StreamId,
        seq: u64,
    ) -> Result<Option<u64>, StoreError> {
        if seq == 0 {
            return Ok(None);
        }
        if !self.blocked {
            let v = tree.get(keys::stream_key(stream, seq)).map_err(storage)?;
            return Ok(v.as_deref().and_then(be_u64));
        }
        let Some(v) = tree
            .get(keys::stream_key(stream, block_of(seq)))
            .map_err(storage)?
        else {
            return Ok(None);
        };
        let entries = decode_block(block_of(seq), &v).map_err(|why| corrupt(stream, why))?;
        let at = place_in_block(seq) as usize;
        Ok(entries.get(at).map(|(_, position)| *position))
    }

    /// Every entry of the index in key order, or what is malformed.
    pub fn all(self, tree: &sled::Tree) -> impl Iterator<Item = Result<Item, StoreError>> + '_ {
        tree.scan_prefix([keys::STREAM])
            .flat_map(move |item| match item {
                Err(e) => vec![Err(storage(e))],
                Ok((k, v)) => self.items(&k, &v).into_iter().map(Ok).collect::<Vec<_>>(),
            })
    }

    /// The entries of one stored key and value.
    fn items(self, k: &[u8], v: &[u8]) -> Vec<Item> {
        match self.decode(k, v) {
            Ok((stream, entries)) => entries
                .into_iter()
                .map(|(seq, position)| {
                    Item::Entry(Entry {
                        stream,
                        seq,
                        position,
                    })
                })
                .collect(),
            Err(why) => vec![Item::Malformed(why)],
        }
    }

    /// The `(seq, position)` entries of one key and value read from the
    /// tree: a storage failure or a malformed entry is an error.
    fn stored(
        self,
        item: sled::Result<(sled::IVec, sled::IVec)>,
    ) -> Result<Vec<(u64, u64)>, StoreError> {
        let (k, v) = item.map_err(storage)?;
        self.decode(&k, &v)
            .map(|(_, entries)| entries)
            .map_err(|why| StoreError::Corrupt { position: 0, why })
    }

    /// The stream and `(seq, position)` entries of one stored key and value
    /// in this index's layout, or why they are malformed: the one decoder of
    /// both layouts.
    fn decode(self, k: &[u8], v: &[u8]) -> Result<(StreamId, Vec<(u64, u64)>), String> {
        let (stream, n) = keys::parse_stream_key(k)
            .ok_or_else(|| format!("malformed stream index key {}", hex::encode(k)))?;
        if !self.blocked {
            let position = be_u64(v)
                .ok_or_else(|| format!("malformed stream index value of {stream} seq {n}"))?;
            return Ok((stream, vec![(n, position)]));
        }
        let entries = decode_block(n, v)
            .map_err(|why| format!("stream index of {stream} block {n}: {why}"))?;
        Ok((stream, entries))
    }

    /// Turns the per-record index entries of a batch (`S ‖ stream ‖ seq` →
    /// position, as the writer makes them) into this format's writes: left as
    /// they are in formats 1 to 3; in format 4, each stream's entries merged
    /// into its blocks, the stream's last block read from the tree and
    /// rewritten when the batch continues it.
    ///
    /// The tree must hold every entry of the stream before the batch's (the
    /// applier applies the batches in order): a partial block with another
    /// number of entries is corrupt.
    ///
    /// # Errors
    /// A storage failure, a malformed entry, or a block that does not end
    /// where the batch's entries begin.
    pub fn into_writes(
        self,
        tree: &sled::Tree,
        batch: &mut Vec<KeyValue>,
    ) -> Result<(), StoreError> {
        if !self.blocked {
            return Ok(());
        }
        let mut streams: BTreeMap<StreamId, Vec<(u64, u64)>> = BTreeMap::new();
        let mut malformed = None;
        batch.retain(|(k, v)| {
            if k.first() != Some(&keys::STREAM) {
                return true;
            }
            match (keys::parse_stream_key(k), be_u64(v)) {
                (Some((stream, seq)), Some(position)) => {
                    streams.entry(stream).or_default().push((seq, position));
                }
                _ => malformed = Some(hex::encode(k)),
            }
            false
        });
        if let Some(k) = malformed {
            return Err(StoreError::Encode(format!("a malformed index entry {k}")));
        }
        for (stream, entries) in streams {
            batch.extend(blocks_continued(tree, &stream, &entries)?);
        }
        Ok(())
    }
}

/// The writes of the blocks that `entries` (consecutive sequences of
/// `stream`, ascending) fill, the first continuing the stream's last block in
/// the tree when it is partial.
fn blocks_continued(
    tree: &sled::Tree,
    stream: &StreamId,
    entries: &[(u64, u64)],
) -> Result<Vec<KeyValue>, StoreError> {
    let Some(&(first, _)) = entries.first() else {
        return Ok(Vec::new());
    };
    if first == 0
        || entries
            .windows(2)
            .any(|w| w[0].0.checked_add(1) != Some(w[1].0))
    {
        return Err(corrupt(
            stream,
            "a batch's sequences are not consecutive from 1",
        ));
    }
    let before = place_in_block(first);
    let mut value = Vec::new();
    if before > 0 {
        let key = keys::stream_key(stream, block_of(first));
        value = tree
            .get(key)
            .map_err(storage)?
            .map(|v| v.to_vec())
            .unwrap_or_default();
        if value.len() as u64 != before * 8 {
            return Err(corrupt(
                stream,
                format!(
                    "block {} holds {} bytes where sequence {first} follows {before} entries",
                    block_of(first),
                    value.len()
                ),
            ));
        }
    }
    let mut writes = Vec::new();
    let mut block = block_of(first);
    for &(seq, position) in entries {
        if block_of(seq) != block {
            writes.push((
                keys::stream_key(stream, block).to_vec(),
                std::mem::take(&mut value),
            ));
            block = block_of(seq);
        }
        value.extend_from_slice(&position.to_be_bytes());
    }
    writes.push((keys::stream_key(stream, block).to_vec(), value));
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn temp_tree() -> sled::Tree {
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.open_tree(keys::TREE_NAME).unwrap()
    }

    fn apply(index: StreamIndex, tree: &sled::Tree, entries: &[(StreamId, u64, u64)]) {
        let mut batch: Vec<(Vec<u8>, Vec<u8>)> = entries
            .iter()
            .map(|(s, q, p)| (keys::stream_key(s, *q).to_vec(), p.to_be_bytes().to_vec()))
            .collect();
        index.into_writes(tree, &mut batch).unwrap();
        let mut b = sled::Batch::default();
        for (k, v) in batch {
            b.insert(k, v);
        }
        tree.apply_batch(b).unwrap();
    }

    proptest::proptest! {
        /// Whatever the batches' cut, a format-4 index answers every question
        /// as the per-record index of format 3 does.
        #[test]
        fn stream_index_in_blocks_answers_as_the_index_per_record(
            lens in proptest::collection::vec(1usize..40, 1..12),
            streams in 1u128..4,
        ) {
            let (blocked, flat) = (StreamIndex::of(Format::V4), StreamIndex::of(Format::V3));
            let (bt, ft) = (temp_tree(), temp_tree());
            let ids: Vec<StreamId> = (0..streams).map(|i| StreamId::contract(Uuid::from_u128(i))).collect();
            let (mut seqs, mut position) = (vec![0u64; ids.len()], 0u64);
            for (i, len) in lens.iter().enumerate() {
                let mut batch = Vec::new();
                for j in 0..*len * 5 {
                    let s = (i + j / 5) % ids.len();
                    seqs[s] += 1;
                    position += 1;
                    batch.push((ids[s], seqs[s], position));
                }
                apply(blocked, &bt, &batch);
                apply(flat, &ft, &batch);
            }
            for s in &ids {
                for committed in [0, position / 3, position / 2, position] {
                    proptest::prop_assert_eq!(
                        blocked.last_at_or_below(&bt, s, committed).unwrap(),
                        flat.last_at_or_below(&ft, s, committed).unwrap()
                    );
                }
                for (a, b) in [(1, 1), (1, 64), (2, 70), (60, 200), (64, 65), (1, u64::MAX)] {
                    let x: Vec<_> = blocked.entries(&bt, *s, a..=b).collect::<Result<_, _>>().unwrap();
                    let y: Vec<_> = flat.entries(&ft, *s, a..=b).collect::<Result<_, _>>().unwrap();
                    proptest::prop_assert_eq!(x, y);
                }
                for q in [1, 63, 64, 65, 129, 1000] {
                    proptest::prop_assert_eq!(
                        blocked.position(&bt, s, q).unwrap(),
                        flat.position(&ft, s, q).unwrap()
                    );
                }
            }
            let x: Vec<_> = blocked.all(&bt).collect::<Result<_, _>>().unwrap();
            let y: Vec<_> = flat.all(&ft).collect::<Result<_, _>>().unwrap();
            proptest::prop_assert_eq!(x, y);
            let keys = bt.scan_prefix([keys::STREAM]).count() as u64;
            let most = seqs.iter().map(|n| n.div_ceil(SEQS_PER_BLOCK)).sum::<u64>();
            proptest::prop_assert_eq!(keys, most);
        }
    }

    #[test]
    fn stream_index_tampered_keys_and_sequence_zero_are_malformed_not_a_panic() {
        let index = StreamIndex::of(Format::V4);
        let tree = temp_tree();
        let s = StreamId::contract(Uuid::from_u128(1));
        apply(index, &tree, &[(s, 1, 1)]);
        assert_eq!(index.position(&tree, &s, 0).unwrap(), None);
        // The last block a range up to u64::MAX reaches, whose sequences
        // would overflow.
        let block = u64::MAX / SEQS_PER_BLOCK;
        tree.insert(keys::stream_key(&s, block), 7u64.to_be_bytes().to_vec())
            .unwrap();
        let items: Vec<_> = index.all(&tree).collect::<Result<_, _>>().unwrap();
        assert!(
            matches!(&items[1], Item::Malformed(why) if why.contains("numbered")),
            "{items:?}"
        );
        assert!(index.entries(&tree, s, 1..=u64::MAX).any(|r| r.is_err()));
        assert!(index.last_at_or_below(&tree, &s, 9).is_err());
    }

    #[test]
    fn stream_index_block_that_does_not_end_where_the_batch_begins_is_refused() {
        let index = StreamIndex::of(Format::V4);
        let tree = temp_tree();
        let s = StreamId::contract(Uuid::from_u128(1));
        apply(index, &tree, &[(s, 1, 1), (s, 2, 2)]);
        let mut batch = vec![(
            keys::stream_key(&s, 4).to_vec(),
            4u64.to_be_bytes().to_vec(),
        )];
        let err = index.into_writes(&tree, &mut batch).unwrap_err();
        assert!(
            err.to_string().contains("sequence 4 follows 3 entries"),
            "{err}"
        );
    }
}
