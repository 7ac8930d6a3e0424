//! The lists projection services read, over both transports: which filters
//! each list takes, how a filter's value is read, and one page of the
//! materialized projections' index behind it (`navigo_replay::materialize::index`).
//! Every list is one table row here; the index does the rest.

use std::ops::Bound;

use chrono::NaiveDate;
use navigo_events_schema::types::{ClientNumber, ProductKey};
use navigo_events_schema::views::{ListItem, ListPage};
use navigo_events_schema::Money;
use navigo_replay::materialize::index::{
    self, PageRequest, Term, TermRange, LIST_PAGE_ROWS_DEFAULT, LIST_PAGE_ROWS_MAX, STATUS_TAGS,
};
use navigo_replay::materialize::ProjectionDb;
use navigo_replay::ReplayError;
use serde_json::Value;
use uuid::Uuid;

/// Most characters of a name a person list is asked by.
pub const NAME_QUERY_CHARS_MAX: usize = 100;

/// How a filter's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A contract status: `active`, `suspended`, `terminated`, `not_started`.
    Status,
    /// A product key: a zone range such as `1-5`, or `senior`.
    Product,
    /// A contract's or person's id.
    Id,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// An amount in euros, at least zero (`12.50`).
    Amount,
    /// A client number.
    ClientNumber,
    /// The start of a name: family name, then given name (case ignored).
    Name,
}

/// Which entries of the index a filter lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The entries of that value.
    Equal,
    /// The entries of values strictly above it.
    Above,
    /// The entries of values up to it, included.
    UpTo,
    /// Ban windows active on that date: ending after it (the index's range)
    /// and started by then (kept window by window).
    ActiveOn,
    /// The entries of every value that starts with it.
    Prefix,
}

/// A list: its name, the one parameter that filters it, the index it reads
/// and how. Decision: one filter per list (contracts by status and
/// contracts by payer are two lists), so that every list is one range of
/// one index and its document states exactly which parameters it takes.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    /// The name (`/v1/lists/{name}`, `navigo-ledger list NAME`).
    pub name: &'static str,
    /// The filtering parameter (`status=active`). Without it, the list is
    /// read whole, in the order of its index (every contract by status, every
    /// debit by date), except `bans-active`, read on the projections' date.
    pub param: &'static str,
    /// The index read ([`index::INDEXES`]).
    pub index: &'static str,
    /// Its path in the service (`/v1/lists/<name>`).
    pub path: &'static str,
    /// How its value is read.
    pub value: ValueKind,
    /// Which entries it lists.
    pub mode: Mode,
    /// What it lists, for the document and `--help`.
    pub summary: &'static str,
}

/// Every list.
pub const LISTS: [ListSpec; 11] = [
    ListSpec {
        name: "contracts-by-status",
        path: "/v1/lists/contracts-by-status",
        param: "status",
        index: "contracts_by_status",
        value: ValueKind::Status,
        mode: Mode::Equal,
        summary: "Contracts of a status on today's date; each entry is the status.",
    },
    ListSpec {
        name: "contracts-by-product",
        path: "/v1/lists/contracts-by-product",
        param: "product",
        index: "contracts_by_product",
        value: ValueKind::Product,
        mode: Mode::Equal,
        summary: "Contracts of a product (a zone range such as 1-5, or senior); each entry is the status.",
    },
    ListSpec {
        name: "contracts-by-payer",
        path: "/v1/lists/contracts-by-payer",
        param: "payer",
        index: "contracts_by_payer",
        value: ValueKind::Id,
        mode: Mode::Equal,
        summary: "Contracts a person pays; each entry is the status.",
    },
    ListSpec {
        name: "contracts-by-holder",
        path: "/v1/lists/contracts-by-holder",
        param: "holder",
        index: "contracts_by_holder",
        value: ValueKind::Id,
        mode: Mode::Equal,
        summary: "Contracts a person holds; each entry is the status.",
    },
    ListSpec {
        name: "contracts-in-debt",
        path: "/v1/lists/contracts-in-debt",
        param: "debt_above",
        index: "contracts_by_debt",
        value: ValueKind::Amount,
        mode: Mode::Above,
        summary: "Contracts whose debt is above an amount (any debt without it), by debt; each entry is the balance totals.",
    },
    ListSpec {
        name: "contracts-by-next-debit",
        path: "/v1/lists/contracts-by-next-debit",
        param: "date",
        index: "contracts_by_next_debit",
        value: ValueKind::Date,
        mode: Mode::Equal,
        summary: "Contracts whose next scheduled debit is on a date; each entry is that calendar row.",
    },
    ListSpec {
        name: "debits",
        path: "/v1/lists/debits",
        param: "date",
        index: "debits_by_date",
        value: ValueKind::Date,
        mode: Mode::Equal,
        summary: "The debit calendar of a collection date: every contract with a debit that day; each entry is its calendar rows of that date.",
    },
    ListSpec {
        name: "bans-active",
        path: "/v1/lists/bans-active",
        param: "on",
        index: "bans_by_end",
        value: ValueKind::Date,
        mode: Mode::ActiveOn,
        summary: "Persons with a ban window active on a date; each entry is those windows.",
    },
    ListSpec {
        name: "refunds-due",
        path: "/v1/lists/refunds-due",
        param: "due_by",
        index: "refunds_due_by",
        value: ValueKind::Date,
        mode: Mode::UpTo,
        summary: "Persons with refunds not paid, by the day they are due by (up to due_by if given); each entry is those refunds.",
    },
    ListSpec {
        name: "persons-by-client-number",
        path: "/v1/lists/persons-by-client-number",
        param: "client_number",
        index: "persons_by_client_number",
        value: ValueKind::ClientNumber,
        mode: Mode::Equal,
        summary: "The person of a client number; each entry is who they are (client number, names).",
    },
    ListSpec {
        name: "persons-by-name",
        path: "/v1/lists/persons-by-name",
        param: "name",
        index: "persons_by_name",
        value: ValueKind::Name,
        mode: Mode::Prefix,
        summary: "Persons whose family name, a space and given name start with `name` (case ignored), by name; each entry is who they are.",
    },
];

/// The list of that name.
pub fn list(name: &str) -> Option<&'static ListSpec> {
    LISTS.iter().find(|l| l.name == name)
}

/// Why a list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// A parameter that is unknown, missing or malformed, by name.
    #[error("{field}: {message}")]
    Bad {
        /// The parameter.
        field: String,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// The materialized projections cannot answer (not built, not indexed,
    /// a storage failure).
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

fn bad(field: &str, message: impl Into<String>) -> ListError {
    ListError::Bad {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The term of a filter's value. A refusal names the parameter and what it
/// accepts, never the value given: a search by a person's name or birth date
/// in the wrong parameter must not put them in an error (and so in a log).
pub(crate) fn term(f: &ListSpec, s: &str) -> Result<Term, ListError> {
    let s = s.trim();
    match f.value {
        ValueKind::Status if STATUS_TAGS.contains(&s) => Ok(Term::Text(s.to_owned())),
        ValueKind::Status => Err(bad(
            f.param,
            format!("not a status; one of {}", STATUS_TAGS.join(", ")),
        )),
        ValueKind::Product => s
            .parse::<ProductKey>()
            .map(|k| Term::Text(k.to_string()))
            .map_err(|_| bad(f.param, "a zone range such as 1-5, or senior")),
        ValueKind::Id => s
            .parse::<Uuid>()
            .map(Term::Id)
            .map_err(|e| bad(f.param, format!("not a UUID: {e}"))),
        ValueKind::Date => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Term::Date)
            .map_err(|e| bad(f.param, format!("not a date YYYY-MM-DD: {e}"))),
        ValueKind::ClientNumber => s
            .parse::<ClientNumber>()
            .map(|c| Term::Text(c.to_string()))
            .map_err(|_| bad(f.param, "a client number")),
        ValueKind::Name if s.is_empty() || s.chars().count() > NAME_QUERY_CHARS_MAX => Err(bad(
            f.param,
            format!("1 to name_query_chars_max ({NAME_QUERY_CHARS_MAX}) characters"),
        )),
        ValueKind::Name => Ok(Term::Text(s.to_lowercase())),
        ValueKind::Amount => match s.parse::<Money>() {
            Ok(m) if !m.is_negative() => Ok(Term::money(m)),
            Ok(_) => Err(bad(f.param, "an amount of at least 0.00")),
            Err(_) => Err(bad(f.param, "an amount such as 12.50")),
        },
    }
}

pub(crate) fn range(mode: Mode, t: Term) -> TermRange {
    match (mode, t) {
        (Mode::Prefix, Term::Text(p)) => TermRange::prefix(&p),
        (mode, t) => range_of(mode, t),
    }
}

fn range_of(mode: Mode, t: Term) -> TermRange {
    match mode {
        Mode::Equal | Mode::Prefix => TermRange::eq(t),
        Mode::Above | Mode::ActiveOn => TermRange {
            lo: Bound::Excluded(t),
            hi: Bound::Unbounded,
        },
        Mode::UpTo => TermRange {
            lo: Bound::Unbounded,
            hi: Bound::Included(t),
        },
    }
}

/// The windows of a `bans` entry (those ending after the date, the index's
/// range) that started by `on`; `None` when none did.
fn started_by(on: NaiveDate) -> impl Fn(&Value) -> Option<Value> {
    let on = on.format("%Y-%m-%d").to_string();
    move |entry| {
        let kept: Vec<Value> = entry
            .as_array()?
            .iter()
            .filter(|w| w.get("start").and_then(Value::as_str) <= Some(on.as_str()))
            .cloned()
            .collect();
        (!kept.is_empty()).then_some(Value::Array(kept))
    }
}

/// A list's page asked by its parameters: its filter (absent for a list
/// read whole), `limit`, `after`.
pub struct Asked {
    spec: &'static ListSpec,
    value: Option<String>,
    limit: usize,
    after: Option<Vec<u8>>,
}

/// Reads a list's parameters.
///
/// # Errors
/// [`ListError::Bad`] naming the parameter: unknown, given twice, a
/// malformed filter value, a limit out of 1 to [`LIST_PAGE_ROWS_MAX`], a
/// cursor that is not hexadecimal.
pub fn ask(spec: &'static ListSpec, params: &[(String, String)]) -> Result<Asked, ListError> {
    let mut asked = Asked {
        spec,
        value: None,
        limit: LIST_PAGE_ROWS_DEFAULT,
        after: None,
    };
    for (k, v) in params {
        if params.iter().filter(|(o, _)| o == k).count() > 1 {
            return Err(bad(k, "given more than once"));
        }
        match k.as_str() {
            "limit" => {
                asked.limit = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=LIST_PAGE_ROWS_MAX).contains(n))
                    .ok_or_else(|| {
                        bad(
                            "limit",
                            format!("{v:?}: 1 to list_page_rows_max ({LIST_PAGE_ROWS_MAX})"),
                        )
                    })?;
            }
            "after" => {
                asked.after = Some(
                    hex::decode(v.trim())
                        .ok()
                        .filter(|k| !k.is_empty())
                        .ok_or_else(|| {
                            bad("after", "not a cursor: send back the `next` of a page")
                        })?,
                );
            }
            p if p == spec.param => {
                // Read now, so that a malformed value is refused before the
                // page waits for anything.
                term(spec, v)?;
                asked.value = Some(v.clone());
            }
            _ => {
                return Err(bad(
                    k,
                    format!(
                        "unknown parameter of list {}; use {}, limit, after",
                        spec.name, spec.param
                    ),
                ))
            }
        }
    }
    Ok(asked)
}

/// One page of a list.
///
/// # Errors
/// [`ListError::Bad`] for a malformed filter value; [`ListError::Replay`]
/// for a cursor of another list ([`ReplayError::Cursor`]) or when the
/// projections cannot answer.
pub fn page(db: &ProjectionDb, asked: &Asked) -> Result<ListPage, ListError> {
    let spec = asked.spec;
    let value = match (&asked.value, spec.mode) {
        (Some(v), _) => Some(v.trim().to_owned()),
        // Bans active on the date the rows are read on.
        (None, Mode::ActiveOn) => db.current()?.map(|g| g.at.format("%Y-%m-%d").to_string()),
        (None, _) => None,
    };
    let (range, filter_text, active_on) = match &value {
        Some(v) => {
            let t = term(spec, v)?;
            let on = match (&t, spec.mode) {
                (Term::Date(d), Mode::ActiveOn) => Some(*d),
                _ => None,
            };
            (range(spec.mode, t), format!("{}={v}", spec.param), on)
        }
        None => (
            TermRange {
                lo: Bound::Unbounded,
                hi: Bound::Unbounded,
            },
            String::new(),
            None,
        ),
    };
    let def = spec.index;
    let index = index::index(def).ok_or_else(|| bad("list", format!("no index {def}")))?;
    let keep = active_on.map(started_by);
    let req = PageRequest {
        index,
        range,
        after: asked.after.clone(),
        limit: asked.limit,
        filter: keep.as_ref().map(|f| f as index::EntryFilter<'_>),
    };
    let p = db.page(&req)?;
    Ok(ListPage {
        list: asked.spec.name.to_owned(),
        filter: filter_text,
        at: p.generation.at,
        position: p.generation.checkpoint,
        items: p
            .items
            .into_iter()
            .map(|i| ListItem {
                id: i.id,
                entry: i.entry,
            })
            .collect(),
        next: p.next.map(hex::encode),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_specs_name_their_path_and_an_index_and_each_once() {
        for (i, l) in LISTS.iter().enumerate() {
            assert_eq!(l.path, format!("/v1/lists/{}", l.name));
            assert!(index::index(l.index).is_some(), "{}", l.index);
            assert!(LISTS[..i].iter().all(|o| o.name != l.name));
        }
    }
}
