//! The log a follower holds: read once from the start, then extended at each
//! poll by the records after its last position only, so that tailing costs the
//! new records, not a read of the whole log per poll.
//!
//! The projection's catch-up ([`crate::materialize::ProjectionDb::catch_up`])
//! recomputes the views an event touches from the streams it names, which the
//! whole log indexes: the follower keeps the log in memory for it (the memory
//! of a rebuild). Each extension must continue what it holds: the next
//! position, and a first record whose previous hash is the hash of its last
//! one, so that a log rewritten under a running follower is refused, not
//! folded.

use std::sync::Arc;

use navigo_events_schema::Envelope;

use crate::ReplayError;

/// The log read so far, in position order from position 1.
///
/// Shared ([`FollowedLog::shared`]) with a thread that folds it off the
/// async runtime's workers; extended in place once that thread is done with
/// it (a copy only when a share is still held).
#[derive(Debug, Clone, Default)]
pub struct FollowedLog {
    events: Arc<Vec<Envelope>>,
}

impl FollowedLog {
    /// An empty log: the first poll reads from position 1.
    pub fn new() -> FollowedLog {
        FollowedLog::default()
    }

    /// The events held, in position order.
    pub fn events(&self) -> &[Envelope] {
        &self.events
    }

    /// The events held, shared.
    pub fn shared(&self) -> Arc<Vec<Envelope>> {
        Arc::clone(&self.events)
    }

    /// The position the next read starts from.
    pub fn next_position(&self) -> u64 {
        self.events.last().map_or(1, |e| e.position + 1)
    }

    /// Appends `tail`, the records read from [`FollowedLog::next_position`] on;
    /// returns how many were added.
    ///
    /// # Errors
    /// [`ReplayError::Discontinuous`], naming the position, when `tail` does not
    /// continue the log held (a gap, or a record that does not link to the last
    /// one's hash); nothing is appended then.
    pub fn extend(&mut self, tail: Vec<Envelope>) -> Result<usize, ReplayError> {
        let mut prev = self.events.last().map(|e| e.hash);
        for (expected, e) in (self.next_position()..).zip(&tail) {
            if e.position != expected {
                return Err(ReplayError::Discontinuous {
                    position: e.position,
                    why: format!("expected position {expected}"),
                });
            }
            if let Some(h) = prev {
                if e.prev_hash != h {
                    return Err(ReplayError::Discontinuous {
                        position: e.position,
                        why: format!(
                            "its previous hash {} is not the hash {h} of the record before it as \
                             read earlier: the log was rewritten",
                            e.prev_hash
                        ),
                    });
                }
            }
            prev = Some(e.hash);
        }
        let n = tail.len();
        Arc::make_mut(&mut self.events).extend(tail);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use navigo_testkit::{agency_contract_billed_through, d};

    fn log() -> Vec<Envelope> {
        let s = agency_contract_billed_through(d(2026, 12, 1));
        let mut out: Vec<Envelope> = s.world.history.values().flatten().cloned().collect();
        out.sort_by_key(|e| e.position);
        out
    }

    #[test]
    fn followed_log_extended_in_steps_holds_the_log_in_order() {
        // Given a log, when it is read in three tails, each from the position the
        // follower asks for, then the follower holds the whole log.
        let all = log();
        assert!(all.len() > 4);
        let mut f = FollowedLog::new();
        assert_eq!(f.next_position(), 1);
        for cut in [2, all.len() - 1, all.len()] {
            let from = usize::try_from(f.next_position() - 1).unwrap_or(usize::MAX);
            let tail = all[from..cut].to_vec();
            assert_eq!(f.extend(tail).ok(), Some(cut - from));
        }
        assert_eq!(f.events(), all.as_slice());
        assert_eq!(f.extend(Vec::new()).ok(), Some(0));
    }

    #[test]
    fn followed_log_refuses_a_gap_and_a_rewritten_link_and_appends_nothing() {
        let all = log();
        let mut f = FollowedLog::new();
        f.extend(all[..3].to_vec()).ok();
        // A gap: the tail starts one record late.
        match f.extend(all[4..].to_vec()) {
            Err(ReplayError::Discontinuous { position, .. }) => {
                assert_eq!(position, all[4].position)
            }
            other => panic!("a gap accepted: {other:?}"),
        }
        // A rewritten log: the next record no longer links to the one read.
        let mut next = all[3].clone();
        next.prev_hash = navigo_events_schema::Hash([7; 32]);
        match f.extend(vec![next]) {
            Err(ReplayError::Discontinuous { position, why }) => {
                assert_eq!(position, all[3].position);
                assert!(why.contains("rewritten"), "{why}");
            }
            other => panic!("a broken link accepted: {other:?}"),
        }
        assert_eq!(f.events(), &all[..3]);
    }
}
