//! What both command paths of the service share (one command at a time on
//! PostgreSQL, the pipeline on sled): a customer's ownership check and the
//! answer built from each command's outcome.

use axum::http::StatusCode;
use navigo_events_schema::views::{BatchFailure, BatchOutcome, BatchOutcomes, CommandAccepted};
use navigo_events_schema::CommandEnvelope;
use navigo_ledger_core::LedgerError;
use serde_json::Value;

use crate::http::answer;
use crate::http::authz;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// The field name of a command's field, inside a batch: `[i].field`.
pub(crate) fn at(index: Option<usize>, field: &str) -> String {
    match index {
        Some(i) => format!("[{i}].{field}"),
        None => field.to_owned(),
    }
}

/// A customer's commands are on the contracts they hold or pay (claims filed
/// as themselves); any other role's are not checked here.
///
/// # Errors
/// [`ApiError::ForbiddenField`] naming the first command that is not.
pub(crate) async fn check_owned(
    ledger: &mut navigo_ledger_core::Ledger<crate::app::store::AnyStore>,
    person: Option<uuid::Uuid>,
    cmds: &[CommandEnvelope],
    batch: bool,
) -> Result<(), ApiError> {
    let Some(person) = person else {
        return Ok(());
    };
    for (i, c) in cmds.iter().enumerate() {
        let owns = ledger
            .read_paged(|w| authz::customer_owns(w, person, &c.command))
            .await
            .map_err(ApiError::from)?;
        owns.map_err(|field| ApiError::ForbiddenField {
            field: at(batch.then_some(i), field),
            message: "a customer acts on the contracts they hold or pay, and files \
                          claims as themselves; this one is not among yours"
                .into(),
        })?;
    }
    Ok(())
}

/// The answer to the commands of one request, from each one's outcome: one
/// command as itself (201 and the events, or its error); a batch with each
/// command's outcome (200). Accepted commands are counted in the metrics.
///
/// # Errors
/// Only if an answer does not serialise.
pub(crate) fn answer_outcomes(
    st: &AppState,
    results: Vec<Result<CommandAccepted, LedgerError>>,
    batch: bool,
) -> Result<(StatusCode, Value), ApiError> {
    let mut outcomes = Vec::with_capacity(results.len());
    for result in results {
        let outcome = match result {
            Ok(accepted) => {
                st.metrics.accepted_commands.inc();
                st.metrics
                    .appended_events
                    .inc_by(u64::try_from(accepted.events.len()).unwrap_or(0));
                BatchOutcome::Accepted(accepted)
            }
            Err(e) => {
                let e = ApiError::from(e);
                BatchOutcome::Failed(BatchFailure {
                    status: e.status().as_u16(),
                    error: e.body(),
                })
            }
        };
        outcomes.push(outcome);
    }
    if batch {
        return Ok((StatusCode::OK, answer::value(&BatchOutcomes { outcomes })?));
    }
    match outcomes.pop() {
        Some(BatchOutcome::Accepted(a)) => Ok((StatusCode::CREATED, answer::value(&a)?)),
        Some(BatchOutcome::Failed(f)) => {
            let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::OK);
            Ok((status, answer::value(&f.error)?))
        }
        // A body holds one command at least (parse_body).
        None => Err(ApiError::Internal("no command was judged".into())),
    }
}
