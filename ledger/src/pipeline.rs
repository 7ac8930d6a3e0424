//! The pipelined command path of a service: commands that arrive together are
//! judged one after the other against the world *including* the events the
//! commands before them decided and the store has not made durable yet, their
//! appends are submitted together so that the store's writer group-commits
//! them, and each command is answered only once its events are durable.
//!
//! [`Ledger::begin_pipeline`] opens a batch; [`Ledger::execute_pipelined`]
//! judges one command into it (its decisions staged and folded as the
//! envelopes the store will give them, as the import batch does);
//! [`Ledger::end_pipeline`] submits the staged appends, waits for them, and
//! answers every command. A failed append fails every command judged on top
//! of it (its own and every later one, refusals included, since they were
//! judged against events that are not in the log): none of them is answered
//! as accepted, and the world is folded again from the durable log, so that
//! a reader never sees what the failure lost and the next command is judged
//! against the log as it is.
//!
//! The batch holds no lock of its own: the caller holds the ledger (`&mut`)
//! from [`Ledger::begin_pipeline`] to [`Ledger::end_pipeline`], so no reader
//! of the world sees a provisional event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use navigo_events_schema::{CommandEnvelope, Envelope};
use navigo_store::{next_envelope, AppendOutcome, EventStore, StoreError};

use crate::import::{ImportBatch, Staged};
use crate::{ClockMode, Ledger, LedgerError};

/// Commands judged into one pipelined batch at most.
///
/// Decision: 256. The HTTP service's clients each wait for their answer, so a
/// batch holds at most one command per client in flight (64 in the measured
/// load) plus the commands of batch bodies; 256 lets every client of that load
/// ride one group commit while bounding what one failed flush fails (256
/// commands, each told to send again) and the provisional events the world
/// holds at once (a few per command).
pub const COMMANDS_IN_FLIGHT_MAX: usize = 256;

/// One command's outcome while its batch is open.
enum Slot {
    /// Final: a refusal, an error, or events known durable.
    Done(Result<Vec<Envelope>, LedgerError>),
    /// Accepted, its events not known durable yet.
    Pending(Vec<Envelope>),
    /// Judged on top of events a failed append lost.
    Failed,
}

/// A pipelined batch open on a ledger ([`Ledger::begin_pipeline`]).
pub struct Pipelined {
    slots: Vec<Slot>,
    /// The indexes of the pending slots, in order.
    pending: Vec<usize>,
    /// The first command a failure failed: it and every later one fail.
    failed_from: Option<usize>,
    /// Why.
    failure: Option<String>,
}

impl Pipelined {
    /// Commands judged into the batch so far: a check the caller makes
    /// between two commands (a customer's ownership) is judged on top of
    /// these, and fails with them ([`PipelineOutcome::judged_on_lost`]).
    pub fn judged(&self) -> usize {
        self.slots.len()
    }

    /// Whether the batch holds [`COMMANDS_IN_FLIGHT_MAX`] commands.
    pub fn full(&self) -> bool {
        self.slots.len() >= COMMANDS_IN_FLIGHT_MAX
    }
}

/// What a pipelined batch answers, once every append is durable or failed.
pub struct PipelineOutcome {
    /// Each command's answer, in the order judged: its stored events, its
    /// refusal or error, or a store error when it was judged on top of
    /// events a failed append lost.
    pub results: Vec<Result<Vec<Envelope>, LedgerError>>,
    /// The first command a failure failed, if any.
    pub failed_from: Option<usize>,
}

impl PipelineOutcome {
    /// Whether a check made after `judged` commands ([`Pipelined::judged`])
    /// was judged on top of events a failed append lost.
    pub fn judged_on_lost(&self, judged: usize) -> bool {
        self.failed_from.is_some_and(|f| judged > f)
    }
}

/// The error of a command judged on top of events a failed append lost.
fn lost(why: &str) -> LedgerError {
    LedgerError::Store(StoreError::Storage(format!(
        "the command was judged on top of appends that did not become durable ({why}); it \
         was not recorded and the ledger was folded again from its durable log: send it again"
    )))
}

impl<S: EventStore> Ledger<S> {
    /// Opens a pipelined batch at the service's instant `now` (committing an
    /// import batch first, which a service never has).
    ///
    /// Decision: the events of a batch are recorded at one instant, the
    /// service clock's when the batch opens (never before the head's), which
    /// is what the store would assign them within the milliseconds of the
    /// batch's flush; the folded envelopes then carry the instant the log
    /// will hold.
    ///
    /// # Errors
    /// A failed import batch commit.
    pub async fn begin_pipeline(&mut self, now: DateTime<Utc>) -> Result<Pipelined, LedgerError> {
        self.end_import().await?;
        let at = self.world.head_recorded_at.map_or(now, |h| now.max(h));
        self.pipelined_at = Some(at);
        self.import = Some(ImportBatch::new(crate::IMPORT_BATCH_EVENTS_MAX));
        Ok(Pipelined {
            slots: Vec::new(),
            pending: Vec::new(),
            failed_from: None,
            failure: None,
        })
    }

    /// The instant a command's decisions are staged at, when they are staged
    /// rather than appended: an import batch's commands at their request
    /// instant, a pipelined batch's at the batch's instant.
    pub(crate) fn staging_instant(
        &self,
        cmd: &CommandEnvelope,
        mode: ClockMode,
    ) -> Option<DateTime<Utc>> {
        self.import.as_ref()?;
        match (mode, self.pipelined_at) {
            (ClockMode::Import, _) => Some(cmd.request_at),
            (ClockMode::Service, at) => at,
        }
    }

    /// Judges `cmd` into the open batch in service mode. After a failure the
    /// command is not judged: it fails with the batch.
    pub async fn execute_pipelined(&mut self, batch: &mut Pipelined, cmd: &CommandEnvelope) {
        if batch.failed_from.is_some() {
            batch.slots.push(Slot::Failed);
            return;
        }
        let slot = match self.execute(cmd, ClockMode::Service).await {
            Ok(events) if !events.is_empty() => {
                batch.pending.push(batch.slots.len());
                Slot::Pending(events)
            }
            other => Slot::Done(other),
        };
        batch.slots.push(slot);
        // An annulment, a retry's answer or an eviction commits what was
        // staged before it; what that commit made durable is settled now,
        // and a failure of it fails the rest of the batch.
        if self.staged_events() == 0 && !batch.pending.is_empty() {
            self.settle(batch, BTreeMap::new()).await;
        }
    }

    /// Submits the batch's staged appends, waits until they are durable or
    /// failed, folds the world again from the log after a failure, and
    /// answers every command of the batch.
    pub async fn end_pipeline(&mut self, mut batch: Pipelined) -> PipelineOutcome {
        self.pipelined_at = None;
        let staged = self.import.take().map(|mut b| b.take()).unwrap_or_default();
        let mut stored = BTreeMap::new();
        if !staged.is_empty() {
            match submit_collect(&self.store, staged).await {
                Ok(envelopes) => {
                    if let Some(last) = envelopes.values().next_back() {
                        self.world.head_hash = last.hash;
                    }
                    stored = envelopes;
                }
                Err(e) => {
                    batch.failure = Some(self.refold(e.to_string()).await);
                }
            }
        }
        self.settle(&mut batch, stored).await;
        // Staged appends defer the snapshot a command would write; it is
        // written now that none is staged. Its failure fails no command (their
        // events are durable): the snapshot is still due after the next batch.
        let _ = self.snapshot_if_due().await;
        let failed_from = batch.failed_from;
        let why = batch.failure.unwrap_or_else(|| "a failed append".into());
        let results = batch
            .slots
            .into_iter()
            .enumerate()
            .map(|(i, slot)| match slot {
                _ if failed_from.is_some_and(|f| i >= f) => Err(lost(&why)),
                Slot::Done(r) => r,
                Slot::Pending(_) | Slot::Failed => Err(lost(&why)),
            })
            .collect();
        PipelineOutcome {
            results,
            failed_from,
        }
    }

    /// Folds the world again from the durable log, after a failed append
    /// left provisional events in it; the failure `why`, with the refold's
    /// own failure if it failed.
    async fn refold(&mut self, why: String) -> String {
        match crate::open_world(&self.store, &self.policy, self.state_cache_entries_max).await {
            Ok((world, _)) => {
                self.world = world;
                why
            }
            // The world keeps what it folded: the store refuses appends over
            // versions it does not hold, so nothing lost is built upon.
            Err(e) => format!("{why}; folding the log again failed too: {e}"),
        }
    }

    /// Settles every pending command: durable when the log holds its events
    /// at the positions they were folded with (from `stored`, the submission's
    /// answers, or read back), lost otherwise; the first lost one fails the
    /// rest of the batch.
    async fn settle(&mut self, batch: &mut Pipelined, mut stored: BTreeMap<u64, Envelope>) {
        for i in std::mem::take(&mut batch.pending) {
            let Some(Slot::Pending(folded)) = batch.slots.get(i) else {
                continue;
            };
            let durable = if batch.failed_from.is_some() {
                None
            } else {
                match folded
                    .iter()
                    .map(|f| stored.remove(&f.position))
                    .collect::<Option<Vec<_>>>()
                {
                    Some(s) if same_events(&s, folded) => Some(s),
                    _ => self.read_back(folded).await,
                }
            };
            batch.slots[i] = match durable {
                Some(events) => Slot::Done(Ok(events)),
                None => {
                    batch.failed_from.get_or_insert(i);
                    if batch.failure.is_none() {
                        batch.failure = Some(self.refold("an append failed".into()).await);
                    }
                    Slot::Failed
                }
            };
        }
    }

    /// The stored envelopes at the positions of `folded`, when the log holds
    /// those very events there.
    async fn read_back(&self, folded: &[Envelope]) -> Option<Vec<Envelope>> {
        let (first, last) = (folded.first()?.position, folded.last()?.position);
        let mut out = Vec::with_capacity(folded.len());
        let mut all = self.store.read_all(first);
        while let Some(env) = next_envelope(&mut all).await {
            let env = env.ok()?;
            if env.position > last {
                break;
            }
            if folded.iter().any(|f| f.position == env.position) {
                out.push(env);
            }
        }
        same_events(&out, folded).then_some(out)
    }
}

/// Whether `stored` holds the events of `folded`, position for position.
fn same_events(stored: &[Envelope], folded: &[Envelope]) -> bool {
    stored.len() == folded.len()
        && stored.iter().zip(folded).all(|(s, f)| {
            (s.position, s.stream, s.stream_seq, s.event_id)
                == (f.position, f.stream, f.stream_seq, f.event_id)
        })
}

/// Submits the staged appends in order, each chunk once the store has made
/// ready what it needs and the next prepared while it is in flight
/// ([`crate::inflight::submit_prepared`]); the stored envelopes by position.
///
/// # Errors
/// The first store failure, or an append answered otherwise than appended:
/// what came before it may be durable, which [`Ledger::end_pipeline`] reads
/// back; no chunk after the failing one is submitted.
async fn submit_collect<S: EventStore>(
    store: &S,
    staged: Vec<Staged>,
) -> Result<BTreeMap<u64, Envelope>, StoreError> {
    let mut out = BTreeMap::new();
    let appends = staged.into_iter().map(|s| (s.request, ())).collect();
    crate::inflight::submit_prepared(store, appends, |answers| {
        let mut first_error = None;
        for (answer, ()) in answers {
            match answer {
                Ok((AppendOutcome::Appended { .. }, events)) => {
                    out.extend(events.into_iter().map(|e| (e.position, e)));
                }
                Ok((other, _)) => {
                    first_error.get_or_insert(StoreError::Storage(format!(
                        "a pipelined append was answered {other:?}, not appended as judged"
                    )));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    })
    .await?;
    Ok(out)
}
