//! The sled implementation of the event store (to be written).
