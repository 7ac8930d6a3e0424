//! Payment (`PAY-*`, `TAR-REJECT-FEE`): debit day, payer, mandate, method switch,
//! debits presented and rejected, settlements, cash payments, refunds.

use chrono::Duration;
use navigo_events_schema::command::{
    ChangeDebitDay, ChangeMandate, ChangePayer, ContractRef, PayRefund, RecordCashPayment,
    RecordDebitPresented, RecordDebitRejected, SettleDebt, SwitchPaymentMethod,
};
use navigo_events_schema::event::{
    ContractTerminated, DebitDayChanged, DebitRejected, DebtSettled, FeeCharged, FeeKind,
    MandateChanged, MandateRevoked, PayerChanged, PaymentMeans, PaymentMethodSwitched, RefundPaid,
    SettlementChannel, TerminationReason,
};
use navigo_events_schema::types::{Channel, PaymentRequest, PaymentSetup, Product, ReasonCode};
use navigo_events_schema::{Event, Money, RuleId, StreamId, StreamKind, YearMonth};

use super::charges::{self, refund_method};
use super::guards::{self, contract};
use super::state::ContractState;
use super::timing;
use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// The first month a change registered on `date` affects (`PAY-CUTOFF`,
/// §4.14.1; CGU-2011 §2.9.6): before the cutoff day M+1, on or after it M+2. The
/// rule lives in [`timing::first_month_affected`].
pub fn cutoff_month(req: &Request<'_>) -> YearMonth {
    timing::first_month_affected(req.rulebook, req.date)
}

/// The contract of a payment command, refused when terminated and, online, when
/// financed by a third party (`SUB-THIRD-PARTY`: never managed online).
fn managed<'w>(
    world: &'w World,
    req: &Request<'_>,
    id: uuid::Uuid,
) -> Result<&'w ContractState, CommandError> {
    let c = contract(world, id)?;
    guards::refuse_third_party_online(req, c)?;
    Ok(c)
}

fn not_terminated(req: &Request<'_>, c: &ContractState, rule: RuleId) -> Result<(), CommandError> {
    guards::refuse_if_terminated(req, c, rule, "subscribe a new contract instead")
}

fn one(
    world: &World,
    c: &ContractState,
    events: Vec<navigo_events_schema::NewEvent>,
) -> Vec<Decision> {
    vec![decision(world, StreamId::contract(c.id), events)]
}

/// Changes the debit day (`PAY-DEBIT-DAY`, §4.14.2): direct debit only, at most once
/// per calendar month, effective per `PAY-CUTOFF`.
///
/// # Errors
/// `PAY-DEBIT-DAY` refusals; invalid when the day is unchanged.
pub fn change_debit_day(
    world: &World,
    req: &Request<'_>,
    cmd: &ChangeDebitDay,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = managed(world, req, cmd.contract_id)?;
    not_terminated(req, c, RuleId::PayDebitDay)?;
    if !c.payment().is_some_and(PaymentSetup::is_direct_debit) {
        return Err(req.refuse(
            RuleId::PayDebitDay,
            "the debit day applies to direct debit; this contract is paid in cash",
        ));
    }
    let month = YearMonth::of(req.date);
    if c.debit_day_requests
        .iter()
        .any(|d| YearMonth::of(*d) == month)
    {
        return Err(req.refuse(
            RuleId::PayDebitDay,
            format!(
                "the debit day was already changed in {month}; it can be changed again from {}",
                month.plus(1).first_day()
            ),
        ));
    }
    let from = cutoff_month(req);
    if c.debit_day_at(from) == cmd.debit_day {
        return Err(CommandError::invalid(
            "debit_day",
            format!(
                "the debit day is already {} from {from}",
                cmd.debit_day.day()
            ),
        ));
    }
    let e = req.event(
        ctx,
        req.date,
        Event::DebitDayChanged(DebitDayChanged {
            debit_day: cmd.debit_day,
            effective_from_month: from,
        }),
    );
    Ok(one(world, c, vec![e]))
}

/// Changes the payer (`PAY-PAYER-CHANGE`, §4.14.9): a new SEPA mandate for direct
/// debit, not for a third-party-financed contract, effective per `PAY-CUTOFF`. The
/// new payer must be of age (`SUB-AGE`) and not banned (`SUB-BANNED-PAYER`,
/// `BAN-NEW-PAYER`).
///
/// # Errors
/// Refusals by those rules; invalid when the payer is unknown or unchanged.
pub fn change_payer(
    world: &World,
    req: &Request<'_>,
    cmd: &ChangePayer,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = managed(world, req, cmd.contract_id)?;
    not_terminated(req, c, RuleId::PayPayerChange)?;
    if c.third_party_payer {
        return Err(req.refuse(
            RuleId::PayPayerChange,
            "the payer of a contract financed by a third-party payer cannot be changed",
        ));
    }
    let payer = world
        .person(cmd.payer)
        .ok_or_else(|| CommandError::invalid("payer", format!("no person {}", cmd.payer)))?;
    if cmd.payer == c.payer {
        return Err(CommandError::invalid(
            "payer",
            "this person is already the payer",
        ));
    }
    let direct_debit = c.payment().is_some_and(PaymentSetup::is_direct_debit);
    if direct_debit && cmd.mandate.is_none() {
        return Err(req.refuse(
            RuleId::PayPayerChange,
            "a new payer of a direct-debit contract signs a new SEPA mandate; give it",
        ));
    }
    guards::check_mandate_signed(req, cmd.mandate.as_ref(), "mandate.signed_on")?;
    guards::check_payer_age(req, payer, req.date)?;
    // BAN-NEW-PAYER: the new payer must not be under a payer ban.
    if let Some(refusal) = guards::payer_banned(world, cmd.payer, req.date) {
        return Err(refusal);
    }
    let e = req.event(
        ctx,
        req.date,
        Event::PayerChanged(PayerChanged {
            payer: cmd.payer,
            mandate: cmd.mandate.as_ref().map(|m| m.to_mandate(cmd.payer)),
            effective_from_month: cutoff_month(req),
        }),
    );
    Ok(one(world, c, vec![e]))
}

/// Changes the mandate or bank account, effective per `PAY-CUTOFF`.
///
/// # Errors
/// `PAY-METHOD` when the contract is paid in cash.
pub fn change_mandate(
    world: &World,
    req: &Request<'_>,
    cmd: &ChangeMandate,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = managed(world, req, cmd.contract_id)?;
    not_terminated(req, c, RuleId::PayMethod)?;
    if !c.payment().is_some_and(PaymentSetup::is_direct_debit) {
        return Err(req.refuse(
            RuleId::PayMethod,
            "a mandate applies to direct debit; switch the contract to direct debit first",
        ));
    }
    guards::check_mandate_signed(req, Some(&cmd.mandate), "mandate.signed_on")?;
    // The mandate is the current payer's: the payer signs it (`PAY-PAYER-CHANGE`).
    let e = req.event(
        ctx,
        req.date,
        Event::MandateChanged(MandateChanged {
            mandate: cmd.mandate.to_mandate(c.payer),
            effective_from_month: cutoff_month(req),
        }),
    );
    Ok(one(world, c, vec![e]))
}

/// Records the revocation of the mandate (`PAY-PAYER-CHANGE`, §4.14.10). It must
/// come with a new method, a new payer or a termination; otherwise the agency may
/// terminate with reason `mandate_revoked` (`TerminateByAgency`).
///
/// # Errors
/// `PAY-PAYER-CHANGE` when there is no mandate to revoke.
pub fn revoke_mandate(
    world: &World,
    req: &Request<'_>,
    cmd: &ContractRef,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = managed(world, req, cmd.contract_id)?;
    not_terminated(req, c, RuleId::PayPayerChange)?;
    let Some((_, mandate)) = c.mandates.last() else {
        return Err(req.refuse(
            RuleId::PayPayerChange,
            "this contract has no mandate to revoke",
        ));
    };
    if c.mandate_revoked.is_some() {
        return Err(req.refuse(RuleId::PayPayerChange, "the mandate is already revoked"));
    }
    let e = req.event(
        ctx,
        req.date,
        Event::MandateRevoked(MandateRevoked {
            reference: mandate.reference.clone(),
        }),
    );
    Ok(one(world, c, vec![e]))
}

/// Switches the payment method (`PAY-SWITCH-TO-CASH`, `PAY-SWITCH-TO-DEBIT`).
///
/// # Errors
/// `PAY-SWITCH-TO-CASH`: Senior, or a remote channel other than mail.
/// `PAY-SWITCH-TO-DEBIT`: outside the renewal of the cash period.
pub fn switch_method(
    world: &World,
    req: &Request<'_>,
    cmd: &SwitchPaymentMethod,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = managed(world, req, cmd.contract_id)?;
    not_terminated(req, c, RuleId::PayMethod)?;
    let channel = req.channel()?;
    let current = c.payment().cloned();
    match (&current, &cmd.to) {
        (Some(PaymentSetup::DirectDebit { .. }), PaymentRequest::Cash) => {
            if c.product == Product::Senior {
                return Err(req.refuse(
                    RuleId::PaySwitchToCash,
                    "a Senior contract is paid by direct debit only (§4.13.1)",
                ));
            }
            if !matches!(channel, Channel::Agency | Channel::Mail) {
                return Err(req.refuse(
                    RuleId::PaySwitchToCash,
                    "a switch to cash is made at an agency or by mail",
                ));
            }
            let from = cutoff_month(req);
            // PAY-SWITCH-TO-CASH (§4.14.12.3): the annual price minus the
            // installments already paid in the current 12-month cycle. The cycle
            // ends with its free month; the months before the switch month are
            // billed by direct debit.
            let period = c
                .periods
                .last()
                .ok_or_else(|| CommandError::invalid("contract_id", "no period of validity"))?;
            let free = period.free_month_on_or_after(from).unwrap_or(from.plus(11));
            let cycle_first = free.plus(-11).max(YearMonth::of(period.start));
            let annual = world
                .catalogue
                .annual_price(c.product.key(), from.first_day())
                .map(|t| t.annual)
                .ok_or_else(|| {
                    req.refuse(RuleId::TarCatalogue, "no tariff for the switch month")
                })?;
            let mut paid = Money::ZERO;
            let mut m = cycle_first;
            while m < from {
                if let Some(t) = charges::owed_month(world, c, m) {
                    paid += t.amount;
                }
                m = m.plus(1);
            }
            let due = annual - paid;
            let amount_due = if due.is_positive() { due } else { Money::ZERO };
            let e = req.event(
                ctx,
                req.date,
                Event::PaymentMethodSwitched(PaymentMethodSwitched {
                    to: PaymentSetup::Cash,
                    effective_from_month: from,
                    amount_due: Some(amount_due),
                }),
            );
            Ok(one(world, c, vec![e]))
        }
        (Some(PaymentSetup::Cash), PaymentRequest::DirectDebit { mandate, .. }) => {
            guards::check_mandate_signed(req, Some(mandate), "to.mandate.signed_on")?;
            // PAY-SWITCH-TO-DEBIT (§4.13.3): only at renewal (from the renewal
            // notice to the end of the cash period), at resumption (`Resume`) or at
            // the Senior switch. Debits start the month after the cash period.
            let until = c
                .cash_paid_until
                .ok_or_else(|| req.refuse(RuleId::PaySwitchToDebit, "no cash period to renew"))?;
            let window_from = until + Duration::days(1)
                - Duration::days(i64::from(ctx.policy.cash_notice_days_before));
            if req.date < window_from || req.date > until {
                return Err(req.refuse(
                    RuleId::PaySwitchToDebit,
                    format!(
                        "cash → direct debit is possible at renewal, between {window_from} and \
                         {until}, at resumption, or at the Senior switch; requested {}",
                        req.date
                    ),
                ));
            }
            let e = req.event(
                ctx,
                req.date,
                Event::PaymentMethodSwitched(PaymentMethodSwitched {
                    to: cmd.to.to_setup(c.payer),
                    effective_from_month: YearMonth::of(until).plus(1),
                    amount_due: None,
                }),
            );
            Ok(one(world, c, vec![e]))
        }
        _ => Err(CommandError::invalid(
            "to",
            "the contract already uses this payment method",
        )),
    }
}

/// Records a debit presented (import): the same composition the billing clock
/// computes for that month (`PAY-DUE-VS-COLLECTED`).
///
/// # Errors
/// Invalid when the month is already debited, is not billed by direct debit, or
/// nothing is to be collected.
pub fn record_debit_presented(
    world: &World,
    req: &Request<'_>,
    cmd: &RecordDebitPresented,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    if c.debits.contains_key(&cmd.month) {
        return Err(CommandError::invalid(
            "month",
            format!("{} is already debited", cmd.month),
        ));
    }
    if !matches!(
        c.payment_at(cmd.month),
        Some(PaymentSetup::DirectDebit { .. })
    ) {
        return Err(req.refuse(
            RuleId::PayMethod,
            format!("{} is not billed by direct debit", cmd.month),
        ));
    }
    let (debit, not_owed) = charges::compose_debit(world, c, cmd.month, ctx.policy.dossier_fee)
        .ok_or_else(|| {
            CommandError::invalid("month", format!("nothing to collect for {}", cmd.month))
        })?;
    let date = c.debit_date(cmd.month);
    let payer = debit.payer;
    let mut events = vec![req.event(ctx, date, Event::DebitPresented(debit))];
    if not_owed.is_positive() {
        events.push(req.event(
            ctx,
            date,
            Event::RefundDue(navigo_events_schema::event::RefundDue {
                amount: not_owed,
                reason: navigo_events_schema::event::RefundReason::DebitAfterCutoff,
                due_by: date + Duration::days(i64::from(ctx.policy.refund_within_days)),
                method: refund_method(c, not_owed, date),
                beneficiary: payer,
            }),
        ));
    }
    Ok(one(world, c, events))
}

/// Records a bank rejection (`PAY-REJECT`, §4.11): the amount becomes debt, plus the
/// rejection fee when the reason code is attributable to the payer
/// (`TAR-REJECT-FEE`, §4.10). `MD07` (debtor deceased) terminates at once, reason
/// `payer_deceased`, without fee (`PAY-UNPAID-TERMINATION`, §12.2.1).
///
/// # Errors
/// Invalid when the debit is unknown or already rejected, or the reason code is
/// not in the catalogue.
pub fn record_debit_rejected(
    world: &World,
    req: &Request<'_>,
    cmd: &RecordDebitRejected,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    let debit = c.debits.get(&cmd.month).ok_or_else(|| {
        CommandError::invalid("month", format!("no debit presented for {}", cmd.month))
    })?;
    if debit.rejected {
        return Err(CommandError::invalid(
            "month",
            format!("the debit of {} is already rejected", cmd.month),
        ));
    }
    let entry = world
        .catalogue
        .reason_code(cmd.reason_code)
        .ok_or_else(|| {
            CommandError::invalid(
                "reason_code",
                format!(
                    "{} is not a published ISO 20022 reason code",
                    cmd.reason_code
                ),
            )
        })?;
    let deceased = cmd.reason_code == ReasonCode::MD07;
    let attributable = entry.attributable_to_payer;
    let date = req.date;
    let rejection = req.event(
        ctx,
        date,
        Event::DebitRejected(DebitRejected {
            debit_event_id: debit.event_id,
            month: cmd.month,
            amount: debit.amount,
            reason_code: cmd.reason_code,
            attributable_to_payer: attributable,
        }),
    );
    let rejection_id = rejection.event_id;
    let mut events = vec![rejection];
    if attributable && !deceased && ctx.policy.reject_fee.is_positive() {
        events.push(req.event(
            ctx,
            date,
            Event::FeeCharged(FeeCharged {
                kind: FeeKind::Rejection,
                amount: ctx.policy.reject_fee,
                cause_event_id: Some(rejection_id),
            }),
        ));
    }
    if deceased && !c.is_terminated() {
        // Decision: nothing more is debited from a deceased debtor's account; the
        // termination stops billing from the month after the rejection.
        events.push(req.event(
            ctx,
            date,
            Event::ContractTerminated(ContractTerminated {
                reason: TerminationReason::PayerDeceased,
                rulebook: req.rulebook.id.to_owned(),
                billing_stops_from: YearMonth::of(date).plus(1),
            }),
        ));
    }
    Ok(one(world, c, events))
}

/// Settles debt (`PAY-REJECT`, §4.11): online by card, by phone, or at an agency.
///
/// # Errors
/// `PAY-REJECT` when there is no debt; invalid for a non-positive amount or one
/// above the debt.
pub fn settle_debt(
    world: &World,
    req: &Request<'_>,
    cmd: &SettleDebt,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    let debt = c.money.debt();
    if !debt.is_positive() {
        return Err(req.refuse(
            RuleId::PayReject,
            format!("contract {} carries no debt", c.id),
        ));
    }
    if !cmd.amount.is_positive() || cmd.amount > debt {
        return Err(CommandError::invalid(
            "amount",
            format!(
                "a settlement is between 0.01 and the debt, {debt}; got {}",
                cmd.amount
            ),
        ));
    }
    if cmd.via == SettlementChannel::TresorPublic {
        return Err(CommandError::invalid(
            "via",
            "a settlement with the Trésor Public is recorded with SettleTreasuryNotice",
        ));
    }
    let e = req.event(
        ctx,
        req.date,
        Event::DebtSettled(DebtSettled {
            amount: cmd.amount,
            via: cmd.via,
        }),
    );
    Ok(one(world, c, vec![e]))
}

/// Records a cash payment (`PAY-CASH`, §4.13.4): the amount due after a switch to
/// cash, or the renewal of a cash period — online, by phone or at an agency until
/// the day before the end, by mailed cheque received at least 20 days before it.
///
/// # Errors
/// `PAY-CASH` refusals: not a cash contract, past the deadline, a wrong amount.
pub fn record_cash_payment(
    world: &World,
    req: &Request<'_>,
    cmd: &RecordCashPayment,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    not_terminated(req, c, RuleId::PayCash)?;
    let channel = req.channel()?;
    if !matches!(c.payment(), Some(PaymentSetup::Cash)) {
        return Err(req.refuse(RuleId::PayCash, "this contract is paid by direct debit"));
    }
    if !cmd.amount.is_positive() {
        return Err(CommandError::invalid("amount", "a payment is positive"));
    }
    let debt = c.money.debt();
    let until = c
        .cash_paid_until
        .ok_or_else(|| req.refuse(RuleId::PayCash, "no cash period on this contract"))?;
    let month = YearMonth::of(until).plus(1);
    let event = if debt.is_positive() {
        // Paying what a switch to cash made due.
        if cmd.amount > debt {
            return Err(CommandError::invalid(
                "amount",
                format!("the amount due is {debt}; got {}", cmd.amount),
            ));
        }
        navigo_events_schema::event::CashPaymentReceived {
            amount: cmd.amount,
            due: Money::ZERO,
            means: cmd.means,
            channel,
            covers_from: YearMonth::of(req.date),
            covers_until: YearMonth::of(until),
        }
    } else {
        // A renewal: the annual price on the first day of the new period.
        let end = until + Duration::days(1);
        let deadline = if cmd.means == PaymentMeans::Cheque && channel == Channel::Mail {
            end - Duration::days(i64::from(ctx.policy.cash_cheque_days_before))
        } else {
            until
        };
        if req.date > deadline {
            return Err(req.refuse(
                RuleId::PayCash,
                format!(
                    "the renewal of the cash period ending {until} had to be received by \
                     {deadline} through this channel; received {}",
                    req.date
                ),
            ));
        }
        let annual = world
            .catalogue
            .annual_price(c.product.key(), end)
            .map(|t| t.annual)
            .ok_or_else(|| req.refuse(RuleId::TarCatalogue, "no tariff for the renewal"))?;
        if cmd.amount != annual {
            return Err(req.refuse(
                RuleId::PayCash,
                format!(
                    "the renewal costs the annual price, {annual}; got {}",
                    cmd.amount
                ),
            ));
        }
        navigo_events_schema::event::CashPaymentReceived {
            amount: annual,
            due: annual,
            means: cmd.means,
            channel,
            covers_from: month,
            covers_until: timing::cash_period_last_month(month),
        }
    };
    let e = req.event(ctx, req.date, Event::CashPaymentReceived(event));
    Ok(one(world, c, vec![e]))
}

/// Pays a refund that is due (`PAY-REFUND-METHOD`, `PAY-REFUND-30D`).
///
/// # Errors
/// Invalid when the refund is unknown or already paid.
pub fn pay_refund(
    world: &World,
    req: &Request<'_>,
    cmd: &PayRefund,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let (amount, method) = match cmd.stream.kind {
        StreamKind::Contract => {
            let c = contract(world, cmd.stream.id)?;
            let r = c.refunds.get(&cmd.refund_event_id).ok_or_else(|| {
                CommandError::invalid(
                    "refund_event_id",
                    "no refund due with this id on the stream",
                )
            })?;
            if r.paid {
                return Err(CommandError::invalid(
                    "refund_event_id",
                    "this refund is already paid",
                ));
            }
            (r.amount, r.method)
        }
        StreamKind::Person => {
            let p = world
                .person(cmd.stream.id)
                .ok_or_else(|| CommandError::invalid("stream", "no such person"))?;
            let (r, paid) = p.refunds.get(&cmd.refund_event_id).ok_or_else(|| {
                CommandError::invalid(
                    "refund_event_id",
                    "no refund due with this id on the stream",
                )
            })?;
            if *paid {
                return Err(CommandError::invalid(
                    "refund_event_id",
                    "this refund is already paid",
                ));
            }
            (r.amount, r.method)
        }
        _ => {
            return Err(CommandError::invalid(
                "stream",
                "refunds live on contract or person streams",
            ))
        }
    };
    let e = req.event(
        ctx,
        req.date,
        Event::RefundPaid(RefundPaid {
            refund_event_id: cmd.refund_event_id,
            amount,
            method: cmd.method.unwrap_or(method),
        }),
    );
    Ok(vec![decision(world, cmd.stream, vec![e])])
}
