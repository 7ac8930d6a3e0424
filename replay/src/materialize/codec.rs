//! The stored form of a materialized row and of an index entry: the view's
//! or the entry's JSON, LZ4-compressed against one dictionary, behind one
//! encoding byte and the JSON's length. Its own module so that the rows
//! ([`super`]) and the indexes ([`super::index`]) share it without importing
//! each other.

use std::sync::OnceLock;

use crate::ReplayError;

/// The first byte of a row compressed by LZ4 alone: an LZ4 block follows,
/// after the JSON's length (a big-endian `u32`, as every length on disk). What
/// rebuilds wrote before [`ROW_LZ4_DICT`]; still read. A row whose first byte
/// is `{` is the view's JSON as is: a row compression would not shrink, or one
/// written before rows were compressed.
pub const ROW_LZ4: u8 = 0x01;
/// The first byte of a row or index entry compressed by LZ4 against
/// [`ROW_DICTIONARY`]: the JSON's length (a big-endian `u32`), then the block.
pub const ROW_LZ4_DICT: u8 = 0x02;
/// The dictionary rows and index entries are compressed against: one view of
/// each kind and one entry of each index, as a rebuild of a generated region
/// wrote them (names replaced). LZ4 finds in it the field names, the
/// statuses and the long explanations every row repeats, so that even an
/// entry of a few hundred bytes, which LZ4 alone cannot shrink, shrinks.
///
/// Never edited in place: the stored bytes decode only against the very
/// dictionary they were compressed with, so a generation records the
/// dictionary's hash ([`layout`]) and one built with another is rebuilt,
/// never read.
pub const ROW_DICTIONARY: &[u8] = include_bytes!("row-dictionary.txt");
/// The first bytes of a JSON stored as is (a view is an object, an index
/// entry an object or an array): never an encoding byte.
const STORED_PLAIN: &[u8] = b"{[";
/// Largest decoded row a stored length may announce (a named bound: a corrupt
/// length must be refused, not allocated). The largest view, a calendar of
/// `CALENDAR_MONTHS_MAX` months, is far below it.
pub const ROW_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The layout of a generation's stored rows and index entries: the encoding
/// and the hash of [`ROW_DICTIONARY`]. Recorded with the generation's set of
/// indexes (`index::index_set`): a generation of another layout is not read
/// by its indexes, and is replaced by the next rebuild.
pub fn layout() -> String {
    static LAYOUT: OnceLock<String> = OnceLock::new();
    LAYOUT
        .get_or_init(|| {
            let hash = blake3::hash(ROW_DICTIONARY).to_hex();
            format!("lz4-dict:{}", &hash.as_str()[..16])
        })
        .clone()
}

/// The stored form of a row or index entry: the JSON `json` compressed with
/// LZ4 against [`ROW_DICTIONARY`], behind [`ROW_LZ4_DICT`] and its length, or
/// the JSON itself when compression would not make it smaller. `scratch` is
/// the compression buffer, reused from row to row.
///
/// Why compressed: a rebuild writes every row of every view and every index
/// entry, and sled 0.34 writes each byte three to four times (the row, the
/// leaf's consolidations, its split at 17 entries). A calendar's JSON is 8 KB
/// of rows that repeat each other and shrinks about tenfold; the entries of
/// the debits by date, a calendar row each, were two thirds of the
/// projections' live bytes, and shrink about fourfold against the
/// dictionary. The compression runs on the workers, the writes it saves on
/// sled's single writer and its I/O threads (measured in BENCHMARKS.md,
/// Replay).
pub fn encode_row(json: &[u8], scratch: &mut Vec<u8>) -> sled::IVec {
    let Ok(len) = u32::try_from(json.len()) else {
        return sled::IVec::from(json);
    };
    scratch.clear();
    scratch.resize(5 + lz4_flex::block::get_maximum_output_size(json.len()), 0);
    let (head, body) = scratch.split_at_mut(5);
    head[0] = ROW_LZ4_DICT;
    head[1..].copy_from_slice(&len.to_be_bytes());
    let plain = json.first().is_some_and(|b| STORED_PLAIN.contains(b));
    match lz4_flex::block::compress_into_with_dict(json, body, ROW_DICTIONARY) {
        // Stored as is only when it reads back as is.
        Ok(n) if 5 + n >= json.len() && plain => sled::IVec::from(json),
        Ok(n) => sled::IVec::from(&scratch[..5 + n]),
        // The buffer is sized for the worst case: unreachable, but a row is
        // never lost for it.
        Err(_) => sled::IVec::from(json),
    }
}

/// The JSON of a stored row or index entry of `tree` under `key`
/// ([`encode_row`]'s inverse).
///
/// # Errors
/// [`ReplayError::Corrupt`] naming the tree and the key: an unknown first byte,
/// a length over [`ROW_BYTES_MAX`], a block that does not decode to exactly its
/// announced length.
pub fn decode_row<'v>(
    tree: &str,
    key: &[u8],
    stored: &'v [u8],
) -> Result<std::borrow::Cow<'v, [u8]>, ReplayError> {
    let corrupt = |why: String| ReplayError::Corrupt {
        tree: tree.into(),
        why: format!("row {}: {why}", hex::encode(key)),
    };
    let Some((&first, rest)) = stored.split_first() else {
        return Err(corrupt("empty row".into()));
    };
    let dict: &[u8] = match first {
        ROW_LZ4 => &[],
        ROW_LZ4_DICT => ROW_DICTIONARY,
        b if STORED_PLAIN.contains(&b) => return Ok(std::borrow::Cow::Borrowed(stored)),
        b => return Err(corrupt(format!("unknown encoding byte 0x{b:02x}"))),
    };
    let (len, block) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("compressed row shorter than its length".into()))?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > ROW_BYTES_MAX {
        return Err(corrupt(format!(
            "announced length {len} is over the bound {ROW_BYTES_MAX}"
        )));
    }
    let json = lz4_flex::block::decompress_with_dict(block, len, dict)
        .map_err(|e| corrupt(format!("LZ4 block: {e}")))?;
    if json.len() != len {
        return Err(corrupt(format!(
            "decodes to {} bytes, announced {len}",
            json.len()
        )));
    }
    Ok(std::borrow::Cow::Owned(json))
}
