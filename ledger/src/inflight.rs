//! Appends submitted together: a command's (the billing clock emits thousands)
//! and an import batch's, polled at once so that the store's writer gathers
//! them into group commits, and answered in the order they were submitted.

/// Appends submitted at once by one command (the billing clock emits thousands).
pub const APPENDS_IN_FLIGHT_MAX: usize = 1_024;

/// Polls every future until all are ready; the outputs in the futures' order.
/// Futures are first polled in order, so that their requests reach the store's
/// writer in that order. Public so that the benchmarks submit a batch as the
/// ledger does.
pub async fn join_in_order<F: std::future::Future + Unpin>(futures: Vec<F>) -> Vec<F::Output> {
    let mut slots: Vec<Option<F>> = futures.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<F::Output>> = slots.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in slots.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = slot {
                match std::pin::Pin::new(f).poll(cx) {
                    std::task::Poll::Ready(o) => {
                        *output = Some(o);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
