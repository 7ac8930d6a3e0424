//! What the service's reads share: an unknown id as a 404, and whether a
//! customer may read a contract.

use uuid::Uuid;

use super::caller::Principal;
use super::error::ApiError;
use super::state::AppState;

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
