//! Personal data sealed with its person's key, inside the canonical record bytes.
//!
//! A [`Sealed<T>`] is written as `{"key": <person id>, "nonce": <base64>, "ct":
//! <base64>}`: XChaCha20-Poly1305 of `T`'s JSON under the person's own 32-byte
//! key with a synthetic 24-byte nonce ([`SealedField::seal`]), the person id and the event id as associated
//! data, so that a blob moved to another person's or another event's record no
//! longer opens. The chain and the Merkle tree hash these bytes, so destroying the
//! key (crypto-shredding) makes the content unreadable without changing a hashed
//! byte.
//!
//! In memory a sealed value also carries its opened clear value, never written.
//! A value the rules just built is clear only until the store seals it; a value
//! read from a record written before sealing existed (an upcast legacy record) is
//! written `{"clear": T}` and stays clear: the record's bytes cannot be rewritten.
//! This crate holds no key and draws no randomness: the key is given by the
//! caller (the binary's key store).

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// Bytes of a person's key.
pub const PERSON_KEY_BYTES: usize = 32;
/// Bytes of a sealing nonce (XChaCha20's extended nonce, safe to draw at random).
pub const SEAL_NONCE_BYTES: usize = 24;

/// A person's key.
pub type PersonKey = [u8; PERSON_KEY_BYTES];

/// Why a value could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The value was sealed for another person than the key's.
    #[error("sealed for person {sealed_for}, opened with the key of {person}")]
    WrongPerson {
        /// The person named in the sealed value.
        sealed_for: Uuid,
        /// The person whose key was given.
        person: Uuid,
    },
    /// The ciphertext does not open under the key (another key, another event,
    /// or altered bytes).
    #[error("the personal data sealed for person {0} does not open under its key")]
    DoesNotOpen(Uuid),
    /// The clear value cannot be written as JSON, or the opened bytes are not a
    /// value of the expected type.
    #[error("personal data of person {person}: {why}")]
    Json {
        /// The person.
        person: Uuid,
        /// What failed.
        why: String,
    },
}

/// The wire form of a sealed value.
#[derive(Clone, PartialEq, Eq)]
enum Form {
    /// Built by the rules and not sealed yet, or read from a legacy clear record.
    Clear,
    /// Sealed for a person.
    Sealed {
        key: Uuid,
        nonce: [u8; SEAL_NONCE_BYTES],
        ct: Vec<u8>,
    },
    /// Read from a view of events in which the person's data was erased
    /// ([`as_view`]): a follower of the feed decodes it as data that does not
    /// open. Never written into a record.
    Erased { person: Uuid },
}

/// Personal data of type `T`, sealed with a person's key on the wire.
#[derive(Clone)]
pub struct Sealed<T> {
    form: Form,
    clear: Option<T>,
}

impl<T> Sealed<T> {
    /// A clear value, to be sealed by the store before it is written.
    pub fn clear(value: T) -> Sealed<T> {
        Sealed {
            form: Form::Clear,
            clear: Some(value),
        }
    }

    /// The clear value: `None` when the value is sealed and was not opened (its
    /// key was destroyed, or the reader holds no key store).
    pub fn value(&self) -> Option<&T> {
        self.clear.as_ref()
    }

    /// The person whose key sealed the value; `None` for a clear value.
    pub fn sealed_for(&self) -> Option<Uuid> {
        match &self.form {
            Form::Clear => None,
            Form::Sealed { key, .. } => Some(*key),
            Form::Erased { person } => Some(*person),
        }
    }
}

/// The nonce of a sealed field: the keyed BLAKE3 of its associated data and
/// plaintext, cut to [`SEAL_NONCE_BYTES`] (see [`SealedField::seal`]).
fn synthetic_nonce(key: &PersonKey, aad: &[u8], plain: &[u8]) -> [u8; SEAL_NONCE_BYTES] {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(b"navigo sealed field nonce v1");
    h.update(aad);
    h.update(plain);
    let mut nonce = [0u8; SEAL_NONCE_BYTES];
    nonce.copy_from_slice(&h.finalize().as_bytes()[..SEAL_NONCE_BYTES]);
    nonce
}

fn associated_data(person: Uuid, event_id: Uuid) -> [u8; 32] {
    let mut aad = [0u8; 32];
    aad[..16].copy_from_slice(person.as_bytes());
    aad[16..].copy_from_slice(event_id.as_bytes());
    aad
}

/// Seals `plain` under `key` with `nonce` and the associated data `aad`: the
/// nonce followed by the ciphertext and its tag (derived data sealed whole).
pub fn seal_bytes(
    key: &PersonKey,
    nonce: [u8; SEAL_NONCE_BYTES],
    aad: &[u8],
    plain: &[u8],
) -> Option<Vec<u8>> {
    let ct = XChaCha20Poly1305::new(key.into())
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
        .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Some(out)
}

/// Opens what [`seal_bytes`] sealed; `None` when it does not open.
pub fn open_bytes(key: &PersonKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < SEAL_NONCE_BYTES {
        return None;
    }
    let (nonce, ct) = sealed.split_at(SEAL_NONCE_BYTES);
    XChaCha20Poly1305::new(key.into())
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .ok()
}

/// What the store does with any sealed field of an event, whatever its type.
pub trait SealedField {
    /// The person whose key sealed it; `None` while clear.
    fn sealed_for(&self) -> Option<Uuid>;
    /// Whether the clear value is held (opened, or never sealed).
    fn is_open(&self) -> bool;
    /// Seals a clear value for `person` in the event `event_id`; a value already
    /// sealed is left as it is.
    ///
    /// Decision: the nonce is synthetic, the keyed BLAKE3 of the person, the
    /// event id and the plaintext under the person's key (as SIV modes derive
    /// theirs), not drawn at random: the same event sealed twice gives the same
    /// bytes, so that a retried append under an idempotency key is recognised
    /// and a ledger replayed from the same commands writes the same log (the
    /// demo's and the simulator's determinism), and two different plaintexts
    /// never share a nonce unless BLAKE3 collides. Since an event id is never
    /// reused, the equality it reveals is of one event with itself.
    ///
    /// # Errors
    /// The clear value does not serialize.
    fn seal(&mut self, person: Uuid, key: &PersonKey, event_id: Uuid) -> Result<(), SealError>;
    /// Opens a sealed value with `person`'s key; a clear or opened value is left
    /// as it is.
    ///
    /// # Errors
    /// Another person's key, a ciphertext that does not open, or opened bytes
    /// that are not a value of the type.
    fn open(&mut self, person: Uuid, key: &PersonKey, event_id: Uuid) -> Result<(), SealError>;
}

impl<T: Serialize + DeserializeOwned> SealedField for Sealed<T> {
    fn sealed_for(&self) -> Option<Uuid> {
        Sealed::sealed_for(self)
    }

    fn is_open(&self) -> bool {
        self.clear.is_some()
    }

    fn seal(&mut self, person: Uuid, key: &PersonKey, event_id: Uuid) -> Result<(), SealError> {
        let (Form::Clear, Some(value)) = (&self.form, &self.clear) else {
            return Ok(());
        };
        let json = |e: serde_json::Error| SealError::Json {
            person,
            why: e.to_string(),
        };
        let plain = serde_json::to_vec(value).map_err(json)?;
        let aad = associated_data(person, event_id);
        let nonce = synthetic_nonce(key, &aad, &plain);
        let ct = XChaCha20Poly1305::new(key.into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::DoesNotOpen(person))?;
        self.form = Form::Sealed {
            key: person,
            nonce,
            ct,
        };
        Ok(())
    }

    fn open(&mut self, person: Uuid, key: &PersonKey, event_id: Uuid) -> Result<(), SealError> {
        let Form::Sealed {
            key: sealed_for,
            nonce,
            ct,
        } = &self.form
        else {
            return Ok(());
        };
        if self.clear.is_some() {
            return Ok(());
        }
        if *sealed_for != person {
            return Err(SealError::WrongPerson {
                sealed_for: *sealed_for,
                person,
            });
        }
        let aad = associated_data(person, event_id);
        let plain = XChaCha20Poly1305::new(key.into())
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| SealError::DoesNotOpen(person))?;
        let value = serde_json::from_slice(&plain).map_err(|e| SealError::Json {
            person,
            why: e.to_string(),
        })?;
        self.clear = Some(value);
        Ok(())
    }
}

/// Decision: two sealed values are equal when their clear values are (a value
/// the rules built equals the same value sealed and opened), and, when neither
/// is open, when their sealed bytes are.
impl<T: PartialEq> PartialEq for Sealed<T> {
    fn eq(&self, other: &Self) -> bool {
        match (&self.clear, &other.clear) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.form == other.form,
            _ => false,
        }
    }
}

/// Personal data never reaches a log line through `Debug`.
impl<T> fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("sealed_for", &self.sealed_for())
            .field("open", &self.clear.is_some())
            .finish()
    }
}

/// The sealed wire form.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SealedForm")]
struct SealedForm {
    /// The person whose key seals the value.
    #[serde(with = "crate::mandate::uuid_text")]
    #[schemars(with = "Uuid")]
    key: Uuid,
    /// The nonce, base64 (24 bytes).
    nonce: String,
    /// XChaCha20-Poly1305 ciphertext and tag of the value's JSON, base64.
    ct: String,
}

/// How a view of events shows a value whose key was destroyed (or that the
/// reader could not open): the person is named, their data is not. Views
/// only: a record never holds it.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ErasedForm")]
struct ErasedForm {
    /// Always `true`.
    erased: bool,
    /// The person whose data it was.
    person: Uuid,
}

thread_local! {
    /// Set while a view of events is written ([`as_view`]).
    static VIEW: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Resets [`VIEW`] when [`as_view`] ends, even by a panic.
struct ViewScope(bool);

impl Drop for ViewScope {
    fn drop(&mut self) {
        VIEW.with(|v| v.set(self.0));
    }
}

/// Runs `write` with every [`Sealed`] value it serialises on this thread
/// written as a view of events shows it, never as the record holds it: an
/// opened (or legacy clear) value as `{"clear": value}`, the form a record
/// written before sealing holds, so that a reader of the view knows one
/// shape; a value that is not open as `{"erased": true, "person": id}`.
/// Records are never written inside it (the canonical bytes always hold the
/// sealed form).
///
/// Decision: a view shows what the reader's role may see of the event, which
/// the routes decide (staff read events; a customer reads their own export),
/// rather than ciphertext that no reader can use and that would still look
/// like data after an erasure.
pub fn as_view<R>(write: impl FnOnce() -> R) -> R {
    let _scope = ViewScope(VIEW.with(|v| v.replace(true)));
    write()
}

/// The clear wire form: records written before personal data was sealed.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ClearForm<T> {
    /// The value in clear.
    clear: T,
}

/// Either wire form, for decoding and for the schema.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum Wire<T> {
    /// Sealed.
    Sealed(SealedForm),
    /// Clear (legacy).
    Clear(ClearForm<T>),
    /// Erased (views of events only).
    Erased(ErasedForm),
}

impl<T: Serialize> Serialize for Sealed<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if VIEW.with(std::cell::Cell::get) {
            return match (&self.form, &self.clear) {
                (_, Some(clear)) => ClearForm { clear }.serialize(s),
                (Form::Sealed { key: person, .. } | Form::Erased { person }, None) => ErasedForm {
                    erased: true,
                    person: *person,
                }
                .serialize(s),
                (Form::Clear, None) => Err(serde::ser::Error::custom(
                    "a sealed value holds neither a clear value nor a ciphertext",
                )),
            };
        }
        match (&self.form, &self.clear) {
            (Form::Sealed { key, nonce, ct }, _) => SealedForm {
                key: *key,
                nonce: B64.encode(nonce),
                ct: B64.encode(ct),
            }
            .serialize(s),
            (Form::Clear, Some(clear)) => ClearForm { clear }.serialize(s),
            (Form::Erased { person }, _) => Err(serde::ser::Error::custom(format!(
                "the personal data of person {person} is read from a view in which it was \
                 erased: it cannot be written into a record"
            ))),
            (Form::Clear, None) => Err(serde::ser::Error::custom(
                "a sealed value holds neither a clear value nor a ciphertext",
            )),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Sealed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Wire::<T>::deserialize(d).map_err(|_| {
            D::Error::custom(
                "personal data is either {\"key\", \"nonce\", \"ct\"} (sealed), \
                 {\"clear\": ...} with the fields of its type, or, in a view of events, \
                 {\"erased\": true, \"person\": ...}",
            )
        })? {
            Wire::Clear(c) => Ok(Sealed::clear(c.clear)),
            Wire::Erased(e) if e.erased => Ok(Sealed {
                form: Form::Erased { person: e.person },
                clear: None,
            }),
            Wire::Erased(_) => Err(D::Error::custom(
                "personal data {\"erased\": false, ...}: erased is always true",
            )),
            Wire::Sealed(w) => {
                let nonce = B64
                    .decode(&w.nonce)
                    .ok()
                    .and_then(|n| <[u8; SEAL_NONCE_BYTES]>::try_from(n).ok())
                    .ok_or_else(|| D::Error::custom("nonce: not 24 bytes of base64"))?;
                let ct = B64
                    .decode(&w.ct)
                    .map_err(|e| D::Error::custom(format!("ct: not base64: {e}")))?;
                Ok(Sealed {
                    form: Form::Sealed {
                        key: w.key,
                        nonce,
                        ct,
                    },
                    clear: None,
                })
            }
        }
    }
}

impl<T: JsonSchema> JsonSchema for Sealed<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Sealed_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Wire::<T>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSON: Uuid = Uuid::from_u128(7);
    const EVENT: Uuid = Uuid::from_u128(9);

    fn sealed(value: &str) -> Sealed<String> {
        let mut s = Sealed::clear(value.to_owned());
        SealedField::seal(&mut s, PERSON, &[1; 32], EVENT).unwrap();
        s
    }

    #[test]
    fn term_retention_sealed_json_holds_no_clear_text() {
        let json = serde_json::to_string(&sealed("Dupont")).unwrap();
        assert!(!json.contains("Dupont"), "{json}");
        let mut back: Sealed<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.value(), None);
        back.open(PERSON, &[1; 32], EVENT).unwrap();
        assert_eq!(back.value().map(String::as_str), Some("Dupont"));
    }

    #[test]
    fn term_retention_a_blob_does_not_open_in_another_event_or_under_another_key() {
        let json = serde_json::to_string(&sealed("Dupont")).unwrap();
        let mut back: Sealed<String> = serde_json::from_str(&json).unwrap();
        let other_event = Uuid::from_u128(10);
        assert_eq!(
            back.clone().open(PERSON, &[1; 32], other_event),
            Err(SealError::DoesNotOpen(PERSON))
        );
        assert_eq!(
            back.clone().open(PERSON, &[3; 32], EVENT),
            Err(SealError::DoesNotOpen(PERSON))
        );
        assert!(matches!(
            back.open(Uuid::from_u128(8), &[1; 32], EVENT),
            Err(SealError::WrongPerson { .. })
        ));
    }

    #[test]
    fn term_retention_a_view_shows_opened_data_clear_and_closed_data_erased_never_sealed() {
        // Given a value sealed and opened, and one that did not open
        let opened = sealed("Dupont");
        let json = serde_json::to_string(&opened).unwrap();
        let closed: Sealed<String> = serde_json::from_str(&json).unwrap();
        // Then a view writes the first clear and the second erased
        let view = |v: &Sealed<String>| as_view(|| serde_json::to_string(v).unwrap());
        assert_eq!(view(&opened), r#"{"clear":"Dupont"}"#);
        let erased = format!(r#"{{"erased":true,"person":"{PERSON}"}}"#);
        assert_eq!(view(&closed), erased);
        // While a record, outside the view, holds the sealed form still
        assert_eq!(serde_json::to_string(&opened).unwrap(), json);
        // And a follower of a view reads the erased form back as data that
        // does not open, which no record can be written with
        let mut back: Sealed<String> = serde_json::from_str(&erased).unwrap();
        assert_eq!(back.sealed_for(), Some(PERSON));
        back.open(PERSON, &[1; 32], EVENT).unwrap();
        assert_eq!(back.value(), None);
        assert_eq!(view(&back), erased);
        let refused = serde_json::to_string(&back).unwrap_err().to_string();
        assert!(
            refused.contains("cannot be written into a record"),
            "{refused}"
        );
        let not_erased = erased.replace("true", "false");
        assert!(serde_json::from_str::<Sealed<String>>(&not_erased).is_err());
    }

    #[test]
    fn legacy_clear_form_reads_and_writes_as_it_was() {
        let v: Sealed<String> = serde_json::from_str(r#"{"clear":"Dupont"}"#).unwrap();
        assert_eq!(v.value().map(String::as_str), Some("Dupont"));
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"clear":"Dupont"}"#);
    }
}
