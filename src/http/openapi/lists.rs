//! The document's entries of the materialized projections: one operation per
//! list (`/v1/lists/{list}`, its one filter stated), and the parameters of a
//! view read from its materialized row (`source`, `min_position`).

use serde_json::json;

use super::{ok, r, read_errors, Op, Param};
use crate::app::lists::{ValueKind, LISTS, NAME_QUERY_CHARS_MAX};
use crate::http::routes::lists::PROJECTION_WAIT_MS_MAX;
use navigo_replay::materialize::index::{LIST_PAGE_ROWS_MAX, STATUS_TAGS};

/// The schema of a list's filter value.
fn value_schema(v: ValueKind) -> serde_json::Value {
    match v {
        ValueKind::Status => json!({"type": "string", "enum": STATUS_TAGS}),
        ValueKind::Product => r("ProductKey"),
        ValueKind::Id => json!({"type": "string", "format": "uuid"}),
        ValueKind::Date => json!({"type": "string", "format": "date"}),
        ValueKind::Amount => json!({"type": "string", "pattern": "^[0-9]{1,12}(\\.[0-9]{1,2})?$"}),
        ValueKind::ClientNumber => r("ClientNumber"),
        ValueKind::Name => {
            json!({"type": "string", "minLength": 1, "maxLength": NAME_QUERY_CHARS_MAX, "pattern": "\\S"})
        }
    }
}

fn min_position() -> Param {
    (
        "min_position",
        "query",
        json!({"type": "integer", "format": "int64", "minimum": 0}),
        "Wait (at most PROJECTION_WAIT_MS_MAX ms) until the materialized rows cover this log position, e.g. the last one a command appended; the answer says the position they cover.",
    )
}

/// The parameters of a one-id view read from its materialized row.
pub fn materialized_params() -> Vec<Param> {
    vec![
        (
            "source",
            "query",
            json!({"type": "string", "enum": ["computed", "materialized"]}),
            "computed (default): the view computed as of `at` / `known_at`; materialized: the row the service keeps current, read on today's date as known now (then `at` and `known_at` are refused), with the headers navigo-projection-position (the log position its rows cover) and navigo-projection-at (their date).",
        ),
        min_position(),
    ]
}

/// The answers a view read from its materialized row adds.
pub fn materialized_responses() -> Vec<(u16, &'static str, Option<serde_json::Value>)> {
    vec![
        (
            409,
            "source=materialized while the service builds its projections",
            Some(r("Error")),
        ),
        (
            422,
            "source=materialized with at, known_at or horizon (an as-of computation)",
            Some(r("Error")),
        ),
    ]
}

/// One operation per list.
pub fn ops() -> Vec<Op> {
    let _ = PROJECTION_WAIT_MS_MAX;
    LISTS
        .iter()
        .map(|l| {
            let mut responses = vec![ok(r("ListPage"))];
            responses.extend(read_errors(false));
            responses.push((409, "the materialized projections are being built", Some(r("Error"))));
            responses.push((422, "a cursor of another list (`after`)", Some(r("Error"))));
            Op {
                method: "get",
                path: l.path,
                roles: "agent, auditor, system",
                summary: l.summary,
                params: vec![
                    (l.param, "query", value_schema(l.value), "The filter; without it, the whole list in its order (bans-active: on the projections' date)."),
                    ("limit", "query", json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": LIST_PAGE_ROWS_MAX}), "Entries in the page (100 by default; at most list_page_rows_max)."),
                    ("after", "query", json!({"type": "string", "pattern": "^([0-9a-f]{2})+$"}), "The `next` of the page before."),
                    min_position(),
                ],
                body: None,
                responses,
            }
        })
        .collect()
}
