//! `POST /v1/partner/check` (`PARTNER-CHECK`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::{Extension, Json};
use chrono::NaiveDate;
use navigo_events_schema::types::ClientNumber;
use navigo_events_schema::views::{PartnerAnswer, PartnerCode};
use navigo_rules::account::{
    self, PartnerIdentifier, PartnerReturnCode, PartnerSubject, SubscriptionState,
};
use navigo_rules::calendar::paris_date;
use navigo_rules::contract::state::Status;
use navigo_rules::world::{PersonState, World};
use serde_json::Value;
use uuid::Uuid;

use crate::app::auth::Role;
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::extract::{body_object, date_field, str_field};
use crate::http::state::AppState;

/// POST /v1/partner/check (`PARTNER-CHECK`): `{pass_number | client_number,
/// birth_date}` → `{"code": "00" | "01" | "02"}` and nothing else. Decision: the
/// ledger has no separate pass number; a pass is identified by its contract id.
/// Each partner token may run [`crate::http::limits::PARTNER_CHECKS_PER_MINUTE_MAX`]
/// checks a minute (429 beyond), so that a partner cannot try birth dates at will.
pub async fn check(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let p = require(&p, &[Role::Partner], "run the partner validity check")?;
    st.partner_checks
        .lock()
        .await
        .take(&p.name, st.clock.now())
        .map_err(ApiError::TooManyAttempts)?;
    let m = body_object(&body, &["pass_number", "client_number", "birth_date"])?;
    let birth = date_field(&m, "birth_date")?;
    let id = match (
        str_field(&m, "pass_number")?,
        str_field(&m, "client_number")?,
    ) {
        // A pass number is its contract's id: anything else is malformed, not
        // an unknown pass (a partner learns nothing either way, but a typo is
        // told as such).
        (Some(p), None) => PartnerIdentifier::Pass(
            p.parse::<Uuid>()
                .map_err(|e| {
                    ApiError::bad("pass_number", format!("not a pass number (a UUID): {e}"))
                })?
                .to_string(),
        ),
        (None, Some(c)) => PartnerIdentifier::Client(
            c.parse::<ClientNumber>()
                .map_err(|e| ApiError::bad("client_number", e.to_string()))?,
        ),
        _ => {
            return Err(ApiError::bad(
                "pass_number",
                "give exactly one of pass_number and client_number",
            ))
        }
    };
    let today = paris_date(st.clock.now());
    let code = st
        .ledger
        .lock()
        .await
        .read_paged(|w| partner_code(w, &id, birth, today))
        .await
        .map_err(ApiError::from)?;
    answer::json(&PartnerAnswer { code })
}

/// The answer of `PARTNER-CHECK` for `id` and `birth` on `today`, read from
/// the world (it may run more than once: `Ledger::read_paged`).
fn partner_code(
    w: &World,
    id: &PartnerIdentifier,
    birth: NaiveDate,
    today: NaiveDate,
) -> PartnerCode {
    // The only persons who can match: those of the client number, or the holder
    // of the contract the pass number names (a pass is its contract's id), read
    // through the world's indexes instead of a scan of every person.
    let candidates: Vec<&PersonState> = match id {
        PartnerIdentifier::Client(c) => w.persons_by_client_number(c.as_str()).collect(),
        PartnerIdentifier::Pass(pass) => pass
            .parse::<Uuid>()
            .ok()
            .and_then(|contract| w.contract(contract))
            .and_then(|c| w.person(c.holder))
            .into_iter()
            .collect(),
    };
    let owned: Vec<(&PersonState, Vec<String>, SubscriptionState)> = candidates
        .into_iter()
        .map(|person| {
            let mut passes = Vec::new();
            let mut state = SubscriptionState::None;
            for c in w.contracts_of_holder(person.id) {
                passes.push(c.id.to_string());
                match c.status_on(today) {
                    Some(Status::Active) => state = SubscriptionState::Active,
                    Some(Status::Suspended { .. }) if state == SubscriptionState::None => {
                        state = SubscriptionState::Suspended
                    }
                    _ => {}
                }
            }
            (person, passes, state)
        })
        .collect();
    let subjects: Vec<PartnerSubject<'_>> = owned
        .iter()
        .map(|(person, passes, state)| PartnerSubject {
            client_number: &person.client_number,
            pass_numbers: passes,
            birth_date: person.birth_date,
            state: *state,
        })
        .collect();
    match account::partner_check(id, birth, &subjects) {
        PartnerReturnCode::Valid => PartnerCode::Valid,
        PartnerReturnCode::NotValid => PartnerCode::NotValid,
        PartnerReturnCode::NoMatch => PartnerCode::NoMatch,
    }
}
