//! Suspension and resumption (`SUSP-*`).

use navigo_events_schema::command::{Resume, Suspend};

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `Suspend` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn suspend(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &Suspend,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `Resume` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn resume(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &Resume,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
