//! Corrections: annulling an earlier event.

use navigo_events_schema::command::AnnulEvent;

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `AnnulEvent` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn annul(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &AnnulEvent,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
