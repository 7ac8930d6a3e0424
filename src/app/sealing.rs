//! Sealing personal data before an append and opening it after a read, with
//! the key store ([`KeyStore`]): what [`super::store::AnyStore`] does to every
//! event it writes or reads, so that the rules, the views and the service read
//! clear values and the log holds only ciphertext.
//!
//! An erasure's event is appended only after the person's key is destroyed: a
//! `PersonalDataErased` in a request destroys the key before the request goes to
//! the backend, whichever path the command took.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use navigo_events_schema::mandate::Mandate;
use navigo_events_schema::sealed::{open_bytes, seal_bytes, SealedField, SEAL_NONCE_BYTES};
use navigo_events_schema::{AppendRequest, Envelope, Event};
use navigo_ledger_core::states::{person_of_state_key, STATES_SPACE};
use navigo_store::{DerivedBatch, EnvelopeStream, StoreError};

use super::keystore::{KeyState, KeyStore, KeyStoreError};

/// Seals every clear personal field of `request` with its person's key (made
/// and made durable first when the person has none), and destroys the key of a
/// person whose erasure it records. Without a key store, nothing is sealed.
///
/// # Errors
/// The key store cannot be written, or new data for an erased person.
pub fn seal_request(
    keys: Option<&KeyStore>,
    request: &mut AppendRequest,
) -> Result<(), StoreError> {
    keys.map_or(Ok(()), |k| seal_with(k, request, Moment::Append))
}

/// Seals every clear personal field of `request` as [`seal_request`] does,
/// for a batch judged before its append, but with keys drawn ahead
/// ([`KeyStore::key_ahead`]): no key is written and none destroyed here; the
/// batch's [`KeyStore::create_all`] writes the new keys before its append, and
/// the append destroys an erased person's key.
///
/// # Errors
/// New data for an erased person, or no randomness.
pub fn seal_request_ahead(
    keys: Option<&KeyStore>,
    request: &mut AppendRequest,
) -> Result<(), StoreError> {
    keys.map_or(Ok(()), |k| seal_with(k, request, Moment::Ahead))
}

/// When a request is sealed: at its append (keys written first, an erasure's
/// key destroyed), or ahead of it (keys drawn, nothing written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    Append,
    Ahead,
}

fn seal_with(
    keys: &KeyStore,
    request: &mut AppendRequest,
    moment: Moment,
) -> Result<(), StoreError> {
    let stream = request.stream;
    let mut sealed_ahead = Vec::new();
    for e in &mut request.events {
        if matches!(e.event, Event::PersonalDataErased(_)) {
            if moment == Moment::Append {
                keys.destroy(stream.id).map_err(store_error)?;
            }
            continue;
        }
        let free_text = e.event.holds_free_text_about_a_person();
        for (person, sealing_id, field) in e.event.personal_fields_mut(stream.id, e.event_id) {
            if field.sealed_for().is_some() {
                sealed_ahead.push(person);
                continue;
            }
            let key = match moment {
                Moment::Append => keys.get_or_create(person),
                Moment::Ahead => keys.key_ahead(person),
            };
            let key = match key {
                // Someone else's words about an erased person are recorded
                // erased: sealed under a key nobody keeps.
                Err(KeyStoreError::Erased(_)) if free_text => throwaway_key()?,
                other => other.map_err(store_error)?,
            };
            field
                .seal(person, &key, sealing_id)
                .map_err(|e| StoreError::Encode(e.to_string()))?;
        }
    }
    // A field sealed ahead of the append, perhaps with a key drawn ahead and
    // not written yet, gets its key written now, before the append (nothing
    // to write, the usual case, costs a look-up).
    match moment {
        Moment::Append => keys.create_all(&sealed_ahead).map_err(store_error),
        Moment::Ahead => Ok(()),
    }
}

/// A random key used once and never kept: what an erased person's clear
/// field is sealed under when it must still be recorded (someone else's words
/// about them; a reseal's legacy clear text), so that it is as unrecoverable
/// as their sealed data and every view shows it erased.
///
/// # Errors
/// No randomness.
pub fn throwaway_key() -> Result<navigo_events_schema::sealed::PersonKey, StoreError> {
    let mut key = [0u8; navigo_events_schema::sealed::PERSON_KEY_BYTES];
    getrandom::getrandom(&mut key)
        .map_err(|e| StoreError::Storage(format!("no randomness for a throwaway key: {e}")))?;
    Ok(key)
}

/// The persons whose keys the appends of `requests` seal with and who may
/// have none written yet: every person of a personal field, clear or sealed
/// ahead, outside the events that erase a person (whose key they destroy).
pub fn persons_to_seal_for(requests: &mut [AppendRequest]) -> Vec<uuid::Uuid> {
    let mut persons = Vec::new();
    for request in requests {
        let stream = request.stream;
        for e in &mut request.events {
            if matches!(e.event, Event::PersonalDataErased(_)) {
                continue;
            }
            // A field sealed ahead of the append may be sealed with a key
            // drawn ahead and not written yet: its person is listed too.
            for (person, _, _) in e.event.personal_fields_mut(stream.id, e.event_id) {
                persons.push(person);
            }
        }
    }
    persons
}

/// Opens the sealed fields of `env`. A field whose key was destroyed stays
/// closed (the person is erased); a field whose key the store never had is a
/// lost key store.
///
/// # Errors
/// [`KeyStoreError::Missing`], or a ciphertext that does not open (altered
/// bytes, or a key store of another ledger).
pub fn open(keys: &KeyStore, env: &mut Envelope) -> Result<(), StoreError> {
    let position = env.position;
    for (_, sealing_id, field) in env.event.personal_fields_mut(env.stream.id, env.event_id) {
        open_field(keys, field, sealing_id).map_err(|e| match e {
            StoreError::Corrupt { why, .. } => StoreError::Corrupt { position, why },
            other => other,
        })?;
    }
    Ok(())
}

/// Opens the debtor account of a mandate a state holds (sealed as the log
/// holds it); one whose key was destroyed stays closed.
///
/// # Errors
/// As [`open`].
pub fn open_mandate(keys: &KeyStore, mandate: &mut Mandate) -> Result<(), StoreError> {
    let sealing_id = mandate.sealing_id();
    open_field(keys, &mut mandate.debtor, sealing_id)
}

/// Opens one sealed field under its person's key, bound to `sealing_id`; a
/// clear or opened field, or one whose key was destroyed, is left as it is.
fn open_field(
    keys: &KeyStore,
    field: &mut dyn SealedField,
    sealing_id: uuid::Uuid,
) -> Result<(), StoreError> {
    let Some(person) = field.sealed_for() else {
        return Ok(());
    };
    if field.is_open() {
        return Ok(());
    }
    match keys.get(person) {
        Some(KeyState::Live(key)) => {
            field
                .open(person, &key, sealing_id)
                .map_err(|e| StoreError::Corrupt {
                    position: 0,
                    why: format!("{e} (key store {})", keys.path().display()),
                })
        }
        Some(KeyState::Erased) => Ok(()),
        None => Err(store_error(KeyStoreError::Missing {
            person,
            path: keys.path().to_owned(),
        })),
    }
}

/// [`open`] over every envelope read; nothing without a key store.
///
/// # Errors
/// The first envelope that does not open.
pub fn open_all(keys: Option<&KeyStore>, read: &mut [Envelope]) -> Result<(), StoreError> {
    if let Some(keys) = keys {
        read.iter_mut().try_for_each(|env| open(keys, env))?;
    }
    Ok(())
}

/// The stream `all` with every envelope opened.
pub fn opening<'a>(keys: &'a KeyStore, all: EnvelopeStream<'a>) -> EnvelopeStream<'a> {
    Box::pin(Opening { keys, all })
}

struct Opening<'a> {
    keys: &'a KeyStore,
    all: EnvelopeStream<'a>,
}

impl Stream for Opening<'_> {
    type Item = Result<Envelope, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let keys = self.keys;
        match self.all.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(mut env))) => Poll::Ready(Some(open(keys, &mut env).map(|()| env))),
            other => other,
        }
    }
}

fn store_error(e: KeyStoreError) -> StoreError {
    StoreError::Storage(e.to_string())
}

/// The first bytes of a derived entry sealed whole with a person's key.
const SEALED_ENTRY_MAGIC: &[u8; 8] = b"navseal1";

/// The associated data of a sealed derived entry: its space and key, so that
/// an entry moved under another key does not open.
fn entry_aad(space: &str, key: &[u8]) -> Vec<u8> {
    let mut aad = (space.len() as u64).to_be_bytes().to_vec();
    aad.extend_from_slice(space.as_bytes());
    aad.extend_from_slice(key);
    aad
}

/// Seals the entries of `batch` that hold a person's personal data (the
/// person states of the world's paged states) with that person's key.
/// Decision: an erased person's state is written in clear, since the fold
/// forgot their personal data at the erasure and their key is gone; a
/// person with no key yet (registered before sealing) gets one.
///
/// # Errors
/// The key store cannot be written, or no randomness.
pub fn seal_derived(
    keys: &KeyStore,
    space: &str,
    batch: &DerivedBatch,
) -> Result<Option<DerivedBatch>, StoreError> {
    if space != STATES_SPACE {
        return Ok(None);
    }
    let mut sealed = DerivedBatch {
        clear: batch.clear,
        entries: Vec::with_capacity(batch.entries.len()),
    };
    for (key, value) in &batch.entries {
        let value = match (person_of_state_key(key), value) {
            (Some(person), Some(v)) => Some(seal_entry(keys, person, space, key, v)?),
            _ => value.clone(),
        };
        sealed.entries.push((key.clone(), value));
    }
    Ok(Some(sealed))
}

fn seal_entry(
    keys: &KeyStore,
    person: uuid::Uuid,
    space: &str,
    key: &[u8],
    value: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let k = match keys.get_written(person) {
        Some(KeyState::Erased) => return Ok(value.to_vec()),
        Some(KeyState::Live(k)) => k,
        None => keys.get_or_create(person).map_err(store_error)?,
    };
    let mut nonce = [0u8; SEAL_NONCE_BYTES];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| StoreError::Storage(format!("no randomness for a nonce: {e}")))?;
    let sealed = seal_bytes(&k, nonce, &entry_aad(space, key), value)
        .ok_or_else(|| StoreError::Encode(format!("cannot seal the state of {person}")))?;
    let mut out = SEALED_ENTRY_MAGIC.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens a derived entry [`seal_derived`] sealed. Decision: an entry whose
/// key was destroyed is given back empty, which the ledger takes for a
/// damaged entry and folds again from the log (derived data is never trusted
/// on its own); one whose key the store never had is a lost key store.
///
/// # Errors
/// [`KeyStoreError::Missing`].
pub fn open_derived(
    keys: &KeyStore,
    space: &str,
    key: &[u8],
    value: Vec<u8>,
) -> Result<Vec<u8>, StoreError> {
    let (Some(person), Some(sealed)) = (
        person_of_state_key(key),
        value.strip_prefix(SEALED_ENTRY_MAGIC.as_slice()),
    ) else {
        return Ok(value);
    };
    match keys.get(person) {
        Some(KeyState::Live(k)) => {
            Ok(open_bytes(&k, &entry_aad(space, key), sealed).unwrap_or_default())
        }
        Some(KeyState::Erased) => Ok(Vec::new()),
        None => Err(store_error(KeyStoreError::Missing {
            person,
            path: keys.path().to_owned(),
        })),
    }
}
