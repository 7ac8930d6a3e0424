//! The checks several command families make before deciding: the contract
//! exists, is not terminated, is not managed online when a third party pays for
//! it, and who may pay for it. Each is defined here once, so that every family
//! refuses the same situation with the same rule and words.

use chrono::NaiveDate;
use navigo_events_schema::types::{ActivityDeclaration, Channel, MandateInput};
use navigo_events_schema::RuleId;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::state::{ContractState, Status};
use crate::bans::{self, BanRole};
use crate::calendar::age_on;
use crate::decision::Request;
use crate::refusal::CommandError;
use crate::world::{PersonState, World};

/// The contract of a command, or an error naming `contract_id`.
///
/// # Errors
/// [`CommandError::Invalid`] when the contract is unknown.
pub fn contract(world: &World, id: Uuid) -> Result<&ContractState, CommandError> {
    world
        .contract(id)
        .ok_or_else(|| CommandError::invalid("contract_id", format!("no contract {id}")))
}

/// The refusal, by `rule`, of a request about a terminated contract; `remedy`
/// says what the requester may do instead. One guard for every family, so that
/// "is terminated" is read one way (the current status) and worded one way.
///
/// # Errors
/// The refusal when `c` is terminated.
pub fn refuse_if_terminated(
    req: &Request<'_>,
    c: &ContractState,
    rule: RuleId,
    remedy: &str,
) -> Result<(), CommandError> {
    if let Status::Terminated { reason } = c.current_status() {
        let since = c.termination.as_ref().map_or(c.start_date, |t| t.0);
        return Err(req.refuse(
            rule,
            format!(
                "contract {} was terminated on {since} ({reason}); {remedy}",
                c.id
            ),
        ));
    }
    Ok(())
}

/// The refusal of any change to a terminated contract
/// (`SUSP-NOT-WHILE-TERMINATED`): `what` is the change asked.
///
/// # Errors
/// The refusal when `c` is terminated.
pub fn refuse_change_if_terminated(
    req: &Request<'_>,
    c: &ContractState,
    what: &str,
) -> Result<(), CommandError> {
    refuse_if_terminated(
        req,
        c,
        RuleId::SuspNotWhileTerminated,
        &format!(
            "{what} is only possible on a contract in force or suspended: subscribe a new \
             contract instead"
        ),
    )
}

/// `SUB-THIRD-PARTY`: a contract financed by a third-party payer cannot be managed
/// online (CGVU-2026 §7.3, §10.2, §11.2).
///
/// # Errors
/// The refusal when the request comes online for such a contract.
pub fn refuse_third_party_online(req: &Request<'_>, c: &ContractState) -> Result<(), CommandError> {
    if c.third_party_payer && req.channel == Some(Channel::Online) {
        return Err(req.refuse(
            RuleId::SubThirdParty,
            format!(
                "contract {} is financed by a third-party payer and cannot be managed online; \
                 ask at an agency",
                c.id
            ),
        ));
    }
    Ok(())
}

/// `SUB-AGE`: minimum age of a payer who is not emancipated.
pub const PAYER_AGE_MIN: u32 = 18;

/// `SUB-AGE`: minimum age of an emancipated payer (with proof).
pub const EMANCIPATED_PAYER_AGE_MIN: u32 = 16;

/// `SUB-SENIOR`: minimum age of a Senior holder on the start date.
pub const SENIOR_AGE_MIN: u32 = 62;

/// `SUB-SENIOR`: activity strictly below these hours (week, month, year; §2.2.3).
pub const SENIOR_HOURS_PER_WEEK_MAX: Decimal = Decimal::from_parts(175, 0, 0, false, 1);

/// See [`SENIOR_HOURS_PER_WEEK_MAX`].
pub const SENIOR_HOURS_PER_MONTH_MAX: Decimal = Decimal::from_parts(755, 0, 0, false, 1);

/// See [`SENIOR_HOURS_PER_WEEK_MAX`].
pub const SENIOR_HOURS_PER_YEAR_MAX: Decimal = Decimal::from_parts(8035, 0, 0, false, 1);

/// Whether a Senior activity declaration is below half-time (`SUB-SENIOR`, §2.2.3).
pub fn senior_declaration_ok(d: &ActivityDeclaration) -> bool {
    match d {
        ActivityDeclaration::NoActivity => true,
        ActivityDeclaration::HoursPerWeek { hours } => *hours < SENIOR_HOURS_PER_WEEK_MAX,
        ActivityDeclaration::HoursPerMonth { hours } => *hours < SENIOR_HOURS_PER_MONTH_MAX,
        ActivityDeclaration::HoursPerYear { hours } => *hours < SENIOR_HOURS_PER_YEAR_MAX,
    }
}

/// The payer ban barring `payer` on `date` (`SUB-BANNED-PAYER`, RULES.md §8), as
/// the refusal to give: the windows come from [`crate::bans`] over the person's
/// facts; ban durations use the rulebook recorded on the termination or in force
/// on the notice's receipt (RULES.md §0 Decision).
pub fn payer_banned(world: &World, payer: Uuid, date: NaiveDate) -> Option<CommandError> {
    let windows = world.ban_windows(payer);
    bans::may_be(BanRole::Payer, date, &windows)
        .err()
        .map(|w| CommandError::Refused(bans::ban_refusal(w, date)))
}

/// The fraud ban barring `holder` on `date` (`SUB-BANNED-HOLDER`, `BAN-FRAUD-3Y`).
pub fn holder_banned(world: &World, holder: Uuid, date: NaiveDate) -> Option<CommandError> {
    let windows = world.ban_windows(holder);
    bans::may_be(BanRole::Holder, date, &windows)
        .err()
        .map(|w| CommandError::Refused(bans::ban_refusal(w, date)))
}

/// `SUB-AGE` (§4.1): the payer is at least [`PAYER_AGE_MIN`] on `on`, or at
/// least [`EMANCIPATED_PAYER_AGE_MIN`] and emancipated with proof. Checked for the
/// payer of a subscription and for a new payer (`PAY-PAYER-CHANGE`).
///
/// # Errors
/// The refusal, with the payer's age on `on`.
pub fn check_payer_age(
    req: &Request<'_>,
    payer: &PersonState,
    on: NaiveDate,
) -> Result<(), CommandError> {
    let age = age_on(payer.birth_date, on);
    let emancipated = payer.emancipation_proof.is_some() && age >= EMANCIPATED_PAYER_AGE_MIN;
    if age < PAYER_AGE_MIN && !emancipated {
        return Err(req.refuse(
            RuleId::SubAge,
            format!(
                "the payer must be at least {PAYER_AGE_MIN}, or at least \
                 {EMANCIPATED_PAYER_AGE_MIN} and emancipated with proof; aged {age} on {on}"
            ),
        ));
    }
    Ok(())
}

/// `PAY-METHOD`: a mandate is signed before it is recorded. The IBAN, BIC,
/// holder's name and reference were checked when the command was decoded; the
/// signature date needs the request's date. `field` is the mandate's path in
/// the command.
///
/// # Errors
/// [`CommandError::Invalid`] naming `field` when the mandate is signed after
/// the request's date.
pub fn check_mandate_signed(
    req: &Request<'_>,
    mandate: Option<&MandateInput>,
    field: &'static str,
) -> Result<(), CommandError> {
    match mandate {
        Some(m) if m.signed_on > req.date => Err(CommandError::invalid(
            field,
            format!(
                "a mandate signed on {} cannot be recorded on {}: give the date the payer \
                 signed it, on or before the request",
                m.signed_on, req.date
            ),
        )),
        _ => Ok(()),
    }
}
