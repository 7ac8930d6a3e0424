//! What the service's reads share: an unknown id as a 404, and whether a
//! customer may read a contract.

use std::sync::Arc;

use navigo_events_schema::Envelope;
use navigo_store::{next_envelope, EventStore};
use uuid::Uuid;

use super::caller::Principal;
use super::error::ApiError;
use super::state::AppState;

/// Every stored event: the cached ones plus those appended since (read from the
/// store under the writer's lock, so the copy is never torn).
///
/// # Errors
/// A record that does not read back.
pub async fn all_events(st: &AppState) -> Result<Arc<Vec<Envelope>>, ApiError> {
    let ledger = st.ledger.lock().await;
    let mut cache = st.events.lock().await;
    let head = ledger.world().position;
    let have = cache.last().map_or(0, |e| e.position);
    if have < head {
        let events = Arc::make_mut(&mut cache);
        let mut s = ledger.store().read_all(have + 1);
        while let Some(e) = next_envelope(&mut s).await {
            events.push(e?);
        }
    }
    Ok(cache.clone())
}

/// An unknown id is a 404.
pub fn not_found(e: navigo_projections::ProjectionError) -> ApiError {
    ApiError::NotFound(e.to_string())
}

/// Whether a customer may read a contract: they hold it or pay it (now or ever).
/// An unknown contract and another customer's are both 404, so ids cannot be
/// probed.
///
/// # Errors
/// 404 for a contract that is not the customer's.
pub async fn may_read_contract(
    st: &AppState,
    p: &Principal,
    contract: Uuid,
) -> Result<(), ApiError> {
    let Some(person) = p.person else {
        return Ok(());
    };
    let theirs = st
        .ledger
        .lock()
        .await
        .read_paged(|w| {
            w.contract(contract)
                .is_some_and(|c| c.holder == person || c.payer == person)
                || w.by_payer
                    .get(&person)
                    .is_some_and(|s| s.contains(&contract))
        })
        .await
        .map_err(ApiError::from)?;
    if theirs {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "no contract {contract} among yours"
        )))
    }
}
