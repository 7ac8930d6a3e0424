//! The events that change a contract's status, built once for every path that
//! records them: a suspension, a resumption and a termination read the same
//! whether a customer asked for them or the billing clock emits them (a cash
//! period that ends, a planned resumption, fraud), so that the months due and the
//! debits stopped are stated one way (`SUSP-MONTH-DUE`, `PAY-CUTOFF`).

use chrono::NaiveDate;
use navigo_events_schema::event::{
    ContractResumed, ContractSuspended, ContractTerminated, SuspensionCause, TerminationReason,
};
use navigo_events_schema::types::PaymentSetup;
use navigo_events_schema::YearMonth;

use super::charges::first_free_month;
use super::state::ContractState;
use super::timing;
use crate::calendar::remaining_days;
use crate::rulebook::{self, Rulebook};

/// The suspension event of a contract no longer in force from `effective`, whose
/// debits stop from `billing_stops_from` (`SUSP-MONTH-DUE`, `PAY-CUTOFF`): it
/// states the first month not due and the months not due whose prepared debit is
/// taken and refunded. The billing clock uses it for a cash period that ends.
pub fn suspended(
    cause: SuspensionCause,
    planned_resumption: Option<NaiveDate>,
    effective: NaiveDate,
    billing_stops_from: YearMonth,
) -> ContractSuspended {
    ContractSuspended {
        cause,
        planned_resumption,
        not_due_from: timing::first_month_not_due(effective),
        billing_stops_from,
        prepared_debits_refunded: timing::prepared_months_not_due(effective, billing_stops_from),
    }
}

/// The resumption event of a contract resuming on `effective`, registered on
/// `registered_on` under `registered_rulebook` (`SUSP-RESUME`, `PAY-CUTOFF`). The
/// billing clock uses it for a resumption planned with the suspension.
///
/// Billing restarts with the month of the resumption when it can still reach that
/// debit, otherwise with the first month `PAY-CUTOFF` allows; the months in
/// between are due (`TAR-PRORATA` for the first one when it is not the
/// suspension's month) and collected with the first debit. The free-month cycle
/// restarts from the resumption under the rulebook in force on that date
/// (RULES.md §0 Decision; §11.3); Senior has none (`PAY-SENIOR`).
pub fn resumed(
    c: &ContractState,
    registered_rulebook: &Rulebook,
    registered_on: NaiveDate,
    effective: NaiveDate,
    payment: PaymentSetup,
) -> ContractResumed {
    let cycle_rulebook = rulebook::in_force(effective);
    let billing_from = YearMonth::of(effective).max(timing::first_month_affected(
        registered_rulebook,
        registered_on,
    ));
    let first_free_month = first_free_month(cycle_rulebook, c.product, effective);
    ContractResumed {
        rulebook: cycle_rulebook.id.to_owned(),
        remaining_days: remaining_days(effective),
        billing_from,
        first_free_month,
        payment,
        cash_due: None,
    }
}

/// The termination event of `c` ending on `effective`, requested on
/// `request_date` under `request_rulebook` (`PAY-CUTOFF`, `SUSP-MONTH-DUE`).
/// The billing clock uses it for the terminations it emits (`SUSP-MAX-12M`,
/// `PAY-UNPAID-TERMINATION`).
pub fn terminated(
    reason: TerminationReason,
    request_rulebook: &Rulebook,
    request_date: NaiveDate,
    effective: NaiveDate,
) -> ContractTerminated {
    ContractTerminated {
        reason,
        rulebook: rulebook::in_force(effective).id.to_owned(),
        billing_stops_from: timing::billing_stops_from(request_rulebook, request_date, effective),
    }
}
