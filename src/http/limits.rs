//! Limits on guessing: failed sign-ins and account links (`ACC-LINK`), and the
//! partner check (`PARTNER-CHECK`).
//!
//! Failures are counted per client address and per (subject, address) — the
//! subject being a login or a client number — within a window. A client address
//! that fails too often, or fails too often on one subject, is refused (429)
//! until its window ends. Decision: nothing is ever locked per subject alone, so
//! that a stranger who fails on a customer's login from their own address cannot
//! lock that customer out; against guessing spread over many addresses, a subject
//! with many failures makes every attempt on it wait
//! [`SUBJECT_DELAY_MS`] (a back-off that slows guessing and locks nobody out).

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

/// Failed attempts from one client address on one subject (a login or a client
/// number) within [`ATTEMPTS_WINDOW_MINUTES`], after which that address is
/// refused on that subject until the window ends.
pub const FAILED_ATTEMPTS_PER_SUBJECT_MAX: u32 = 5;
/// Failed attempts from one client address, whatever the subject, within the
/// window, after which that address is refused until the window ends.
pub const FAILED_ATTEMPTS_PER_ADDRESS_MAX: u32 = 20;
/// Failed attempts on one subject from every address within the window from
/// which each attempt on it is answered after [`SUBJECT_DELAY_MS`].
pub const FAILED_ATTEMPTS_BEFORE_DELAY: u32 = 5;
/// The delay of an attempt on a subject that failed often, in milliseconds.
pub const SUBJECT_DELAY_MS: u64 = 1_000;
/// The window of the counts, in minutes from the first failure.
pub const ATTEMPTS_WINDOW_MINUTES: i64 = 15;
/// Keys whose failures are remembered (every count is forgotten beyond).
pub const ATTEMPT_KEYS_MAX: usize = 100_000;
/// Partner checks one partner token may run per minute (`PARTNER-CHECK`): a
/// partner cannot try birth dates at will.
pub const PARTNER_CHECKS_PER_MINUTE_MAX: u32 = 30;

/// Counts per key, each with the instant its window began.
#[derive(Debug, Default)]
struct Counts(HashMap<String, (u32, DateTime<Utc>)>);

impl Counts {
    fn count(&self, key: &str, now: DateTime<Utc>, window: Duration) -> (u32, DateTime<Utc>) {
        match self.0.get(key) {
            Some((n, first)) if now < *first + window => (*n, *first),
            _ => (0, now),
        }
    }

    fn add(&mut self, key: String, now: DateTime<Utc>, window: Duration) {
        if self.0.len() >= ATTEMPT_KEYS_MAX && !self.0.contains_key(&key) {
            self.0.clear();
        }
        let entry = self.0.entry(key).or_insert((0, now));
        if now >= entry.1 + window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }
}

/// What an attempt may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Go,
    /// Go ahead after [`SUBJECT_DELAY_MS`].
    GoAfterDelay,
}

/// Failed attempts by address and by subject.
#[derive(Debug, Default)]
pub struct Attempts(Counts);

fn window() -> Duration {
    Duration::minutes(ATTEMPTS_WINDOW_MINUTES)
}

fn until(first: DateTime<Utc>) -> String {
    (first + window()).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Attempts {
    /// May `address` attempt `subject` (`session:<login>`, `account:<client
    /// number>`) at `now`?
    ///
    /// # Errors
    /// The message of the refusal, naming when to try again.
    pub fn check(
        &self,
        subject: &str,
        address: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<Verdict, String> {
        let (n, first) = self.0.count(&format!("addr:{address}"), now, window());
        if n >= FAILED_ATTEMPTS_PER_ADDRESS_MAX {
            return Err(format!(
                "{n} failed attempts from this address since {}; try again from {}",
                first.format("%Y-%m-%dT%H:%M:%SZ"),
                until(first)
            ));
        }
        let (n, first) = self
            .0
            .count(&format!("pair:{address}:{subject}"), now, window());
        if n >= FAILED_ATTEMPTS_PER_SUBJECT_MAX {
            return Err(format!(
                "{n} failed attempts from this address since {}; try again from {}",
                first.format("%Y-%m-%dT%H:%M:%SZ"),
                until(first)
            ));
        }
        let (n, _) = self.0.count(&format!("subject:{subject}"), now, window());
        Ok(if n >= FAILED_ATTEMPTS_BEFORE_DELAY {
            Verdict::GoAfterDelay
        } else {
            Verdict::Go
        })
    }

    /// Records an attempt of `address` on `subject` at `now`. A failure counts
    /// for the address, the pair and the subject; a success forgets the pair's
    /// failures only (the address's count still bounds what it tries elsewhere).
    pub fn record(&mut self, subject: &str, address: IpAddr, now: DateTime<Utc>, ok: bool) {
        let pair = format!("pair:{address}:{subject}");
        if ok {
            self.0 .0.remove(&pair);
            return;
        }
        self.0.add(pair, now, window());
        self.0.add(format!("addr:{address}"), now, window());
        self.0.add(format!("subject:{subject}"), now, window());
    }
}

/// Partner checks per partner token, per minute.
#[derive(Debug, Default)]
pub struct PartnerChecks(Counts);

impl PartnerChecks {
    /// Counts a check by the partner token `name` at `now`.
    ///
    /// # Errors
    /// The message of the refusal when the partner has used its checks of the
    /// minute.
    pub fn take(&mut self, name: &str, now: DateTime<Utc>) -> Result<(), String> {
        let minute = Duration::minutes(1);
        let (n, first) = self.0.count(name, now, minute);
        if n >= PARTNER_CHECKS_PER_MINUTE_MAX {
            return Err(format!(
                "partner_checks_per_minute_max ({PARTNER_CHECKS_PER_MINUTE_MAX}) reached; \
                 try again from {}",
                (first + minute).format("%Y-%m-%dT%H:%M:%SZ")
            ));
        }
        self.0.add(name.to_owned(), now, minute);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> DateTime<Utc> {
        "2027-10-15T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(min)
    }

    #[test]
    fn acc_link_failed_attempts_limit_the_address_not_the_customer() {
        let stranger: IpAddr = "127.0.0.2".parse().unwrap();
        let customer: IpAddr = "127.0.0.3".parse().unwrap();
        let mut a = Attempts::default();
        for i in 0..FAILED_ATTEMPTS_PER_SUBJECT_MAX {
            assert!(a.check("session:alice", stranger, t(0)).is_ok(), "{i}");
            a.record("session:alice", stranger, t(0), false);
        }
        // The stranger is refused on that login until the window ends...
        let why = a.check("session:alice", stranger, t(1)).unwrap_err();
        assert!(why.contains("try again from 2027-10-15T08:15:00Z"), "{why}");
        assert!(a
            .check("session:alice", stranger, t(ATTEMPTS_WINDOW_MINUTES))
            .is_ok());
        // ...while the customer, from their own address, only waits the delay.
        assert_eq!(
            a.check("session:alice", customer, t(1)),
            Ok(Verdict::GoAfterDelay)
        );
        // An address failing on many subjects is refused on every one.
        for i in 0..FAILED_ATTEMPTS_PER_ADDRESS_MAX {
            a.record(&format!("account:NV{i}"), customer, t(2), false);
        }
        assert!(a.check("session:bob", customer, t(2)).is_err());
    }

    #[test]
    fn partner_check_is_limited_per_partner_and_per_minute() {
        let mut p = PartnerChecks::default();
        for _ in 0..PARTNER_CHECKS_PER_MINUTE_MAX {
            p.take("partner-1", t(0)).unwrap();
        }
        assert!(p.take("partner-1", t(0)).is_err());
        assert!(p.take("partner-2", t(0)).is_ok());
        assert!(p.take("partner-1", t(1)).is_ok());
    }
}
