//! The administrative work both transports run on the materialized
//! projections, answered as views: the command line runs it on the store it
//! opens, the service off its writer's lock while it keeps serving.

use std::time::Duration;

use navigo_events_schema::views::{
    ProjectionCheck, ProjectionHashes, ProjectionMismatch, RebuildSummary,
};
use navigo_replay::materialize::{CheckReport, Generation};

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
