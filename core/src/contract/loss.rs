//! Loss and theft (`LOSS-FREE`, `LOSS-TERMINATION`, `LOSS-OPPOSITION`,
//! `LOSS-SUPPORT`, `TAR-REPLACEMENT-FEE`; CGVU-2026 art. 9, §12.2.1; CGU-2011 art. 5,
//! §8.1).

use chrono::NaiveDate;
use navigo_events_schema::command::DeclareLoss;
use navigo_events_schema::event::{
    ContractTerminated, FeeCharged, FeeKind, LossDeclared, TerminationReason,
};
use navigo_events_schema::types::{add_months, sub_months};
use navigo_events_schema::{Event, Money, RuleId, StreamId};

use super::state::ContractState;
use super::suspension::refuse_if_terminated;
use super::timing;
use crate::engine::{contract, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::rulebook::{self, Rulebook};
use crate::world::World;

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

/// Handles `DeclareLoss`.
///
/// The old support is opposed at once (`LOSS-OPPOSITION`, §9.3): the event names it,
/// and the replacement becomes the contract's only active support (`LOSS-SUPPORT`,
/// §5.5). Replacements beyond the free ones of the period carry the replacement fee
/// (`LOSS-FREE`, `TAR-REPLACEMENT-FEE`). A declaration that brings the losses of the
/// last 12 months above the rulebook's limit terminates the contract, reason
/// `loss_limit` (`LOSS-TERMINATION`); Decision: that declaration still opposes the
/// old support, but no replacement is issued, so no fee is charged.
///
/// Decision (RULES.md is silent): the free-replacement allowance and the fee apply
/// to every support (pass, phone, watch) alike, since `LOSS-TERMINATION` counts
/// every loss or theft.
///
/// # Errors
/// Refused on a terminated contract (`SUSP-NOT-WHILE-TERMINATED`) or when the
/// support declared is not the contract's active one (`LOSS-SUPPORT`).
pub fn declare_loss(
    world: &World,
    req: &Request<'_>,
    cmd: &DeclareLoss,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    refuse_if_terminated(req, c, "a loss declaration")?;
    if cmd.support != c.support {
        return Err(req.refuse(
            RuleId::LossSupport,
            format!(
                "contract {} has one active support, its {}; declare the loss or theft of that \
                 support, not of a {}",
                c.id, c.support, cmd.support
            ),
        ));
    }
    let date = req.date;
    let (rank, cycle_rulebook) = rank_in_period(c, date);
    let in_window = losses_in_last_12_months(c, date, true);
    let terminates = in_window > req.rulebook.loss_termination_above;
    let free = rank <= cycle_rulebook.free_replacements_per_period;
    let fee = if free || terminates {
        Money::ZERO
    } else {
        ctx.policy.replacement_fee
    };
    let replacement_support = cmd.replacement_support.unwrap_or(cmd.support);
    let loss = req.event(
        ctx,
        date,
        Event::LossDeclared(LossDeclared {
            kind: cmd.kind,
            support: cmd.support,
            replacement_support,
            fee,
            rank_in_period: rank,
        }),
    );
    let loss_id = loss.event_id;
    let mut events = vec![loss];
    if fee.is_positive() {
        events.push(req.event(
            ctx,
            date,
            Event::FeeCharged(FeeCharged {
                kind: FeeKind::Replacement,
                amount: fee,
                cause_event_id: Some(loss_id),
            }),
        ));
    }
    if terminates {
        let mut t = req.event(
            ctx,
            date,
            Event::ContractTerminated(ContractTerminated {
                reason: TerminationReason::LossLimit,
                rulebook: rulebook::in_force(date).id.to_owned(),
                billing_stops_from: timing::billing_stops_from(req.rulebook, req.date, date),
            }),
        );
        t.causation_id = Some(loss_id);
        events.push(t);
    }
    Ok(vec![Decision::new(world, StreamId::contract(c.id), events)])
}
