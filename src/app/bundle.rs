//! Dispute bundles: one self-contained file settling a dispute about a
//! contract or a person offline. `make` gathers, from the store, the
//! contract's stream (or the person's and their contracts') and the streams
//! their views read, complete as of a signed checkpoint covering
//! what was known at an instant, with every proof; `check` verifies a bundle
//! with the public key alone (no store) and recomputes the contract's views.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use navigo_events_schema::views::{
    BundleCheck, BundleContractCheck, BundleRecord, BundleStream, DisputeBundle,
};
use navigo_events_schema::{decode_record, Envelope, StreamId, StreamKind};
use navigo_merkle::{
    check_head, leaf_hash, Checkpoint, CheckpointVerifier, ConsistencyProof, Hash, InclusionProof,
    StreamHead,
};
use navigo_projections::Query;
use navigo_store::EventStore;
use uuid::Uuid;

use super::error::BadInput;
use super::read;

/// The bundle of `id` as known at `known_at`: a contract's if `id` is a
/// contract, else a person's.
///
/// Decision: an id names a contract or a person (the ids of both are UUIDs
/// drawn apart), so the one `bundle ID` command serves both; a contract is
/// looked for first.
///
/// # Errors
/// [`BadInput`] for an id that is neither a contract nor a person, or when no
/// kept checkpoint covers what was known at `known_at`; the store keeps no
/// tree or fails.
pub async fn make<S: EventStore>(
    store: &S,
    id: Uuid,
    known_at: DateTime<Utc>,
) -> anyhow::Result<DisputeBundle> {
    let events = navigo_ledger_core::load::read_contract(store, id, true).await?;
    if !events.is_empty() {
        let mut b = prove(store, &events, known_at).await?;
        b.contract = Some(id.to_string());
        return Ok(b);
    }
    let person = store
        .read_stream(StreamId::person(id), 1..=u64::MAX)
        .await?;
    if person.is_empty() {
        return Err(BadInput(format!("{id}: no such contract or person")).into());
    }
    let (events, contracts) = person_events(store, id, known_at).await?;
    let mut b = prove(store, &events, known_at).await?;
    b.person = Some(id.to_string());
    b.contracts = contracts.iter().map(ToString::to_string).collect();
    Ok(b)
}

/// The envelopes a person's bundle holds, and the person's contracts as known
/// at `known_at`: the person's stream, every contract one of whose records
/// recorded by `known_at` names the person as holder or payer, and the streams
/// those contracts' views read (the catalogue, their parties).
///
/// Decision: a past payer's contracts are the person's too (a dispute about
/// debits taken while they paid needs them), and the contracts are found by
/// reading the whole log once: the ledger's indexes of contracts by holder
/// and payer are of the present, not as known at an instant.
async fn person_events<S: EventStore>(
    store: &S,
    person: Uuid,
    known_at: DateTime<Utc>,
) -> anyhow::Result<(Vec<Envelope>, BTreeSet<Uuid>)> {
    let all = navigo_ledger_core::load::read_everything(store).await?;
    let contracts: BTreeSet<Uuid> = all
        .iter()
        .filter(|e| e.stream.kind == StreamKind::Contract && e.recorded_at <= known_at)
        .filter(|e| e.event.contract_parties().contains(&person))
        .map(|e| e.stream.id)
        .collect();
    let mut streams = BTreeSet::from([StreamId::person(person), StreamId::catalogue()]);
    for e in &all {
        if e.stream.kind == StreamKind::Contract && contracts.contains(&e.stream.id) {
            streams.insert(e.stream);
            streams.extend(e.event.contract_parties().into_iter().map(StreamId::person));
        }
    }
    let events = all
        .into_iter()
        .filter(|e| streams.contains(&e.stream))
        .collect();
    Ok((events, contracts))
}

/// The bundle of `events` (in position order, every record of their streams)
/// as known at `known_at`, its subject left for the caller to name.
async fn prove<S: EventStore>(
    store: &S,
    events: &[Envelope],
    known_at: DateTime<Utc>,
) -> anyhow::Result<DisputeBundle> {
    let known = events
        .iter()
        .filter(|e| e.recorded_at <= known_at)
        .map(|e| e.position)
        .max()
        .unwrap_or(0);
    let kept = store.checkpoints().await?;
    let opened: Vec<Checkpoint> = kept
        .iter()
        .map(|n| Checkpoint::read_unverified(n))
        .collect::<Result<_, _>>()?;
    let at = opened
        .iter()
        .position(|c| c.size >= known.max(1))
        .ok_or_else(|| {
            BadInput(format!(
                "no kept checkpoint covers position {known}, the last of the bundle's records \
             known at {known_at}: issue one (`checkpoint`) first"
            ))
        })?;
    let (c, latest) = (&opened[at], &opened[opened.len() - 1]);
    let consistency = store.prove_consistency(c.size, latest.size).await?;
    let heads = store.stream_heads(c.size).await?;
    let mut names: Vec<StreamId> = events.iter().map(|e| e.stream).collect();
    names.sort_by_key(ToString::to_string);
    names.dedup();
    let mut streams = Vec::new();
    for stream in names {
        let Some((head, entry)) = heads.prove(&stream.to_string()) else {
            continue;
        };
        let mut records = Vec::new();
        for e in events
            .iter()
            .filter(|e| e.stream == stream && e.position <= c.size)
        {
            let (proof, record) = store.prove_inclusion(c.size, e.position).await?;
            records.push(BundleRecord {
                position: e.position,
                record: String::from_utf8_lossy(&record).into_owned(),
                path: proof.path.iter().map(ToString::to_string).collect(),
            });
        }
        streams.push(BundleStream {
            stream: head.stream,
            version: head.version,
            last_position: head.last_position,
            entry_index: entry.index,
            entry_path: entry.path.iter().map(ToString::to_string).collect(),
            records,
        });
    }
    Ok(DisputeBundle {
        contract: None,
        person: None,
        contracts: Vec::new(),
        known_at: known_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        checkpoint: String::from_utf8_lossy(&kept[at]).into_owned(),
        latest_checkpoint: String::from_utf8_lossy(&kept[kept.len() - 1]).into_owned(),
        consistency_path: consistency.path.iter().map(ToString::to_string).collect(),
        streams,
    })
}

fn hash(field: &str, s: &str) -> anyhow::Result<Hash> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| anyhow::anyhow!("{field}: {s:?} is not a base64 SHA-256 hash"))
}

fn hashes(field: &str, v: &[String]) -> anyhow::Result<Vec<Hash>> {
    v.iter().map(|s| hash(field, s)).collect()
}

/// Checks `bundle` with the verifier key `public_key` alone and recomputes the
/// balance and calendar on `at`, as known at the bundle's instant, of its
/// contract or of each of its person's contracts.
///
/// # Errors
/// A signature, proof or record that does not hold, naming it.
pub fn check(
    bundle: &DisputeBundle,
    public_key: &str,
    at: NaiveDate,
) -> anyhow::Result<BundleCheck> {
    let verifier = CheckpointVerifier::new(public_key)?;
    let c = verifier.open(bundle.checkpoint.as_bytes())?;
    let latest = verifier.open(bundle.latest_checkpoint.as_bytes())?;
    if c.origin != latest.origin {
        anyhow::bail!(
            "the two checkpoints are of two logs ({} and {})",
            c.origin,
            latest.origin
        );
    }
    ConsistencyProof {
        old_size: c.size,
        new_size: latest.size,
        path: hashes("consistency_path", &bundle.consistency_path)?,
    }
    .check(c.tree(), latest.tree())?;
    let mut events = Vec::new();
    for s in &bundle.streams {
        events.extend(check_stream(s, &c)?);
    }
    events.sort_by_key(|e| e.position);
    let known_at: DateTime<Utc> = DateTime::parse_from_rfc3339(&bundle.known_at)?.into();
    let q = Query {
        at,
        known_at: Some(known_at),
    };
    let mut out = BundleCheck {
        ok: true,
        contract: None,
        person: None,
        known_at: bundle.known_at.clone(),
        checkpoint_size: c.size,
        latest_size: latest.size,
        records_checked: events.len() as u64,
        balance: None,
        calendar: None,
        contracts: Vec::new(),
    };
    match (&bundle.contract, &bundle.person) {
        (Some(contract), None) if bundle.contracts.is_empty() => {
            let contract: Uuid = contract.parse()?;
            holds_stream(&events, StreamId::contract(contract))?;
            out.contract = Some(contract.to_string());
            out.balance = Some(read::contract_balance(&events, contract, &q)?);
            out.calendar = Some(read::calendar(&events, contract, &q, None)?);
        }
        (None, Some(person)) => {
            let person: Uuid = person.parse()?;
            out.person = Some(person.to_string());
            out.contracts = check_person(bundle, &events, person, &q)?;
        }
        _ => anyhow::bail!(
            "the bundle names neither one contract nor one person (with its contracts)"
        ),
    }
    Ok(out)
}

fn holds_stream(events: &[Envelope], stream: StreamId) -> anyhow::Result<()> {
    if events.iter().any(|e| e.stream == stream) {
        Ok(())
    } else {
        anyhow::bail!("the bundle holds no stream {stream}")
    }
}

/// A person's bundle: the person's stream is there, each listed contract's
/// stream is there and names the person as holder or payer in a record known
/// at the bundle's instant, and each contract's views recomputed.
///
/// The signed stream-head map proves each stream in the bundle complete; it
/// does not index contracts by person, so that no contract of the person is
/// left out of the list rests on the ledger that wrote the bundle.
fn check_person(
    bundle: &DisputeBundle,
    events: &[Envelope],
    person: Uuid,
    q: &Query,
) -> anyhow::Result<Vec<BundleContractCheck>> {
    holds_stream(events, StreamId::person(person))?;
    let mut out = Vec::new();
    for (i, contract) in bundle.contracts.iter().enumerate() {
        let contract: Uuid = contract
            .parse()
            .map_err(|e| anyhow::anyhow!("contracts[{i}] is not a UUID: {e}"))?;
        let stream = StreamId::contract(contract);
        holds_stream(events, stream)?;
        let names = events.iter().any(|e| {
            e.stream == stream
                && !matches!(q.known_at, Some(t) if e.recorded_at > t)
                && e.event.contract_parties().contains(&person)
        });
        if !names {
            anyhow::bail!(
                "contract {contract} does not name person {person} as holder or payer as known \
                 at {}",
                bundle.known_at
            );
        }
        out.push(BundleContractCheck {
            contract: contract.to_string(),
            balance: read::contract_balance(events, contract, q)?,
            calendar: read::calendar(events, contract, q, None)?,
        });
    }
    Ok(out)
}

/// One stream of a bundle: its entry in the signed map, then each of its
/// `version` records in sequence, in the checkpoint's tree.
fn check_stream(s: &BundleStream, c: &Checkpoint) -> anyhow::Result<Vec<Envelope>> {
    let head = StreamHead {
        stream: s.stream.clone(),
        version: s.version,
        last_position: s.last_position,
    };
    let entry = InclusionProof {
        size: c.heads_count,
        index: s.entry_index,
        leaf: leaf_hash(&head.leaf_bytes()),
        path: hashes("entry_path", &s.entry_path)?,
    };
    check_head(&head, &entry, c.heads())?;
    if s.records.len() as u64 != s.version {
        anyhow::bail!(
            "{}: the signed map says {} records, the bundle holds {}",
            s.stream,
            s.version,
            s.records.len()
        );
    }
    let mut out = Vec::new();
    for (seq, r) in (1u64..).zip(&s.records) {
        let bytes = r.record.as_bytes();
        InclusionProof {
            size: c.size,
            index: r.position.checked_sub(1).unwrap_or(u64::MAX),
            leaf: leaf_hash(bytes),
            path: hashes("path", &r.path)?,
        }
        .check(c.tree())
        .map_err(|e| anyhow::anyhow!("{} record at position {}: {e}", s.stream, r.position))?;
        let mut stored = blake3::hash(bytes).as_bytes().to_vec();
        stored.extend_from_slice(bytes);
        let e = decode_record(&stored)
            .map_err(|e| anyhow::anyhow!("record at position {}: {e}", r.position))?;
        if e.stream.to_string() != s.stream || e.stream_seq != seq || e.position != r.position {
            anyhow::bail!(
                "record at position {} is {} seq {}, not {} seq {seq}",
                r.position,
                e.stream,
                e.stream_seq,
                s.stream
            );
        }
        out.push(e);
    }
    if out.last().map(|e| e.position) != Some(s.last_position) {
        anyhow::bail!(
            "{}: the last record is not at position {}",
            s.stream,
            s.last_position
        );
    }
    Ok(out)
}
