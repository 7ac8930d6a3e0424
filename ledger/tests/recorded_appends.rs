//! An append no command decided (the evidence of a bank file) recorded at an
//! instant of the past (`Ledger::append_recorded_at`): with an import batch
//! open it is staged and folded like the commands' decisions, durable only
//! with the batch and in the order of the instants; under a key the store
//! holds already it appends nothing.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use navigo_events_schema::event::{BankFileImported, BankFileKind};
use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::{AppendRequest, Event, ExpectedVersion, NewEvent, StreamId};
use navigo_ledger_core::{ClockMode, Ledger};
use navigo_rules::Policy;
use navigo_store::{EventStore, Limits, ManualClock};
use navigo_store_sled::SledStore;
use navigo_testkit::{at, d, register};
use uuid::Uuid;

async fn open(name: &str) -> Ledger<SledStore> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("recorded-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    SledStore::init(&dir).unwrap();
    let clock = Arc::new(ManualClock::new(at(d(2011, 1, 3))));
    let store = SledStore::open(&dir, Limits::default(), clock.clone()).unwrap();
    Ledger::open(store, Policy::default(), 7)
        .await
        .unwrap()
        .with_clock(clock)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A bank file's evidence under `key`.
fn bank_append(key: &str) -> AppendRequest {
    let event = NewEvent {
        event_id: Uuid::from_u128(0xb4_0000 + key.len() as u128),
        effective_date: d(2011, 1, 2),
        actor: Actor {
            role: ActorRole::System,
            id: "bank-import".into(),
        },
        channel: None,
        correlation_id: Uuid::from_u128(1),
        causation_id: None,
        event: Event::BankFileImported(BankFileImported {
            kind: BankFileKind::StatusReport,
            message_id: "BANK-1".into(),
            sha256: "ab".repeat(32),
            creditor_id: "FR72ZZZ123456".into(),
            returned: 0,
            rejection_event_ids: Vec::new(),
            skipped: Vec::new(),
            decided_by: None,
        }),
    };
    let mut request = AppendRequest::new(StreamId::bank(), ExpectedVersion::Any, vec![event]);
    request.idempotency_key = Some(key.to_owned());
    request
}

#[test]
fn import_batch_append_recorded_at_is_staged_with_the_commands_and_durable_with_the_batch() {
    rt().block_on(async {
        let mut ledger = open("staged").await;
        let bank = StreamId::bank();
        let registered_at: DateTime<Utc> = register(1, d(1990, 5, 17)).request_at;
        let later = registered_at + Duration::hours(1);
        // Given an import batch holding a registration
        ledger.begin_import();
        ledger
            .execute(&register(1, d(1990, 5, 17)), ClockMode::Import)
            .await
            .unwrap();
        // When a bank file's evidence is recorded an hour later
        let staged = ledger
            .append_recorded_at(bank_append("bank-import:1"), later)
            .await
            .unwrap();
        // Then it is staged at that instant, folded, and not yet in the store
        assert_eq!(staged.len(), 1);
        assert_eq!(staged[0].recorded_at, later);
        assert_eq!(ledger.world().version(bank), 1);
        assert_eq!(ledger.store().stream_version(bank).await.unwrap(), 0);
        assert_eq!(ledger.store().head().await.unwrap().position, 0);
        // When the batch ends
        ledger.end_import().await.unwrap();
        // Then it is durable after the registration, as staged
        let stored = ledger.store().read_stream(bank, 1..=1).await.unwrap();
        assert_eq!(stored[0].recorded_at, later);
        assert_eq!(stored[0].position, staged[0].position);
        assert_eq!(stored[0].hash, ledger.store().head().await.unwrap().hash);
        assert!(stored[0].position > 1, "the registration first");

        // When the same key is recorded again, in a batch or not
        let head = ledger.store().head().await.unwrap().position;
        ledger.begin_import();
        let again = ledger
            .append_recorded_at(bank_append("bank-import:1"), later + Duration::hours(1))
            .await
            .unwrap();
        ledger.end_import().await.unwrap();
        let outside = ledger
            .append_recorded_at(bank_append("bank-import:1"), later + Duration::hours(2))
            .await
            .unwrap();
        // Then nothing is appended
        assert!(again.is_empty() && outside.is_empty());
        assert_eq!(ledger.store().head().await.unwrap().position, head);
        assert_eq!(ledger.world().version(bank), 1);
    });
}
