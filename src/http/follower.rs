//! The task that keeps the service's materialized projections current
//! (`super::projector`): after every append, and at least every
//! [`PROJECTOR_CLOCK_CHECK_MS`] to see the date change, it brings them to the
//! head on today's date (Paris).

use std::sync::Arc;
use std::time::Duration;

use navigo_rules::calendar::paris_date;

use super::error::ApiError;
use super::metrics::gauge;
use super::projector;
use super::reads::all_events;
use super::state::AppState;

/// How often the follower reads the clock while nothing is appended, in
/// milliseconds: bounds how late after midnight (Paris) "today" rolls forward.
pub const PROJECTOR_CLOCK_CHECK_MS: u64 = 1_000;

/// Follows the service's appends for as long as it serves. A failure is
/// logged and retried at the next append or clock check; the lag shows it.
pub async fn follow(st: Arc<AppState>) {
    loop {
        // Registered before the catch-up reads the head, so that an append in
        // between wakes the next round.
        let appended = st.appended.notified();
        if let Err(e) = once(&st).await {
            tracing::error!(error = %e.body().message, "projections: catching up failed");
        }
        let _ =
            tokio::time::timeout(Duration::from_millis(PROJECTOR_CLOCK_CHECK_MS), appended).await;
    }
}

/// One round: nothing when the rows cover the head on today's date.
async fn once(st: &AppState) -> Result<(), ApiError> {
    let head = st.ledger.lock().await.world().position;
    let today = paris_date(st.clock.now());
    let p = &st.projector;
    if p.covered()
        .is_some_and(|g| g.checkpoint == head && g.at == today)
    {
        return Ok(());
    }
    let events = all_events(st).await?;
    let db = p.db.clone();
    let g = tokio::task::spawn_blocking(move || projector::step(&db, &events, today))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    st.metrics
        .projection_lag
        .set(gauge(head.saturating_sub(g.checkpoint)));
    p.reached(g);
    Ok(())
}
