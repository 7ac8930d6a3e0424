//! The binary's clock: the only place the ledger reads the wall clock (or the
//! instant a test injects).

use chrono::{DateTime, Utc};
use navigo_store::Clock;

/// The environment variable that stands the binary's clock at a fixed RFC 3339
/// instant instead of the wall clock. For tests only: time in the tests is
/// injected, so that what they judge does not depend on the day they run.
pub const TEST_NOW_ENV: &str = "NAVIGO_TEST_NOW";

/// The instant of [`TEST_NOW_ENV`], read once; `None` when unset. A value that is
/// not an RFC 3339 instant is reported once on stderr and ignored.
fn test_now() -> Option<DateTime<Utc>> {
    static NOW: std::sync::OnceLock<Option<DateTime<Utc>>> = std::sync::OnceLock::new();
    *NOW.get_or_init(|| {
        let v = std::env::var(TEST_NOW_ENV).ok()?;
        match DateTime::parse_from_rfc3339(&v) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                eprintln!(
                    "warning: {TEST_NOW_ENV}={v:?} is not an RFC 3339 instant ({e}); ignored"
                );
                None
            }
        }
    })
}

/// The system clock: the only place the ledger reads the wall clock (or the
/// instant a test injects through [`TEST_NOW_ENV`]).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        test_now().unwrap_or_else(Utc::now)
    }
}
