//! How losses and thefts are counted (`LOSS-FREE`, `LOSS-TERMINATION`; CGVU-2026
//! art. 9, §12.2.1; CGU-2011 art. 5, §8.1): the free-replacement period a
//! declaration falls in and its rank there, and the losses of the last 12
//! months. The `DeclareLoss` handler, the agency's `loss_limit` termination and
//! the contract state view all count with these.

use chrono::NaiveDate;
use navigo_events_schema::types::{add_months, sub_months};

use super::state::ContractState;
use crate::rulebook::{self, Rulebook};

/// `LOSS-FREE`: the free replacements are counted per period of this many
/// consecutive months from the subscription or the last resumption (§9.1;
/// CGU-2011 §5.1: per year of contract).
pub const LOSS_PERIOD_MONTHS: u32 = 12;

/// `LOSS-TERMINATION`: losses are counted over the declaration's date and the
/// months before it (§12.2.1).
pub const LOSS_WINDOW_MONTHS: u32 = 12;

/// A bound on the walk through 12-month periods (a contract older than this many
/// years is not expected; the walk stops there rather than loop).
const PERIODS_MAX: u32 = 200;

/// The free-replacement period containing `date` for a cycle that began on
/// `cycle_start`: `[start + 12k months, start + 12(k+1) months)` (`LOSS-FREE`).
pub fn loss_period(cycle_start: NaiveDate, date: NaiveDate) -> (NaiveDate, NaiveDate) {
    let mut from = cycle_start;
    for k in 1..=PERIODS_MAX {
        let next = add_months(cycle_start, LOSS_PERIOD_MONTHS * k);
        if next > date {
            return (from, next);
        }
        from = next;
    }
    (from, add_months(from, LOSS_PERIOD_MONTHS))
}

/// The rank a loss declared on `date` would take in its free-replacement period,
/// and the rulebook of that period's cycle (RULES.md §0 Decision: loss periods use
/// the rulebook in force when the cycle began).
pub fn rank_in_period(c: &ContractState, date: NaiveDate) -> (u32, &'static Rulebook) {
    let (start, cycle_rulebook) = match c.current_period() {
        Some(p) => (
            p.start,
            rulebook::by_id(&p.rulebook).unwrap_or_else(|| rulebook::in_force(p.start)),
        ),
        None => (c.start_date, rulebook::in_force(c.start_date)),
    };
    let (from, until) = loss_period(start, date);
    let before = c
        .losses
        .iter()
        .filter(|l| l.date >= from && l.date < until && l.date <= date)
        .count();
    (
        u32::try_from(before).unwrap_or(u32::MAX).saturating_add(1),
        cycle_rulebook,
    )
}

/// Losses and thefts in the 12 months ending on `date` (RULES.md §0: the interval
/// `(date − 12 months, date]`), counting one more declared on `date` when `with_new`.
pub fn losses_in_last_12_months(c: &ContractState, date: NaiveDate, with_new: bool) -> u32 {
    let from = sub_months(date, LOSS_WINDOW_MONTHS);
    let n = c
        .losses
        .iter()
        .filter(|l| l.date > from && l.date <= date)
        .count();
    u32::try_from(n)
        .unwrap_or(u32::MAX)
        .saturating_add(u32::from(with_new))
}
