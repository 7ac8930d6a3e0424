//! Shared builders of the projection tests.
#![allow(dead_code)]

use chrono::NaiveDate;
use navigo_events_schema::command::{RecordDebitRejected, SettleDebt, Suspend};
use navigo_events_schema::event::{ChargeKind, SettlementChannel};
use navigo_events_schema::types::{Channel, Product};
use navigo_events_schema::views::{CalendarRow, DebitCalendar};
use navigo_events_schema::{Command, CommandEnvelope, Envelope, Money, StreamId, YearMonth};
use navigo_projections::{calendar, Folded, Query};
use navigo_rules::Policy;
use navigo_testkit::*;

/// An amount from cents.
pub fn eur(cents: i64) -> Money {
    Money::from_cents(cents)
}

/// A month from text.
pub fn ym(s: &str) -> YearMonth {
    s.parse().expect("month")
}

/// Every envelope of the scenario, in position order.
pub fn envelopes(s: &Scenario) -> Vec<Envelope> {
    let mut out: Vec<Envelope> = s.world.history.values().flatten().cloned().collect();
    out.sort_by_key(|e| e.position);
    out
}

/// The 990 € tariff, the reason codes and person 1 born 1990-01-01.
pub fn base() -> Scenario {
    Scenario::new().given([tariff_990(), reason_codes(), register(1, d(1990, 1, 1))])
}

/// Contract 1 of person 1 subscribed at an agency on `start`, debit day 1.
pub fn agency(start: NaiveDate, product: Product) -> CommandEnvelope {
    subscribe(start, Channel::Agency, 1, 1, product, start, debit(1, 1))
}

/// Annual 4-5.
pub fn zones_4_5() -> Product {
    Product::Annual {
        zones: zones("4-5"),
    }
}

/// A command at 10:00 Paris on `date`.
pub fn on(date: NaiveDate, channel: Channel, command: Command) -> CommandEnvelope {
    cmd(date, Some(channel), command)
}

/// The fraud finding (subscription fraud) on contract 1 at an agency on
/// `date`: person 1 the fraudster, person 2 the accomplice.
pub fn fraud_with_accomplice(date: NaiveDate) -> CommandEnvelope {
    on(
        date,
        Channel::Agency,
        Command::EstablishFraud(navigo_events_schema::command::EstablishFraud {
            contract_id: cid(1),
            kind: navigo_events_schema::event::FraudKind::Subscription,
            fraudster: pid(1),
            accomplices: vec![pid(2)],
        }),
    )
}

/// Suspends contract 1 online.
pub fn suspend(date: NaiveDate, effective: NaiveDate) -> CommandEnvelope {
    on(
        date,
        Channel::Online,
        Command::Suspend(Suspend {
            contract_id: cid(1),
            effective_date: Some(effective),
            planned_resumption: None,
        }),
    )
}

/// Rejects the debit of `month` of contract 1 (AM04).
pub fn reject(date: NaiveDate, month: &str) -> CommandEnvelope {
    on(
        date,
        Channel::Agency,
        Command::RecordDebitRejected(RecordDebitRejected {
            contract_id: cid(1),
            month: ym(month),
            reason_code: "AM04".parse().expect("code"),
        }),
    )
}

/// Settles `amount` of contract 1's debt online.
pub fn settle(date: NaiveDate, amount: Money) -> CommandEnvelope {
    on(
        date,
        Channel::Online,
        Command::SettleDebt(SettleDebt {
            contract_id: cid(1),
            amount,
            via: SettlementChannel::OnlineCard,
        }),
    )
}

/// Contract 1 debited 2026-08-01, rejected on 2026-08-05.
pub fn rejected() -> Scenario {
    base()
        .given([agency(d(2026, 7, 12), annual_1_5())])
        .advance(d(2026, 8, 1))
        .given([reject(d(2026, 8, 5), "2026-08")])
}

/// The envelopes of a contract's own slice of the log: its stream and the
/// catalogue, what `navigo-ledger calendar` reads.
pub fn own_slice(events: &[Envelope], contract: uuid::Uuid) -> Vec<&Envelope> {
    events
        .iter()
        .filter(|e| e.stream == StreamId::contract(contract) || e.stream == StreamId::catalogue())
        .collect()
}

/// The calendar of contract 1, read from its own slice of `events`.
pub fn cal(events: &[Envelope], q: Query) -> DebitCalendar {
    let input = Folded::new(own_slice(events, cid(1)), &q);
    calendar::calendar(&input, cid(1), &Policy::default(), None).expect("calendar")
}

/// The row of `month`.
pub fn row(c: &DebitCalendar, month: &str) -> CalendarRow {
    c.rows
        .iter()
        .find(|r| r.month == ym(month))
        .cloned()
        .unwrap_or_else(|| panic!("no row {month}: {:?}", c.rows))
}

/// The kinds of a row's lines.
pub fn kinds(r: &CalendarRow) -> Vec<ChargeKind> {
    r.lines.iter().map(|l| l.kind).collect()
}
