//! The administrative work both transports run on the materialized
//! projections, answered as views: the command line runs it on the store it
//! opens, the service off its writer's lock while it keeps serving.

use std::time::Duration;

use chrono::NaiveDate;
use navigo_events_schema::views::{
    ProjectionCheck, ProjectionHashes, ProjectionMismatch, RebuildSummary,
};
use navigo_events_schema::{Envelope, StreamKind};
use navigo_ledger_core::Ledger;
use navigo_replay::materialize::{
    rebuild_streams, CheckReport, Generation, Progress, ProjectionDb, REBUILD_SLICE_IDS,
};
use navigo_rules::world::World;
use navigo_store::EventStore;
use uuid::Uuid;

/// A comparison of the materialized projections with the log, as a view.
pub fn check_view(r: &CheckReport) -> ProjectionCheck {
    ProjectionCheck {
        generation: r.generation.number,
        at: r.generation.at,
        checkpoint: r.generation.checkpoint,
        head: r.head,
        consistent: r.consistent(),
        projections: r
            .hashes
            .iter()
            .map(|(k, n, s, f)| ProjectionHashes {
                name: (*k).to_owned(),
                rows: *n,
                stored_hash: s.clone(),
                recomputed_hash: f.clone(),
            })
            .collect(),
        mismatches: r
            .mismatches
            .iter()
            .map(|m| ProjectionMismatch {
                projection: m.kind.to_owned(),
                id: m.id,
                what: m.what.to_owned(),
            })
            .collect(),
    }
}

/// A rebuild that replayed `events` into generation `g` in `took`, as a view.
pub fn rebuild_summary(g: &Generation, events: usize, took: Duration) -> RebuildSummary {
    let secs = took.as_secs_f64();
    let rate = events as f64 / secs.max(1e-9);
    RebuildSummary {
        generation: g.number,
        at: g.at,
        checkpoint: g.checkpoint,
        events: events as u64,
        seconds: secs,
        events_per_second: rate.round(),
    }
}

/// The projections on `at` rebuilt from `ledger`'s log a slice at a time, so
/// that the memory of a rebuild is bounded by a chunk of ids' histories, not
/// by the log: the contracts, then the persons, [`REBUILD_SLICE_IDS`] at a
/// time in id order, each chunk's streams picked by the ledger's (paged)
/// world ([`rebuild_streams`]) and read from the store, then projected into
/// the new generation, which is swapped in at the end. The rows are those a
/// rebuild from the whole log writes (replay's tests compare them).
///
/// # Errors
/// A store failure reading a slice, or a projection failure: the current
/// generation stays current.
pub async fn rebuild_by_slices<S: EventStore>(
    ledger: &mut Ledger<S>,
    db: &ProjectionDb,
    at: NaiveDate,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<Generation> {
    let plan = SlicePlan::of(ledger.world());
    let mut build = db.begin_sliced_rebuild(ledger.world().position, at)?;
    let mut done = 0;
    for (c, p) in plan.chunks() {
        let slice = read_chunk(ledger, c, p).await?;
        build.project(c, p, &slice)?;
        done += (c.len() + p.len()) as u64;
        progress(plan.projected(done));
    }
    let g = build.finish()?;
    progress(Progress {
        phase: "writing",
        done: plan.total(),
        total: plan.total(),
    });
    Ok(g)
}

/// The chunks of a rebuild by slices: the contracts, then the persons known
/// to the world, [`REBUILD_SLICE_IDS`] at a time, in id order.
pub(crate) struct SlicePlan {
    contracts: Vec<Uuid>,
    persons: Vec<Uuid>,
}

impl SlicePlan {
    /// The plan of every contract and person of `world`.
    pub(crate) fn of(world: &World) -> SlicePlan {
        let ids = |kind: StreamKind| -> Vec<Uuid> {
            world
                .versions
                .keys()
                .filter(|s| s.kind == kind)
                .map(|s| s.id)
                .collect()
        };
        SlicePlan {
            contracts: ids(StreamKind::Contract),
            persons: ids(StreamKind::Person),
        }
    }

    /// How many ids the plan projects.
    pub(crate) fn total(&self) -> u64 {
        (self.contracts.len() + self.persons.len()) as u64
    }

    /// Each chunk: its contracts and its persons (one of the two empty).
    pub(crate) fn chunks(&self) -> impl Iterator<Item = (&[Uuid], &[Uuid])> {
        self.contracts
            .chunks(REBUILD_SLICE_IDS)
            .map(|c| (c, &[][..]))
            .chain(self.persons.chunks(REBUILD_SLICE_IDS).map(|p| (&[][..], p)))
    }

    /// The progress once `done` ids are projected.
    pub(crate) fn projected(&self, done: u64) -> Progress {
        Progress {
            phase: "projecting",
            done,
            total: self.total(),
        }
    }
}

/// The events of the streams a chunk's views read ([`rebuild_streams`]),
/// picked by the ledger's (paged) world and read from the store.
///
/// # Errors
/// A store failure.
pub(crate) async fn read_chunk<S: EventStore>(
    ledger: &mut Ledger<S>,
    contracts: &[Uuid],
    persons: &[Uuid],
) -> anyhow::Result<Vec<Envelope>> {
    let streams = ledger
        .read_paged(|w| rebuild_streams(w, contracts, persons))
        .await?;
    Ok(ledger.read_streams(&streams).await?)
}

/// What follows the durable erasure of `persons` in the data directory
/// `data`, once for the run: the projections purged of their data
/// ([`purge_projections`]), then each one's personal-space account forgotten
/// (its login is often an e-mail address).
///
/// # Errors
/// As [`purge_projections`] (no account is forgotten then: erasing again
/// finishes both), or the accounts file cannot be rewritten.
pub async fn after_erasure<S: EventStore>(
    ledger: &mut Ledger<S>,
    data: &std::path::Path,
    persons: &[Uuid],
) -> anyhow::Result<()> {
    purge_projections(ledger, data).await?;
    for person in persons {
        super::accounts::forget_person(&super::auth::path_in(data), *person)?;
    }
    Ok(())
}

/// Replaces the projections of the data directory `data`, if it has any, by
/// a database rebuilt into a directory of its own on the date of the current
/// generation (none built: left empty), then deletes every file of the
/// previous one ([`navigo_replay::materialize::dir`]). What an erasure of
/// personal data runs once its event is durable: a catch-up would rewrite the
/// person's rows as erased, but sled keeps the replaced values in its segment
/// files, so the clear text would stay on disk.
///
/// # Errors
/// The projections are held by another process (`follow`) or cannot be
/// written, or a rebuild failure: the erasure stays recorded, and erasing the
/// person again (which appends nothing) purges again.
pub async fn purge_projections<S: EventStore>(
    ledger: &mut Ledger<S>,
    data: &std::path::Path,
) -> anyhow::Result<Option<Generation>> {
    use anyhow::Context as _;
    use navigo_replay::materialize::{dir, projection_dir};
    if !projection_dir(data).exists() {
        return Ok(None);
    }
    let held = || {
        format!(
            "the erasure is recorded, but the projections in {} could not be purged of the \
             person's data; stop whatever holds them (`follow`) and erase the person again",
            projection_dir(data).display()
        )
    };
    let at = {
        let old = ProjectionDb::open(data).with_context(held)?;
        let at = old.current()?.map(|g| g.at);
        old.close()?;
        at
    };
    let (db, fresh) = ProjectionDb::open_fresh(data).with_context(held)?;
    let g = match at {
        Some(at) => Some(rebuild_by_slices(ledger, &db, at, &mut |_| {}).await?),
        None => None,
    };
    db.close()?;
    dir::adopt(data, &fresh).with_context(held)?;
    Ok(g)
}
