//! Messages name values as the JSON and RULES.md spell them (`mail`,
//! `payer_request`, `hours_per_week`), never as Rust variants (`Mail`,
//! `PayerRequest`, `HoursPerWeek`), and no field of a command is dropped
//! without a word.

use chrono::NaiveDate;
use navigo_events_schema::command::{ContractRef, DeclareLoss, Subscribe, Suspend};
use navigo_events_schema::event::{LossKind, PaymentMeans, SuspensionCause, TerminationReason};
use navigo_events_schema::types::{ActivityDeclaration, Channel, PaymentRequest, Product, Support};
use navigo_events_schema::{Command, CommandEnvelope, RuleId};
use navigo_testkit::*;

/// The Rust variant names (Debug) of the enums messages name, with their wire
/// values (Display); a message must hold no Debug name that differs from its
/// wire value.
fn rust_names() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |debug: String, wire: String| out.push((debug, wire));
    for c in [
        Channel::Online,
        Channel::Agency,
        Channel::Mail,
        Channel::Email,
        Channel::Phone,
    ] {
        add(format!("{c:?}"), c.to_string());
    }
    for r in [
        TerminationReason::PayerRequest,
        TerminationReason::SubscriptionFraud,
        TerminationReason::UsageFraud,
        TerminationReason::Unpaid,
        TerminationReason::LossLimit,
        TerminationReason::MandateRevoked,
        TerminationReason::SuspensionOver12Months,
        TerminationReason::PayerDeceased,
        TerminationReason::ServiceWithdrawn,
        TerminationReason::AddressUnknown,
    ] {
        add(format!("{r:?}"), r.to_string());
    }
    for s in [Support::Pass, Support::Phone, Support::Watch] {
        add(format!("{s:?}"), s.to_string());
    }
    let cause = SuspensionCause::CashPeriodEnded;
    add(format!("{cause:?}"), cause.to_string());
    for name in [
        "NoActivity",
        "HoursPerWeek",
        "HoursPerMonth",
        "HoursPerYear",
    ] {
        add(name.to_owned(), String::new());
    }
    out
}

fn assert_wire_values_only(message: &str) {
    for (debug, wire) in rust_names() {
        let found = message
            .match_indices(&debug)
            .any(|(i, _)| !message[i + debug.len()..].starts_with(|c: char| c.is_alphanumeric()));
        assert!(
            debug == wire || !found,
            "the message names the Rust variant {debug} (write {wire:?}): {message}"
        );
    }
}

fn on(date: NaiveDate, channel: Channel, command: Command) -> CommandEnvelope {
    cmd(date, Some(channel), command)
}

fn base() -> Scenario {
    Scenario::new().given([tariff_990(), reason_codes(), register(1, d(1980, 1, 1))])
}

fn subscribed_on(date: NaiveDate) -> Scenario {
    base().given([subscribe(
        date,
        Channel::Agency,
        1,
        1,
        annual_1_5(),
        date,
        debit(1, 1),
    )])
}

fn suspend(date: NaiveDate, channel: Channel) -> CommandEnvelope {
    on(
        date,
        channel,
        Command::Suspend(Suspend {
            contract_id: cid(1),
            effective_date: None,
            planned_resumption: None,
        }),
    )
}

#[test]
fn susp_anytime_refusal_names_the_channel_as_its_wire_value() {
    // Given a CGU-2011 contract, when a suspension comes by mail
    let r = subscribed_on(d(2020, 3, 10))
        .when(suspend(d(2020, 11, 10), Channel::Mail))
        .then_refused(RuleId::SuspAnytime);
    // Then the message says `mail`, not `Mail`
    assert!(r.message.contains("requested by mail"), "{}", r.message);
    assert_wire_values_only(&r.message);
}

#[test]
fn susp_not_while_terminated_refusal_names_the_reason_as_its_wire_value() {
    // Given a contract terminated at its payer's request
    let r = subscribed_on(d(2026, 7, 12))
        .given([on(
            d(2026, 8, 3),
            Channel::Agency,
            Command::TerminateByPayer(ContractRef {
                contract_id: cid(1),
            }),
        )])
        // When a suspension is asked afterwards
        .when(suspend(d(2026, 10, 5), Channel::Agency))
        .then_refused(RuleId::SuspNotWhileTerminated);
    // Then the reason is written `payer_request`
    assert!(r.message.contains("(payer_request)"), "{}", r.message);
    assert_wire_values_only(&r.message);
}

#[test]
fn loss_support_refusal_names_the_supports_as_their_wire_values() {
    let r = subscribed_on(d(2026, 7, 12))
        .when(on(
            d(2026, 8, 1),
            Channel::Agency,
            Command::DeclareLoss(DeclareLoss {
                contract_id: cid(1),
                kind: LossKind::Loss,
                support: Support::Watch,
                replacement_support: None,
            }),
        ))
        .then_refused(RuleId::LossSupport);
    assert!(
        r.message.contains("its pass") && r.message.contains("not of a watch"),
        "{}",
        r.message
    );
    assert_wire_values_only(&r.message);
}

fn senior(declaration: ActivityDeclaration) -> CommandEnvelope {
    let mut c = subscribe(
        d(2026, 9, 15),
        Channel::Agency,
        1,
        9,
        Product::Senior,
        d(2026, 9, 15),
        debit(1, 9),
    );
    if let Command::Subscribe(Subscribe {
        senior_declaration, ..
    }) = &mut c.command
    {
        *senior_declaration = Some(declaration);
    }
    c
}

#[test]
fn sub_senior_refusal_names_the_declaration_in_wire_terms() {
    let r = Scenario::new()
        .given([tariff_990(), register(9, d(1950, 1, 1))])
        .when(senior(ActivityDeclaration::HoursPerWeek {
            hours: 20.into(),
        }))
        .then_refused(RuleId::SubSenior);
    assert!(r.message.contains("hours_per_week 20"), "{}", r.message);
    assert_wire_values_only(&r.message);
}

#[test]
fn sub_first_payment_first_payment_means_of_a_remote_direct_debit_is_refused_not_dropped() {
    // Given an online direct-debit subscription, which collects no first payment
    // (its first month is on the first debit), carrying a first payment means
    let mut online = subscribe(
        d(2026, 8, 10),
        Channel::Online,
        1,
        1,
        annual_1_5(),
        d(2026, 10, 1),
        debit(1, 1),
    );
    if let Command::Subscribe(s) = &mut online.command {
        s.first_payment_means = Some(PaymentMeans::Card);
    }
    // Then it is invalid, naming the field, rather than accepted without it
    base()
        .when(online.clone())
        .then_invalid("first_payment_means");
    // And the same means for a cash subscription is taken (it pays at once)
    if let Command::Subscribe(s) = &mut online.command {
        s.payment = PaymentRequest::Cash;
    }
    base().when(online).then_expect(|_| {});
}
