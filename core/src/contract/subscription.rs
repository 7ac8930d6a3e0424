//! Subscription (`SUB-*`, `TAR-DOSSIER-FEE`, `SUB-FIRST-PAYMENT`).

use navigo_events_schema::command::Subscribe;

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `Subscribe`.
///
/// # Errors
/// Always, for now.
pub fn subscribe(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &Subscribe,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
