//! Property tests of the projections: every projection computed with `known_at`
//! equals the same projection computed over the event list truncated to what was
//! recorded by then; and every balance satisfies `PAY-DUE-VS-COLLECTED`.

mod projections_support;

use chrono::{Duration, NaiveDate};
use navigo_core::testing::*;
use navigo_core::Policy;
use navigo_events_schema::Envelope;
use navigo_projections::{balance, bans, calendar, refunds, state, Query, Worlds};
use projections_support::*;
use proptest::prelude::*;

/// A random but legal-looking history of contract 1: an agency subscription, the
/// clock, maybe a rejection and a settlement, maybe a suspension; commands the
/// rules refuse are simply not recorded.
fn history(
    start_day: u32,
    reject_month: Option<u32>,
    settle: bool,
    suspend_day: Option<u32>,
) -> Vec<Envelope> {
    let start = d(2026, 7, 1) + Duration::days(i64::from(start_day));
    let mut s = base().given([agency(start, annual_1_5())]);
    s = s.advance(d(2026, 10, 1));
    if let Some(m) = reject_month {
        let month = format!("2026-{:02}", 8 + m);
        let _ = s.run(&reject(d(2026, 8 + m, 5), &month));
        if settle {
            let debt = s.world.contract(cid(1)).map(|c| c.money.debt());
            if let Some(debt) = debt.filter(|x| x.is_positive()) {
                let _ = s.run(&projections_support::settle(d(2026, 10, 2), debt));
            }
        }
    }
    if let Some(day) = suspend_day {
        let date = d(2026, 10, 3) + Duration::days(i64::from(day));
        let _ = s.run(&suspend(date, date + Duration::days(3)));
    }
    let s = s.advance(d(2027, 3, 1));
    envelopes(&s)
}

fn truncated(events: &[Envelope], q: &Query) -> Vec<Envelope> {
    events
        .iter()
        .filter(|e| q.known_at.map_or(true, |k| e.recorded_at <= k))
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn projections_with_known_at_equal_projections_of_the_truncated_log(
        start_day in 0u32..60,
        reject_month in proptest::option::of(0u32..2),
        settle in any::<bool>(),
        suspend_day in proptest::option::of(0u32..60),
        known_day in 0i64..300,
        at_day in 0i64..400,
    ) {
        let events = history(start_day, reject_month, settle, suspend_day);
        let known_at = at(d(2026, 7, 1) + Duration::days(known_day));
        let at_date: NaiveDate = d(2026, 7, 1) + Duration::days(at_day);
        let q = Query { at: at_date, known_at: Some(known_at) };
        let cut = truncated(&events, &q);
        // The contract is known once its subscription is recorded: the comparison
        // below is between answers, not between two errors.
        let subscribed = d(2026, 7, 1) + Duration::days(i64::from(start_day));
        if known_at >= at(subscribed) {
            prop_assert!(calendar::calendar(&cut, cid(1), &Query::on(at_date), &Policy::default(), None).is_ok());
        }
        let all = Query { at: at_date, known_at: None };
        let policy = Policy::default();
        prop_assert_eq!(
            calendar::calendar(&events, cid(1), &q, &policy, None).map(|c| c.rows),
            calendar::calendar(&cut, cid(1), &all, &policy, None).map(|c| c.rows)
        );
        let b = balance::contract_balance(&events, cid(1), &q).map(|b| (b.totals, b.rows));
        prop_assert_eq!(
            b.clone(),
            balance::contract_balance(&cut, cid(1), &all).map(|b| (b.totals, b.rows))
        );
        if let Ok((t, _)) = &b {
            // PAY-DUE-VS-COLLECTED on every fold.
            prop_assert_eq!(t.balance, t.due - t.collected + t.returned);
        }
        prop_assert_eq!(
            bans::person_bans(&events, pid(1), &q).map(|b| (b.windows, b.may_be_payer)),
            bans::person_bans(&cut, pid(1), &all).map(|b| (b.windows, b.may_be_payer))
        );
        prop_assert_eq!(
            refunds::person_refunds(&events, pid(1), &q).map(|r| (r.refunds, r.campaigns)),
            refunds::person_refunds(&cut, pid(1), &all).map(|r| (r.refunds, r.campaigns))
        );
        let strip = |v: navigo_events_schema::views::ContractStateView| {
            let mut v = v;
            v.as_of.known_at = None;
            v
        };
        prop_assert_eq!(
            state::contract_state(&events, cid(1), &q).map(strip),
            state::contract_state(&cut, cid(1), &all).map(strip)
        );
    }

    /// `PAY-CUTOFF`, `PAY-DUE-VS-COLLECTED`: the calendar folded without a
    /// history (its debits read from the known events themselves) is the
    /// calendar of the full folds, which keep every envelope of the stream.
    #[test]
    fn pay_cutoff_calendar_folded_without_history_equals_the_full_fold(
        start_day in 0u32..60,
        reject_month in proptest::option::of(0u32..2),
        settle in any::<bool>(),
        suspend_day in proptest::option::of(0u32..60),
        known_day in 0i64..300,
        at_day in 0i64..400,
    ) {
        let events = history(start_day, reject_month, settle, suspend_day);
        let known_at = at(d(2026, 7, 1) + Duration::days(known_day));
        let at_date: NaiveDate = d(2026, 7, 1) + Duration::days(at_day);
        let policy = Policy::default();
        for q in [Query { at: at_date, known_at: Some(known_at) }, Query::on(at_date)] {
            let w = Worlds::new(&events, &q);
            prop_assert_eq!(
                calendar::calendar(&events, cid(1), &q, &policy, None),
                calendar::calendar_in(&w.known, &w.at, cid(1), &q, &policy, None)
            );
        }
    }
}
