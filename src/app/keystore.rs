//! The key store: one random 32-byte key per person, in a file of the data
//! directory beside the log (for both backends: PostgreSQL keeps the data
//! directory's other files there too), never in the log.
//!
//! The file is a header and fixed 64-byte slots, one per person, in the order
//! the persons were registered: `state (1) ‖ 15 zero bytes ‖ person id (16) ‖
//! key (32)`. A slot is written once when the person's key is made, made
//! durable (fsync) before the event it seals is appended, and overwritten in
//! place when the person is erased: the state becomes "erased" and the key 32
//! zero bytes, then fsync; an erased slot for the person is then appended, so
//! that the file's length changes and every other process sharing the file
//! reads it again before it uses a key (a person thus holds one slot, or two
//! once erased; an older version reading such a file counts persons by slots
//! and must not share it). Decision: a fixed-slot file rather than a sled tree,
//! because sled keeps old values in its log segments until it compacts them, so
//! a destroyed key could stay readable on disk; an overwrite in place leaves no
//! copy in the file (a copy-on-write file system or a backup may keep one: see
//! docs/storage-format.md, "Personal data").
//!
//! A slot "erased" is a tombstone, not an absence: a person whose sealed data
//! has no slot at all is a lost key store, an error naming the person and the
//! file, never taken for an erasure.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fs2::FileExt;
use navigo_events_schema::sealed::{PersonKey, PERSON_KEY_BYTES};
use uuid::Uuid;

/// The key store's file name in the data directory.
pub const KEY_STORE_FILE: &str = "personal-keys";
/// The first bytes of the file.
const MAGIC: &[u8; 16] = b"NAVIGO-KEYS-V1\n\0";
/// Bytes of one slot.
const SLOT_BYTES: usize = 64;
/// Where the key lies in a slot.
const KEY_OFFSET: usize = 32;
const STATE_LIVE: u8 = 1;
const STATE_ERASED: u8 = 2;

/// A person's key as the store holds it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// The key.
    Live(PersonKey),
    /// The key was destroyed (`TERM-RETENTION`).
    Erased,
}

/// Why the key store failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// The file cannot be read or written.
    #[error("key store {path}: {why}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        why: String,
    },
    /// A person's key is not in the key store although the log holds data
    /// sealed with it and no erasure: the key store was lost or replaced.
    #[error(
        "the key of person {person} is missing from the key store {path}, and the log records \
         no erasure of that person: the key store was lost or replaced by an older copy; \
         restore the key store of this ledger (nothing was treated as erased)"
    )]
    Missing {
        /// The person.
        person: Uuid,
        /// The file.
        path: PathBuf,
    },
    /// A new key was asked for an erased person.
    #[error("the personal data of person {0} was erased: no new data can be sealed for them")]
    Erased(Uuid),
}

/// Each person's slot number and key state.
type Index = HashMap<Uuid, (u64, KeyState)>;

/// Slots to write: the first one's number, their persons and keys, their
/// bytes.
type NewSlots = (u64, Vec<(Uuid, PersonKey)>, Vec<u8>);

struct Slots {
    file: File,
    index: Index,
    /// Slots in the file as last read or written (a destroyed key leaves two
    /// slots for its person, so this is not the index's length).
    count: u64,
    /// When set, new keys are derived from it and the person id instead of
    /// drawn at random (generated populations only).
    derive: Option<[u8; 32]>,
    /// Keys drawn ahead of their slot ([`KeyStore::key_ahead`]): what a batch
    /// judged before its append seals with, written by the batch's
    /// [`KeyStore::create_all`] before any of its events is appended.
    ahead: std::collections::HashMap<Uuid, PersonKey>,
    /// Slots this process is writing and flushing beyond `count`, not in the
    /// index until their flush returned.
    writing: u64,
}

/// The key store of one data directory.
pub struct KeyStore {
    path: PathBuf,
    slots: Mutex<Slots>,
    /// The file opened a second time, for the writes: one writer of this
    /// process at a time holds it, and the file's exclusive lock through it,
    /// while look-ups go on under `slots`. Decision: a new key's flush holds
    /// `slots` only to pick its slot and, once the flush returned, to index
    /// the key, so that a batch's appends, sealing with keys already durable,
    /// and the readers opening sealed fields never wait for the next batch's
    /// flush.
    writer: Mutex<File>,
    /// Flushes of the file so far (what a batch of keys is to pay once).
    flushes: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("path", &self.path)
            .finish()
    }
}

impl KeyStore {
    /// Opens (or creates) the key store of the data directory `data`.
    ///
    /// # Errors
    /// The file cannot be opened, or is not a key store.
    pub fn open(data: &Path) -> Result<KeyStore, KeyStoreError> {
        let path = data.join(KEY_STORE_FILE);
        let io = |e: std::io::Error| KeyStoreError::Io {
            path: path.clone(),
            why: e.to_string(),
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        if bytes.is_empty() {
            file.write_all(MAGIC).map_err(io)?;
            file.sync_all().map_err(io)?;
            bytes.extend_from_slice(MAGIC);
        }
        let (index, count) = parse(&bytes).map_err(|why| KeyStoreError::Io {
            path: path.clone(),
            why,
        })?;
        // A second open file description: its seek position and its lock are
        // the writer's own.
        let writer = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        Ok(KeyStore {
            path,
            slots: Mutex::new(Slots {
                file,
                index,
                count,
                derive: None,
                ahead: std::collections::HashMap::new(),
                writing: 0,
            }),
            writer: Mutex::new(writer),
            flushes: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Derives the keys made from now on from `seed` and the person id
    /// instead of drawing them at random: for a generated population (the
    /// demo), whose log must be the same for the same seed. Never for real
    /// persons: anyone knowing the seed knows the keys.
    pub fn derive_new_keys_from(&self, seed: u64) {
        let mut h = blake3::Hasher::new();
        h.update(b"navigo demo person keys v1");
        h.update(&seed.to_be_bytes());
        self.lock().derive = Some(*h.finalize().as_bytes());
    }

    /// The key of `person`: `None` when the store has no slot for them. The
    /// file is read again first when another process changed it: the
    /// services sharing one database share one key store file, and another
    /// may have made the key, or destroyed it (an erasure by the command line
    /// or another service must not leave this one opening the person's data
    /// until it restarts).
    pub fn get(&self, person: Uuid) -> Option<KeyState> {
        let mut slots = self.lock();
        // A file that cannot be read again leaves the index as it was: the
        // caller then reports the key missing, naming the file, or opens with
        // the key it had, which the file held when last read.
        let _ = self.reread(&mut slots);
        // A key drawn ahead opens what a batch sealed with it before the
        // batch wrote it (a state paged out and in again within the batch).
        slots
            .index
            .get(&person)
            .map(|(_, k)| *k)
            .or_else(|| slots.ahead.get(&person).map(|k| KeyState::Live(*k)))
    }

    /// The key of `person` as the file holds it: [`KeyStore::get`] without the
    /// keys drawn ahead, for whatever writes with a key and so needs it
    /// durable first.
    pub fn get_written(&self, person: Uuid) -> Option<KeyState> {
        let mut slots = self.lock();
        let _ = self.reread(&mut slots);
        slots.index.get(&person).map(|(_, k)| *k)
    }

    /// Reads the file's slots again when another process sharing the file
    /// added some (its length is not what this process's slots make): a key
    /// made or destroyed elsewhere costs this process a length check per
    /// look-up, not a read of every slot. A destruction appends a slot for
    /// that reason ([`KeyStore::destroy`]). A slot the other process has
    /// written but not yet flushed may be read here: harmless, since no event
    /// sealed with its key is appended before that flush returns, so the key
    /// opens nothing a crash could leave without it.
    fn reread(&self, slots: &mut Slots) -> Result<(), KeyStoreError> {
        // While this process writes slots it holds the file's exclusive lock:
        // no other process changed the file, and the slots being flushed are
        // indexed once durable, not read back before.
        if slots.writing > 0 {
            return Ok(());
        }
        let io = |e: std::io::Error| self.io(e.to_string());
        let known = MAGIC.len() as u64 + slots.count * SLOT_BYTES as u64;
        if slots.file.metadata().map_err(io)?.len() == known {
            return Ok(());
        }
        let mut bytes = Vec::new();
        slots.file.seek(SeekFrom::Start(0)).map_err(io)?;
        slots.file.read_to_end(&mut bytes).map_err(io)?;
        (slots.index, slots.count) = parse(&bytes).map_err(|why| self.io(why))?;
        Ok(())
    }

    /// Runs `write` as this process's one writer, holding the file's
    /// exclusive lock: two processes sharing the file never take one slot
    /// (`write` reads the slots again under it).
    fn locked<T>(
        &self,
        write: impl FnOnce(&mut File) -> Result<T, KeyStoreError>,
    ) -> Result<T, KeyStoreError> {
        let mut file = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        FileExt::lock_exclusive(&*file).map_err(|e| self.io(e.to_string()))?;
        let done = write(&mut file);
        let unlocked = FileExt::unlock(&*file).map_err(|e| self.io(e.to_string()));
        let done = done?;
        unlocked?;
        Ok(done)
    }

    /// The key of `person`, made and made durable when they have none.
    ///
    /// # Errors
    /// The person was erased, or the file cannot be written.
    pub fn get_or_create(&self, person: Uuid) -> Result<PersonKey, KeyStoreError> {
        if let Some(KeyState::Live(k)) = self.get_written(person) {
            return Ok(k);
        }
        self.locked(|file| self.create(file, person))
    }

    /// The key of `person`, drawn ahead of its slot when they have none: it
    /// is kept in memory only, and written (with every other key a batch
    /// drew) by [`KeyStore::create_all`] before an event sealed with it is
    /// appended. A batch judged before its append (the service's pipeline,
    /// an import) seals its events with it before folding them, so that no
    /// state is folded from clear personal data, and pays one flush for all
    /// its new persons.
    ///
    /// # Errors
    /// The person was erased, or no randomness.
    pub fn key_ahead(&self, person: Uuid) -> Result<PersonKey, KeyStoreError> {
        let mut slots = self.lock();
        let _ = self.reread(&mut slots);
        match slots.index.get(&person) {
            Some((_, KeyState::Live(k))) => return Ok(*k),
            Some((_, KeyState::Erased)) => return Err(KeyStoreError::Erased(person)),
            None => {}
        }
        if let Some(k) = slots.ahead.get(&person) {
            return Ok(*k);
        }
        let key = self.draw(&slots, person)?;
        slots.ahead.insert(person, key);
        Ok(key)
    }

    /// A new key for `person`: derived from the generated population's seed
    /// when set, else drawn at random.
    fn draw(&self, slots: &Slots, person: Uuid) -> Result<PersonKey, KeyStoreError> {
        let mut key = [0u8; PERSON_KEY_BYTES];
        match &slots.derive {
            Some(d) => key = *blake3::keyed_hash(d, person.as_bytes()).as_bytes(),
            None => getrandom::getrandom(&mut key).map_err(|e| self.io(e.to_string()))?,
        }
        Ok(key)
    }

    /// Makes the key of `person` in a new slot, unless the slots have one.
    fn create(&self, file: &mut File, person: Uuid) -> Result<PersonKey, KeyStoreError> {
        self.create_missing(file, &[person])?;
        match self.lock().index.get(&person) {
            Some((_, KeyState::Live(k))) => Ok(*k),
            _ => Err(KeyStoreError::Erased(person)),
        }
    }

    /// Makes the keys of those of `persons` who have no slot, in one write and
    /// one flush, before any event sealed with them is appended.
    ///
    /// A batch of commands that registers many persons (the service's
    /// pipelined batches, an import) thus pays one flush of the key store for
    /// all of them rather than one each, which would otherwise bound the
    /// commands per second by the disk's flushes whatever the log's group
    /// commit does. An erased person gets no key (sealing their data then
    /// fails as [`KeyStore::get_or_create`] does).
    ///
    /// # Errors
    /// The file cannot be written: no key of the call is made.
    pub fn create_all(&self, persons: &[Uuid]) -> Result<(), KeyStoreError> {
        {
            let mut slots = self.lock();
            let _ = self.reread(&mut slots);
            if persons.iter().all(|p| slots.index.contains_key(p)) {
                return Ok(());
            }
        }
        self.locked(|file| self.create_missing(file, persons))
    }

    /// Appends a live slot for each of `persons` the slots do not hold, all
    /// in one write through the writer's `file`, made durable before the
    /// index shows any of them; the look-ups go on meanwhile.
    fn create_missing(&self, file: &mut File, persons: &[Uuid]) -> Result<(), KeyStoreError> {
        let Some((first, made, bytes)) = self.new_slots(persons)? else {
            return Ok(());
        };
        let written = self.write_slot(file, first, &bytes);
        let mut guard = self.lock();
        let slots = &mut *guard;
        slots.writing = 0;
        written?;
        for (person, key) in made {
            slots.ahead.remove(&person);
            slots
                .index
                .insert(person, (slots.count, KeyState::Live(key)));
            slots.count += 1;
        }
        Ok(())
    }

    /// The slots to write for those of `persons` the file does not hold (read
    /// again first: the caller holds its exclusive lock): the first slot's
    /// number, the persons and keys, and the slots' bytes; marked as being
    /// written. `None` when every person has a slot.
    fn new_slots(&self, persons: &[Uuid]) -> Result<Option<NewSlots>, KeyStoreError> {
        let mut slots = self.lock();
        self.reread(&mut slots)?;
        let mut made: Vec<(Uuid, PersonKey)> = Vec::new();
        let mut bytes = Vec::new();
        for &person in persons {
            if slots.index.contains_key(&person) || made.iter().any(|(p, _)| *p == person) {
                continue;
            }
            let key = match slots.ahead.get(&person) {
                Some(k) => *k,
                None => self.draw(&slots, person)?,
            };
            let mut slot = [0u8; SLOT_BYTES];
            slot[0] = STATE_LIVE;
            slot[16..32].copy_from_slice(person.as_bytes());
            slot[KEY_OFFSET..].copy_from_slice(&key);
            bytes.extend_from_slice(&slot);
            made.push((person, key));
        }
        if made.is_empty() {
            return Ok(None);
        }
        slots.writing = made.len() as u64;
        Ok(Some((slots.count, made, bytes)))
    }

    /// Destroys the key of `person`: its slot is overwritten with zeros in
    /// place, marked erased, and made durable. `true` when a key was
    /// destroyed, `false` when it was destroyed already or never made (a person
    /// registered before sealing).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn destroy(&self, person: Uuid) -> Result<bool, KeyStoreError> {
        self.locked(|file| {
            let mut slots = self.lock();
            self.reread(&mut slots)?;
            self.erase_slot(file, &mut slots, person)
        })
    }

    /// Overwrites the slot of `person` with its erased form, then appends
    /// another erased slot for them (the only one when they had none): the
    /// overwrite destroys the key, the append changes the file's length, by
    /// which every other process sharing the file notices ([`KeyStore::get`]).
    fn erase_slot(
        &self,
        file: &mut File,
        slots: &mut Slots,
        person: Uuid,
    ) -> Result<bool, KeyStoreError> {
        slots.ahead.remove(&person);
        let live = match slots.index.get(&person) {
            Some((slot, KeyState::Live(_))) => Some(*slot),
            Some((_, KeyState::Erased)) => return Ok(false),
            None => None,
        };
        let mut bytes = [0u8; SLOT_BYTES];
        bytes[0] = STATE_ERASED;
        bytes[16..32].copy_from_slice(person.as_bytes());
        if let Some(slot) = live {
            self.write_slot(file, slot, &bytes)?;
        }
        let appended = slots.count;
        self.write_slot(file, appended, &bytes)?;
        slots.count += 1;
        slots.index.insert(person, (appended, KeyState::Erased));
        Ok(live.is_some())
    }

    /// Writes `bytes` (whole slots) from slot number `slot` on, and flushes.
    fn write_slot(&self, file: &mut File, slot: u64, bytes: &[u8]) -> Result<(), KeyStoreError> {
        let at = MAGIC.len() as u64 + slot * SLOT_BYTES as u64;
        let io = |e: std::io::Error| self.io(e.to_string());
        file.seek(SeekFrom::Start(at)).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        self.flushes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        file.sync_all().map_err(io)
    }

    fn io(&self, why: String) -> KeyStoreError {
        KeyStoreError::Io {
            path: self.path.clone(),
            why,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic while holding the lock leaves whole slots only (each write is
        // one slot), so the index is still right.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What [`carry`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// The source's key store was copied into the target's data directory.
    Copied,
    /// The target's key store is the source's already (or both directories are one).
    AlreadyThere,
    /// The source's data directory has no key store (a log with no sealed data).
    NothingToCarry,
}

/// Copies the key store of the data directory `from` into the data directory
/// `to`, which must hold none or an empty one: a ledger's log moved to another
/// store (`migrate`) cannot open its personal data without its keys. The copy
/// is written beside, made durable and renamed into place.
///
/// Decision: a target holding other keys is refused rather than merged: two
/// key stores of one ledger mean two histories of its erasures, which only an
/// operator can reconcile.
///
/// # Errors
/// A file that cannot be read or written; a target holding other keys.
pub fn carry(from: &Path, to: &Path) -> Result<Carried, KeyStoreError> {
    let (src, dst) = (from.join(KEY_STORE_FILE), to.join(KEY_STORE_FILE));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| KeyStoreError::Io {
            path: path.clone(),
            why: e.to_string(),
        }
    };
    let bytes = match std::fs::read(&src) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Carried::NothingToCarry),
        Err(e) => return Err(io(&src)(e)),
    };
    parse(&bytes).map_err(|why| KeyStoreError::Io {
        path: src.clone(),
        why,
    })?;
    match std::fs::read(&dst) {
        Ok(there) if there == bytes => return Ok(Carried::AlreadyThere),
        Ok(there) if there.is_empty() || there == MAGIC.as_slice() => {}
        Ok(_) => {
            return Err(KeyStoreError::Io {
                path: dst,
                why: format!(
                    "holds other keys than {}: not replaced; move it aside to carry the \
                     source's",
                    src.display()
                ),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&dst)(e)),
    }
    std::fs::create_dir_all(to).map_err(io(to))?;
    let tmp = to.join(format!("{KEY_STORE_FILE}.carried"));
    let mut file = File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(&bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, &dst).map_err(io(&dst))?;
    File::open(to).and_then(|d| d.sync_all()).map_err(io(to))?;
    Ok(Carried::Copied)
}

/// The slots of a key store file, by person (an erased slot wins over a
/// live one whatever their order: a destroyed key's overwritten slot and its
/// appended tombstone both say erased, and no key is made for an erased
/// person), and how many slots it holds.
fn parse(bytes: &[u8]) -> Result<(Index, u64), String> {
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a navigo key store (its first bytes differ)")?;
    if body.len() % SLOT_BYTES != 0 {
        return Err(format!(
            "{} bytes after the header, not a whole number of {SLOT_BYTES}-byte slots",
            body.len()
        ));
    }
    let mut index = HashMap::new();
    for (i, slot) in body.chunks_exact(SLOT_BYTES).enumerate() {
        let person = Uuid::from_slice(&slot[16..32]).map_err(|e| e.to_string())?;
        let state = match slot[0] {
            STATE_LIVE => {
                let mut key = [0u8; PERSON_KEY_BYTES];
                key.copy_from_slice(&slot[KEY_OFFSET..]);
                KeyState::Live(key)
            }
            STATE_ERASED => KeyState::Erased,
            other => return Err(format!("slot {i}: unknown state {other}")),
        };
        if !matches!(index.get(&person), Some((_, KeyState::Erased))) {
            index.insert(person, (i as u64, state));
        }
    }
    Ok((index, (body.len() / SLOT_BYTES) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("navigo-keys-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn term_retention_a_key_destroyed_by_another_process_is_seen_erased_without_a_restart() {
        // Given two key stores over one file (two processes sharing it), both
        // holding a person's live key
        let d = dir("shared");
        let (a, b) = (KeyStore::open(&d).unwrap(), KeyStore::open(&d).unwrap());
        let (p, q) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let key = a.get_or_create(p).unwrap();
        a.get_or_create(q).unwrap();
        assert!(matches!(b.get(p), Some(KeyState::Live(k)) if k == key));
        // When one destroys the key
        assert!(a.destroy(p).unwrap());
        // Then the other sees it erased at its next look-up, and the key is
        // in no byte of the file
        assert!(matches!(b.get(p), Some(KeyState::Erased)));
        assert!(matches!(b.get(q), Some(KeyState::Live(_))));
        let bytes = std::fs::read(d.join(KEY_STORE_FILE)).unwrap();
        assert!(!bytes.windows(key.len()).any(|w| w == key));
        // And a key made after it takes a new slot, seen by both and by a
        // store opened afresh
        let r = Uuid::from_u128(3);
        let made = b.get_or_create(r).unwrap();
        assert!(matches!(a.get(r), Some(KeyState::Live(k)) if k == made));
        let c = KeyStore::open(&d).unwrap();
        assert!(matches!(c.get(p), Some(KeyState::Erased)));
        assert!(matches!(c.get(q), Some(KeyState::Live(_))));
        assert!(matches!(c.get(r), Some(KeyState::Live(k)) if k == made));
        assert!(matches!(c.get_or_create(p), Err(KeyStoreError::Erased(_))));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn term_retention_look_ups_never_wait_for_a_key_flush_and_a_key_being_flushed_is_not_written() {
        // Given a key store holding person 1's written key and person 2's
        // drawn ahead
        let d = dir("flushing");
        let s = std::sync::Arc::new(KeyStore::open(&d).unwrap());
        let p = |n: u128| Uuid::from_u128(n);
        let one = s.get_or_create(p(1)).unwrap();
        let two = s.key_ahead(p(2)).unwrap();
        // When this process's writer is in the middle of person 3's key's
        // write and flush (its slot picked, the flush not returned)
        let mut writer = s.writer.lock().unwrap();
        let (first, _, bytes) = s.new_slots(&[p(3)]).unwrap().expect("a new slot");
        // Then another thread's look-ups and the check that person 1's key
        // is written all return meanwhile (a batch's appends sealing with
        // written keys, and the readers, never wait for the next flush),
        // and person 3's key is written for nobody until its flush returned
        let (tx, rx) = std::sync::mpsc::channel();
        let other = s.clone();
        std::thread::spawn(move || {
            let got = (
                other.get(p(1)),
                other.get(p(2)),
                other.create_all(&[p(1)]).is_ok(),
                other.get_written(p(3)).is_none(),
            );
            let _ = tx.send(got);
        });
        let (got_one, got_two, written, three_unwritten) = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the look-ups waited for the writer");
        assert!(matches!(got_one, Some(KeyState::Live(k)) if k == one));
        assert!(matches!(got_two, Some(KeyState::Live(k)) if k == two));
        assert!(written && three_unwritten);
        // And once the flush is done the file holds person 3's slot
        s.write_slot(&mut writer, first, &bytes).unwrap();
        drop(writer);
        let again = KeyStore::open(&d).unwrap();
        assert!(matches!(again.get(p(3)), Some(KeyState::Live(_))));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn term_retention_keys_of_a_batch_are_made_with_one_flush_and_none_for_the_erased() {
        // Given a key store holding person 1's key and person 3 erased
        let d = dir("batch");
        let s = KeyStore::open(&d).unwrap();
        let p = |n: u128| Uuid::from_u128(n);
        let one = s.get_or_create(p(1)).unwrap();
        s.destroy(p(3)).unwrap();
        let before = s.flushes.load(std::sync::atomic::Ordering::Relaxed);
        // When the keys of a batch naming them, a person twice and three new
        // persons are made
        s.create_all(&[p(1), p(2), p(2), p(3), p(4), p(5)]).unwrap();
        // Then the file was flushed once, for the three new keys only
        let flushes = s.flushes.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(flushes - before, 1);
        let len = std::fs::metadata(d.join(KEY_STORE_FILE)).unwrap().len();
        assert_eq!(len, (MAGIC.len() + 5 * SLOT_BYTES) as u64);
        assert!(matches!(s.get(p(1)), Some(KeyState::Live(k)) if k == one));
        assert!(matches!(s.get(p(3)), Some(KeyState::Erased)));
        let live = |st: &KeyStore, n| match st.get(p(n)) {
            Some(KeyState::Live(k)) => k,
            other => panic!("person {n}: {}", other.is_some()),
        };
        let made = [live(&s, 2), live(&s, 4), live(&s, 5)];
        assert!(made[0] != made[1] && made[1] != made[2] && made[0] != made[2]);
        // And a store opened afresh reads the same keys; asking again flushes
        // nothing
        let again = KeyStore::open(&d).unwrap();
        assert_eq!([live(&again, 2), live(&again, 4), live(&again, 5)], made);
        assert!(matches!(again.get(p(3)), Some(KeyState::Erased)));
        s.create_all(&[p(2), p(4), p(5), p(3)]).unwrap();
        let after = s.flushes.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(after, flushes);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn term_retention_a_key_drawn_ahead_is_the_one_written_and_never_written_for_the_erased() {
        // Given a key store and a batch that drew person 1's and 2's keys
        // ahead of its append
        let d = dir("ahead");
        let s = KeyStore::open(&d).unwrap();
        let p = |n: u128| Uuid::from_u128(n);
        let one = s.key_ahead(p(1)).unwrap();
        let two = s.key_ahead(p(2)).unwrap();
        assert_eq!(s.key_ahead(p(1)).unwrap(), one, "drawn once");
        // Then nothing is written yet: another process sees no key, this one
        // opens with it but never writes with it
        let len = || std::fs::metadata(d.join(KEY_STORE_FILE)).unwrap().len();
        assert_eq!(len(), MAGIC.len() as u64);
        assert!(KeyStore::open(&d).unwrap().get(p(1)).is_none());
        assert!(matches!(s.get(p(1)), Some(KeyState::Live(k)) if k == one));
        assert!(s.get_written(p(1)).is_none());
        // When person 2 is erased before the batch is appended, and the batch
        // writes its keys
        s.destroy(p(2)).unwrap();
        s.create_all(&[p(1), p(2)]).unwrap();
        // Then person 1's key is the one drawn ahead, durable, and person 2's
        // drawn key is gone for good
        let again = KeyStore::open(&d).unwrap();
        assert!(matches!(again.get(p(1)), Some(KeyState::Live(k)) if k == one));
        assert!(matches!(again.get(p(2)), Some(KeyState::Erased)));
        assert!(matches!(s.get(p(2)), Some(KeyState::Erased)));
        assert!(s.key_ahead(p(2)).is_err());
        let bytes = std::fs::read(d.join(KEY_STORE_FILE)).unwrap();
        assert!(
            !bytes.windows(two.len()).any(|w| w == two),
            "2's key written"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn term_retention_a_key_store_erased_in_place_only_still_reads_erased() {
        // Given a file as the version before wrote an erasure: the slot
        // overwritten in place, nothing appended
        let d = dir("in-place");
        let p = Uuid::from_u128(7);
        let mut bytes = MAGIC.to_vec();
        let mut slot = [0u8; SLOT_BYTES];
        slot[0] = STATE_ERASED;
        slot[16..32].copy_from_slice(p.as_bytes());
        bytes.extend_from_slice(&slot);
        std::fs::write(d.join(KEY_STORE_FILE), &bytes).unwrap();
        // Then the person reads erased, and a new person's key takes slot 1
        let s = KeyStore::open(&d).unwrap();
        assert!(matches!(s.get(p), Some(KeyState::Erased)));
        s.get_or_create(Uuid::from_u128(8)).unwrap();
        let len = std::fs::metadata(d.join(KEY_STORE_FILE)).unwrap().len();
        assert_eq!(len, (MAGIC.len() + 2 * SLOT_BYTES) as u64);
        let _ = std::fs::remove_dir_all(&d);
    }
}
