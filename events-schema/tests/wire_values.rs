//! Wire values as RULES.md spells them: every string value of every enum of the
//! published schemas (events of every version, the command format, the raw event
//! line, the views) appears in `../shared/RULES.md` as spelled, or is listed below
//! with the reason it does not; and every enum displays its wire value, the
//! spelling messages use.

use std::collections::{BTreeMap, BTreeSet};

use navigo_events_schema::event::{
    ChargeKind, ClaimKind, FeeKind, FilerCapacity, FraudKind, LossKind, PaymentMeans, RefundMethod,
    RefundReason, SettlementChannel, SuspensionCause, TerminationReason, ZoneDirection,
};
use navigo_events_schema::schema_files;
use navigo_events_schema::types::{ActorRole, Channel, Mark, PlaceKind, Support};
use serde_json::Value;

const RULES_MD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/RULES.md");

/// Wire values RULES.md does not spell, by group, with the reason.
const NOT_IN_RULES: &[(&str, &[&str])] = &[
    (
        "The kind of a bank file imported (`BankFileImported`): an ISO 20022 pain.002 \
         status report or a camt.054 notification; RULES.md names the rejects and \
         returns they carry (PAY-REJECT-*), not the bank's file formats",
        &["notification", "status_report"],
    ),
    (
        "The status of a mandate's debtor account in the views (`DebtorView`): a \
         version 1 mandate's opaque reference, or an account sealed whose payer was \
         erased; RULES.md names the mandate (PAY-METHOD), not how a view shows it",
        &["legacy", "unreadable"],
    ),
    (
        "Command types: the request formats of the ledger, named like the event \
         types (PascalCase); RULES.md states the rules they are judged by, by rule id",
        &[
            "AdvanceClock",
            "AnnulEvent",
            "ChangeAddress",
            "ChangeDebitDay",
            "ChangeMandate",
            "ChangePayer",
            "ChangeZones",
            "DeclareLoss",
            "DeclareWorkStudyPlace",
            "ErasePersonalData",
            "DeliverTreasuryNotice",
            "EstablishFraud",
            "FileRefundClaim",
            "IssueTreasuryNotice",
            "PayRefund",
            "PublishCampaign",
            "PublishReasonCodes",
            "PublishSchoolHolidays",
            "PublishTariff",
            "RecordCashPayment",
            "RecordDebitPresented",
            "RecordDebitRejected",
            "RegisterPerson",
            "RequestSeniorSwitch",
            "Resume",
            "RevokeMandate",
            "SettleDebt",
            "SettleTreasuryNotice",
            "Subscribe",
            "Suspend",
            "SwitchPaymentMethod",
            "TerminateByAgency",
            "TerminateByPayer",
            "ValidateSeniorSwitch",
        ],
    ),
    (
        "Marks of reference figures (verified, unverified): defined by DATA.md, not RULES.md",
        &["U", "V"],
    ),
    (
        "Actor roles: who recorded an event (an agent, the system, an import), the \
         ledger's audit vocabulary rather than a contract rule",
        &["agent", "import", "system"],
    ),
    (
        "Payment means and refund methods: RULES.md names them in French or in prose \
         (lettre-chèque, bank transfer, card online, Trésor Public, direct debit); the \
         wire value is their ASCII snake case",
        &[
            "bank_transfer",
            "card_online",
            "direct_debit",
            "lettre_cheque",
            "online_card",
            "tresor_public",
        ],
    ),
    (
        "Charge lines of a debit: the ledger's breakdown of an amount, each described \
         in prose by its rule (TAR-INSTALLMENT, TAR-PRORATA, PAY-FREE-MONTH, \
         TAR-DOSSIER-FEE, ZONE-UP, PAY-CUTOFF, PAY-CASH, PAY-SENIOR)",
        &[
            "cash_annual",
            "credit_deducted",
            "cutoff_difference",
            "debt_carried",
            "dossier_fee",
            "free_month",
            "full_installment",
            "prorated",
            "senior_installment",
            "zone_difference",
        ],
    ),
    (
        "Causes and reasons the ledger records for a rule RULES.md states in prose: a \
         cash period that ended (PAY-CASH), a refund of unused cash (PAY-CASH-REFUND) \
         or of a debit taken after the cutoff (PAY-CUTOFF, PAY-REFUND-30D), a \
         termination asked by the payer (TERM-BY-PAYER), usage fraud (BAN-FRAUD-3Y), \
         a zone change up or down (ZONE-UP, ZONE-DOWN)",
        &[
            "cash_period_ended",
            "cash_unused",
            "debit_after_cutoff",
            "payer_request",
            "usage",
            "up",
            "down",
        ],
    ),
    (
        "Punctuality refund claims: a claim (complaint) after a request, filed by a \
         legal guardian; RULES.md §10 describes both in prose",
        &["claim", "legal_guardian"],
    ),
    (
        "Senior activity declarations (SUB-SENIOR): RULES.md gives the thresholds per \
         week, month and year in prose",
        &[
            "hours_per_month",
            "hours_per_week",
            "hours_per_year",
            "no_activity",
        ],
    ),
    (
        "View statuses and validity reasons: outputs of the projections, describing a \
         debit (scheduled, presented, none because suspended or terminated), a refund \
         or claim (granted, overdue, not filed, decided nothing) and zone validity \
         (USE-DEZONAGE: covered or not, weekend, public holiday, school holidays, \
         summer, not started)",
        &[
            "covered",
            "decided_nothing",
            "granted",
            "none_suspended",
            "none_terminated",
            "not_covered",
            "not_filed",
            "not_started",
            "overdue",
            "presented",
            "public_holiday",
            "scheduled",
            "school_holidays",
            "summer",
            "weekend",
        ],
    ),
    (
        "Statuses of the binary's answers (a line of apply: conflict, invalid, \
         malformed; the service alive and ready; an account created): the ledger's \
         answers, not contract rules",
        &["conflict", "created", "invalid", "malformed", "ok", "ready"],
    ),
    (
        "Kinds of the HTTP service's errors, each with its status (docs/openapi.json)",
        &[
            "bad_request",
            "forbidden",
            "internal",
            "method_not_allowed",
            "not_found",
            "session_ended",
            "timeout",
            "too_large",
            "too_many_attempts",
            "unauthorized",
            "unsupported_media_type",
            "wrong_credentials",
        ],
    ),
    (
        "What differs between a log and a checkpoint an auditor kept (verify --against, \
         docs/checkpoints.md): tamper evidence, not contract rules",
        &["record", "root", "size"],
    ),
    (
        "PARTNER-CHECK's third return code, no match (RULES.md says the answer is a \
         return code only; 00 and 01 are spelled in its text): the code of the \
         partners' interface",
        &["02"],
    ),
    (
        "ContractTerminated version 1's spelling of suspension_over_12_months (serde's \
         snake case of the Rust variant): kept in that version's schema because stored \
         records carry it; upcast on load",
        &["suspension_over12_months"],
    ),
];

/// Every string of an `enum` or a `const` in a schema, with the schema's path.
fn wire_values(v: &Value, file: &str, out: &mut BTreeMap<String, BTreeSet<String>>) {
    match v {
        Value::Object(fields) => {
            let listed = fields
                .get("enum")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(fields.get("const"));
            for s in listed.filter_map(Value::as_str) {
                out.entry(s.to_owned()).or_default().insert(file.to_owned());
            }
            for x in fields.values() {
                wire_values(x, file, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| wire_values(x, file, out)),
        _ => {}
    }
}

/// True when `word` appears in `text` as spelled, not inside a longer word
/// (`up` inside `suspension` does not count).
fn spelled_in(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word)
        .any(|(i, _)| !text[..i].ends_with(is_word) && !text[i + word.len()..].starts_with(is_word))
}

#[test]
fn every_wire_value_of_every_enum_is_spelled_as_in_rules_md_or_documented() {
    // Given RULES.md and every wire value of the published schemas
    let rules = std::fs::read_to_string(RULES_MD).expect("RULES.md");
    let mut values = BTreeMap::new();
    for f in schema_files() {
        wire_values(&f.schema.to_value(), &f.path, &mut values);
    }
    // (the old spelling of a termination reason survives in the schema of the
    // version that wrote it, and nowhere else)
    assert_eq!(
        values.get("suspension_over12_months"),
        Some(&BTreeSet::from([
            "events/ContractTerminated.v1.json".to_owned()
        ]))
    );
    let allowed: BTreeMap<&str, &str> = NOT_IN_RULES
        .iter()
        .flat_map(|(why, vs)| vs.iter().map(move |v| (*v, *why)))
        .collect();
    let mut problems = Vec::new();
    // Then each is in RULES.md as spelled, or listed with its reason
    for (value, files) in &values {
        if !spelled_in(&rules, value) && !allowed.contains_key(value.as_str()) {
            problems.push(format!(
                "{value:?} (in {}) is not spelled so in RULES.md: spell it as RULES.md \
                 does, or list it in NOT_IN_RULES with the reason",
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    // And the list holds no value that is gone or that RULES.md now spells
    for value in allowed.keys() {
        if !values.contains_key(*value) {
            problems.push(format!("{value:?} is listed but no schema has it"));
        } else if spelled_in(&rules, value) {
            problems.push(format!("{value:?} is listed but RULES.md spells it"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Each value of `T`'s schema decodes to a value that displays as itself.
fn displays_its_wire_values<T>() -> usize
where
    T: serde::de::DeserializeOwned + std::fmt::Display + schemars::JsonSchema,
{
    let mut values = BTreeMap::new();
    wire_values(&schemars::schema_for!(T).to_value(), "", &mut values);
    assert!(!values.is_empty(), "{}", T::schema_name());
    for value in values.keys() {
        let decoded: T = serde_json::from_value(Value::String(value.clone()))
            .unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(&decoded.to_string(), value, "{}", T::schema_name());
    }
    values.len()
}

#[test]
fn every_enum_displays_its_wire_value_as_messages_write_it() {
    let shown = displays_its_wire_values::<Channel>()
        + displays_its_wire_values::<ActorRole>()
        + displays_its_wire_values::<Support>()
        + displays_its_wire_values::<PlaceKind>()
        + displays_its_wire_values::<Mark>()
        + displays_its_wire_values::<FilerCapacity>()
        + displays_its_wire_values::<ClaimKind>()
        + displays_its_wire_values::<PaymentMeans>()
        + displays_its_wire_values::<ChargeKind>()
        + displays_its_wire_values::<SettlementChannel>()
        + displays_its_wire_values::<RefundReason>()
        + displays_its_wire_values::<RefundMethod>()
        + displays_its_wire_values::<SuspensionCause>()
        + displays_its_wire_values::<ZoneDirection>()
        + displays_its_wire_values::<LossKind>()
        + displays_its_wire_values::<FeeKind>()
        + displays_its_wire_values::<FraudKind>()
        + displays_its_wire_values::<TerminationReason>();
    assert!(shown > 50, "{shown}");
    assert_eq!(
        TerminationReason::SuspensionOver12Months.to_string(),
        "suspension_over_12_months"
    );
}
