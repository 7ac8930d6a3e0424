//! The materialized rows computed without writing them anywhere: what a sink
//! other than this crate's sled database (the PostgreSQL projection tables of
//! the binary) folds. Each row is computed by the very per-id folds a rebuild
//! and a catch-up of [`ProjectionDb`](super::ProjectionDb) write
//! ([`LogIndex`]), so both sinks hold the same views of the same log.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use navigo_events_schema::Envelope;
use navigo_projections::Query;
use navigo_rules::policy::Policy;
use uuid::Uuid;

use super::{decode_row, touched_ids, LogIndex, Rows, UnitRows, KINDS};
use crate::ReplayError;

/// The rows of every contract and person the events `new` touch, each
/// computed on `at` from `events`: the whole log through `new`'s last event
/// when `whole`, else a slice holding the streams of every id `new` touches
/// (as [`ProjectionDb::catch_up_slice`](super::ProjectionDb::catch_up_slice)
/// reads them). With `new` the whole log, these are every row of a rebuild.
///
/// # Errors
/// [`ReplayError::WholeLogNeeded`] when `new` holds a reference event (it
/// touches every row) and `events` is a slice; a view that cannot be computed.
pub fn rows_of_tail(
    new: &[Envelope],
    events: &[Envelope],
    at: NaiveDate,
    whole: bool,
) -> Result<Rows, ReplayError> {
    let ix = LogIndex::new(events);
    let (contracts, persons) = touched_ids(new, &ix, whole)?;
    project(&ix, &contracts, &persons, at)
}

/// The rows of `contracts` and `persons` on `at` from `slice` (every event of
/// [`rebuild_streams`](super::rebuild_streams) of them, in position order),
/// through position `checkpoint`: what
/// [`SlicedRebuild::project`](super::SlicedRebuild::project) writes. An id the
/// slice does not know has no row.
///
/// # Errors
/// A view that cannot be computed.
pub fn rows_of_slice(
    contracts: &[Uuid],
    persons: &[Uuid],
    slice: &[Envelope],
    checkpoint: u64,
    at: NaiveDate,
) -> Result<Rows, ReplayError> {
    let through = slice.partition_point(|e| e.position <= checkpoint);
    let ix = LogIndex::new(slice.get(..through).unwrap_or_default());
    let known = |ids: &[Uuid], of: &[Uuid]| -> Vec<Uuid> {
        ids.iter()
            .filter(|id| of.binary_search(id).is_ok())
            .copied()
            .collect()
    };
    let contracts = known(contracts, &ix.contract_ids);
    let persons = known(persons, &ix.person_ids);
    project(&ix, &contracts, &persons, at)
}

/// The rows of the given known ids, as JSON per kind.
fn project(
    ix: &LogIndex<'_>,
    contracts: &[Uuid],
    persons: &[Uuid],
    at: NaiveDate,
) -> Result<Rows, ReplayError> {
    let (q, policy) = (Query::on(at), Policy::default());
    let mut unit = UnitRows::default();
    for id in contracts {
        ix.contract_rows(*id, &q, &policy, &mut unit)?;
    }
    for id in persons {
        ix.person_rows(*id, &q, &mut unit)?;
    }
    let mut rows: Rows = KINDS.iter().map(|k| (*k, BTreeMap::new())).collect();
    for (kind, id, v) in unit.rows {
        let Some(name) = KINDS.get(kind) else {
            continue;
        };
        let json = decode_row(name, id.as_bytes(), &v)?.into_owned();
        if let Some(r) = rows.get_mut(name) {
            r.insert(id, json);
        }
    }
    Ok(rows)
}
