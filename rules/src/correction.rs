//! Corrections: annulling an earlier event (an `EventAnnulled`, never an edit).
//!
//! The annulment is appended to the stream of the event it annuls; the world then
//! rebuilds that stream's state without the annulled event (see `world.rs`).

use navigo_events_schema::command::AnnulEvent;
use navigo_events_schema::event::EventAnnulled;
use navigo_events_schema::sealed::Sealed;
use navigo_events_schema::{Event, StreamId, StreamKind};

use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// A named bound on the length of an annulment's reason.
pub const REASON_BYTES_MAX: usize = 500;

/// Handles `AnnulEvent`.
///
/// Decisions (RULES.md is silent): an annulment needs a reason for the audit
/// trail; the event opening a stream (`ContractSubscribed`, `PersonRegistered`)
/// cannot be annulled, since every later event of the stream depends on it (a
/// contract is terminated instead); an annulment cannot itself be annulled, nor
/// an event annulled twice.
///
/// # Errors
/// [`CommandError::Invalid`] naming `stream`, `event_id` or `reason`.
pub fn annul(
    world: &World,
    req: &Request<'_>,
    cmd: &AnnulEvent,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let reason = cmd.reason.trim();
    if reason.is_empty() || reason.len() > REASON_BYTES_MAX {
        return Err(CommandError::invalid(
            "reason",
            format!("an annulment gives its reason, 1 to {REASON_BYTES_MAX} bytes"),
        ));
    }
    let stream: StreamId = cmd.stream;
    let history = world
        .history
        .get(&stream)
        .ok_or_else(|| CommandError::invalid("stream", format!("no stream {stream}")))?;
    let Some(target) = history.iter().find(|e| e.event_id == cmd.event_id) else {
        return Err(CommandError::invalid(
            "event_id",
            format!("stream {stream} has no event {}", cmd.event_id),
        ));
    };
    if matches!(
        target.event,
        Event::EventAnnulled(_) | Event::ContractSubscribed(_) | Event::PersonRegistered(_)
    ) {
        return Err(CommandError::invalid(
            "event_id",
            format!(
                "event {} is a {} and cannot be annulled (a stream's opening event or an \
                 annulment)",
                cmd.event_id,
                target.event.type_name()
            ),
        ));
    }
    let already = history.iter().any(
        |e| matches!(&e.event, Event::EventAnnulled(a) if a.annulled_event_id == cmd.event_id),
    );
    if already {
        return Err(CommandError::invalid(
            "event_id",
            format!("event {} is already annulled", cmd.event_id),
        ));
    }
    let event = Event::EventAnnulled(EventAnnulled {
        annulled_event_id: cmd.event_id,
        annulled_position: target.position,
        person: person_concerned(world, stream),
        reason: Sealed::clear(reason.to_owned()),
    });
    let events = vec![req.event(ctx, req.date, event)];
    Ok(vec![decision(world, stream, events)])
}

/// The person an annulment's reason concerns, whose key seals it (see
/// [`EventAnnulled`]): the person of a person's stream, the holder of a
/// contract's; none for a stream of no person.
fn person_concerned(world: &World, stream: StreamId) -> Option<uuid::Uuid> {
    match stream.kind {
        StreamKind::Person => Some(stream.id),
        StreamKind::Contract => world.contract(stream.id).map(|c| c.holder),
        StreamKind::Catalogue | StreamKind::Campaign | StreamKind::Ledger | StreamKind::Bank => {
            None
        }
    }
}
