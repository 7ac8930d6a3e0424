//! Trains a zstd dictionary on the canonical JSON of a ledger's records and
//! reports how well it compresses records it was not trained on.
//!
//! ```sh
//! navigo-ledger demo --contracts 2000 --seed 7 --through 2026-12-05 --data /tmp/train
//! cargo run --release -p navigo-store-sled --example train_record_dictionary -- \
//!     /tmp/train store-sled/dict/records-1.zdict 32768
//! ```
//!
//! Records at even positions train the dictionary, records at odd positions
//! measure it. This is how dictionary 1 was made (`docs/storage-format.md`);
//! a shipped dictionary is never replaced, a new one gets a new codec byte.

use std::path::PathBuf;

use navigo_events_schema::envelope::HASH_LEN;
use navigo_store_sled::keys::log_key_position;
use navigo_store_sled::raw::RawLedger;

/// Records used for training, at most (zstd's trainer wants about a hundred
/// times the dictionary's size in samples; more only slows it down).
const TRAINING_RECORDS_MAX: usize = 40_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ledger, out, size] = args.as_slice() else {
        eprintln!("usage: train_record_dictionary LEDGER_DIR OUTPUT_FILE DICTIONARY_BYTES");
        std::process::exit(2);
    };
    let size: usize = size.parse().expect("DICTIONARY_BYTES is a number of bytes");
    let raw = RawLedger::open(&PathBuf::from(ledger)).expect("open the ledger");
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for item in raw.tree().scan_prefix([navigo_store_sled::keys::LOG]) {
        let (k, _) = item.expect("read");
        let position = log_key_position(&k).expect("a log key");
        let record = raw.record(position).expect("unframe").expect("record");
        let json = record[HASH_LEN..].to_vec();
        if position % 2 == 0 {
            train.push(json);
        } else {
            test.push(json);
        }
    }
    let step = train.len().div_ceil(TRAINING_RECORDS_MAX).max(1);
    let samples: Vec<&Vec<u8>> = train.iter().step_by(step).collect();
    let dict = zstd::dict::from_samples(&samples, size).expect("train");
    std::fs::write(out, &dict).expect("write the dictionary");
    let json_bytes: usize = test.iter().map(Vec::len).sum();
    let mut packed = 0usize;
    let mut c = zstd::bulk::Compressor::with_dictionary(3, &dict).expect("compressor");
    c.include_dictid(false).expect("param");
    c.include_checksum(false).expect("param");
    for j in &test {
        packed += c.compress(j).expect("compress").len();
    }
    let n = test.len().max(1);
    println!(
        "trained on {} records; {} held-out records: mean JSON {} B, compressed {} B ({:.1}%), dictionary {} B, blake3 {}",
        samples.len(),
        test.len(),
        json_bytes / n,
        packed / n,
        100.0 * packed as f64 / json_bytes.max(1) as f64,
        dict.len(),
        blake3::hash(&dict).to_hex()
    );
}
