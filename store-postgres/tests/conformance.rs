//! The conformance suite of `navigo-store` run against PostgreSQL: every
//! promise of the `EventStore` trait, as the sled store keeps it, each test in
//! a schema of its own in the test binary's throwaway cluster.

mod support;

use support::PgBackend;

navigo_store::conformance_suite!(PgBackend);
