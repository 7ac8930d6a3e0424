//! The dispatcher: `handle(world, command, context)` turns a command into
//! decisions (events for one stream each) or refuses it, by handing it to the
//! module of its family. It is pure: time comes from the command's request
//! instant, ids from the [`IdGen`](crate::ids::IdGen) of the [`Context`], policy
//! parameters from its [`Policy`](crate::policy::Policy). Nothing is appended here.

use navigo_events_schema::{Command, CommandEnvelope};

use crate::calendar;
use crate::decision::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::rulebook;
use crate::world::World;

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
    person::refuse_if_erased(world, &req, &cmd.command)?;
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
        Command::ErasePersonalData(c) => person::erase(world, &req, c, ctx),
        Command::AdvanceClock(c) => {
            Ok(crate::billing::advance_to(world, c.to, cmd.request_at, ctx))
        }
    }
}
