//! Secondary indexes of the materialized rows, one generic mechanism for every
//! list a projection service asks for.
//!
//! An index ([`IndexDef`]) reads the rows of one projection kind and gives, for
//! each row, zero or more *terms* (a status, a payer, a date, an amount), each
//! with a small *entry*: the part of the view a list shows (a calendar's rows of
//! that date, the windows of a ban ending then). Its tree, `ix.<name>.g<n>`,
//! holds `term ‖ id → entry JSON`, written in the same atomic batch
//! (rebuild) or transaction (catch-up) as the rows, so that rows, entries and
//! checkpoint never disagree. A list reads one range of one tree from a cursor:
//! the key of the last entry given, so a page costs its own rows, never a scan
//! of everything, and a cursor survives appends (it names a place in the order,
//! not an offset).
//!
//! Terms are encoded so that byte order is the order of their values and no
//! term is a prefix of another ([`Term::encode`]): each key is the encoded term
//! followed by the 16 bytes of the row's id.

use std::ops::Bound;

use chrono::NaiveDate;
use navigo_events_schema::views::{
    BanWindowView, CalendarRow, ContractBalance, ContractStateView, DebitCalendar, DebitStatus,
    PersonBans, PersonRefunds, PersonSummary, RefundStatus, RefundView, StatusView,
};
use navigo_events_schema::Money;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;
use uuid::Uuid;

use super::codec::{decode_row, encode_row, layout};
use crate::ReplayError;

/// Most entries one page of a list gives.
pub const LIST_PAGE_ROWS_MAX: usize = 500;
/// Entries of a page when the reader does not say.
pub const LIST_PAGE_ROWS_DEFAULT: usize = 100;
/// Most index entries one page may examine when a list filters entries beyond
/// its range (bans active on a date: the windows ending after it, of which
/// those started by then are given). A page that reaches it ends early with a
/// cursor, so that a request never walks an unbounded part of the index.
pub const LIST_SCAN_ENTRIES_MAX: usize = 10 * LIST_PAGE_ROWS_MAX;

/// A value a row is indexed by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Term {
    /// A word: a status, a product key.
    Text(String),
    /// A contract or person.
    Id(Uuid),
    /// A civil date.
    Date(NaiveDate),
    /// An amount, in whole cents.
    Cents(i64),
}

impl Term {
    /// An amount as a term (its whole cents; an amount beyond `i64` cents,
    /// far above any debt, saturates).
    pub fn money(m: Money) -> Term {
        let cents = (m.value() * rust_decimal::Decimal::ONE_HUNDRED).trunc();
        Term::Cents(cents.to_i64().unwrap_or(if cents.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        }))
    }

    /// The encoded term: its bytes in value order, with every `0x00` written
    /// `0x00 0xFF`, then the terminator `0x00 0x00` (the tuple encoding of
    /// ordered key-value stores). Byte order is value order within one kind of
    /// term, and no encoded term is a prefix of another, so the keys of one
    /// term are exactly the range between [`Term::encode`] followed by sixteen
    /// `0x00` and sixteen `0xFF`.
    pub fn encode(&self) -> Vec<u8> {
        let raw: Vec<u8> = match self {
            Term::Text(s) => s.as_bytes().to_vec(),
            Term::Id(id) => id.as_bytes().to_vec(),
            // `YYYY-MM-DD` sorts as dates do (years 0 to 9999, which is every
            // date a view holds).
            Term::Date(d) => d.format("%Y-%m-%d").to_string().into_bytes(),
            // The sign bit flipped: negative amounts sort first.
            Term::Cents(c) => (u64::from_be_bytes(c.to_be_bytes()) ^ (1 << 63))
                .to_be_bytes()
                .to_vec(),
        };
        let mut out = Vec::with_capacity(raw.len() + 2);
        for b in raw {
            out.push(b);
            if b == 0 {
                out.push(0xFF);
            }
        }
        out.extend([0, 0]);
        out
    }
}

/// The key of one entry: the encoded term, then the row's id.
pub fn entry_key(term: &Term, id: Uuid) -> Vec<u8> {
    let mut k = term.encode();
    k.extend_from_slice(id.as_bytes());
    k
}

/// The row id of an entry key (its last 16 bytes).
///
/// # Errors
/// [`ReplayError::Corrupt`] for a key shorter than an id and a terminator.
pub fn key_id(tree: &str, key: &[u8]) -> Result<Uuid, ReplayError> {
    key.len()
        .checked_sub(16)
        .filter(|n| *n >= 2)
        .and_then(|n| Uuid::from_slice(&key[n..]).ok())
        .ok_or_else(|| ReplayError::Corrupt {
            tree: tree.into(),
            why: format!("index key {} is not a term and an id", hex::encode(key)),
        })
}

/// The entries of one row: (term, entry JSON).
pub type Entries = Vec<(Term, Value)>;

/// One secondary index of the materialized rows.
pub struct IndexDef {
    /// Its name (its trees are `ix.<name>.g<n>`).
    pub name: &'static str,
    /// The projection kind whose rows it reads (one of the materialized
    /// kinds: `state`, `balance`, `calendar`, `bans`, `refunds`).
    pub kind: &'static str,
    /// The entries of one row, from the row's JSON.
    pub entries: fn(&[u8]) -> Result<Entries, ReplayError>,
}

/// Every index, in tree order. Adding one here is all it takes: a rebuild
/// fills it, the catch-up maintains it, the projections' check compares it
/// with a scan of the rows.
pub const INDEXES: [IndexDef; 11] = [
    IndexDef {
        name: "contracts_by_status",
        kind: "state",
        entries: by_status,
    },
    IndexDef {
        name: "contracts_by_product",
        kind: "state",
        entries: by_product,
    },
    IndexDef {
        name: "contracts_by_payer",
        kind: "state",
        entries: by_payer,
    },
    IndexDef {
        name: "contracts_by_holder",
        kind: "state",
        entries: by_holder,
    },
    IndexDef {
        name: "contracts_by_debt",
        kind: "balance",
        entries: by_debt,
    },
    IndexDef {
        name: "contracts_by_next_debit",
        kind: "calendar",
        entries: by_next_debit,
    },
    IndexDef {
        name: "debits_by_date",
        kind: "calendar",
        entries: debits_by_date,
    },
    IndexDef {
        name: "bans_by_end",
        kind: "bans",
        entries: bans_by_end,
    },
    IndexDef {
        name: "refunds_due_by",
        kind: "refunds",
        entries: refunds_due_by,
    },
    IndexDef {
        name: "persons_by_client_number",
        kind: "person",
        entries: by_client_number,
    },
    IndexDef {
        name: "persons_by_name",
        kind: "person",
        entries: by_name,
    },
];

/// The set of indexes a generation was built with and the layout of its rows
/// and entries ([`super::codec::layout`]), stored beside its date: a generation built
/// with another set or layout (or before indexes) is not listed from, and the
/// service rebuilds it.
pub fn index_set() -> String {
    format!("{};{}", INDEXES.map(|d| d.name).join(","), layout())
}

/// The index of that name.
pub fn index(name: &str) -> Option<&'static IndexDef> {
    INDEXES.iter().find(|d| d.name == name)
}

fn view<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, ReplayError> {
    Ok(serde_json::from_slice(json)?)
}

fn json<T: serde::Serialize>(v: &T) -> Result<Value, ReplayError> {
    Ok(serde_json::to_value(v)?)
}

/// The tag of a status (`active`, `suspended`, `terminated`, `not_started`), as
/// the view writes it.
pub fn status_tag(s: &StatusView) -> &'static str {
    match s {
        StatusView::Active { .. } => "active",
        StatusView::Suspended { .. } => "suspended",
        StatusView::Terminated { .. } => "terminated",
        StatusView::NotStarted { .. } => "not_started",
    }
}

/// Every status tag.
pub const STATUS_TAGS: [&str; 4] = ["active", "suspended", "terminated", "not_started"];

/// What a contract list shows of each contract: its status on the date read.
fn contract_entry(v: &ContractStateView) -> Result<Value, ReplayError> {
    json(&v.status)
}

fn by_status(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: ContractStateView = view(row)?;
    Ok(vec![(
        Term::Text(status_tag(&v.status).into()),
        contract_entry(&v)?,
    )])
}

fn by_product(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: ContractStateView = view(row)?;
    Ok(vec![(
        Term::Text(v.product.key().to_string()),
        contract_entry(&v)?,
    )])
}

fn by_payer(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: ContractStateView = view(row)?;
    Ok(vec![(Term::Id(v.payer), contract_entry(&v)?)])
}

fn by_holder(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: ContractStateView = view(row)?;
    Ok(vec![(Term::Id(v.holder), contract_entry(&v)?)])
}

/// Contracts in debt, by the amount (the totals shown). A contract owing
/// nothing is not in the index: "debt above" an amount is never below zero.
fn by_debt(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: ContractBalance = view(row)?;
    if !v.totals.debt.is_positive() {
        return Ok(Vec::new());
    }
    Ok(vec![(Term::money(v.totals.debt), json(&v.totals)?)])
}

/// Whether a calendar row is a debit taken or to be taken on its date: not a
/// month without a debit (suspended, terminated) nor one carried to a later
/// debit, whose row has the amount.
pub fn is_debit(r: &CalendarRow) -> bool {
    r.debit_date.is_some()
        && !matches!(
            r.status,
            DebitStatus::NoneSuspended | DebitStatus::NoneTerminated | DebitStatus::Carried
        )
}

/// The next debit of a contract: its first row still scheduled on the date
/// read.
fn by_next_debit(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: DebitCalendar = view(row)?;
    let next = v
        .rows
        .iter()
        .filter(|r| is_debit(r) && r.status == DebitStatus::Scheduled)
        .filter_map(|r| Some((r.debit_date?, r)))
        .min_by_key(|(d, _)| *d);
    match next {
        Some((d, r)) => Ok(vec![(Term::Date(d), json(r)?)]),
        None => Ok(Vec::new()),
    }
}

/// Every debit of a contract by its date, the rows of one date together.
fn debits_by_date(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: DebitCalendar = view(row)?;
    let mut by: std::collections::BTreeMap<NaiveDate, Vec<&CalendarRow>> = Default::default();
    for r in v.rows.iter().filter(|r| is_debit(r)) {
        if let Some(d) = r.debit_date {
            by.entry(d).or_default().push(r);
        }
    }
    by.into_iter()
        .map(|(d, rows)| Ok((Term::Date(d), json(&rows)?)))
        .collect()
}

/// A person's ban windows by the day each ends (exclusive, lift included), the
/// windows ending the same day together.
fn bans_by_end(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: PersonBans = view(row)?;
    let mut by: std::collections::BTreeMap<NaiveDate, Vec<&BanWindowView>> = Default::default();
    for w in &v.windows {
        by.entry(w.end).or_default().push(w);
    }
    by.into_iter()
        .map(|(d, ws)| Ok((Term::Date(d), json(&ws)?)))
        .collect()
}

/// A person's refunds not paid on the date read (due or overdue), by the day
/// they are to be paid by.
fn refunds_due_by(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: PersonRefunds = view(row)?;
    let mut by: std::collections::BTreeMap<NaiveDate, Vec<&RefundView>> = Default::default();
    for r in v
        .refunds
        .iter()
        .filter(|r| matches!(r.status, RefundStatus::Due | RefundStatus::Overdue))
    {
        by.entry(r.due_by).or_default().push(r);
    }
    by.into_iter()
        .map(|(d, rs)| Ok((Term::Date(d), json(&rs)?)))
        .collect()
}

/// An index entry as stored: (key, entry JSON).
pub type StoredEntry = (Vec<u8>, Vec<u8>);

fn by_client_number(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: PersonSummary = view(row)?;
    Ok(vec![(Term::Text(v.client_number.to_string()), json(&v)?)])
}

/// The name a person is found by: family name, a space, given name, in lower
/// case. Decision: lower case only (no accent folding: `lefè` finds Lefèvre,
/// `lefe` does not), the comparison Unicode's own lower-casing gives without
/// a collation table.
pub fn name_key(last_name: &str, first_name: &str) -> String {
    format!("{} {}", last_name.trim(), first_name.trim()).to_lowercase()
}

fn by_name(row: &[u8]) -> Result<Entries, ReplayError> {
    let v: PersonSummary = view(row)?;
    Ok(vec![(
        Term::Text(name_key(&v.last_name, &v.first_name)),
        json(&v)?,
    )])
}

/// The keys and entries of `def` for one row, encoded as stored: each entry's
/// JSON compressed as a row is ([`super::codec::encode_row`]).
///
/// # Errors
/// A row that is not the index's view.
pub fn row_entries(def: &IndexDef, id: Uuid, row: &[u8]) -> Result<Vec<StoredEntry>, ReplayError> {
    let mut scratch = Vec::new();
    (def.entries)(row)?
        .into_iter()
        .map(|(t, v)| {
            let json = serde_json::to_vec(&v)?;
            Ok((entry_key(&t, id), encode_row(&json, &mut scratch).to_vec()))
        })
        .collect()
}

/// The keys of `def`'s entries for one row (what a catch-up removes before
/// the row is replaced).
///
/// # Errors
/// A row that is not the index's view.
pub fn row_keys(def: &IndexDef, id: Uuid, row: &[u8]) -> Result<Vec<Vec<u8>>, ReplayError> {
    Ok((def.entries)(row)?
        .iter()
        .map(|(t, _)| entry_key(t, id))
        .collect())
}

/// The entry stored in the index tree `tree` under `key`, decoded.
///
/// # Errors
/// [`ReplayError::Corrupt`] naming the tree and the key for an entry that
/// does not decode ([`super::codec::decode_row`]), a JSON error.
pub fn decode_entry(tree: &str, key: &[u8], stored: &[u8]) -> Result<Value, ReplayError> {
    Ok(serde_json::from_slice(&decode_row(tree, key, stored)?)?)
}

/// The part of an index a list reads: the terms between two bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermRange {
    /// The lowest term.
    pub lo: Bound<Term>,
    /// The highest term.
    pub hi: Bound<Term>,
}

impl TermRange {
    /// One term.
    pub fn eq(t: Term) -> TermRange {
        TermRange {
            lo: Bound::Included(t.clone()),
            hi: Bound::Included(t),
        }
    }

    /// The texts that start with `prefix`. Decision: the upper bound is the
    /// prefix followed by U+10FFFF, a noncharacter (reserved, never
    /// interchanged), above every character a name holds.
    pub fn prefix(prefix: &str) -> TermRange {
        TermRange {
            lo: Bound::Included(Term::Text(prefix.to_owned())),
            hi: Bound::Included(Term::Text(format!("{prefix}\u{10FFFF}"))),
        }
    }

    /// The key bounds of the entries of these terms.
    pub fn key_bounds(&self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let first = |t: &Term| entry_key(t, Uuid::nil());
        let last = |t: &Term| entry_key(t, Uuid::from_bytes([0xFF; 16]));
        let lo = match &self.lo {
            Bound::Included(t) => Bound::Included(first(t)),
            Bound::Excluded(t) => Bound::Excluded(last(t)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let hi = match &self.hi {
            Bound::Included(t) => Bound::Included(last(t)),
            Bound::Excluded(t) => Bound::Excluded(first(t)),
            Bound::Unbounded => Bound::Unbounded,
        };
        (lo, hi)
    }
}

/// Whether `key` lies within the bounds.
pub fn within(key: &[u8], (lo, hi): &(Bound<Vec<u8>>, Bound<Vec<u8>>)) -> bool {
    let above = match lo {
        Bound::Included(l) => key >= l.as_slice(),
        Bound::Excluded(l) => key > l.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(h) => key <= h.as_slice(),
        Bound::Excluded(h) => key < h.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

/// Keeps an entry as a list gives it (`Some`, possibly narrowed), or skips it.
pub type EntryFilter<'f> = &'f dyn Fn(&Value) -> Option<Value>;

/// One page asked of a list.
pub struct PageRequest<'r> {
    /// The index read.
    pub index: &'static IndexDef,
    /// The terms listed.
    pub range: TermRange,
    /// The cursor: the key of the last entry of the previous page.
    pub after: Option<Vec<u8>>,
    /// Entries in the page, 1 to [`LIST_PAGE_ROWS_MAX`].
    pub limit: usize,
    /// Entries kept beyond the range (`None`: every entry of the range).
    pub filter: Option<EntryFilter<'r>>,
}

/// One entry of a page: the row's id and what the index shows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageItem {
    /// The contract or person.
    pub id: Uuid,
    /// The entry.
    pub entry: Value,
}

/// Entries examined and kept by [`scan`].
pub struct Scanned {
    /// The entries kept.
    pub items: Vec<PageItem>,
    /// The key of the last entry examined.
    pub last: Option<Vec<u8>>,
    /// Whether entries remain after it.
    pub more: bool,
}

/// Reads entries of `tree` (named `name`) within `bounds`, until `limit` are
/// kept or [`LIST_SCAN_ENTRIES_MAX`] examined.
///
/// # Errors
/// A sled failure, a corrupt key or entry.
pub fn scan(
    tree: &sled::Tree,
    name: &str,
    bounds: (Bound<Vec<u8>>, Bound<Vec<u8>>),
    limit: usize,
    filter: Option<EntryFilter<'_>>,
) -> Result<Scanned, ReplayError> {
    let mut out = Scanned {
        items: Vec::new(),
        last: None,
        more: false,
    };
    for (examined, item) in tree.range(bounds).enumerate() {
        let (k, v) = item?;
        if out.items.len() == limit || examined == LIST_SCAN_ENTRIES_MAX {
            out.more = true;
            break;
        }
        let entry = decode_entry(name, &k, &v)?;
        let kept = match filter {
            Some(f) => f(&entry),
            None => Some(entry),
        };
        if let Some(entry) = kept {
            out.items.push(PageItem {
                id: key_id(name, &k)?,
                entry,
            });
        }
        out.last = Some(k.to_vec());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn term() -> impl Strategy<Value = Term> {
        prop_oneof![
            "[a-z\\x00\\x01_-]{0,6}".prop_map(Term::Text),
            any::<i64>().prop_map(Term::Cents),
            (0i32..3_000_000).prop_map(|n| Term::Date(
                NaiveDate::from_num_days_from_ce_opt(n % 3_652_059 + 1).unwrap_or_default()
            )),
        ]
    }

    proptest! {
        /// Encoded terms of one kind sort as their values, and no encoded term
        /// is a prefix of another, so a term's keys are one contiguous range.
        #[test]
        fn list_index_term_encoding_keeps_order_and_is_prefix_free(a in term(), b in term()) {
            let (ea, eb) = (a.encode(), b.encode());
            if std::mem::discriminant(&a) == std::mem::discriminant(&b) {
                prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
            }
            if a != b {
                prop_assert!(!ea.starts_with(&eb) && !eb.starts_with(&ea));
            }
            let id = Uuid::from_u128(0x1234);
            let k = entry_key(&a, id);
            prop_assert_eq!(key_id("t", &k).ok(), Some(id));
            prop_assert!(within(&k, &TermRange::eq(a.clone()).key_bounds()));
            if a != b {
                prop_assert!(!within(&k, &TermRange::eq(b).key_bounds()));
            }
        }

        /// A prefix's range holds exactly the texts that start with it.
        #[test]
        fn list_index_prefix_range_holds_exactly_the_texts_starting_with_it(
            p in "[a-zé\\x00 ]{0,3}",
            t in "[a-zé\\x00 ]{0,5}",
        ) {
            let k = entry_key(&Term::Text(t.clone()), Uuid::from_u128(7));
            prop_assert_eq!(within(&k, &TermRange::prefix(&p).key_bounds()), t.starts_with(&p));
        }
    }
}
