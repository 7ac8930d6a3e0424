//! The task that keeps the service's materialized projections current
//! (`super::projector`): after an append, and at least every
//! [`PROJECTOR_CLOCK_CHECK_MS`] to see the date change, it brings them to the
//! head on today's date (Paris), starting at most one step every
//! [`PROJECTOR_STEP_INTERVAL_MS`] so that a step under load folds every
//! append of that interval at once. A catch-up reads from the store only the
//! events after the checkpoint and the streams of the ids they touch, so the
//! service never holds the log: its memory does not grow with the history.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use navigo_events_schema::{Envelope, StreamId};
use navigo_ledger_core::{Ledger, LedgerError};
use navigo_replay::materialize::{catch_up_streams, tail_contract_streams, touches_every_row};
use navigo_rules::calendar::paris_date;
use navigo_store::{next_envelope, EventStore};
use navigo_store_postgres::projections::SqlProjections;

use super::error::ApiError;
use super::metrics::gauge;
use super::projector::{self, Input};
use super::state::AppState;
use crate::app::sql_projections;

/// How often the follower reads the clock while nothing is appended, in
/// milliseconds: bounds how late after midnight (Paris) "today" rolls forward.
pub const PROJECTOR_CLOCK_CHECK_MS: u64 = 1_000;

/// The least time between the starts of two steps of the follower, in
/// milliseconds.
///
/// Decision: a step's cost is mostly fixed (the tail read under the ledger's
/// lock, the slice's index, the projection database's transaction and flush),
/// so a step per append, as the follower did, spent on the projections the
/// CPU the commands needed under load. Pacing the steps folds the appends of
/// an interval in one step; the lag it adds is at most this interval plus a
/// step, well inside the promised p99 of one second, and nothing when the
/// service is idle (the first append after a quiet interval is folded at
/// once).
pub const PROJECTOR_STEP_INTERVAL_MS: u64 = 200;

/// How many times a catch-up pages in the states its choice of streams missed
/// and chooses again: the first choice names every state it needs, so a
/// second pass finds them resident; more passes only mean ids the ledger does
/// not know, which pick no stream either way.
const CATCH_UP_PAGE_IN_ROUNDS_MAX: usize = 3;

/// Follows the service's appends for as long as it serves. A failure is
/// logged and retried at the next append or clock check; the lag shows it.
pub async fn follow(st: Arc<AppState>) {
    let interval = Duration::from_millis(PROJECTOR_STEP_INTERVAL_MS);
    loop {
        let started = tokio::time::Instant::now();
        // Registered before the catch-up reads the head, so that an append in
        // between wakes the next round.
        let appended = st.appended.notified();
        let writing = st.projector.writer.lock().await;
        let done = once(&st).await;
        drop(writing);
        if let Err(e) = done {
            tracing::error!(error = %e.body().message, "projections: catching up failed");
        }
        let _ =
            tokio::time::timeout(Duration::from_millis(PROJECTOR_CLOCK_CHECK_MS), appended).await;
        tokio::time::sleep_until(started + interval).await;
    }
}

/// One round: nothing when the rows cover the head on today's date; on
/// PostgreSQL, the database's projection tables after the data directory's
/// rows. The caller holds the projector's writer lock.
pub(crate) async fn once(st: &AppState) -> Result<(), ApiError> {
    let sled = sled_once(st).await;
    if let Some(sql) = &st.projector.sql {
        sql_once(st, sql).await?;
    }
    sled
}

/// The round of the SQL projection tables, from their own checkpoint: a
/// catch-up when they are on today's date, else a rebuild. When another
/// service sharing the database moved them meanwhile, nothing is written
/// (the next round starts from where it left them).
async fn sql_once(st: &AppState, sql: &SqlProjections) -> Result<(), ApiError> {
    let internal = |e: anyhow::Error| ApiError::Internal(format!("{e:#}"));
    let head = st.ledger.lock().await.world().position;
    let today = paris_date(st.clock.now());
    let after = sql
        .checkpoint()
        .await
        .map_err(|e| internal(e.into()))?
        .filter(|c| c.at == today.to_string());
    if after.as_ref().is_some_and(|c| c.position >= head) {
        return Ok(());
    }
    let input = {
        let mut ledger = st.ledger.lock().await;
        read_input(&mut ledger, after.as_ref().map(|c| c.position)).await?
    };
    // The rows are computed off the runtime's workers (the events are moved
    // to the computing thread), written from here.
    let done = match (after, input) {
        (Some(c), Input::Tail { tail, slice }) => {
            sql_projections::catch_up(sql, c, Arc::new(tail), Arc::new(slice), false).await
        }
        (Some(c), Input::Log(events)) => {
            let events = Arc::new(events);
            sql_projections::catch_up(sql, c, events.clone(), events, true).await
        }
        (None, Input::Log(events)) => sql_projections::rebuild_whole(sql, Arc::new(events), today)
            .await
            .map(Some),
        (None, Input::Tail { .. }) => Err(anyhow::anyhow!("a tail read for a rebuild")),
    };
    done.map(|_| ()).map_err(internal)
}

/// The round of the data directory's projections.
async fn sled_once(st: &AppState) -> Result<(), ApiError> {
    let head = st.ledger.lock().await.world().position;
    let today = paris_date(st.clock.now());
    let p = &st.projector;
    if p.covered()
        .is_some_and(|g| g.checkpoint == head && g.at == today)
    {
        return Ok(());
    }
    let db = p.db();
    let after = projector::caught_up_generation(&db, today)
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map(|g| g.checkpoint);
    let since = db
        .current()
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_or(0, |g| g.checkpoint);
    let input = {
        let mut ledger = st.ledger.lock().await;
        let input = read_input(&mut ledger, after).await?;
        match input {
            // An erasure is purged by a rebuild, which reads the whole log.
            Input::Tail { .. } if projector::erases_after(&input, since) => {
                read_input(&mut ledger, None).await?
            }
            input => input,
        }
    };
    let g = if projector::erases_after(&input, since) {
        drop(db);
        let data = p.data().to_owned();
        let Input::Log(events) = input else {
            return Err(ApiError::Internal("a purge needs the whole log".into()));
        };
        let (g, fresh, dir) =
            tokio::task::spawn_blocking(move || projector::rebuild_fresh(&data, &events, today))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        p.adopt(fresh, &dir)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        g
    } else {
        tokio::task::spawn_blocking(move || projector::step(&db, &input, today))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(e.to_string()))?
    };
    st.metrics
        .projection_lag
        .set(gauge(head.saturating_sub(g.checkpoint)));
    p.reached(g);
    Ok(())
}

/// What the next step folds, read from the ledger's store (under the ledger's
/// lock, so that the world's indexes and the store agree): with `after` (the
/// checkpoint a catch-up continues), the events after it and the streams of
/// the ids they touch; without, or for a tail with a reference event (which
/// touches every row), the whole log.
///
/// Decision: the whole log is read for a rebuild (the first step, the
/// midnight roll) and for a reference event, and dropped as soon as the step
/// is done; only the catch-ups between them, the steady state under load,
/// read slices.
///
/// # Errors
/// A store failure or a corrupt record of what is read.
pub async fn read_input<S: EventStore>(
    ledger: &mut Ledger<S>,
    after: Option<u64>,
) -> Result<Input, LedgerError> {
    let head = ledger.world().position;
    read_input_through(ledger, after, head).await
}

/// [`read_input`] of the events up to position `head` only (at most the
/// world's), as if the log ended there: what a step would have read had it
/// started when `head` was the head.
///
/// # Errors
/// A store failure or a corrupt record of what is read.
pub async fn read_input_through<S: EventStore>(
    ledger: &mut Ledger<S>,
    after: Option<u64>,
    head: u64,
) -> Result<Input, LedgerError> {
    let whole = |mut log: Vec<Envelope>| {
        log.retain(|e| e.position <= head);
        Input::Log(log)
    };
    let Some(checkpoint) = after else {
        return Ok(whole(ledger.store().read_log(1).await?));
    };
    let mut tail = Vec::new();
    let mut s = ledger.store().read_all(checkpoint + 1);
    while let Some(e) = next_envelope(&mut s).await {
        let e = e?;
        if e.position > head {
            break;
        }
        tail.push(e);
    }
    drop(s);
    if touches_every_row(&tail) {
        return Ok(whole(ledger.store().read_log(1).await?));
    }
    let last = tail.last().map_or(checkpoint, |e| e.position);
    let contracts = read_streams_with(ledger, &tail_contract_streams(&tail), &tail, last).await?;
    let mut streams = BTreeSet::<StreamId>::new();
    for _ in 0..CATCH_UP_PAGE_IN_ROUNDS_MAX {
        streams = catch_up_streams(ledger.world(), &tail, &contracts);
        if !ledger.page_in_misses().await? {
            break;
        }
    }
    let slice = read_streams_with(ledger, &streams, &tail, last).await?;
    Ok(Input::Tail { tail, slice })
}

/// Every event of `streams` up to position `last`, in position order: those
/// of a stream that begins in `tail` taken from it, the others read from the
/// store.
///
/// Decision: a stream whose first event is in the tail (a person registered
/// or a contract subscribed since the checkpoint, most of what a command load
/// appends) is whole in it, since the tail holds every position from the
/// checkpoint to `last`; reading it again would decode (and open the sealed
/// fields of) the same records a second time under the ledger's lock.
async fn read_streams_with<S: EventStore>(
    ledger: &Ledger<S>,
    streams: &BTreeSet<StreamId>,
    tail: &[Envelope],
    last: u64,
) -> Result<Vec<Envelope>, LedgerError> {
    let born: BTreeSet<StreamId> = tail
        .iter()
        .filter(|e| e.stream_seq == 1 && streams.contains(&e.stream))
        .map(|e| e.stream)
        .collect();
    let older: BTreeSet<StreamId> = streams.difference(&born).copied().collect();
    let mut out = ledger.read_streams(&older).await?;
    out.retain(|e| e.position <= last);
    out.extend(tail.iter().filter(|e| born.contains(&e.stream)).cloned());
    out.sort_unstable_by_key(|e| e.position);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::RangeInclusive;
    use std::sync::Mutex as StdMutex;

    use async_trait::async_trait;
    use navigo_events_schema::command::Command;
    use navigo_events_schema::AppendRequest;
    use navigo_events_schema::Event;
    use navigo_ledger_core::ClockMode;
    use navigo_replay::materialize::{check, Generation, ProjectionDb};
    use navigo_rules::Policy;
    use navigo_sim::generate::{generate, PopulationConfig, Step};
    use navigo_store::{AppendOutcome, EnvelopeStream, Head, Limits, ManualClock, StoreError};
    use navigo_store_sled::SledStore;

    /// A sled store that records what is read: the streams, and where each
    /// whole-log read starts.
    struct Counting {
        inner: SledStore,
        streams: StdMutex<BTreeSet<StreamId>>,
        log_reads_from: StdMutex<Vec<u64>>,
    }

    impl Counting {
        fn forget(&self) {
            self.streams.lock().expect("lock").clear();
            self.log_reads_from.lock().expect("lock").clear();
        }
    }

    #[async_trait]
    impl EventStore for Counting {
        async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
            self.inner.append(request).await
        }
        async fn append_stored(
            &self,
            request: AppendRequest,
        ) -> Result<(AppendOutcome, Vec<Envelope>), StoreError> {
            self.inner.append_stored(request).await
        }
        async fn read_stream(
            &self,
            stream: StreamId,
            range: RangeInclusive<u64>,
        ) -> Result<Vec<Envelope>, StoreError> {
            self.streams.lock().expect("lock").insert(stream);
            self.inner.read_stream(stream, range).await
        }
        fn read_all(&self, from_position: u64) -> EnvelopeStream<'_> {
            self.log_reads_from
                .lock()
                .expect("lock")
                .push(from_position);
            self.inner.read_all(from_position)
        }
        async fn read_log(&self, from_position: u64) -> Result<Vec<Envelope>, StoreError> {
            self.log_reads_from
                .lock()
                .expect("lock")
                .push(from_position);
            self.inner.read_log(from_position).await
        }
        async fn head(&self) -> Result<Head, StoreError> {
            self.inner.head().await
        }
        async fn stream_version(&self, stream: StreamId) -> Result<u64, StoreError> {
            self.inner.stream_version(stream).await
        }
        async fn idempotency_keys(
            &self,
            prefix: &str,
            keys_max: usize,
        ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
            self.inner.idempotency_keys(prefix, keys_max).await
        }
    }

    /// A new sled store under `dir`, its clock at the instant the built-in
    /// reference data is loaded at (returned with it).
    fn fresh_store(dir: &std::path::Path) -> (SledStore, chrono::DateTime<chrono::Utc>) {
        let data = dir.join("ledger");
        SledStore::init(&data).expect("init");
        let builtin_at: chrono::DateTime<chrono::Utc> =
            "2011-06-01T00:00:00Z".parse().expect("instant");
        let store = SledStore::open(
            &data,
            Limits::default(),
            Arc::new(ManualClock::new(builtin_at)),
        )
        .expect("open");
        (store, builtin_at)
    }

    /// A ledger in `dir` holding a generated population of `contracts`.
    async fn population(dir: &std::path::Path, seed: u64, contracts: u32) -> Ledger<SledStore> {
        let (store, builtin_at) = fresh_store(dir);
        let mut ledger = Ledger::open(store, Policy::default(), seed)
            .await
            .expect("ledger");
        ledger
            .load_builtin_reference(builtin_at, ClockMode::Import)
            .await
            .expect("reference data");
        let campaigns = navigo_rules::reference::builtin_campaigns().expect("campaigns");
        let plan = generate(
            PopulationConfig {
                seed,
                contracts,
                from: navigo_testkit::d(2024, 1, 1),
                through: navigo_testkit::d(2025, 6, 30),
            },
            &campaigns,
        );
        navigo_sim::drive(&mut ledger, &plan.commands, &mut |_| {})
            .await
            .expect("drive");
        ledger
    }

    /// Folds `log` into a fresh projection database in `dir` in steps ending
    /// at each of `cuts` (positions, ascending, the last the head), each step
    /// reading its input as the follower does, from `back` events before the
    /// checkpoint (a tail that repeats events already folded). After every
    /// step the checkpoint is the cut and the rows are the views of the log up
    /// to it; returns the last generation.
    async fn fold_in_steps(
        ledger: &mut Ledger<SledStore>,
        log: &[Envelope],
        dir: &std::path::Path,
        cuts: &[u64],
        back: u64,
    ) -> Generation {
        let _ = std::fs::remove_dir_all(dir);
        let db = ProjectionDb::open(dir).expect("projections");
        let day = navigo_testkit::d(2025, 7, 1);
        let mut g = None;
        for cut in cuts {
            let after = projector::caught_up_generation(&db, day)
                .expect("current")
                .map(|g| g.checkpoint.saturating_sub(back));
            let input = read_input_through(ledger, after, *cut)
                .await
                .expect("input");
            let reached = projector::step(&db, &input, day).expect("step");
            assert_eq!(reached.checkpoint, *cut, "the step ended elsewhere");
            let upto: Vec<Envelope> = log.iter().filter(|e| e.position <= *cut).cloned().collect();
            let report = check(&db, &upto).expect("check");
            assert!(report.consistent(), "rows at {cut}: {report:?}");
            g = Some(reached);
        }
        let _ = db.close();
        let _ = std::fs::remove_dir_all(dir);
        g.expect("a step")
    }

    #[test]
    fn serve_projector_steps_over_any_batch_cuts_neither_skip_nor_repeat_an_event() {
        // Given a generated population in a ledger, and its whole log
        let dir = std::env::temp_dir().join(format!("navigo-cuts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let ledger = rt.block_on(population(&dir, 0xC0_75, 12));
        let log = rt.block_on(ledger.store().read_log(1)).expect("log");
        let head = log.last().map_or(0, |e| e.position);
        let first = log
            .iter()
            .find(|e| matches!(e.event, Event::PersonRegistered(_)))
            .map_or(1, |e| e.position);
        let ledger = StdMutex::new(ledger);
        // When the follower's steps end at any cuts (the first a rebuild, then
        // catch-ups of batches of any size, some tails starting before the
        // checkpoint), then every step ends at its cut with the rows of the log
        // up to it, and the last covers the head
        let cuts = proptest::collection::btree_set(first..head, 1..6);
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 8,
            failure_persistence: None,
            ..Default::default()
        });
        let result = runner.run(&(cuts, 0u64..3), |(cuts, back)| {
            let mut cuts: Vec<u64> = cuts.into_iter().collect();
            cuts.push(head);
            let mut ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
            let g = rt.block_on(fold_in_steps(
                &mut ledger,
                &log,
                &dir.join("projections"),
                &cuts,
                back,
            ));
            proptest::prop_assert_eq!(g.checkpoint, head);
            Ok(())
        });
        drop(ledger);
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = result {
            panic!("{e}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serve_projector_catch_up_reads_only_the_tail_and_the_touched_streams_not_the_log() {
        // Given a generated population in a ledger whose store counts its reads
        let dir = std::env::temp_dir().join(format!("navigo-follower-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (inner, builtin_at) = fresh_store(&dir);
        let store = Counting {
            inner,
            streams: StdMutex::default(),
            log_reads_from: StdMutex::default(),
        };
        let mut ledger = Ledger::open(store, Policy::default(), 0xF0_11)
            .await
            .expect("ledger");
        ledger
            .load_builtin_reference(builtin_at, ClockMode::Import)
            .await
            .expect("reference data");
        let campaigns = navigo_rules::reference::builtin_campaigns().expect("campaigns");
        let plan = generate(
            PopulationConfig {
                seed: 0xF0_11,
                contracts: 24,
                from: navigo_testkit::d(2024, 1, 1),
                through: navigo_testkit::d(2025, 6, 30),
            },
            &campaigns,
        );
        // The last subscription comes after the projections are built.
        let cut = plan
            .commands
            .iter()
            .rposition(|c| {
                matches!(&c.step, Step::Command(e) if matches!(e.command, Command::Subscribe(_)))
            })
            .expect("a subscription");
        navigo_sim::drive(&mut ledger, &plan.commands[..cut], &mut |_| {})
            .await
            .expect("drive");
        let db = ProjectionDb::open(&dir.join("ledger")).expect("projections");
        let day = navigo_testkit::d(2025, 7, 1);
        let first = read_input(&mut ledger, None).await.expect("log");
        let g = projector::step(&db, &first, day).expect("rebuild");
        drop(first);
        // When one more subscription is appended and the follower catches up
        navigo_sim::drive(&mut ledger, &plan.commands[cut..=cut], &mut |_| {})
            .await
            .expect("drive the subscription");
        ledger.store().forget();
        let after = projector::caught_up_generation(&db, day)
            .expect("current")
            .map(|g| g.checkpoint);
        assert_eq!(after, Some(g.checkpoint));
        let input = read_input(&mut ledger, after).await.expect("tail");
        let caught = projector::step(&db, &input, day).expect("catch up");
        // Then it read the log only from the checkpoint on, and only some streams
        let from = ledger.store().log_reads_from.lock().expect("lock").clone();
        assert_eq!(from, vec![g.checkpoint + 1], "whole-log reads: {from:?}");
        let all = ledger.store().inner.read_log(1).await.expect("log");
        let every: BTreeSet<StreamId> = all.iter().map(|e| e.stream).collect();
        let read = ledger.store().streams.lock().expect("lock").clone();
        assert!(
            !read.is_empty() && read.len() * 2 < every.len(),
            "{} of {} streams read",
            read.len(),
            every.len()
        );
        // And the rows cover the head and equal the views computed from the whole log
        assert!(matches!(input, Input::Tail { .. }));
        assert_eq!(caught.checkpoint, all.last().map_or(0, |e| e.position));
        assert!(caught.checkpoint > g.checkpoint);
        assert!(check(&db, &all).expect("check").consistent());
        let _ = db.close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
