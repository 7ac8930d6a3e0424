//! Trésor Public notices (`BAN-TREASURY-2Y`).

use navigo_events_schema::command::{SettleTreasuryNotice, TreasuryNoticeRef};

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `TreasuryNoticeRef` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn issue_notice(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &TreasuryNoticeRef,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `TreasuryNoticeRef` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn deliver_notice(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &TreasuryNoticeRef,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `SettleTreasuryNotice` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn settle_notice(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &SettleTreasuryNotice,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
