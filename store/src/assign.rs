//! What every backend decides the same way when it appends, so that a log means
//! the same thing whichever backend wrote it and an append retried on another
//! backend is recognised: the recorded-at instant of a request and the content
//! digest behind idempotency keys.

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::envelope::PreEncoded;
use navigo_events_schema::types::{Actor, Channel};
use navigo_events_schema::{Assigned, Envelope, Hash, NewEvent, StreamId};

use crate::{AppendOutcome, AppendRequest, Head, Limits, StoreError};

/// The recorded-at instant of a request, given the store clock's reading `now`
/// (a backend reads it once per group commit).
///
/// An import instant earlier than the head is refused as out of order. The
/// store's own clock earlier than the head (a system clock stepped back) is
/// clamped to the head's instant instead: the service must keep accepting
/// appends, and recorded-at must never decrease with position.
///
/// # Errors
/// [`StoreError::OutOfOrder`] for an import instant earlier than the head's.
pub fn recorded_at(
    now: DateTime<Utc>,
    head: &Head,
    import: Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>, StoreError> {
    match (import, head.recorded_at) {
        (Some(given), Some(h)) if given < h => Err(StoreError::OutOfOrder { given, head: h }),
        (Some(given), _) => Ok(given),
        (None, Some(h)) => Ok(now.max(h)),
        (None, None) => Ok(now),
    }
}

/// The digest that decides whether a retry with the same idempotency key carries
/// "the same content"; `encoded` holds the request's events pre-encoded
/// ([`PreEncoded::new`]), one per event, in order.
///
/// Decision (RULES.md leaves it open): the same content is the same stream and,
/// event by event, the same type, schema version, effective date, actor, channel
/// and payload. Event ids, correlation and causation ids are left out because a
/// client that retries may generate them afresh; the expected version and the
/// import instant are left out because they describe the attempt, not the facts.
/// The payloads are taken from the pre-encoded events (the same bytes
/// `Event::write_data` writes), so the digest is the one earlier versions stored,
/// and every backend stores the same digest for the same request.
///
/// # Errors
/// [`StoreError::Encode`] when an actor or channel cannot be serialised.
pub fn content_digest(r: &AppendRequest, encoded: &[PreEncoded]) -> Result<[u8; 32], StoreError> {
    let events: Vec<DigestEvent<'_>> = r
        .events
        .iter()
        .zip(encoded)
        .map(|(e, pre)| DigestEvent {
            type_name: e.event.type_name(),
            schema_version: e.event.schema_version(),
            effective_date: e.effective_date,
            actor: &e.actor,
            channel: e.channel,
            data: pre.data(),
        })
        .collect();
    digest_of(&r.stream, &events)
}

/// What [`content_digest`] covers of one event: its type name, schema
/// version and payload as written, effective date, actor and channel.
#[derive(Debug, Clone, Copy)]
pub struct DigestEvent<'a> {
    /// The type name as written.
    pub type_name: &'a str,
    /// The schema version as written.
    pub schema_version: u32,
    /// The effective date.
    pub effective_date: NaiveDate,
    /// Who.
    pub actor: &'a Actor,
    /// The channel, if any.
    pub channel: Option<Channel>,
    /// The payload JSON as written.
    pub data: &'a [u8],
}

/// The content digest of an append of `events` to `stream`: the digest
/// [`content_digest`] computes from a request, computed from its parts, so
/// that a store rebuilding its key index from sealed records
/// ([`crate::sealed`]) stores the digest the first store stored.
///
/// # Errors
/// [`StoreError::Encode`] when an actor or channel cannot be serialised.
pub fn digest_of(stream: &StreamId, events: &[DigestEvent<'_>]) -> Result<[u8; 32], StoreError> {
    fn field(h: &mut blake3::Hasher, b: &[u8]) {
        h.update(&(b.len() as u64).to_be_bytes());
        h.update(b);
    }
    let enc = |e: serde_json::Error| StoreError::Encode(e.to_string());
    let mut h = blake3::Hasher::new();
    field(&mut h, b"navigo-append-content-v1");
    field(&mut h, &stream.key_bytes());
    h.update(&(events.len() as u64).to_be_bytes());
    for e in events {
        field(&mut h, e.type_name.as_bytes());
        h.update(&e.schema_version.to_be_bytes());
        field(&mut h, e.effective_date.to_string().as_bytes());
        field(&mut h, &serde_json::to_vec(e.actor).map_err(enc)?);
        field(&mut h, &serde_json::to_vec(&e.channel).map_err(enc)?);
        field(&mut h, e.data);
    }
    Ok(*h.finalize().as_bytes())
}

/// An append request with the work that does not depend on the log's state done
/// ahead, on the caller's task: its events pre-encoded and its content digest.
///
/// A backend's single writer then only validates, splices in what it assigns
/// (position, stream sequence, recorded-at, previous hash) and hashes, while
/// concurrent callers encode in parallel on every core.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The request.
    pub request: AppendRequest,
    /// One per event, in order; empty when the request breaks a limit that
    /// [`Prepared::check`] refuses before anything is encoded.
    pub encoded: Vec<PreEncoded>,
    /// The content digest, when the request carries an idempotency key.
    pub digest: Option<[u8; 32]>,
}

impl Prepared {
    /// Encodes the request's events (everything but what the writer assigns)
    /// and its content digest. A request that breaks `events_per_append_max` or
    /// `idempotency_key_bytes_max` is not encoded: [`Prepared::check`] refuses it.
    ///
    /// # Errors
    /// [`StoreError::Encode`] when an event cannot be serialised.
    pub fn new(request: AppendRequest, limits: &Limits) -> Result<Prepared, StoreError> {
        let too_many = request.events.len() as u64 > u64::from(limits.events_per_append_max);
        let key_too_long = request
            .idempotency_key
            .as_ref()
            .is_some_and(|k| k.len() as u64 > u64::from(limits.idempotency_key_bytes_max));
        if too_many || key_too_long {
            return Ok(Prepared {
                request,
                encoded: Vec::new(),
                digest: None,
            });
        }
        let enc = |e: serde_json::Error| StoreError::Encode(e.to_string());
        let key = request.idempotency_key.as_deref();
        let encoded = request
            .events
            .iter()
            .map(|e| PreEncoded::new(request.stream, key, e).map_err(enc))
            .collect::<Result<Vec<_>, _>>()?;
        let digest = match key {
            Some(_) => Some(content_digest(&request, &encoded)?),
            None => None,
        };
        Ok(Prepared {
            request,
            encoded,
            digest,
        })
    }

    /// What a writer refuses before looking at the log: an empty append, too
    /// many events, too long a key, or a request that was not encoded.
    ///
    /// # Errors
    /// [`StoreError::Empty`], [`StoreError::LimitExceeded`] naming the limit,
    /// or [`StoreError::Encode`].
    pub fn check(&self, limits: &Limits) -> Result<(), StoreError> {
        let r = &self.request;
        if r.events.is_empty() {
            return Err(StoreError::Empty);
        }
        let n = r.events.len() as u64;
        if n > u64::from(limits.events_per_append_max) {
            return Err(StoreError::LimitExceeded {
                limit: "events_per_append_max",
                max: u64::from(limits.events_per_append_max),
                actual: n,
            });
        }
        if let Some(key) = &r.idempotency_key {
            if key.len() as u64 > u64::from(limits.idempotency_key_bytes_max) {
                return Err(StoreError::LimitExceeded {
                    limit: "idempotency_key_bytes_max",
                    max: u64::from(limits.idempotency_key_bytes_max),
                    actual: key.len() as u64,
                });
            }
            if self.digest.is_none() {
                return Err(unprepared());
            }
        }
        if self.encoded.len() != r.events.len() {
            return Err(unprepared());
        }
        Ok(())
    }
}

fn unprepared() -> StoreError {
    StoreError::Encode("the request reached the writer unprepared".into())
}

/// Refuses a record longer than `event_bytes_max`.
///
/// # Errors
/// [`StoreError::LimitExceeded`] naming `event_bytes_max`.
pub fn check_record_len(record: &[u8], limits: &Limits) -> Result<(), StoreError> {
    let len = record.len() as u64;
    if len > u64::from(limits.event_bytes_max) {
        return Err(StoreError::LimitExceeded {
            limit: "event_bytes_max",
            max: u64::from(limits.event_bytes_max),
            actual: len,
        });
    }
    Ok(())
}

/// What a backend's writer assigned to the events of an append written now:
/// with the request's events, everything an [`Envelope`] holds, so that a
/// caller can have the stored envelopes without reading them back
/// (`EventStore::append_stored`).
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The recorded-at instant of every event of the append.
    pub recorded_at: DateTime<Utc>,
    /// The hash of the record before the first event.
    pub prev_hash: Hash,
    /// Each event's record hash, in order.
    pub hashes: Vec<Hash>,
}

/// The stored envelopes of an append, built from the request's `events` and
/// what the writer assigned, instead of read back: empty unless the append
/// was written now (a retry already appended returns no envelope).
///
/// Decision (the read-back of every decision was a tenth of the demo's
/// time): the writer hashed exactly these events' canonical records, and the
/// population tests compare the live world built this way with the world
/// folded again from the store after every run (`Envelope::assemble` says why
/// the two agree).
pub fn stored_envelopes(
    stream: StreamId,
    idempotency_key: Option<&str>,
    events: Vec<NewEvent>,
    outcome: &AppendOutcome,
    written: Option<Written>,
) -> Vec<Envelope> {
    let (
        AppendOutcome::Appended {
            positions,
            stream_version,
        },
        Some(w),
    ) = (outcome, written)
    else {
        return Vec::new();
    };
    let first_seq = stream_version.saturating_sub(positions.len() as u64) + 1;
    let mut prev_hash = w.prev_hash;
    let mut out = Vec::with_capacity(events.len());
    for (((e, hash), &position), i) in events.into_iter().zip(w.hashes).zip(positions).zip(0..) {
        let a = Assigned {
            stream,
            stream_seq: first_seq + i,
            position,
            recorded_at: w.recorded_at,
            idempotency_key,
            prev_hash,
        };
        out.push(Envelope::assemble(&a, e, hash));
        prev_hash = hash;
    }
    out
}
