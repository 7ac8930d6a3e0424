//! When an operation takes effect: the shared date arithmetic of the suspension,
//! resumption, zone change, termination and Senior switch rules (`PAY-CUTOFF`,
//! `SUSP-MONTH-DUE`, `TERM-BY-PAYER`, `ZONE-WHEN`). The free month of a cycle is
//! `subscription::first_free_month`; the 48 h reading is
//! `calendar::earliest_effective_date`: one place each.
//!
//! # Which months are due around an end of validity (Decision)
//!
//! RULES.md says "the month in progress at the suspension (termination) date is due
//! in full" (`SUSP-MONTH-DUE`, `TERM-BY-PAYER`). The ledger reads it as: a month is
//! due when the contract is in force on at least one day of it, the same reading as
//! `REF-HELD-MONTHS`. A suspension or termination effective on date `d` means the
//! contract is no longer in force from `d` on, so the last month due is the month of
//! `d − 1 day` ([`last_due_month`]). A suspension effective on the 20th leaves its
//! month due; one effective on the 1st (a CGU-2011 suspension, or a remote request
//! landing on the 1st) leaves the previous month as the last one due. This is the
//! reading of `Period::covers_month` in `state.rs`.
//!
//! Debits follow `PAY-CUTOFF` instead: a change registered before the cutoff day of
//! month M affects debits from M+1, otherwise from M+2 ([`first_month_affected`]).
//! When the first month no longer due comes before the first month the debits can
//! still be stopped, the debits in between are taken and refunded
//! (`PAY-REFUND-30D`); the billing clock does that from the `billing_stops_from`
//! month recorded in the event ([`billing_stops_from`]).
//!
//! # When the debit of a month is prepared (Decision)
//!
//! The debit of month X is prepared once the cutoff day of month X−1 has begun
//! (00:00 Paris on the 15th under CGVU-2026, the 20th under CGU-2011): a change
//! registered from then on reaches the debits from X+1 only, whatever the debit
//! day. With debit day 8 or 12 the debit of X is taken on the 8th or 12th of X,
//! but it was prepared on the cutoff day of X−1 like the debit of day 1, so a
//! change registered on the 3rd of X (before the debit date, after the
//! preparation) leaves it as prepared: RULES.md counts the months a change
//! reaches ("debits from the 1st of M+1"), not days before a debit date, and one
//! instant per month keeps every debit day under the same rule. The registration
//! instant is the event's recorded-at instant, read as a Paris date
//! ([`reaches_debit_of`]); the billing clock composes the prepared debit from the
//! terms before the first change that does not reach it
//! (`billing::prepared_terms`).

use chrono::{Datelike, NaiveDate};
use navigo_events_schema::YearMonth;

use crate::rulebook::Rulebook;

/// The first month whose debit an operation registered on `request_date` can
/// still change (`PAY-CUTOFF`, CGVU-2026 §4.14.1, CGU-2011 §2.9.6): registered
/// before the rulebook's cutoff day of month M → M+1; on or after it → M+2.
pub fn first_month_affected(rulebook: &Rulebook, request_date: NaiveDate) -> YearMonth {
    let m = YearMonth::of(request_date);
    if request_date.day() < rulebook.cutoff_day {
        m.plus(1)
    } else {
        m.plus(2)
    }
}

/// A change reaches the debits from the month after its registration or the one
/// after (`PAY-CUTOFF`), never later: the most months between the month of the
/// registration and the first month whose debit it changes.
pub const CUTOFF_MONTHS_AHEAD_MAX: i32 = 2;

/// Whether a change registered on `registered_on` changes the debit of month `m`
/// (`PAY-CUTOFF`, module Decision): its first month affected, under the rulebook
/// in force on the registration date (RULES.md §0), is `m` or earlier. When it
/// does not, the debit of `m` was prepared before the change and is taken as
/// prepared.
pub fn reaches_debit_of(registered_on: NaiveDate, m: YearMonth) -> bool {
    first_month_affected(crate::rulebook::in_force(registered_on), registered_on) <= m
}

/// The last month due when validity ends on `end` (first day no longer in force):
/// the month of `end − 1 day` (module Decision; `SUSP-MONTH-DUE`, `TERM-BY-PAYER`).
pub fn last_due_month(end: NaiveDate) -> YearMonth {
    YearMonth::of(end.pred_opt().unwrap_or(end))
}

/// The first month not due when validity ends on `end`: the month after the
/// last month due (`SUSP-MONTH-DUE`, `TERM-BY-PAYER`; the month of `end` itself
/// when `end` is the 1st).
pub fn first_month_not_due(end: NaiveDate) -> YearMonth {
    last_due_month(end).plus(1)
}

/// The first month no longer debited after an end of validity on `end` requested
/// on `request_date`: the first month not due, or later when the cutoff has
/// passed (`PAY-CUTOFF` Decision: the prepared debit is still taken and refunded
/// within 30 days, `PAY-REFUND-30D`).
pub fn billing_stops_from(
    rulebook: &Rulebook,
    request_date: NaiveDate,
    end: NaiveDate,
) -> YearMonth {
    first_month_not_due(end).max(first_month_affected(rulebook, request_date))
}

/// The months not due whose debit was already prepared when an end of validity on
/// `end` was registered: from [`first_month_not_due`] to `billing_stops_from`,
/// excluded (`PAY-CUTOFF` Decision: each one's debit is taken as prepared and
/// refunded, `PAY-REFUND-30D`).
pub fn prepared_months_not_due(end: NaiveDate, billing_stops_from: YearMonth) -> Vec<YearMonth> {
    let mut months = Vec::new();
    let mut m = first_month_not_due(end);
    while m < billing_stops_from {
        months.push(m);
        m = m.plus(1);
    }
    months
}

/// The earliest effective date of a change asked through a remote channel: the
/// first Paris date whose 00:00 is at least the rulebook's delay (48 h) after the
/// request, as [`crate::calendar::earliest_effective_date`] reads "at the earliest
/// 48 h after the request"; at an agency, the request date (`SUSP-ANYTIME`,
/// `ZONE-WHEN`, CGVU-2026 §7.3, §10.2, §11.2). One reading for every rule: this
/// only chooses the delay by channel.
pub fn earliest_date(
    request_at: chrono::DateTime<chrono::Utc>,
    remote: bool,
    remote_delay_hours: u32,
) -> NaiveDate {
    let delay = if remote { remote_delay_hours } else { 0 };
    crate::calendar::earliest_effective_date(request_at, delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rulebook::{cgu_2011, cgvu_2026};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn ym(y: i32, m: u32) -> YearMonth {
        YearMonth::new(y, m).unwrap()
    }

    #[test]
    fn pay_cutoff_before_the_15th_affects_next_month_and_after_it_the_one_after() {
        let rb = cgvu_2026();
        assert_eq!(first_month_affected(&rb, d(2026, 11, 14)), ym(2026, 12));
        assert_eq!(first_month_affected(&rb, d(2026, 11, 15)), ym(2027, 1));
        // CGU-2011 §2.9.6: the cutoff day is the 20th.
        let old = cgu_2011();
        assert_eq!(first_month_affected(&old, d(2020, 11, 19)), ym(2020, 12));
        assert_eq!(first_month_affected(&old, d(2020, 11, 20)), ym(2021, 1));
    }

    #[test]
    fn susp_month_due_last_due_month_is_the_month_of_the_last_day_in_force() {
        assert_eq!(last_due_month(d(2026, 11, 20)), ym(2026, 11));
        assert_eq!(last_due_month(d(2026, 12, 1)), ym(2026, 11));
    }

    #[test]
    fn pay_cutoff_billing_stops_after_the_month_due_or_at_the_cutoff_month() {
        let rb = cgvu_2026();
        // Worked example 4.
        assert_eq!(
            billing_stops_from(&rb, d(2026, 11, 10), d(2026, 11, 20)),
            ym(2026, 12)
        );
        assert_eq!(
            billing_stops_from(&rb, d(2026, 11, 16), d(2026, 11, 20)),
            ym(2027, 1)
        );
    }

    #[test]
    fn susp_month_due_a_stored_v1_suspension_is_read_with_the_months_the_ledger_gives() {
        // The upcast of a version 1 suspension re-derives its first month not due
        // and its refunded months in events-schema, which cannot call this module:
        // for every effective date of two years, both readings agree.
        let stops = ym(2027, 6);
        let v1 = r#"{"cause":"request","billing_stops_from":"2027-06"}"#;
        let mut date = d(2025, 6, 1);
        while date < d(2027, 6, 1) {
            let Ok(navigo_events_schema::Event::ContractSuspended(s)) =
                navigo_events_schema::upcast::decode_event_on("ContractSuspended", 1, v1, date)
            else {
                panic!("a suspension on {date}");
            };
            assert_eq!(s.not_due_from, first_month_not_due(date), "{date}");
            assert_eq!(
                s.prepared_debits_refunded,
                prepared_months_not_due(date, stops),
                "{date}"
            );
            date = date.succ_opt().expect("a next day");
        }
    }

    #[test]
    fn susp_anytime_remote_earliest_date_is_the_first_midnight_48_hours_on() {
        use chrono::TimeZone;
        // Tuesday 2026-11-10 10:00 Paris (09:00 UTC): Thursday 00:00 is only 38 h
        // later, so the first date whose 00:00 is 48 h on is Friday 2026-11-13.
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 10, 9, 0, 0).unwrap();
        assert_eq!(earliest_date(at, true, 48), d(2026, 11, 13));
        // At an agency the change is immediate: the request's Paris date.
        assert_eq!(earliest_date(at, false, 48), d(2026, 11, 10));
        // Exactly 00:00 Paris: two days later.
        let midnight = chrono::Utc.with_ymd_and_hms(2026, 11, 9, 23, 0, 0).unwrap();
        assert_eq!(earliest_date(midnight, true, 48), d(2026, 11, 12));
    }
}
