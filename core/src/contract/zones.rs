//! Zone changes (`ZONE-*`).

use navigo_events_schema::command::ChangeZones;

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `ChangeZones` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn change_zones(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &ChangeZones,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
