//! Trésor Public notices (`BAN-TREASURY-2Y`; CGVU-2026 §4.4, §4.12).
//!
//! Two months after a termination for unpaid debt, a debt still unsettled is
//! notified through the Trésor Public. The notice's receipt (its delivery date
//! when recorded, else its issue date: RULES.md Decision) opens the payer's 2-year
//! ban; a settlement with the Trésor Public ends the ban 21 days later. The
//! settlement is money collected on the contract (see `state.rs`).

use chrono::NaiveDate;
use navigo_events_schema::command::{SettleTreasuryNotice, TreasuryNoticeRef};
use navigo_events_schema::event::{
    TerminationReason, TreasuryNoticeDelivered, TreasuryNoticeIssued, TreasuryNoticeSettled,
};
use navigo_events_schema::types::add_months;
use navigo_events_schema::{Event, RuleId};

use super::state::{ContractState, TreasuryNotice};
use crate::contract::guards::contract;
use crate::decision::{Context, Decision, Request};
use crate::policy::Policy;
use crate::refusal::CommandError;
use crate::world::World;

/// A named bound on a notice reference's length.
pub const NOTICE_REF_BYTES_MAX: usize = 64;

/// The first date a notice may be issued for `c`: its unpaid termination date plus
/// the policy's months (2, §4.12), when it was terminated for unpaid debt.
pub fn notice_from(c: &ContractState, policy: &Policy) -> Option<NaiveDate> {
    match &c.termination {
        Some((date, TerminationReason::Unpaid, _)) => {
            Some(add_months(*date, policy.treasury_notice_after_months))
        }
        _ => None,
    }
}

/// Whether the billing clock owes a notice for `c` on `date`: terminated for unpaid
/// debt at least 2 months ago, still in debt, and no notice issued yet.
pub fn notice_due(c: &ContractState, policy: &Policy, date: NaiveDate) -> bool {
    notice_from(c, policy).is_some_and(|from| from <= date)
        && c.money.debt().is_positive()
        && c.treasury_notices.is_empty()
}

fn check_ref(notice_ref: &str) -> Result<(), CommandError> {
    if notice_ref.trim().is_empty() || notice_ref.len() > NOTICE_REF_BYTES_MAX {
        return Err(CommandError::invalid(
            "notice_ref",
            format!("a notice reference has 1 to {NOTICE_REF_BYTES_MAX} bytes"),
        ));
    }
    Ok(())
}

fn notice<'c>(c: &'c ContractState, notice_ref: &str) -> Result<&'c TreasuryNotice, CommandError> {
    c.treasury_notices
        .iter()
        .find(|n| n.notice_ref == notice_ref)
        .ok_or_else(|| {
            CommandError::invalid(
                "notice_ref",
                format!("contract {} has no notice {notice_ref}", c.id),
            )
        })
}

/// Handles `IssueTreasuryNotice`.
///
/// # Errors
/// Refused by `BAN-TREASURY-2Y` unless the contract was terminated for unpaid
/// debt at least 2 months before, still carries a debt, and has no notice yet;
/// an empty, too long or reused reference is invalid.
pub fn issue_notice(
    world: &World,
    req: &Request<'_>,
    cmd: &TreasuryNoticeRef,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    check_ref(&cmd.notice_ref)?;
    let Some(from) = notice_from(c, ctx.policy) else {
        return Err(req.refuse(
            RuleId::BanTreasury2y,
            format!(
                "contract {} was not terminated for unpaid debt; a Trésor Public notice follows \
                 an unpaid termination (§4.12)",
                c.id
            ),
        ));
    };
    if req.date < from {
        return Err(req.refuse(
            RuleId::BanTreasury2y,
            format!(
                "a notice is issued 2 months after the unpaid termination: from {from}, not on {}",
                req.date
            ),
        ));
    }
    let debt = c.money.debt();
    if !debt.is_positive() {
        return Err(req.refuse(
            RuleId::BanTreasury2y,
            format!("contract {} carries no debt: nothing to notify", c.id),
        ));
    }
    if let Some(n) = c.treasury_notices.first() {
        return Err(req.refuse(
            RuleId::BanTreasury2y,
            format!(
                "contract {} already has notice {} issued on {}; deliver or settle that one",
                c.id, n.notice_ref, n.issued
            ),
        ));
    }
    let event = Event::TreasuryNoticeIssued(TreasuryNoticeIssued {
        payer: c.payer,
        amount: debt,
        notice_ref: cmd.notice_ref.clone(),
    });
    Ok(req.one_contract_event(world, ctx, c.id, req.date, event))
}

/// Handles `DeliverTreasuryNotice`: its receipt opens the 2-year ban.
///
/// # Errors
/// Invalid for an unknown notice; refused by `BAN-TREASURY-2Y` when already
/// delivered or dated before its issue.
pub fn deliver_notice(
    world: &World,
    req: &Request<'_>,
    cmd: &TreasuryNoticeRef,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    let n = notice(c, &cmd.notice_ref)?;
    if let Some(on) = n.delivered {
        return Err(req.refuse(
            RuleId::BanTreasury2y,
            format!("notice {} was already delivered on {on}", n.notice_ref),
        ));
    }
    if req.date < n.issued {
        return Err(req.refuse(
            RuleId::BanTreasury2y,
            format!(
                "notice {} was issued on {}; it cannot be delivered before",
                n.notice_ref, n.issued
            ),
        ));
    }
    let event = Event::TreasuryNoticeDelivered(TreasuryNoticeDelivered {
        notice_ref: cmd.notice_ref.clone(),
    });
    Ok(req.one_contract_event(world, ctx, c.id, req.date, event))
}

/// Handles `SettleTreasuryNotice`: the payer settled with the Trésor Public.
///
/// Decision (RULES.md is silent on partial payments): a settlement is recorded
/// for any positive amount up to the debt; the ban rules read the settlement date.
///
/// # Errors
/// Invalid for an unknown notice or a non-positive amount; refused by
/// `BAN-TREASURY-2Y` when already settled or above the debt.
pub fn settle_notice(
    world: &World,
    req: &Request<'_>,
    cmd: &SettleTreasuryNotice,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    let n = notice(c, &cmd.notice_ref)?;
    if !cmd.amount.is_positive() {
        return Err(CommandError::invalid(
            "amount",
            "a settlement is a positive amount",
        ));
    }
    if let Some(on) = n.settled {
        return Err(req.refuse(
            RuleId::BanTreasury2y,
            format!("notice {} was already settled on {on}", n.notice_ref),
        ));
    }
    let debt = c.money.debt();
    if cmd.amount > debt {
        return Err(req.refuse(
            RuleId::BanTreasury2y,
            format!(
                "contract {} carries a debt of {debt} €; a settlement of {} € exceeds it",
                c.id, cmd.amount
            ),
        ));
    }
    let event = Event::TreasuryNoticeSettled(TreasuryNoticeSettled {
        notice_ref: cmd.notice_ref.clone(),
        amount: cmd.amount,
    });
    Ok(req.one_contract_event(world, ctx, c.id, req.date.max(n.issued), event))
}
