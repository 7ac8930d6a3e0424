//! The personal space: accounts (`ACC-PASSWORD`, `ACC-LINK`), sessions (open,
//! logout), and the customer's own contracts (`ACC-MINOR-RENEW`,
//! `TERM-ATTESTATION`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use navigo_events_schema::types::ClientNumber;
use navigo_events_schema::views::{
    AccountCreated, AccountStatus, Attestation, AttestationHolder, AttestationStatus, MyContracts,
    OnlineRenewal, SessionOpened,
};
use navigo_events_schema::RuleId;
use navigo_rules::account;
use navigo_rules::calendar::paris_date;
use navigo_rules::contract::state::Status;
use serde_json::Value;

use crate::app::accounts::{account_person, create_account as create, AccountError};
use crate::app::auth::{self, Role};
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::extract::{body_object, date_field, parse_id, str_field};
use crate::http::reads::may_read_contract;
use crate::http::state::{AppState, LOGIN_CHARS_MAX};

/// POST /v1/accounts `{login, password, client_number, birth_date}`: a customer
/// creates their personal-space account (`ACC-PASSWORD`, `ACC-LINK`: one
/// account per customer), with the same rules as `navigo-ledger account
/// create`, while the ledger is served. 201 created; 422 refused with the rule
/// (never saying which of the client number and the birth date did not match);
/// 409 a login taken; 400 malformed; 429 after repeated failed links from one
/// address ([`crate::http::limits`]).
pub async fn create_account(
    State(st): State<Arc<AppState>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = body_object(&body, &["login", "password", "client_number", "birth_date"])?;
    let login = str_field(&m, "login")?
        .filter(|l| !l.trim().is_empty() && l.chars().count() <= LOGIN_CHARS_MAX)
        .ok_or_else(|| ApiError::bad("login", format!("1 to {LOGIN_CHARS_MAX} characters")))?;
    let password =
        str_field(&m, "password")?.ok_or_else(|| ApiError::bad("password", "missing"))?;
    let client: ClientNumber = str_field(&m, "client_number")?
        .ok_or_else(|| ApiError::bad("client_number", "missing"))?
        .parse()
        .map_err(|e| ApiError::bad("client_number", format!("{e}")))?;
    let birth = date_field(&m, "birth_date")?;
    let today = paris_date(st.clock.now());
    let attempt = format!("account:{client}");
    st.may_attempt(&attempt, from.ip()).await?;
    // The ledger's lock also serialises writers of the auth file.
    let mut ledger = st.ledger.lock().await;
    let person = ledger
        .read_paged(|w| account_person(w, &client, birth, password, today))
        .await
        .map_err(ApiError::from)?;
    let created = person.and_then(|person| create(&st.auth_path, login, person, password, today));
    drop(ledger);
    // A failed link counts (it is what guessing a birth date looks like); only a
    // created account forgets the failures (another refusal must not reset them).
    match &created {
        Ok(_) => st.attempted(&attempt, from.ip(), true).await,
        Err(AccountError::Refused(r)) if r.rule == RuleId::AccLink => {
            st.attempted(&attempt, from.ip(), false).await
        }
        Err(_) => {}
    }
    match created {
        Ok(_) => {
            let created = AccountCreated {
                status: AccountStatus::Created,
            };
            Ok((StatusCode::CREATED, answer::json(&created)?).into_response())
        }
        Err(AccountError::Refused(r)) => Err(ApiError::Refused(r)),
        Err(e @ AccountError::LoginTaken) => Err(ApiError::Conflict(e.to_string())),
        Err(AccountError::Storage(e)) => Err(ApiError::Internal(e.to_string())),
    }
}

/// POST /v1/sessions `{login, password}` → `{token, expires_at}`: a customer
/// session, persisted with its expiry. An unknown login and a wrong password get
/// the same answer: 401 `wrong_credentials`.
pub async fn open_session(
    State(st): State<Arc<AppState>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let m = body_object(&body, &["login", "password"])?;
    let login = str_field(&m, "login")?.ok_or_else(|| ApiError::bad("login", "missing"))?;
    let password =
        str_field(&m, "password")?.ok_or_else(|| ApiError::bad("password", "missing"))?;
    let attempt = format!("session:{login}");
    st.may_attempt(&attempt, from.ip()).await?;
    st.refresh_auth().await;
    let account = st.auth.read().await.0.accounts.get(login).cloned();
    let Some(account) = account.filter(|a| auth::verify_password(password, &a.password_hash))
    else {
        st.attempted(&attempt, from.ip(), false).await;
        return Err(ApiError::WrongPassword);
    };
    st.attempted(&attempt, from.ip(), true).await;
    let now = st.clock.now();
    let (token, expires_at) = st
        .sessions
        .write()
        .await
        .open(account.person, now)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    answer::json(&SessionOpened { token, expires_at })
}

/// DELETE /v1/sessions/current: the customer's logout; the session's token no
/// longer authenticates (204).
pub async fn close_session(
    State(st): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    require(&c, &[Role::Customer], "close a customer session")?;
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .map(|(_, t)| t.trim().to_owned())
        .ok_or(ApiError::Unauthorized)?;
    st.sessions
        .write()
        .await
        .close(&token)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /v1/me/contracts: the contracts the customer holds or pays, read through
/// the world's holder and payer indexes.
pub async fn my_contracts(
    State(st): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let p = require(&c, &[Role::Customer], "list their own contracts")?;
    let person = p.person.ok_or(ApiError::Unauthorized)?;
    let mut ledger = st.ledger.lock().await;
    let mut ids = ledger
        .read_paged(|w| {
            let mut ids: Vec<uuid::Uuid> = w.contracts_of_holder(person).map(|c| c.id).collect();
            ids.extend(
                w.by_payer
                    .get(&person)
                    .into_iter()
                    .flatten()
                    .filter(|id| w.contract(**id).is_some_and(|c| c.payer == person)),
            );
            ids
        })
        .await
        .map_err(ApiError::from)?;
    drop(ledger);
    ids.sort();
    ids.dedup();
    answer::json(&MyContracts { contracts: ids })
}

/// GET /v1/me/contracts/{id}/online-renewal (`ACC-MINOR-RENEW`): may the
/// customer renew this contract online?
pub async fn online_renewal(
    State(st): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let p = require(&c, &[Role::Customer], "renew online")?;
    let id = parse_id(&id)?;
    may_read_contract(&st, &p, id).await?;
    let birth = st
        .ledger
        .lock()
        .await
        .read_paged(|w| {
            w.contract(id)
                .and_then(|c| w.person(c.holder))
                .map(|h| h.birth_date)
        })
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::NotFound(format!("no contract {id} among yours")))?;
    account::check_online_renewal(birth, paris_date(st.clock.now())).map_err(ApiError::Refused)?;
    answer::json(&OnlineRenewal {
        online_renewal: true,
    })
}

/// GET /v1/me/contracts/{id}/attestation (`TERM-ATTESTATION`): the attestation
/// of a contract the customer holds or pays, when they are 16 or more and the
/// contract is active, suspended, or terminated less than 6 months ago (422
/// with the rule otherwise). It states the contract, its holder, its product
/// and its status on the day it is issued.
pub async fn attestation(
    State(st): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let p = require(&c, &[Role::Customer], "download an attestation")?;
    let person = p.person.ok_or(ApiError::Unauthorized)?;
    let id = parse_id(&id)?;
    may_read_contract(&st, &p, id).await?;
    let today = paris_date(st.clock.now());
    let read = st
        .ledger
        .lock()
        .await
        .read_paged(|w| attestation_of(w, id, person, today))
        .await
        .map_err(ApiError::from)?;
    answer::json(&read?)
}

/// The attestation of contract `id` for `person` on `today`
/// (`TERM-ATTESTATION`), read from the world (it may run more than once:
/// `Ledger::read_paged`).
fn attestation_of(
    w: &navigo_rules::world::World,
    id: uuid::Uuid,
    person: uuid::Uuid,
    today: chrono::NaiveDate,
) -> Result<Attestation, ApiError> {
    let mine = || ApiError::NotFound(format!("no contract {id} among yours"));
    let contract = w.contract(id).ok_or_else(mine)?;
    let me = w.person(person).ok_or_else(mine)?;
    let holder = w.person(contract.holder).ok_or_else(mine)?;
    navigo_rules::contract::ended::attestation_available(contract, person, me.birth_date, today)
        .map_err(ApiError::Refused)?;
    let status = match contract.status_on(today) {
        Some(Status::Active) => AttestationStatus::Active,
        Some(Status::Suspended { .. }) => AttestationStatus::Suspended,
        Some(Status::Terminated { .. }) => AttestationStatus::Terminated,
        None => AttestationStatus::NotStarted,
    };
    Ok(Attestation {
        rule: RuleId::TermAttestation,
        contract: id,
        holder: AttestationHolder {
            first_name: holder.first_name.clone(),
            last_name: holder.last_name.clone(),
        },
        product: contract.product,
        start_date: contract.start_date,
        status,
        issued_on: today,
    })
}
