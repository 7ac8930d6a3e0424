//! Punctuality refund claims (`REF-*`).

use navigo_events_schema::command::FileRefundClaim;

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `FileRefundClaim` (placeholder until C2 implements it).
///
/// # Errors
/// Always, for now.
pub fn file_refund_claim(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &FileRefundClaim,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
