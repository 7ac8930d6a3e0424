//! The verification of every record and of the chain, as the command line
//! prints it and as the service answers it.

use navigo_events_schema::views::{FirstBad, HeadView, VerifyAnswer, VerifyView};
use navigo_store::Head;
use navigo_store_sled::VerifyReport;

use super::place::Place;

/// Recomputes every hash and the chain of the ledger at `place`, without
/// opening it for writing (a ledger whose head is corrupt is examined too).
///
/// # Errors
/// Not a ledger, or a storage failure (a database named without its
/// password).
pub async fn verify(place: &Place) -> anyhow::Result<VerifyReport> {
    match place.postgres() {
        None => Ok(navigo_store_sled::verify_ledger(place.data())?),
        Some(pg) => navigo_store_postgres::verify_ledger(pg)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", pg.shown())),
    }
}

/// A head as a view: position, hash and recorded-at instant.
pub fn head_view(h: &Head) -> HeadView {
    HeadView {
        position: h.position,
        hash: h.hash,
        recorded_at: h.recorded_at,
    }
}

/// A verification as `navigo-ledger verify --json` prints it.
pub fn verify_view(r: &VerifyReport) -> VerifyView {
    VerifyView {
        ok: r.is_ok(),
        records_checked: r.records_checked,
        streams: r.streams,
        head: head_view(&r.head),
        first_bad: r.first_bad.as_ref().map(|b| FirstBad {
            position: b.position,
            problem: b.problem.to_string(),
        }),
    }
}

/// A verification as `GET /v1/verify` answers it.
///
/// Decision: the service's answer keeps the shape it was published with (the
/// head as two fields, the problem in its debugging form), different from the
/// command line's; making them one view would change one of the two outputs.
pub fn verify_answer(r: &VerifyReport) -> VerifyAnswer {
    VerifyAnswer {
        ok: r.is_ok(),
        records_checked: r.records_checked,
        streams: r.streams,
        head_position: r.head.position,
        head_hash: r.head.hash,
        first_bad: r.first_bad.as_ref().map(|b| FirstBad {
            position: b.position,
            problem: format!("{:?}", b.problem),
        }),
    }
}
