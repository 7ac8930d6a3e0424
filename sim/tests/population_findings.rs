//! Regression tests for the engine findings of the population simulation:
//! each test is named after the rule it proves and reproduces a finding on the
//! smallest scenario.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::command::{Resume, Suspend};
use navigo_events_schema::event::{
    ChargeKind, RefundReason, SuspensionCause, TariffPrice, TariffPublished,
};
use navigo_events_schema::types::{ActorRole, Channel, Mark, PaymentRequest, ProductKey};
use navigo_events_schema::{Command, CommandEnvelope, Event, Money, YearMonth};
use navigo_ledger_core::{ClockMode, Ledger, LedgerError};
use navigo_rules::contract::state::{ContractState, Status};
use navigo_rules::policy::Policy;
use navigo_store::{EventStore, Limits, ManualClock};
use navigo_store_sled::SledStore;
use navigo_testkit::*;

fn ym(y: i32, m: u32) -> YearMonth {
    YearMonth::new(y, m).expect("valid month")
}

fn eur(cents: i64) -> Money {
    Money::from_cents(cents)
}

fn agency(date: NaiveDate, command: Command) -> CommandEnvelope {
    cmd(date, Some(Channel::Agency), command)
}

fn suspend(date: NaiveDate, effective: Option<NaiveDate>) -> CommandEnvelope {
    agency(
        date,
        Command::Suspend(Suspend {
            contract_id: cid(1),
            effective_date: effective,
            planned_resumption: None,
        }),
    )
}

fn resume(date: NaiveDate) -> CommandEnvelope {
    agency(
        date,
        Command::Resume(Resume {
            contract_id: cid(1),
            effective_date: None,
            payment: None,
        }),
    )
}

fn contract(s: &Scenario) -> &ContractState {
    s.world.contract(cid(1)).expect("contract 1 exists")
}

fn base() -> Scenario {
    Scenario::new().given([tariff_990(), reason_codes(), register(1, d(1980, 1, 1))])
}

fn cash_at_agency(start: NaiveDate) -> Scenario {
    base().given([subscribe(
        start,
        Channel::Agency,
        1,
        1,
        annual_1_5(),
        start,
        PaymentRequest::Cash,
    )])
}

fn suspensions(s: &Scenario) -> Vec<(NaiveDate, SuspensionCause)> {
    s.contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::ContractSuspended(x) => Some((e.effective_date, x.cause)),
            _ => None,
        })
        .collect()
}

fn refunds(s: &Scenario, reason: RefundReason) -> Vec<(NaiveDate, Money)> {
    s.contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::RefundDue(r) if r.reason == reason => Some((e.effective_date, r.amount)),
            _ => None,
        })
        .collect()
}

// Finding A -------------------------------------------------------------------

#[test]
fn susp_resume_cash_period_ended_and_resumed_is_never_suspended_again() {
    // Given a cash contract started at an agency on 2024-01-10, suspended by the
    // clock on 2025-01-10 when its cash period ended,
    let s = cash_at_agency(d(2024, 1, 10)).advance(d(2025, 1, 20));
    assert_eq!(
        suspensions(&s),
        vec![(d(2025, 1, 10), SuspensionCause::CashPeriodEnded)]
    );
    // when it resumes on 2025-02-03 (a new 12-month cash period, §11.3) and the
    // clock runs to 2025-03-20,
    let s = s.given([resume(d(2025, 2, 3))]).advance(d(2025, 3, 20));
    // then no second suspension is dated on the old period's end.
    assert_eq!(
        suspensions(&s),
        vec![(d(2025, 1, 10), SuspensionCause::CashPeriodEnded)]
    );
    assert_eq!(contract(&s).current_status(), Status::Active);
    assert_eq!(contract(&s).cash_paid_until, Some(d(2026, 2, 2)));
}

// Finding B -------------------------------------------------------------------

#[test]
fn pay_cash_period_of_an_online_subscription_runs_from_its_start_date() {
    // Given an online cash subscription requested on 2025-03-21 to start on
    // 2025-05-01,
    let mut sub = subscribe(
        d(2025, 3, 21),
        Channel::Online,
        1,
        1,
        annual_1_5(),
        d(2025, 5, 1),
        PaymentRequest::Cash,
    );
    sub.actor.role = ActorRole::Customer;
    let s = base().given([sub]);
    // then the payment covers 12 consecutive months of travel from the start:
    // 2025-05 to 2026-04 (PAY-CASH, §4.13.2),
    assert_eq!(contract(&s).cash_paid_until, Some(d(2026, 4, 30)));
    // the contract is still in force on 2026-04-30,
    let s = s.advance(d(2026, 4, 30));
    assert!(suspensions(&s).is_empty(), "{:?}", suspensions(&s));
    // and is suspended on 2026-05-01 when not renewed.
    let s = s.advance(d(2026, 5, 1));
    assert_eq!(
        suspensions(&s),
        vec![(d(2026, 5, 1), SuspensionCause::CashPeriodEnded)]
    );
}

// Finding C -------------------------------------------------------------------

/// A tariff with Annual 1-5 at 998.80 € (installment 90.80 €).
fn tariff_998_80() -> CommandEnvelope {
    cmd(
        d(2011, 1, 1),
        None,
        Command::PublishTariff(TariffPublished {
            effective_from: d(2011, 1, 1),
            prices: vec![TariffPrice {
                product: ProductKey::Annual(zones("1-5")),
                annual: eur(99_880),
                mark: Mark::Unverified,
            }],
            source: "test tariff 998.80".into(),
        }),
    )
}

fn cash_998_80() -> Scenario {
    Scenario::new().given([
        tariff_998_80(),
        register(1, d(1980, 1, 1)),
        subscribe(
            d(2026, 9, 1),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 9, 1),
            PaymentRequest::Cash,
        ),
    ])
}

#[test]
fn pay_cash_refund_charges_five_months_used_and_refunds_the_rest() {
    // Given 998.80 € paid cash for 2026-09 to 2027-08,
    // when the contract is suspended at an agency on 2027-01-10 (5 months used:
    // September to January, the month in progress due in full),
    let s = cash_998_80()
        .given([suspend(d(2027, 1, 10), None)])
        .advance(d(2027, 2, 28));
    // then 5 × 90.80 = 454.00 is charged and 544.80 refunded, once.
    assert_eq!(
        refunds(&s, RefundReason::CashUnused),
        vec![(d(2027, 1, 10), eur(54_480))]
    );
    assert_eq!(contract(&s).money.balance(), Money::ZERO - eur(54_480));
}

#[test]
fn pay_cash_refund_free_month_principle_applies_to_cash() {
    // Given 998.80 € paid cash for 2026-09 to 2027-08 (2027-08 is the free month),
    // when the contract is suspended during the free month,
    let s = cash_998_80()
        .given([suspend(d(2027, 8, 10), None)])
        .advance(d(2027, 9, 30));
    // then 11 installments were used (PAY-FREE-MONTH) and nothing is refunded.
    assert!(refunds(&s, RefundReason::CashUnused).is_empty());
    assert_eq!(contract(&s).money.balance(), Money::ZERO);
}

#[test]
fn pay_cash_refund_is_not_repeated_when_the_suspended_contract_is_terminated() {
    // Given a cash contract suspended on 2027-01-10 and refunded 544.80 €,
    // when it stays suspended 12 months and is terminated by the clock,
    let s = cash_998_80()
        .given([suspend(d(2027, 1, 10), None)])
        .advance(d(2028, 2, 28));
    assert!(matches!(
        contract(&s).current_status(),
        Status::Terminated { .. }
    ));
    // then the unused part was refunded once only.
    assert_eq!(
        refunds(&s, RefundReason::CashUnused),
        vec![(d(2027, 1, 10), eur(54_480))]
    );
}

// Finding D -------------------------------------------------------------------

/// Contract 1 on direct debit (day 1) from 2026-09-01 at an agency.
fn debit_contract() -> Scenario {
    base().given([subscribe(
        d(2026, 9, 1),
        Channel::Agency,
        1,
        1,
        annual_1_5(),
        d(2026, 9, 1),
        debit(1, 1),
    )])
}

fn debits(s: &Scenario) -> Vec<(YearMonth, Money, Money)> {
    s.contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::DebitPresented(x) => Some((x.month, x.amount, x.due)),
            _ => None,
        })
        .collect()
}

#[test]
fn susp_month_due_suspension_on_the_1st_after_the_cutoff_refunds_the_prepared_debit() {
    // Given a debit contract, suspended at an agency on 2026-10-20 (after the
    // cutoff) with effect on 2026-11-01,
    let s = debit_contract().given([suspend(d(2026, 10, 20), Some(d(2026, 11, 1)))]);
    let stops = contract(&s)
        .periods
        .last()
        .and_then(|p| p.billing_stops_from);
    // then debits stop from December (PAY-CUTOFF: the November debit was prepared),
    assert_eq!(stops, Some(ym(2026, 12)));
    let s = s.advance(d(2026, 12, 31));
    // the November debit is taken but nothing of November is due: the contract is
    // not in force on any day of it (SUSP-MONTH-DUE: October, the month in
    // progress on the last day in force, was due in full), so it is refunded
    // within 30 days (PAY-REFUND-30D).
    assert_eq!(
        debits(&s)
            .into_iter()
            .filter(|(m, _, _)| *m >= ym(2026, 11))
            .collect::<Vec<_>>(),
        vec![(ym(2026, 11), eur(9_000), Money::ZERO)]
    );
    assert_eq!(
        refunds(&s, RefundReason::DebitAfterCutoff),
        vec![(d(2026, 11, 1), eur(9_000))]
    );
}

#[test]
fn susp_month_due_suspension_on_the_1st_before_the_cutoff_presents_no_debit() {
    // Given a debit contract suspended at an agency on 2026-10-10 (before the
    // cutoff) with effect on 2026-11-01,
    let s = debit_contract()
        .given([suspend(d(2026, 10, 10), Some(d(2026, 11, 1)))])
        .advance(d(2026, 12, 31));
    // then no debit is presented from November on and nothing is refunded.
    assert!(debits(&s).iter().all(|(m, _, _)| *m < ym(2026, 11)));
    assert!(refunds(&s, RefundReason::DebitAfterCutoff).is_empty());
}

#[test]
fn tar_prorata_resumption_month_is_collected_with_the_first_debit_billing_from_allows() {
    // Given a debit contract debited through October, suspended from 2026-11-01,
    let s = debit_contract()
        .advance(d(2026, 10, 5))
        .given([suspend(d(2026, 10, 10), Some(d(2026, 11, 1)))]);
    // when it resumes at an agency on 2027-03-04 (the March debit of day 1 is past),
    let s = s.given([resume(d(2027, 3, 4))]);
    let p = contract(&s).periods.last().cloned().expect("a period");
    // then billing restarts with the April debit (PAY-CUTOFF),
    assert_eq!(p.billing_from, ym(2027, 4));
    let s = s.advance(d(2027, 4, 30));
    let april: Vec<_> = s
        .contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::DebitPresented(x) if x.month == ym(2027, 4) => Some(x.clone()),
            _ => None,
        })
        .collect();
    // and March, in force from the 4th (28 remaining days: a full installment,
    // TAR-PRORATA), is due and collected with it: never silently dropped.
    assert_eq!(april.len(), 1);
    let lines: Vec<(YearMonth, ChargeKind, Money)> = april[0]
        .lines
        .iter()
        .map(|l| (l.month, l.kind, l.amount))
        .collect();
    assert_eq!(
        lines,
        vec![
            (ym(2027, 3), ChargeKind::FullInstallment, eur(9_000)),
            (ym(2027, 4), ChargeKind::FullInstallment, eur(9_000)),
        ]
    );
    assert_eq!(april[0].amount, eur(18_000));
    assert!(debits(&s).iter().all(|(m, _, _)| *m != ym(2027, 3)));
}

// Finding E -------------------------------------------------------------------

fn instant(s: &str) -> DateTime<Utc> {
    s.parse().expect("valid instant")
}

#[test]
fn import_out_of_order_command_is_refused_by_the_ledger_and_appends_nothing() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("out-of-order-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    SledStore::init(&dir).expect("init");
    let store = SledStore::open(
        &dir,
        Limits::default(),
        Arc::new(ManualClock::new(instant("2011-06-01T00:00:00Z"))),
    )
    .expect("open");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut l = Ledger::open(store, Policy::default(), 1)
            .await
            .expect("ledger");
        // Given a ledger whose head was recorded at 2026-05-10 10:00 (import clock),
        let mut first = tariff_990();
        first.request_at = instant("2026-05-10T08:00:00Z");
        l.execute(&first, ClockMode::Import).await.expect("tariff");
        let head = l.store().head().await.expect("head");
        // when a command dated earlier arrives,
        let late = register(1, d(1980, 1, 1));
        let result = l.execute(&late, ClockMode::Import).await;
        // then it is refused as out of order, naming both instants,
        match result {
            Err(LedgerError::OutOfOrder { request_at, head }) => {
                assert_eq!(request_at, late.request_at);
                assert_eq!(head, instant("2026-05-10T08:00:00Z"));
            }
            other => panic!("expected an out-of-order refusal, got {other:?}"),
        }
        // and nothing is appended.
        assert_eq!(l.store().head().await.expect("head"), head);
        // A command at or after the head is judged as usual.
        let mut on_time = register(1, d(1980, 1, 1));
        on_time.request_at = instant("2026-05-10T08:00:00Z");
        l.execute(&on_time, ClockMode::Import)
            .await
            .expect("registered");
    });
    let _ = std::fs::remove_dir_all(&dir);
}
