//! Civil dates in Europe/Paris (RULES.md §0: every civil date is a Paris date),
//! French public holidays, working days and the windows of RULES.md §0.
//!
//! Nothing here reads the clock: instants are passed in.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Europe::Paris;
use navigo_events_schema::types::{add_months, sub_months, YearMonth};

/// Longest run of consecutive non-working days the working-day walk will cross
/// before giving up (a named bound: the real maximum is 4, e.g. a Friday public
/// holiday plus a weekend plus a Monday one).
pub const NON_WORKING_RUN_DAYS_MAX: u32 = 31;

/// The Paris civil date of an instant.
pub fn paris_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&Paris).date_naive()
}

/// The instant a Paris civil date begins (its 00:00 in Europe/Paris), as UTC.
///
/// DST-safe: French transitions happen at 02:00 and 03:00, so midnight always
/// exists; should a future rule make midnight fall in a gap, the first instant of
/// the day is returned, and in an overlap the earlier one.
pub fn paris_start_of_day(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    match Paris.from_local_datetime(&midnight) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            // A gap at midnight: walk forward minute by minute (a gap is at most
            // a few hours) to the first local time that exists.
            let mut t = midnight;
            for _ in 0..(24 * 60) {
                t += Duration::minutes(1);
                if let Some(x) = Paris.from_local_datetime(&t).earliest() {
                    return x.with_timezone(&Utc);
                }
            }
            // Unreachable for any real time zone; treat the date as UTC.
            Utc.from_utc_datetime(&midnight)
        }
    }
}

/// Remaining days of a start date (RULES.md §0): from `date` to the last day of
/// its month, both included. Starting on the 12th of a 31-day month leaves 20.
pub fn remaining_days(date: NaiveDate) -> u32 {
    YearMonth::of(date).days() + 1 - date.day()
}

/// Easter Sunday of a Gregorian year (Meeus/Jones/Butcher algorithm). `None` only
/// for a year outside the range of dates the ledger can represent.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// A French public holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicHoliday {
    /// Its date.
    pub date: NaiveDate,
    /// Its French name.
    pub name: &'static str,
}

/// The eleven public holidays of a year (Code du travail L3133-1, DATA.md, V),
/// in date order. Empty for a year the ledger cannot represent.
pub fn public_holidays(year: i32) -> Vec<PublicHoliday> {
    let fixed: [(u32, u32, &'static str); 8] = [
        (1, 1, "Jour de l'an"),
        (5, 1, "Fête du Travail"),
        (5, 8, "Victoire 1945"),
        (7, 14, "Fête nationale"),
        (8, 15, "Assomption"),
        (11, 1, "Toussaint"),
        (11, 11, "Armistice 1918"),
        (12, 25, "Noël"),
    ];
    let mut out: Vec<PublicHoliday> = fixed
        .iter()
        .filter_map(|&(m, d, name)| {
            NaiveDate::from_ymd_opt(year, m, d).map(|date| PublicHoliday { date, name })
        })
        .collect();
    if let Some(easter) = easter_sunday(year) {
        for (offset, name) in [
            (1, "Lundi de Pâques"),
            (39, "Ascension"),
            (50, "Lundi de Pentecôte"),
        ] {
            if let Some(date) = easter.checked_add_signed(Duration::days(offset)) {
                out.push(PublicHoliday { date, name });
            }
        }
    }
    out.sort_by_key(|h| h.date);
    out
}

/// True when `date` is a French public holiday.
pub fn is_public_holiday(date: NaiveDate) -> bool {
    public_holidays(date.year()).iter().any(|h| h.date == date)
}

/// True on Saturday and Sunday.
pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `SENIOR-SWITCH` (RULES.md §9, Decision): a working day is neither a Saturday,
/// a Sunday nor a French public holiday.
pub fn is_working_day(date: NaiveDate) -> bool {
    !is_weekend(date) && !is_public_holiday(date)
}

/// The date `n` working days after `date` (`date` itself is not counted): the 5
/// working days of processing of `SENIOR-SWITCH` (CGVU-2026 §3.3) requested on a
/// Friday end on the next Friday. `n = 0` returns `date`.
pub fn add_working_days(date: NaiveDate, n: u32) -> NaiveDate {
    let mut d = date;
    let mut left = n;
    let mut idle_run = 0u32;
    while left > 0 {
        match d.succ_opt() {
            Some(next) => d = next,
            None => return NaiveDate::MAX,
        }
        if is_working_day(d) {
            left -= 1;
            idle_run = 0;
        } else {
            idle_run += 1;
            if idle_run > NON_WORKING_RUN_DAYS_MAX {
                // Cannot happen with the L3133-1 list; a bound instead of a loop
                // that could run forever on corrupt calendar data.
                return d;
            }
        }
    }
    d
}

/// The earliest effective date of a remote request (`SUSP-ANYTIME`, `ZONE-WHEN`:
/// "at the earliest 48 h after the request", CGVU-2026 §10.2, §7.3).
///
/// Reading: an effect starts at 00:00 of a Paris civil date, so the effective date
/// is the first Paris date whose 00:00 is at least `delay_hours` after
/// `request_at`. A request on Tuesday 10:00 with 48 h gives Friday (Thursday 00:00
/// is only 38 h later); a request at exactly 00:00 gives the date two days later.
/// `delay_hours = 0` (agency, "at once") gives the request's own Paris date.
pub fn earliest_effective_date(request_at: DateTime<Utc>, delay_hours: u32) -> NaiveDate {
    if delay_hours == 0 {
        return paris_date(request_at);
    }
    let Some(threshold) = request_at.checked_add_signed(Duration::hours(i64::from(delay_hours)))
    else {
        // A delay beyond the representable range: no date is late enough.
        return NaiveDate::MAX;
    };
    let candidate = paris_date(threshold);
    if paris_start_of_day(candidate) >= threshold {
        candidate
    } else {
        candidate.succ_opt().unwrap_or(NaiveDate::MAX)
    }
}

/// True when `d` is in "the last `months` months" of `of` (RULES.md §0):
/// the half-open interval (of − months, of].
pub fn within_last_months(d: NaiveDate, of: NaiveDate, months: u32) -> bool {
    d > sub_months(of, months) && d <= of
}

/// True when `d` is within the last 12 months of `of`: (of − 12 months, of]
/// (RULES.md §0; `LOSS-TERMINATION`, `PAY-REFUND-METHOD`).
pub fn within_last_12_months(d: NaiveDate, of: NaiveDate) -> bool {
    within_last_months(d, of, 12)
}

/// The end (exclusive) of "for N months from `from`" (RULES.md §0): the person
/// may act again on `from + N months` (31 January + 1 month = 28/29 February).
pub fn window_end(from: NaiveDate, months: u32) -> NaiveDate {
    add_months(from, months)
}

/// True when `d` is in "N months from `from`": [from, from + N months).
pub fn within_months_from(d: NaiveDate, from: NaiveDate, months: u32) -> bool {
    d >= from && d < window_end(from, months)
}

/// Age in whole years on `date` of a person born on `birth`; zero before birth.
/// Someone born on 29 February turns a year older on 1 March in common years.
pub fn age_on(birth: NaiveDate, date: NaiveDate) -> u32 {
    date.years_since(birth).unwrap_or(0)
}

/// The date from which a person born on `birth` is `years` old by the month
/// count the age thresholds shown to customers read (`birth + 12·years
/// months`), for the Senior switch (`SENIOR-SWITCH`) and the attestation
/// (`TERM-ATTESTATION`).
///
/// Decision: this is [`age_on`]'s birthday on every date but one: for a person
/// born on 29 February it is 28 February of a common year, where [`age_on`]
/// counts the birthday on 1 March. Both readings are kept as the rules had them
/// when they were gathered here (the re-cut changed no behaviour); aligning them
/// is a rule change of its own.
pub fn date_of_age(birth: NaiveDate, years: u32) -> NaiveDate {
    add_months(birth, 12 * years)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn easter_matches_the_check_values_of_data_md() {
        assert_eq!(easter_sunday(2024), Some(d(2024, 3, 31)));
        assert_eq!(easter_sunday(2025), Some(d(2025, 4, 20)));
        assert_eq!(easter_sunday(2026), Some(d(2026, 4, 5)));
        assert_eq!(easter_sunday(2027), Some(d(2027, 3, 28)));
        // Extremes of the Gregorian range: 22 March (2285) and 25 April (2038).
        assert_eq!(easter_sunday(2285), Some(d(2285, 3, 22)));
        assert_eq!(easter_sunday(2038), Some(d(2038, 4, 25)));
    }

    #[test]
    fn public_holidays_follow_l3133_1() {
        let h: Vec<NaiveDate> = public_holidays(2026).iter().map(|h| h.date).collect();
        assert_eq!(h.len(), 11);
        for date in [
            d(2026, 1, 1),
            d(2026, 4, 6), // Easter Monday
            d(2026, 5, 1),
            d(2026, 5, 8),
            d(2026, 5, 14), // Ascension
            d(2026, 5, 25), // Whit Monday
            d(2026, 7, 14),
            d(2026, 8, 15),
            d(2026, 11, 1),
            d(2026, 11, 11),
            d(2026, 12, 25),
        ] {
            assert!(is_public_holiday(date), "{date}");
        }
        assert!(
            !is_public_holiday(d(2026, 4, 5)),
            "Easter Sunday is a Sunday, not in the list"
        );
        assert!(!is_public_holiday(d(2026, 12, 26)));
    }

    #[test]
    fn senior_switch_working_days_skip_weekends_and_holidays() {
        // Monday 2026-05-11 + 5 working days: 12, 13, (14 Ascension), 15, 18, 19.
        assert_eq!(add_working_days(d(2026, 5, 11), 5), d(2026, 5, 19));
        // Friday + 5 working days = next Friday.
        assert_eq!(add_working_days(d(2026, 11, 20), 5), d(2026, 11, 27));
        assert_eq!(add_working_days(d(2026, 11, 20), 0), d(2026, 11, 20));
        assert!(!is_working_day(d(2026, 11, 21)));
        assert!(!is_working_day(d(2026, 11, 11)));
        assert!(is_working_day(d(2026, 11, 12)));
    }

    #[test]
    fn remaining_days_counts_both_ends() {
        assert_eq!(remaining_days(d(2026, 7, 12)), 20);
        assert_eq!(remaining_days(d(2026, 7, 13)), 19);
        assert_eq!(remaining_days(d(2026, 7, 1)), 31);
        assert_eq!(remaining_days(d(2024, 2, 29)), 1);
        assert_eq!(remaining_days(d(2026, 2, 9)), 20);
    }

    #[test]
    fn paris_dates_across_dst_changes() {
        // Summer time (UTC+2): 22:30 UTC is already the next day in Paris.
        assert_eq!(paris_date(utc("2026-07-13T22:30:00Z")), d(2026, 7, 14));
        // Winter time (UTC+1): 22:30 UTC is 23:30, the same day.
        assert_eq!(paris_date(utc("2026-01-13T22:30:00Z")), d(2026, 1, 13));
        // Start of day on the days clocks change.
        assert_eq!(
            paris_start_of_day(d(2026, 3, 29)),
            utc("2026-03-28T23:00:00Z")
        );
        assert_eq!(
            paris_start_of_day(d(2026, 3, 30)),
            utc("2026-03-29T22:00:00Z")
        );
        assert_eq!(
            paris_start_of_day(d(2026, 10, 25)),
            utc("2026-10-24T22:00:00Z")
        );
        assert_eq!(
            paris_start_of_day(d(2026, 10, 26)),
            utc("2026-10-25T23:00:00Z")
        );
    }

    #[test]
    fn susp_anytime_remote_effect_at_the_earliest_48_hours_after_the_request() {
        // Tuesday 2026-11-10 10:00 Paris: Thursday 00:00 is 38 h later, Friday 00:00 62 h.
        assert_eq!(
            earliest_effective_date(utc("2026-11-10T09:00:00Z"), 48),
            d(2026, 11, 13)
        );
        // Exactly midnight Paris: two days later at 00:00 is exactly 48 h.
        assert_eq!(
            earliest_effective_date(utc("2026-11-09T23:00:00Z"), 48),
            d(2026, 11, 12)
        );
        // One second after midnight: one more day.
        assert_eq!(
            earliest_effective_date(utc("2026-11-09T23:00:01Z"), 48),
            d(2026, 11, 13)
        );
        // An absurd delay does not panic.
        assert_eq!(
            earliest_effective_date(utc("2026-11-09T23:00:01Z"), u32::MAX),
            NaiveDate::MAX
        );
        // Agency: at once, the request's Paris date.
        assert_eq!(
            earliest_effective_date(utc("2026-07-13T22:30:00Z"), 0),
            d(2026, 7, 14)
        );
        // Across the October change (a 25-hour day): 2026-10-24 00:00 Paris + 48 h
        // is 2026-10-25 23:00 Paris, so the 26th is the first date at or after it.
        assert_eq!(
            earliest_effective_date(utc("2026-10-23T22:00:00Z"), 48),
            d(2026, 10, 26)
        );
    }

    #[test]
    fn zone_when_remote_change_is_effective_at_the_earliest_48_hours_later() {
        // A remote zone change asked on Friday 2026-11-20 at 18:00 Paris can take
        // effect on Monday 23 (Sunday 22 00:00 is only 30 h later).
        assert_eq!(
            earliest_effective_date(utc("2026-11-20T17:00:00Z"), 48),
            d(2026, 11, 23)
        );
        assert_ne!(
            earliest_effective_date(utc("2026-11-20T17:00:00Z"), 48),
            d(2026, 11, 22)
        );
        // At the agency: immediate, the same day.
        assert_eq!(
            earliest_effective_date(utc("2026-11-20T17:00:00Z"), 0),
            d(2026, 11, 20)
        );
    }

    #[test]
    fn loss_termination_window_is_the_declaration_date_and_the_12_months_before() {
        // RULES.md LOSS-TERMINATION: "the declaration's date and the 12 months before it".
        let declared = d(2027, 3, 10);
        assert!(within_last_12_months(d(2026, 3, 11), declared));
        assert!(!within_last_12_months(d(2026, 3, 10), declared));
        assert!(within_last_12_months(declared, declared));
    }

    #[test]
    fn windows_follow_rules_md_section_0() {
        let of = d(2026, 11, 20);
        assert!(within_last_12_months(d(2026, 11, 20), of));
        assert!(within_last_12_months(d(2025, 11, 21), of));
        assert!(!within_last_12_months(d(2025, 11, 20), of));
        assert!(!within_last_12_months(d(2026, 11, 21), of));
        assert_eq!(window_end(d(2026, 1, 31), 1), d(2026, 2, 28));
        assert!(within_months_from(d(2026, 3, 30), d(2026, 1, 31), 2));
        assert!(!within_months_from(d(2026, 3, 31), d(2026, 1, 31), 2));
    }

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(d(2010, 11, 20), d(2026, 11, 19)), 15);
        assert_eq!(age_on(d(2010, 11, 20), d(2026, 11, 20)), 16);
        assert_eq!(age_on(d(2008, 2, 29), d(2026, 2, 28)), 17);
        assert_eq!(age_on(d(2008, 2, 29), d(2026, 3, 1)), 18);
        assert_eq!(age_on(d(2030, 1, 1), d(2026, 3, 1)), 0);
    }

    proptest! {
        #[test]
        fn easter_is_always_a_sunday_in_march_or_april(year in 1900i32..2200) {
            let e = easter_sunday(year).unwrap();
            prop_assert_eq!(e.weekday(), Weekday::Sun);
            prop_assert!(e.month() == 3 || e.month() == 4);
            prop_assert!(e >= d(year, 3, 22) && e <= d(year, 4, 25));
        }

        #[test]
        fn remaining_days_is_between_1_and_31(days in 0i64..100_000) {
            let date = d(1990, 1, 1) + Duration::days(days);
            let r = remaining_days(date);
            prop_assert!((1..=31).contains(&r));
            prop_assert_eq!(date + Duration::days(i64::from(r) - 1), YearMonth::of(date).last_day());
        }

        #[test]
        fn paris_start_of_day_maps_back_to_its_date(days in 0i64..40_000) {
            let date = d(1990, 1, 1) + Duration::days(days);
            let start = paris_start_of_day(date);
            prop_assert_eq!(paris_date(start), date);
            prop_assert_eq!(paris_date(start - Duration::seconds(1)), date.pred_opt().unwrap());
        }

        #[test]
        fn earliest_effective_date_is_never_sooner_than_the_delay(secs in 0i64..1_000_000_000, hours in 1u32..200) {
            let at = utc("1996-01-01T00:00:00Z") + Duration::seconds(secs);
            let eff = earliest_effective_date(at, hours);
            let start = paris_start_of_day(eff);
            prop_assert!(start >= at + Duration::hours(i64::from(hours)));
            // ...and it is the first such date.
            prop_assert!(paris_start_of_day(eff.pred_opt().unwrap()) < at + Duration::hours(i64::from(hours)));
        }

        #[test]
        fn working_day_walk_lands_on_a_working_day(days in 0i64..20_000, n in 1u32..30) {
            let start = d(2000, 1, 1) + Duration::days(days);
            let end = add_working_days(start, n);
            prop_assert!(is_working_day(end));
            prop_assert!(end > start);
        }
    }
}
