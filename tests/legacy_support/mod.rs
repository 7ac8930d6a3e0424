//! A ledger as the version before sealing wrote it (store format 1, version 1
//! payloads with the personal data in clear), for the tests of what an
//! erasure and a reseal do with one.

use std::path::Path;

use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::upcast::decode_event;
use navigo_events_schema::{encode_record, Assigned, Hash, NewEvent, StreamId};
use navigo_store_sled::keys;
use uuid::Uuid;

/// Writes into `dir` a format 1 sled log of `records` (each its stream, its
/// type and its version 1 payload, each the first event of its stream),
/// chained, effective on `day` and recorded that day at 08:0N (N its
/// position). When `tamper` is set, the first record's bytes are altered
/// after its hash was taken ("Leontine" becomes "Leontino"): a log that
/// does not verify.
pub fn write_legacy_ledger(
    dir: &Path,
    records: &[(StreamId, &str, String)],
    day: &str,
    tamper: bool,
) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(keys::MARKER_FILE),
        "navigo-ledger store format 1\n",
    )
    .unwrap();
    let db = sled::Config::new().path(dir).open().unwrap();
    let tree = db.open_tree(keys::TREE_NAME).unwrap();
    tree.insert(keys::FORMAT_KEY, &b"navigo-ledger store format 1"[..])
        .unwrap();
    let mut prev = Hash::GENESIS;
    for (position, (stream, type_name, v1)) in (1u64..).zip(records) {
        let text = version_1_record(*stream, type_name, v1, position, day, prev);
        let hash = blake3::hash(text.as_bytes());
        prev = Hash(*hash.as_bytes());
        let text = if tamper && position == 1 {
            text.replace("Leontine", "Leontino")
        } else {
            text
        };
        let mut record = hash.as_bytes().to_vec();
        record.extend_from_slice(text.as_bytes());
        tree.insert(keys::log_key(position), record).unwrap();
        tree.insert(keys::stream_key(stream, 1), &position.to_be_bytes()[..])
            .unwrap();
    }
    db.flush().unwrap();
}

/// The canonical JSON of a version 1 record: the current encoder writes the
/// current version, so the version 1 record is the same envelope with
/// version 1's payload (the record's last field) and version number.
fn version_1_record(
    stream: StreamId,
    type_name: &str,
    v1: &str,
    position: u64,
    day: &str,
    prev_hash: Hash,
) -> String {
    let e = NewEvent {
        event_id: Uuid::from_u128(0x0196_a000_0000_7000_8000_0000_0000_0e00 + u128::from(position)),
        effective_date: day.parse().unwrap(),
        actor: Actor {
            role: ActorRole::Agent,
            id: "AG-1".into(),
        },
        channel: None,
        correlation_id: Uuid::from_u128(u128::from(position)),
        causation_id: None,
        event: decode_event(type_name, 1, v1).unwrap(),
    };
    let a = Assigned {
        stream,
        stream_seq: 1,
        position,
        recorded_at: format!("{day}T08:0{position}:00Z").parse().unwrap(),
        idempotency_key: None,
        prev_hash,
    };
    let (record, _) = encode_record(&a, &e).unwrap();
    let text = String::from_utf8(record[HASH_LEN..].to_vec()).unwrap();
    let start = text.find(r#""data":"#).unwrap() + 7;
    let text = format!("{}{v1}}}", &text[..start])
        .replace(r#""schema_version":2"#, r#""schema_version":1"#);
    assert!(text.contains(r#""schema_version":1"#), "{text}");
    text
}
