//! The person's data as such, for both transports: which persons'
//! `TERM-RETENTION` ran out on a date ([`retention`], a walk of every state a
//! chunk at a time) and everything the ledger holds about one person
//! ([`subject_export`], an access request, read from the person's slice of the
//! log through the normal read path).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::types::Actor;
use navigo_events_schema::views::{
    AddressFrom, RetentionDueView, RetentionPolicyView, RetentionView, StoredEvent, SubjectAccount,
    SubjectContract, SubjectExport, SubjectIdentity, SubjectMandate, SubjectPlace, SubjectRole,
};
use navigo_events_schema::{Envelope, RuleId, StreamKind};
use navigo_ledger_core::{Ledger, LedgerError, StateRef};
use navigo_projections::{Folded, ProjectionError, Query};
use navigo_rules::contract::state::ContractState;
use navigo_rules::retention::{already_erased, RetentionPolicy, RetentionRun};
use navigo_rules::rulebook;
use navigo_rules::world::PersonState;
use navigo_store::EventStore;
use uuid::Uuid;

use super::commands::erase_person;
use super::read::{self, Subject};
use super::store::AnyStore;

/// States a retention run pages in at a time: the walk holds the cache and
/// one chunk, never every state.
pub const RETENTION_STATES_PER_CHUNK: usize = 4_096;

/// The persons whose retention under `policy` ran out on `on`, and the policy
/// applied: a dry run, nothing is written.
///
/// # Errors
/// A store failure or a corrupt record.
pub async fn retention<S: EventStore>(
    ledger: &mut Ledger<S>,
    on: NaiveDate,
    policy: RetentionPolicy,
) -> Result<RetentionView, LedgerError> {
    let mut run = RetentionRun::new(policy, on);
    let mut persons = 0u64;
    ledger
        .walk_states(RETENTION_STATES_PER_CHUNK, |_, _, state| match state {
            StateRef::Contract(c) => run.add_contract(c),
            StateRef::Person(p) => {
                persons += 1;
                run.add_person(p, already_erased(p));
            }
        })
        .await?;
    let due = run
        .due()
        .into_iter()
        .map(|d| RetentionDueView {
            person: d.person,
            client_number: d.client_number,
            last_contract: d.last_contract,
            last_contract_end: d.last_contract_end,
            relationship_end: d.relationship_end,
            ran_out_on: d.ran_out_on,
        })
        .collect();
    Ok(RetentionView {
        on,
        policy: policy_view(policy, on),
        applied: false,
        due,
        persons,
    })
}

/// Erases every person `view` lists as due (`erase_person`, the policy's rule
/// and article and the run's date as the legal basis), in the view's order,
/// and marks the view applied.
///
/// # Errors
/// The first erasure that fails (those before it stay done: each erasure is
/// complete on its own, and a run again lists only the persons left).
pub async fn apply_retention(
    ledger: &mut Ledger<AnyStore>,
    view: &mut RetentionView,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let basis = format!(
        "{} ({}): personal data kept {} years after the end of the last contract; \
         ran out by {}",
        view.policy.rule.as_str(),
        view.policy.article,
        view.policy.years_after_last_contract_end,
        view.on
    );
    for due in &view.due {
        erase_person(ledger, due.person, &basis, actor.clone(), now).await?;
    }
    view.applied = true;
    Ok(())
}

/// The parameters of `policy` as printed, with the article in force on `on`.
pub fn policy_view(policy: RetentionPolicy, on: NaiveDate) -> RetentionPolicyView {
    RetentionPolicyView {
        rule: RuleId::TermRetention,
        article: rulebook::in_force(on)
            .article(RuleId::TermRetention)
            .to_owned(),
        years_after_last_contract_end: policy.years_after_last_contract_end,
    }
}

/// Why a subject export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SubjectError {
    /// The ledger knows no such person.
    #[error("no person {0} in the ledger (PERSON is a person's id, not a contract's)")]
    UnknownPerson(Uuid),
    /// A view could not be computed.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// A store failure or a corrupt record.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Everything the ledger holds about `person`, its views read on the Paris
/// date of `now` with everything known; `login` is the person's
/// personal-space account, if any.
///
/// # Errors
/// [`SubjectError`]: an unknown person first of all.
pub async fn subject_export<S: EventStore>(
    ledger: &mut Ledger<S>,
    person: Uuid,
    now: DateTime<Utc>,
    login: Option<String>,
) -> Result<SubjectExport, SubjectError> {
    let events = read::slice(ledger, person, Subject::Person).await?;
    let q = Query::on(navigo_rules::calendar::paris_date(now));
    let folded = Folded::new(&events, &q);
    let world = folded.known();
    let p = world
        .person(person)
        .ok_or(SubjectError::UnknownPerson(person))?;
    let identity = identity(p);
    let ids: BTreeSet<Uuid> = events
        .iter()
        .filter(|e| e.stream.kind == StreamKind::Contract)
        .map(|e| e.stream.id)
        .collect();
    let mut contracts = Vec::new();
    let mut mandates = Vec::new();
    for id in ids {
        let Some(c) = world.contract(id) else {
            continue;
        };
        let roles = roles(c, person);
        mandates.extend(signed_mandates(c, person));
        let slice = read::slice(ledger, id, Subject::Contract).await?;
        contracts.push(SubjectContract {
            contract: id,
            roles,
            state: read::contract_state(&slice, id, &q, None)?.view,
            balance: read::contract_balance(&slice, id, &q)?,
            calendar: read::calendar(&slice, id, &q, None)?,
        });
    }
    let own = |e: &&Envelope| e.stream.id == person || e.stream.kind == StreamKind::Contract;
    Ok(SubjectExport {
        person,
        as_of: q.as_of(),
        exported_at: now,
        identity,
        contracts,
        bans: read::person_bans(&events, person, &q)?,
        refunds: read::person_refunds(&events, person, &q)?,
        account: login.map(|login| SubjectAccount { login }),
        mandates,
        events: events.iter().filter(own).map(StoredEvent::from).collect(),
    })
}

/// The mandates of `c` that `person` signed: those naming them as payer, and
/// the legacy ones (which name no payer) of the months they paid.
fn signed_mandates(c: &ContractState, person: Uuid) -> Vec<SubjectMandate> {
    c.mandates
        .iter()
        .filter(|(from, m)| m.payer.unwrap_or_else(|| c.payer_at(*from)) == person)
        .map(|(from, m)| SubjectMandate {
            contract: c.id,
            from_month: *from,
            reference: m.reference.clone(),
            signed_on: m.signed_on,
            debtor: m.account().cloned(),
        })
        .collect()
}

fn identity(p: &PersonState) -> SubjectIdentity {
    SubjectIdentity {
        client_number: p.client_number.clone(),
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        birth_date: p.birth_date,
        emancipation_proof: p.emancipation_proof.clone(),
        addresses: p
            .addresses
            .iter()
            .map(|(from, address)| AddressFrom {
                from: *from,
                address: address.clone(),
            })
            .collect(),
        places: p
            .places
            .iter()
            .map(|w| SubjectPlace {
                kind: w.kind,
                municipality: w.municipality.clone(),
                proof_ref: w.proof_ref.clone(),
                since: w.since,
            })
            .collect(),
    }
}

/// How contract `c` concerns `person`.
fn roles(c: &ContractState, person: Uuid) -> Vec<SubjectRole> {
    let mut out = Vec::new();
    if c.holder == person {
        out.push(SubjectRole::Holder);
    }
    if c.payer == person || c.payers.iter().any(|(_, p)| *p == person) {
        out.push(SubjectRole::Payer);
    }
    if c.fraud
        .as_ref()
        .is_some_and(|(f, a)| *f == person || a.contains(&person))
    {
        out.push(SubjectRole::Fraud);
    }
    out
}

/// The login of `person`'s personal-space account in the auth file at
/// `auth_file`, if they have one (never its password hash).
///
/// # Errors
/// An unreadable or malformed auth file.
pub fn account_login(auth_file: &std::path::Path, person: Uuid) -> anyhow::Result<Option<String>> {
    let db = super::auth::AuthDb::load(auth_file)?;
    Ok(db
        .accounts
        .values()
        .find(|a| a.person == person)
        .map(|a| a.login.clone()))
}
