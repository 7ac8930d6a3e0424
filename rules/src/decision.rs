//! What every command family decides with: the [`Request`] (its instant, date,
//! rulebook, actor and channel, computed once), the [`Context`] (policy and ids),
//! and the [`Decision`] it returns (events for one stream, appended atomically
//! with a version check). The dispatcher ([`crate::engine`]) builds the first two
//! and hands them to the family's handler.

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::types::{Actor, ActorRole, Channel};
use navigo_events_schema::{AppendRequest, Event, ExpectedVersion, NewEvent, RuleId, StreamId};
use uuid::Uuid;

use crate::ids::IdGen;
use crate::policy::Policy;
use crate::refusal::{CommandError, Refusal};
use crate::rulebook::Rulebook;
use crate::world::World;

/// What a decision needs from outside: the policy and the id generator.
#[derive(Debug)]
pub struct Context<'a> {
    /// Policy parameters.
    pub policy: &'a Policy,
    /// Ids.
    pub ids: &'a mut IdGen,
}

/// Events for one stream, appended atomically with a version check: an append
/// request as the rules make it. The rules set the stream, the version they
/// judged it at and the events; the billing clock also sets the idempotency key
/// (`clock:debit:<contract>:<YYYY-MM>`...), and for commands the ledger derives
/// one from the command's key. The import instant (`recorded_at`) is the
/// ledger's to set: the rules leave it `None`.
pub type Decision = AppendRequest;

/// A decision appending `events` to `stream` at the world's current version.
pub fn decision(world: &World, stream: StreamId, events: Vec<NewEvent>) -> Decision {
    AppendRequest::new(
        stream,
        ExpectedVersion::Exact(world.version(stream)),
        events,
    )
}

/// The common facts of a request, computed once for every family.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The request instant.
    pub at: DateTime<Utc>,
    /// Its Europe/Paris date (RULES.md §0).
    pub date: NaiveDate,
    /// The rulebook in force on the request date (RULES.md §0 Decision).
    pub rulebook: &'static Rulebook,
    /// Who asks.
    pub actor: &'a Actor,
    /// Through which channel.
    pub channel: Option<Channel>,
    /// The correlation id shared by every event of the request.
    pub correlation_id: Uuid,
}

impl Request<'_> {
    /// The registered person a customer actor is, when the world can tell: the
    /// actor id is the person's client number or person id. `None` for an agent,
    /// the system, an import, or a customer id that names no registered person
    /// (actor ids are free text; such a request is not restricted).
    pub fn customer_person(&self, world: &World) -> Option<Uuid> {
        if self.actor.role != ActorRole::Customer {
            return None;
        }
        let id = self.actor.id.trim();
        if let Ok(uuid) = id.parse::<Uuid>() {
            if world.person(uuid).is_some() {
                return Some(uuid);
            }
        }
        world.person_by_client_number(id).map(|p| p.id)
    }

    /// A refusal by `rule`, citing the article of the rulebook in force.
    pub fn refuse(&self, rule: RuleId, message: impl Into<String>) -> CommandError {
        CommandError::Refused(Refusal::under(self.rulebook, rule, message))
    }

    /// The channel, or an error naming the field when the command needs one.
    ///
    /// # Errors
    /// [`CommandError::Invalid`] on `channel` when absent.
    pub fn channel(&self) -> Result<Channel, CommandError> {
        self.channel
            .ok_or_else(|| CommandError::invalid("channel", "this command needs a channel"))
    }

    /// A new event of this request.
    pub fn event(
        &self,
        ctx: &mut Context<'_>,
        effective_date: NaiveDate,
        event: Event,
    ) -> NewEvent {
        NewEvent {
            event_id: ctx.ids.next(self.at),
            effective_date,
            actor: self.actor.clone(),
            channel: self.channel,
            correlation_id: self.correlation_id,
            causation_id: None,
            event,
        }
    }

    /// The decision of a command that appends one event, effective on
    /// `effective_date`, to the stream of contract `contract_id`: the common end of
    /// most contract handlers.
    pub fn one_contract_event(
        &self,
        world: &World,
        ctx: &mut Context<'_>,
        contract_id: Uuid,
        effective_date: NaiveDate,
        event: Event,
    ) -> Vec<Decision> {
        let events = vec![self.event(ctx, effective_date, event)];
        vec![decision(world, StreamId::contract(contract_id), events)]
    }
}
