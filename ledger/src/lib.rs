//! The ledger: the rules over a store. [`Ledger::open`] loads the last verified
//! snapshot of the folded [`World`] and folds the log's tail after it (or the
//! whole log when no snapshot verifies); [`Ledger::execute`] handles a command,
//! appends each decision atomically (with its expected version and idempotency
//! key), folds what was stored, and returns the stored events with their
//! positions. [`load`] reads the slices of the log a projection needs from a
//! store.
//!
//! Memory: the world holds the live states (one per contract and person), the
//! indexes the rules use and each stream's version, never the log. Stream
//! histories are read from the store for the command that needs them
//! ([`histories`]) and idempotency keys from the store's key index, so that
//! what the ledger holds grows with the contracts, not with their history.
#![warn(missing_docs)]

use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use navigo_events_schema::command::PublishCampaign;
use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::{Command, CommandEnvelope, Envelope, StreamId};

use navigo_rules::decision::{Context, Decision};
use navigo_rules::engine::handle;
use navigo_rules::ids::{splitmix64_mix, IdGen, SPLITMIX64_GAMMA};
use navigo_rules::policy::Policy;
use navigo_rules::refusal::CommandError;
use navigo_rules::world::World;
use navigo_store::{
    next_envelope, AppendOutcome, AppendRequest, Clock, EventStore, ExpectedVersion, StoreError,
};

pub mod histories;
mod import;
mod inflight;
pub mod load;
pub mod pipeline;
mod rebuild;
pub use import::IMPORT_BATCH_EVENTS_MAX;
pub use inflight::{join_in_order, submit_prepared, Answered, Prepared, APPENDS_IN_FLIGHT_MAX};
pub mod snapshot;
pub mod states;
pub use states::STATE_CACHE_ENTRIES_MAX;

use import::ImportBatch;
use states::Covers;

/// Which instant is recorded on the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// The store's clock (a live service). The caller judges the command at the
    /// service's instant: the HTTP service sets `request_at` to its own clock.
    Service,
    /// The command's request instant (the import clock of `navigo-ledger apply`),
    /// so that a scenario replays to the same chain. This is the one way to
    /// backfill history: commands must come in the order of their instants, and
    /// none may be later than the ledger's clock ([`Ledger::with_clock`]).
    Import,
}

/// How many days past the request date (Europe/Paris) the billing clock may be
/// run. Decision (RULES.md is silent): a debit may be prepared a few days before
/// its date (a SEPA presentation spans a weekend), never months ahead, because
/// what the clock appends can only be annulled one event at a time, not undone.
pub const CLOCK_AHEAD_DAYS_MAX: u32 = 3;

/// Why a command was not applied.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Refused by a rule, or invalid: nothing was appended.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The store failed or refused the append.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The built-in reference data does not load.
    #[error("built-in reference data: {0}")]
    Reference(String),
    /// Import mode: the command's request instant is earlier than the instant
    /// recorded on the ledger's head; nothing was appended.
    #[error(
        "out of order: the command's request instant {request_at} is earlier than the \
         ledger's head, recorded at {head}; send commands in the order of their instants"
    )]
    OutOfOrder {
        /// The command's request instant.
        request_at: DateTime<Utc>,
        /// The instant recorded on the ledger's head.
        head: DateTime<Utc>,
    },
    /// The command's idempotency key was first used for a different command
    /// (another actor, channel or request); nothing was appended.
    #[error(
        "idempotency key {key:?} was first used for a different command; nothing was \
         appended: send this command with a new key, or the first command unchanged to \
         get its answer again"
    )]
    IdempotencyConflict {
        /// The key.
        key: String,
    },
    /// The command's request instant is later than the ledger's clock: no event is
    /// ever recorded after the clock (an import cannot write the future).
    #[error(
        "the request instant {request_at} is after the ledger's clock ({now}); no event is \
         recorded in the future: send it when that instant has passed"
    )]
    AfterClock {
        /// The command's request instant.
        request_at: DateTime<Utc>,
        /// The clock's instant.
        now: DateTime<Utc>,
    },
    /// The ledger's head was recorded after the clock's instant (a ledger written
    /// ahead of time, or a clock set back): a new event would be recorded after
    /// the clock, or out of order, so nothing is appended until the clock passes
    /// the head.
    #[error(
        "the ledger's head is recorded at {head}, after the clock ({now}); nothing can be \
         recorded before the clock passes {head}"
    )]
    HeadAfterClock {
        /// The head's recorded-at instant.
        head: DateTime<Utc>,
        /// The clock's instant.
        now: DateTime<Utc>,
    },
    /// The billing clock was asked to run past the request date plus
    /// [`CLOCK_AHEAD_DAYS_MAX`].
    #[error(
        "the billing clock may run through {latest} at the latest (the request date plus \
         clock_ahead_days_max = {CLOCK_AHEAD_DAYS_MAX} days), not through {to}; run it again \
         when the days have come"
    )]
    ClockTooFarAhead {
        /// The date asked for.
        to: NaiveDate,
        /// The latest date allowed.
        latest: NaiveDate,
    },
    /// Optimistic concurrency: the command's subject stream is no longer at the
    /// version the request was decided on; nothing was appended.
    #[error(
        "conflict on {stream}: the request expected version {expected}, the stream is at \
         version {actual} (another change was recorded since it was read); read it \
         again and resubmit with expected_version {actual} if the request still holds"
    )]
    VersionConflict {
        /// The command's subject stream.
        stream: StreamId,
        /// The version the request expected.
        expected: u64,
        /// The stream's version.
        actual: u64,
    },
}

/// The ledger.
pub struct Ledger<S: EventStore> {
    store: S,
    world: World,
    policy: Policy,
    ids: IdGen,
    clock: Option<Arc<dyn Clock>>,
    /// How the world was opened.
    opened: Opened,
    /// The position of the last snapshot written or loaded (0: none).
    snapshot_position: u64,
    /// The appends judged but not yet submitted, while importing or while a
    /// pipelined batch of service commands is open.
    import: Option<ImportBatch>,
    /// The instant recorded on the events of the pipelined batch open
    /// ([`Ledger::begin_pipeline`]), if one is.
    pipelined_at: Option<DateTime<Utc>>,
    /// The most states the world holds between commands
    /// ([`STATE_CACHE_ENTRIES_MAX`] unless opened with another bound).
    state_cache_entries_max: usize,
}

/// A state [`Ledger::walk_states`] gives its reader.
#[derive(Debug, Clone, Copy)]
pub enum StateRef<'a> {
    /// A contract's.
    Contract(&'a navigo_rules::contract::state::ContractState),
    /// A person's.
    Person(&'a navigo_rules::world::PersonState),
}

/// How [`Ledger::open`] built its world.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Opened {
    /// The position of the snapshot loaded, when one verified.
    pub snapshot_position: Option<u64>,
    /// Why the stored states were refused, when there were some that did not
    /// verify (the log was folded instead).
    pub snapshot_refused: Option<states::Refused>,
    /// Events folded from the log after the snapshot (the whole log without one).
    pub tail_events: u64,
}

/// Contracts the billing clock decides for at a time
/// ([`Ledger::advance_in_chunks`]): they are resident together, above the
/// cache's bound, for the chunk's judgment.
pub const CLOCK_CONTRACTS_PER_CHUNK: usize = 4_096;

/// Events folded since the last snapshot beyond which [`Ledger::execute`] writes
/// a new one: a bound on what opening folds from the log (about 100,000 events
/// a second on this machine, so a few seconds at most).
pub const SNAPSHOT_TAIL_EVENTS_MAX: u64 = 300_000;

/// Idempotency keys read from the store's index for one lookup: a command's keys
/// are one per decision (a handful), so this bound is never reached but by keys
/// that merely start like the one looked up.
pub const KEY_LOOKUP_KEYS_MAX: usize = 1_024;

/// A mixing step so that the id generator of a reopened ledger does not repeat
/// the sequence of the first run (splitmix64 finaliser).
fn mix(seed: u64, position: u64) -> u64 {
    splitmix64_mix(seed ^ position.wrapping_mul(SPLITMIX64_GAMMA))
}

/// Bytes of a command's idempotency key: room for a client's key of 200 bytes
/// with a short prefix and suffix added on its way (the HTTP service turns an
/// `Idempotency-Key` header into `http:KEY:INDEX`); with what the ledger adds to
/// it, [`KEY_SUFFIX_BYTES_MAX`], it fits the store's bound on the key of an
/// append (`Limits::idempotency_key_bytes_max`, 256 by default).
pub const COMMAND_KEY_BYTES_MAX: usize = 216;

/// Bytes the ledger adds to a command's key for the key of one of its appends:
/// `#` and the decision's index (four digits at most: a command other than the
/// clock decides a handful of appends), and on the first decision `@` and the
/// command's fingerprint ([`command_fingerprint`]).
pub const KEY_SUFFIX_BYTES_MAX: usize = 1 + 4 + 1 + FINGERPRINT_HEX_LEN;

/// Hexadecimal digits of a command's fingerprint: 128 bits, which no two
/// commands retried under one key will share by accident.
const FINGERPRINT_HEX_LEN: usize = 32;

/// The fingerprint of what a command asks: BLAKE3 of the canonical JSON of its
/// actor, channel and command, as [`FINGERPRINT_HEX_LEN`] hexadecimal digits.
///
/// Decision: the request instant, the expected version and the key itself are
/// left out, because a retry is later by definition and may carry a refreshed
/// version; who asks, through which channel, and what, are the request. The
/// fingerprint is recorded with the first decision's key (`KEY#0@FINGERPRINT`),
/// so that the comparison survives a restart: the world folds the keys of the
/// stored events. A key recorded without one (a ledger written before) cannot
/// be compared: a command under it is answered with the stored events, as it
/// was then.
///
/// # Errors
/// Only if the command does not serialise, which its types never make happen.
pub fn command_fingerprint(cmd: &CommandEnvelope) -> Result<String, LedgerError> {
    let mut h = blake3::Hasher::new();
    h.update(b"navigo-command-fingerprint-v1\n");
    serde_json::to_writer(&mut h, &(&cmd.actor, &cmd.channel, &cmd.command))
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    let hex = h.finalize().to_hex();
    Ok(hex.as_str()[..FINGERPRINT_HEX_LEN].to_owned())
}

/// The command key a stored append key belongs to: `KEY#0@FINGERPRINT`,
/// `KEY#0` (before fingerprints) and `KEY#N` all belong to `KEY`. Read from the
/// end, so that a command key may hold `#` and `@` itself.
fn command_key_of(stored: &str) -> Option<&str> {
    let stored = match stored.rsplit_once('@') {
        Some((head, fp)) if is_fingerprint(fp) && head.ends_with("#0") => head,
        _ => stored,
    };
    let (key, index) = stored.rsplit_once('#')?;
    (!index.is_empty() && index.bytes().all(|b| b.is_ascii_digit())).then_some(key)
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == FINGERPRINT_HEX_LEN && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The keys of a command's appends: `KEY#0@FINGERPRINT` for the first, `KEY#N`
/// for the others.
struct CommandKey<'a> {
    key: &'a str,
    fingerprint: String,
}

impl CommandKey<'_> {
    fn of_decision(&self, i: usize) -> String {
        if i == 0 {
            format!("{}#0@{}", self.key, self.fingerprint)
        } else {
            format!("{}#{i}", self.key)
        }
    }
}

/// What a command's idempotency key allows ([`Ledger::check_key`]).
enum KeyCheck<'c> {
    /// Execute it, with the keys of its appends when it has a key.
    New(Option<CommandKey<'c>>),
    /// The same command was executed under the key: answer its stored events.
    Answered {
        /// The key.
        key: &'c str,
    },
}

impl<S: EventStore> Ledger<S> {
    /// Opens the ledger over a store: folds every stored event.
    ///
    /// # Errors
    /// A storage failure or a corrupt record.
    pub async fn open(store: S, policy: Policy, seed: u64) -> Result<Ledger<S>, LedgerError> {
        Ledger::open_with(store, policy, seed, STATE_CACHE_ENTRIES_MAX).await
    }

    /// [`Ledger::open`] with a world that holds at most
    /// `state_cache_entries_max` states between commands (tests set it tiny).
    ///
    /// # Errors
    /// A storage failure or a corrupt record.
    pub async fn open_with(
        store: S,
        policy: Policy,
        seed: u64,
        state_cache_entries_max: usize,
    ) -> Result<Ledger<S>, LedgerError> {
        let (world, opened) = open_world(&store, &policy, state_cache_entries_max).await?;
        let ids = IdGen::new(mix(seed, world.position));
        Ok(Ledger {
            store,
            snapshot_position: opened.snapshot_position.unwrap_or(0),
            world,
            policy,
            ids,
            clock: None,
            opened,
            import: None,
            pipelined_at: None,
            state_cache_entries_max,
        })
    }

    /// The most states the world holds between commands.
    pub fn state_cache_entries_max(&self) -> usize {
        self.state_cache_entries_max
    }

    /// Reads into the world the states of `streams` it does not hold (a reader
    /// of [`Ledger::world`] asks for them first, or after its read recorded
    /// misses, [`World::take_misses`]). They stay until the next eviction.
    ///
    /// # Errors
    /// A store failure or a corrupt record.
    pub async fn page_in(
        &mut self,
        streams: &std::collections::BTreeSet<StreamId>,
    ) -> Result<states::PagedIn, LedgerError> {
        Ok(states::page_in(&self.store, &mut self.world, streams).await?)
    }

    /// Pages in what reads of the world missed since the last call; returns
    /// whether there was any (the reader then reads again).
    ///
    /// # Errors
    /// A store failure or a corrupt record.
    pub async fn page_in_misses(&mut self) -> Result<bool, LedgerError> {
        let misses = self.world.take_misses();
        if misses.is_empty() {
            return Ok(false);
        }
        self.page_in(&misses).await?;
        Ok(true)
    }

    /// Runs a read of the world that sees every state, resident or not: `read`
    /// runs, the states it asked for while they were not resident (its misses)
    /// are paged in, and it runs again until it misses none; then the cache is
    /// evicted down to its bound. Every reader of the ledger's states outside a
    /// command (the service's reads, the CLI's) goes through it, as a judgment
    /// does ([`Ledger::execute`]): a read of [`Ledger::world`] alone sees only
    /// the resident states, which are all of them only while the ledger fits
    /// its cache.
    ///
    /// `read` must ask for the states it reads through [`World::contract`],
    /// [`World::person`] and the index helpers (which record misses), never by
    /// iterating the maps, and must be free of side effects: it may run more
    /// than once. Each run but the last pages in at least one state more, so it
    /// ends after at most as many runs as states it reads.
    ///
    /// # Errors
    /// A store failure or a corrupt record paging in or evicting.
    pub async fn read_paged<T>(&mut self, read: impl Fn(&World) -> T) -> Result<T, LedgerError> {
        // Misses another reader left are not this read's: it records its own.
        let _ = self.world.take_misses();
        let out = loop {
            let out = read(&self.world);
            if !self.page_in_misses().await? {
                break out;
            }
        };
        self.evict_if_over().await?;
        Ok(out)
    }

    /// Walks every contract and person state of the ledger, in stream order
    /// (contracts first), `per_chunk` streams at a time: each chunk is paged in,
    /// `take` is given each of its states (a stream that holds none, an
    /// annulled subscription or registration, is skipped) with its stream's
    /// version, and the cache is evicted before the next chunk, so that a
    /// whole-ledger walk never holds more than the cache and one chunk.
    ///
    /// # Errors
    /// A store failure or a corrupt record.
    pub async fn walk_states(
        &mut self,
        per_chunk: usize,
        mut take: impl FnMut(StreamId, u64, StateRef<'_>),
    ) -> Result<(), LedgerError> {
        let mut after = None;
        loop {
            let chunk = self.state_streams_after(after, per_chunk.max(1));
            let Some(last) = chunk.last() else { break };
            after = Some(*last);
            self.page_in(&chunk.iter().copied().collect()).await?;
            let w = &self.world;
            for s in &chunk {
                if let Some(state) = state_of(w, *s) {
                    take(*s, w.version(*s), state);
                }
            }
            self.evict_if_over().await?;
        }
        Ok(())
    }

    /// Walks the contract and person states with an open item (an unpaid
    /// refund, a treasury notice not delivered or settled: the back office's
    /// work, [`navigo_rules::world::OpenItems`]) as [`Ledger::walk_states`]
    /// walks every state: in stream order, `per_chunk` at a time, the cache
    /// evicted between chunks. `take` sees every state with an open item and
    /// possibly others, so that a round that acts only on open items gives
    /// what a walk of every state gives, paging in those states only.
    ///
    /// When the world does not know its open items (opened from stored
    /// states), this walks every state and learns them.
    ///
    /// # Errors
    /// A store failure or a corrupt record.
    pub async fn walk_open_items(
        &mut self,
        per_chunk: usize,
        mut take: impl FnMut(StreamId, u64, StateRef<'_>),
    ) -> Result<(), LedgerError> {
        let Some(open) = self.world.open_items.streams() else {
            let mut found = std::collections::BTreeSet::new();
            self.walk_states(per_chunk, |s, v, state| {
                let open = match state {
                    StateRef::Contract(c) => c.has_open_items(),
                    StateRef::Person(p) => p.has_open_items(),
                };
                if open {
                    found.insert(s);
                }
                take(s, v, state);
            })
            .await?;
            self.world.open_items.rebuilt(found);
            return Ok(());
        };
        let streams: Vec<StreamId> = open.iter().copied().collect();
        for chunk in streams.chunks(per_chunk.max(1)) {
            self.page_in(&chunk.iter().copied().collect()).await?;
            let w = &self.world;
            for s in chunk {
                if let Some(state) = state_of(w, *s) {
                    take(*s, w.version(*s), state);
                }
            }
            self.evict_if_over().await?;
        }
        Ok(())
    }

    /// The contract and person streams after `after`, at most `n`, in stream
    /// order: a whole-ledger walk pages each chunk in ([`Ledger::page_in`]),
    /// reads it, and lets the cache evict ([`Ledger::evict_if_over`]) before
    /// the next, never holding every state.
    pub fn state_streams_after(&self, after: Option<StreamId>, n: usize) -> Vec<StreamId> {
        states::state_streams_after(&self.world, after, n)
    }

    /// Drops states down to the cache's low-water mark when the world holds
    /// more than [`Ledger::state_cache_entries_max`], after making the import
    /// batch durable and writing every dirty state.
    ///
    /// # Errors
    /// A store failure.
    pub async fn evict_if_over(&mut self) -> Result<(), LedgerError> {
        if self.world.resident_states() > self.state_cache_entries_max {
            self.commit_import().await?;
            evict_paged(
                &self.store,
                &mut self.world,
                &self.policy,
                self.state_cache_entries_max,
                Covers::Position,
            )
            .await?;
            self.snapshot_position = self.world.position;
        }
        Ok(())
    }

    /// How the world was opened: from which snapshot, and how many events of
    /// the log were folded after it.
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// The ledger judged against `clock` (the binary's): no command is recorded
    /// after its instant, in either clock mode ([`LedgerError::AfterClock`],
    /// [`LedgerError::HeadAfterClock`]). Without a clock (library tests and
    /// simulations, whose time is their commands'), only the order of instants
    /// and the billing clock's bound are checked.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Ledger<S> {
        self.clock = Some(clock);
        self
    }

    /// Refuses a command that would record an event after the clock, or run the
    /// billing clock too far ahead; nothing is decided before these pass.
    fn check_time(&self, cmd: &CommandEnvelope, mode: ClockMode) -> Result<(), LedgerError> {
        if let Some(clock) = &self.clock {
            let now = clock.now();
            match (mode, self.world.head_recorded_at) {
                (ClockMode::Import, _) if cmd.request_at > now => {
                    return Err(LedgerError::AfterClock {
                        request_at: cmd.request_at,
                        now,
                    })
                }
                (ClockMode::Service, Some(head)) if head > now => {
                    return Err(LedgerError::HeadAfterClock { head, now })
                }
                _ => {}
            }
        }
        if let Command::AdvanceClock(c) = &cmd.command {
            let today = navigo_rules::calendar::paris_date(cmd.request_at);
            let latest = today
                .checked_add_days(Days::new(u64::from(CLOCK_AHEAD_DAYS_MAX)))
                .unwrap_or(today);
            if c.to > latest {
                return Err(LedgerError::ClockTooFarAhead { to: c.to, latest });
            }
        }
        Ok(())
    }

    /// The world as folded so far: its head, versions and indexes are whole,
    /// its states only the resident ones (all of them only while the ledger
    /// fits its cache). A reader of states goes through [`Ledger::read_paged`]
    /// or [`Ledger::walk_states`].
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back (to close it). Appends judged in an import batch
    /// and not committed are dropped: call [`Ledger::close`] to keep them.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Commits an import batch in progress, writes a snapshot when events were
    /// folded since the last one, and gives the store back (to close it).
    ///
    /// # Errors
    /// A store failure.
    pub async fn close(mut self) -> Result<S, LedgerError> {
        self.commit_import().await?;
        if self.world.position > self.snapshot_position
            || !self.world.residency.dirty.is_empty()
            || self.world.wakes.has_dirty()
        {
            self.write_snapshot().await?;
        }
        Ok(self.store)
    }

    /// Writes a snapshot of the world at its position (committing an import
    /// batch first); returns the position it covers.
    ///
    /// # Errors
    /// A store failure.
    pub async fn write_snapshot(&mut self) -> Result<u64, LedgerError> {
        self.commit_import().await?;
        navigo_rules::billing::refresh_wakes(&mut self.world, &self.policy);
        states::flush(&self.store, &mut self.world, false, Covers::Position).await?;
        self.snapshot_position = self.world.position;
        Ok(self.snapshot_position)
    }

    /// Writes a snapshot when more than [`SNAPSHOT_TAIL_EVENTS_MAX`] events were
    /// folded since the last one (never in the middle of an import batch).
    async fn snapshot_if_due(&mut self) -> Result<(), LedgerError> {
        let tail = self.world.position.saturating_sub(self.snapshot_position);
        if tail > SNAPSHOT_TAIL_EVENTS_MAX && self.import.as_ref().is_none_or(|b| b.is_empty()) {
            self.write_snapshot().await?;
        }
        Ok(())
    }

    /// Folds what other processes sharing the store (services on one
    /// PostgreSQL database) appended since the world's position, so that the
    /// next command is judged against the whole log; reads nothing when this
    /// ledger has appended everything the store holds.
    ///
    /// # Errors
    /// A storage failure or a corrupt record.
    pub async fn catch_up_with_store(&mut self) -> Result<(), LedgerError> {
        if self.store.head().await?.position > self.world.position {
            self.catch_up().await?;
        }
        Ok(())
    }

    /// Folds the events appended since the world's position (by another writer).
    async fn catch_up(&mut self) -> Result<(), LedgerError> {
        let from = self.world.position + 1;
        fold_from(
            &self.store,
            &mut self.world,
            &self.policy,
            from,
            self.state_cache_entries_max,
        )
        .await?;
        Ok(())
    }

    /// The fingerprint recorded with a command key, when the key was used:
    /// `Some(None)` for a key recorded before fingerprints were. Keys of an
    /// import batch not yet committed count as recorded.
    async fn recorded_fingerprint(&self, key: &str) -> Result<Option<Option<String>>, LedgerError> {
        let first = format!("{key}#0");
        let mut keys: Vec<String> = self
            .import
            .as_ref()
            .map(|b| b.keys_with_prefix(&first))
            .unwrap_or_default();
        keys.extend(
            self.store
                .idempotency_keys(&first, KEY_LOOKUP_KEYS_MAX)
                .await?
                .into_iter()
                .map(|(k, _)| k),
        );
        Ok(keys.iter().find_map(|k| match &k[first.len()..] {
            "" => Some(None),
            rest => rest
                .strip_prefix('@')
                .filter(|fp| is_fingerprint(fp))
                .map(|fp| Some(fp.to_owned())),
        }))
    }

    /// What the command's idempotency key allows: a new execution (with the
    /// keys of its appends), the answer recorded for the same command, or a
    /// conflict with the command first executed under it.
    ///
    /// # Errors
    /// [`LedgerError::IdempotencyConflict`]; invalid when a new key is longer
    /// than [`COMMAND_KEY_BYTES_MAX`].
    async fn check_key<'c>(&self, cmd: &'c CommandEnvelope) -> Result<KeyCheck<'c>, LedgerError> {
        let Some(key) = cmd.idempotency_key.as_deref() else {
            return Ok(KeyCheck::New(None));
        };
        let fingerprint = command_fingerprint(cmd)?;
        match self.recorded_fingerprint(key).await? {
            Some(Some(first)) if first != fingerprint => {
                return Err(LedgerError::IdempotencyConflict { key: key.into() })
            }
            Some(_) => return Ok(KeyCheck::Answered { key }),
            None => {}
        }
        if key.len() > COMMAND_KEY_BYTES_MAX {
            return Err(CommandError::invalid(
                "idempotency_key",
                format!(
                    "{} bytes exceed command_key_bytes_max ({COMMAND_KEY_BYTES_MAX}); use a \
                     shorter key",
                    key.len()
                ),
            )
            .into());
        }
        Ok(KeyCheck::New(Some(CommandKey { key, fingerprint })))
    }

    /// True when a command was executed under this idempotency key (read from
    /// the store's key index).
    ///
    /// # Errors
    /// A storage failure.
    pub async fn idempotency_key_used(&self, key: &str) -> Result<bool, LedgerError> {
        Ok(self.recorded_fingerprint(key).await?.is_some())
    }

    /// Handles a command and appends its decisions; returns the stored events.
    /// A command whose idempotency key was already used for the same command
    /// returns the events of its first execution and appends nothing; for
    /// another command it is a conflict.
    ///
    /// # Errors
    /// [`LedgerError::Command`] when refused or invalid (nothing appended);
    /// [`LedgerError::IdempotencyConflict`] when the key was used for another
    /// command; [`LedgerError::Store`] when the store fails. On a version
    /// conflict the stream is reloaded and the command judged once more.
    pub async fn execute(
        &mut self,
        cmd: &CommandEnvelope,
        mode: ClockMode,
    ) -> Result<Vec<Envelope>, LedgerError> {
        let result = self.execute_once(cmd, mode).await;
        // Refused or not, the states a judgment paged in are let go of when
        // the world holds more than its bound: between commands it never does.
        let evicted = self.evict_if_over().await;
        let stored = result?;
        evicted?;
        Ok(stored)
    }

    async fn execute_once(
        &mut self,
        cmd: &CommandEnvelope,
        mode: ClockMode,
    ) -> Result<Vec<Envelope>, LedgerError> {
        let key = match self.check_key(cmd).await? {
            KeyCheck::Answered { key } => {
                self.commit_import().await?;
                return self.envelopes_of_key(key).await;
            }
            KeyCheck::New(key) => key,
        };
        self.check_time(cmd, mode)?;
        // Decision: in import mode events are recorded at the request
        // instant, so a request earlier than the head would put an earlier instant
        // after a later one and be judged against a state it could not have seen.
        // It is refused before anything is decided or appended.
        if mode == ClockMode::Import {
            if let Some(head) = self.world.head_recorded_at {
                if cmd.request_at < head {
                    return Err(LedgerError::OutOfOrder {
                        request_at: cmd.request_at,
                        head,
                    });
                }
            }
        }
        let result = match &cmd.command {
            Command::AdvanceClock(c) if cmd.expected_version.is_none() => {
                self.advance_in_chunks(cmd, c.to, mode).await
            }
            _ => self.judge_and_append(cmd, key.as_ref(), mode).await,
        };
        // The histories loaded for the command are forgotten whatever happened:
        // the world holds states only between commands.
        self.world.history.clear();
        let stored = result?;
        if self.import.as_ref().is_some_and(ImportBatch::full) {
            self.commit_import().await?;
        }
        self.snapshot_if_due().await?;
        Ok(stored)
    }

    /// Judges a command against the world (with the histories it reads loaded)
    /// and appends its decisions, or stages them in the import batch.
    async fn judge_and_append(
        &mut self,
        cmd: &CommandEnvelope,
        key: Option<&CommandKey<'_>>,
        mode: ClockMode,
    ) -> Result<Vec<Envelope>, LedgerError> {
        let mut retried = false;
        loop {
            self.load_command_histories(cmd).await?;
            // Optimistic concurrency: checked on every attempt, so a
            // change by another writer found on a store conflict (the retry below
            // folds it first) surfaces as a conflict, never as a lost update.
            if let Some(expected) = cmd.expected_version {
                let stream = cmd.command.subject().ok_or_else(|| {
                    CommandError::invalid(
                        "expected_version",
                        "the billing clock has no subject stream to expect a version of; \
                         send it without expected_version",
                    )
                })?;
                let actual = self.world.version(stream);
                if actual != expected {
                    return Err(LedgerError::VersionConflict {
                        stream,
                        expected,
                        actual,
                    });
                }
            }
            let Some(decisions) = self.judge(cmd).await? else {
                continue;
            };
            let decisions = match self.staging_instant(cmd, mode) {
                Some(at) => match self.try_stage(decisions, key, at, false).await? {
                    Ok(staged) => return Ok(staged),
                    Err(decisions) => decisions,
                },
                None => decisions,
            };
            self.commit_import().await?;
            match self
                .append_decisions(decisions, key, cmd.request_at, mode)
                .await
            {
                Err(LedgerError::Store(StoreError::Conflict { .. })) if !retried => {
                    retried = true;
                    self.catch_up().await?;
                }
                other => return other,
            }
        }
    }

    /// Judges `cmd` against the world; `None` when the judgment asked for states
    /// that were not resident: they are paged in, and the caller judges again
    /// (the rules are deterministic, and the id generator is put back as it
    /// was, so the judgment that counts is the one a whole world would give).
    /// A refusal with misses is not final either: it may come from a state
    /// that was not there.
    ///
    /// # Errors
    /// The judgment's refusal, or a store failure paging states in.
    async fn judge(&mut self, cmd: &CommandEnvelope) -> Result<Option<Vec<Decision>>, LedgerError> {
        let ids = self.ids.clone();
        let judged = {
            let mut ctx = Context {
                policy: &self.policy,
                ids: &mut self.ids,
            };
            handle(&self.world, cmd, &mut ctx)
        };
        if !self.page_in_misses().await? {
            return Ok(Some(judged?));
        }
        self.ids = ids;
        Ok(None)
    }

    /// The billing clock through `through`, run on the contracts a chunk of
    /// [`CLOCK_CONTRACTS_PER_CHUNK`] at a time, in id order: of each chunk,
    /// the contracts due by `through` (their wake date is on or before it, or
    /// unknown, [`navigo_rules::world::WakeIndex`]) are paged in, their
    /// decisions judged and appended (or staged), their wake dates computed
    /// again, and the cache evicted before the next chunk, so that the clock
    /// holds one chunk at most and reads only the contracts it decides for.
    ///
    /// Decision: a contract's clock steps depend on that contract and the
    /// catalogue only, so each contract gets the decisions a whole-world run
    /// gives it; the order of different contracts' decisions in the log is by
    /// chunk, then by date, which any cache size gives alike (the chunk size is
    /// not the cache's), so a ledger replays to the same log whatever its cache.
    /// The chunks are those of every contract, not of the due ones: a contract
    /// that is not due has no step through `through` (its wake date is a lower
    /// bound, `billing::wake_date`), so leaving it out of its chunk changes
    /// nothing the chunk decides, and the log is the one a walk of every
    /// contract appends, event for event and id for id.
    ///
    /// # Errors
    /// A store failure; what was appended before it stays appended.
    async fn advance_in_chunks(
        &mut self,
        cmd: &CommandEnvelope,
        through: NaiveDate,
        mode: ClockMode,
    ) -> Result<Vec<Envelope>, LedgerError> {
        use navigo_rules::billing::{advance_among, refresh_wakes, refresh_wakes_of};
        use std::ops::Bound;
        // The one id a judgment draws for its request, as `handle` draws it.
        let _ = self.ids.next(cmd.request_at);
        refresh_wakes(&mut self.world, &self.policy);
        let mut from = Bound::Included(StreamId::contract(uuid::Uuid::nil()));
        let mut left = navigo_rules::billing::CLOCK_DECISIONS_PER_ADVANCE_MAX;
        let mut out = Vec::new();
        while left > 0 {
            let Some((last, ids)) = self.due_in_chunk(from, through) else {
                break;
            };
            from = Bound::Excluded(StreamId::contract(last));
            if ids.is_empty() {
                continue;
            }
            let streams = ids.iter().map(|id| StreamId::contract(*id)).collect();
            self.page_in(&streams).await?;
            let decisions = {
                let mut ctx = Context {
                    policy: &self.policy,
                    ids: &mut self.ids,
                };
                advance_among(&self.world, &ids, through, cmd.request_at, &mut ctx, left)
            };
            left = left.saturating_sub(decisions.len());
            out.extend(
                self.append_or_stage(decisions, cmd.request_at, mode)
                    .await?,
            );
            // Every contract of the chunk is resident: those the decisions
            // changed and those whose date was unknown get theirs now.
            refresh_wakes_of(&mut self.world, ids, &self.policy);
            // One advance of a region decides for hundreds of thousands of
            // contracts: its staged appends are bounded as a command's are,
            // not by the region. (A pipelined batch of the service commits
            // once, after its last command: it stays whole.)
            let importing = self.pipelined_at.is_none();
            if importing && self.import.as_ref().is_some_and(ImportBatch::full) {
                self.commit_import().await?;
            }
            self.evict_if_over().await?;
        }
        Ok(out)
    }

    /// The next chunk of [`CLOCK_CONTRACTS_PER_CHUNK`] contracts from `from`,
    /// in id order: its last contract, and those of it due by `through`.
    /// `None` when no contract is left.
    fn due_in_chunk(
        &self,
        from: std::ops::Bound<StreamId>,
        through: NaiveDate,
    ) -> Option<(uuid::Uuid, Vec<uuid::Uuid>)> {
        let mut last = None;
        let mut due = Vec::new();
        let chunk = self
            .world
            .versions
            .range((from, std::ops::Bound::Unbounded))
            .map(|(s, _)| *s)
            .take_while(|s| s.kind == navigo_events_schema::StreamKind::Contract)
            .take(CLOCK_CONTRACTS_PER_CHUNK);
        for s in chunk {
            last = Some(s.id);
            if self.world.wakes.is_due(s.id, through) {
                due.push(s.id);
            }
        }
        Some((last?, due))
    }

    /// Forgets every contract's wake date, so that the next advance of the
    /// billing clock pages in every contract, as a ledger whose derived data
    /// holds no dates does, and computes each date again (tests compare the
    /// clock with and without the dates).
    pub fn forget_wake_dates(&mut self) {
        self.world.wakes.forget_all(std::iter::empty());
        let _ = self.world.wakes.take_stale();
    }

    /// Stages decisions in the import batch when one is open (import mode), or
    /// appends them.
    async fn append_or_stage(
        &mut self,
        decisions: Vec<Decision>,
        at: DateTime<Utc>,
        mode: ClockMode,
    ) -> Result<Vec<Envelope>, LedgerError> {
        let decisions = if mode == ClockMode::Import && self.import.is_some() {
            match self.try_stage(decisions, None, at, true).await? {
                Ok(staged) => return Ok(staged),
                Err(decisions) => decisions,
            }
        } else {
            decisions
        };
        self.commit_import().await?;
        self.append_decisions(decisions, None, at, mode).await
    }

    /// The stored events of the command first executed under `key` (its
    /// decisions' keys are `key#0@FINGERPRINT`, `key#1`, ...), in position order.
    ///
    /// Decision: the keys are found by a range of the ordered key map and the
    /// events read from the store between the first and last of their positions,
    /// so that answering a duplicate costs what the first execution appended, not
    /// a scan of every key and every stream's history (it did: the cost of a
    /// retry grew with the ledger). Only the keys of `key` itself are taken, not
    /// those of a longer key that starts like it (`key#1` of the key `key#1`).
    async fn envelopes_of_key(&self, key: &str) -> Result<Vec<Envelope>, LedgerError> {
        let prefix = format!("{key}#");
        let positions: std::collections::BTreeSet<u64> = self
            .store
            .idempotency_keys(&prefix, KEY_LOOKUP_KEYS_MAX)
            .await?
            .into_iter()
            .filter(|(k, _)| command_key_of(k) == Some(key))
            .flat_map(|(_, p)| p)
            .collect();
        let (Some(&first), Some(&last)) = (positions.first(), positions.last()) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(positions.len());
        let mut all = self.store.read_all(first);
        while let Some(env) = next_envelope(&mut all).await {
            let env = env?;
            if env.position > last {
                break;
            }
            if positions.contains(&env.position) {
                out.push(env);
            }
        }
        Ok(out)
    }

    async fn append_decisions(
        &mut self,
        decisions: Vec<Decision>,
        key: Option<&CommandKey<'_>>,
        at: DateTime<Utc>,
        mode: ClockMode,
    ) -> Result<Vec<Envelope>, LedgerError> {
        let mut requests = Vec::with_capacity(decisions.len());
        for (i, d) in decisions.into_iter().enumerate() {
            let idempotency_key = d
                .idempotency_key
                .clone()
                .or_else(|| key.map(|k| k.of_decision(i)));
            requests.push(AppendRequest {
                stream: d.stream,
                expected: d.expected,
                events: d.events,
                idempotency_key,
                recorded_at: match mode {
                    ClockMode::Service => None,
                    ClockMode::Import => Some(at),
                },
            });
        }
        let mut out = Vec::new();
        let mut first_error = None;
        let mut rest = requests.into_iter().peekable();
        while rest.peek().is_some() {
            // The appends of a chunk are all submitted before any is awaited: the
            // store's single writer takes them in submission order and commits them
            // in a few group commits (one flush each) instead of one flush per
            // decision — what made the billing clock of a large ledger slow (measured
            // by the demo). Each append is still atomic on its own, as
            // before; a later decision of a stream whose earlier decision failed
            // fails on its expected version.
            let chunk: Vec<AppendRequest> = rest.by_ref().take(APPENDS_IN_FLIGHT_MAX).collect();
            let shape: Vec<(StreamId, u64)> = chunk
                .iter()
                .map(|r| (r.stream, u64::try_from(r.events.len()).unwrap_or(u64::MAX)))
                .collect();
            let store = &self.store;
            let futures = chunk.into_iter().map(|r| store.append_stored(r)).collect();
            let outcomes = join_in_order(futures).await;
            // Fold in submission order, which is position order, each decision's
            // own events only, so that the world's head is the store's.
            for ((stream, n), outcome) in shape.into_iter().zip(outcomes) {
                match outcome {
                    Ok((AppendOutcome::Appended { .. }, stored)) => {
                        if stored.len() as u64 != n {
                            first_error.get_or_insert(StoreError::Storage(format!(
                                "the store returned {} of the {n} events appended to {stream}",
                                stored.len()
                            )));
                            continue;
                        }
                        for env in &stored {
                            if let Err(e) = fold_stored(&self.store, &mut self.world, env).await {
                                first_error.get_or_insert(e);
                            }
                        }
                        out.extend(stored);
                    }
                    Ok((AppendOutcome::AlreadyAppended { positions }, _)) => {
                        match self.store.read_stream(stream, 1..=u64::MAX).await {
                            Ok(events) => out.extend(
                                events
                                    .into_iter()
                                    .filter(|e| positions.contains(&e.position)),
                            ),
                            Err(e) => {
                                first_error.get_or_insert(e);
                            }
                        }
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if first_error.is_some() {
                break;
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(out),
        }
    }

    /// Runs the billing clock through `through` (inclusive), deciding at `at`;
    /// each step is one atomic append with a deterministic idempotency key, so a
    /// crash mid-way resumes with the next advance.
    ///
    /// # Errors
    /// A store failure; what was appended before it stays appended.
    pub async fn advance_to(
        &mut self,
        through: NaiveDate,
        at: DateTime<Utc>,
        mode: ClockMode,
    ) -> Result<Vec<Envelope>, LedgerError> {
        let cmd = CommandEnvelope {
            request_at: at,
            actor: Actor::billing_clock(),
            channel: None,
            idempotency_key: None,
            expected_version: None,
            command: Command::AdvanceClock(navigo_events_schema::command::AdvanceClock {
                to: through,
            }),
        };
        self.execute(&cmd, mode).await
    }

    /// Appends the built-in tariff catalogue, school holidays, reason codes and
    /// campaigns (`rules/data/`) unless already there (idempotency keys
    /// `builtin:catalogue:<n>`, `builtin:campaign:<id>`). Returns the events
    /// appended now.
    ///
    /// # Errors
    /// Malformed built-in data, or a store failure.
    pub async fn load_builtin_reference(
        &mut self,
        at: DateTime<Utc>,
        mode: ClockMode,
    ) -> Result<Vec<Envelope>, LedgerError> {
        let events = navigo_rules::reference::builtin_catalogue_events()
            .map_err(|e| LedgerError::Reference(e.to_string()))?;
        let campaigns = navigo_rules::reference::builtin_campaigns()
            .map_err(|e| LedgerError::Reference(e.to_string()))?;
        let actor = Actor {
            role: ActorRole::System,
            id: "builtin-reference".into(),
        };
        let mut commands = Vec::new();
        for (n, e) in events.into_iter().enumerate() {
            let command = match e {
                navigo_events_schema::Event::TariffPublished(t) => Command::PublishTariff(t),
                navigo_events_schema::Event::SchoolHolidaysPublished(s) => {
                    Command::PublishSchoolHolidays(s)
                }
                navigo_events_schema::Event::ReasonCodesPublished(r) => {
                    Command::PublishReasonCodes(r)
                }
                _ => continue,
            };
            commands.push((format!("builtin:catalogue:{n}"), command));
        }
        for (id, campaign) in campaigns {
            commands.push((
                format!("builtin:campaign:{id}"),
                Command::PublishCampaign(PublishCampaign {
                    campaign_id: id,
                    campaign,
                }),
            ));
        }
        let mut out = Vec::new();
        for (key, command) in commands {
            let cmd = CommandEnvelope {
                request_at: at,
                actor: actor.clone(),
                channel: None,
                idempotency_key: Some(key),
                expected_version: None,
                command,
            };
            let before = self.world.position;
            let stored = match self.execute(&cmd, mode).await {
                // Decision: a key of the built-in data recorded for other content
                // means the shipped data was revised after this ledger recorded
                // it. What was recorded stands (history is never edited); a
                // revised figure is published as a new tariff or campaign.
                Err(LedgerError::IdempotencyConflict { .. }) => continue,
                other => other?,
            };
            out.extend(stored.into_iter().filter(|e| e.position > before));
        }
        Ok(out)
    }

    /// The version of a stream as folded.
    pub fn version(&self, stream: StreamId) -> u64 {
        self.world.version(stream)
    }

    /// Loads into the world the histories judging `cmd` reads
    /// ([`histories::of_command`]).
    ///
    /// # Errors
    /// A store failure, or a command whose histories exceed
    /// [`histories::COMMAND_HISTORY_STREAMS_MAX`].
    async fn load_command_histories(&mut self, cmd: &CommandEnvelope) -> Result<(), LedgerError> {
        let streams = histories::of_command(&self.world, cmd);
        if streams.len() > histories::COMMAND_HISTORY_STREAMS_MAX {
            return Err(CommandError::invalid(
                "command",
                format!(
                    "judging it reads {} stream histories, more than \
                     command_history_streams_max ({})",
                    streams.len(),
                    histories::COMMAND_HISTORY_STREAMS_MAX
                ),
            )
            .into());
        }
        self.load_histories(&streams).await
    }

    /// Loads the histories of `streams` from the store into the world (for a
    /// reader that asks the rules about them: the ban windows of a person read
    /// the histories of the contracts they pay, see [`histories::ban_streams`]).
    /// They stay until [`Ledger::forget_histories`] or the next command.
    ///
    /// # Errors
    /// A store failure.
    pub async fn load_histories(
        &mut self,
        streams: &std::collections::BTreeSet<StreamId>,
    ) -> Result<(), LedgerError> {
        for s in streams {
            if !self.world.history.contains_key(s) {
                // The store's events, then those of the import batch not yet
                // submitted (the store does not have them yet).
                let mut events = self.store.read_stream(*s, 1..=u64::MAX).await?;
                if let Some(batch) = &self.import {
                    events.extend(batch.staged_of(*s).cloned());
                }
                self.world.history.insert(*s, events);
            }
        }
        Ok(())
    }

    /// Forgets the histories loaded by [`Ledger::load_histories`].
    pub fn forget_histories(&mut self) {
        self.world.history.clear();
    }

    /// Every event of `streams`, read from the store and merged in position
    /// order: the slice a one-id view reads (the streams of
    /// `navigo_projections::slice`), in time proportional to those streams,
    /// not to the log.
    ///
    /// # Errors
    /// A store failure or a corrupt record.
    pub async fn read_streams(
        &self,
        streams: &std::collections::BTreeSet<StreamId>,
    ) -> Result<Vec<Envelope>, LedgerError> {
        let mut out = Vec::new();
        for s in streams {
            out.extend(self.store.read_stream(*s, 1..=u64::MAX).await?);
        }
        out.sort_unstable_by_key(|e| e.position);
        Ok(out)
    }

    /// Starts an import batch: commands executed in [`ClockMode::Import`] are
    /// judged and folded at once, their appends submitted together at the next
    /// [`Ledger::commit_import`] (or when [`IMPORT_BATCH_EVENTS_MAX`]
    /// events are waiting), with every check the store makes (versions, keys,
    /// the chain). The envelopes `execute` returns meanwhile carry the
    /// positions and sequences the store gives them, not yet their hashes.
    /// A failed commit refolds the world from the store and fails: nothing of
    /// the batch after the failure is kept.
    pub fn begin_import(&mut self) {
        self.begin_import_with(IMPORT_BATCH_EVENTS_MAX);
    }

    /// [`Ledger::begin_import`] with a batch committed once it stages
    /// `events_max` events (tests set it small, so that a small population
    /// exceeds it).
    pub fn begin_import_with(&mut self, events_max: usize) {
        if self.import.is_none() {
            self.import = Some(ImportBatch::new(events_max));
        }
    }

    /// Submits the appends of the import batch, in order, and waits until they
    /// are durable; the batch stays open for more commands.
    ///
    /// # Errors
    /// A store failure, or the store assigning other positions than the ones
    /// folded: the world is then refolded from the store.
    pub async fn commit_import(&mut self) -> Result<(), LedgerError> {
        let Some(staged) = self.import.as_mut().map(ImportBatch::take) else {
            return Ok(());
        };
        if staged.is_empty() {
            return Ok(());
        }
        match import::submit(&self.store, staged).await {
            Ok(Some(head)) => {
                self.world.head_hash = head;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => {
                let (world, _) =
                    open_world(&self.store, &self.policy, self.state_cache_entries_max).await?;
                self.world = world;
                Err(e.into())
            }
        }
    }

    /// Events judged in the import batch and not yet submitted (fewer than
    /// its bound between commands, [`IMPORT_BATCH_EVENTS_MAX`] by default,
    /// and at most one chunk of the billing clock's decisions beyond it).
    pub fn staged_events(&self) -> usize {
        self.import.as_ref().map_or(0, |b| b.events)
    }

    /// Ends the import batch after committing it.
    ///
    /// # Errors
    /// As [`Ledger::commit_import`].
    pub async fn end_import(&mut self) -> Result<(), LedgerError> {
        self.commit_import().await?;
        self.import = None;
        Ok(())
    }

    /// Appends `request`, an append no command decided (the evidence of a
    /// file exchanged with the bank), recorded at `at`: staged in the import
    /// batch when one is open, so that it is made durable with the commands
    /// around it in the order of their instants; appended at once otherwise.
    /// Returns its envelopes as they are (staged) or were stored; an append
    /// whose key is recorded already appends nothing and returns none.
    ///
    /// # Errors
    /// The stream's expected version is not its version; the store.
    pub async fn append_recorded_at(
        &mut self,
        mut request: AppendRequest,
        at: DateTime<Utc>,
    ) -> Result<Vec<Envelope>, LedgerError> {
        if self.import.is_some() {
            if let Ok(staged) = self
                .try_stage(vec![request.clone()], None, at, false)
                .await?
            {
                if self.import.as_ref().is_some_and(ImportBatch::full) {
                    self.commit_import().await?;
                }
                return Ok(staged);
            }
        }
        // Not staged: no batch is open, or the key is recorded (the store
        // answers that one itself). What the batch holds is earlier.
        self.commit_import().await?;
        request.recorded_at = Some(at);
        let stored = match self.store.append_stored(request).await? {
            (AppendOutcome::Appended { .. }, stored) => stored,
            _ => Vec::new(),
        };
        self.catch_up_with_store().await?;
        Ok(stored)
    }

    /// Stages a command's decisions in the import batch, folding each as the
    /// envelopes the store will assign; gives them back unstaged when one
    /// cannot be judged here (an annulment, which reads the stream it changes,
    /// or an idempotency key already recorded, which the store answers itself).
    /// `clock_steps` says the decisions are the billing clock's, whose keys
    /// name the stream version they are decided at
    /// ([`import::names_an_unreached_version`]).
    async fn try_stage(
        &mut self,
        decisions: Vec<Decision>,
        key: Option<&CommandKey<'_>>,
        at: DateTime<Utc>,
        clock_steps: bool,
    ) -> Result<Result<Vec<Envelope>, Vec<Decision>>, LedgerError> {
        let mut keys = Vec::with_capacity(decisions.len());
        for (i, d) in decisions.iter().enumerate() {
            let idempotency_key = d
                .idempotency_key
                .clone()
                .or_else(|| key.map(|k| k.of_decision(i)));
            let annuls = d
                .events
                .iter()
                .any(|e| matches!(e.event, navigo_events_schema::Event::EventAnnulled(_)));
            let unrecorded = clock_steps
                && import::names_an_unreached_version(
                    idempotency_key.as_deref(),
                    d.expected,
                    self.world.version(d.stream),
                );
            if annuls || (!unrecorded && self.key_recorded(idempotency_key.as_deref()).await?) {
                return Ok(Err(decisions));
            }
            keys.push(idempotency_key);
        }
        // The decisions are moved into their requests, not copied: the events
        // of a decision are cloned once, into the envelopes folded below.
        let requests = decisions
            .into_iter()
            .zip(keys)
            .map(|(d, idempotency_key)| AppendRequest {
                idempotency_key,
                recorded_at: Some(at),
                ..d
            });
        let mut out = Vec::new();
        for mut request in requests {
            // What is folded now is written into the paged states later: it
            // must be the ciphertext the log will hold, never the clear
            // personal data the rules decided.
            self.store.seal_ahead(&mut request)?;
            let actual = self.world.version(request.stream);
            if let ExpectedVersion::Exact(expected) = request.expected {
                if expected != actual {
                    return Err(StoreError::Conflict {
                        stream: request.stream,
                        expected,
                        actual,
                    }
                    .into());
                }
            }
            let provisional = import::provisional(&self.world, &request, at);
            self.page_in(&std::iter::once(request.stream).collect())
                .await?;
            for env in &provisional {
                self.world.apply_live(env);
            }
            out.extend(provisional.iter().cloned());
            if let Some(batch) = self.import.as_mut() {
                batch.push(import::Staged {
                    request,
                    provisional,
                });
            }
        }
        Ok(Ok(out))
    }

    /// Whether an append key is recorded in the store or staged.
    async fn key_recorded(&self, key: Option<&str>) -> Result<bool, LedgerError> {
        let Some(key) = key else { return Ok(false) };
        if self.import.as_ref().is_some_and(|b| b.keys.contains(key)) {
            return Ok(true);
        }
        let found = self.store.idempotency_keys(key, 1).await?;
        Ok(found.first().is_some_and(|(k, _)| k == key))
    }
}

/// The world of a store: its verified snapshot and the log after it, or the
/// whole log when no snapshot verifies.
///
/// # Errors
/// A storage failure or a corrupt record.
async fn open_world<S: EventStore>(
    store: &S,
    policy: &Policy,
    state_cache_entries_max: usize,
) -> Result<(World, Opened), LedgerError> {
    let mut opened = Opened::default();
    let mut world = match states::load(store).await? {
        Some(Ok(mut world)) => {
            opened.snapshot_position = Some(world.position);
            states::load_wakes(store, &mut world, policy_fingerprint(policy)).await?;
            world
        }
        refused => {
            opened.snapshot_refused = refused.and_then(Result::err);
            let (world, folded) = rebuild::states(store, policy, state_cache_entries_max).await?;
            opened.tail_events = folded;
            world
        }
    };
    world.wakes.policy = policy_fingerprint(policy);
    states::warm(store, &mut world, state_cache_entries_max).await?;
    let from = world.position + 1;
    opened.tail_events +=
        fold_from(store, &mut world, policy, from, state_cache_entries_max).await?;
    navigo_rules::billing::refresh_wakes(&mut world, policy);
    Ok((world, opened))
}

/// The state of a contract or person stream, when it holds one.
fn state_of(world: &World, stream: StreamId) -> Option<StateRef<'_>> {
    match stream.kind {
        navigo_events_schema::StreamKind::Contract => {
            world.contract(stream.id).map(StateRef::Contract)
        }
        _ => world.person(stream.id).map(StateRef::Person),
    }
}

/// The fingerprint of a policy the wake dates are stored under: the first
/// eight bytes of BLAKE3 of its debug form, so that dates computed under other
/// delays are computed again rather than trusted.
///
/// Decision: the debug form names every field with its value; a change of that
/// form between builds makes every stored date unknown, which costs one walk of
/// every contract at the next advance, never a missed step.
fn policy_fingerprint(policy: &Policy) -> u64 {
    let hash = blake3::hash(format!("{policy:?}").as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_be_bytes(head)
}

/// [`states::evict_if_over`], after computing the wake dates the world forgot
/// (a state is written and dropped with its date, so that the clock need not
/// page it in again to learn it).
///
/// # Errors
/// A store failure.
async fn evict_paged<S: EventStore>(
    store: &S,
    world: &mut World,
    policy: &Policy,
    state_cache_entries_max: usize,
    covers: Covers,
) -> Result<(), StoreError> {
    if world.resident_states() > state_cache_entries_max {
        navigo_rules::billing::refresh_wakes(world, policy);
        states::evict_if_over(store, world, state_cache_entries_max, covers).await?;
    }
    Ok(())
}

/// Folds the stored events from `from` on into `world`; returns how many.
///
/// # Errors
/// A storage failure or a corrupt record.
async fn fold_from<S: EventStore>(
    store: &S,
    world: &mut World,
    policy: &Policy,
    from: u64,
    state_cache_entries_max: usize,
) -> Result<u64, StoreError> {
    let mut n = 0;
    let mut all = store.read_all(from);
    while let Some(env) = next_envelope(&mut all).await {
        fold_stored(store, world, &env?).await?;
        evict_paged(
            store,
            world,
            policy,
            state_cache_entries_max,
            Covers::Position,
        )
        .await?;
        n += 1;
    }
    Ok(n)
}

/// Folds one stored event into the world's states ([`World::apply_live`]),
/// reading from the store first the history of the stream an annulment
/// rebuilds, and forgetting it after.
///
/// # Errors
/// A storage failure or a corrupt record.
async fn fold_stored<S: EventStore>(
    store: &S,
    world: &mut World,
    env: &Envelope,
) -> Result<(), StoreError> {
    if world.is_missing(env.stream) {
        states::page_in(store, world, &std::iter::once(env.stream).collect()).await?;
    }
    let Some(stream) = world.needs_history(env) else {
        world.apply_live(env);
        return Ok(());
    };
    let before = store
        .read_stream(stream, 1..=env.stream_seq.saturating_sub(1))
        .await?;
    world.history.insert(stream, before);
    world.apply_live(env);
    world.history.remove(&stream);
    Ok(())
}
