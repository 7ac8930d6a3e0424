//! Calendar helpers: Paris dates, remaining days, French public holidays and
//! working days (RULES.md §0, `SENIOR-SWITCH`).
//!
//! This is the contract branch's interim version of the `reference` branch's module,
//! with the same public names; the merge of `reference` replaces it.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Paris;
use navigo_events_schema::types::Channel;

/// The Europe/Paris civil date of an instant (RULES.md §0: "request date").
pub fn paris_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Paris).date_naive()
}

/// The UTC instant of 00:00 Europe/Paris on `date` (the first valid instant of the
/// day when a DST change skips midnight).
pub fn paris_start_of_day(date: NaiveDate) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    match Paris.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => Utc.from_utc_datetime(&naive),
    }
}

/// Remaining days of a start date: from `date` to the last day of its month, both
/// included (RULES.md §0).
pub fn remaining_days(date: NaiveDate) -> u32 {
    let last = navigo_events_schema::YearMonth::of(date).days();
    last + 1 - date.day()
}

/// Easter Sunday of `year` (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// French public holidays (Code du travail L3133-1, DATA.md).
pub fn is_public_holiday(date: NaiveDate) -> bool {
    let fixed = [
        (1, 1),
        (5, 1),
        (5, 8),
        (7, 14),
        (8, 15),
        (11, 1),
        (11, 11),
        (12, 25),
    ];
    if fixed.contains(&(date.month(), date.day())) {
        return true;
    }
    match easter_sunday(date.year()) {
        Some(e) => [1, 39, 50].iter().any(|d| e + Duration::days(*d) == date),
        None => false,
    }
}

/// A working day: not a Saturday, Sunday or public holiday (`SENIOR-SWITCH` Decision).
pub fn is_working_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_public_holiday(date)
}

/// `date` plus `n` working days.
pub fn add_working_days(date: NaiveDate, n: u32) -> NaiveDate {
    let mut d = date;
    let mut left = n;
    // A bound on the walk: n working days never span more than 3n + 10 calendar days.
    let steps_max = 3 * n + 10;
    let mut steps = 0;
    while left > 0 && steps < steps_max {
        d = d.succ_opt().unwrap_or(d);
        steps += 1;
        if is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// The earliest effective date of a change requested at `request_at` through
/// `channel`: the request date at an agency, otherwise the Paris date 48 h later
/// (`SUSP-ANYTIME`, `ZONE-WHEN`, CGVU-2026 §10.2, §7.3).
pub fn earliest_effective_date(request_at: DateTime<Utc>, channel: Channel) -> NaiveDate {
    if channel.is_remote() {
        paris_date(request_at + Duration::hours(48))
    } else {
        paris_date(request_at)
    }
}
