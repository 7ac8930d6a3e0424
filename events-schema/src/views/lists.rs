//! The lists projection services read from the materialized projections
//! (`GET /v1/lists/{list}`, `navigo-ledger list LIST --json`): one page of a
//! secondary index, from a cursor.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One page of a list of the materialized projections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPage {
    /// The list (`contracts-by-status`, `debits`, `bans-active`,
    /// `refunds-due`...).
    pub list: String,
    /// The filter, `parameter=value` as asked (empty for a whole list).
    pub filter: String,
    /// The effective date the materialized rows are read on (Europe/Paris).
    pub at: NaiveDate,
    /// The last log position the rows cover: every event up to it is folded
    /// into them.
    pub position: u64,
    /// The entries, in the list's order (the filtered value, then the id).
    pub items: Vec<ListItem>,
    /// The cursor of the next page (send it back as `after`); absent at the
    /// end of the list. It names the place of the last entry given, not an
    /// offset: appends between pages neither repeat nor skip an entry whose
    /// filtered value did not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListItem {
    /// The contract (`contracts-*`, `debits`) or person (`bans-active`,
    /// `refunds-due`, `persons-*`).
    pub id: Uuid,
    /// What the list shows of it, a part of its view: the status
    /// (`contracts-by-status`, `-product`, `-payer`, `-holder`), the balance
    /// totals (`contracts-in-debt`), the calendar row of the next debit
    /// (`contracts-by-next-debit`), the calendar rows of the date (`debits`),
    /// the ban windows active on the date (`bans-active`), the refunds not
    /// paid due by one day (`refunds-due`), who the person is (`persons-*`).
    pub entry: serde_json::Value,
}

/// Who a person is, as the materialized `person` row holds it for the
/// person lists (`persons-by-client-number`, `persons-by-name`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonSummary {
    /// The person.
    pub person: Uuid,
    /// The date read and what was known.
    pub as_of: crate::views::AsOf,
    /// Their client number.
    pub client_number: crate::types::ClientNumber,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// The person's personal data was erased (`TERM-RETENTION`): the names are
    /// empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erased: bool,
}
