//! Payment (`PAY-*`, `TAR-REJECT-FEE`).

use navigo_events_schema::command::{
    ChangeDebitDay, ChangeMandate, ChangePayer, ContractRef, PayRefund, RecordCashPayment,
    RecordDebitPresented, RecordDebitRejected, SettleDebt, SwitchPaymentMethod,
};

use crate::engine::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Handles `ChangeDebitDay`.
///
/// # Errors
/// Always, for now.
pub fn change_debit_day(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &ChangeDebitDay,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `ChangePayer`.
///
/// # Errors
/// Always, for now.
pub fn change_payer(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &ChangePayer,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `ChangeMandate`.
///
/// # Errors
/// Always, for now.
pub fn change_mandate(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &ChangeMandate,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `ContractRef`.
///
/// # Errors
/// Always, for now.
pub fn revoke_mandate(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &ContractRef,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `SwitchPaymentMethod`.
///
/// # Errors
/// Always, for now.
pub fn switch_method(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &SwitchPaymentMethod,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `RecordDebitPresented`.
///
/// # Errors
/// Always, for now.
pub fn record_debit_presented(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &RecordDebitPresented,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `RecordDebitRejected`.
///
/// # Errors
/// Always, for now.
pub fn record_debit_rejected(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &RecordDebitRejected,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `SettleDebt`.
///
/// # Errors
/// Always, for now.
pub fn settle_debt(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &SettleDebt,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `RecordCashPayment`.
///
/// # Errors
/// Always, for now.
pub fn record_cash_payment(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &RecordCashPayment,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}

/// Handles `PayRefund`.
///
/// # Errors
/// Always, for now.
pub fn pay_refund(
    _world: &World,
    _req: &Request<'_>,
    _cmd: &PayRefund,
    _ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    Err(CommandError::invalid("command", "not implemented yet"))
}
