//! The billing clock (issue 3 §3).

use chrono::{DateTime, NaiveDate, Utc};

use crate::engine::{Context, Decision};
use crate::world::World;

/// Every system event due up to `through`, in date order.
pub fn advance_to(
    _world: &World,
    _through: NaiveDate,
    _at: DateTime<Utc>,
    _ctx: &mut Context<'_>,
) -> Vec<Decision> {
    Vec::new()
}
