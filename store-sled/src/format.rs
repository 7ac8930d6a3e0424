//! Store format versions: what a ledger directory says it is, and the sled
//! settings and record framing that go with it.
//!
//! A ledger's format is chosen when it is created and never changes: the marker
//! file ([`keys::MARKER_FILE`]) and the format key inside the tree
//! ([`keys::FORMAT_KEY`]) both name it, and every record of the ledger is framed
//! the same way. `docs/storage-format.md` specifies each format for a reader
//! written from scratch.
//!
//! Decision: a format-1 ledger is read as it is and appended to in format 1,
//! not upgraded in place. Every stored byte of it stays what it was
//! (the log is never rewritten, which is what an auditor holding a copy expects),
//! the binary that wrote it can still open it, and there is no half-upgraded
//! state to recover from after a crash. The price is that an old ledger keeps
//! its size; a new ledger (every `init` from now on) is format 3.
//!
//! Decision: format 3 changes where derived data is kept, not the log: a
//! format-2 ledger is likewise opened as it is, its derived data (the paged
//! states, snapshots) kept in the log's sled database as before.
//!
//! Decision: format 4 changes the stream index only (one key per stream and
//! block of sequences, see [`crate::stream_index`]); a format-3 ledger is
//! opened as it is and keeps one index key per record, for the same reasons
//! as above: the index is covered by no hash, but rewriting it in place would
//! leave a half-converted index to recover from after a crash, and the
//! previous binary could no longer open the ledger.

use std::path::Path;

use crate::keys;

/// The store formats this version reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// Records stored as `hash ‖ canonical JSON`; sled's default segments.
    V1,
    /// Records stored as `hash ‖ codec ‖ body` (see [`crate::frame`]), the
    /// canonical JSON compressed with a shipped zstd dictionary; larger sled
    /// segments.
    V2,
    /// The log, its indexes and checkpoints as format 2; derived data (the
    /// paged states, snapshots) in a sled database of its own, in the
    /// directory [`crate::derived::DERIVED_DIR`] inside the ledger's.
    V3,
    /// Format 3 with the stream index in blocks: one key per stream and
    /// block of [`crate::stream_index::SEQS_PER_BLOCK`] sequences instead of
    /// one per record.
    V4,
}

/// sled's segment size for a format-1 ledger: sled's default, which format 1
/// never set (sled refuses to open a database with another segment size than
/// the one it was created with).
pub const SEGMENT_BYTES_V1: usize = 512 * 1024;

/// sled's segment size for a format-2 ledger.
///
/// Decision: measured on the demo population (10,000 contracts, 230,672
/// events, the demo's own flush pattern), with records compressed as format 2
/// stores them, the log took 1,794 B/event with 512 KiB segments, 1,500 with
/// 2 MiB, 727 with 8 MiB and 858 with 16 MiB (BENCHMARKS.md, Store footprint):
/// sled reclaims a segment only once half of it is dead, and with many small
/// flushes larger segments leave less of the file half dead.
pub const SEGMENT_BYTES_V2: usize = 8 * 1024 * 1024;

/// sled's segment size of the derived database of a format-3 ledger (sled's
/// default).
///
/// Decision: the paged states are a working set rewritten as the billing
/// clock dirties them; sled frees a segment once at most half of it is live,
/// and smaller segments reach that sooner. Measured with
/// `cargo bench -p navigo-store-sled --bench sled_footprint` (230,000 log
/// records, 10,000 states of 1,823 bytes rewritten 34 times): the states in
/// the log's database left files of 7.4 times the live bytes; in a database
/// of their own, 2.5 times with 8 MiB segments and 2.3 times with 512 KiB
/// (BENCHMARKS.md, Region).
pub const DERIVED_SEGMENT_BYTES: usize = 512 * 1024;

/// The bytes of pages sled keeps in its own cache (its default is 1 GiB).
///
/// Decision: sled's cache is memory at rest as much as the ledger's world:
/// every page a scan or a read brings in stays until the cache is full, so a
/// regional ledger opened, then read, grew towards sled's gigabyte whatever
/// the ledger's own bounds. Bounded, a page read again after it was dropped
/// is read from the segment files (the kernel's page cache when warm): the
/// one-id reads and their raw references alike.
pub const SLED_CACHE_BYTES_MAX: u64 = 128 * 1024 * 1024;

/// The bytes of pages sled keeps in the cache of a format-3 ledger's derived
/// database: the ledger keeps the states it uses decoded in its own bounded
/// cache, so sled's copy of their pages only serves a state paged in again
/// soon after it was evicted.
pub const DERIVED_CACHE_BYTES_MAX: u64 = 32 * 1024 * 1024;

impl Format {
    /// The format every new ledger is created in.
    pub const CURRENT: Format = Format::V4;
    /// Every format this version opens.
    pub const ALL: [Format; 4] = [Format::V1, Format::V2, Format::V3, Format::V4];

    /// The format's number.
    pub fn number(self) -> u32 {
        match self {
            Format::V1 => 1,
            Format::V2 => 2,
            Format::V3 => 3,
            Format::V4 => 4,
        }
    }

    /// The format numbered `n`.
    pub fn from_number(n: u32) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.number() == n)
    }

    /// The content of the marker file of a ledger of this format.
    pub fn marker_content(self) -> &'static str {
        match self {
            Format::V1 => "navigo-ledger store format 1\n",
            Format::V2 => "navigo-ledger store format 2\n",
            Format::V3 => "navigo-ledger store format 3\n",
            Format::V4 => "navigo-ledger store format 4\n",
        }
    }

    /// The value of the format key inside the tree.
    pub fn tree_marker(self) -> &'static [u8] {
        match self {
            Format::V1 => b"navigo-ledger store format 1",
            Format::V2 => b"navigo-ledger store format 2",
            Format::V3 => b"navigo-ledger store format 3",
            Format::V4 => b"navigo-ledger store format 4",
        }
    }

    /// The format whose marker file holds exactly `content`.
    pub fn from_marker_content(content: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.marker_content() == content)
    }

    /// The format whose tree marker is exactly `value`.
    pub fn from_tree_marker(value: &[u8]) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.tree_marker() == value)
    }

    /// sled's segment size for this format.
    pub fn segment_bytes(self) -> usize {
        match self {
            Format::V1 => SEGMENT_BYTES_V1,
            Format::V2 | Format::V3 | Format::V4 => SEGMENT_BYTES_V2,
        }
    }

    /// Whether records are framed with a codec byte (see [`crate::frame`]).
    pub fn framed(self) -> bool {
        self != Format::V1
    }

    /// Whether derived data lives in a sled database of its own
    /// ([`crate::derived::DERIVED_DIR`]) rather than in the log's.
    pub fn derived_apart(self) -> bool {
        self >= Format::V3
    }

    /// Whether the stream index is kept in blocks of sequences
    /// ([`crate::stream_index`]) rather than one key per record.
    pub fn stream_blocks(self) -> bool {
        self >= Format::V4
    }

    /// The sled configuration of a ledger of this format in `path`: sled
    /// persists the segment size and refuses another one, so every opening of
    /// a ledger (the store's, and a tool's that reads the raw tree) goes
    /// through this.
    pub fn sled_config(self, path: &Path) -> sled::Config {
        sled::Config::new()
            .path(path)
            .segment_size(self.segment_bytes())
            .cache_capacity(SLED_CACHE_BYTES_MAX)
    }
}

/// The sled configuration of the derived database in `path` (a format-3
/// ledger's [`crate::derived::DERIVED_DIR`]).
pub fn derived_sled_config(path: &Path) -> sled::Config {
    sled::Config::new()
        .path(path)
        .segment_size(DERIVED_SEGMENT_BYTES)
        .cache_capacity(DERIVED_CACHE_BYTES_MAX)
}

/// Reads the format a ledger directory's marker file names, without opening
/// sled: `None` when the file is absent or unreadable, `Some(Err(content))`
/// when it names no known format.
pub fn read_marker(path: &Path) -> Option<Result<Format, String>> {
    let content = std::fs::read_to_string(path.join(keys::MARKER_FILE)).ok()?;
    Some(Format::from_marker_content(&content).ok_or(content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_format_markers_are_distinct_and_parse_back() {
        for f in Format::ALL {
            assert_eq!(Format::from_marker_content(f.marker_content()), Some(f));
            assert_eq!(Format::from_tree_marker(f.tree_marker()), Some(f));
            assert_eq!(Format::from_number(f.number()), Some(f));
            assert!(f.segment_bytes().is_power_of_two());
        }
        // The format-1 markers are the bytes the previous version wrote.
        assert_eq!(
            Format::V1.marker_content(),
            "navigo-ledger store format 1\n"
        );
        assert_eq!(Format::V1.tree_marker(), b"navigo-ledger store format 1");
        assert_eq!(
            Format::V2.marker_content(),
            "navigo-ledger store format 2\n"
        );
        assert_eq!(Format::V2.tree_marker(), b"navigo-ledger store format 2");
        assert_eq!(Format::CURRENT.number(), 4);
        assert!(Format::CURRENT.derived_apart());
        assert!(Format::CURRENT.stream_blocks());
        assert!(!Format::V3.stream_blocks());
        assert_eq!(
            Format::V3.marker_content(),
            "navigo-ledger store format 3\n"
        );
        assert_eq!(
            Format::from_marker_content("navigo-ledger store format 5\n"),
            None
        );
    }
}
