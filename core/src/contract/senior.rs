//! Senior switch (`SENIOR-SWITCH`).

use navigo_events_schema::command::{ContractRef, RequestSeniorSwitch};

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `RequestSeniorSwitch` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn request_switch(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &RequestSeniorSwitch,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `ContractRef` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn validate_switch(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &ContractRef,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
