//! Writes a ledger's log in PostgreSQL `COPY` text format, as the PostgreSQL
//! backend stores it (table `events`: position, stream kind, stream id, stream
//! sequence, the canonical record `hash ‖ JSON` as bytea; table
//! `idempotency`: key, digest, first position, event count), for the
//! bytes-per-event comparison of `docs/bench-footprint.sh`.
//!
//! ```sh
//! cargo run --release -p navigo-store-sled --example export_for_postgres -- LEDGER_DIR OUT_DIR
//! ```
//!
//! Writes `OUT_DIR/events.copy` and `OUT_DIR/idempotency.copy`. Every record is
//! unframed and decoded (a ledger that does not read is refused), and its hash
//! is checked.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use navigo_events_schema::{decode_record, record_hashes};
use navigo_store_sled::keys::{self, log_key_position, IdemEntry};
use navigo_store_sled::raw::RawLedger;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ledger, out] = args.as_slice() else {
        eprintln!("usage: export_for_postgres LEDGER_DIR OUT_DIR");
        std::process::exit(2);
    };
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out).expect("create OUT_DIR");
    let raw = RawLedger::open(&PathBuf::from(ledger)).expect("open the ledger");
    let mut events =
        BufWriter::new(std::fs::File::create(out.join("events.copy")).expect("create"));
    let mut n = 0u64;
    for item in raw.tree().scan_prefix([keys::LOG]) {
        let (k, _) = item.expect("read");
        let position = log_key_position(&k).expect("a log key");
        let record = raw.record(position).expect("unframe").expect("record");
        let (claimed, actual) = record_hashes(&record).expect("a record");
        assert_eq!(claimed, actual, "position {position}: hash mismatch");
        let env = decode_record(&record).expect("decode");
        writeln!(
            events,
            "{position}\t{}\t{}\t{}\t\\\\x{}",
            env.stream.kind.as_str(),
            env.stream.id,
            env.stream_seq,
            hex::encode(&record)
        )
        .expect("write");
        n += 1;
    }
    events.flush().expect("write");
    let mut idem =
        BufWriter::new(std::fs::File::create(out.join("idempotency.copy")).expect("create"));
    let mut keys_n = 0u64;
    for item in raw.tree().scan_prefix([keys::IDEM]) {
        let (k, v) = item.expect("read");
        let key = std::str::from_utf8(&k[1..]).expect("a UTF-8 key");
        let e = IdemEntry::decode(&v).expect("an idempotency entry");
        // COPY text format: backslash, tab and newline are escaped.
        let key = key
            .replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
        writeln!(
            idem,
            "{key}\t\\\\x{}\t{}\t{}",
            hex::encode(e.digest),
            e.first,
            e.count
        )
        .expect("write");
        keys_n += 1;
    }
    idem.flush().expect("write");
    println!("exported {n} events and {keys_n} idempotency keys");
}
