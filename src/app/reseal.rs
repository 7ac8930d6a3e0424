//! `reseal`: a new ledger written from an old one, with every personal field
//! sealed, so that the clear text that records written before sealing hold
//! (and that no erasure can unwrite from the old log) is gone from the new one.
//!
//! The new log's first record, `LedgerResealed` in the ledger's own stream,
//! states the old log's size, head hash, Merkle root and store format: the
//! new chain starts from a claim an auditor holding a checkpoint of the old
//! log can check against it. Then every old record follows in order, one
//! position later, with the same event id, stream, stream sequence,
//! recorded-at instant, idempotency key, actor and ids, and its event at the
//! current version of its type (an older one upcast as every reader upcasts
//! it), each personal field sealed with its person's key from the key store
//! (the old ledger's, carried): a field sealed already is kept byte for byte,
//! a clear one (a record written before sealing) is sealed.
//!
//! Decision: a clear field of a person whose key was destroyed (erased) is
//! sealed under a key drawn for that field and never kept, rather than left
//! out or replaced: the record keeps the shape every reader decodes, and the
//! content is as unrecoverable as a sealed field of an erased person (the
//! same XChaCha20-Poly1305 under a key nobody holds), which every view shows
//! as erased. The new ledger thus holds no clear text of an erased person,
//! and none of anyone else's either.
//!
//! Decision: the old ledger's signed checkpoints are not copied: they sign
//! the old log's roots, which the new log does not have. They stay valid for
//! the old log only; `LedgerResealed` is the link.
//!
//! Decision: an interrupted reseal is not resumed: the target then holds
//! records, and a target holding any record is refused, naming how to start
//! again (delete the target's directory). A reseal writes a new log whose
//! first record states the instant it ran, so a second run could not carry
//! on the first one's chain without checking every record it wrote against
//! a claim that run made; starting again is simpler and as safe.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use navigo_events_schema::envelope::{decode_record, record_as_written};
use navigo_events_schema::event::LedgerResealed;
use navigo_events_schema::mandate::Mandate;
use navigo_events_schema::sealed::SealedField;
use navigo_events_schema::types::Actor;
use navigo_events_schema::views::{LogRootsView, ResealView};
use navigo_events_schema::{encode_record, Assigned, Envelope, Event, Hash, NewEvent, StreamId};
use navigo_store::{EventStore, Head};
use uuid::Uuid;

use super::keystore::{KeyState, KeyStore};
use super::migrate::{batch_end, Pending, Reader, TargetRefused, MIGRATE_BATCH_RECORDS};
use super::store::{AnyStore, Backend};
use super::verify::head_view;

/// How a reseal is run.
#[derive(Debug, Clone)]
pub struct ResealOptions {
    /// The old ledger, as messages name it.
    pub from: String,
    /// The new ledger, as messages name it.
    pub to: String,
    /// The instant the reseal runs (the binary's clock).
    pub now: DateTime<Utc>,
    /// Who runs it: `LedgerResealed`'s actor.
    pub actor: Actor,
}

/// What sealing the fields of the records did, counted.
#[derive(Debug, Default)]
struct Counts {
    sealed: u64,
    dropped: u64,
    upgraded: u64,
    keys_made: u64,
}

/// Refuses a target that holds any record, before anything is written.
///
/// # Errors
/// [`TargetRefused`] naming the target, what it holds and how to start again.
pub async fn check_target_empty(target: &AnyStore, options: &ResealOptions) -> anyhow::Result<()> {
    let there = target.head().await?;
    if there.position == 0 {
        return Ok(());
    }
    Err(TargetRefused(format!(
        "{} is not empty: it holds {} records; nothing was written (reseal writes a new \
         ledger: name a directory that does not exist; if it is an interrupted reseal, delete \
         it and run reseal again)",
        options.to, there.position
    ))
    .into())
}

/// The old log's head and the root of its Merkle tree.
///
/// # Errors
/// A storage failure.
pub async fn roots(store: &AnyStore) -> anyhow::Result<(Head, Hash)> {
    let head = store.head().await?;
    let tree = store.tree_head(head.position).await?;
    Ok((head, Hash(tree.root.0)))
}

/// The store format of `store`, as its marker names it.
pub fn store_format(store: &AnyStore) -> String {
    match store.backend() {
        Backend::Sled(s) => s.format().marker_content().trim().to_owned(),
        Backend::Postgres(_) => "navigo-ledger PostgreSQL store".to_owned(),
    }
}

/// Writes the new ledger `target` (empty, checked by the caller with
/// [`check_target_empty`]) from the verified old ledger `source`, sealing
/// with `keys`, the target's key store (the source's, carried).
///
/// # Errors
/// A source record that does not verify or decode (named by position; the
/// target is then incomplete, and refused by the next run), a key store that
/// cannot be written, the target's refusal, a storage failure.
pub async fn reseal(
    source: &AnyStore,
    target: &AnyStore,
    keys: &KeyStore,
    options: &ResealOptions,
) -> anyhow::Result<ResealView> {
    let (src_head, src_root) = roots(source).await?;
    check_erasures_known(source, &src_head, keys).await?;
    let first = first_record(source, &src_head, src_root, options).await?;
    let mut prev = first.1;
    target.import_sealed(vec![first.0]).await?;
    let mut reader = Reader::new(source, 0, src_head.position).await?;
    let mut sealer = Sealer {
        keys,
        payers: HashMap::new(),
        holders: HashMap::new(),
        counts: Counts::default(),
    };
    let mut pending: Vec<Pending> = Vec::new();
    loop {
        let chunk = reader.chunk().await?;
        let done = chunk.is_empty();
        for r in chunk {
            let mut record = r.hash.0.to_vec();
            record.extend_from_slice(&r.canonical);
            let (resealed, hash) = sealer.reseal_record(&record, r.position, prev)?;
            prev = hash;
            pending.push(resealed);
        }
        while pending.len() >= MIGRATE_BATCH_RECORDS || (done && !pending.is_empty()) {
            let Some(cut) = batch_end(&pending, MIGRATE_BATCH_RECORDS, done) else {
                break;
            };
            let batch: Vec<Vec<u8>> = pending.drain(..cut).map(|p| p.record).collect();
            target.import_sealed(batch).await?;
        }
        if done {
            break;
        }
    }
    let (new_head, new_root) = roots(target).await?;
    Ok(ResealView {
        from: options.from.clone(),
        to: options.to.clone(),
        records_copied: new_head.position.saturating_sub(1),
        fields_sealed: sealer.counts.sealed,
        fields_dropped: sealer.counts.dropped,
        legacy_records_upgraded: sealer.counts.upgraded,
        keys_made: sealer.counts.keys_made,
        old: LogRootsView {
            head: head_view(&src_head),
            tree_root: src_root,
        },
        new: LogRootsView {
            head: head_view(&new_head),
            tree_root: new_root,
        },
    })
}

/// Refuses a key store that does not record an erasure the log records:
/// the erased person's clear legacy fields would otherwise be sealed under a
/// live key, readable again. Read before any record is written.
///
/// # Errors
/// [`TargetRefused`] naming the person and the key store; a source record
/// that does not read.
async fn check_erasures_known(
    source: &AnyStore,
    head: &Head,
    keys: &KeyStore,
) -> anyhow::Result<()> {
    let mut reader = Reader::new(source, 0, head.position).await?;
    loop {
        let chunk = reader.chunk().await?;
        if chunk.is_empty() {
            return Ok(());
        }
        for r in chunk {
            let mut record = r.hash.0.to_vec();
            record.extend_from_slice(&r.canonical);
            let written = record_as_written(&record).map_err(|e| {
                anyhow::anyhow!("the source's record {} does not decode: {e}", r.position)
            })?;
            let erasure = written.type_name == "PersonalDataErased";
            if erasure && keys.get(r.stream.id) != Some(KeyState::Erased) {
                return Err(TargetRefused(format!(
                    "the source's record {} erases person {}, but the key store {} does not                      record that erasure: it is not this ledger's key store (or an older                      copy of it); no record was written (reseal with the ledger's own key                      store: delete the target and run reseal again)",
                    r.position,
                    r.stream.id,
                    keys.path().display()
                ))
                .into());
            }
        }
    }
}

/// The new log's first record, `LedgerResealed`, and its hash. It is
/// recorded at the old log's first record's instant (instants never
/// decrease along a log), or at `now` for an empty one.
async fn first_record(
    source: &AnyStore,
    head: &Head,
    root: Hash,
    options: &ResealOptions,
) -> anyhow::Result<(Vec<u8>, Hash)> {
    let recorded_at = match head.position {
        0 => options.now,
        _ => {
            let mut one = Reader::new(source, 0, 1).await?;
            let first = one.chunk().await?;
            let r = first
                .first()
                .ok_or_else(|| anyhow::anyhow!("the source's record 1 cannot be read"))?;
            let mut record = r.hash.0.to_vec();
            record.extend_from_slice(&r.canonical);
            decode_record(&record)
                .map_err(|e| anyhow::anyhow!("the source's record 1 does not decode: {e}"))?
                .recorded_at
        }
    };
    let event_id = Uuid::now_v7();
    let e = NewEvent {
        event_id,
        effective_date: navigo_rules::calendar::paris_date(options.now),
        actor: options.actor.clone(),
        channel: None,
        correlation_id: event_id,
        causation_id: None,
        event: Event::LedgerResealed(LedgerResealed {
            source_records: head.position,
            source_head_hash: head.hash.to_string(),
            source_head_recorded_at: head.recorded_at,
            source_tree_size: head.position,
            source_tree_root: root.to_string(),
            source_store_format: store_format(source),
            resealed_at: options.now,
        }),
    };
    let a = Assigned {
        stream: StreamId::ledger(),
        stream_seq: 1,
        position: 1,
        recorded_at,
        idempotency_key: None,
        prev_hash: Hash::GENESIS,
    };
    Ok(encode_record(&a, &e)?)
}

/// Seals the personal fields of the old log's records, one at a time, in
/// order.
struct Sealer<'a> {
    keys: &'a KeyStore,
    /// Each contract's payer so far: whose key seals a legacy mandate an
    /// event carries without naming its payer.
    payers: HashMap<Uuid, Uuid>,
    /// Each contract's holder: whose key seals the proof of age of a Senior
    /// switch request written before it named its holder.
    holders: HashMap<Uuid, Uuid>,
    counts: Counts,
}

impl Sealer<'_> {
    /// The old record `record` at `position`, written again one position
    /// later after `prev`, its personal fields sealed; with its hash.
    fn reseal_record(
        &mut self,
        record: &[u8],
        position: u64,
        prev: Hash,
    ) -> anyhow::Result<(Pending, Hash)> {
        let mut env = decode_record(record)
            .map_err(|e| anyhow::anyhow!("the source's record {position} does not decode: {e}"))?;
        if env.stored_schema_version != env.event.schema_version() {
            self.counts.upgraded += 1;
        }
        self.seal_fields(&mut env)
            .map_err(|e| anyhow::anyhow!("the source's record {position}: {e}"))?;
        let (stream, stream_seq, recorded_at) = (env.stream, env.stream_seq, env.recorded_at);
        let key = env.idempotency_key.take();
        let a = Assigned {
            stream,
            stream_seq,
            position: position + 1,
            recorded_at,
            idempotency_key: key.as_deref(),
            prev_hash: prev,
        };
        let (bytes, hash) = encode_record(&a, &env.into_new())?;
        Ok((
            Pending {
                record: bytes,
                stream,
                key,
            },
            hash,
        ))
    }

    /// Seals every clear field of `env`: a person's fields with the person's
    /// key, a legacy mandate's account with its payer's.
    fn seal_fields(&mut self, env: &mut Envelope) -> anyhow::Result<()> {
        let (stream, event_id) = (env.stream, env.event_id);
        let payer = self.legacy_payer(stream, &mut env.event);
        if let (Some(payer), Some(m)) = (payer, env.event.mandate_mut()) {
            let id = m.sealing_id();
            self.seal_one(payer, id, &mut m.debtor)?;
        }
        for (person, sealing_id, field) in env.event.personal_fields_mut(stream.id, event_id) {
            self.seal_one(person, sealing_id, field)?;
        }
        Ok(())
    }

    /// The payer whose key seals the clear legacy mandate `event` carries, if
    /// it carries one; keeps each contract's payer current, and names the
    /// holder of a legacy Senior switch request and the person of a legacy
    /// annulment.
    fn legacy_payer(&mut self, stream: StreamId, event: &mut Event) -> Option<Uuid> {
        match event {
            Event::ContractSubscribed(s) => {
                self.payers.entry(stream.id).or_insert(s.payer);
                self.holders.entry(stream.id).or_insert(s.holder);
            }
            Event::SeniorSwitchRequested(r) if r.holder.is_none() => {
                r.holder = self.holders.get(&stream.id).copied();
            }
            // A legacy annulment's reason concerns the person of its stream,
            // or the holder of its contract, as the rules name them now.
            Event::EventAnnulled(a) if a.person.is_none() => {
                a.person = match stream.kind {
                    navigo_events_schema::StreamKind::Person => Some(stream.id),
                    navigo_events_schema::StreamKind::Contract => {
                        self.holders.get(&stream.id).copied()
                    }
                    _ => None,
                };
            }
            Event::PayerChanged(p) => {
                self.payers.insert(stream.id, p.payer);
            }
            _ => {}
        }
        let named = |m: &Mandate| m.debtor.sealed_for().or(m.payer);
        match event.mandate_mut() {
            Some(m) if named(m).is_none() => self.payers.get(&stream.id).copied(),
            _ => None,
        }
    }

    /// Seals one field for `person` if it is clear: with the person's key
    /// (made when the old key store had none), or, for an erased person,
    /// under a key drawn for it and dropped at once.
    fn seal_one(
        &mut self,
        person: Uuid,
        sealing_id: Uuid,
        field: &mut dyn SealedField,
    ) -> anyhow::Result<()> {
        if field.sealed_for().is_some() {
            return Ok(());
        }
        let key = match self.keys.get(person) {
            Some(KeyState::Live(k)) => {
                self.counts.sealed += 1;
                k
            }
            Some(KeyState::Erased) => {
                self.counts.dropped += 1;
                super::sealing::throwaway_key()?
            }
            None => {
                self.counts.sealed += 1;
                self.counts.keys_made += 1;
                self.keys.get_or_create(person)?
            }
        };
        field.seal(person, &key, sealing_id)?;
        Ok(())
    }
}
