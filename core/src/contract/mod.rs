//! The contract stream: its state and one module per command family.

pub mod fraud;
pub mod loss;
pub mod payment;
pub mod senior;
pub mod state;
pub mod subscription;
pub mod suspension;
pub mod termination;
pub mod timing;
pub mod treasury;
pub mod zones;
