//! A file issued to the bank lists what it carries (its debits, or its
//! refunds) in the chain: in its own event when the list is short, otherwise
//! in [`BankFilePart`] events appended before it, each of
//! [`BankFilePart::ITEMS_MAX`] items (an event is bounded by the store's
//! `event_bytes_max`, and a collection date of a region holds hundreds of
//! thousands of debits). This module records such a file and puts its list
//! together again as the bank stream is read; it also makes the bank
//! stream's events ([`bank_event`]) and appends them as [`Recording`] says.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::event::{BankFilePart, IssuedDebit, IssuedRefund};
use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::{Envelope, Event, NewEvent, StreamId};
use navigo_ledger_core::{Ledger, LedgerError};
use navigo_store::{AppendRequest, EventStore, ExpectedVersion, StoreError};
use sha2::{Digest, Sha256};

use super::store::AnyStore;

/// When the events of a bank file are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// By the store's clock, the rejections judged at the service's instant:
    /// the `bank` commands.
    Now,
    /// At an instant of the past, the rejections judged by the import clock
    /// (commands in the order of their instants): the demo, which records
    /// every event at its simulated instant.
    At(DateTime<Utc>),
}

/// An event of the bank stream, its id derived from its idempotency key so
/// that a retry is the same event.
pub(super) fn bank_event(key: &str, date: NaiveDate, actor: &str, event: Event) -> NewEvent {
    let digest = Sha256::digest(key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let event_id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    NewEvent {
        event_id,
        effective_date: date,
        actor: Actor {
            role: ActorRole::System,
            id: actor.to_owned(),
        },
        channel: None,
        correlation_id: event_id,
        causation_id: None,
        event,
    }
}

/// Part events appended by one request. Decision: a request of 64 parts
/// (about 2 MiB) keeps each append well inside the store's
/// `events_per_append_max` and its group commit, while a region's collection
/// date of 700,000 debits takes about 43 appends rather than 2,700.
const PARTS_PER_APPEND: usize = 64;

/// What a file's list is made of.
pub(super) trait Item: Clone {
    /// A part listing `items`.
    fn part(message_id: &str, sha256: &str, part: u32, items: Vec<Self>) -> BankFilePart;
    /// The items a part lists.
    fn listed(part: &BankFilePart) -> &[Self];
}

impl Item for IssuedDebit {
    fn part(message_id: &str, sha256: &str, part: u32, items: Vec<Self>) -> BankFilePart {
        BankFilePart {
            message_id: message_id.to_owned(),
            sha256: sha256.to_owned(),
            part,
            debits: items,
            refunds: Vec::new(),
        }
    }

    fn listed(part: &BankFilePart) -> &[Self] {
        &part.debits
    }
}

impl Item for IssuedRefund {
    fn part(message_id: &str, sha256: &str, part: u32, items: Vec<Self>) -> BankFilePart {
        BankFilePart {
            message_id: message_id.to_owned(),
            sha256: sha256.to_owned(),
            part,
            debits: Vec::new(),
            refunds: items,
        }
    }

    fn listed(part: &BankFilePart) -> &[Self] {
        &part.refunds
    }
}

/// Splits a file's list: the parts recorded before the file's event, and
/// the last items, which its own event lists (at most
/// [`BankFilePart::ITEMS_MAX`], and at least one item of a file that carries
/// any).
pub(super) fn split<T: Item>(mut items: Vec<T>) -> (Vec<Vec<T>>, Vec<T>) {
    let in_parts =
        items.len().saturating_sub(1) / BankFilePart::ITEMS_MAX * BankFilePart::ITEMS_MAX;
    let last = items.split_off(in_parts);
    let parts = items
        .chunks(BankFilePart::ITEMS_MAX)
        .map(<[T]>::to_vec)
        .collect();
    (parts, last)
}

/// What identifies a file for its parts.
pub(super) struct FileId<'a> {
    /// The file event's idempotency key; each request of parts is keyed
    /// after it, with the file's hash and its first part's number.
    pub key: &'a str,
    /// `GrpHdr/MsgId`.
    pub message_id: &'a str,
    /// The SHA-256 of the file's bytes.
    pub sha256: &'a str,
}

/// Appends the parts of a file before its own event, a request of
/// [`PARTS_PER_APPEND`] at a time, each under a key of the file's hash: a
/// run interrupted between two requests is completed by the next run of the
/// same file (its requests replayed append nothing), and a run for other
/// bytes writes parts of its own hash. `event` makes each part's event.
/// Returns the envelopes appended (or staged).
pub(super) async fn append_parts<T: Item>(
    ledger: &mut Ledger<AnyStore>,
    file: &FileId<'_>,
    parts: Vec<Vec<T>>,
    event: impl Fn(&str, Event) -> NewEvent,
    recording: Recording,
) -> Result<Vec<Envelope>, LedgerError> {
    let mut appended = Vec::new();
    let mut numbered = (1u32..).zip(parts).peekable();
    while numbered.peek().is_some() {
        let batch: Vec<(u32, Vec<T>)> = numbered.by_ref().take(PARTS_PER_APPEND).collect();
        let first = batch.first().map_or(1, |(n, _)| *n);
        let key = format!("{}:{}:{first}", file.key, file.sha256);
        let events = batch
            .into_iter()
            .map(|(n, items)| {
                let part = T::part(file.message_id, file.sha256, n, items);
                event(&format!("{key}:{n}"), Event::BankFilePart(part))
            })
            .collect();
        appended.extend(append_at(ledger, key, events, recording).await?);
    }
    Ok(appended)
}

/// Appends `events` to the bank stream under `key`, recorded as
/// `recording` says: by the store's clock, then folded into the ledger's
/// world (its stream version) as the ledger folds what another writer
/// appended; or at an instant of the past, staged in the ledger's import
/// batch with the commands around it. Returns the envelopes appended or
/// staged (none when the key was recorded before).
pub(super) async fn append_at(
    ledger: &mut Ledger<AnyStore>,
    key: String,
    events: Vec<NewEvent>,
    recording: Recording,
) -> Result<Vec<Envelope>, LedgerError> {
    let mut request = AppendRequest::new(StreamId::bank(), ExpectedVersion::Any, events);
    request.idempotency_key = Some(key);
    match recording {
        Recording::At(at) => ledger.append_recorded_at(request, at).await,
        Recording::Now => {
            let (_, stored) = ledger.store().append_stored(request).await?;
            ledger.catch_up_with_store().await?;
            Ok(stored)
        }
    }
}

/// The parts read from the bank stream whose file's event is not read yet,
/// by the file's hash.
#[derive(Debug, Default)]
pub(super) struct PendingParts {
    by_file: BTreeMap<String, Vec<BankFilePart>>,
}

impl PendingParts {
    /// Keeps a part read from the bank stream when it lists items of kind
    /// `T` (a reader of refund files keeps no collection file's part).
    pub(super) fn keep<T: Item>(&mut self, part: &BankFilePart) {
        if T::listed(part).is_empty() {
            return;
        }
        self.by_file
            .entry(part.sha256.clone())
            .or_default()
            .push(part.clone());
    }

    /// The whole list of the file recorded by `file` (at `file.position`),
    /// whose own event lists `last` and counts `count` items in `parts`
    /// parts: its parts' items in order, then `last`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the parts read are not the file's parts
    /// 1 to `parts` with `count` items in all: the log was altered.
    pub(super) fn list_of<T: Item>(
        &mut self,
        file: &Envelope,
        sha256: &str,
        (count, parts, last): (u64, u32, &[T]),
    ) -> Result<Vec<T>, StoreError> {
        let mut found = self.by_file.remove(sha256).unwrap_or_default();
        found.sort_by_key(|p| p.part);
        found.dedup_by_key(|p| p.part);
        let numbers: Vec<u32> = found.iter().map(|p| p.part).collect();
        let mut list: Vec<T> = found.iter().flat_map(|p| T::listed(p).to_vec()).collect();
        list.extend_from_slice(last);
        if numbers != (1..=parts).collect::<Vec<_>>() || list.len() as u64 != count {
            return Err(StoreError::Corrupt {
                position: file.position,
                why: format!(
                    "the bank file of hash {sha256} counts {count} items in {parts} parts, and the \
                     bank stream holds parts {numbers:?} listing {} items: run `navigo-ledger \
                     verify`",
                    list.len()
                ),
            });
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn debits(n: usize) -> Vec<IssuedDebit> {
        (0..n)
            .map(|i| IssuedDebit {
                debit_event_id: Uuid::from_u128(i as u128),
                contract_id: Uuid::from_u128(i as u128 + 1),
                amount: "90.80".parse().expect("an amount"),
            })
            .collect()
    }

    /// A part of `ITEMS_MAX` refunds, the longest items, each with the
    /// largest amount a file may carry.
    fn full_refund_part() -> BankFilePart {
        let refunds = (0..BankFilePart::ITEMS_MAX)
            .map(|i| IssuedRefund {
                refund_event_id: Uuid::from_u128(u128::MAX - i as u128),
                stream_kind: navigo_events_schema::event::RefundStreamKind::Contract,
                stream_id: Uuid::from_u128(u128::MAX / 3 + i as u128),
                amount: "999999999.99".parse().expect("an amount"),
            })
            .collect();
        IssuedRefund::part(&"M".repeat(35), &"f".repeat(64), u32::MAX, refunds)
    }

    #[tokio::test]
    async fn pay_bank_file_part_of_items_max_fits_the_stores_default_event_bytes_max() {
        use navigo_store::{Limits, ManualClock};
        let dir = tempfile::tempdir().unwrap();
        navigo_store_sled::SledStore::init(dir.path()).unwrap();
        let at = chrono::DateTime::<chrono::Utc>::MIN_UTC;
        let clock = std::sync::Arc::new(ManualClock::new(at));
        let store =
            navigo_store_sled::SledStore::open(dir.path(), Limits::default(), clock).unwrap();
        let key = "bank-refunds:2026-12-01:".to_owned() + &"f".repeat(64) + ":4294967295";
        let event = bank_event(
            &key,
            chrono::NaiveDate::MAX,
            "bank-refunds",
            Event::BankFilePart(full_refund_part()),
        );
        let mut request = AppendRequest::new(StreamId::bank(), ExpectedVersion::Any, vec![event]);
        request.idempotency_key = Some(key);
        store.append(request).await.expect("a full part is stored");
    }

    #[test]
    fn pay_bank_file_list_splits_into_full_parts_and_a_last_event_of_at_least_one_item() {
        let max = BankFilePart::ITEMS_MAX;
        for n in [1, max - 1, max, max + 1, 2 * max, 3 * max + 7] {
            let all = debits(n);
            let (parts, last) = split(all.clone());
            assert!(parts.iter().all(|p| p.len() == max), "{n}");
            assert!(!last.is_empty() && last.len() <= max, "{n}");
            let joined: Vec<IssuedDebit> = parts.into_iter().flatten().chain(last).collect();
            assert_eq!(joined, all, "{n}");
        }
        assert_eq!(split(debits(0)), (Vec::new(), Vec::new()));
    }
}
