//! `USE-DEZONAGE`: in which zones a contract is valid at an instant (CGVU-2026
//! §2.1.2). Judged at the instant of validation in Europe/Paris.
//!
//! Zones 1-5 cover every zone. Two-zone products (2-3, 3-4, 4-5) are valid in
//! every zone on Saturdays and Sundays (00:00 Saturday to 23:59 Sunday), on French
//! public holidays, from 15 July 00:00 to 15 August 23:59, and during zone C school
//! holidays (from 00:00 the day after classes end to 23:59 the day before they
//! resume). The caller checks that the contract is in force (not suspended nor
//! terminated) at that instant: these functions assume an active contract.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use navigo_events_schema::types::Zones;

use crate::calendar::{is_public_holiday, is_weekend, paris_date};
use crate::catalogue::Catalogue;

/// `USE-DEZONAGE`: first day of the summer dézonage (15 July).
pub const SUMMER_FROM: (u32, u32) = (7, 15);
/// `USE-DEZONAGE`: last day of the summer dézonage (15 August, to 23:59).
pub const SUMMER_UNTIL: (u32, u32) = (8, 15);

/// Why a two-zone product is valid everywhere at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DezonageReason {
    /// Saturday or Sunday.
    Weekend,
    /// A French public holiday (Code du travail L3133-1).
    PublicHoliday,
    /// 15 July to 15 August.
    Summer,
    /// A zone C school holiday.
    SchoolHolidays {
        /// Toussaint, Noël, Hiver, Printemps.
        name: String,
    },
}

/// Validity of an active contract in one zone at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validity {
    /// The zone is among the contract's zones.
    Covered,
    /// Outside the contract's zones but valid by dézonage.
    Dezonage(DezonageReason),
    /// Not valid in that zone at that instant.
    NotCovered,
}

/// The dézonage reason in force on a Paris civil date, if any. Several may apply
/// (a public holiday on a Saturday in summer); the first of weekend, public
/// holiday, summer, school holidays is given.
pub fn dezonage_reason_on(catalogue: &Catalogue, date: NaiveDate) -> Option<DezonageReason> {
    if is_weekend(date) {
        return Some(DezonageReason::Weekend);
    }
    if is_public_holiday(date) {
        return Some(DezonageReason::PublicHoliday);
    }
    let md = (date.month(), date.day());
    if md >= SUMMER_FROM && md <= SUMMER_UNTIL {
        return Some(DezonageReason::Summer);
    }
    catalogue
        .school_holiday_on(date)
        .map(|h| DezonageReason::SchoolHolidays {
            name: h.name.clone(),
        })
}

/// `USE-DEZONAGE`: the dézonage reason at `instant`, judged on its Paris civil
/// date (every period runs from 00:00 to 23:59 Paris time, so the date decides).
pub fn dezonage_reason(catalogue: &Catalogue, instant: DateTime<Utc>) -> Option<DezonageReason> {
    dezonage_reason_on(catalogue, paris_date(instant))
}

/// True for a product that benefits from dézonage. Decision: the two-zone
/// products of CGVU-2026 §2.1.1 are the adjacent pairs (2-3, 3-4, 4-5); any other
/// adjacent pair of an older catalogue is treated the same way, wider ranges are
/// not (the text names two-zone products only).
pub fn has_dezonage(zones: Zones) -> bool {
    !zones.is_all_zones() && zones.to() == zones.from() + 1
}

/// `USE-DEZONAGE`: validity of an active contract on `zones` in `zone` at
/// `instant`. Zones 1-5 cover every zone of the network (1 to
/// [`Zones::ZONE_MAX`]); a zone number outside it is never covered.
pub fn zone_validity(
    zones: Zones,
    zone: u8,
    instant: DateTime<Utc>,
    catalogue: &Catalogue,
) -> Validity {
    if !(1..=Zones::ZONE_MAX).contains(&zone) {
        return Validity::NotCovered;
    }
    if zones.is_all_zones() || zones.covers(zone) {
        return Validity::Covered;
    }
    if has_dezonage(zones) {
        if let Some(reason) = dezonage_reason(catalogue, instant) {
            return Validity::Dezonage(reason);
        }
    }
    Validity::NotCovered
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }
    fn z(s: &str) -> Zones {
        s.parse().unwrap()
    }
    fn cat() -> Catalogue {
        Catalogue::builtin().unwrap()
    }

    #[test]
    fn use_dezonage_weekend_runs_from_saturday_00_00_to_sunday_23_59_paris_time() {
        let c = cat();
        // Friday 2026-11-20 23:59:59 Paris (UTC+1) = 22:59:59 UTC: not yet.
        assert_eq!(
            zone_validity(z("4-5"), 1, utc("2026-11-20T22:59:59Z"), &c),
            Validity::NotCovered
        );
        // Saturday 00:00 Paris = Friday 23:00 UTC: valid everywhere.
        assert_eq!(
            zone_validity(z("4-5"), 1, utc("2026-11-20T23:00:00Z"), &c),
            Validity::Dezonage(DezonageReason::Weekend)
        );
        // Sunday 23:59:59 Paris = 22:59:59 UTC: still valid; Monday 00:00 not.
        assert_eq!(
            zone_validity(z("4-5"), 1, utc("2026-11-22T22:59:59Z"), &c),
            Validity::Dezonage(DezonageReason::Weekend)
        );
        assert_eq!(
            zone_validity(z("4-5"), 1, utc("2026-11-22T23:00:00Z"), &c),
            Validity::NotCovered
        );
    }

    #[test]
    fn use_dezonage_across_the_dst_change_uses_the_paris_date() {
        let c = cat();
        // Sunday 2026-03-29 (clocks go forward at 02:00): 22:30 UTC is Monday
        // 00:30 Paris (UTC+2): no longer the weekend.
        assert_eq!(
            zone_validity(z("2-3"), 5, utc("2026-03-29T22:30:00Z"), &c),
            Validity::NotCovered
        );
        // The same UTC time a week before (UTC+1) is Sunday 23:30: weekend.
        assert_eq!(
            zone_validity(z("2-3"), 5, utc("2026-03-22T22:30:00Z"), &c),
            Validity::Dezonage(DezonageReason::Weekend)
        );
        // Sunday 2026-10-25 (clocks go back): 22:30 UTC is 23:30 Paris, Sunday.
        assert_eq!(
            zone_validity(z("2-3"), 5, utc("2026-10-25T22:30:00Z"), &c),
            Validity::Dezonage(DezonageReason::Weekend)
        );
    }

    #[test]
    fn use_dezonage_public_holidays_summer_and_school_holidays() {
        let c = cat();
        // Wednesday 2026-11-11 (Armistice), noon Paris.
        assert_eq!(
            zone_validity(z("3-4"), 1, utc("2026-11-11T11:00:00Z"), &c),
            Validity::Dezonage(DezonageReason::PublicHoliday)
        );
        // Summer: 15 July 00:00 Paris (= 14 July 22:00 UTC) is in; but 14 July is
        // itself a public holiday, so test a weekday: Thursday 2026-07-16.
        assert_eq!(
            zone_validity(z("3-4"), 1, utc("2026-07-16T06:00:00Z"), &c),
            Validity::Dezonage(DezonageReason::Summer)
        );
        // Friday 2026-08-14 23:59 Paris (21:59 UTC): summer.
        assert_eq!(
            zone_validity(z("3-4"), 1, utc("2026-08-14T21:59:00Z"), &c),
            Validity::Dezonage(DezonageReason::Summer)
        );
        // Monday 2026-08-17: summer over.
        assert_eq!(
            zone_validity(z("3-4"), 1, utc("2026-08-17T08:00:00Z"), &c),
            Validity::NotCovered
        );
        // Monday 2026-07-13 noon: before summer, not a holiday.
        assert_eq!(
            zone_validity(z("3-4"), 1, utc("2026-07-13T10:00:00Z"), &c),
            Validity::NotCovered
        );
        // Toussaint 2025: classes end Sat 18 Oct, resume Mon 3 Nov; Tuesday 21 Oct.
        assert_eq!(
            zone_validity(z("2-3"), 1, utc("2025-10-21T10:00:00Z"), &c),
            Validity::Dezonage(DezonageReason::SchoolHolidays {
                name: "Toussaint".into()
            })
        );
        // Monday 3 Nov 2025 00:00 Paris: classes resume, dézonage over.
        assert_eq!(
            zone_validity(z("2-3"), 1, utc("2025-11-02T23:00:00Z"), &c),
            Validity::NotCovered
        );
    }

    #[test]
    fn use_dezonage_all_zones_cover_everything_and_own_zones_are_covered() {
        let c = cat();
        let weekday = utc("2026-11-18T10:00:00Z");
        for zone in 1..=5 {
            assert_eq!(
                zone_validity(z("1-5"), zone, weekday, &c),
                Validity::Covered
            );
        }
        assert_eq!(zone_validity(z("2-3"), 2, weekday, &c), Validity::Covered);
        assert_eq!(zone_validity(z("2-3"), 3, weekday, &c), Validity::Covered);
        assert_eq!(
            zone_validity(z("2-3"), 1, weekday, &c),
            Validity::NotCovered
        );
        assert_eq!(
            zone_validity(z("2-3"), 0, weekday, &c),
            Validity::NotCovered
        );
        assert_eq!(
            zone_validity(z("2-3"), 9, weekday, &c),
            Validity::NotCovered
        );
        // A wider old range (1-3) has no dézonage.
        assert_eq!(
            zone_validity(z("1-3"), 5, utc("2026-11-21T10:00:00Z"), &c),
            Validity::NotCovered
        );
    }

    proptest! {
        #[test]
        fn use_dezonage_never_removes_coverage(secs in 0i64..400_000_000, zone in 1u8..=5) {
            let c = cat();
            let at = utc("2020-01-01T00:00:00Z") + chrono::Duration::seconds(secs);
            // 1-5 is always covered; a two-zone product is covered in its zones.
            prop_assert_eq!(zone_validity(z("1-5"), zone, at, &c), Validity::Covered);
            if z("3-4").covers(zone) {
                prop_assert_eq!(zone_validity(z("3-4"), zone, at, &c), Validity::Covered);
            }
            // On a weekend (Paris date) every zone is valid for two-zone products.
            if is_weekend(paris_date(at)) {
                prop_assert!(zone_validity(z("4-5"), zone, at, &c) != Validity::NotCovered);
            }
        }
    }
}
