//! Mandates (`PAY-METHOD`, `PAY-PAYER-CHANGE`) as the bank files need them:
//! the mandate in force on a collection date, its sequence type
//! (`PAY-MANDATE-SEQUENCE`) and its amendment (`PAY-MANDATE-AMENDMENT`), and
//! the signature date checked on input.

use navigo_events_schema::command::{ChangeMandate, ChangePayer};
use navigo_events_schema::types::{Channel, MandateInput};
use navigo_events_schema::{Command, CommandEnvelope, RuleId};
use navigo_rules::contract::collection::{CollectionMandate, SequenceType};
use navigo_testkit::*;

/// Worked example 1's contract: agency, start 2026-07-12, debit day 1,
/// mandate `M-1`.
fn scenario() -> Scenario {
    Scenario::new().given([
        tariff_990(),
        reason_codes(),
        register(1, d(1990, 1, 1)),
        register(2, d(1980, 1, 1)),
        subscribe(
            d(2026, 7, 12),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 7, 12),
            debit(1, 1),
        ),
    ])
}

fn change_mandate(date: chrono::NaiveDate, mandate: MandateInput) -> CommandEnvelope {
    cmd(
        date,
        Some(Channel::Agency),
        Command::ChangeMandate(ChangeMandate {
            contract_id: cid(1),
            mandate,
        }),
    )
}

fn on(s: &Scenario, date: chrono::NaiveDate) -> CollectionMandate {
    let c = s.world.contract(cid(1)).expect("contract 1");
    c.collection_mandate(date).expect("a mandate in force")
}

#[test]
fn pay_mandate_sequence_first_collection_is_frst_then_rcur() {
    // Given a new direct-debit contract, nothing presented yet
    let s = scenario();
    // Then its first collection is FRST, with the mandate as signed
    let first = on(&s, d(2026, 8, 1));
    assert_eq!(first.sequence, SequenceType::First);
    assert_eq!(first.sequence.code(), "FRST");
    assert_eq!(first.mandate.reference, "M-1");
    assert_eq!(first.mandate.signed_on, Some(d(2010, 1, 1)));
    assert_eq!(first.mandate.payer, Some(pid(1)));
    assert_eq!(
        first.mandate.account().map(|a| a.iban.as_str().to_owned()),
        Some(mandate(1).debtor.iban.as_str().to_owned())
    );
    assert_eq!(first.amendment, None);
    // And once August is presented, September is RCUR
    let s = s.advance(d(2026, 8, 1));
    assert_eq!(on(&s, d(2026, 9, 1)).sequence, SequenceType::Recurrent);
}

#[test]
fn pay_mandate_amendment_a_new_account_under_the_same_reference_is_reported_once() {
    // Given August presented under M-1
    let s = scenario().advance(d(2026, 8, 1));
    // When the payer gives another account under the same mandate reference
    let mut moved = mandate_named("M-1", 9);
    moved.signed_on = d(2026, 8, 5);
    let s = s.given([change_mandate(d(2026, 8, 5), moved.clone())]);
    // Then the next collection (September, PAY-CUTOFF) names the original
    // account, stays RCUR, and keeps the reference
    let sept = on(&s, d(2026, 9, 1));
    assert_eq!(sept.sequence, SequenceType::Recurrent);
    let amendment = sept.amendment.expect("an amendment");
    assert_eq!(amendment.original_reference, None);
    let original = amendment.original_debtor.expect("the original account");
    assert_eq!(
        original.value().and_then(|d| match d {
            navigo_events_schema::mandate::MandateDebtor::Account(a) => Some(a.iban.clone()),
            navigo_events_schema::mandate::MandateDebtor::Legacy(_) => None,
        }),
        Some(mandate(1).debtor.iban)
    );
    // And once September is presented the amendment is cleared
    let s = s.advance(d(2026, 9, 1));
    assert_eq!(on(&s, d(2026, 10, 1)).amendment, None);
}

#[test]
fn pay_mandate_amendment_a_new_payer_signing_a_new_mandate_is_a_first_collection() {
    // Given August presented under M-1
    let s = scenario().advance(d(2026, 8, 1));
    // When a new payer signs a new mandate (PAY-PAYER-CHANGE), registered
    // before the 15th: effective from September
    let mut signed = mandate_named("M-2", 2);
    signed.signed_on = d(2026, 8, 3);
    let s = s.given([cmd(
        d(2026, 8, 3),
        Some(Channel::Agency),
        Command::ChangePayer(ChangePayer {
            contract_id: cid(1),
            payer: pid(2),
            mandate: Some(signed),
        }),
    )]);
    // Then September is collected under M-2, the new payer's, as FRST
    let sept = on(&s, d(2026, 9, 1));
    assert_eq!(sept.mandate.reference, "M-2");
    assert_eq!(sept.mandate.payer, Some(pid(2)));
    assert_eq!(sept.sequence, SequenceType::First);
    // And it is a new mandate, not an amendment of the old one
    assert_eq!(sept.amendment, None);
}

#[test]
fn pay_mandate_amendment_a_renumbered_mandate_names_its_original_reference() {
    // Given August presented under M-1, signed on 2010-01-01
    let s = scenario().advance(d(2026, 8, 1));
    // When the creditor renumbers the same signed mandate
    let s = s.given([change_mandate(d(2026, 8, 5), mandate_named("M-1-BIS", 1))]);
    // Then September names the original reference and the same account
    let sept = on(&s, d(2026, 9, 1));
    let amendment = sept.amendment.expect("an amendment");
    assert_eq!(amendment.original_reference.as_deref(), Some("M-1"));
    assert_eq!(amendment.original_debtor, None);
}

#[test]
fn pay_method_a_mandate_signed_after_the_request_is_refused() {
    // Given a contract; when a mandate signed tomorrow is given
    let mut later = mandate_named("M-9", 9);
    later.signed_on = d(2026, 8, 6);
    scenario()
        .when(change_mandate(d(2026, 8, 5), later))
        // Then it is refused naming the field, and nothing is recorded
        .then_invalid("mandate.signed_on");
}

#[test]
fn pay_method_a_cash_contract_has_no_collection_mandate() {
    let s = Scenario::new().given(agency_contract(
        navigo_events_schema::types::PaymentRequest::Cash,
    ));
    let c = s.world.contract(cid(1)).expect("contract 1");
    assert!(c.collection_mandate(d(2026, 9, 1)).is_none());
    // (and a mandate change is refused by PAY-METHOD, as before)
    s.when(change_mandate(d(2026, 8, 5), mandate(1)))
        .then_refused(RuleId::PayMethod);
}
