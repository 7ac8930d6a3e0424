//! Established fraud (`TERM-BY-AGENCY`, `BAN-FRAUD-3Y`; CGVU-2026 §5.9, §12.2.1,
//! §12.2.4; CGU-2011 §8.1, §8.5).
//!
//! Establishing fraud records who committed it and the accomplices named, and
//! terminates the contract at once with the fraud reason. The ban windows are
//! computed from these facts by the subscription rules (`SUB-BANNED-HOLDER`):
//! under CGU-2011 the ban covers the fraudster only, the accomplices stay in the
//! record for the audit trail.

use std::collections::BTreeSet;

use navigo_events_schema::command::EstablishFraud;
use navigo_events_schema::event::{FraudEstablished, FraudKind, TerminationReason};
use navigo_events_schema::{Event, RuleId, StreamId};

use super::guards::{self, contract};
use super::transitions::terminated;
use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// A named bound on the accomplices of one fraud.
pub const ACCOMPLICES_MAX: usize = 20;

/// Handles `EstablishFraud`.
///
/// # Errors
/// Refused by `TERM-BY-AGENCY` on a terminated contract (Decision: the ban runs
/// from the termination, so fraud is established before or with it); invalid
/// when the fraudster or an accomplice is not a registered person, an accomplice
/// is named twice or is the fraudster, or too many are named.
pub fn establish_fraud(
    world: &World,
    req: &Request<'_>,
    cmd: &EstablishFraud,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    guards::refuse_if_terminated(
        req,
        c,
        RuleId::TermByAgency,
        "fraud is established with the termination it causes",
    )?;
    if world.person(cmd.fraudster).is_none() {
        return Err(CommandError::invalid(
            "fraudster",
            format!("no person {}; register the fraudster first", cmd.fraudster),
        ));
    }
    if cmd.accomplices.len() > ACCOMPLICES_MAX {
        return Err(CommandError::invalid(
            "accomplices",
            format!("at most {ACCOMPLICES_MAX} accomplices per fraud"),
        ));
    }
    let mut seen = BTreeSet::new();
    for a in &cmd.accomplices {
        if *a == cmd.fraudster || !seen.insert(*a) {
            return Err(CommandError::invalid(
                "accomplices",
                format!("accomplice {a} is named twice or is the fraudster"),
            ));
        }
        if world.person(*a).is_none() {
            return Err(CommandError::invalid(
                "accomplices",
                format!("no person {a}; register each accomplice first"),
            ));
        }
    }
    let reason = match cmd.kind {
        FraudKind::Subscription => TerminationReason::SubscriptionFraud,
        FraudKind::Usage => TerminationReason::UsageFraud,
    };
    let date = req.date.max(c.start_date);
    let fraud = req.event(
        ctx,
        date,
        Event::FraudEstablished(FraudEstablished {
            kind: cmd.kind,
            fraudster: cmd.fraudster,
            accomplices: cmd.accomplices.clone(),
        }),
    );
    let fraud_id = fraud.event_id;
    let mut term = req.event(
        ctx,
        date,
        Event::ContractTerminated(terminated(reason, req.rulebook, req.date, date)),
    );
    term.causation_id = Some(fraud_id);
    Ok(vec![decision(
        world,
        StreamId::contract(c.id),
        vec![fraud, term],
    )])
}
