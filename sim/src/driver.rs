//! The simulation driver: sends a [`Plan`](crate::Plan) through the ledger's real command path
//! ([`Ledger::execute`], import clock) and counts what happened to each request.

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use navigo_bank::{debit_end_to_end_id, BankReturn, FileSummary, Notification, StatusReport};
use navigo_events_schema::command::{
    PayRefund, RecordCashPayment, RecordDebitRejected, SettleDebt, SettleTreasuryNotice,
    SwitchPaymentMethod, TreasuryNoticeRef,
};
use navigo_events_schema::event::{PaymentMeans, SettlementChannel};
use navigo_events_schema::types::{
    Actor, ActorRole, Channel, Money, PaymentRequest, PaymentSetup, ReasonCode,
};
use navigo_events_schema::{Command, CommandEnvelope, RuleId, StreamId, YearMonth};

use crate::generate::{Intent, PlanWindows, PlannedCommand, Step};
use crate::rates::TREASURY_SETTLED_SHARE;
use crate::rng::Rng;
use crate::spill::SpillError;
use navigo_ledger_core::{ClockMode, Ledger, LedgerError, StateRef};
use navigo_rules::calendar::paris_date;
use navigo_rules::refusal::CommandError;
use navigo_rules::world::{PersonState, World};
use navigo_store::EventStore;
use uuid::Uuid;

/// Examples kept per refusal rule or invalid field, for the report.
pub const EXAMPLES_PER_KIND_MAX: usize = 3;
/// Days before the end of a cash period within which the payer renews (the
/// renewal notice comes 45 days before, `PAY-CASH`).
pub const CASH_RENEWAL_LEAD_DAYS: i64 = 40;
/// Days after its issue a Trésor Public notice is delivered by the back office.
pub const NOTICE_DELIVERY_DAYS: i64 = 10;
/// Days after its delivery a settled notice is recorded as settled.
pub const NOTICE_SETTLEMENT_DAYS: i64 = 30;

/// What happened to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Appended `events` events.
    Accepted {
        /// Events appended.
        events: usize,
    },
    /// Its idempotency key was already used: answered with the first events,
    /// nothing appended.
    AlreadyApplied,
    /// Refused by a rule (nothing appended).
    Refused {
        /// The rule.
        rule: RuleId,
        /// The message.
        message: String,
    },
    /// Invalid for the ledger's state (nothing appended).
    Invalid {
        /// The field.
        field: &'static str,
        /// The message.
        message: String,
    },
    /// Its request instant is earlier than the ledger's head: refused as out of
    /// order, nothing appended.
    OutOfOrder {
        /// The head's instant.
        head: DateTime<Utc>,
    },
    /// An intent with nothing to do (no debit to reject, no debt to settle).
    Skipped,
}

/// Counts of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriveReport {
    /// Commands judged (planned commands plus the commands intents resolved to).
    pub sent: u64,
    /// Accepted and appended.
    pub accepted: u64,
    /// Answered as already applied (same idempotency key).
    pub already_applied: u64,
    /// Refusals by rule id.
    pub refused: BTreeMap<RuleId, u64>,
    /// A few refusal messages per rule, with the command type.
    pub refusal_examples: BTreeMap<RuleId, Vec<String>>,
    /// Invalid commands by field.
    pub invalid: BTreeMap<&'static str, u64>,
    /// A few invalid messages per field, with the command type.
    pub invalid_examples: BTreeMap<&'static str, Vec<String>>,
    /// Requests earlier than the head, refused as out of order.
    pub out_of_order: u64,
    /// Intents with nothing to do.
    pub skipped: u64,
    /// Events appended by commands (clock excluded).
    pub command_events: u64,
    /// Events appended by the billing clock.
    pub clock_events: u64,
    /// Accepted and refused-or-invalid counts by command type.
    pub by_command: BTreeMap<&'static str, (u64, u64)>,
    /// Time spent in the billing clock.
    pub clock_time: StdDuration,
    /// Time spent judging and appending the other commands.
    pub command_time: StdDuration,
    /// Time spent issuing the collection files and writing and importing the
    /// bank's answers ([`drive_with_bank`]; the rejections' judgment included).
    pub bank_time: StdDuration,
}

impl DriveReport {
    /// Refusals in total.
    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }

    /// Invalid commands in total.
    pub fn invalid_total(&self) -> u64 {
        self.invalid.values().sum()
    }

    fn record(&mut self, cmd: &CommandEnvelope, outcome: &Outcome) {
        let name = command_name(&cmd.command);
        let entry = self.by_command.entry(name).or_default();
        match outcome {
            Outcome::Accepted { events } => {
                self.accepted += 1;
                entry.0 += 1;
                let n = u64::try_from(*events).unwrap_or(u64::MAX);
                if matches!(cmd.command, Command::AdvanceClock(_)) {
                    self.clock_events += n;
                } else {
                    self.command_events += n;
                }
            }
            Outcome::AlreadyApplied => self.already_applied += 1,
            Outcome::Refused { rule, message } => {
                entry.1 += 1;
                *self.refused.entry(*rule).or_default() += 1;
                let ex = self.refusal_examples.entry(*rule).or_default();
                if ex.len() < EXAMPLES_PER_KIND_MAX {
                    ex.push(format!(
                        "{name} on {}: {message}",
                        paris_date(cmd.request_at)
                    ));
                }
            }
            Outcome::Invalid { field, message } => {
                entry.1 += 1;
                *self.invalid.entry(field).or_default() += 1;
                let ex = self.invalid_examples.entry(field).or_default();
                if ex.len() < EXAMPLES_PER_KIND_MAX {
                    ex.push(format!(
                        "{name} on {}: {message}",
                        paris_date(cmd.request_at)
                    ));
                }
            }
            Outcome::OutOfOrder { .. } => self.out_of_order += 1,
            Outcome::Skipped => self.skipped += 1,
        }
    }
}

/// The name of a command's type, as in the JSON `type` tag.
pub fn command_name(c: &Command) -> &'static str {
    match c {
        Command::RegisterPerson(_) => "RegisterPerson",
        Command::ChangeAddress(_) => "ChangeAddress",
        Command::DeclareWorkStudyPlace(_) => "DeclareWorkStudyPlace",
        Command::ErasePersonalData(_) => "ErasePersonalData",
        Command::Subscribe(_) => "Subscribe",
        Command::ChangeDebitDay(_) => "ChangeDebitDay",
        Command::ChangePayer(_) => "ChangePayer",
        Command::ChangeMandate(_) => "ChangeMandate",
        Command::RevokeMandate(_) => "RevokeMandate",
        Command::SwitchPaymentMethod(_) => "SwitchPaymentMethod",
        Command::RecordDebitPresented(_) => "RecordDebitPresented",
        Command::RecordDebitRejected(_) => "RecordDebitRejected",
        Command::SettleDebt(_) => "SettleDebt",
        Command::RecordCashPayment(_) => "RecordCashPayment",
        Command::PayRefund(_) => "PayRefund",
        Command::Suspend(_) => "Suspend",
        Command::Resume(_) => "Resume",
        Command::ChangeZones(_) => "ChangeZones",
        Command::DeclareLoss(_) => "DeclareLoss",
        Command::TerminateByPayer(_) => "TerminateByPayer",
        Command::TerminateByAgency(_) => "TerminateByAgency",
        Command::EstablishFraud(_) => "EstablishFraud",
        Command::IssueTreasuryNotice(_) => "IssueTreasuryNotice",
        Command::DeliverTreasuryNotice(_) => "DeliverTreasuryNotice",
        Command::SettleTreasuryNotice(_) => "SettleTreasuryNotice",
        Command::RequestSeniorSwitch(_) => "RequestSeniorSwitch",
        Command::ValidateSeniorSwitch(_) => "ValidateSeniorSwitch",
        Command::PublishTariff(_) => "PublishTariff",
        Command::PublishSchoolHolidays(_) => "PublishSchoolHolidays",
        Command::PublishReasonCodes(_) => "PublishReasonCodes",
        Command::PublishCampaign(_) => "PublishCampaign",
        Command::FileRefundClaim(_) => "FileRefundClaim",
        Command::AnnulEvent(_) => "AnnulEvent",
        Command::AdvanceClock(_) => "AdvanceClock",
    }
}

fn back_office_actor() -> Actor {
    Actor {
        role: ActorRole::Agent,
        id: "back-office".into(),
    }
}

/// FNV-1a of a string: a stable draw from a notice reference, so that a rerun
/// decides the same notices settled whatever the ids of the run.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn envelope(
    at: DateTime<Utc>,
    actor: Actor,
    channel: Option<Channel>,
    key: String,
    command: Command,
) -> CommandEnvelope {
    CommandEnvelope {
        request_at: at,
        actor,
        channel,
        idempotency_key: Some(key),
        expected_version: None,
        command,
    }
}

fn payer_actor(world: &World, c: &navigo_rules::contract::state::ContractState) -> Actor {
    Actor {
        role: ActorRole::Customer,
        id: world
            .person(c.payer)
            .map_or_else(|| c.payer.to_string(), |p| p.client_number.to_string()),
    }
}

/// The commands a planned request stands for, judged against `world` at its
/// instant: one for a ready command, zero or more for an intent. Keys of resolved
/// commands derive from the plan's key and the ledger's stable ids.
pub fn resolve(world: &World, p: &PlannedCommand) -> Vec<CommandEnvelope> {
    let one = match &p.step {
        Step::Command(c) => {
            let mut c = (**c).clone();
            c.idempotency_key = Some(p.key.clone());
            Some(c)
        }
        Step::Intent(Intent::RejectDebit {
            contract_id,
            month,
            reason_code,
        }) => reject_debit(world, p, *contract_id, *month, *reason_code),
        Step::Intent(Intent::SettleDebt { contract_id, via }) => {
            settle_debt(world, p, *contract_id, *via)
        }
        Step::Intent(Intent::PayCash { contract_id }) => pay_cash(world, p, *contract_id),
        Step::Intent(Intent::CashRenewal {
            contract_id,
            switch_to,
        }) => cash_renewal(world, p, *contract_id, switch_to.as_ref()),
        Step::Intent(Intent::BackOffice { seed }) => return back_office(world, p, *seed),
    };
    one.into_iter().collect()
}

/// The bank's rejection of a debit presented and not rejected yet.
fn reject_debit(
    world: &World,
    p: &PlannedCommand,
    contract_id: Uuid,
    month: YearMonth,
    reason_code: ReasonCode,
) -> Option<CommandEnvelope> {
    let presented = world
        .contract(contract_id)
        .and_then(|c| c.debits.get(&month))
        .is_some_and(|d| !d.rejected);
    if !presented {
        return None;
    }
    Some(envelope(
        p.at,
        Actor {
            role: ActorRole::System,
            id: "sepa-bank".into(),
        },
        None,
        p.key.clone(),
        Command::RecordDebitRejected(RecordDebitRejected {
            contract_id,
            month,
            reason_code,
        }),
    ))
}

/// The payer settles the whole debt, when there is one.
fn settle_debt(
    world: &World,
    p: &PlannedCommand,
    contract_id: Uuid,
    via: SettlementChannel,
) -> Option<CommandEnvelope> {
    let c = world.contract(contract_id)?;
    let debt = c.money.debt();
    if !debt.is_positive() {
        return None;
    }
    let channel = match via {
        SettlementChannel::OnlineCard => Channel::Online,
        SettlementChannel::Phone => Channel::Phone,
        SettlementChannel::Agency | SettlementChannel::TresorPublic => Channel::Agency,
    };
    Some(envelope(
        p.at,
        payer_actor(world, c),
        Some(channel),
        p.key.clone(),
        Command::SettleDebt(SettleDebt {
            contract_id,
            amount: debt,
            via,
        }),
    ))
}

/// A cash contract in force pays its debt, or else the next period's price.
fn pay_cash(world: &World, p: &PlannedCommand, contract_id: Uuid) -> Option<CommandEnvelope> {
    let c = world.contract(contract_id)?;
    if !matches!(c.payment(), Some(PaymentSetup::Cash)) || c.is_terminated() {
        return None;
    }
    let debt = c.money.debt();
    let amount = if debt.is_positive() {
        debt
    } else {
        let end = c.cash_paid_until? + Duration::days(1);
        world.catalogue.annual_price(c.product.key(), end)?.annual
    };
    Some(envelope(
        p.at,
        payer_actor(world, c),
        Some(Channel::Agency),
        p.key.clone(),
        Command::RecordCashPayment(RecordCashPayment {
            contract_id,
            amount,
            means: PaymentMeans::Card,
        }),
    ))
}

/// Within the renewal window of a cash period in force: the next period paid,
/// or the switch to direct debit.
fn cash_renewal(
    world: &World,
    p: &PlannedCommand,
    contract_id: Uuid,
    switch_to: Option<&PaymentRequest>,
) -> Option<CommandEnvelope> {
    let c = world.contract(contract_id)?;
    let today = paris_date(p.at);
    let (Some(PaymentSetup::Cash), Some(until)) = (c.payment(), c.cash_paid_until) else {
        return None;
    };
    let in_window = today <= until && (until - today).num_days() <= CASH_RENEWAL_LEAD_DAYS;
    if c.is_terminated() || !in_window {
        return None;
    }
    let command = match switch_to {
        Some(to) => Command::SwitchPaymentMethod(SwitchPaymentMethod {
            contract_id,
            to: to.clone(),
        }),
        None => {
            let end = until + Duration::days(1);
            let t = world.catalogue.annual_price(c.product.key(), end)?;
            Command::RecordCashPayment(RecordCashPayment {
                contract_id,
                amount: t.annual,
                means: PaymentMeans::Card,
            })
        }
    };
    Some(envelope(
        p.at,
        payer_actor(world, c),
        Some(Channel::Agency),
        p.key.clone(),
        command,
    ))
}

/// The month's back office: refunds due paid, notices delivered and some settled.
fn back_office(world: &World, p: &PlannedCommand, _seed: u64) -> Vec<CommandEnvelope> {
    let mut out = Vec::new();
    for c in world.contracts.values() {
        back_office_contract(c, p, &mut out);
    }
    for person in world.persons.values() {
        back_office_person(person, p, &mut out);
    }
    out
}

/// Contracts and persons the back office reads at a time from a paged ledger.
pub const BACK_OFFICE_STATES_PER_CHUNK: usize = 1_024;

/// [`back_office`] over a ledger whose world is paged: the contracts, then the
/// persons, in id order (the order of [`back_office`]), a chunk at a time
/// ([`Ledger::walk_states`]).
///
/// # Errors
/// A store failure.
async fn back_office_paged<S: EventStore>(
    ledger: &mut Ledger<S>,
    p: &PlannedCommand,
) -> Result<Vec<CommandEnvelope>, LedgerError> {
    let mut out = Vec::new();
    // Contracts come before persons in stream order, as in `back_office`. The
    // round acts only on open items (an unpaid refund, a treasury notice not
    // delivered or settled), so the states without any give it nothing and
    // are not paged in.
    ledger
        .walk_open_items(BACK_OFFICE_STATES_PER_CHUNK, |_, _, state| match state {
            StateRef::Contract(c) => back_office_contract(c, p, &mut out),
            StateRef::Person(person) => back_office_person(person, p, &mut out),
        })
        .await?;
    Ok(out)
}

fn back_office_contract(
    c: &navigo_rules::contract::state::ContractState,
    p: &PlannedCommand,
    out: &mut Vec<CommandEnvelope>,
) {
    let today = paris_date(p.at);
    let next_at = |out: &Vec<CommandEnvelope>| {
        p.at + Duration::milliseconds(i64::try_from(out.len()).unwrap_or(0))
    };
    for (id, r) in &c.refunds {
        if !r.paid && r.date <= today {
            let at = next_at(out);
            out.push(pay_refund(at, &p.key, StreamId::contract(c.id), *id));
        }
    }
    for n in &c.treasury_notices {
        let notice = TreasuryNoticeRef {
            contract_id: c.id,
            notice_ref: n.notice_ref.clone(),
        };
        match (n.delivered, n.settled) {
            (None, _) if n.issued + Duration::days(NOTICE_DELIVERY_DAYS) <= today => {
                let at = next_at(out);
                out.push(envelope(
                    at,
                    back_office_actor(),
                    Some(Channel::Agency),
                    format!("{}:deliver:{}", p.key, n.notice_ref),
                    Command::DeliverTreasuryNotice(notice),
                ));
            }
            (Some(d), None) if d + Duration::days(NOTICE_SETTLEMENT_DAYS) <= today => {
                let debt = c.money.debt();
                let mut draw = Rng::new(fnv1a(&n.notice_ref));
                if debt.is_positive() && draw.chance(TREASURY_SETTLED_SHARE) {
                    let at = next_at(out);
                    out.push(envelope(
                        at,
                        back_office_actor(),
                        Some(Channel::Agency),
                        format!("{}:settle:{}", p.key, n.notice_ref),
                        Command::SettleTreasuryNotice(SettleTreasuryNotice {
                            contract_id: c.id,
                            notice_ref: n.notice_ref.clone(),
                            amount: n.amount.min(debt),
                        }),
                    ));
                }
            }
            _ => {}
        }
    }
}

fn back_office_person(person: &PersonState, p: &PlannedCommand, out: &mut Vec<CommandEnvelope>) {
    for (id, (_, paid)) in &person.refunds {
        if !paid {
            let at = p.at + Duration::milliseconds(i64::try_from(out.len()).unwrap_or(0));
            out.push(pay_refund(at, &p.key, StreamId::person(person.id), *id));
        }
    }
}

/// [`resolve`] against a ledger whose world is paged: the states the
/// resolution reads and missed are paged in and it is resolved again, so that
/// it sees what a whole world holds; the back office walks the ledger a chunk
/// at a time.
///
/// # Errors
/// A store failure.
pub async fn resolve_paged<S: EventStore>(
    ledger: &mut Ledger<S>,
    p: &PlannedCommand,
) -> Result<Vec<CommandEnvelope>, LedgerError> {
    if let Step::Intent(Intent::BackOffice { .. }) = &p.step {
        return back_office_paged(ledger, p).await;
    }
    ledger.read_paged(|w| resolve(w, p)).await
}

/// The back office paying a refund that is due (`PAY-REFUND-30D`), keyed by the
/// planned request and the refund.
fn pay_refund(
    at: DateTime<Utc>,
    key: &str,
    stream: StreamId,
    refund: uuid::Uuid,
) -> CommandEnvelope {
    envelope(
        at,
        back_office_actor(),
        Some(Channel::Agency),
        format!("{key}:refund:{refund}"),
        Command::PayRefund(PayRefund {
            stream,
            refund_event_id: refund,
            method: None,
        }),
    )
}

/// Judges one command through the ledger; [`Ledger::execute`] refuses it as out
/// of order when its instant is earlier than the ledger's head (import clock).
///
/// # Errors
/// A store failure (what was appended stays appended).
pub async fn send<S: EventStore>(
    ledger: &mut Ledger<S>,
    cmd: &CommandEnvelope,
) -> Result<Outcome, LedgerError> {
    if let Some(k) = &cmd.idempotency_key {
        if ledger.idempotency_key_used(k).await? {
            return Ok(Outcome::AlreadyApplied);
        }
    }
    let before = ledger.world().position;
    match ledger.execute(cmd, ClockMode::Import).await {
        Ok(events) => {
            let appended = events.iter().filter(|e| e.position > before).count();
            Ok(Outcome::Accepted { events: appended })
        }
        // Decision: a request earlier than the last recorded event is refused as
        // out of order by the ledger itself (it would be judged against a state it
        // could not have seen); the driver counts it as the population's fault.
        Err(LedgerError::OutOfOrder { head, .. }) => Ok(Outcome::OutOfOrder { head }),
        Err(LedgerError::Command(CommandError::Refused(r))) => Ok(Outcome::Refused {
            rule: r.rule,
            message: r.message,
        }),
        Err(LedgerError::Command(CommandError::Invalid { field, message })) => {
            Ok(Outcome::Invalid { field, message })
        }
        Err(e) => Err(e),
    }
}

/// Sends every planned request, in order, through the ledger; `progress` is told
/// how many planned requests are done. Re-running the same plan on the same ledger
/// appends nothing new (idempotency keys; the clock is idempotent).
///
/// The requests go through the ledger's import batch
/// ([`Ledger::begin_import`]): each is judged against the world as the earlier
/// ones left it, and their appends are submitted together and made durable at
/// the end of each batch and of the run, with every check of the store.
///
/// # Errors
/// A store failure; what was committed before it stays appended, and running
/// the plan again resumes.
pub async fn drive<S: EventStore>(
    ledger: &mut Ledger<S>,
    plan: &[PlannedCommand],
    progress: &mut dyn FnMut(usize),
) -> Result<DriveReport, LedgerError> {
    drive_with(ledger, plan, None::<&mut NoBank>, progress)
        .await
        .map_err(without_bank)
}

/// [`drive`], the rejections the plan chooses sent as the bank's files
/// through `desk` instead of as commands: after each run of the billing
/// clock the collection files of the dates it presented are issued, and
/// each night's rejections are written as the bank writes them (a pain.002
/// status report for the rejects before settlement, a camt.054 notification
/// for the returns after, [`REJECTED_BEFORE_SETTLEMENT`]) and imported as
/// `bank import` imports them, at the night's last planned instant.
///
/// Decision: the plan's rejections of one night (they are planned between
/// 01:00 and 06:00, before any other request of the day) make one bank
/// delivery, imported when the last of them was planned: each rejection
/// takes effect on the day the plan chose, so the contracts live the same
/// life as with the commands; only the recorded instants and ids differ.
///
/// # Errors
/// As [`drive`], and a file the desk could not issue or import.
pub async fn drive_with_bank<S: EventStore, B: BankDesk<S>>(
    ledger: &mut Ledger<S>,
    plan: &[PlannedCommand],
    desk: &mut B,
    progress: &mut dyn FnMut(usize),
) -> Result<DriveReport, DriveError<B::Error>> {
    drive_with(ledger, plan, Some(desk), progress).await
}

async fn drive_with<S: EventStore, B: BankDesk<S>>(
    ledger: &mut Ledger<S>,
    plan: &[PlannedCommand],
    desk: Option<&mut B>,
    progress: &mut dyn FnMut(usize),
) -> Result<DriveReport, DriveError<B::Error>> {
    ledger.begin_import();
    let mut report = DriveReport::default();
    let result = drive_batched(ledger, plan, &mut report, desk, progress).await;
    match result {
        Ok(()) => {
            let started = Instant::now();
            ledger.end_import().await?;
            report.command_time += started.elapsed();
            Ok(report)
        }
        Err(e) => {
            // What was judged before the failure is kept when it can be made
            // durable; the failure is what the caller hears about.
            let _ = ledger.end_import().await;
            Err(e)
        }
    }
}

/// Why [`drive_windows`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum DriveWindowsError {
    /// The ledger failed, as [`drive`] fails.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A window of the plan could not be read back from its temporary file.
    #[error(transparent)]
    Plan(#[from] SpillError),
}

/// [`drive`] over a plan generated a window at a time ([`PlanWindows`]): the
/// same requests in the same order through one import batch, so the same
/// ledger, with at most one window of the plan in memory. `progress` is told
/// how many planned requests are done.
///
/// # Errors
/// As [`drive`], or a window that cannot be read back: the import stops at
/// the window before it (what was judged is kept when it can be made
/// durable).
pub async fn drive_windows<S: EventStore>(
    ledger: &mut Ledger<S>,
    windows: &mut PlanWindows,
    progress: &mut dyn FnMut(usize),
) -> Result<DriveReport, DriveWindowsError> {
    ledger.begin_import();
    let mut report = DriveReport::default();
    let mut done = 0;
    let mut result = Ok(());
    loop {
        let window = match windows.next_window() {
            Ok(Some(window)) => window,
            Ok(None) => break,
            Err(e) => {
                result = Err(e.into());
                break;
            }
        };
        let mut window_progress = |i: usize| progress(done + i);
        result = drive_batched(
            ledger,
            &window,
            &mut report,
            None::<&mut NoBank>,
            &mut window_progress,
        )
        .await
        .map_err(without_bank)
        .map_err(DriveWindowsError::from);
        if result.is_err() {
            break;
        }
        done += window.len();
    }
    let started = Instant::now();
    let ended = ledger.end_import().await;
    report.command_time += started.elapsed();
    // A failure while judging or reading the plan is what the caller hears
    // about; what was judged before it was kept when it could be made durable.
    result
        .and(ended.map_err(DriveWindowsError::from))
        .map(|()| report)
}

async fn drive_batched<S: EventStore, B: BankDesk<S>>(
    ledger: &mut Ledger<S>,
    plan: &[PlannedCommand],
    report: &mut DriveReport,
    mut bank: Option<&mut B>,
    progress: &mut dyn FnMut(usize),
) -> Result<(), DriveError<B::Error>> {
    let mut night = BankNight::default();
    for (i, p) in plan.iter().enumerate() {
        let started = Instant::now();
        if let (Some(desk), Step::Intent(Intent::RejectDebit { .. })) =
            (bank.as_deref_mut(), &p.step)
        {
            night.take(ledger, p, report).await?;
            if !next_is_same_night(plan.get(i + 1), p) {
                night.send(ledger, desk, report).await?;
            }
            report.bank_time += started.elapsed();
            progress(i + 1);
            continue;
        }
        let commands = resolve_paged(ledger, p).await?;
        if commands.is_empty() {
            report.record_skip();
        }
        let clock_to = match &p.step {
            Step::Command(c) => match &c.command {
                Command::AdvanceClock(a) => Some(a.to),
                _ => None,
            },
            Step::Intent(_) => None,
        };
        for cmd in &commands {
            report.sent += 1;
            let outcome = send(ledger, cmd).await?;
            report.record(cmd, &outcome);
        }
        if clock_to.is_some() {
            report.clock_time += started.elapsed();
        } else {
            report.command_time += started.elapsed();
        }
        if let (Some(desk), Some(to)) = (bank.as_deref_mut(), clock_to) {
            let collecting = Instant::now();
            desk.collect(ledger, to, p.at)
                .await
                .map_err(DriveError::Bank)?;
            report.bank_time += collecting.elapsed();
        }
        progress(i + 1);
    }
    // A slice of a plan may end in the middle of a night's rejects: what was
    // gathered is sent with this slice rather than lost.
    if let Some(desk) = bank {
        let started = Instant::now();
        night.send(ledger, desk, report).await?;
        report.bank_time += started.elapsed();
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The bank's files

/// Why a run with the bank's files stopped.
#[derive(Debug)]
pub enum DriveError<E> {
    /// The ledger or its store.
    Ledger(LedgerError),
    /// A bank file could not be issued or imported.
    Bank(E),
    /// The simulated bank could not write its answer.
    Answer(String),
}

impl<E> From<LedgerError> for DriveError<E> {
    fn from(e: LedgerError) -> Self {
        DriveError::Ledger(e)
    }
}

impl<E: std::fmt::Display> std::fmt::Display for DriveError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriveError::Ledger(e) => e.fmt(f),
            DriveError::Bank(e) => write!(f, "bank file: {e}"),
            DriveError::Answer(e) => write!(f, "the bank's answer: {e}"),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for DriveError<E> {}

/// What the driver asks of the ledger's side of the bank: the files the
/// `bank collect` and `bank import` commands make and read, recorded at the
/// simulated instants.
#[async_trait]
pub trait BankDesk<S: EventStore>: Send {
    /// Why a file was not issued or imported.
    type Error: Send;

    /// The billing clock ran through `through` at `at`: issues the collection
    /// file of every date it presented debits for since the last call.
    async fn collect(
        &mut self,
        ledger: &mut Ledger<S>,
        through: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<(), Self::Error>;

    /// The summary of the collection file issued for `date`, if any: what a
    /// status report names.
    fn sent(&self, date: NaiveDate) -> Option<FileSummary>;

    /// The creditor's account, as the bank writes it in its files.
    fn creditor_iban(&self) -> String;

    /// Imports a bank file at `at`, as `bank import` does: the events each
    /// transaction's rejection appended, in file order, or `None` when the
    /// same file was imported before (nothing appended).
    async fn import(
        &mut self,
        ledger: &mut Ledger<S>,
        name: &str,
        bytes: &[u8],
        at: DateTime<Utc>,
    ) -> Result<Option<Vec<usize>>, Self::Error>;
}

/// A [`BankDesk`] for runs without the bank's files: never called.
#[derive(Debug, Clone, Copy)]
pub enum NoBank {}

#[async_trait]
impl<S: EventStore> BankDesk<S> for NoBank {
    type Error = std::convert::Infallible;

    async fn collect(
        &mut self,
        _: &mut Ledger<S>,
        _: NaiveDate,
        _: DateTime<Utc>,
    ) -> Result<(), Self::Error> {
        match *self {}
    }

    fn sent(&self, _: NaiveDate) -> Option<FileSummary> {
        match *self {}
    }

    fn creditor_iban(&self) -> String {
        match *self {}
    }

    async fn import(
        &mut self,
        _: &mut Ledger<S>,
        _: &str,
        _: &[u8],
        _: DateTime<Utc>,
    ) -> Result<Option<Vec<usize>>, Self::Error> {
        match *self {}
    }
}

fn without_bank(e: DriveError<std::convert::Infallible>) -> LedgerError {
    match e {
        DriveError::Ledger(e) => e,
        DriveError::Bank(never) => match never {},
        // Without a bank no answer is written.
        DriveError::Answer(e) => LedgerError::Reference(e),
    }
}

/// The reason codes a payer's bank answers before settlement, in a pain.002
/// status report; every other code comes back after settlement, in a
/// camt.054 notification.
///
/// Decision: the plan's rejections all come after their debit's date (days
/// 14 to 27 of the month, debits on days 1 to 12), so their instants cannot
/// tell a reject from a return; their reason codes can. An account closed or
/// blocked, a debit forbidden, no mandate, a deceased debtor or the debtor's
/// refusal are known to the payer's bank before it settles, and are rejected;
/// insufficient funds (`AM04`) and an unspecified reason (`MS03`) are found
/// when the debit is booked, and returned.
pub const REJECTED_BEFORE_SETTLEMENT: [&str; 6] = ["AC04", "AC06", "AG01", "MD01", "MD07", "MS02"];

/// One rejection the simulator chose, with the debit it names.
#[derive(Debug, Clone)]
struct NightReject {
    contract_id: Uuid,
    month: YearMonth,
    reason_code: ReasonCode,
    debit_event_id: Uuid,
    amount: Money,
    collection_date: NaiveDate,
    at: DateTime<Utc>,
    key: String,
}

impl NightReject {
    fn before_settlement(&self) -> bool {
        REJECTED_BEFORE_SETTLEMENT.contains(&self.reason_code.to_string().as_str())
    }

    fn bank_return(&self) -> BankReturn {
        BankReturn {
            end_to_end_id: debit_end_to_end_id(self.debit_event_id),
            amount: self.amount,
            reason_code: self.reason_code.to_string(),
        }
    }

    /// The command the import judges for this rejection, as the report counts it.
    fn counted_as(&self) -> CommandEnvelope {
        envelope(
            self.at,
            Actor {
                role: ActorRole::System,
                id: "bank-import".into(),
            },
            None,
            self.key.clone(),
            Command::RecordDebitRejected(RecordDebitRejected {
                contract_id: self.contract_id,
                month: self.month,
                reason_code: self.reason_code,
            }),
        )
    }
}

/// The rejections of one night, gathered until the bank sends its files.
#[derive(Debug, Default)]
struct BankNight {
    rejects: Vec<NightReject>,
}

/// Whether the next planned request is a rejection of the same night (the
/// same Europe/Paris day): the bank sends a night's rejections together.
fn next_is_same_night(next: Option<&PlannedCommand>, p: &PlannedCommand) -> bool {
    next.is_some_and(|n| {
        matches!(n.step, Step::Intent(Intent::RejectDebit { .. }))
            && paris_date(n.at) == paris_date(p.at)
    })
}

impl BankNight {
    /// Adds the rejection `p` plans when its debit is presented and not
    /// rejected (as [`resolve`] judges it), else counts it skipped.
    async fn take<S: EventStore>(
        &mut self,
        ledger: &mut Ledger<S>,
        p: &PlannedCommand,
        report: &mut DriveReport,
    ) -> Result<(), LedgerError> {
        let Step::Intent(Intent::RejectDebit {
            contract_id,
            month,
            reason_code,
        }) = &p.step
        else {
            return Ok(());
        };
        let (contract_id, month, reason_code) = (*contract_id, *month, *reason_code);
        let debit = ledger
            .read_paged(|w| {
                let d = w.contract(contract_id)?.debits.get(&month)?;
                (!d.rejected).then_some((d.event_id, d.amount, d.date))
            })
            .await?;
        let taken = self
            .rejects
            .iter()
            .any(|r| r.contract_id == contract_id && r.month == month);
        match debit {
            Some((debit_event_id, amount, collection_date)) if !taken => {
                self.rejects.push(NightReject {
                    contract_id,
                    month,
                    reason_code,
                    debit_event_id,
                    amount,
                    collection_date,
                    at: p.at,
                    key: p.key.clone(),
                });
            }
            _ => report.record_skip(),
        }
        Ok(())
    }

    /// Writes the night's files (a status report per collection file for
    /// the rejects, one notification for the returns), imports each at the
    /// night's last instant, and counts each rejection as its command.
    async fn send<S: EventStore, B: BankDesk<S>>(
        &mut self,
        ledger: &mut Ledger<S>,
        desk: &mut B,
        report: &mut DriveReport,
    ) -> Result<(), DriveError<B::Error>> {
        let rejects = std::mem::take(&mut self.rejects);
        let Some(at) = rejects.iter().map(|r| r.at).max() else {
            return Ok(());
        };
        let (before, after): (Vec<_>, Vec<_>) = rejects
            .into_iter()
            .partition(NightReject::before_settlement);
        let mut by_file: BTreeMap<NaiveDate, Vec<NightReject>> = BTreeMap::new();
        for r in before {
            by_file.entry(r.collection_date).or_default().push(r);
        }
        let iban = desk.creditor_iban();
        for (date, rejects) in by_file {
            let Some(original) = desk.sent(date) else {
                return Err(DriveError::Answer(format!(
                    "no collection file was issued for {date}: the bank cannot reject its debits"
                )));
            };
            let message_id = format!("SIMSTS{}C{}", at.format("%Y%m%d"), date.format("%Y%m%d"));
            let returns: Vec<BankReturn> = rejects.iter().map(NightReject::bank_return).collect();
            let bytes = StatusReport {
                message_id: &message_id,
                created_at: at,
                original: &original,
                creditor_iban: &iban,
                rejects: &returns,
            }
            .write()
            .map_err(|e| DriveError::Answer(format!("writing {message_id}: {e}")))?;
            import_night(ledger, desk, &message_id, &bytes, at, &rejects, report).await?;
        }
        if after.is_empty() {
            return Ok(());
        }
        let message_id = format!("SIMNTF{}", at.format("%Y%m%d"));
        let returns: Vec<BankReturn> = after.iter().map(NightReject::bank_return).collect();
        let bytes = Notification {
            message_id: &message_id,
            created_at: at,
            notification_id: &message_id,
            creditor_iban: &iban,
            collected: None,
            returns: &returns,
            reversals: &[],
        }
        .write()
        .map_err(|e| DriveError::Answer(format!("writing {message_id}: {e}")))?;
        import_night(ledger, desk, &message_id, &bytes, at, &after, report).await
    }
}

/// Imports one of the night's files and counts its rejections.
async fn import_night<S: EventStore, B: BankDesk<S>>(
    ledger: &mut Ledger<S>,
    desk: &mut B,
    name: &str,
    bytes: &[u8],
    at: DateTime<Utc>,
    rejects: &[NightReject],
    report: &mut DriveReport,
) -> Result<(), DriveError<B::Error>> {
    let events = desk
        .import(ledger, name, bytes, at)
        .await
        .map_err(DriveError::Bank)?;
    for (i, r) in rejects.iter().enumerate() {
        report.sent += 1;
        let outcome = match &events {
            None => Outcome::AlreadyApplied,
            Some(events) => Outcome::Accepted {
                events: events.get(i).copied().unwrap_or(0),
            },
        };
        report.record(&r.counted_as(), &outcome);
    }
    Ok(())
}

impl DriveReport {
    fn record_skip(&mut self) {
        self.skipped += 1;
    }
}
