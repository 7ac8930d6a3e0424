//! The import batch ([`Ledger::begin_import`](crate::Ledger::begin_import)): commands
//! judged one after the other against the world, each decision folded at once
//! as the envelope the store will give it, and the appends submitted together
//! when the batch is committed, so that importing a history waits for one flush
//! per group commit instead of one per command.

use std::collections::BTreeSet;

use navigo_events_schema::{Envelope, StreamId};
use navigo_store::AppendRequest;

/// Events judged and not yet submitted beyond which the batch is committed: a
/// bound on the memory of a batch and on what a failed batch loses.
pub const IMPORT_BATCH_EVENTS_MAX: usize = 50_000;

/// One staged append: the request and the envelopes it was folded as.
pub(crate) struct Staged {
    pub(crate) request: AppendRequest,
    pub(crate) provisional: Vec<Envelope>,
}

/// The appends judged and folded but not yet submitted.
pub(crate) struct ImportBatch {
    /// Staged events beyond which the batch is committed
    /// ([`IMPORT_BATCH_EVENTS_MAX`] unless the importer chose another bound).
    pub(crate) events_max: usize,
    pub(crate) staged: Vec<Staged>,
    /// The idempotency keys of the staged appends.
    pub(crate) keys: BTreeSet<String>,
    /// The streams the staged appends write, with the indexes of their appends
    /// in `staged`.
    pub(crate) streams: std::collections::BTreeMap<StreamId, Vec<usize>>,
    pub(crate) events: usize,
}

impl ImportBatch {
    pub(crate) fn new(events_max: usize) -> ImportBatch {
        ImportBatch {
            events_max: events_max.max(1),
            staged: Vec::new(),
            keys: BTreeSet::new(),
            streams: std::collections::BTreeMap::new(),
            events: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.staged.is_empty()
    }

    /// The staged keys that start with `prefix`, in order.
    pub(crate) fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.keys
            .range(prefix.to_owned()..)
            .take_while(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub(crate) fn push(&mut self, staged: Staged) {
        if let Some(k) = &staged.request.idempotency_key {
            self.keys.insert(k.clone());
        }
        self.streams
            .entry(staged.request.stream)
            .or_default()
            .push(self.staged.len());
        self.events += staged.provisional.len();
        self.staged.push(staged);
    }

    pub(crate) fn take(&mut self) -> Vec<Staged> {
        self.keys.clear();
        self.streams.clear();
        self.events = 0;
        std::mem::take(&mut self.staged)
    }

    /// The staged envelopes of `stream`, in order.
    pub(crate) fn staged_of(&self, stream: StreamId) -> impl Iterator<Item = &Envelope> + '_ {
        self.streams
            .get(&stream)
            .into_iter()
            .flatten()
            .filter_map(|i| self.staged.get(*i))
            .flat_map(|s| s.provisional.iter())
    }

    pub(crate) fn full(&self) -> bool {
        self.events >= self.events_max
    }
}

/// True when `key` cannot have been recorded yet because it names a version
/// of its stream the stream has not passed: the billing clock's step keys end
/// with `@` and the version they are decided at (`navigo_rules::billing`),
/// and an append recorded under such a key moved its stream past that
/// version, so a key naming the expected version `expected`, at or after the
/// stream's `version` (what the world, the store and the staged appends agree
/// on), was never recorded. The import batch then skips the store's key
/// lookup for it, which was a tenth of the import's command thread (a range
/// read per clock step).
///
/// Decision: this reads the key's shape, not who wrote it; a key forged to
/// look like a future step's (a raw append under a clock key) is still found
/// by the store's own check when the batch is submitted, which fails the
/// batch and refolds the world rather than appending anything twice.
pub(crate) fn names_an_unreached_version(
    key: Option<&str>,
    expected: navigo_store::ExpectedVersion,
    version: u64,
) -> bool {
    let (Some(key), navigo_store::ExpectedVersion::Exact(expected)) = (key, expected) else {
        return false;
    };
    expected >= version
        && key
            .rsplit_once('@')
            .is_some_and(|(_, v)| v.parse::<u64>() == Ok(expected))
}

/// The envelopes the store will give `request` appended next after `world`'s
/// head, recorded at `at` (import mode); their hashes are placeholders until
/// the batch is committed.
pub(crate) fn provisional(
    world: &navigo_rules::world::World,
    request: &AppendRequest,
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<Envelope> {
    let version = world.version(request.stream);
    (1u64..)
        .zip(&request.events)
        .map(|(i, e)| {
            let assigned = navigo_events_schema::Assigned {
                stream: request.stream,
                stream_seq: version + i,
                position: world.position + i,
                recorded_at: at,
                idempotency_key: request.idempotency_key.as_deref(),
                prev_hash: navigo_events_schema::Hash::GENESIS,
            };
            Envelope::assemble(&assigned, e.clone(), navigo_events_schema::Hash::GENESIS)
        })
        .collect()
}

/// Submits the staged appends in order, [`crate::inflight::APPENDS_IN_FLIGHT_MAX`] at a
/// time, each chunk prepared while the one before it is in flight and
/// appended once its own preparation returned
/// ([`crate::inflight::submit_prepared`]); checks that the store assigned
/// every event the position and sequence it was folded with. Returns the hash
/// of the last record.
///
/// # Errors
/// The first store failure, or an append the store answered otherwise than
/// folded (nothing after it is kept in the world: the caller refolds it).
pub(crate) async fn submit<S: navigo_store::EventStore>(
    store: &S,
    staged: Vec<Staged>,
) -> Result<Option<navigo_events_schema::Hash>, navigo_store::StoreError> {
    let mut head = None;
    let appends = staged
        .into_iter()
        .map(|s| (s.request, s.provisional))
        .collect();
    crate::inflight::submit_prepared(store, appends, |answers| {
        for (answer, folded) in answers {
            head = check_folded(answer, &folded)?.or(head);
        }
        Ok(())
    })
    .await?;
    Ok(head)
}

/// The hash of the last record of an imported append, once checked to be
/// appended at the positions and sequences it was folded with.
///
/// # Errors
/// The store's failure, or an answer otherwise than folded.
fn check_folded(
    answer: crate::inflight::Answered,
    folded: &[Envelope],
) -> Result<Option<navigo_events_schema::Hash>, navigo_store::StoreError> {
    use navigo_store::{AppendOutcome, StoreError};
    let stored = match answer? {
        (AppendOutcome::Appended { .. }, stored) => stored,
        (other, _) => {
            return Err(StoreError::Storage(format!(
                "an imported append was answered {other:?}, not appended as judged"
            )))
        }
    };
    let same = stored.len() == folded.len()
        && stored.iter().zip(folded).all(|(s, f)| {
            (s.position, s.stream, s.stream_seq, s.event_id)
                == (f.position, f.stream, f.stream_seq, f.event_id)
        });
    if !same {
        return Err(StoreError::Storage(
            "the store assigned an imported append other positions than judged".into(),
        ));
    }
    Ok(stored.last().map(|e| e.hash))
}

#[cfg(test)]
mod tests {
    use super::names_an_unreached_version;
    use navigo_store::ExpectedVersion;

    const STEP: &str = "clock:debit:0190a1b2-0000-7000-8000-000000000001:2025-03@7";

    #[test]
    fn import_clock_key_at_the_streams_version_needs_no_lookup() {
        assert!(names_an_unreached_version(
            Some(STEP),
            ExpectedVersion::Exact(7),
            7
        ));
    }

    #[test]
    fn import_clock_key_of_a_passed_version_is_looked_up() {
        // The stream moved past version 7: an append under this key may be
        // among the ones that moved it.
        assert!(!names_an_unreached_version(
            Some(STEP),
            ExpectedVersion::Exact(7),
            8
        ));
    }

    #[test]
    fn import_keys_not_naming_their_expected_version_are_looked_up() {
        let command_key = "plan:42#0@0123456789abcdef0123456789abcdef";
        for (key, expected) in [
            (Some(STEP), ExpectedVersion::Exact(6)),
            (Some(STEP), ExpectedVersion::Any),
            (Some(command_key), ExpectedVersion::Exact(7)),
            (Some("clock:debit:x:2025-03"), ExpectedVersion::Exact(7)),
            (None, ExpectedVersion::Exact(7)),
        ] {
            assert!(
                !names_an_unreached_version(key, expected, 7),
                "{key:?} {expected:?}"
            );
        }
    }
}
