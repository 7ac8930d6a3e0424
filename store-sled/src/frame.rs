//! How a record is stored under its log key, per store format.
//!
//! Everything above this module works on *the record*: `hash ‖ canonical JSON`,
//! the bytes `encode_record` builds and `decode_record` reads, whose hash is
//! BLAKE3 of the canonical JSON. This module turns a record into the bytes
//! stored for it ([`frame`]) and back ([`unframe`]), byte for byte:
//!
//! - format 1 stores the record as it is;
//! - format 2 stores `hash (32) ‖ codec (1) ‖ body`, where the codec byte says
//!   how the body holds the canonical JSON: [`CODEC_RAW`] (the JSON itself) or
//!   [`CODEC_ZSTD_DICT_1`] (one zstd frame, compressed with the shipped
//!   dictionary [`DICTIONARY_1`], the frame carrying its content size and no
//!   dictionary id nor checksum).
//!
//! The hash stays outside the compressed body so that the chain (each record's
//! previous hash, `hash_before`) is read without decompressing anything, and the
//! hash is always over the canonical JSON given back, never over the stored
//! body: a record that decompresses to other bytes is a hash mismatch.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

use navigo_events_schema::envelope::HASH_LEN;
use zstd::dict::{DecoderDictionary, EncoderDictionary};

use crate::format::Format;

/// Codec byte: the body is the canonical JSON itself.
pub const CODEC_RAW: u8 = 0;
/// Codec byte: the body is a zstd frame of the canonical JSON compressed with
/// [`DICTIONARY_1`].
pub const CODEC_ZSTD_DICT_1: u8 = 1;

/// Dictionary 1, trained on the canonical JSON of generated demo records
/// (`cargo run --release -p navigo-store-sled --example train_record_dictionary`,
/// see `docs/storage-format.md`). Persisted: records compressed with it can only
/// be read with these exact bytes, so it is never retrained in place; a new
/// dictionary gets a new codec byte.
pub const DICTIONARY_1: &[u8] = include_bytes!("../dict/records-1.zdict");

/// The BLAKE3 hash of [`DICTIONARY_1`], checked by a test so that an
/// accidental change of the shipped file is caught before it ships.
pub const DICTIONARY_1_BLAKE3: &str =
    "621ac3915f7071da474751b1754a5fcaf8f2da365f9324eb2f6654979a02258f";

/// The zstd level records are compressed at.
///
/// Decision: level 3 (zstd's default). On the demo records higher levels gain
/// a few bytes per record for a writer thread several times slower; the writer
/// compresses every record of a group commit on its one thread.
pub const ZSTD_LEVEL: i32 = 3;

/// The largest canonical JSON a compressed body may claim to hold. Larger than
/// any record a store accepts (`Limits::event_bytes_max` is 64 KiB by default),
/// and a bound on what a corrupt frame header can make a reader allocate.
pub const CANONICAL_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Offset of the codec byte in a format-2 stored record.
const CODEC_AT: usize = HASH_LEN;

fn encoder_dictionary() -> &'static EncoderDictionary<'static> {
    static D: OnceLock<EncoderDictionary<'static>> = OnceLock::new();
    D.get_or_init(|| EncoderDictionary::copy(DICTIONARY_1, ZSTD_LEVEL))
}

fn decoder_dictionary() -> &'static DecoderDictionary<'static> {
    static D: OnceLock<DecoderDictionary<'static>> = OnceLock::new();
    D.get_or_init(|| DecoderDictionary::copy(DICTIONARY_1))
}

thread_local! {
    // One compression and one decompression context per thread: creating one
    // costs more than compressing a record.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// The canonical JSON compressed with dictionary 1.
fn compress(json: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|c| {
        let mut slot = c.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(c) => c,
            None => {
                let mut c = zstd::bulk::Compressor::with_prepared_dictionary(encoder_dictionary())?;
                c.include_dictid(false)?;
                c.include_checksum(false)?;
                c.include_contentsize(true)?;
                slot.insert(c)
            }
        };
        compressor.compress(json)
    })
}

/// The canonical JSON of a body compressed with dictionary 1.
fn decompress(body: &[u8]) -> Result<Vec<u8>, String> {
    let size = match zstd::zstd_safe::get_frame_content_size(body) {
        Ok(Some(n)) => n,
        Ok(None) => return Err("the compressed body does not state its size".into()),
        Err(_) => return Err("the compressed body is not a zstd frame".into()),
    };
    let size = usize::try_from(size)
        .ok()
        .filter(|n| *n <= CANONICAL_BYTES_MAX)
        .ok_or_else(|| format!("the compressed body claims {size} bytes, more than any record"))?;
    DECOMPRESSOR.with(|d| {
        let mut slot = d.borrow_mut();
        let decompressor = match slot.as_mut() {
            Some(d) => d,
            None => slot.insert(
                zstd::bulk::Decompressor::with_prepared_dictionary(decoder_dictionary())
                    .map_err(|e| format!("zstd: {e}"))?,
            ),
        };
        let json = decompressor
            .decompress(body, size)
            .map_err(|e| format!("the compressed body does not decompress: {e}"))?;
        if json.len() != size {
            return Err(format!(
                "the compressed body holds {} bytes, its header says {size}",
                json.len()
            ));
        }
        Ok(json)
    })
}

/// The bytes stored for `record` (`hash ‖ canonical JSON`) in a ledger of
/// `format`.
///
/// In format 2 the JSON is compressed with dictionary 1 unless that does not
/// make it shorter (a record of random bytes, such as encrypted fields), in
/// which case it is stored raw.
///
/// # Errors
/// A record shorter than its hash, or a zstd failure (out of memory).
pub fn frame(format: Format, record: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    if record.len() < HASH_LEN {
        return Err(format!(
            "record of {} bytes, shorter than its hash",
            record.len()
        ));
    }
    match format {
        Format::V1 => Ok(Cow::Borrowed(record)),
        Format::V2 | Format::V3 | Format::V4 => {
            let (hash, json) = record.split_at(HASH_LEN);
            let packed = compress(json).map_err(|e| format!("zstd: {e}"))?;
            let (codec, body) = if packed.len() < json.len() {
                (CODEC_ZSTD_DICT_1, &packed[..])
            } else {
                (CODEC_RAW, json)
            };
            let mut out = Vec::with_capacity(HASH_LEN + 1 + body.len());
            out.extend_from_slice(hash);
            out.push(codec);
            out.extend_from_slice(body);
            Ok(Cow::Owned(out))
        }
    }
}

/// The record (`hash ‖ canonical JSON`) stored as `stored` in a ledger of
/// `format`. The hash is not checked here: callers hash the JSON given back.
///
/// # Errors
/// A stored value too short to hold a hash and a codec, an unknown codec byte,
/// or a compressed body that does not decompress; the message says which.
pub fn unframe(format: Format, stored: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    match format {
        Format::V1 => Ok(Cow::Borrowed(stored)),
        Format::V2 | Format::V3 | Format::V4 => {
            if stored.len() <= CODEC_AT {
                return Err(format!("record truncated to {} bytes", stored.len()));
            }
            let (hash, rest) = stored.split_at(CODEC_AT);
            match rest[0] {
                CODEC_RAW => {
                    let mut out = Vec::with_capacity(stored.len() - 1);
                    out.extend_from_slice(hash);
                    out.extend_from_slice(&rest[1..]);
                    Ok(Cow::Owned(out))
                }
                CODEC_ZSTD_DICT_1 => {
                    let json = decompress(&rest[1..])?;
                    let mut out = Vec::with_capacity(HASH_LEN + json.len());
                    out.extend_from_slice(hash);
                    out.extend_from_slice(&json);
                    Ok(Cow::Owned(out))
                }
                other => Err(format!("unknown record codec {other}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn store_dictionary_1_is_the_shipped_file() {
        // The dictionary is part of format 2: changing its bytes would make
        // every compressed record of every format-2 ledger unreadable.
        assert_eq!(
            blake3::hash(DICTIONARY_1).to_hex().as_str(),
            DICTIONARY_1_BLAKE3
        );
    }

    #[test]
    fn store_frame_v2_compresses_a_demo_like_record_and_gives_it_back() {
        let json = br#"{"actor":{"id":"billing-clock","role":"system"},"channel":null,"data":{"amount":"90.80","due":"82.80","lines":[{"amount":"90.80","kind":"full_installment","month":"2026-10"}]},"type":"DebitPresented"}"#;
        let mut record = vec![9u8; HASH_LEN];
        record.extend_from_slice(json);
        let stored = frame(Format::V2, &record).unwrap();
        assert_eq!(stored[CODEC_AT], CODEC_ZSTD_DICT_1);
        assert!(
            stored.len() < record.len(),
            "{} >= {}",
            stored.len(),
            record.len()
        );
        assert_eq!(&stored[..HASH_LEN], &record[..HASH_LEN]);
        assert_eq!(unframe(Format::V2, &stored).unwrap().as_ref(), &record[..]);
        // Format 1 stores the record as it is.
        assert_eq!(frame(Format::V1, &record).unwrap().as_ref(), &record[..]);
        assert_eq!(unframe(Format::V1, &record).unwrap().as_ref(), &record[..]);
    }

    #[test]
    fn store_unframe_refuses_unknown_codecs_truncation_and_bad_bodies() {
        let mut stored = vec![0u8; HASH_LEN];
        assert!(unframe(Format::V2, &stored)
            .unwrap_err()
            .contains("truncated"));
        stored.push(7);
        stored.extend_from_slice(b"{}");
        assert!(unframe(Format::V2, &stored)
            .unwrap_err()
            .contains("unknown record codec 7"));
        stored[CODEC_AT] = CODEC_ZSTD_DICT_1;
        assert!(unframe(Format::V2, &stored).is_err());
    }

    proptest! {
        /// Whatever the bytes (text or random), format 2 gives back exactly
        /// the record it was given, and never stores more than one byte over it.
        #[test]
        fn store_frame_v2_round_trips_any_record(
            hash in any::<[u8; HASH_LEN]>(),
            json in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..2_000),
                "[a-z\":{},0-9]{0,2000}".prop_map(String::into_bytes),
            ],
        ) {
            let mut record = hash.to_vec();
            record.extend_from_slice(&json);
            let stored = frame(Format::V2, &record).unwrap();
            prop_assert!(stored.len() <= record.len() + 1);
            let back = unframe(Format::V2, &stored).unwrap().into_owned();
            prop_assert_eq!(back, record);
        }
    }
}
