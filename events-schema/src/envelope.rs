//! The envelope around every event, and the canonical bytes of a stored record.
//!
//! A stored record is `hash (32 bytes) ‖ canonical JSON`. The canonical JSON holds
//! every envelope field, the event's type, schema version and payload, and the
//! previous record's hash; the record's hash is BLAKE3 of that JSON. The chain is
//! therefore verified by hashing stored bytes, never by re-serialising decoded values.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::event::Event;
use crate::types::{string_serde, Actor, Channel, ParseError};
use crate::DecodeError;

/// The kinds of streams.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// One contract.
    Contract,
    /// One person (holder or payer).
    Person,
    /// The tariff catalogue and other reference data.
    Catalogue,
    /// One punctuality refund campaign.
    Campaign,
    /// The ledger's own records (`LedgerResealed`), about the log rather
    /// than any contract, person or reference data.
    Ledger,
    /// The files exchanged with the bank (one stream, nil UUID): evidence of
    /// what was sent and read, folded by nothing that computes money.
    Bank,
}

impl StreamKind {
    /// Every kind.
    pub const ALL: [StreamKind; 6] = [
        StreamKind::Contract,
        StreamKind::Person,
        StreamKind::Catalogue,
        StreamKind::Campaign,
        StreamKind::Ledger,
        StreamKind::Bank,
    ];
    /// The one-byte tag used in storage keys. Persisted: never renumber.
    pub fn tag(self) -> u8 {
        match self {
            StreamKind::Contract => 1,
            StreamKind::Person => 2,
            StreamKind::Catalogue => 3,
            StreamKind::Campaign => 4,
            StreamKind::Ledger => 5,
            StreamKind::Bank => 6,
        }
    }
    /// The kind of a storage tag.
    pub fn from_tag(tag: u8) -> Option<StreamKind> {
        StreamKind::ALL.into_iter().find(|k| k.tag() == tag)
    }
    /// The name used in stream ids.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Contract => "contract",
            StreamKind::Person => "person",
            StreamKind::Catalogue => "catalogue",
            StreamKind::Campaign => "campaign",
            StreamKind::Ledger => "ledger",
            StreamKind::Bank => "bank",
        }
    }
}

/// A stream id: a kind and a UUID, written `contract:0192…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// The kind.
    pub kind: StreamKind,
    /// The UUID.
    pub id: Uuid,
}

impl StreamId {
    /// Length of [`StreamId::key_bytes`].
    pub const KEY_LEN: usize = 17;

    /// Builds a stream id.
    pub fn new(kind: StreamKind, id: Uuid) -> StreamId {
        StreamId { kind, id }
    }
    /// A contract stream.
    pub fn contract(id: Uuid) -> StreamId {
        StreamId::new(StreamKind::Contract, id)
    }
    /// A person stream.
    pub fn person(id: Uuid) -> StreamId {
        StreamId::new(StreamKind::Person, id)
    }
    /// The one catalogue stream (nil UUID).
    pub fn catalogue() -> StreamId {
        StreamId::new(StreamKind::Catalogue, Uuid::nil())
    }
    /// A campaign stream.
    pub fn campaign(id: Uuid) -> StreamId {
        StreamId::new(StreamKind::Campaign, id)
    }
    /// The ledger's own stream (nil UUID).
    pub fn ledger() -> StreamId {
        StreamId::new(StreamKind::Ledger, Uuid::nil())
    }
    /// The one bank stream (nil UUID): the collection files issued and the
    /// bank's files imported.
    pub fn bank() -> StreamId {
        StreamId::new(StreamKind::Bank, Uuid::nil())
    }
    /// Fixed-width storage key: kind tag then the 16 UUID bytes.
    pub fn key_bytes(&self) -> [u8; Self::KEY_LEN] {
        let mut k = [0u8; Self::KEY_LEN];
        k[0] = self.kind.tag();
        k[1..].copy_from_slice(self.id.as_bytes());
        k
    }
    /// Parses [`StreamId::key_bytes`].
    pub fn from_key_bytes(b: &[u8]) -> Option<StreamId> {
        if b.len() < Self::KEY_LEN {
            return None;
        }
        let kind = StreamKind::from_tag(b[0])?;
        let id = Uuid::from_slice(&b[1..Self::KEY_LEN]).ok()?;
        Some(StreamId { kind, id })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

impl FromStr for StreamId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<StreamId, ParseError> {
        let bad = || ParseError {
            what: "stream id",
            input: s.to_owned(),
            why: "KIND:UUID with KIND one of contract, person, catalogue, campaign, ledger, bank",
        };
        let (k, id) = s.trim().split_once(':').ok_or_else(bad)?;
        let kind = StreamKind::ALL
            .into_iter()
            .find(|x| x.as_str() == k)
            .ok_or_else(bad)?;
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(StreamId { kind, id })
    }
}

string_serde!(
    StreamId,
    "StreamId",
    "^(contract|person|catalogue|campaign|ledger|bank):[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "A stream id, KIND:UUID."
);

/// A BLAKE3 hash of a record, or the all-zero genesis hash before the first record.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The hash before the first record.
    pub const GENESIS: Hash = Hash([0u8; 32]);
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Hash {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Hash, ParseError> {
        let bad = || ParseError {
            what: "hash",
            input: s.to_owned(),
            why: "64 lower-case hexadecimal digits",
        };
        if s.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hi = (chunk[0] as char).to_digit(16).ok_or_else(bad)?;
            let lo = (chunk[1] as char).to_digit(16).ok_or_else(bad)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(Hash(out))
    }
}

string_serde!(Hash, "Hash", "^[0-9a-f]{64}$");

/// An event as handed to the store: everything but what the store assigns
/// (stream sequence, global position, recorded-at, hashes).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// UUID v7 of the event.
    pub event_id: Uuid,
    /// When it takes effect in the contract's life (Europe/Paris civil date).
    pub effective_date: NaiveDate,
    /// Who did it.
    pub actor: Actor,
    /// Through which channel, for customer requests.
    pub channel: Option<Channel>,
    /// Groups the events of one request.
    pub correlation_id: Uuid,
    /// The event or command that caused this one.
    pub causation_id: Option<Uuid>,
    /// The event.
    pub event: Event,
}

/// What the store assigns when it appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned<'a> {
    /// The stream.
    pub stream: StreamId,
    /// Sequence within the stream, from 1, gapless.
    pub stream_seq: u64,
    /// Global position, from 1, gapless.
    pub position: u64,
    /// UTC instant the ledger learnt the event.
    pub recorded_at: DateTime<Utc>,
    /// The append's idempotency key.
    pub idempotency_key: Option<&'a str>,
    /// Hash of the record at `position - 1` (genesis for position 1).
    pub prev_hash: Hash,
}

/// A stored event with its whole envelope, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Global position, from 1, gapless.
    pub position: u64,
    /// The stream.
    pub stream: StreamId,
    /// Sequence within the stream, from 1, gapless.
    pub stream_seq: u64,
    /// UUID v7.
    pub event_id: Uuid,
    /// Effective date (Europe/Paris).
    pub effective_date: NaiveDate,
    /// Recorded-at instant (UTC), never decreasing with position.
    pub recorded_at: DateTime<Utc>,
    /// Who.
    pub actor: Actor,
    /// Channel, for customer requests.
    pub channel: Option<Channel>,
    /// The append's idempotency key.
    pub idempotency_key: Option<String>,
    /// Correlation id.
    pub correlation_id: Uuid,
    /// Causation id.
    pub causation_id: Option<Uuid>,
    /// Schema version as stored (before any upcasting).
    pub stored_schema_version: u32,
    /// The event, upcast to the current version.
    pub event: Event,
    /// Hash of the previous record.
    pub prev_hash: Hash,
    /// Hash of this record.
    pub hash: Hash,
}

impl Envelope {
    /// The envelope of a new event once stored with the fields `a` the store
    /// assigned and its record's `hash`: what reading the record back returns
    /// (a new event is stored at its current schema version, so nothing is
    /// upcast; its money is two-decimal and its instants exact, so the record's
    /// JSON decodes to the same values).
    pub fn assemble(a: &Assigned<'_>, e: NewEvent, hash: Hash) -> Envelope {
        Envelope {
            position: a.position,
            stream: a.stream,
            stream_seq: a.stream_seq,
            event_id: e.event_id,
            effective_date: e.effective_date,
            recorded_at: a.recorded_at,
            actor: e.actor,
            channel: e.channel,
            idempotency_key: a.idempotency_key.map(str::to_owned),
            correlation_id: e.correlation_id,
            causation_id: e.causation_id,
            stored_schema_version: e.event.schema_version(),
            event: e.event,
            prev_hash: a.prev_hash,
            hash,
        }
    }

    /// The new event an envelope was assembled from ([`Envelope::assemble`]'s
    /// inverse for the event's own fields: what the store assigned is dropped).
    /// A look-ahead that folds a provisional envelope takes its event back with
    /// it instead of folding a copy.
    pub fn into_new(self) -> NewEvent {
        NewEvent {
            event_id: self.event_id,
            effective_date: self.effective_date,
            actor: self.actor,
            channel: self.channel,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            event: self.event,
        }
    }
}

/// The canonical JSON of a record, field order fixed by this struct.
#[derive(Serialize)]
struct RecordOut<'a> {
    position: u64,
    stream: StreamId,
    stream_seq: u64,
    event_id: Uuid,
    #[serde(rename = "type")]
    type_name: &'a str,
    schema_version: u32,
    effective_date: NaiveDate,
    recorded_at: DateTime<Utc>,
    actor: &'a Actor,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<Channel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<&'a str>,
    correlation_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    causation_id: Option<Uuid>,
    prev_hash: Hash,
    data: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordIn<'a> {
    position: u64,
    stream: StreamId,
    stream_seq: u64,
    event_id: Uuid,
    #[serde(rename = "type", borrow)]
    type_name: Cow<'a, str>,
    schema_version: u32,
    effective_date: NaiveDate,
    recorded_at: DateTime<Utc>,
    actor: Actor,
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    idempotency_key: Option<String>,
    correlation_id: Uuid,
    #[serde(default)]
    causation_id: Option<Uuid>,
    prev_hash: Hash,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Length of the hash prefix of a stored record.
pub const HASH_LEN: usize = 32;

/// Encodes a record: returns `hash ‖ canonical JSON` and the hash.
///
/// # Errors
/// Only if serde_json fails to serialise the payload.
pub fn encode_record(a: &Assigned<'_>, e: &NewEvent) -> Result<(Vec<u8>, Hash), serde_json::Error> {
    let mut data = Vec::with_capacity(256);
    e.event.write_data(&mut data)?;
    // The payload was just produced by serde_json, so it is valid JSON.
    let data = std::str::from_utf8(&data).map_err(serde::ser::Error::custom)?;
    let raw = RawValue::from_string(data.to_owned())?;
    let out = RecordOut {
        position: a.position,
        stream: a.stream,
        stream_seq: a.stream_seq,
        event_id: e.event_id,
        type_name: e.event.type_name(),
        schema_version: e.event.schema_version(),
        effective_date: e.effective_date,
        recorded_at: a.recorded_at,
        actor: &e.actor,
        channel: e.channel,
        idempotency_key: a.idempotency_key,
        correlation_id: e.correlation_id,
        causation_id: e.causation_id,
        prev_hash: a.prev_hash,
        data: &raw,
    };
    let mut buf = vec![0u8; HASH_LEN];
    serde_json::to_writer(&mut buf, &out)?;
    let hash = Hash(*blake3::hash(&buf[HASH_LEN..]).as_bytes());
    buf[..HASH_LEN].copy_from_slice(&hash.0);
    Ok((buf, hash))
}

/// The parts of a record that do not depend on where it lands in the log,
/// encoded ahead of time so that the store's single writer thread only splices
/// in what it assigns (position, stream sequence, recorded-at, previous hash) and
/// hashes.
///
/// The invariant fields are serialised by serde, through the same `RecordOut`
/// field types as [`encode_record`], one group of consecutive fields at a time;
/// serde_json's compact output of a struct is `{` then the fields separated by
/// `,` then `}`, so the groups with their braces stripped and joined by `,` are
/// byte for byte the output of the whole struct. [`PreEncoded::finish`] therefore
/// produces exactly the bytes of [`encode_record`] (a property test in the store
/// checks this over random envelopes), and the stored format is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreEncoded {
    /// `,"stream":…,"stream_seq":` ‖ `,"event_id":…,"recorded_at":` ‖
    /// `,"actor":…,"prev_hash":"` ‖ `","data":…}`, cut at `cuts`.
    parts: Vec<u8>,
    cuts: [usize; 3],
    /// Where the payload starts inside the last part.
    data_start: usize,
}

/// The field between `position` and `stream_seq`.
#[derive(Serialize)]
struct GroupStream {
    stream: StreamId,
}

/// The fields between `stream_seq` and `recorded_at`.
#[derive(Serialize)]
struct GroupIdentity<'a> {
    event_id: Uuid,
    #[serde(rename = "type")]
    type_name: &'a str,
    schema_version: u32,
    effective_date: NaiveDate,
}

/// The fields between `recorded_at` and `prev_hash`.
#[derive(Serialize)]
struct GroupOrigin<'a> {
    actor: &'a Actor,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<Channel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<&'a str>,
    correlation_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    causation_id: Option<Uuid>,
}

/// Appends `{…}` of a group without its braces.
fn push_group<T: Serialize>(out: &mut Vec<u8>, group: &T) -> Result<(), serde_json::Error> {
    let start = out.len();
    serde_json::to_writer(&mut *out, group)?;
    // serde_json always writes a struct as `{…}`; anything else is a bug here.
    if out.len() < start + 2 || out[start] != b'{' || out.last() != Some(&b'}') {
        return Err(serde::ser::Error::custom(
            "a field group did not encode as an object",
        ));
    }
    out.pop();
    out.remove(start);
    Ok(())
}

/// Appends the decimal digits of `n`.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends the lower-case hexadecimal form of a hash (as its `Display`).
fn push_hex(out: &mut Vec<u8>, h: &Hash) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in h.0 {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0x0f)]);
    }
}

impl PreEncoded {
    /// Encodes everything of a record but the position, stream sequence,
    /// recorded-at instant and previous hash.
    ///
    /// # Errors
    /// Only if serde_json fails to serialise the payload.
    pub fn new(
        stream: StreamId,
        idempotency_key: Option<&str>,
        e: &NewEvent,
    ) -> Result<PreEncoded, serde_json::Error> {
        let mut parts = Vec::with_capacity(512);
        parts.push(b',');
        push_group(&mut parts, &GroupStream { stream })?;
        parts.extend_from_slice(b",\"stream_seq\":");
        let cut0 = parts.len();
        parts.push(b',');
        push_group(
            &mut parts,
            &GroupIdentity {
                event_id: e.event_id,
                type_name: e.event.type_name(),
                schema_version: e.event.schema_version(),
                effective_date: e.effective_date,
            },
        )?;
        parts.extend_from_slice(b",\"recorded_at\":");
        let cut1 = parts.len();
        parts.push(b',');
        push_group(
            &mut parts,
            &GroupOrigin {
                actor: &e.actor,
                channel: e.channel,
                idempotency_key,
                correlation_id: e.correlation_id,
                causation_id: e.causation_id,
            },
        )?;
        parts.extend_from_slice(b",\"prev_hash\":\"");
        let cut2 = parts.len();
        parts.extend_from_slice(b"\",\"data\":");
        let data_start = parts.len() - cut2;
        e.event.write_data(&mut parts)?;
        parts.push(b'}');
        Ok(PreEncoded {
            parts,
            cuts: [cut0, cut1, cut2],
            data_start,
        })
    }

    /// The payload JSON, as `Event::write_data` wrote it.
    pub fn data(&self) -> &[u8] {
        let tail = &self.parts[self.cuts[2]..];
        &tail[self.data_start..tail.len() - 1]
    }

    /// An upper bound of the record's length, for reserving.
    pub fn record_len_max(&self) -> usize {
        // Hash prefix, `{"position":`, two u64, a recorded-at and a hash.
        HASH_LEN + 12 + 2 * 20 + 40 + 64 + self.parts.len()
    }

    /// Appends `hash ‖ canonical JSON` of the record to `out` (exactly the bytes
    /// [`encode_record`] returns for the same fields) and returns the hash.
    /// `recorded_at_json` is the JSON of the recorded-at instant, see
    /// [`recorded_at_json`].
    pub fn finish(
        &self,
        position: u64,
        stream_seq: u64,
        recorded_at_json: &[u8],
        prev_hash: &Hash,
        out: &mut Vec<u8>,
    ) -> Hash {
        let start = out.len();
        out.extend_from_slice(&[0u8; HASH_LEN]);
        out.extend_from_slice(b"{\"position\":");
        push_u64(out, position);
        let [c0, c1, c2] = self.cuts;
        out.extend_from_slice(&self.parts[..c0]);
        push_u64(out, stream_seq);
        out.extend_from_slice(&self.parts[c0..c1]);
        out.extend_from_slice(recorded_at_json);
        out.extend_from_slice(&self.parts[c1..c2]);
        push_hex(out, prev_hash);
        out.extend_from_slice(&self.parts[c2..]);
        let hash = Hash(*blake3::hash(&out[start + HASH_LEN..]).as_bytes());
        out[start..start + HASH_LEN].copy_from_slice(&hash.0);
        hash
    }
}

/// The JSON of a recorded-at instant as it appears in a record (serde's form).
///
/// # Errors
/// Only if serde_json fails, which it does not for an instant.
pub fn recorded_at_json(at: &DateTime<Utc>) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(at)
}

/// The hash a stored record claims, and the hash its bytes actually have.
///
/// # Errors
/// A record shorter than the hash prefix.
pub fn record_hashes(bytes: &[u8]) -> Result<(Hash, Hash), DecodeError> {
    let (claimed, json) = split_record(bytes)?;
    let actual = Hash(*blake3::hash(json).as_bytes());
    Ok((claimed, actual))
}

/// Splits a stored record into the hash its prefix claims and the canonical JSON
/// after it (read by [`record_hashes`] and [`decode_record`]).
///
/// # Errors
/// A record no longer than the hash prefix.
fn split_record(bytes: &[u8]) -> Result<(Hash, &[u8]), DecodeError> {
    if bytes.len() <= HASH_LEN {
        return Err(DecodeError::Truncated(bytes.len()));
    }
    let mut claimed = [0u8; 32];
    claimed.copy_from_slice(&bytes[..HASH_LEN]);
    Ok((Hash(claimed), &bytes[HASH_LEN..]))
}

/// Decodes a stored record (without checking its hash: see [`record_hashes`]),
/// upcasting older payload versions.
///
/// # Errors
/// Malformed JSON, an unknown type or version, or a payload that does not decode.
pub fn decode_record(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    let (hash, json) = split_record(bytes)?;
    let r: RecordIn<'_> = serde_json::from_slice(json).map_err(DecodeError::Envelope)?;
    let event = crate::upcast::decode_event_on(
        &r.type_name,
        r.schema_version,
        r.data.get(),
        r.effective_date,
    )?;
    Ok(Envelope {
        position: r.position,
        stream: r.stream,
        stream_seq: r.stream_seq,
        event_id: r.event_id,
        effective_date: r.effective_date,
        recorded_at: r.recorded_at,
        actor: r.actor,
        channel: r.channel,
        idempotency_key: r.idempotency_key,
        correlation_id: r.correlation_id,
        causation_id: r.causation_id,
        stored_schema_version: r.schema_version,
        event,
        prev_hash: r.prev_hash,
        hash,
    })
}

/// What a stored record says of its event as it was written, before any
/// upcasting: the type name, schema version and payload bytes exactly as
/// they are in the canonical JSON. The idempotency digest of an append
/// covers these (the payload as `Event::write_data` wrote it), so a store
/// that takes in records another store sealed recomputes the digest from
/// them, whatever upcasting would make of an older payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsWritten<'a> {
    /// The event's type name as stored.
    pub type_name: Cow<'a, str>,
    /// The schema version as stored.
    pub schema_version: u32,
    /// The payload JSON, byte for byte.
    pub data: &'a [u8],
    /// The idempotency key of the append that wrote it.
    pub idempotency_key: Option<String>,
}

/// The event of a stored record (`hash ‖ canonical JSON`) as written
/// ([`AsWritten`]), without checking its hash or decoding its payload.
///
/// # Errors
/// A record no longer than the hash prefix, or malformed JSON.
pub fn record_as_written(bytes: &[u8]) -> Result<AsWritten<'_>, DecodeError> {
    let (_, json) = split_record(bytes)?;
    let r: RecordIn<'_> = serde_json::from_slice(json).map_err(DecodeError::Envelope)?;
    Ok(AsWritten {
        type_name: r.type_name,
        schema_version: r.schema_version,
        data: r.data.get().as_bytes(),
        idempotency_key: r.idempotency_key,
    })
}

/// The JSON view of an envelope for people and tools (`history --json`, HTTP):
/// every envelope field, the event's type, its current schema version and payload,
/// and the record's hash. Its JSON Schema is the envelope's
/// (`schemas/views/envelope.json`).
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Envelope")]
struct EnvelopeView<'a> {
    /// Global position, from 1, gapless.
    position: u64,
    /// The stream.
    stream: StreamId,
    /// Sequence within the stream, from 1, gapless.
    stream_seq: u64,
    /// The event's id.
    event_id: Uuid,
    /// The event's type name.
    #[serde(rename = "type")]
    type_name: &'a str,
    /// The event's current schema version (its payload is upcast to it).
    schema_version: u32,
    /// The version it was stored at, when older than the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    stored_schema_version: Option<u32>,
    /// Effective date (Europe/Paris).
    effective_date: NaiveDate,
    /// Recorded-at instant (UTC).
    recorded_at: DateTime<Utc>,
    /// Who.
    actor: &'a Actor,
    /// The channel of a customer's request.
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<Channel>,
    /// The append's idempotency key.
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<&'a str>,
    /// Correlation id.
    correlation_id: Uuid,
    /// Causation id.
    #[serde(skip_serializing_if = "Option::is_none")]
    causation_id: Option<Uuid>,
    /// The payload, whose schema is its type's (`schemas/events/`), except
    /// that personal data reads `{"clear": value}` when open and
    /// `{"erased": true, "person": id}` when its key was destroyed, never the
    /// sealed bytes.
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    data: serde_json::Value,
    /// Hash of the previous record.
    prev_hash: Hash,
    /// Hash of this record.
    hash: Hash,
}

impl JsonSchema for Envelope {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        EnvelopeView::schema_name()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        EnvelopeView::json_schema(g)
    }
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A view: personal data opened, or marked erased.
        let data = crate::sealed::as_view(|| self.event.data_to_value())
            .map_err(serde::ser::Error::custom)?;
        let current = self.event.schema_version();
        EnvelopeView {
            position: self.position,
            stream: self.stream,
            stream_seq: self.stream_seq,
            event_id: self.event_id,
            type_name: self.event.type_name(),
            schema_version: current,
            stored_schema_version: (self.stored_schema_version != current)
                .then_some(self.stored_schema_version),
            effective_date: self.effective_date,
            recorded_at: self.recorded_at,
            actor: &self.actor,
            channel: self.channel,
            idempotency_key: self.idempotency_key.as_deref(),
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            data,
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
        .serialize(s)
    }
}

/// One line of `navigo-ledger append`: a raw event for a stream, as a test or a
/// repair tool writes it. The store assigns sequence, position, recorded-at and
/// hashes; `recorded_at`, when given, is the import clock and must not be earlier
/// than the log's head.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEventLine {
    /// Target stream.
    pub stream: StreamId,
    /// Expected current version of the stream (optimistic concurrency); `null`
    /// appends whatever the version.
    #[serde(default)]
    pub expected_version: Option<u64>,
    /// Event id; generated when absent.
    #[serde(default)]
    pub event_id: Option<Uuid>,
    /// Event type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Schema version of `data`; older versions are upcast.
    pub schema_version: u32,
    /// Effective date.
    pub effective_date: NaiveDate,
    /// Import clock: the recorded-at instant to use.
    #[serde(default)]
    pub recorded_at: Option<DateTime<Utc>>,
    /// Actor.
    pub actor: Actor,
    /// Channel.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// Idempotency key of the append.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Correlation id; generated when absent.
    #[serde(default)]
    pub correlation_id: Option<Uuid>,
    /// Causation id.
    #[serde(default)]
    pub causation_id: Option<Uuid>,
    /// The payload.
    pub data: serde_json::Value,
}

impl RawEventLine {
    /// Decodes the payload (upcasting older versions) into an [`Event`].
    ///
    /// # Errors
    /// Unknown type or version, or a payload that does not match the schema.
    pub fn event(&self) -> Result<Event, DecodeError> {
        let data = serde_json::to_string(&self.data).map_err(DecodeError::Envelope)?;
        crate::upcast::decode_event_on(
            &self.type_name,
            self.schema_version,
            &data,
            self.effective_date,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::MandateRevoked;
    use crate::types::ActorRole;

    fn sample() -> (Assigned<'static>, NewEvent) {
        let a = Assigned {
            stream: StreamId::contract(Uuid::from_u128(7)),
            stream_seq: 1,
            position: 1,
            recorded_at: "2026-11-24T10:00:00Z".parse().unwrap(),
            idempotency_key: Some("k1"),
            prev_hash: Hash::GENESIS,
        };
        let e = NewEvent {
            event_id: Uuid::from_u128(1),
            effective_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
            actor: Actor {
                role: ActorRole::Agent,
                id: "A1".into(),
            },
            channel: Some(Channel::Agency),
            correlation_id: Uuid::from_u128(2),
            causation_id: None,
            event: Event::MandateRevoked(MandateRevoked {
                reference: "UMR1".into(),
            }),
        };
        (a, e)
    }

    #[test]
    fn envelope_into_new_gives_back_exactly_the_event_assembled() {
        let (a, e) = sample();
        let env = Envelope::assemble(&a, e.clone(), Hash::GENESIS);
        assert_eq!(env.into_new(), e);
    }

    #[test]
    fn record_round_trips_and_hash_covers_bytes() {
        let (a, e) = sample();
        let (bytes, hash) = encode_record(&a, &e).unwrap();
        let env = decode_record(&bytes).unwrap();
        assert_eq!(env.hash, hash);
        assert_eq!(env.event, e.event);
        assert_eq!(env.stream, a.stream);
        let (claimed, actual) = record_hashes(&bytes).unwrap();
        assert_eq!(claimed, actual);
        let mut tampered = bytes.clone();
        let last = tampered.len() - 3;
        tampered[last] ^= 1;
        let (claimed, actual) = record_hashes(&tampered).unwrap();
        assert_ne!(claimed, actual);
    }

    #[test]
    fn susp_month_due_a_stored_contract_suspended_v1_decodes_with_the_months_of_its_effective_date()
    {
        // A record written before version 2: a suspension from 1 December 2026,
        // registered after the cutoff, whose December debit was prepared.
        let json = r#"{"position":9,"stream":"contract:00000000-0000-0000-0000-000000000007",
            "stream_seq":4,"event_id":"00000000-0000-0000-0000-000000000001",
            "type":"ContractSuspended","schema_version":1,"effective_date":"2026-12-01",
            "recorded_at":"2026-11-28T09:00:00Z","actor":{"role":"customer","id":"C1"},
            "channel":"online","correlation_id":"00000000-0000-0000-0000-000000000002",
            "prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",
            "data":{"cause":"request","billing_stops_from":"2027-01"}}"#;
        let mut bytes = vec![0u8; HASH_LEN];
        bytes.extend_from_slice(json.as_bytes());
        let env = decode_record(&bytes).expect("a v1 record decodes");
        assert_eq!(env.stored_schema_version, 1);
        let Event::ContractSuspended(s) = env.event else {
            panic!("a suspension")
        };
        let dec: crate::YearMonth = "2026-12".parse().unwrap();
        assert_eq!(s.not_due_from, dec);
        assert_eq!(s.prepared_debits_refunded, vec![dec]);
        assert_eq!(s.billing_stops_from, dec.plus(1));
    }

    #[test]
    fn encoding_is_deterministic() {
        let (a, e) = sample();
        assert_eq!(
            encode_record(&a, &e).unwrap(),
            encode_record(&a, &e).unwrap()
        );
    }

    #[test]
    fn stream_id_text_and_key_forms() {
        let s = StreamId::person(Uuid::from_u128(42));
        assert_eq!(s.to_string().parse::<StreamId>().unwrap(), s);
        assert_eq!(StreamId::from_key_bytes(&s.key_bytes()).unwrap(), s);
        assert!("people:x".parse::<StreamId>().is_err());
    }
}
