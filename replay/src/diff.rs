//! Dispute diff: what changed in a contract's or person's views between two
//! `known_at` instants or two `at` dates, and which events caused each change.
//!
//! Attribution re-folds the later view without each event that lies between the
//! two views (recorded between the two `known_at`, or effective between the two
//! `at`): an event causes a change when removing it changes the value of that
//! field in the later view.
//!
//! The views and the re-folds read the id's slice of the log
//! ([`navigo_projections::slice`]: the streams its views read), not the whole
//! log: a re-fold costs the id's history, so a diff on a ledger of ten thousand
//! contracts takes the time of one fold of the log, not of one per candidate.
//! [`diff_whole_log`] over the whole log is the reference the slice is checked against
//! (`tests/replay.rs`).

use std::collections::{BTreeMap, BTreeSet};

use navigo_events_schema::{Envelope, Event, StreamId};
use navigo_projections::{
    balance, bans, calendar, fold_states, refunds, slice, state, Folded, Query,
};
use navigo_rules::policy::Policy;
use serde_json::Value;
use uuid::Uuid;

use crate::audit::trail_streams;
use crate::rules::rule_ids;
use crate::ReplayError;

/// Candidate events examined per diff: bounds the re-folds (each is one fold of
/// the id's slice).
pub const DIFF_CANDIDATES_MAX: usize = 200;

/// The views of a contract (state, balance, calendar) or a person (bans,
/// refunds) for `q`, as JSON.
///
/// # Errors
/// Unknown id.
pub fn views(
    events: &[Envelope],
    id: Uuid,
    q: &Query,
) -> Result<BTreeMap<&'static str, Value>, ReplayError> {
    let input = Folded::new(events, q);
    let mut out = BTreeMap::new();
    if input.known().contract(id).is_some() {
        out.insert(
            "state",
            serde_json::to_value(state::contract_state(&input, id)?)?,
        );
        out.insert(
            "balance",
            serde_json::to_value(balance::contract_balance(&input, id)?)?,
        );
        let cal = calendar::calendar(&input, id, &Policy::default(), None)?;
        out.insert("calendar", serde_json::to_value(cal)?);
    } else {
        out.insert(
            "bans",
            serde_json::to_value(bans::person_bans(&input, id)?)?,
        );
        out.insert(
            "refunds",
            serde_json::to_value(refunds::person_refunds(&input, id)?)?,
        );
    }
    // The echo of the parameters differs by construction: not a change.
    for v in out.values_mut() {
        if let Value::Object(m) = v {
            m.remove("as_of");
        }
    }
    Ok(out)
}

/// Flattens a JSON value into `path -> leaf`.
pub fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                flatten(&format!("{prefix}.{k}"), x, out);
            }
        }
        Value::Array(a) => {
            // Rows with a month (calendar, balance months) are keyed by it, so
            // that a row added or removed does not shift every later row.
            for (i, x) in a.iter().enumerate() {
                match x.get("month").and_then(Value::as_str) {
                    Some(m) if x.get("kind").is_none() => {
                        flatten(&format!("{prefix}[{m}]"), x, out)
                    }
                    _ => flatten(&format!("{prefix}[{i}]"), x, out),
                }
            }
        }
        leaf => {
            out.insert(prefix.to_string(), leaf.clone());
        }
    }
}

fn flat(views: &BTreeMap<&'static str, Value>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (k, v) in views {
        flatten(k, v, &mut out);
    }
    out
}

/// One changed field.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The field (`balance.totals.balance`, `calendar.rows[3].amount`...).
    pub path: String,
    /// Its value in the first view (`None`: absent).
    pub before: Option<Value>,
    /// Its value in the second view.
    pub after: Option<Value>,
    /// Positions of the events that caused it.
    pub caused_by: Vec<u64>,
}

/// An event between the two views, with what explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// The envelope.
    pub envelope: Envelope,
    /// Its rule ids.
    pub rules: Vec<String>,
    /// A one-line explanation from its payload (debit lines, refund reason,
    /// request instant).
    pub explanation: String,
}

/// The result of a diff.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// The changed fields.
    pub changes: Vec<Change>,
    /// The events between the two views that concern the id.
    pub causes: Vec<Cause>,
}

/// A one-line explanation of an event from its payload: the cutoff story of a
/// debit (`PAY-CUTOFF`) is told by its lines, its due and the refund it led to.
pub fn explain(e: &Envelope) -> String {
    let head = format!(
        "#{} {} recorded {} effective {}",
        e.position,
        e.event.type_name(),
        e.recorded_at.to_rfc3339(),
        e.effective_date
    );
    let tail = match &e.event {
        Event::DebitPresented(d) => {
            let lines: Vec<String> = d
                .lines
                .iter()
                .map(|l| format!("{} {} for {}", l.kind, l.amount, l.month))
                .collect();
            format!(
                ": month {} amount {} due {} [{}]{}",
                d.month,
                d.amount,
                d.due,
                lines.join(", "),
                if d.amount > d.due {
                    " — taken but not owed: prepared before the cutoff (PAY-CUTOFF), refunded"
                } else {
                    ""
                }
            )
        }
        Event::RefundDue(r) => format!(": {} {} due by {}", r.amount, r.reason, r.due_by),
        Event::ContractSuspended(_) | Event::ContractResumed(_) | Event::ContractTerminated(_) => {
            format!(": requested at {}", e.recorded_at.to_rfc3339())
        }
        Event::EventAnnulled(a) => {
            format!(": annuls #{} ({})", a.annulled_position, a.reason_text())
        }
        _ => String::new(),
    };
    format!("{head}{tail}")
}

/// Diffs the views of `id` between `a` and `b` (same `at` and two `known_at`, or
/// same `known_at` and two `at`), reading the id's slice of `events` (the whole
/// log in position order): the streams its views read as the whole log knows
/// them ([`slice::contract_streams`], [`slice::person_streams`]). A superset of
/// what an earlier view reads is harmless: the queries filter the slice as they
/// filter the log.
///
/// # Errors
/// Unknown id in both views.
pub fn diff(events: &[Envelope], id: Uuid, a: &Query, b: &Query) -> Result<Diff, ReplayError> {
    // Unknown to the whole log: the whole log's views say so.
    let part = slice::of_log(events, |w| {
        slice::contract_streams(w, id).or_else(|| slice::person_streams(w, id))
    });
    diff_whole_log(part.as_deref().unwrap_or(events), id, a, b)
}

/// The streams whose events between the two views are candidate causes, as
/// the audit trail shows them: the contract's (or the person's and those of every
/// contract they hold or pay: an unpaid termination opens a ban) and the
/// catalogue.
fn candidate_streams(events: &[Envelope], id: Uuid) -> BTreeSet<StreamId> {
    let world = fold_states(&events.iter().collect::<Vec<_>>());
    let mut out = trail_streams(&world, id).unwrap_or_default();
    out.insert(StreamId::catalogue());
    out
}

/// [`diff`] reading `events` as the whole world: every view and every re-fold
/// folds all of them. The reference the tests hold [`diff`] to, and what it
/// computes on the slice it picks.
///
/// # Errors
/// Unknown id in both views.
pub fn diff_whole_log(
    events: &[Envelope],
    id: Uuid,
    a: &Query,
    b: &Query,
) -> Result<Diff, ReplayError> {
    let va = flat(&views(events, id, a).or_else(|_| {
        views(events, id, b).map(|v| v.into_keys().map(|k| (k, Value::Null)).collect())
    })?);
    let vb = flat(&views(events, id, b)?);
    // The events between the two views, of the id's streams (or reference data).
    // `None` (everything recorded) is the latest `known_at`.
    let ka = a
        .known_at
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let kb = b
        .known_at
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let between = |e: &Envelope| -> bool {
        if ka != kb {
            e.recorded_at > ka.min(kb) && e.recorded_at <= ka.max(kb)
        } else {
            e.effective_date > a.at.min(b.at) && e.effective_date <= a.at.max(b.at)
        }
    };
    let streams = candidate_streams(events, id);
    let ours = |e: &Envelope| streams.contains(&e.stream);
    let candidates: Vec<&Envelope> = events
        .iter()
        .filter(|e| ours(e) && between(e))
        .take(DIFF_CANDIDATES_MAX)
        .collect();
    let later = if (kb, b.at) >= (ka, a.at) { b } else { a };
    let v_later = if std::ptr::eq(later, b) { &vb } else { &va };
    let mut changes: Vec<Change> = Vec::new();
    for k in va.keys().chain(vb.keys()) {
        if va.get(k) != vb.get(k) && !changes.iter().any(|c| &c.path == k) {
            changes.push(Change {
                path: k.clone(),
                before: va.get(k).cloned(),
                after: vb.get(k).cloned(),
                caused_by: Vec::new(),
            });
        }
    }
    if !changes.is_empty() {
        for c in &candidates {
            let without: Vec<Envelope> = events
                .iter()
                .filter(|e| e.position != c.position)
                .cloned()
                .collect();
            let Ok(v) = views(&without, id, later) else {
                continue;
            };
            let v = flat(&v);
            for ch in changes.iter_mut() {
                if v.get(&ch.path) != v_later.get(&ch.path) {
                    ch.caused_by.push(c.position);
                }
            }
        }
    }
    // A change no single event explains may be their joint effect (a resumption
    // without its suspension folds to the same calendar): re-fold without all of
    // them and attribute it to all when that reverts it.
    if changes.iter().any(|c| c.caused_by.is_empty()) && !candidates.is_empty() {
        let without: Vec<Envelope> = events
            .iter()
            .filter(|e| !candidates.iter().any(|c| c.position == e.position))
            .cloned()
            .collect();
        if let Ok(v) = views(&without, id, later) {
            let v = flat(&v);
            for ch in changes.iter_mut().filter(|c| c.caused_by.is_empty()) {
                if v.get(&ch.path) != v_later.get(&ch.path) {
                    ch.caused_by = candidates.iter().map(|c| c.position).collect();
                }
            }
        }
    }
    Ok(Diff {
        changes,
        causes: candidates
            .into_iter()
            .map(|e| Cause {
                envelope: e.clone(),
                rules: rule_ids(&e.event)
                    .iter()
                    .map(|r| r.as_str().to_string())
                    .collect(),
                explanation: explain(e),
            })
            .collect(),
    })
}
