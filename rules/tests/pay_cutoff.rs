//! `PAY-CUTOFF` (RULES.md §3, CGVU-2026 §4.14.1, CGU-2011 §2.9.6) for every
//! operation it lists: registered before the cutoff day of month M (the 15th, the
//! 20th under CGU-2011) an operation reaches the debits from M+1; on or after it,
//! from M+2, and the debit already prepared for M+1 is taken as prepared, the
//! difference settled after it: refunded within 30 days when it took too much
//! (`PAY-REFUND-30D`), carried on the next debit when it took too little.
//!
//! The worked examples' tariff: 1-5 costs 90.00 € a month, 2-3 85.00 €, 4-5
//! 80.00 €, Senior 45.00 €, daily rate 4.50 €.

use chrono::{Datelike, NaiveDate};
use navigo_events_schema::command::{
    ChangeMandate, ChangePayer, ChangeZones, ContractRef, RequestSeniorSwitch, Resume, Suspend,
    SwitchPaymentMethod,
};
use navigo_events_schema::event::{ChargeKind, DebitPresented, RefundDue, RefundReason};
use navigo_events_schema::types::{ActivityDeclaration, Channel, PaymentRequest, Product};
use navigo_events_schema::{Command, CommandEnvelope, Event, Money, YearMonth};
use navigo_rules::contract::state::ContractState;
use navigo_testkit::*;

const AGENCY: Channel = Channel::Agency;

fn ym(y: i32, m: u32) -> YearMonth {
    YearMonth::new(y, m).expect("valid month")
}

fn eur(cents: i64) -> Money {
    Money::from_cents(cents)
}

fn at_agency(date: NaiveDate, command: Command) -> CommandEnvelope {
    cmd(date, Some(AGENCY), command)
}

fn contract(s: &Scenario) -> &ContractState {
    s.world.contract(cid(1)).expect("contract 1 exists")
}

/// The debits of contract 1 with their effective (debit) dates.
fn debits(s: &Scenario) -> Vec<(NaiveDate, DebitPresented)> {
    s.contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::DebitPresented(x) => Some((e.effective_date, x.clone())),
            _ => None,
        })
        .collect()
}

fn debit_of(s: &Scenario, m: YearMonth) -> Option<(NaiveDate, DebitPresented)> {
    debits(s).into_iter().find(|(_, x)| x.month == m)
}

/// The refunds due of contract 1 with their dates.
fn refunds(s: &Scenario) -> Vec<(NaiveDate, RefundDue)> {
    s.contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::RefundDue(r) => Some((e.effective_date, r.clone())),
            _ => None,
        })
        .collect()
}

/// The lines of a debit as (month, kind, amount).
fn lines(x: &DebitPresented) -> Vec<(YearMonth, ChargeKind, Money)> {
    x.lines
        .iter()
        .map(|l| (l.month, l.kind, l.amount))
        .collect()
}

/// Person 1 (born 1950, so that the Senior switch is open to them) holding and
/// paying contract 1, subscribed at an agency on `start` with `product` and
/// `payment`, and person 2 (born 1980), a possible new payer.
fn subscribed(start: NaiveDate, product: Product, payment: PaymentRequest) -> Scenario {
    Scenario::new().given([
        tariff_990(),
        reason_codes(),
        register(1, d(1950, 1, 1)),
        register(2, d(1980, 1, 1)),
        subscribe(start, AGENCY, 1, 1, product, start, payment),
    ])
}

fn zones_product(z: &str) -> Product {
    Product::Annual { zones: zones(z) }
}

fn change_zones(date: NaiveDate, to: &str) -> CommandEnvelope {
    at_agency(
        date,
        Command::ChangeZones(ChangeZones {
            contract_id: cid(1),
            zones: zones(to),
            effective_date: None,
        }),
    )
}

fn suspend(date: NaiveDate) -> CommandEnvelope {
    at_agency(
        date,
        Command::Suspend(Suspend {
            contract_id: cid(1),
            effective_date: None,
            planned_resumption: None,
        }),
    )
}

fn resume(date: NaiveDate) -> CommandEnvelope {
    at_agency(
        date,
        Command::Resume(Resume {
            contract_id: cid(1),
            effective_date: None,
            payment: None,
        }),
    )
}

// ---------------------------------------------------------------------------
// The observed cases

#[test]
fn pay_cutoff_zone_down_registered_on_the_20th_takes_the_prepared_december_debit_and_refunds_the_difference(
) {
    // Given a 1-5 contract debited on the 1st, its November debit taken,
    let s = subscribed(d(2026, 7, 12), annual_1_5(), debit(1, 1)).advance(d(2026, 11, 19));
    // when a change to 2-3 is registered at an agency on 20 November (past the
    // cutoff of the 15th), effective at once (ZONE-DOWN: 2-3 billed from December),
    let s = s
        .given([change_zones(d(2026, 11, 20), "2-3")])
        .advance(d(2027, 1, 31));
    // then the December debit is the one prepared, at the 1-5 installment, of
    // which only the 2-3 installment is due,
    let (date, dec) = debit_of(&s, ym(2026, 12)).expect("a December debit");
    assert_eq!(date, d(2026, 12, 1));
    assert_eq!((dec.amount, dec.due), (eur(9_000), eur(8_500)), "{dec:?}");
    // the 5.00 € taken too much are refunded within 30 days (PAY-REFUND-30D),
    let r = refunds(&s);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].1.amount, eur(500));
    assert_eq!(r[0].1.reason, RefundReason::DebitAfterCutoff);
    assert!(r[0].1.due_by <= r[0].0 + chrono::Duration::days(30));
    // and January is debited at the 2-3 installment, nothing else.
    let (_, jan) = debit_of(&s, ym(2027, 1)).expect("a January debit");
    assert_eq!(
        lines(&jan),
        vec![(ym(2027, 1), ChargeKind::FullInstallment, eur(8_500))]
    );
    let c = contract(&s);
    assert!(c.money.refundable_credit().is_zero() && c.money.debt().is_zero());
}

#[test]
fn pay_cutoff_zone_up_registered_on_the_20th_takes_the_prepared_4_5_debit_and_carries_both_differences_to_january(
) {
    // Given a 4-5 contract debited on the 1st, its November debit (80.00) taken,
    let s = subscribed(d(2026, 7, 12), zones_product("4-5"), debit(1, 1)).advance(d(2026, 11, 19));
    // when a change to 1-5 is registered at an agency on 20 November, effective
    // at once (ZONE-UP: November already costs the 1-5 installment),
    let s = s
        .given([change_zones(d(2026, 11, 20), "1-5")])
        .advance(d(2027, 1, 31));
    // then December's debit is the prepared 4-5 installment, nothing folded in,
    let (_, dec) = debit_of(&s, ym(2026, 12)).expect("a December debit");
    assert_eq!(
        lines(&dec),
        vec![(ym(2026, 12), ChargeKind::FullInstallment, eur(8_000))]
    );
    assert_eq!(dec.due, eur(8_000));
    // and January carries November's and December's differences with its own
    // 1-5 installment.
    let (_, jan) = debit_of(&s, ym(2027, 1)).expect("a January debit");
    assert_eq!(
        lines(&jan),
        vec![
            (ym(2026, 11), ChargeKind::ZoneDifference, eur(1_000)),
            (ym(2026, 12), ChargeKind::CutoffDifference, eur(1_000)),
            (ym(2027, 1), ChargeKind::FullInstallment, eur(9_000)),
        ]
    );
    assert!(refunds(&s).is_empty());
    assert!(contract(&s).money.balance().is_zero());
}

#[test]
fn pay_cutoff_suspension_and_resumption_registered_after_the_cutoff_take_the_prepared_december_debit_on_its_date(
) {
    // Given a 1-5 contract debited on the 1st, its November debit taken,
    let s = subscribed(d(2026, 7, 12), annual_1_5(), debit(1, 1)).advance(d(2026, 11, 19));
    // when it is suspended at an agency on 20 November and resumed on the 25th,
    let s = s
        .given([suspend(d(2026, 11, 20)), resume(d(2026, 11, 25))])
        .advance(d(2027, 1, 31));
    // then December's debit, prepared before either, is taken on 1 December,
    let (date, dec) = debit_of(&s, ym(2026, 12)).expect("a December debit");
    assert_eq!(date, d(2026, 12, 1));
    assert_eq!((dec.amount, dec.due), (eur(9_000), eur(9_000)));
    // December is due anyway (in force from the 25th of November), so nothing is
    // refunded, and January takes January only.
    assert!(refunds(&s).is_empty(), "{:?}", refunds(&s));
    let (_, jan) = debit_of(&s, ym(2027, 1)).expect("a January debit");
    assert_eq!(
        lines(&jan),
        vec![(ym(2027, 1), ChargeKind::FullInstallment, eur(9_000))]
    );
    assert!(contract(&s).money.balance().is_zero());
}

#[test]
fn pay_cutoff_debit_day_12_a_change_registered_after_the_cutoff_but_before_the_debit_date_leaves_the_prepared_debit(
) {
    // Given a 4-5 contract debited on the 12th, its November debit taken,
    let s = subscribed(d(2026, 7, 12), zones_product("4-5"), debit(12, 1)).advance(d(2026, 12, 2));
    // when a change to 1-5 is registered on 3 December, before the December
    // debit date but after its preparation on 15 November (module Decision of
    // `contract::timing`),
    let s = s
        .given([change_zones(d(2026, 12, 3), "1-5")])
        .advance(d(2027, 1, 31));
    // then the December debit of the 12th is the prepared 4-5 installment,
    let (date, dec) = debit_of(&s, ym(2026, 12)).expect("a December debit");
    assert_eq!(date, d(2026, 12, 12));
    assert_eq!(
        lines(&dec),
        vec![(ym(2026, 12), ChargeKind::FullInstallment, eur(8_000))]
    );
    // and the January debit (reached: registered before the 15th of December)
    // collects December's difference.
    let (_, jan) = debit_of(&s, ym(2027, 1)).expect("a January debit");
    assert_eq!(
        lines(&jan),
        vec![
            (ym(2026, 12), ChargeKind::ZoneDifference, eur(1_000)),
            (ym(2027, 1), ChargeKind::FullInstallment, eur(9_000)),
        ]
    );
}

// ---------------------------------------------------------------------------
// The table: every operation × registered before / on / after the cutoff day ×
// both rulebooks × debit days 1, 2, 8, 12

/// An operation `PAY-CUTOFF` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Suspension,
    Resumption,
    TerminationByPayer,
    /// 4-5 → 1-5 (`ZONE-UP`).
    ZoneUp,
    /// 1-5 → 2-3 (`ZONE-DOWN`).
    ZoneDown,
    /// To person 2, mandate `M-2`.
    PayerChange,
    /// To mandate `M-NEW`.
    MandateChange,
    /// Direct debit → cash (`PAY-SWITCH-TO-CASH`).
    SwitchToCash,
    /// Cash → direct debit at the renewal of a cash period ending with month M
    /// (`PAY-SWITCH-TO-DEBIT`).
    SwitchToDebit,
    /// Annual 1-5 → Senior, validated on the registration date (`SENIOR-SWITCH`).
    SeniorSwitch,
}

const OPS: [Op; 10] = [
    Op::Suspension,
    Op::Resumption,
    Op::TerminationByPayer,
    Op::ZoneUp,
    Op::ZoneDown,
    Op::PayerChange,
    Op::MandateChange,
    Op::SwitchToCash,
    Op::SwitchToDebit,
    Op::SeniorSwitch,
];

/// A rulebook and the month M of the table under it.
#[derive(Debug, Clone, Copy)]
struct Book {
    name: &'static str,
    /// Month M, in which the operation is registered.
    month: YearMonth,
    /// The cutoff day of that rulebook.
    cutoff_day: u32,
}

/// CGU-2011 in November 2025 (cutoff on the 20th) and CGVU-2026 in November 2026
/// (cutoff on the 15th).
fn books() -> [Book; 2] {
    [
        Book {
            name: "CGU-2011",
            month: ym(2025, 11),
            cutoff_day: 20,
        },
        Book {
            name: "CGVU-2026",
            month: ym(2026, 11),
            cutoff_day: 15,
        },
    ]
}

const DEBIT_DAYS: [u8; 4] = [1, 2, 8, 12];

/// Registered the day before the cutoff day, on it, or the day after.
const DAY_OFFSETS: [(i64, &str); 3] = [(-1, "before"), (0, "on"), (1, "after")];

/// What the table expects of a case.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    /// The debit of M+1 (amount, due), none when no debit is presented for it.
    next: Option<(Money, Money)>,
    /// Refunded for the debit of M+1 (`PAY-REFUND-30D`).
    refunded: Money,
    /// The debit of M+2 (amount), none when no debit is presented for it.
    after: Option<Money>,
    /// What the debit of M+2 carries for M+1: what the prepared debit took too
    /// little for, or M+1 itself when no debit was prepared for it.
    carried: Money,
    /// The mandate the debit of M+1 is taken on.
    mandate: Option<&'static str>,
}

impl Expected {
    fn debits(next: i64, after: i64) -> Expected {
        Expected {
            next: Some((eur(next), eur(next))),
            refunded: Money::ZERO,
            after: Some(eur(after)),
            carried: Money::ZERO,
            mandate: Some("M-1"),
        }
    }
    fn none() -> Expected {
        Expected {
            next: None,
            refunded: Money::ZERO,
            after: None,
            carried: Money::ZERO,
            mandate: None,
        }
    }
}

/// What each operation makes of the debits of M+1 and M+2, registered on `day`
/// of month M (November, 30 days), before the cutoff (`late` false) or on or
/// after it (`late` true).
fn expected(op: Op, late: bool, day: u32) -> Expected {
    // TAR-PRORATA: a resumption on `day` leaves 31 − day days of November, fewer
    // than 20 here, each at the daily rate.
    let resumption_month = i64::from(31 - day) * 450;
    match (op, late) {
        // SUSP-MONTH-DUE, TERM-BY-PAYER: M is due in full, M+1 is not; a debit
        // prepared for M+1 is taken and refunded in full.
        (Op::Suspension | Op::TerminationByPayer, false) => Expected::none(),
        (Op::Suspension | Op::TerminationByPayer, true) => Expected {
            next: Some((eur(9_000), Money::ZERO)),
            refunded: eur(9_000),
            mandate: Some("M-1"),
            ..Expected::none()
        },
        // SUSP-RESUME: M costs its remaining days; no debit was prepared for M+1
        // while suspended, so a late resumption carries it to M+2.
        (Op::Resumption, false) => Expected::debits(resumption_month + 9_000, 9_000),
        (Op::Resumption, true) => Expected {
            after: Some(eur(resumption_month + 9_000 + 9_000)),
            carried: eur(9_000),
            ..Expected::none()
        },
        // ZONE-UP: M already costs the 1-5 installment (90.00 instead of 80.00).
        (Op::ZoneUp, false) => Expected::debits(1_000 + 9_000, 9_000),
        (Op::ZoneUp, true) => Expected {
            carried: eur(1_000),
            ..Expected::debits(8_000, 1_000 + 1_000 + 9_000)
        },
        // ZONE-DOWN: 2-3 from M+1; the prepared 1-5 debit took 5.00 € too much.
        (Op::ZoneDown, false) => Expected::debits(8_500, 8_500),
        (Op::ZoneDown, true) => Expected {
            next: Some((eur(9_000), eur(8_500))),
            refunded: eur(500),
            ..Expected::debits(0, 8_500)
        },
        (Op::PayerChange, false) => Expected {
            mandate: Some("M-2"),
            ..Expected::debits(9_000, 9_000)
        },
        (Op::MandateChange, false) => Expected {
            mandate: Some("M-NEW"),
            ..Expected::debits(9_000, 9_000)
        },
        (Op::PayerChange | Op::MandateChange, true) => Expected::debits(9_000, 9_000),
        // PAY-SWITCH-TO-CASH: cash from the first month reached.
        (Op::SwitchToCash, false) => Expected::none(),
        (Op::SwitchToCash, true) => Expected {
            after: None,
            ..Expected::debits(9_000, 0)
        },
        // PAY-SWITCH-TO-DEBIT: no debit was prepared for M+1 on a cash contract;
        // registered late, M+1 is carried to M+2.
        (Op::SwitchToDebit, false) => Expected {
            mandate: Some("M-3"),
            ..Expected::debits(9_000, 9_000)
        },
        (Op::SwitchToDebit, true) => Expected {
            after: Some(eur(18_000)),
            carried: eur(9_000),
            ..Expected::none()
        },
        // SENIOR-SWITCH: the Senior installment from the first month reached.
        (Op::SeniorSwitch, false) => Expected::debits(4_500, 4_500),
        (Op::SeniorSwitch, true) => Expected::debits(9_000, 4_500),
    }
}

/// The contract of an operation's case before the registration on `day` of M.
fn given(op: Op, book: Book, debit_day: u8, day: NaiveDate) -> Scenario {
    let y = book.month.year();
    let start = d(y, 7, 12);
    match op {
        Op::ZoneUp => subscribed(start, zones_product("4-5"), debit(debit_day, 1)),
        Op::Resumption => {
            // Suspended at an agency on 5 September (under CGU-2011, from the 1st
            // of October), long before M.
            subscribed(start, annual_1_5(), debit(debit_day, 1)).given([suspend(d(y, 9, 5))])
        }
        Op::SwitchToDebit => {
            // Cash from 1 December of the year before: paid through the end of M.
            subscribed(d(y - 1, 12, 1), annual_1_5(), PaymentRequest::Cash)
        }
        Op::SeniorSwitch => subscribed(start, annual_1_5(), debit(debit_day, 1)).given([cmd(
            day - chrono::Duration::days(10),
            Some(Channel::Online),
            Command::RequestSeniorSwitch(RequestSeniorSwitch {
                contract_id: cid(1),
                declaration: ActivityDeclaration::NoActivity,
                age_proof_ref: "ID-1950".into(),
            }),
        )]),
        _ => subscribed(start, annual_1_5(), debit(debit_day, 1)),
    }
}

/// The operation's command, registered on `day`.
fn operation(op: Op, debit_day: u8, day: NaiveDate) -> CommandEnvelope {
    let contract_id = cid(1);
    match op {
        Op::Suspension => suspend(day),
        Op::Resumption => resume(day),
        Op::TerminationByPayer => {
            at_agency(day, Command::TerminateByPayer(ContractRef { contract_id }))
        }
        Op::ZoneUp => change_zones(day, "1-5"),
        Op::ZoneDown => change_zones(day, "2-3"),
        Op::PayerChange => at_agency(
            day,
            Command::ChangePayer(ChangePayer {
                contract_id,
                payer: pid(2),
                mandate: Some(navigo_testkit::mandate_named("M-2", 106)),
            }),
        ),
        Op::MandateChange => at_agency(
            day,
            Command::ChangeMandate(ChangeMandate {
                contract_id,
                mandate: navigo_testkit::mandate_named("M-NEW", 107),
            }),
        ),
        Op::SwitchToCash => at_agency(
            day,
            Command::SwitchPaymentMethod(SwitchPaymentMethod {
                contract_id,
                to: PaymentRequest::Cash,
            }),
        ),
        Op::SwitchToDebit => at_agency(
            day,
            Command::SwitchPaymentMethod(SwitchPaymentMethod {
                contract_id,
                to: debit(debit_day, 3),
            }),
        ),
        Op::SeniorSwitch => cmd(
            day,
            None,
            Command::ValidateSeniorSwitch(ContractRef { contract_id }),
        ),
    }
}

/// What a case gave, in the terms of [`Expected`].
fn observed(s: &Scenario, book: Book, late: bool) -> (Expected, Vec<String>) {
    let (next_m, after_m) = (book.month.plus(1), book.month.plus(2));
    let mut problems = Vec::new();
    let next = debit_of(s, next_m);
    if let Some((date, x)) = &next {
        // The prepared debit is taken on its own date.
        let c = contract(s);
        if *date != c.debit_date(next_m) {
            problems.push(format!("the debit of {next_m} is dated {date}"));
        }
        // Nothing the change makes due is folded into a debit it does not reach.
        if late && x.lines.iter().any(|l| l.month < next_m) {
            problems.push(format!(
                "the debit of {next_m} carries earlier months: {x:?}"
            ));
        }
    }
    let after = debit_of(s, after_m);
    let carried = after.as_ref().map_or(Money::ZERO, |(_, x)| {
        x.lines
            .iter()
            .filter(|l| l.month == next_m)
            .map(|l| l.amount)
            .sum()
    });
    let refunded: Money = refunds(s)
        .iter()
        .filter(|(date, r)| {
            r.reason == RefundReason::DebitAfterCutoff
                && next.as_ref().is_some_and(|(d, _)| d == date)
        })
        .map(|(date, r)| {
            if r.due_by > *date + chrono::Duration::days(30) {
                problems.push(format!("refund due by {} for {date}", r.due_by));
            }
            r.amount
        })
        .sum();
    let got = Expected {
        next: next.as_ref().map(|(_, x)| (x.amount, x.due)),
        refunded,
        after: after.as_ref().map(|(_, x)| x.amount),
        carried,
        mandate: next
            .as_ref()
            .map(|(_, x)| match x.mandate_reference.as_str() {
                "M-1" => "M-1",
                "M-2" => "M-2",
                "M-3" => "M-3",
                "M-NEW" => "M-NEW",
                _ => "other",
            }),
    };
    // Whatever the operation, nothing taken is left as a credit that no refund
    // returns, and no month is left unpaid but the cash a switch made due.
    let c = contract(s);
    if !c.money.refundable_credit().is_zero() {
        problems.push(format!("a credit of {} left", c.money.refundable_credit()));
    }
    (got, problems)
}

#[test]
fn pay_cutoff_table_every_operation_before_on_and_after_the_cutoff_under_both_rulebooks_and_every_debit_day(
) {
    let mut failures = Vec::new();
    let mut cases = 0;
    for book in books() {
        for op in OPS {
            for debit_day in DEBIT_DAYS {
                for (offset, when) in DAY_OFFSETS {
                    cases += 1;
                    let day = book.month.first_day()
                        + chrono::Duration::days(i64::from(book.cutoff_day) - 1 + offset);
                    let case = format!(
                        "{} {op:?} registered {when} the cutoff ({day}), debit day {debit_day}",
                        book.name
                    );
                    // Given the contract, the clock run to the day before,
                    let s = given(op, book, debit_day, day).advance(day.pred_opt().expect("a day"));
                    // when the operation is registered on `day`,
                    let outcome = s.when(operation(op, debit_day, day));
                    if let Err(e) = &outcome.result {
                        failures.push(format!("{case}: refused: {e}"));
                        continue;
                    }
                    // then the debits of M+1 and M+2 are as the table says.
                    let s = outcome.scenario.advance(book.month.plus(2).last_day());
                    let late = offset >= 0;
                    let want = expected(op, late, day.day());
                    let (got, problems) = observed(&s, book, late);
                    if got != want {
                        failures.push(format!("{case}:\n      want {want:?}\n      got  {got:?}"));
                    }
                    for p in problems {
                        failures.push(format!("{case}: {p}"));
                    }
                }
            }
        }
    }
    assert_eq!(cases, 2 * OPS.len() * DEBIT_DAYS.len() * DAY_OFFSETS.len());
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
