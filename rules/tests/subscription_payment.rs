//! Subscription, tariff fees, payment and the billing clock: one test (at least)
//! per rule id, accepted and refused sides, and worked examples 1, 2 and 3 of
//! RULES.md with their exact amounts and dates (tariff 990.00 €: installment
//! 90.00 €, daily rate 4.50 €).

use navigo_events_schema::command::{
    AnnulEvent, ChangeDebitDay, ChangeMandate, ChangePayer, ContractRef, RecordCashPayment,
    RecordDebitRejected, SettleDebt, Subscribe, SwitchPaymentMethod,
};
use navigo_events_schema::event::{
    ChargeKind, ContractSuspended, ContractTerminated, FraudEstablished, FraudKind, PaymentMeans,
    RefundMethod, RefundReason, SettlementChannel, SuspensionCause, TariffPrice, TariffPublished,
    TerminationReason,
};
use navigo_events_schema::types::{
    ActivityDeclaration, Channel, DebitDay, Mark, PaymentRequest, Product, ProductKey, Support,
};
use navigo_events_schema::{
    Command, CommandEnvelope, Event, Money, NewEvent, RuleId, StreamId, YearMonth,
};
use navigo_rules::contract::charges::{owed_month, refund_method};
use navigo_rules::contract::state::Status;
use navigo_rules::Policy;
use navigo_testkit::*;
use rust_decimal_macros::dec;

fn eur(cents: i64) -> Money {
    Money::from_cents(cents)
}

fn ym(s: &str) -> YearMonth {
    s.parse().expect("month")
}

/// A world with the 990 € tariff, the reason codes and person 1 born 1990-01-01.
fn base() -> Scenario {
    Scenario::new().given([tariff_990(), reason_codes(), register(1, d(1990, 1, 1))])
}

/// Worked example 1's contract: agency, start 2026-07-12, debit day 1.
fn agency_0712() -> CommandEnvelope {
    subscribe(
        d(2026, 7, 12),
        Channel::Agency,
        1,
        1,
        annual_1_5(),
        d(2026, 7, 12),
        debit(1, 1),
    )
}

fn debits(s: &Scenario, c: u128) -> Vec<(YearMonth, Money, Money)> {
    s.contract_events(cid(c))
        .iter()
        .filter_map(|e| match &e.event {
            Event::DebitPresented(p) => Some((p.month, p.amount, p.due)),
            _ => None,
        })
        .collect()
}

fn cmd_at(date: chrono::NaiveDate, channel: Channel, command: Command) -> CommandEnvelope {
    cmd(date, Some(channel), command)
}

/// Appends system events to a contract directly (a stand-in for the commands of
/// other families when a test only concerns payment).
fn inject(s: &mut Scenario, c: u128, date: chrono::NaiveDate, events: Vec<Event>) {
    let new: Vec<NewEvent> = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| NewEvent {
            event_id: uuid::Uuid::from_u128(0xE000 + i as u128 + (c << 16)),
            effective_date: date,
            actor: agent(),
            channel: Some(Channel::Agency),
            correlation_id: uuid::Uuid::from_u128(0xC000),
            causation_id: None,
            event,
        })
        .collect();
    s.world
        .apply_new(StreamId::contract(cid(c)), &new, at(date));
}

// ---------------------------------------------------------------------------
// Worked examples

#[test]
fn worked_example_1_tar_prorata_agency_start_with_20_days_costs_a_full_month_and_m_plus_11_is_free()
{
    let s = base()
        .when(agency_0712())
        .then_expect(|events| {
            let Event::ContractSubscribed(sub) = &events[0] else {
                panic!("subscription first")
            };
            assert_eq!(sub.remaining_days, 20);
            assert_eq!(sub.first_free_month, Some(ym("2027-06")));
            let Event::FirstPaymentCollected(p) = &events[1] else {
                panic!("first payment")
            };
            assert_eq!(p.amount, eur(9000));
            assert_eq!(p.dossier_fee, eur(760));
            assert_eq!(p.lines[0].kind, ChargeKind::FullInstallment);
        })
        .advance(d(2027, 8, 1));
    let months: Vec<YearMonth> = debits(&s, 1).iter().map(|(m, _, _)| *m).collect();
    // August 2026 to May 2027 (10 debits), June 2027 free, July 2027 debited again.
    assert!(
        !months.contains(&ym("2027-06")),
        "the free month is not debited"
    );
    assert_eq!(months.first(), Some(&ym("2026-08")));
    assert!(months.contains(&ym("2027-05")) && months.contains(&ym("2027-07")));
    assert_eq!(months.len(), 12, "{months:?}");
    assert!(debits(&s, 1).iter().all(|(_, a, _)| *a == eur(9000)));
    let c = s.world.contract(cid(1)).expect("contract");
    assert_eq!(c.money.balance(), Money::ZERO);
}

#[test]
fn worked_example_2_tar_prorata_agency_start_with_19_days_is_prorated_and_m_plus_12_is_free() {
    let s = base()
        .when(subscribe(
            d(2026, 7, 13),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 7, 13),
            debit(1, 1),
        ))
        .then_expect(|events| {
            let Event::ContractSubscribed(sub) = &events[0] else {
                panic!("subscription first")
            };
            assert_eq!(sub.remaining_days, 19);
            assert_eq!(sub.first_free_month, Some(ym("2027-07")));
            let Event::FirstPaymentCollected(p) = &events[1] else {
                panic!("first payment")
            };
            assert_eq!(p.amount, eur(8550), "19 × 4.50");
            assert_eq!(p.lines[0].days, Some(19));
            assert_eq!(p.amount + p.dossier_fee, eur(9310));
        })
        .advance(d(2027, 8, 1));
    let months: Vec<YearMonth> = debits(&s, 1).iter().map(|(m, _, _)| *m).collect();
    assert!(months.contains(&ym("2027-06")));
    assert!(
        !months.contains(&ym("2027-07")),
        "July 2027 is the free month"
    );
    assert!(months.contains(&ym("2027-08")));
}

#[test]
fn worked_example_3_sub_window_online_request_52_days_before_accepted_11_days_before_refused() {
    let ok = subscribe(
        d(2026, 8, 10),
        Channel::Online,
        1,
        1,
        annual_1_5(),
        d(2026, 10, 1),
        debit(1, 1),
    );
    base().when(ok).then_expect(|events| {
        assert!(matches!(events[0], Event::ContractSubscribed(_)));
        assert_eq!(
            events.len(),
            1,
            "an online direct-debit subscription pays on its first debit"
        );
    });
    let late = subscribe(
        d(2026, 9, 20),
        Channel::Online,
        1,
        1,
        annual_1_5(),
        d(2026, 10, 1),
        debit(1, 1),
    );
    let r = base().when(late).then_refused(RuleId::SubWindow);
    assert_eq!(r.article, "CGVU-2026 §3.1");
    assert!(
        r.message
            .contains("between 2026-08-02 and 2026-09-16; requested 2026-09-20"),
        "{}",
        r.message
    );
}

// ---------------------------------------------------------------------------
// SUB-*

#[test]
fn sub_window_remote_start_must_be_the_first_and_agency_start_not_before_the_request() {
    base()
        .when(subscribe(
            d(2026, 8, 10),
            Channel::Mail,
            1,
            1,
            annual_1_5(),
            d(2026, 10, 2),
            debit(1, 1),
        ))
        .then_refused(RuleId::SubWindow);
    base()
        .when(subscribe(
            d(2026, 8, 10),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 8, 9),
            debit(1, 1),
        ))
        .then_refused(RuleId::SubWindow);
    // 60 days before is still inside the window (CGU-2011 has the same bounds).
    base()
        .when(subscribe(
            d(2020, 8, 2),
            Channel::Online,
            1,
            1,
            annual_1_5(),
            d(2020, 10, 1),
            debit(1, 1),
        ))
        .then_expect(|e| assert!(matches!(e[0], Event::ContractSubscribed(_))));
    let r = base()
        .when(subscribe(
            d(2020, 8, 1),
            Channel::Online,
            1,
            1,
            annual_1_5(),
            d(2020, 10, 1),
            debit(1, 1),
        ))
        .then_refused(RuleId::SubWindow);
    assert_eq!(r.article, "CGU-2011 §1.4");
}

#[test]
fn sub_age_holder_16_on_start_and_payer_18_or_emancipated() {
    let s = Scenario::new().given([tariff_990(), register(2, d(2010, 9, 1))]);
    // Holder 15 on 2026-08-31, 16 from 2026-09-01.
    s.clone()
        .when(subscribe(
            d(2026, 8, 31),
            Channel::Agency,
            1,
            2,
            annual_1_5(),
            d(2026, 8, 31),
            debit(1, 1),
        ))
        .then_refused(RuleId::SubAge);
    // Holder 16 but also payer (not 18, not emancipated): refused.
    s.clone()
        .when(subscribe(
            d(2026, 9, 1),
            Channel::Agency,
            1,
            2,
            annual_1_5(),
            d(2026, 9, 1),
            debit(1, 1),
        ))
        .then_refused(RuleId::SubAge);
    // With an adult payer: accepted.
    let mut with_payer = s.clone().given([register(3, d(1970, 1, 1))]);
    let mut c = subscribe(
        d(2026, 9, 1),
        Channel::Agency,
        1,
        2,
        annual_1_5(),
        d(2026, 9, 1),
        debit(1, 1),
    );
    if let Command::Subscribe(sub) = &mut c.command {
        sub.payer = pid(3);
    }
    assert!(with_payer.run(&c).is_ok());
}

#[test]
fn sub_age_emancipated_payer_of_17_with_proof_is_accepted() {
    let mut reg = register(4, d(2009, 1, 1));
    if let Command::RegisterPerson(r) = &mut reg.command {
        r.emancipation_proof = Some("JUG-2025-0042".into());
    }
    Scenario::new()
        .given([tariff_990(), reg])
        .when(subscribe(
            d(2026, 9, 1),
            Channel::Agency,
            1,
            4,
            annual_1_5(),
            d(2026, 9, 1),
            debit(1, 1),
        ))
        .then_expect(|e| assert!(matches!(e[0], Event::ContractSubscribed(_))));
}

fn senior(
    request: chrono::NaiveDate,
    channel: Channel,
    payment: PaymentRequest,
    decl: Option<ActivityDeclaration>,
) -> CommandEnvelope {
    cmd_at(
        request,
        channel,
        Command::Subscribe(Subscribe {
            contract_id: cid(9),
            holder: pid(9),
            payer: pid(9),
            product: Product::Senior,
            start_date: request,
            payment,
            third_party_payer: false,
            senior_declaration: decl,
            support: Support::Pass,
            first_payment_means: None,
        }),
    )
}

#[test]
fn sub_senior_age_activity_direct_debit_and_agency_only() {
    let s = Scenario::new().given([tariff_990(), register(9, d(1964, 9, 15))]);
    let none = Some(ActivityDeclaration::NoActivity);
    // 61 on 2026-09-14: refused; 62 on 2026-09-15: accepted.
    s.clone()
        .when(senior(d(2026, 9, 14), Channel::Agency, debit(1, 9), none))
        .then_refused(RuleId::SubSenior);
    s.clone()
        .when(senior(d(2026, 9, 15), Channel::Agency, debit(1, 9), none))
        .then_expect(|e| {
            let Event::ContractSubscribed(sub) = &e[0] else {
                panic!()
            };
            assert_eq!(sub.first_free_month, None, "PAY-SENIOR: no free month");
            let Event::FirstPaymentCollected(p) = &e[1] else {
                panic!()
            };
            assert_eq!(p.amount, eur(3600), "16 days × 45.00 / 20");
        });
    s.clone()
        .when(senior(
            d(2026, 9, 15),
            Channel::Agency,
            PaymentRequest::Cash,
            none,
        ))
        .then_refused(RuleId::SubSenior);
    s.clone()
        .when(senior(
            d(2026, 9, 15),
            Channel::Agency,
            debit(1, 9),
            Some(ActivityDeclaration::HoursPerWeek { hours: dec!(17.5) }),
        ))
        .then_refused(RuleId::SubSenior);
    s.clone()
        .when(senior(
            d(2026, 9, 15),
            Channel::Agency,
            debit(1, 9),
            Some(ActivityDeclaration::HoursPerMonth { hours: dec!(75.4) }),
        ))
        .then_expect(|e| assert!(matches!(e[0], Event::ContractSubscribed(_))));
    s.clone()
        .when(senior(d(2026, 9, 15), Channel::Agency, debit(1, 9), None))
        .then_refused(RuleId::SubSenior);
    s.when(senior(d(2026, 9, 15), Channel::Phone, debit(1, 9), none))
        .then_refused(RuleId::SubSenior);
}

#[test]
fn sub_product_refused_when_the_catalogue_does_not_price_it_on_the_start_date() {
    let only_1_5 = cmd(
        d(2011, 1, 1),
        None,
        Command::PublishTariff(TariffPublished {
            effective_from: d(2011, 1, 1),
            prices: vec![TariffPrice {
                product: ProductKey::Annual(zones("1-5")),
                annual: eur(99_000),
                mark: Mark::Unverified,
            }],
            source: "test".into(),
        }),
    );
    let s = Scenario::new().given([only_1_5, register(1, d(1990, 1, 1))]);
    s.clone()
        .when(subscribe(
            d(2026, 9, 1),
            Channel::Agency,
            1,
            1,
            Product::Annual {
                zones: zones("2-3"),
            },
            d(2026, 9, 1),
            debit(1, 1),
        ))
        .then_refused(RuleId::SubProduct);
    s.when(subscribe(
        d(2026, 9, 1),
        Channel::Agency,
        1,
        1,
        annual_1_5(),
        d(2026, 9, 1),
        debit(1, 1),
    ))
    .then_expect(|e| assert!(matches!(e[0], Event::ContractSubscribed(_))));
}

#[test]
fn sub_first_payment_agency_pays_first_month_online_pays_on_first_debit_cash_pays_the_year() {
    // Agency direct debit: first month + fee at the agency, debits from M+1.
    let s = base().given([agency_0712()]).advance(d(2026, 8, 1));
    assert_eq!(debits(&s, 1), vec![(ym("2026-08"), eur(9000), eur(9000))]);
    // Online: the first debit, on the debit day of the start month, carries the fee.
    let s = base()
        .given([subscribe(
            d(2026, 8, 10),
            Channel::Online,
            1,
            1,
            annual_1_5(),
            d(2026, 10, 1),
            debit(8, 1),
        )])
        .advance(d(2026, 11, 8));
    assert_eq!(
        debits(&s, 1),
        vec![
            (ym("2026-10"), eur(9760), eur(9760)),
            (ym("2026-11"), eur(9000), eur(9000))
        ]
    );
    // Cash: the annual price plus the fee at subscription; no debit.
    let s = base()
        .when(subscribe(
            d(2026, 9, 1),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 9, 1),
            PaymentRequest::Cash,
        ))
        .then_expect(|e| {
            let Event::FirstPaymentCollected(p) = &e[1] else {
                panic!()
            };
            assert_eq!(p.amount + p.dossier_fee, eur(99_760));
            assert_eq!(p.covers_until, ym("2027-08"));
        })
        .advance(d(2027, 3, 1));
    assert!(debits(&s, 1).is_empty());
}

#[test]
fn tar_dossier_fee_charged_once_at_subscription_not_on_later_debits() {
    let s = base().given([agency_0712()]).advance(d(2026, 10, 1));
    let c = s.world.contract(cid(1)).expect("contract");
    assert_eq!(c.money.fees.values().copied().sum::<Money>(), eur(760));
    assert!(s
        .contract_events(cid(1))
        .iter()
        .all(|e| !matches!(&e.event, Event::DebitPresented(p) if p.lines.iter().any(|l| l.kind == ChargeKind::DossierFee))));
}

#[test]
fn sub_one_active_second_contract_refused_until_the_first_is_terminated() {
    let second = subscribe(
        d(2026, 9, 1),
        Channel::Agency,
        2,
        1,
        annual_1_5(),
        d(2026, 9, 1),
        debit(1, 2),
    );
    let s = base().given([agency_0712()]).advance(d(2026, 8, 1));
    let r = s
        .clone()
        .when(second.clone())
        .then_refused(RuleId::SubOneActive);
    assert!(r.message.contains("suspend or terminate"));
    // MD07 terminates the first contract at once; then a new one is accepted.
    let s = s.given([cmd_at(
        d(2026, 8, 5),
        Channel::Agency,
        Command::RecordDebitRejected(RecordDebitRejected {
            contract_id: cid(1),
            month: ym("2026-08"),
            reason_code: "MD07".parse().expect("code"),
        }),
    )]);
    s.when(second)
        .then_expect(|e| assert!(matches!(e[0], Event::ContractSubscribed(_))));
}

fn reject(date: chrono::NaiveDate, month: &str, code: &str) -> CommandEnvelope {
    cmd_at(
        date,
        Channel::Agency,
        Command::RecordDebitRejected(RecordDebitRejected {
            contract_id: cid(1),
            month: ym(month),
            reason_code: code.parse().expect("code"),
        }),
    )
}

fn settle(date: chrono::NaiveDate, cents: i64) -> CommandEnvelope {
    cmd_at(
        date,
        Channel::Online,
        Command::SettleDebt(SettleDebt {
            contract_id: cid(1),
            amount: eur(cents),
            via: SettlementChannel::OnlineCard,
        }),
    )
}

/// Contract 1 rejected AM04 on 2026-08-05, terminated for unpaid debt on
/// 2026-09-04 by the clock.
fn unpaid() -> Scenario {
    base()
        .given([agency_0712()])
        .advance(d(2026, 8, 1))
        .given([reject(d(2026, 8, 5), "2026-08", "AM04")])
        .advance(d(2026, 9, 10))
}

#[test]
fn pay_unpaid_termination_after_the_grace_days_and_md07_at_once() {
    let s = unpaid();
    let c = s.world.contract(cid(1)).expect("contract");
    assert_eq!(
        c.status_on(d(2026, 9, 4)),
        Some(Status::Terminated {
            reason: TerminationReason::Unpaid
        })
    );
    assert_eq!(c.status_on(d(2026, 9, 3)), Some(Status::Active));
    // Settled within the grace: no termination.
    let s = base()
        .given([agency_0712()])
        .advance(d(2026, 8, 1))
        .given([
            reject(d(2026, 8, 5), "2026-08", "AM04"),
            settle(d(2026, 8, 20), 9000),
        ])
        .advance(d(2026, 12, 1));
    assert_eq!(
        s.world.contract(cid(1)).expect("c").current_status(),
        Status::Active
    );
    // MD07: terminated at once, payer deceased.
    base()
        .given([agency_0712()])
        .advance(d(2026, 8, 1))
        .when(reject(d(2026, 8, 5), "2026-08", "MD07"))
        .then_expect(|e| {
            assert!(e.iter().any(|e| matches!(e, Event::ContractTerminated(t) if t.reason == TerminationReason::PayerDeceased)));
            assert!(!e.iter().any(|e| matches!(e, Event::FeeCharged(_))));
        });
}

#[test]
fn sub_banned_payer_after_unpaid_termination_until_the_debt_is_settled() {
    let s = unpaid().given([register(5, d(1990, 1, 1))]);
    let mut other = subscribe(
        d(2026, 9, 10),
        Channel::Agency,
        2,
        5,
        annual_1_5(),
        d(2026, 9, 10),
        debit(1, 2),
    );
    if let Command::Subscribe(sub) = &mut other.command {
        sub.payer = pid(1);
    }
    let r = s
        .clone()
        .when(other.clone())
        .then_refused(RuleId::SubBannedPayer);
    assert!(r.message.contains("BAN-UNPAID-2M"), "{}", r.message);
    // Settling the debt lifts the ban at once.
    let s = s.given([settle(d(2026, 9, 10), 9000)]);
    s.when(other)
        .then_expect(|e| assert!(matches!(e[0], Event::ContractSubscribed(_))));
}

#[test]
fn ban_treasury_2y_notice_issued_two_months_after_unpaid_termination_when_still_unsettled() {
    let s = unpaid().advance(d(2026, 11, 4));
    let notices: Vec<_> = s
        .contract_events(cid(1))
        .into_iter()
        .filter_map(|e| match &e.event {
            Event::TreasuryNoticeIssued(n) => Some((e.effective_date, n.amount)),
            _ => None,
        })
        .collect();
    assert_eq!(notices, vec![(d(2026, 11, 4), eur(9000))]);
}

#[test]
fn sub_banned_holder_fraudster_and_accomplice_for_3_years() {
    let mut s = base().given([agency_0712(), register(6, d(1990, 1, 1))]);
    inject(
        &mut s,
        1,
        d(2026, 9, 1),
        vec![
            Event::FraudEstablished(FraudEstablished {
                kind: FraudKind::Subscription,
                fraudster: pid(1),
                accomplices: vec![pid(6)],
            }),
            Event::ContractTerminated(ContractTerminated {
                reason: TerminationReason::SubscriptionFraud,
                rulebook: "CGVU-2026".into(),
                billing_stops_from: ym("2026-10"),
            }),
        ],
    );
    let new = |date, holder: u128| {
        subscribe(
            date,
            Channel::Agency,
            7,
            holder,
            annual_1_5(),
            date,
            debit(1, 7),
        )
    };
    s.clone()
        .when(new(d(2026, 10, 1), 1))
        .then_refused(RuleId::SubBannedHolder);
    s.clone()
        .when(new(d(2029, 8, 31), 6))
        .then_refused(RuleId::SubBannedHolder);
    s.when(new(d(2029, 9, 1), 1))
        .then_expect(|e| assert!(matches!(e[0], Event::ContractSubscribed(_))));
}

#[test]
fn ban_fraud_3y_lifted_for_the_accomplice_when_the_finding_is_annulled_and_read_from_the_person_index(
) {
    // Given a fraud finding naming an accomplice who pays no contract.
    let mut s = base().given([agency_0712(), register(6, d(1990, 1, 1))]);
    inject(
        &mut s,
        1,
        d(2026, 9, 1),
        vec![Event::FraudEstablished(FraudEstablished {
            kind: FraudKind::Subscription,
            fraudster: pid(1),
            accomplices: vec![pid(6)],
        })],
    );
    let finding = s
        .world
        .history
        .get(&StreamId::contract(cid(1)))
        .into_iter()
        .flatten()
        .find(|e| matches!(e.event, Event::FraudEstablished(_)))
        .map(|e| e.event_id)
        .expect("finding");
    let every_contract = |s: &Scenario, p| s.world.ban_facts_among(p, s.world.contracts.values());
    assert_eq!(s.world.ban_facts(pid(6)), every_contract(&s, pid(6)));
    assert_eq!(
        s.world.by_fraud_party.get(&pid(6)).map(|c| c.len()),
        Some(1)
    );
    // When the contract is terminated for that fraud, the accomplice is banned.
    let mut terminated = s.clone();
    inject(
        &mut terminated,
        1,
        d(2026, 9, 1),
        vec![Event::ContractTerminated(ContractTerminated {
            reason: TerminationReason::SubscriptionFraud,
            rulebook: "CGVU-2026".into(),
            billing_stops_from: ym("2026-10"),
        })],
    );
    assert_eq!(terminated.world.ban_facts(pid(6)).len(), 1);
    assert_eq!(
        terminated.world.ban_facts(pid(6)),
        every_contract(&terminated, pid(6))
    );
    // When the finding is annulled before any termination, the index still names
    // the contract (a superset) but no fact is read from it, as in the full scan.
    let s = s.given([cmd(
        d(2026, 9, 2),
        None,
        Command::AnnulEvent(AnnulEvent {
            stream: StreamId::contract(cid(1)),
            event_id: finding,
            reason: "finding entered on the wrong contract".into(),
        }),
    )]);
    assert!(s.world.contract(cid(1)).expect("contract").fraud.is_none());
    assert!(s.world.ban_facts(pid(6)).is_empty());
    assert_eq!(s.world.ban_facts(pid(6)), every_contract(&s, pid(6)));
}

#[test]
fn sub_third_party_never_subscribed_or_managed_online() {
    let tp = |channel| {
        let mut c = subscribe(
            d(2026, 8, 10),
            channel,
            1,
            1,
            annual_1_5(),
            d(2026, 10, 1),
            debit(1, 1),
        );
        if let Command::Subscribe(s) = &mut c.command {
            s.third_party_payer = true;
        }
        c
    };
    base()
        .when(tp(Channel::Online))
        .then_refused(RuleId::SubThirdParty);
    let s = base().given([tp(Channel::Mail)]);
    s.when(cmd_at(
        d(2026, 10, 3),
        Channel::Online,
        Command::ChangeDebitDay(ChangeDebitDay {
            contract_id: cid(1),
            debit_day: DebitDay::new(8).expect("day"),
        }),
    ))
    .then_refused(RuleId::SubThirdParty);
}

// ---------------------------------------------------------------------------
// TAR-REJECT-FEE, PAY-*

#[test]
fn tar_reject_fee_only_for_codes_attributable_to_the_payer() {
    let policy = Policy {
        reject_fee: eur(500),
        ..Policy::default()
    };
    let s = Scenario::new()
        .with_policy(policy)
        .given([
            tariff_990(),
            reason_codes(),
            register(1, d(1990, 1, 1)),
            agency_0712(),
        ])
        .advance(d(2026, 9, 1));
    s.clone()
        .when(reject(d(2026, 8, 5), "2026-08", "AM04"))
        .then_expect(|e| {
            assert!(e
                .iter()
                .any(|e| matches!(e, Event::FeeCharged(f) if f.amount == eur(500))));
        });
    let s = s
        .when(reject(d(2026, 9, 5), "2026-09", "MS03"))
        .then_expect(|e| {
            assert_eq!(e.len(), 1, "a technical incident carries no fee: {e:?}");
        });
    assert_eq!(s.world.contract(cid(1)).expect("c").money.debt(), eur(9000));
}

#[test]
fn pay_reject_amount_becomes_debt_settled_online_and_settling_without_debt_is_refused() {
    let s = base().given([agency_0712()]).advance(d(2026, 8, 1));
    s.clone()
        .when(settle(d(2026, 8, 2), 100))
        .then_refused(RuleId::PayReject);
    let s = s.given([reject(d(2026, 8, 5), "2026-08", "AM04")]);
    assert_eq!(s.world.contract(cid(1)).expect("c").money.debt(), eur(9000));
    s.clone()
        .when(settle(d(2026, 8, 6), 9001))
        .then_invalid("amount");
    let s = s.given([settle(d(2026, 8, 6), 9000)]);
    let c = s.world.contract(cid(1)).expect("c");
    assert_eq!(c.money.balance(), Money::ZERO);
}

#[test]
fn pay_due_vs_collected_balance_is_due_minus_collected_plus_returned() {
    let s = base()
        .given([agency_0712()])
        .advance(d(2026, 9, 1))
        .given([reject(d(2026, 9, 3), "2026-09", "AM04")]);
    let c = s.world.contract(cid(1)).expect("c");
    // Due: July 90 + fee 7.60 + August 90 + September 90; collected all but September.
    assert_eq!(c.money.due, eur(27_760));
    assert_eq!(c.money.collected, eur(18_760));
    assert_eq!(
        c.money.balance(),
        c.money.due - c.money.collected + c.money.returned
    );
    assert_eq!(c.money.balance(), eur(9000));
}

#[test]
fn pay_debit_day_once_per_calendar_month_effective_per_cutoff() {
    let s = base().given([agency_0712()]);
    let change = |date, day| {
        cmd_at(
            date,
            Channel::Online,
            Command::ChangeDebitDay(ChangeDebitDay {
                contract_id: cid(1),
                debit_day: DebitDay::new(day).expect("day"),
            }),
        )
    };
    let s = s.when(change(d(2026, 9, 10), 8)).then_expect(|e| {
        let Event::DebitDayChanged(c) = &e[0] else {
            panic!()
        };
        assert_eq!(c.effective_from_month, ym("2026-10"));
    });
    s.clone()
        .when(change(d(2026, 9, 20), 12))
        .then_refused(RuleId::PayDebitDay);
    let s = s
        .given([change(d(2026, 10, 20), 12)])
        .advance(d(2027, 1, 12));
    let dates: Vec<_> = s
        .contract_events(cid(1))
        .iter()
        .filter(|e| matches!(e.event, Event::DebitPresented(_)))
        .map(|e| e.effective_date)
        .collect();
    assert_eq!(
        dates,
        vec![
            d(2026, 8, 1),
            d(2026, 9, 1),
            d(2026, 10, 8),
            d(2026, 11, 8),
            d(2026, 12, 12),
            d(2027, 1, 12)
        ]
    );
}

#[test]
fn pay_cutoff_before_the_15th_next_month_from_the_15th_the_month_after_and_20th_under_cgu_2011() {
    let s = base().given([agency_0712()]);
    let change = |date| {
        cmd_at(
            date,
            Channel::Agency,
            Command::ChangeMandate(ChangeMandate {
                contract_id: cid(1),
                mandate: navigo_testkit::mandate_named("M-NEW", 101),
            }),
        )
    };
    let from = |s: &Scenario, date| match &s.clone().run(&change(date)).expect("accepted")[0] {
        Event::MandateChanged(m) => m.effective_from_month,
        other => panic!("{other:?}"),
    };
    assert_eq!(from(&s, d(2026, 9, 14)), ym("2026-10"));
    assert_eq!(from(&s, d(2026, 9, 15)), ym("2026-11"));
    let old = base().given([subscribe(
        d(2020, 3, 2),
        Channel::Agency,
        1,
        1,
        annual_1_5(),
        d(2020, 3, 2),
        debit(1, 1),
    )]);
    assert_eq!(from(&old, d(2020, 5, 19)), ym("2020-06"));
    assert_eq!(from(&old, d(2020, 5, 20)), ym("2020-07"));
}

#[test]
fn pay_free_month_cgu_2011_first_of_month_m_plus_11_any_other_day_m_plus_12() {
    let first = |start: chrono::NaiveDate| {
        let e = base()
            .clone()
            .run(&subscribe(
                start,
                Channel::Agency,
                1,
                1,
                annual_1_5(),
                start,
                debit(1, 1),
            ))
            .expect("accepted");
        match &e[0] {
            Event::ContractSubscribed(s) => (s.rulebook.clone(), s.first_free_month),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        first(d(2020, 3, 1)),
        ("CGU-2011".into(), Some(ym("2021-02")))
    );
    assert_eq!(
        first(d(2020, 3, 2)),
        ("CGU-2011".into(), Some(ym("2021-03")))
    );
    // Under CGVU-2026 the 2nd of a 31-day month leaves 30 days: M+11.
    assert_eq!(
        first(d(2026, 7, 2)),
        ("CGVU-2026".into(), Some(ym("2027-06")))
    );
}

#[test]
fn pay_free_month_cycle_repeats_every_12_months() {
    let s = base().given([agency_0712()]).advance(d(2028, 7, 1));
    let months: Vec<YearMonth> = debits(&s, 1).iter().map(|(m, _, _)| *m).collect();
    assert!(!months.contains(&ym("2027-06")) && !months.contains(&ym("2028-06")));
    assert!(months.contains(&ym("2027-07")) && months.contains(&ym("2028-05")));
    // At most one free month per 12-month cycle: 22 debits from 2026-08 to 2028-07.
    assert_eq!(months.len(), 22, "{months:?}");
}

#[test]
fn pay_senior_twelve_installments_no_free_month() {
    let s = Scenario::new()
        .given([
            tariff_990(),
            register(9, d(1950, 1, 1)),
            senior(
                d(2026, 9, 1),
                Channel::Agency,
                debit(1, 9),
                Some(ActivityDeclaration::NoActivity),
            ),
        ])
        .advance(d(2027, 9, 1));
    let ds = debits(&s, 9);
    assert_eq!(ds.len(), 12, "October 2026 to September 2027");
    assert!(ds.iter().all(|(_, a, _)| *a == eur(4500)));
}

#[test]
fn pay_method_mandate_change_needs_direct_debit() {
    let cash = base().given([subscribe(
        d(2026, 9, 1),
        Channel::Agency,
        1,
        1,
        annual_1_5(),
        d(2026, 9, 1),
        PaymentRequest::Cash,
    )]);
    cash.when(cmd_at(
        d(2026, 9, 2),
        Channel::Agency,
        Command::ChangeMandate(ChangeMandate {
            contract_id: cid(1),
            mandate: navigo_testkit::mandate_named("M", 102),
        }),
    ))
    .then_refused(RuleId::PayMethod);
}

#[test]
fn pay_cash_renewal_notice_45_days_before_and_suspension_at_the_end_without_renewal() {
    let s = base()
        .given([subscribe(
            d(2026, 9, 1),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 9, 1),
            PaymentRequest::Cash,
        )])
        .advance(d(2027, 9, 1));
    let ev = s.contract_events(cid(1));
    let notice = ev.iter().find_map(|e| match &e.event {
        Event::CashRenewalNoticeSent(n) => Some((e.effective_date, n.period_end, n.amount)),
        _ => None,
    });
    assert_eq!(notice, Some((d(2027, 7, 18), d(2027, 8, 31), eur(99_000))));
    let susp = ev.iter().find_map(|e| match &e.event {
        Event::ContractSuspended(s) => Some((e.effective_date, s.cause)),
        _ => None,
    });
    assert_eq!(
        susp,
        Some((d(2027, 9, 1), SuspensionCause::CashPeriodEnded))
    );
}

#[test]
fn pay_cash_renewal_accepted_before_the_end_and_late_mailed_cheque_refused() {
    let s = base().given([subscribe(
        d(2026, 9, 1),
        Channel::Agency,
        1,
        1,
        annual_1_5(),
        d(2026, 9, 1),
        PaymentRequest::Cash,
    )]);
    let pay = |date, channel, means| {
        cmd_at(
            date,
            channel,
            Command::RecordCashPayment(RecordCashPayment {
                contract_id: cid(1),
                amount: eur(99_000),
                means,
            }),
        )
    };
    s.clone()
        .when(pay(d(2027, 8, 20), Channel::Mail, PaymentMeans::Cheque))
        .then_refused(RuleId::PayCash);
    let s = s
        .given([pay(
            d(2027, 8, 31),
            Channel::Online,
            PaymentMeans::CardOnline,
        )])
        .advance(d(2027, 9, 2));
    let c = s.world.contract(cid(1)).expect("c");
    assert_eq!(c.current_status(), Status::Active);
    assert_eq!(c.cash_paid_until, Some(d(2028, 8, 31)));
    assert_eq!(c.money.balance(), Money::ZERO);
}

#[test]
fn pay_switch_to_cash_annual_price_minus_installments_of_the_cycle_at_agency_or_mail_not_senior() {
    let s = base().given([agency_0712()]);
    let switch = |date, channel| {
        cmd_at(
            date,
            channel,
            Command::SwitchPaymentMethod(SwitchPaymentMethod {
                contract_id: cid(1),
                to: PaymentRequest::Cash,
            }),
        )
    };
    s.clone()
        .when(switch(d(2026, 9, 10), Channel::Online))
        .then_refused(RuleId::PaySwitchToCash);
    s.when(switch(d(2026, 9, 10), Channel::Agency))
        .then_expect(|e| {
            let Event::PaymentMethodSwitched(p) = &e[0] else {
                panic!()
            };
            assert_eq!(p.effective_from_month, ym("2026-10"));
            // July, August, September already billed: 990 − 3 × 90.
            assert_eq!(p.amount_due, Some(eur(72_000)));
        });
    let sen = Scenario::new().given([
        tariff_990(),
        register(9, d(1950, 1, 1)),
        senior(
            d(2026, 9, 1),
            Channel::Agency,
            debit(1, 9),
            Some(ActivityDeclaration::NoActivity),
        ),
    ]);
    sen.when(cmd_at(
        d(2026, 9, 10),
        Channel::Agency,
        Command::SwitchPaymentMethod(SwitchPaymentMethod {
            contract_id: cid(9),
            to: PaymentRequest::Cash,
        }),
    ))
    .then_refused(RuleId::PaySwitchToCash);
}

#[test]
fn pay_switch_to_debit_only_at_renewal() {
    let s = base().given([subscribe(
        d(2026, 9, 1),
        Channel::Agency,
        1,
        1,
        annual_1_5(),
        d(2026, 9, 1),
        PaymentRequest::Cash,
    )]);
    let switch = |date| {
        cmd_at(
            date,
            Channel::Agency,
            Command::SwitchPaymentMethod(SwitchPaymentMethod {
                contract_id: cid(1),
                to: debit(2, 1),
            }),
        )
    };
    s.clone()
        .when(switch(d(2027, 1, 10)))
        .then_refused(RuleId::PaySwitchToDebit);
    let s = s
        .when(switch(d(2027, 8, 1)))
        .then_expect(|e| {
            let Event::PaymentMethodSwitched(p) = &e[0] else {
                panic!()
            };
            assert_eq!(p.effective_from_month, ym("2027-09"));
        })
        .advance(d(2027, 9, 2));
    assert_eq!(debits(&s, 1), vec![(ym("2027-09"), eur(9000), eur(9000))]);
    assert_eq!(
        s.world.contract(cid(1)).expect("c").current_status(),
        Status::Active
    );
}

#[test]
fn pay_payer_change_needs_a_mandate_effective_per_cutoff_and_revocation_is_recorded() {
    let s = base().given([agency_0712(), register(2, d(1980, 1, 1))]);
    let change = |mandate: Option<navigo_events_schema::types::MandateInput>| {
        cmd_at(
            d(2026, 9, 16),
            Channel::Agency,
            Command::ChangePayer(ChangePayer {
                contract_id: cid(1),
                payer: pid(2),
                mandate,
            }),
        )
    };
    s.clone()
        .when(change(None))
        .then_refused(RuleId::PayPayerChange);
    let s = s
        .when(change(Some(navigo_testkit::mandate_named("M-2", 103))))
        .then_expect(|e| {
            let Event::PayerChanged(p) = &e[0] else {
                panic!()
            };
            assert_eq!(p.effective_from_month, ym("2026-11"));
        })
        .advance(d(2026, 11, 1));
    let payers: Vec<_> = s
        .contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::DebitPresented(p) => Some((p.month, p.payer, p.mandate_reference.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        payers.last(),
        Some(&(ym("2026-11"), pid(2), "M-2".to_string()))
    );
    assert_eq!(payers[payers.len() - 2].1, pid(1));
    s.clone()
        .when(cmd_at(
            d(2026, 11, 2),
            Channel::Agency,
            Command::RevokeMandate(ContractRef {
                contract_id: cid(1),
            }),
        ))
        .then_expect(|e| {
            assert!(matches!(&e[0], Event::MandateRevoked(m) if m.reference == "M-2"))
        });
}

#[test]
fn pay_refund_30d_debit_prepared_before_a_late_suspension_is_taken_and_refunded() {
    // Worked example 4, second half, on the clock's side: a suspension registered
    // on 2026-11-16 (after the cutoff) effective 2026-11-20 stops billing from
    // 2027-01; the December debit is taken and refunded within 30 days.
    let mut s = base()
        .given([subscribe(
            d(2026, 8, 10),
            Channel::Online,
            1,
            1,
            annual_1_5(),
            d(2026, 10, 1),
            debit(1, 1),
        )])
        .advance(d(2026, 11, 1));
    inject(
        &mut s,
        1,
        d(2026, 11, 20),
        vec![Event::ContractSuspended(ContractSuspended {
            cause: SuspensionCause::Request,
            planned_resumption: None,
            not_due_from: ym("2026-12"),
            billing_stops_from: ym("2027-01"),
            prepared_debits_refunded: vec![ym("2026-12")],
        })],
    );
    let s = s.advance(d(2027, 2, 1));
    let ds = debits(&s, 1);
    assert_eq!(ds.last(), Some(&(ym("2026-12"), eur(9000), Money::ZERO)));
    let refunds: Vec<_> = s
        .contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::RefundDue(r) => Some((r.amount, r.reason, r.due_by, r.method)),
            _ => None,
        })
        .collect();
    assert_eq!(
        refunds,
        vec![(
            eur(9000),
            RefundReason::DebitAfterCutoff,
            d(2026, 12, 31),
            RefundMethod::BankTransfer
        )]
    );
    let c = s.world.contract(cid(1)).expect("c");
    // November is due in full (SUSP-MONTH-DUE); the December debit is a pending refund.
    assert_eq!(c.money.months[&ym("2026-11")].due, eur(9000));
    assert_eq!(c.money.balance(), eur(-9000));
    assert_eq!(c.money.refundable_credit(), Money::ZERO, "no second refund");
}

#[test]
fn pay_refund_method_bank_transfer_card_or_lettre_cheque() {
    let dd = base().given([agency_0712()]);
    let c = dd.world.contract(cid(1)).expect("c");
    assert_eq!(
        refund_method(c, eur(100), d(2026, 8, 1)),
        RefundMethod::BankTransfer
    );
    let mut online_cash = subscribe(
        d(2026, 8, 10),
        Channel::Online,
        1,
        1,
        annual_1_5(),
        d(2026, 10, 1),
        PaymentRequest::Cash,
    );
    if let Command::Subscribe(s) = &mut online_cash.command {
        s.first_payment_means = Some(PaymentMeans::CardOnline);
    }
    let s = base().given([online_cash]);
    let c = s.world.contract(cid(1)).expect("c");
    assert_eq!(
        refund_method(c, eur(50_000), d(2027, 6, 1)),
        RefundMethod::Card
    );
    assert_eq!(
        refund_method(c, eur(50_000), d(2027, 8, 1)),
        RefundMethod::LettreCheque,
        "more than 11 months later"
    );
    assert_eq!(
        refund_method(c, eur(200_000), d(2027, 6, 1)),
        RefundMethod::LettreCheque,
        "above the card payment"
    );
}

#[test]
fn tar_catalogue_debit_uses_the_tariff_in_force_on_the_debit_date() {
    let raise = cmd(
        d(2026, 12, 1),
        None,
        Command::PublishTariff(TariffPublished {
            effective_from: d(2027, 1, 1),
            prices: vec![TariffPrice {
                product: ProductKey::Annual(zones("1-5")),
                annual: eur(101_200),
                mark: Mark::Verified,
            }],
            source: "test".into(),
        }),
    );
    let s = base().given([agency_0712(), raise]).advance(d(2027, 1, 1));
    let ds = debits(&s, 1);
    assert_eq!(ds[ds.len() - 2], (ym("2026-12"), eur(9000), eur(9000)));
    assert_eq!(ds[ds.len() - 1], (ym("2027-01"), eur(9200), eur(9200)));
    let c = s.world.contract(cid(1)).expect("c");
    assert_eq!(
        owed_month(&s.world, c, ym("2027-06")).map(|m| m.amount),
        Some(Money::ZERO)
    );
}

#[test]
fn billing_clock_advancing_twice_emits_nothing_new() {
    let s = base().given([agency_0712()]).advance(d(2027, 3, 1));
    let n = s.log.len();
    let s = s.advance(d(2027, 3, 1));
    assert_eq!(s.log.len(), n);
}

#[test]
fn pay_cash_refund_suspension_of_a_cash_contract_charges_the_months_used_and_refunds_the_rest() {
    use navigo_events_schema::command::Suspend;
    let s = base()
        .given([subscribe(
            d(2026, 9, 1),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 9, 1),
            PaymentRequest::Cash,
        )])
        .given([cmd_at(
            d(2026, 12, 10),
            Channel::Agency,
            Command::Suspend(Suspend {
                contract_id: cid(1),
                effective_date: None,
                planned_resumption: None,
            }),
        )])
        .advance(d(2027, 1, 31));
    let refunds: Vec<_> = s
        .contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::RefundDue(r) => Some((e.effective_date, r.amount, r.reason)),
            _ => None,
        })
        .collect();
    // September to December used (December in progress, due in full): 4 × 90.00;
    // 990.00 − 360.00 refunded.
    assert_eq!(
        refunds,
        vec![(d(2026, 12, 10), eur(63_000), RefundReason::CashUnused)]
    );
    let c = s.world.contract(cid(1)).expect("c");
    assert_eq!(c.money.balance(), eur(-63_000), "a pending refund");
    assert_eq!(c.money.refundable_credit(), Money::ZERO, "refunded once");
    // Not for a contract whose cash period ended (suspended by the clock).
    let ended = base()
        .given([subscribe(
            d(2026, 9, 1),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 9, 1),
            PaymentRequest::Cash,
        )])
        .advance(d(2027, 10, 1));
    assert!(!ended
        .contract_events(cid(1))
        .iter()
        .any(|e| matches!(e.event, Event::RefundDue(_))));
}

#[test]
fn pay_payer_change_nothing_is_debited_on_a_revoked_mandate_until_a_new_one() {
    let s = base()
        .given([agency_0712()])
        .given([cmd_at(
            d(2026, 8, 20),
            Channel::Agency,
            Command::RevokeMandate(ContractRef {
                contract_id: cid(1),
            }),
        )])
        .advance(d(2026, 10, 1));
    assert_eq!(debits(&s, 1).len(), 1, "August only: {:?}", debits(&s, 1));
    let s = s
        .given([cmd_at(
            d(2026, 10, 5),
            Channel::Agency,
            Command::ChangeMandate(ChangeMandate {
                contract_id: cid(1),
                mandate: navigo_testkit::mandate_named("M-NEW", 104),
            }),
        )])
        .advance(d(2026, 11, 1));
    // September and October fell without a mandate: collected with the November
    // debit, on the new mandate.
    assert_eq!(
        debits(&s, 1),
        vec![
            (ym("2026-08"), eur(9000), eur(9000)),
            (ym("2026-11"), eur(27_000), eur(27_000))
        ]
    );
    let last = s
        .contract_events(cid(1))
        .into_iter()
        .rev()
        .find_map(|e| match &e.event {
            Event::DebitPresented(p) => Some(p.clone()),
            _ => None,
        })
        .expect("a debit");
    assert_eq!(last.mandate_reference, "M-NEW");
    assert_eq!(
        last.lines
            .iter()
            .map(|l| (l.month, l.kind))
            .collect::<Vec<_>>(),
        vec![
            (ym("2026-09"), ChargeKind::FullInstallment),
            (ym("2026-10"), ChargeKind::FullInstallment),
            (ym("2026-11"), ChargeKind::FullInstallment)
        ]
    );
}
