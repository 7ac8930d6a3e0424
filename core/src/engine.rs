//! The decision engine: `handle(world, command, context)` turns a command into
//! decisions (events for one stream each) or refuses it. It is pure: time comes from
//! the command's request instant, ids from the [`IdGen`] of the [`Context`], policy
//! parameters from its [`Policy`]. Nothing is appended here.

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::types::{Actor, ActorRole, Channel};
use navigo_events_schema::{Command, CommandEnvelope, Event, NewEvent, RuleId, StreamId};
use uuid::Uuid;

use crate::calendar;
use crate::policy::Policy;
use crate::refusal::{CommandError, Refusal};
use crate::rulebook::{self, Rulebook};
use crate::store::ExpectedVersion;
use crate::world::World;

/// A deterministic generator of UUID v7: the timestamp from the instant given, the
/// random bits from a seeded splitmix64, so that a scenario replays to the same ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdGen {
    state: u64,
}

impl IdGen {
    /// A generator from a seed.
    pub fn new(seed: u64) -> IdGen {
        IdGen { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        // splitmix64 (Steele, Lea, Flood 2014).
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A UUID v7 stamped with `at`.
    pub fn next(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes()[..2]);
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid()
    }
}

/// What a decision needs from outside: the policy and the id generator.
#[derive(Debug)]
pub struct Context<'a> {
    /// Policy parameters.
    pub policy: &'a Policy,
    /// Ids.
    pub ids: &'a mut IdGen,
}

/// Events for one stream, appended atomically with a version check.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The stream.
    pub stream: StreamId,
    /// The version the stream must be at.
    pub expected: ExpectedVersion,
    /// The events, in order.
    pub events: Vec<NewEvent>,
    /// Idempotency key of the append: set by the billing clock
    /// (`clock:debit:<contract>:<YYYY-MM>`...); for commands the ledger derives one
    /// from the command's key.
    pub idempotency_key: Option<String>,
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
        vec![Decision::new(
            world,
            StreamId::contract(contract_id),
            events,
        )]
    }
}

impl Decision {
    /// A decision appending `events` to `stream` at the world's current version.
    pub fn new(world: &World, stream: StreamId, events: Vec<NewEvent>) -> Decision {
        Decision {
            stream,
            expected: ExpectedVersion::Exact(world.version(stream)),
            events,
            idempotency_key: None,
        }
    }
}

/// Turns a command into decisions, or refuses it.
///
/// # Errors
/// [`CommandError::Refused`] with the rule id, article and what would make the
/// request acceptable; [`CommandError::Invalid`] naming the field for a command that
/// does not fit the ledger (unknown contract...).
pub fn handle(
    world: &World,
    cmd: &CommandEnvelope,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let date = calendar::paris_date(cmd.request_at);
    let req = Request {
        at: cmd.request_at,
        date,
        rulebook: rulebook::in_force(date),
        actor: &cmd.actor,
        channel: cmd.channel,
        correlation_id: ctx.ids.next(cmd.request_at),
    };
    use crate::contract::{
        fraud, loss, payment, senior, subscription, suspension, termination, treasury, zones,
    };
    use crate::{claims, correction, person, reference_cmds};
    match &cmd.command {
        Command::RegisterPerson(c) => person::register(world, &req, c, ctx),
        Command::ChangeAddress(c) => person::change_address(world, &req, c, ctx),
        Command::DeclareWorkStudyPlace(c) => person::declare_place(world, &req, c, ctx),
        Command::Subscribe(c) => subscription::subscribe(world, &req, c, ctx),
        Command::ChangeDebitDay(c) => payment::change_debit_day(world, &req, c, ctx),
        Command::ChangePayer(c) => payment::change_payer(world, &req, c, ctx),
        Command::ChangeMandate(c) => payment::change_mandate(world, &req, c, ctx),
        Command::RevokeMandate(c) => payment::revoke_mandate(world, &req, c, ctx),
        Command::SwitchPaymentMethod(c) => payment::switch_method(world, &req, c, ctx),
        Command::RecordDebitPresented(c) => payment::record_debit_presented(world, &req, c, ctx),
        Command::RecordDebitRejected(c) => payment::record_debit_rejected(world, &req, c, ctx),
        Command::SettleDebt(c) => payment::settle_debt(world, &req, c, ctx),
        Command::RecordCashPayment(c) => payment::record_cash_payment(world, &req, c, ctx),
        Command::PayRefund(c) => payment::pay_refund(world, &req, c, ctx),
        Command::Suspend(c) => suspension::suspend(world, &req, c, ctx),
        Command::Resume(c) => suspension::resume(world, &req, c, ctx),
        Command::ChangeZones(c) => zones::change_zones(world, &req, c, ctx),
        Command::DeclareLoss(c) => loss::declare_loss(world, &req, c, ctx),
        Command::TerminateByPayer(c) => termination::terminate_by_payer(world, &req, c, ctx),
        Command::TerminateByAgency(c) => termination::terminate_by_agency(world, &req, c, ctx),
        Command::EstablishFraud(c) => fraud::establish_fraud(world, &req, c, ctx),
        Command::IssueTreasuryNotice(c) => treasury::issue_notice(world, &req, c, ctx),
        Command::DeliverTreasuryNotice(c) => treasury::deliver_notice(world, &req, c, ctx),
        Command::SettleTreasuryNotice(c) => treasury::settle_notice(world, &req, c, ctx),
        Command::RequestSeniorSwitch(c) => senior::request_switch(world, &req, c, ctx),
        Command::ValidateSeniorSwitch(c) => senior::validate_switch(world, &req, c, ctx),
        Command::PublishTariff(c) => reference_cmds::publish_tariff(world, &req, c, ctx),
        Command::PublishSchoolHolidays(c) => {
            reference_cmds::publish_school_holidays(world, &req, c, ctx)
        }
        Command::PublishReasonCodes(c) => reference_cmds::publish_reason_codes(world, &req, c, ctx),
        Command::PublishCampaign(c) => reference_cmds::publish_campaign(world, &req, c, ctx),
        Command::FileRefundClaim(c) => claims::file_refund_claim(world, &req, c, ctx),
        Command::AnnulEvent(c) => correction::annul(world, &req, c, ctx),
        Command::AdvanceClock(c) => {
            Ok(crate::billing::advance_to(world, c.to, cmd.request_at, ctx))
        }
    }
}

/// The contract of a command, or an error naming `contract_id`.
///
/// # Errors
/// [`CommandError::Invalid`] when the contract is unknown.
pub fn contract(
    world: &World,
    id: Uuid,
) -> Result<&crate::contract::state::ContractState, CommandError> {
    world
        .contract(id)
        .ok_or_else(|| CommandError::invalid("contract_id", format!("no contract {id}")))
}
