//! Appends submitted together: a command's (the billing clock emits thousands)
//! and an import batch's, polled at once so that the store's writer gathers
//! them into group commits, and answered in the order they were submitted;
//! an import's or a pipelined batch's chunks each prepared ([`Prepared`])
//! while the chunk before them is in flight.

use std::future::Future;
use std::task::Poll;

use navigo_events_schema::Envelope;
use navigo_store::{AppendOutcome, AppendRequest, EventStore, StoreError};

/// Appends submitted at once by one command (the billing clock emits thousands).
pub const APPENDS_IN_FLIGHT_MAX: usize = 1_024;

/// Polls every future until all are ready; the outputs in the futures' order.
/// Futures are first polled in order, so that their requests reach the store's
/// writer in that order. Public so that the benchmarks submit a batch as the
/// ledger does.
pub async fn join_in_order<F: Future + Unpin>(futures: Vec<F>) -> Vec<F::Output> {
    let mut slots: Vec<Option<F>> = futures.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<F::Output>> = slots.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in slots.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = slot {
                match std::pin::Pin::new(f).poll(cx) {
                    Poll::Ready(o) => {
                        *output = Some(o);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// What one submitted append answers: the store's outcome and the envelopes
/// it stored.
pub type Answered = Result<(AppendOutcome, Vec<Envelope>), StoreError>;

/// A chunk of appends whose store has made ready what they need
/// ([`EventStore::prepare_appends`] returned: a sealing store's new person
/// keys are durable), each with what its submitter keeps beside it (`T`).
///
/// Only [`Prepared::prepare`] makes one and only [`Prepared::submit`] appends
/// one, so that no submit loop can append an event before the key it is
/// sealed with is durable: a crash between the two then leaves at worst a
/// key whose events were never appended, which is harmless, and never an
/// event whose key was never written.
pub struct Prepared<T> {
    requests: Vec<AppendRequest>,
    kept: Vec<T>,
}

impl<T> Prepared<T> {
    /// Makes ready what the appends of `chunk` need, and waits until it is.
    ///
    /// # Errors
    /// The store's failure to make it ready: none of `chunk` is appended.
    pub async fn prepare<S: EventStore>(
        store: &S,
        chunk: Vec<(AppendRequest, T)>,
    ) -> Result<Prepared<T>, StoreError> {
        let (mut requests, kept): (Vec<_>, Vec<_>) = chunk.into_iter().unzip();
        store.prepare_appends(&mut requests).await?;
        Ok(Prepared { requests, kept })
    }

    /// Submits every append of the chunk before awaiting any (the store's
    /// writer group-commits them); each answer beside what was kept with it,
    /// in order.
    pub async fn submit<S: EventStore>(self, store: &S) -> Vec<(Answered, T)> {
        let futures = self
            .requests
            .into_iter()
            .map(|r| store.append_stored(r))
            .collect();
        join_in_order(futures)
            .await
            .into_iter()
            .zip(self.kept)
            .collect()
    }
}

/// Submits `appends` in order, [`APPENDS_IN_FLIGHT_MAX`] at a time: a chunk's
/// appends are submitted once it is [`Prepared`], and the next chunk is
/// prepared while they are in flight, so that a sealing store's flush of the
/// next persons' keys overlaps the log's group commits instead of preceding
/// them. `answer` reads each chunk's answers once all are in; its error, or a
/// chunk that cannot be prepared, stops the submission (nothing after it is
/// appended; a key made ready for appends never submitted is harmless).
///
/// # Errors
/// The first error of `answer` or of a preparation.
pub async fn submit_prepared<S: EventStore, T>(
    store: &S,
    appends: Vec<(AppendRequest, T)>,
    mut answer: impl FnMut(Vec<(Answered, T)>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut rest = appends.into_iter().peekable();
    let mut next_chunk = move || {
        rest.peek().is_some().then(|| {
            rest.by_ref()
                .take(APPENDS_IN_FLIGHT_MAX)
                .collect::<Vec<_>>()
        })
    };
    let Some(first) = next_chunk() else {
        return Ok(());
    };
    let mut ready = Prepared::prepare(store, first).await?;
    loop {
        // The chunk's appends are polled first, so that they reach the
        // store's writer before the next chunk's flush starts.
        let (answers, next) = match next_chunk() {
            Some(chunk) => {
                let (answers, next) =
                    both(ready.submit(store), Prepared::prepare(store, chunk)).await;
                (answers, Some(next))
            }
            None => (ready.submit(store).await, None),
        };
        answer(answers)?;
        match next {
            Some(next) => ready = next?,
            None => return Ok(()),
        }
    }
}

/// Polls `first` then `second` at each wake until both are ready.
async fn both<A: Future, B: Future>(first: A, second: B) -> (A::Output, B::Output) {
    let (mut first, mut second) = (std::pin::pin!(first), std::pin::pin!(second));
    let (mut a, mut b) = (None, None);
    std::future::poll_fn(|cx| {
        if a.is_none() {
            a = ready(first.as_mut().poll(cx));
        }
        if b.is_none() {
            b = ready(second.as_mut().poll(cx));
        }
        match (a.take(), b.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (a, b) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

fn ready<O>(poll: Poll<O>) -> Option<O> {
    match poll {
        Poll::Ready(o) => Some(o),
        Poll::Pending => None,
    }
}
