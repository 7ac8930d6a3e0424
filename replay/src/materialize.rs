//! Materialized projections in sled, rebuilt atomically and followed.
//!
//! Layout (a sled database in `<ledger>/projections`, beside the log's own
//! database, so that the store keeps sole ownership of its `Db`): one tree per
//! projection kind and generation, `<kind>.g<n>`, whose rows are
//! `id (16 bytes) -> JSON view` and whose key [`CHECKPOINT_KEY`] holds the last
//! log position folded. Every write of rows goes with the checkpoint in one atomic
//! batch (rebuild) or one multi-tree transaction (follow), so rows and checkpoint
//! never disagree, even across a crash. The tree `replay.meta` holds
//! [`CURRENT_KEY`]: the generation readers use. A rebuild fills generation n+1
//! (shadow trees) and then writes the pointer in one transaction: readers see the
//! old projection or the new one, never a mix. Shadow trees left by a crash are
//! dropped by the next rebuild.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use navigo_core::policy::Policy;
use navigo_events_schema::{Envelope, Event, StreamId, StreamKind};
use navigo_projections::{balance, bans, calendar, refunds, state, Query, Worlds};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use uuid::Uuid;

use crate::ReplayError;

/// The projection kinds materialized, in tree order.
pub const KINDS: [&str; 5] = ["state", "balance", "calendar", "bans", "refunds"];
/// The key of the checkpoint in every projection tree (never 16 bytes long, so it
/// cannot collide with an id).
pub const CHECKPOINT_KEY: &[u8] = b"~checkpoint";
/// The key of the current generation in the meta tree.
pub const CURRENT_KEY: &[u8] = b"current";
/// Rows per atomic batch during a rebuild: bounds the memory of one batch.
pub const REBUILD_BATCH_ROWS_MAX: usize = 4_096;
const META_TREE: &str = "replay.meta";

/// The projection database of a ledger directory.
pub fn projection_dir(ledger: &Path) -> PathBuf {
    ledger.join("projections")
}

/// Progress of long work, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What is being done.
    pub phase: &'static str,
    /// Units done.
    pub done: u64,
    /// Units in all.
    pub total: u64,
}

/// The materialized views of one log, before they are written: per kind, id to
/// encoded view.
pub type Rows = BTreeMap<&'static str, BTreeMap<Uuid, Vec<u8>>>;

/// Which ids a set of new events touches, so that a follower recomputes only
/// those. `None`: a reference event (catalogue, campaign) touches everything.
fn touched(
    events: &[Envelope],
    world: &navigo_core::world::World,
) -> Option<(BTreeSet<Uuid>, BTreeSet<Uuid>)> {
    let mut contracts = BTreeSet::new();
    let mut persons = BTreeSet::new();
    for e in events {
        match e.stream.kind {
            StreamKind::Contract => {
                contracts.insert(e.stream.id);
            }
            StreamKind::Person => {
                persons.insert(e.stream.id);
            }
            _ => return None,
        }
    }
    for c in &contracts {
        if let Some(s) = world.contract(*c) {
            persons.insert(s.holder);
            persons.insert(s.payer);
            persons.extend(s.payers.iter().map(|(_, p)| *p));
        }
    }
    for p in persons.clone() {
        contracts.extend(world.contracts_of_holder(p).map(|c| c.id));
        contracts.extend(world.contracts_of_payer(p).map(|c| c.id));
    }
    Some((contracts, persons))
}

/// The events a person's ban windows read: the person's stream, the streams of
/// the contracts they hold or pay, and every fraud finding (it names accomplices).
fn person_slice(all: &[Envelope], worlds: &Worlds, person: Uuid) -> Vec<Envelope> {
    let mut streams: BTreeSet<StreamId> = BTreeSet::new();
    streams.insert(StreamId::person(person));
    for c in worlds.known.contracts.values() {
        if c.holder == person || c.payer == person || c.payers.iter().any(|(_, p)| *p == person) {
            streams.insert(StreamId::contract(c.id));
        }
    }
    let mut out: Vec<Envelope> = streams
        .iter()
        .flat_map(|s| worlds.known.history.get(s).into_iter().flatten().cloned())
        .collect();
    out.extend(
        all.iter()
            .filter(|e| {
                matches!(
                    e.event,
                    Event::FraudEstablished(_) | Event::EventAnnulled(_)
                )
            })
            .filter(|e| !streams.contains(&e.stream))
            .cloned(),
    );
    out.sort_by_key(|e| e.position);
    out
}

/// Computes the materialized rows of the given contracts and persons (all when
/// `only` is `None`) from the log `events`, on `at`, everything known.
///
/// # Errors
/// A view that cannot be encoded.
pub fn compute_rows(
    events: &[Envelope],
    worlds: &Worlds,
    at: NaiveDate,
    only: Option<&(BTreeSet<Uuid>, BTreeSet<Uuid>)>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Rows, ReplayError> {
    let q = Query::on(at);
    let policy = Policy::default();
    let mut rows: Rows = KINDS.iter().map(|k| (*k, BTreeMap::new())).collect();
    let contracts: Vec<Uuid> = match only {
        Some((c, _)) => c.iter().copied().collect(),
        None => worlds.known.contracts.keys().copied().collect(),
    };
    let persons: Vec<Uuid> = match only {
        Some((_, p)) => p.iter().copied().collect(),
        None => worlds.known.persons.keys().copied().collect(),
    };
    let total = (contracts.len() + persons.len()) as u64;
    let mut done = 0u64;
    let put = |rows: &mut Rows, kind: &'static str, id: Uuid, v: Vec<u8>| {
        if let Some(t) = rows.get_mut(kind) {
            t.insert(id, v);
        }
    };
    for id in contracts {
        if worlds.known.contract(id).is_none() {
            continue;
        }
        let s = state::contract_state_in(worlds, id, &q)?;
        put(&mut rows, "state", id, serde_json::to_vec(&s)?);
        let b = balance::contract_balance_in(&worlds.at, id, &q)?;
        put(&mut rows, "balance", id, serde_json::to_vec(&b)?);
        let c = calendar::calendar_in(&worlds.known, &worlds.at, id, &q, &policy, None)?;
        put(&mut rows, "calendar", id, serde_json::to_vec(&c)?);
        done += 1;
        if done % 256 == 0 {
            progress(Progress {
                phase: "projecting",
                done,
                total,
            });
        }
    }
    for id in persons {
        if worlds.known.person(id).is_none() {
            continue;
        }
        let slice = person_slice(events, worlds, id);
        let b = bans::person_bans(&slice, id, &q)?;
        put(&mut rows, "bans", id, serde_json::to_vec(&b)?);
        let r = refunds::person_refunds_in(worlds, id, &q)?;
        put(&mut rows, "refunds", id, serde_json::to_vec(&r)?);
        done += 1;
        if done % 256 == 0 {
            progress(Progress {
                phase: "projecting",
                done,
                total,
            });
        }
    }
    progress(Progress {
        phase: "projecting",
        done,
        total,
    });
    Ok(rows)
}

/// The materialized projections of a ledger.
#[derive(Debug, Clone)]
pub struct ProjectionDb {
    db: sled::Db,
    meta: sled::Tree,
}

/// What a generation holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// Its number.
    pub number: u64,
    /// The effective date its views are read on.
    pub at: NaiveDate,
    /// The last log position folded into it.
    pub checkpoint: u64,
}

fn be(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

fn read_u64(tree: &str, v: &[u8]) -> Result<u64, ReplayError> {
    let b: [u8; 8] = v.try_into().map_err(|_| ReplayError::Corrupt {
        tree: tree.into(),
        why: format!("expected 8 bytes, found {}", v.len()),
    })?;
    Ok(u64::from_be_bytes(b))
}

fn tree_name(kind: &str, generation: u64) -> String {
    format!("{kind}.g{generation}")
}

fn at_key(generation: u64) -> Vec<u8> {
    format!("at.g{generation}").into_bytes()
}

impl ProjectionDb {
    /// Opens (or creates) the projection database of the ledger in `ledger`.
    ///
    /// # Errors
    /// A sled failure (e.g. another process holds it).
    pub fn open(ledger: &Path) -> Result<ProjectionDb, ReplayError> {
        let db = sled::Config::new().path(projection_dir(ledger)).open()?;
        let meta = db.open_tree(META_TREE)?;
        Ok(ProjectionDb { db, meta })
    }

    /// The generation readers use, if any was built.
    ///
    /// # Errors
    /// A sled failure or a corrupt pointer.
    pub fn current(&self) -> Result<Option<Generation>, ReplayError> {
        let Some(n) = self.meta.get(CURRENT_KEY)? else {
            return Ok(None);
        };
        let number = read_u64(META_TREE, &n)?;
        let at = match self.meta.get(at_key(number))? {
            Some(v) => std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse::<NaiveDate>().ok())
                .ok_or_else(|| ReplayError::Corrupt {
                    tree: META_TREE.into(),
                    why: "the generation's date is not YYYY-MM-DD".into(),
                })?,
            None => {
                return Err(ReplayError::Corrupt {
                    tree: META_TREE.into(),
                    why: format!("generation {number} has no date"),
                })
            }
        };
        let t = self.db.open_tree(tree_name(KINDS[0], number))?;
        let checkpoint = match t.get(CHECKPOINT_KEY)? {
            Some(v) => read_u64(KINDS[0], &v)?,
            None => 0,
        };
        Ok(Some(Generation {
            number,
            at,
            checkpoint,
        }))
    }

    fn trees(&self, generation: u64) -> Result<Vec<sled::Tree>, ReplayError> {
        KINDS
            .iter()
            .map(|k| Ok(self.db.open_tree(tree_name(k, generation))?))
            .collect()
    }

    /// Rebuilds every projection from `events` (the whole log, in position order)
    /// on `at` into a new generation, then swaps it in. The old generation and any
    /// shadow left by a crash are dropped after the swap.
    ///
    /// # Errors
    /// A sled failure or an encoding failure; the current generation is untouched.
    pub fn rebuild(
        &self,
        events: &[Envelope],
        at: NaiveDate,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Generation, ReplayError> {
        let old = self.current()?;
        let next = self.next_generation()?;
        // A shadow of the same number may survive a crash: start it empty.
        for k in KINDS {
            self.db.drop_tree(tree_name(k, next))?;
        }
        let checkpoint = events.last().map_or(0, |e| e.position);
        let worlds = Worlds::new(events, &Query::on(at));
        progress(Progress {
            phase: "folded",
            done: events.len() as u64,
            total: events.len() as u64,
        });
        let rows = compute_rows(events, &worlds, at, None, progress)?;
        drop(worlds);
        let trees = self.trees(next)?;
        let total: u64 = rows.values().map(|r| r.len() as u64).sum();
        let mut written = 0u64;
        for (tree, kind) in trees.iter().zip(KINDS) {
            let mut batch = sled::Batch::default();
            let mut n = 0usize;
            for (id, v) in rows.get(kind).into_iter().flatten() {
                batch.insert(id.as_bytes().as_slice(), v.as_slice());
                n += 1;
                if n == REBUILD_BATCH_ROWS_MAX {
                    // The checkpoint rides in every batch: rows and position move
                    // together.
                    batch.insert(CHECKPOINT_KEY, &be(checkpoint));
                    tree.apply_batch(std::mem::take(&mut batch))?;
                    written += n as u64;
                    n = 0;
                    progress(Progress {
                        phase: "writing",
                        done: written,
                        total,
                    });
                }
            }
            batch.insert(CHECKPOINT_KEY, &be(checkpoint));
            tree.apply_batch(batch)?;
            written += n as u64;
        }
        progress(Progress {
            phase: "writing",
            done: written,
            total,
        });
        self.db.flush()?;
        // The swap: one transaction writes the generation's date and the pointer.
        let at_text = at.to_string();
        self.meta
            .transaction(|m| {
                m.insert(at_key(next), at_text.as_bytes())?;
                m.insert(CURRENT_KEY, &be(next))?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(tx_err)?;
        self.db.flush()?;
        self.drop_stale(next, old.as_ref().map(|g| g.number))?;
        Ok(Generation {
            number: next,
            at,
            checkpoint,
        })
    }

    fn next_generation(&self) -> Result<u64, ReplayError> {
        let mut max = 0;
        for name in self.db.tree_names() {
            if let Some(g) = std::str::from_utf8(&name)
                .ok()
                .and_then(|s| s.rsplit_once(".g"))
                .and_then(|(_, n)| n.parse::<u64>().ok())
            {
                max = max.max(g);
            }
        }
        Ok(max + 1)
    }

    /// Drops every generation's trees except `keep`.
    fn drop_stale(&self, keep: u64, _old: Option<u64>) -> Result<(), ReplayError> {
        for name in self.db.tree_names() {
            let Some(g) = std::str::from_utf8(&name)
                .ok()
                .and_then(|s| s.rsplit_once(".g"))
                .filter(|(k, _)| KINDS.contains(k))
                .and_then(|(_, n)| n.parse::<u64>().ok())
            else {
                continue;
            };
            if g != keep {
                self.db.drop_tree(&name)?;
                self.meta.remove(at_key(g))?;
            }
        }
        Ok(())
    }

    /// Folds the events after the current checkpoint into the current generation:
    /// the rows of every contract and person they touch are recomputed from the
    /// whole log `events` and written with the new checkpoint in one transaction
    /// over all the trees. Returns the generation after the catch-up.
    ///
    /// # Errors
    /// [`ReplayError::NotBuilt`], a sled failure.
    pub fn catch_up(
        &self,
        events: &[Envelope],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Generation, ReplayError> {
        let g = self.current()?.ok_or(ReplayError::NotBuilt)?;
        let new: Vec<Envelope> = events
            .iter()
            .filter(|e| e.position > g.checkpoint)
            .cloned()
            .collect();
        let Some(last) = new.last().map(|e| e.position) else {
            return Ok(g);
        };
        let worlds = Worlds::new(events, &Query::on(g.at));
        let only = touched(&new, &worlds.known);
        let rows = compute_rows(events, &worlds, g.at, only.as_ref(), progress)?;
        let trees = self.trees(g.number)?;
        let full = only.is_none();
        trees
            .as_slice()
            .transaction(|txs| {
                for (tx, kind) in txs.iter().zip(KINDS) {
                    if let Some(r) = rows.get(kind) {
                        for (id, v) in r {
                            tx.insert(id.as_bytes().as_slice(), v.as_slice())?;
                        }
                    }
                    tx.insert(CHECKPOINT_KEY, &be(last))?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(tx_err)?;
        if full {
            // A reference event changed every row: rows of ids no longer known
            // cannot exist (ids are never removed from the log), so upserting all
            // is complete.
        }
        self.db.flush()?;
        Ok(Generation {
            checkpoint: last,
            ..g
        })
    }

    /// The stored rows of the current generation, per kind.
    ///
    /// # Errors
    /// [`ReplayError::NotBuilt`], a sled failure.
    pub fn stored_rows(&self) -> Result<(Generation, Rows), ReplayError> {
        let g = self.current()?.ok_or(ReplayError::NotBuilt)?;
        let mut rows: Rows = BTreeMap::new();
        for (tree, kind) in self.trees(g.number)?.iter().zip(KINDS) {
            let mut r = BTreeMap::new();
            for item in tree.iter() {
                let (k, v) = item?;
                if &*k == CHECKPOINT_KEY {
                    continue;
                }
                let id = Uuid::from_slice(&k).map_err(|e| ReplayError::Corrupt {
                    tree: tree_name(kind, g.number),
                    why: format!("key {}: {e}", hex::encode(&k)),
                })?;
                r.insert(id, v.to_vec());
            }
            rows.insert(kind, r);
        }
        Ok((g, rows))
    }

    /// One stored view, if materialized.
    ///
    /// # Errors
    /// [`ReplayError::NotBuilt`], a sled failure.
    pub fn get(&self, kind: &str, id: Uuid) -> Result<Option<serde_json::Value>, ReplayError> {
        let g = self.current()?.ok_or(ReplayError::NotBuilt)?;
        let t = self.db.open_tree(tree_name(kind, g.number))?;
        match t.get(id.as_bytes())? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// Flushes and releases the database.
    ///
    /// # Errors
    /// A sled failure.
    pub fn close(self) -> Result<(), ReplayError> {
        self.db.flush()?;
        Ok(())
    }
}

fn tx_err(e: TransactionError<()>) -> ReplayError {
    match e {
        TransactionError::Storage(s) => ReplayError::Sled(s),
        TransactionError::Abort(()) => ReplayError::Corrupt {
            tree: META_TREE.into(),
            why: "transaction aborted".into(),
        },
    }
}

/// The state hash of one kind's rows: BLAKE3 over `(key length, key, value
/// length, value)` in key order, hex. Two rebuilds of the same log on the same
/// date, on any machine, give the same hashes.
pub fn state_hash(rows: &BTreeMap<Uuid, Vec<u8>>) -> String {
    let mut h = blake3::Hasher::new();
    for (k, v) in rows {
        h.update(&(16u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update(&(v.len() as u64).to_be_bytes());
        h.update(v);
    }
    h.finalize().to_hex().to_string()
}

/// One difference found by [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The projection kind.
    pub kind: &'static str,
    /// The contract or person.
    pub id: Uuid,
    /// What differs: "missing", "unexpected" or "differs".
    pub what: &'static str,
}

/// The result of comparing the materialized projections with the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The generation compared.
    pub generation: Generation,
    /// The log's head position (a checkpoint behind it means the follower lags).
    pub head: u64,
    /// Per kind: (rows, stored hash, recomputed hash).
    pub hashes: Vec<(&'static str, u64, String, String)>,
    /// The differences.
    pub mismatches: Vec<Mismatch>,
}

impl CheckReport {
    /// No difference and the checkpoint is the head.
    pub fn consistent(&self) -> bool {
        self.mismatches.is_empty() && self.generation.checkpoint == self.head
    }
}

/// Compares every materialized row with the view computed on demand from the log
/// (each projection computed from the whole log, bans from every event).
///
/// # Errors
/// [`ReplayError::NotBuilt`], a sled failure.
pub fn check(db: &ProjectionDb, events: &[Envelope]) -> Result<CheckReport, ReplayError> {
    let (g, stored) = db.stored_rows()?;
    let q = Query::on(g.at);
    let worlds = Worlds::new(events, &q);
    let mut fresh = compute_rows(events, &worlds, g.at, None, &mut |_| {})?;
    // Bans on demand from the whole log, not the materializer's slice: a slice
    // that missed an event shows here.
    if let Some(b) = fresh.get_mut("bans") {
        for id in b.keys().copied().collect::<Vec<_>>() {
            let v = bans::person_bans(events, id, &q)?;
            b.insert(id, serde_json::to_vec(&v)?);
        }
    }
    let mut mismatches = Vec::new();
    let mut hashes = Vec::new();
    let empty = BTreeMap::new();
    for kind in KINDS {
        let s = stored.get(kind).unwrap_or(&empty);
        let f = fresh.get(kind).unwrap_or(&empty);
        for (id, v) in f {
            match s.get(id) {
                None => mismatches.push(Mismatch {
                    kind,
                    id: *id,
                    what: "missing",
                }),
                Some(x) if x != v => mismatches.push(Mismatch {
                    kind,
                    id: *id,
                    what: "differs",
                }),
                Some(_) => {}
            }
        }
        for id in s.keys().filter(|id| !f.contains_key(id)) {
            mismatches.push(Mismatch {
                kind,
                id: *id,
                what: "unexpected",
            });
        }
        hashes.push((kind, s.len() as u64, state_hash(s), state_hash(f)));
    }
    Ok(CheckReport {
        generation: g,
        head: events.last().map_or(0, |e| e.position),
        hashes,
        mismatches,
    })
}
