//! Who may submit which command over HTTP: the one place the service decides it.
//!
//! The actor of a command is the authenticated principal ([`actor_of`]); the
//! command type decides which role may submit it and through which channel
//! ([`permit`]); a customer acts on their own contracts only ([`customer_owns`]).
//!
//! | command type | agent | system | reference | customer (own, `online`) | auditor | partner |
//! |---|---|---|---|---|---|---|
//! | RegisterPerson, ChangeAddress, DeclareWorkStudyPlace, ErasePersonalData | ✓ | | | | | |
//! | Subscribe, ChangePayer, ChangeMandate, RevokeMandate, SwitchPaymentMethod | ✓ | | | | | |
//! | SettleDebt, RecordCashPayment, PayRefund | ✓ | | | | | |
//! | ChangeZones, TerminateByAgency, EstablishFraud | ✓ | | | | | |
//! | IssueTreasuryNotice, DeliverTreasuryNotice, SettleTreasuryNotice | ✓ | | | | | |
//! | RequestSeniorSwitch, ValidateSeniorSwitch | ✓ | | | | | |
//! | AnnulEvent of a contract's or a person's event | ✓ | | | | | |
//! | Suspend, Resume, DeclareLoss | ✓ | | | holder or payer | | |
//! | ChangeDebitDay, TerminateByPayer | ✓ | | | payer | | |
//! | FileRefundClaim | ✓ | | | filer: holder or payer | | |
//! | AdvanceClock, RecordDebitPresented, RecordDebitRejected | | ✓ | | | | |
//! | PublishTariff, PublishSchoolHolidays, PublishReasonCodes, PublishCampaign | | | ✓ | | | |
//! | AnnulEvent of a catalogue's or a campaign's event | | | ✓ | | | |
//! | AnnulEvent of a bank-stream or ledger-stream event | | | | | | |
//!
//! The bank stream (`bank:00000000-…`: the collection files issued and the
//! bank's files imported) is written by no HTTP role: its events are the
//! operator's work at the command line (`navigo-ledger bank collect`, `bank
//! import`), where the file is at hand, and no command appends to it; an
//! annulment of one of its events is refused to every role, since a file sent
//! to the bank cannot be unsent by a correction in the ledger.
//!
//! Channels: an agent submits through `agency`, `mail`, `email` or `phone` (the
//! channel the customer used to reach the agency); a customer through `online`
//! only (the personal space; absent means `online`); the system and the
//! reference-data role through none. Auditors and partners submit nothing.
//! Backfilling history is not an HTTP role: it is the import mode of
//! `navigo-ledger apply`, which records each command at its own instant, in order.

use navigo_events_schema::command::Command;
use navigo_events_schema::envelope::StreamKind;
use navigo_events_schema::types::{Actor, ActorRole, Channel};
use navigo_rules::world::World;
use uuid::Uuid;

use crate::app::auth::Role;

/// Who may submit a command type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitter {
    /// An agent only.
    Agent,
    /// The system only.
    System,
    /// The reference-data role only.
    Reference,
    /// An agent, or a customer on a contract they hold or pay.
    AgentOrHolderOrPayer,
    /// An agent, or a customer on a contract they pay.
    AgentOrPayer,
    /// An agent, or a customer filing as themselves for a holder they are or
    /// whose contract they pay.
    AgentOrFiler,
    /// No role: operator work at the command line only.
    Nobody,
}

/// The type name of a command (its `type` on the wire).
pub fn command_type(c: &Command) -> &'static str {
    submitter_and_type(c).1
}

/// Who may submit `c`, and its type name.
fn submitter_and_type(c: &Command) -> (Submitter, &'static str) {
    use Submitter::*;
    match c {
        Command::RegisterPerson(_) => (Agent, "RegisterPerson"),
        Command::ChangeAddress(_) => (Agent, "ChangeAddress"),
        Command::DeclareWorkStudyPlace(_) => (Agent, "DeclareWorkStudyPlace"),
        // Decision: an erasure is an agent's act, as a registration is; the
        // customer's request reaches the agency, which checks the legal basis.
        Command::ErasePersonalData(_) => (Agent, "ErasePersonalData"),
        Command::Subscribe(_) => (Agent, "Subscribe"),
        Command::ChangeDebitDay(_) => (AgentOrPayer, "ChangeDebitDay"),
        Command::ChangePayer(_) => (Agent, "ChangePayer"),
        Command::ChangeMandate(_) => (Agent, "ChangeMandate"),
        Command::RevokeMandate(_) => (Agent, "RevokeMandate"),
        Command::SwitchPaymentMethod(_) => (Agent, "SwitchPaymentMethod"),
        Command::RecordDebitPresented(_) => (System, "RecordDebitPresented"),
        Command::RecordDebitRejected(_) => (System, "RecordDebitRejected"),
        Command::SettleDebt(_) => (Agent, "SettleDebt"),
        Command::RecordCashPayment(_) => (Agent, "RecordCashPayment"),
        Command::PayRefund(_) => (Agent, "PayRefund"),
        Command::Suspend(_) => (AgentOrHolderOrPayer, "Suspend"),
        Command::Resume(_) => (AgentOrHolderOrPayer, "Resume"),
        Command::ChangeZones(_) => (Agent, "ChangeZones"),
        Command::DeclareLoss(_) => (AgentOrHolderOrPayer, "DeclareLoss"),
        Command::TerminateByPayer(_) => (AgentOrPayer, "TerminateByPayer"),
        Command::TerminateByAgency(_) => (Agent, "TerminateByAgency"),
        Command::EstablishFraud(_) => (Agent, "EstablishFraud"),
        Command::IssueTreasuryNotice(_) => (Agent, "IssueTreasuryNotice"),
        Command::DeliverTreasuryNotice(_) => (Agent, "DeliverTreasuryNotice"),
        Command::SettleTreasuryNotice(_) => (Agent, "SettleTreasuryNotice"),
        Command::RequestSeniorSwitch(_) => (Agent, "RequestSeniorSwitch"),
        Command::ValidateSeniorSwitch(_) => (Agent, "ValidateSeniorSwitch"),
        Command::PublishTariff(_) => (Reference, "PublishTariff"),
        Command::PublishSchoolHolidays(_) => (Reference, "PublishSchoolHolidays"),
        Command::PublishReasonCodes(_) => (Reference, "PublishReasonCodes"),
        Command::PublishCampaign(_) => (Reference, "PublishCampaign"),
        Command::FileRefundClaim(_) => (AgentOrFiler, "FileRefundClaim"),
        // An annulment of reference data is reference data: an agent who could
        // annul a tariff could change every price.
        Command::AnnulEvent(a) => match a.stream.kind {
            StreamKind::Catalogue | StreamKind::Campaign => (Reference, "AnnulEvent"),
            // The bank's files and the ledger's own records are evidence:
            // nobody annuls them over HTTP.
            StreamKind::Bank | StreamKind::Ledger => (Nobody, "AnnulEvent"),
            _ => (Agent, "AnnulEvent"),
        },
        Command::AdvanceClock(_) => (System, "AdvanceClock"),
    }
}

/// Who may submit `c`.
pub fn submitter(c: &Command) -> Submitter {
    submitter_and_type(c).0
}

/// The channels a role submits through; empty: none (the field must be absent).
pub fn channels_of(role: Role) -> &'static [Channel] {
    match role {
        Role::Agent => &[
            Channel::Agency,
            Channel::Mail,
            Channel::Email,
            Channel::Phone,
        ],
        Role::Customer => &[Channel::Online],
        _ => &[],
    }
}

/// Whether `role` may submit a command of `c`'s type at all (a customer still
/// needs [`customer_owns`]).
pub fn permit(role: Role, c: &Command) -> bool {
    use Submitter::*;
    matches!(
        (role, submitter(c)),
        (
            Role::Agent,
            Agent | AgentOrHolderOrPayer | AgentOrPayer | AgentOrFiler
        ) | (Role::System, System)
            | (Role::Reference, Reference)
            | (
                Role::Customer,
                AgentOrHolderOrPayer | AgentOrPayer | AgentOrFiler
            )
    )
}

/// The actor recorded on the events of a principal's command: the token's name
/// under its role, or the customer's person id. Decision: the reference-data
/// role records as an agent (the events' actor roles are customer, agent, system
/// and import); its token name says which desk published.
pub fn actor_of(role: Role, name: &str, person: Option<Uuid>) -> Option<Actor> {
    let (role, id) = match (role, person) {
        (Role::Customer, Some(p)) => (ActorRole::Customer, p.to_string()),
        (Role::Agent | Role::Reference, _) => (ActorRole::Agent, name.to_owned()),
        (Role::System, _) => (ActorRole::System, name.to_owned()),
        _ => return None,
    };
    Some(Actor { role, id })
}

/// Whether customer `person` may submit `c`: on a contract they hold or pay
/// today (as the submitter of its type requires), or a refund claim they file
/// themselves for a holder they are or pay for. An unknown contract is not
/// theirs: the answer does not reveal whether it exists. Read through the
/// world's indexes, never a scan.
pub fn customer_owns(world: &World, person: Uuid, c: &Command) -> Result<(), &'static str> {
    let contract_of = |id: Uuid| world.contract(id);
    let pays = |id: Uuid| contract_of(id).is_some_and(|k| k.payer == person);
    let holds = |id: Uuid| contract_of(id).is_some_and(|k| k.holder == person);
    let (field, ok) = match c {
        Command::Suspend(x) => (
            "command.contract_id",
            holds(x.contract_id) || pays(x.contract_id),
        ),
        Command::Resume(x) => (
            "command.contract_id",
            holds(x.contract_id) || pays(x.contract_id),
        ),
        Command::DeclareLoss(x) => (
            "command.contract_id",
            holds(x.contract_id) || pays(x.contract_id),
        ),
        Command::ChangeDebitDay(x) => ("command.contract_id", pays(x.contract_id)),
        Command::TerminateByPayer(x) => ("command.contract_id", pays(x.contract_id)),
        Command::FileRefundClaim(x) => {
            let for_holder = x.holder == person
                || world
                    .by_payer
                    .get(&person)
                    .into_iter()
                    .flatten()
                    .filter_map(|id| contract_of(*id))
                    .any(|k| k.holder == x.holder);
            if x.filer != person {
                return Err("command.filer");
            }
            ("command.holder", for_holder)
        }
        _ => ("command", false),
    };
    if ok {
        Ok(())
    } else {
        Err(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command type, from the committed examples (one per type).
    pub(crate) fn every_command() -> Vec<Command> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/events-schema/examples/commands"
        );
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("examples") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
            let env: navigo_events_schema::CommandEnvelope =
                serde_json::from_str(&text).expect("example parses");
            out.push(env.command);
        }
        out
    }

    #[test]
    fn http_authz_matrix_every_role_against_every_command_type() {
        let commands = every_command();
        assert!(commands.len() >= 33, "{}", commands.len());
        for c in &commands {
            let t = command_type(c);
            let allowed: Vec<&str> = Role::ALL
                .into_iter()
                .filter(|r| permit(*r, c))
                .map(Role::as_str)
                .collect();
            let expected: &[&str] = match t {
                "AdvanceClock" | "RecordDebitPresented" | "RecordDebitRejected" => &["system"],
                "PublishTariff"
                | "PublishSchoolHolidays"
                | "PublishReasonCodes"
                | "PublishCampaign" => &["reference"],
                "Suspend" | "Resume" | "DeclareLoss" | "ChangeDebitDay" | "TerminateByPayer"
                | "FileRefundClaim" => &["agent", "customer"],
                _ => &["agent"],
            };
            assert_eq!(allowed, expected, "{t}");
        }
        // Auditors and partners submit nothing; each type names one submitter.
        assert!(commands
            .iter()
            .all(|c| !permit(Role::Auditor, c) && !permit(Role::Partner, c)));
    }

    #[test]
    fn http_authz_matrix_an_annulment_by_the_kind_of_stream_it_corrects() {
        let mut annul = every_command()
            .into_iter()
            .find(|c| matches!(c, Command::AnnulEvent(_)))
            .expect("an AnnulEvent example");
        for kind in StreamKind::ALL {
            let Command::AnnulEvent(a) = &mut annul else {
                unreachable!()
            };
            a.stream = navigo_events_schema::StreamId::new(kind, a.stream.id);
            let allowed: Vec<&str> = Role::ALL
                .into_iter()
                .filter(|r| permit(*r, &annul))
                .map(Role::as_str)
                .collect();
            let expected: &[&str] = match kind {
                StreamKind::Contract | StreamKind::Person => &["agent"],
                StreamKind::Catalogue | StreamKind::Campaign => &["reference"],
                StreamKind::Bank | StreamKind::Ledger => &[],
            };
            assert_eq!(allowed, expected, "{kind:?}");
        }
    }
}
