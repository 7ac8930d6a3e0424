//! Termination (`TERM-*`).

use navigo_events_schema::command::{ContractRef, TerminateByAgency};

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `ContractRef` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn terminate_by_payer(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &ContractRef,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `TerminateByAgency` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn terminate_by_agency(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &TerminateByAgency,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
