//! The materialized projections the service keeps current while it serves:
//! a task (`super::follower`) follows the service's own appends into the
//! projection database (the exactly-once checkpoint of `follow`: rows and
//! checkpoint in one transaction), and rolls "today" forward when the server's
//! clock passes midnight in Paris ([`step`]). Readers ask for the materialized rows explicitly
//! (`?source=materialized`, the lists); every such answer says the position
//! its rows cover, and `/metrics` the lag behind the head.

use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;
use navigo_events_schema::{Envelope, Event};
use navigo_replay::materialize::{Generation, ProjectionDb};
use navigo_replay::ReplayError;
use navigo_store_postgres::projections::SqlProjections;
use tokio::sync::watch;

/// The projection database the service keeps, and the generation its rows are
/// at (`None` until the first catch-up).
pub struct Projector {
    /// The database (readers read it directly; whoever holds [`Projector::writer`]
    /// is its one writer), replaced whole by a purge ([`Projector::purge`]).
    db: std::sync::RwLock<ProjectionDb>,
    /// The data directory, whose projection directory holds the database.
    data: std::path::PathBuf,
    /// Held by whoever writes the rows: the follower for each step, an
    /// administrative rebuild or check for its whole run, so that a catch-up
    /// never writes into a generation a rebuild is replacing, nor moves rows a
    /// check is comparing. An owned guard, so that a job on a blocking thread
    /// keeps it even when its request is dropped.
    pub writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// The database's projection tables, when the log is in PostgreSQL: kept
    /// by the same follower, from their own checkpoint
    /// (`app::sql_projections`).
    pub sql: Option<SqlProjections>,
    covered: watch::Sender<Option<Generation>>,
}

impl Projector {
    /// Opens the projection database of the ledger in `data`.
    ///
    /// # Errors
    /// A sled failure, e.g. another process (`follow`) holds it.
    pub fn open(data: &Path) -> Result<Projector, ReplayError> {
        let db = ProjectionDb::open(data)?;
        let (covered, _) = watch::channel(None);
        Ok(Projector {
            db: std::sync::RwLock::new(db),
            data: data.to_owned(),
            writer: Default::default(),
            sql: None,
            covered,
        })
    }

    /// The database as it is now (a handle: a purge swaps in another, and
    /// a handle taken before it reads the previous one until dropped).
    pub fn db(&self) -> ProjectionDb {
        self.db.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// Makes `fresh`, a database [`rebuild_fresh`] wrote into `dir`, the one
    /// readers get, and deletes every file of the previous one. The caller
    /// holds [`Projector::writer`]. Handles taken before keep reading the
    /// previous database, whose files are unlinked, until dropped.
    ///
    /// # Errors
    /// The pointer cannot be written or the old files deleted (the next
    /// adoption deletes them).
    pub fn adopt(&self, fresh: ProjectionDb, dir: &Path) -> Result<(), ReplayError> {
        *self.db.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        navigo_replay::materialize::dir::adopt(&self.data, dir)
    }

    /// The generation the follower last reached.
    pub fn covered(&self) -> Option<Generation> {
        self.covered.borrow().clone()
    }

    /// Records the generation the follower reached.
    pub fn reached(&self, g: Generation) {
        self.covered.send_replace(Some(g));
    }

    /// Waits at most `wait` until the rows cover `position`; returns whether
    /// they do.
    pub async fn wait_for(&self, position: u64, wait: Duration) -> bool {
        let mut rx = self.covered.subscribe();
        let reached = rx.wait_for(|g| g.as_ref().is_some_and(|g| g.checkpoint >= position));
        let done = matches!(tokio::time::timeout(wait, reached).await, Ok(Ok(_)));
        done
    }
}

/// The projections on `today` rebuilt from `events` (the whole log) into a
/// database of its own in the projection directory of `data`, for
/// [`Projector::adopt`]: after an erasure, so that no file keeps the person's
/// clear text (sled keeps replaced values in its segment files until it
/// reclaims them).
///
/// # Errors
/// A sled or file failure: the current database stays current.
pub fn rebuild_fresh(
    data: &Path,
    events: &[Envelope],
    today: NaiveDate,
) -> Result<(Generation, ProjectionDb, std::path::PathBuf), ReplayError> {
    let (fresh, dir) = ProjectionDb::open_fresh(data)?;
    let g = fresh.rebuild(events, today, &mut |_| {})?;
    Ok((g, fresh, dir))
}

/// Whether `input` holds an erasure of personal data after position `since`
/// (the position the current rows cover).
pub fn erases_after(input: &Input, since: u64) -> bool {
    let events = match input {
        Input::Log(events) => events,
        Input::Tail { tail, .. } => tail,
    };
    events
        .iter()
        .any(|e| e.position > since && matches!(e.event, Event::PersonalDataErased(_)))
}

/// What a step of the follower folds, read from the store: the whole log
/// (a rebuild, or a tail that touches every row), or the tail after the
/// checkpoint with the streams of the ids it touches.
pub enum Input {
    /// Every stored event, in position order.
    Log(Vec<Envelope>),
    /// The events after the checkpoint, and every event up to the tail's last
    /// of the streams `catch_up_streams` picks for them.
    Tail {
        /// The events after the checkpoint.
        tail: Vec<Envelope>,
        /// The streams of the touched ids.
        slice: Vec<Envelope>,
    },
}

/// The generation the next step on `today` catches up (see [`step`]), which
/// reads only the tail and the slices it touches; `None` when it rebuilds.
///
/// # Errors
/// A sled failure.
pub fn caught_up_generation(
    db: &ProjectionDb,
    today: NaiveDate,
) -> Result<Option<Generation>, ReplayError> {
    match db.current()? {
        Some(g) if g.at == today && db.indexed(g.number)? => Ok(Some(g)),
        _ => Ok(None),
    }
}

/// Brings the projections to the head on `today`: a catch-up of the events
/// after the checkpoint when the current generation is of `today` and has the
/// list indexes ([`caught_up_generation`] says which), else a rebuild on `today` from the
/// whole log.
///
/// Decision: "today" rolls forward by a rebuild on the new date, swapped in
/// atomically, rather than by recomputing rows in place: every row's view
/// depends on the date (what became due, which bans started or ended), so a
/// roll rewrites every row anyway, and a rebuild does it on every core into a
/// generation readers see only when complete. A generation of another date
/// (the service was down over midnight, or `rebuild --at` chose one) or built
/// before the list indexes is rebuilt likewise.
///
/// # Errors
/// A sled failure, a view that cannot be computed, a tail given for a rebuild.
pub fn step(db: &ProjectionDb, input: &Input, today: NaiveDate) -> Result<Generation, ReplayError> {
    match (caught_up_generation(db, today)?, input) {
        (Some(_), Input::Log(events)) => db.catch_up(events, &mut |_| {}),
        (Some(_), Input::Tail { tail, slice }) => db.catch_up_slice(tail, slice, &mut |_| {}),
        (None, Input::Log(events)) => db.rebuild(events, today, &mut |_| {}),
        (None, Input::Tail { .. }) => Err(ReplayError::NotBuilt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use navigo_events_schema::views::ContractStateView;
    use navigo_replay::materialize::check;
    use navigo_rules::calendar::paris_date;

    /// The log of the year scenario's first contract, billed through
    /// February 2027 (the core harness's scenario).
    fn log() -> (Vec<Envelope>, uuid::Uuid) {
        let s = navigo_testkit::agency_contract_billed_through(navigo_testkit::d(2027, 2, 1));
        let mut events: Vec<Envelope> = s.world.history.values().flatten().cloned().collect();
        events.sort_by_key(|e| e.position);
        (events, navigo_testkit::cid(1))
    }

    #[test]
    fn serve_projector_rolls_today_forward_at_midnight_paris_and_catches_up_between() {
        let (events, contract) = log();
        let dir = std::env::temp_dir().join(format!("navigo-projector-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = ProjectionDb::open(&dir).expect("open");
        // Given the projections kept on 2027-02-14 with part of the log
        let day = navigo_testkit::d(2027, 2, 14);
        let cut = events.len() - 2;
        let g = step(&db, &Input::Log(events[..cut].to_vec()), day).expect("first step");
        assert_eq!((g.at, g.checkpoint), (day, events[cut - 1].position));
        // When more is appended the same day, then the same generation catches up
        let g2 = step(&db, &Input::Log(events.clone()), day).expect("catch up");
        assert_eq!(g2.number, g.number);
        assert_eq!(g2.checkpoint, events[events.len() - 1].position);
        assert!(check(&db, &events).expect("check").consistent());
        // When the clock passes midnight in Paris (23:00 UTC in winter)
        let before = chrono::DateTime::parse_from_rfc3339("2027-02-14T22:59:59Z")
            .expect("instant")
            .with_timezone(&chrono::Utc);
        assert_eq!(paris_date(before), day);
        let after = before + chrono::Duration::seconds(2);
        let next = paris_date(after);
        assert_eq!(next, navigo_testkit::d(2027, 2, 15));
        // Then the next step reads every row on the new date, as a rebuild on
        // that date does, in a new generation
        let g3 = step(&db, &Input::Log(events.clone()), next).expect("roll");
        assert_eq!(g3.at, next);
        assert!(g3.number > g2.number);
        assert!(check(&db, &events).expect("check").consistent());
        let state: ContractStateView =
            serde_json::from_value(db.get("state", contract).expect("get").expect("row"))
                .expect("state view");
        assert_eq!(state.as_of.at, next);
        let _ = db.close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
