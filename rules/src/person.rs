//! Persons: registration, address history, declared places of work or study.

use navigo_events_schema::command::{ChangeAddress, DeclareWorkStudyPlace, RegisterPerson};
use navigo_events_schema::event::{AddressChanged, PersonRegistered, WorkStudyPlaceDeclared};
use navigo_events_schema::{Event, StreamId};

use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

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
            first_name: cmd.first_name.clone(),
            last_name: cmd.last_name.clone(),
            birth_date: cmd.birth_date,
            emancipation_proof: cmd.emancipation_proof.clone(),
            address: cmd.address.clone(),
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
            address: cmd.address.clone(),
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
            municipality: cmd.municipality.clone(),
            proof_ref: cmd.proof_ref.clone(),
        }),
    );
    Ok(vec![decision(
        world,
        StreamId::person(cmd.person_id),
        vec![e],
    )])
}

fn known(world: &World, id: uuid::Uuid) -> Result<(), CommandError> {
    world
        .person(id)
        .map(|_| ())
        .ok_or_else(|| CommandError::invalid("person_id", format!("no person {id}")))
}
