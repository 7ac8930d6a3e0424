//! The conformance suite of `navigo-store` run against sled: every promise of
//! the `EventStore` trait, as any backend must keep it.

mod store_support;

use store_support::SledBackend;

navigo_store::conformance_suite!(SledBackend);
