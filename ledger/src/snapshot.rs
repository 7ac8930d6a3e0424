//! The whole folded world's JSON, as one blob with a verified header: the
//! snapshot the ledger wrote before its states were keyed ([`crate::states`]
//! replaced it: a single blob of a million states can never open in seconds).
//! The ledger no longer writes or reads it; it stays as a canonical encoding of
//! a world's states, indexes and versions, which tests compare worlds by.
//!
//! Layout (every integer big-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 16 | [`MAGIC`] |
//! | 4 | [`STATE_SCHEMA_VERSION`] |
//! | 8 | position covered |
//! | 32 | hash of the record at that position (genesis for 0) |
//! | 32 | BLAKE3 of the payload |
//! | rest | payload: LZ4 block (size prepended) of the world's JSON |
//!
//! The payload is the JSON of the states, indexes, versions and campaigns
//! ([`WorldState`]); the catalogue is folded again from its own short stream
//! on load, and histories and idempotency keys are never in it (the store
//! holds them).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use navigo_events_schema::event::CampaignPublished;
use navigo_events_schema::{Hash, StreamId};
use navigo_rules::contract::state::ContractState;
use navigo_rules::idset::IdSet;
use navigo_rules::world::{PersonState, World};
use navigo_store::StoreError;
use uuid::Uuid;

/// The name of the snapshot in the store's derived data.
pub const SNAPSHOT_NAME: &str = "world-snapshot";
/// The first bytes of a snapshot.
pub const MAGIC: &[u8; 16] = b"navigo-world-v1\n";
/// The version of the states' JSON: raised whenever a field of a folded state
/// (`ContractState`, `PersonState` and what they hold) or of [`WorldState`]
/// changes, so that a snapshot of older states is refused and rebuilt, never
/// misread.
pub const STATE_SCHEMA_VERSION: u32 = 4;
const HEADER_BYTES: usize = 16 + 4 + 8 + 32 + 32;

/// What a snapshot holds: the world without its catalogue, histories and keys.
#[derive(serde::Serialize, serde::Deserialize)]
struct WorldState {
    persons: Vec<PersonState>,
    contracts: Vec<ContractState>,
    campaigns: Vec<(Uuid, CampaignPublished)>,
    // An `IdSet` is written as the array of its ids, as the sets before it.
    by_holder: BTreeMap<Uuid, IdSet>,
    by_payer: BTreeMap<Uuid, IdSet>,
    by_fraud_party: BTreeMap<Uuid, IdSet>,
    by_client_number: BTreeMap<String, IdSet>,
    versions: Vec<(StreamId, u64)>,
    position: u64,
    head_hash: Hash,
    head_recorded_at: Option<DateTime<Utc>>,
}

/// Why a stored snapshot was refused (the ledger folds the log instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Too short, or another format.
    #[error("not a world snapshot (bad magic or truncated)")]
    Format,
    /// Written for other states.
    #[error("state schema version {found}, this ledger reads {STATE_SCHEMA_VERSION}")]
    Version {
        /// The snapshot's version.
        found: u32,
    },
    /// Its payload does not hash to the hash it carries.
    #[error("payload hash mismatch")]
    Hash,
    /// Its payload does not decode.
    #[error("payload does not decode: {0}")]
    Payload(String),
    /// It covers positions the log does not hold.
    #[error("covers position {position}, beyond the log's head {head}")]
    BeyondHead {
        /// The snapshot's position.
        position: u64,
        /// The log's head.
        head: u64,
    },
    /// The log's record at its position is not the one it was taken after.
    #[error("the log's record at position {position} is not the one the snapshot covers")]
    OtherLog {
        /// The position.
        position: u64,
    },
}

/// The bytes of a snapshot of `world` (its catalogue, histories and keys left
/// out).
///
/// # Errors
/// Only if the states do not serialise, which their types never make happen.
pub fn encode(world: &World) -> Result<Vec<u8>, StoreError> {
    let state = WorldState {
        persons: world.persons.values().cloned().collect(),
        contracts: world.contracts.values().cloned().collect(),
        campaigns: world
            .campaigns
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect(),
        by_holder: world.by_holder.clone(),
        by_payer: world.by_payer.clone(),
        by_fraud_party: world.by_fraud_party.clone(),
        by_client_number: world.by_client_number.clone(),
        versions: world.versions.iter().map(|(k, v)| (*k, *v)).collect(),
        position: world.position,
        head_hash: world.head_hash,
        head_recorded_at: world.head_recorded_at,
    };
    let json = serde_json::to_vec(&state).map_err(|e| StoreError::Encode(e.to_string()))?;
    drop(state);
    let payload = lz4_flex::compress_prepend_size(&json);
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&STATE_SCHEMA_VERSION.to_be_bytes());
    out.extend_from_slice(&world.position.to_be_bytes());
    out.extend_from_slice(&world.head_hash.0);
    out.extend_from_slice(blake3::hash(&payload).as_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The world a snapshot holds, its catalogue empty, when its header, hash and
/// payload check (not yet against the log: see [`load`]).
///
/// # Errors
/// [`Refused`], saying why.
pub fn decode(bytes: &[u8]) -> Result<World, Refused> {
    if bytes.len() < HEADER_BYTES || &bytes[..16] != MAGIC {
        return Err(Refused::Format);
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&bytes[16..20]);
    let found = u32::from_be_bytes(v);
    if found != STATE_SCHEMA_VERSION {
        return Err(Refused::Version { found });
    }
    let payload = &bytes[HEADER_BYTES..];
    if blake3::hash(payload).as_bytes() != &bytes[60..92] {
        return Err(Refused::Hash);
    }
    let json = lz4_flex::decompress_size_prepended(payload)
        .map_err(|e| Refused::Payload(e.to_string()))?;
    let s: WorldState =
        serde_json::from_slice(&json).map_err(|e| Refused::Payload(e.to_string()))?;
    let mut position = [0u8; 8];
    position.copy_from_slice(&bytes[20..28]);
    let mut head = [0u8; 32];
    head.copy_from_slice(&bytes[28..60]);
    if s.position != u64::from_be_bytes(position) || s.head_hash.0 != head {
        return Err(Refused::Payload(
            "the header and the payload name different positions".into(),
        ));
    }
    Ok(World {
        persons: s.persons.into_iter().map(|p| (p.id, p)).collect(),
        contracts: s.contracts.into_iter().map(|c| (c.id, c)).collect(),
        campaigns: s.campaigns.into_iter().collect(),
        by_holder: s.by_holder,
        by_payer: s.by_payer,
        by_fraud_party: s.by_fraud_party,
        by_client_number: s.by_client_number,
        versions: s.versions.into_iter().collect(),
        position: s.position,
        head_hash: s.head_hash,
        head_recorded_at: s.head_recorded_at,
        ..World::default()
    })
}
