//! Loss and theft (`LOSS-FREE`, `LOSS-TERMINATION`, `LOSS-OPPOSITION`,
//! `LOSS-SUPPORT`, `TAR-REPLACEMENT-FEE`; CGVU-2026 art. 9, §12.2.1; CGU-2011 art. 5,
//! §8.1).

use navigo_events_schema::command::DeclareLoss;
use navigo_events_schema::event::{
    ContractTerminated, FeeCharged, FeeKind, LossDeclared, TerminationReason,
};
use navigo_events_schema::{Event, Money, RuleId, StreamId};

use super::guards::{self, contract};
use super::loss_count::{losses_in_last_12_months, rank_in_period};
use super::timing;
use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::rulebook::{self};
use crate::world::World;

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
    guards::refuse_change_if_terminated(req, c, "a loss declaration")?;
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
    Ok(vec![decision(world, StreamId::contract(c.id), events)])
}
