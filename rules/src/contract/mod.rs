//! The contract stream: its state, the rules every family shares, and one module
//! per command family.
//!
//! - [`state`]: the fold of one contract's events; [`timing`]: when things take
//!   effect; [`charges`]: what is due and refunded; [`guards`]: the refusals
//!   several families share; [`transitions`]: the status-changing events;
//!   [`loss_count`], [`ended`]: rules the read side asks as well.
//! - One handler module per command family: [`subscription`], [`payment`],
//!   [`suspension`], [`zones`], [`loss`], [`termination`], [`senior`], [`fraud`],
//!   [`treasury`]. A handler calls the shared rules, never another handler.

pub mod charges;
pub mod collection;
pub mod ended;
pub mod fraud;
pub mod guards;
pub mod loss;
pub mod loss_count;
pub mod payment;
pub mod senior;
pub mod state;
pub mod subscription;
pub mod suspension;
pub mod termination;
pub mod timing;
pub mod transitions;
pub mod treasury;
pub mod zones;
