//! Fraud (`BAN-FRAUD-3Y`, `TERM-BY-AGENCY`).

use navigo_events_schema::command::EstablishFraud;

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `EstablishFraud` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn establish_fraud(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &EstablishFraud,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
