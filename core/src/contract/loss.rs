//! Loss and theft (`LOSS-*`).

use navigo_events_schema::command::DeclareLoss;

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `DeclareLoss` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn declare_loss(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &DeclareLoss,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
