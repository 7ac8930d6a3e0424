//! Persons: registration, address history, declared places of work or study.

use navigo_events_schema::command::{
    ChangeAddress, DeclareWorkStudyPlace, ErasePersonalData, RegisterPerson,
};
use navigo_events_schema::event::{
    AddressChanged, PersonDetails, PersonRegistered, PersonalDataErased, PlaceProof,
    WorkStudyPlaceDeclared,
};
use navigo_events_schema::sealed::Sealed;
use navigo_events_schema::{Command, Event, RuleId, StreamId};

use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::{PersonState, World};

/// Registers a person.
///
/// # Errors
/// A person id or client number already registered, a birth date after the
/// request date.
pub fn register(
    world: &World,
    req: &Request<'_>,
    cmd: &RegisterPerson,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    if world.person(cmd.person_id).is_some() {
        return Err(CommandError::invalid(
            "person_id",
            format!("person {} is already registered", cmd.person_id),
        ));
    }
    if world
        .person_by_client_number(cmd.client_number.as_str())
        .is_some()
    {
        return Err(CommandError::invalid(
            "client_number",
            // The number is not repeated: an answer or a log line never
            // carries personal data, and the sender knows what it sent.
            "this client number is already registered to another person",
        ));
    }
    if cmd.birth_date > req.date {
        return Err(CommandError::invalid(
            "birth_date",
            // The birth date is not repeated (personal data), the request
            // date is.
            format!("the birth date is after the request date {}", req.date),
        ));
    }
    let since = cmd.address_since.unwrap_or(req.date);
    let e = req.event(
        ctx,
        since,
        Event::PersonRegistered(PersonRegistered {
            client_number: cmd.client_number.clone(),
            personal: Sealed::clear(PersonDetails {
                first_name: cmd.first_name.clone(),
                last_name: cmd.last_name.clone(),
                birth_date: cmd.birth_date,
                emancipation_proof: cmd.emancipation_proof.clone(),
                address: cmd.address.clone(),
            }),
        }),
    );
    let stream = StreamId::person(cmd.person_id);
    Ok(vec![decision(world, stream, vec![e])])
}

/// Records a new residence from a date.
///
/// # Errors
/// Unknown person.
pub fn change_address(
    world: &World,
    req: &Request<'_>,
    cmd: &ChangeAddress,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    known(world, cmd.person_id)?;
    let e = req.event(
        ctx,
        cmd.effective_date,
        Event::AddressChanged(AddressChanged {
            address: Sealed::clear(cmd.address.clone()),
        }),
    );
    Ok(vec![decision(
        world,
        StreamId::person(cmd.person_id),
        vec![e],
    )])
}

/// Declares a place of work or study, with proof (`REF-PLACE`).
///
/// # Errors
/// Unknown person, empty proof reference.
pub fn declare_place(
    world: &World,
    req: &Request<'_>,
    cmd: &DeclareWorkStudyPlace,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    known(world, cmd.person_id)?;
    if cmd.proof_ref.trim().is_empty() {
        return Err(CommandError::invalid(
            "proof_ref",
            "a place of work or study is declared with a proof reference",
        ));
    }
    let e = req.event(
        ctx,
        cmd.effective_date.unwrap_or(req.date),
        Event::WorkStudyPlaceDeclared(WorkStudyPlaceDeclared {
            kind: cmd.kind,
            place: Sealed::clear(PlaceProof {
                municipality: cmd.municipality.clone(),
                proof_ref: cmd.proof_ref.clone(),
            }),
        }),
    );
    Ok(vec![decision(
        world,
        StreamId::person(cmd.person_id),
        vec![e],
    )])
}

/// Records the erasure of a person's personal data (`TERM-RETENTION`). The
/// person's key is destroyed by the store before the event is appended; the
/// rules only record it. A person already erased gets nothing more: erasing
/// twice is erasing once.
///
/// # Errors
/// Unknown person, an empty legal basis.
pub fn erase(
    world: &World,
    req: &Request<'_>,
    cmd: &ErasePersonalData,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let person = known(world, cmd.person_id)?;
    if cmd.basis.trim().is_empty() {
        return Err(CommandError::invalid(
            "basis",
            "an erasure states its legal basis (e.g. \"TERM-RETENTION: five years after the \
             last contract ended\" or \"GDPR art. 17 request of <date>\")",
        ));
    }
    if person.erased {
        return Ok(Vec::new());
    }
    let e = req.event(
        ctx,
        req.date,
        Event::PersonalDataErased(PersonalDataErased {
            basis: cmd.basis.clone(),
        }),
    );
    Ok(vec![decision(
        world,
        StreamId::person(cmd.person_id),
        vec![e],
    )])
}

/// Refuses a command that would read or record the personal data of an erased
/// person (`TERM-RETENTION`): their names, birth date and residences are gone,
/// so an age, a residence or a new address cannot be judged or sealed. Money,
/// calendars and bans of their contracts need none of it and go on.
///
/// # Errors
/// The refusal naming the erased person.
pub fn refuse_if_erased(
    world: &World,
    req: &Request<'_>,
    cmd: &Command,
) -> Result<(), CommandError> {
    let holder_of = |id| world.contract(id).map(|c| c.holder);
    let persons: Vec<uuid::Uuid> = match cmd {
        Command::ChangeAddress(c) => vec![c.person_id],
        Command::DeclareWorkStudyPlace(c) => vec![c.person_id],
        Command::Subscribe(c) => vec![c.holder, c.payer],
        Command::ChangePayer(c) => vec![c.payer],
        Command::FileRefundClaim(c) => vec![c.holder, c.filer],
        Command::RequestSeniorSwitch(c) => holder_of(c.contract_id).into_iter().collect(),
        _ => Vec::new(),
    };
    for id in persons {
        if let Some(Err(erased)) = world.person(id).map(|p| p.personal_data()) {
            return Err(req.refuse(
                RuleId::TermRetention,
                format!(
                    "the personal data of person {} was erased: this request needs their \
                     birth date or residence, which the ledger no longer holds; register \
                     the person again under a new id with fresh proofs",
                    erased.0
                ),
            ));
        }
    }
    Ok(())
}

fn known(world: &World, id: uuid::Uuid) -> Result<&PersonState, CommandError> {
    world
        .person(id)
        .ok_or_else(|| CommandError::invalid("person_id", format!("no person {id}")))
}
