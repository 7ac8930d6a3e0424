//! Property tests of the projections: every projection computed with `known_at`
//! equals the same projection computed over the event list truncated to what was
//! recorded by then; and every balance satisfies `PAY-DUE-VS-COLLECTED`, its rows
//! adding up to its totals on generated populations.

mod population_support;
mod projections_support;

use chrono::{Duration, NaiveDate};
use navigo_events_schema::{Envelope, Money};
use navigo_projections::{balance, bans, calendar, refunds, state, Folded, Query};
use navigo_rules::Policy;
use navigo_testkit::*;
use population_support::{advance_monthly, generated_ledger, in_scratch, into_log, scratch};
use projections_support::*;
use proptest::prelude::*;

/// A random but legal-looking history of contract 1: an agency subscription, the
/// clock, maybe a rejection and a settlement, maybe a suspension; commands the
/// rules refuse are simply not recorded.
fn history(
    start_day: u32,
    reject_month: Option<u32>,
    settle: bool,
    suspend_day: Option<u32>,
) -> Vec<Envelope> {
    let start = d(2026, 7, 1) + Duration::days(i64::from(start_day));
    let mut s = base().given([agency(start, annual_1_5())]);
    s = s.advance(d(2026, 10, 1));
    if let Some(m) = reject_month {
        let month = format!("2026-{:02}", 8 + m);
        let _ = s.run(&reject(d(2026, 8 + m, 5), &month));
        if settle {
            let debt = s.world.contract(cid(1)).map(|c| c.money.debt());
            if let Some(debt) = debt.filter(|x| x.is_positive()) {
                let _ = s.run(&projections_support::settle(d(2026, 10, 2), debt));
            }
        }
    }
    if let Some(day) = suspend_day {
        let date = d(2026, 10, 3) + Duration::days(i64::from(day));
        let _ = s.run(&suspend(date, date + Duration::days(3)));
    }
    let s = s.advance(d(2027, 3, 1));
    envelopes(&s)
}

fn truncated(events: &[Envelope], q: &Query) -> Vec<Envelope> {
    events
        .iter()
        .filter(|e| q.known_at.is_none_or(|k| e.recorded_at <= k))
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn projections_with_known_at_equal_projections_of_the_truncated_log(
        start_day in 0u32..60,
        reject_month in proptest::option::of(0u32..2),
        settle in any::<bool>(),
        suspend_day in proptest::option::of(0u32..60),
        known_day in 0i64..300,
        at_day in 0i64..400,
    ) {
        let events = history(start_day, reject_month, settle, suspend_day);
        let known_at = at(d(2026, 7, 1) + Duration::days(known_day));
        let at_date: NaiveDate = d(2026, 7, 1) + Duration::days(at_day);
        let q = Query { at: at_date, known_at: Some(known_at) };
        let cut = truncated(&events, &q);
        // The contract is known once its subscription is recorded: the comparison
        // below is between answers, not between two errors.
        let subscribed = d(2026, 7, 1) + Duration::days(i64::from(start_day));
        if known_at >= at(subscribed) {
            prop_assert!(calendar::calendar(&Folded::new(&cut, &Query::on(at_date)), cid(1), &Policy::default(), None).is_ok());
        }
        let all = Query { at: at_date, known_at: None };
        let policy = Policy::default();
        prop_assert_eq!(
            calendar::calendar(&Folded::new(&events, &q), cid(1), &policy, None).map(|c| c.rows),
            calendar::calendar(&Folded::new(&cut, &all), cid(1), &policy, None).map(|c| c.rows)
        );
        let b = balance::contract_balance(&Folded::new(&events, &q), cid(1)).map(|b| (b.totals, b.rows));
        prop_assert_eq!(
            b.clone(),
            balance::contract_balance(&Folded::new(&cut, &all), cid(1)).map(|b| (b.totals, b.rows))
        );
        if let Ok((t, _)) = &b {
            // PAY-DUE-VS-COLLECTED on every fold.
            prop_assert_eq!(t.balance, t.due - t.collected + t.returned);
        }
        prop_assert_eq!(
            bans::person_bans(&Folded::new(&events, &q), pid(1)).map(|b| (b.windows, b.may_be_payer)),
            bans::person_bans(&Folded::new(&cut, &all), pid(1)).map(|b| (b.windows, b.may_be_payer))
        );
        prop_assert_eq!(
            refunds::person_refunds(&Folded::new(&events, &q), pid(1)).map(|r| (r.refunds, r.campaigns)),
            refunds::person_refunds(&Folded::new(&cut, &all), pid(1)).map(|r| (r.refunds, r.campaigns))
        );
        let strip = |v: navigo_events_schema::views::ContractStateView| {
            let mut v = v;
            v.as_of.known_at = None;
            v
        };
        prop_assert_eq!(
            state::contract_state(&Folded::new(&events, &q), cid(1)).map(strip),
            state::contract_state(&Folded::new(&cut, &all), cid(1)).map(strip)
        );
    }

    /// `PAY-CUTOFF`, `PAY-DUE-VS-COLLECTED`: the calendar folded without a
    /// history (its debits read from the known events themselves) is the
    /// calendar of the full folds, which keep every envelope of the stream.
    #[test]
    fn pay_cutoff_calendar_folded_without_history_equals_the_full_fold(
        start_day in 0u32..60,
        reject_month in proptest::option::of(0u32..2),
        settle in any::<bool>(),
        suspend_day in proptest::option::of(0u32..60),
        known_day in 0i64..300,
        at_day in 0i64..400,
    ) {
        let events = history(start_day, reject_month, settle, suspend_day);
        let known_at = at(d(2026, 7, 1) + Duration::days(known_day));
        let at_date: NaiveDate = d(2026, 7, 1) + Duration::days(at_day);
        let policy = Policy::default();
        for q in [Query { at: at_date, known_at: Some(known_at) }, Query::on(at_date)] {
            // The one input folds without the history: its states are the
            // full fold's, and the calendar reads them whole or sliced alike.
            let input = Folded::new(&events, &q);
            let known = navigo_projections::known_events(&events, q.known_at);
            let full = navigo_projections::fold(&known);
            let full_at = navigo_projections::fold(&navigo_projections::effective_by(&known, q.at));
            prop_assert_eq!(&input.known().contracts, &full.contracts);
            prop_assert_eq!(&input.at().contracts, &full_at.contracts);
            prop_assert_eq!(
                calendar::calendar(&input, cid(1), &policy, None),
                calendar::calendar(&Folded::new(own_slice(&events, cid(1)), &q), cid(1), &policy, None)
            );
        }
    }
}

/// The extra requests sent after a generated population: the products and
/// methods the generator draws rarely, each with the change that moves its
/// money (a cash contract suspended after four months, a cash contract
/// terminated, a direct debit switched to cash, a Senior contract), persons
/// 901 to 904 (`pid`), contracts 901 to 904 (`cid`).
fn rare_contracts() -> Vec<(NaiveDate, serde_json::Value)> {
    use serde_json::json;
    let register = |n: u128, birth: &str| {
        json!({"type": "RegisterPerson", "person_id": pid(n), "client_number": format!("X{n:08}"),
               "first_name": "Camille", "last_name": format!("Rare{n}"), "birth_date": birth,
               "address": {"street": "1 rue de Rivoli", "postal_code": "93100",
                           "municipality": "Montreuil"}})
    };
    let debit = |n: u128| {
        json!({"method": "direct_debit", "debit_day": 8,
               "mandate": {"reference": format!("M-RARE-{n}"), "signed_on": "2025-06-01",
                           "debtor": {"iban": "FR7630002000030000000000381",
                                      "holder_name": format!("Rare {n}")}}})
    };
    let subscribe = |n: u128, product: serde_json::Value, payment: serde_json::Value| {
        let mut s = json!({"type": "Subscribe", "contract_id": cid(n), "holder": pid(n),
                           "payer": pid(n), "product": product, "start_date": "2025-07-01",
                           "payment": payment, "third_party_payer": false});
        if product["kind"] == "senior" {
            s["senior_declaration"] = json!({"declared": "no_activity"});
        }
        s
    };
    let annual = json!({"kind": "annual", "zones": "1-5"});
    vec![
        (d(2025, 7, 1), register(901, "1980-02-01")),
        (d(2025, 7, 1), register(902, "1981-03-01")),
        (d(2025, 7, 1), register(903, "1982-04-01")),
        (d(2025, 7, 1), register(904, "1955-05-01")),
        (
            d(2025, 7, 1),
            subscribe(901, annual.clone(), json!({"method": "cash"})),
        ),
        (
            d(2025, 7, 1),
            subscribe(902, annual.clone(), json!({"method": "cash"})),
        ),
        (d(2025, 7, 1), subscribe(903, annual, debit(903))),
        (
            d(2025, 7, 1),
            subscribe(904, json!({"kind": "senior"}), debit(904)),
        ),
        (
            d(2025, 9, 3),
            json!({"type": "SwitchPaymentMethod", "contract_id": cid(903),
                   "to": {"method": "cash"}}),
        ),
        (
            d(2025, 10, 6),
            json!({"type": "TerminateByPayer", "contract_id": cid(902)}),
        ),
        (
            d(2025, 10, 20),
            json!({"type": "Suspend", "contract_id": cid(901)}),
        ),
    ]
}

/// A generated population (the core's population generator, every product and
/// method, rejections, settlements, suspensions, terminations, cash renewals,
/// refunds) driven through a ledger on sled with the billing clock, then
/// [`rare_contracts`] and the clock month by month through 2026-03-01; the
/// stored log.
fn generated_population(seed: u64, contracts: u32) -> Vec<Envelope> {
    let dir = scratch(&format!("projections-props-{seed:x}"));
    in_scratch(&dir, async {
        let mut ledger = generated_ledger(&dir, seed, contracts, d(2025, 6, 30)).await;
        let mut rare = rare_contracts().into_iter().peekable();
        advance_monthly(&mut ledger, d(2025, 7, 1), d(2026, 3, 1), |month| {
            let mut due = Vec::new();
            while let Some((date, command)) = rare.next_if(|(date, _)| *date < month) {
                let c: navigo_events_schema::CommandEnvelope =
                    serde_json::from_value(serde_json::json!({
                    "request_at": at(date), "actor": {"role": "agent", "id": "AG-1"},
                    "channel": "agency", "command": command}))
                    .expect("a command");
                due.push(c);
            }
            due
        })
        .await;
        into_log(ledger).await
    })
}

/// What the events of a contract effective by `q.at` (as known) collected and
/// returned, read from the events themselves (the table of
/// `navigo_rules::contract::state`): the oracle the statement's rows are checked
/// against besides the totals.
fn collected_and_returned(events: &[Envelope], contract: uuid::Uuid, q: &Query) -> (Money, Money) {
    use navigo_events_schema::Event;
    let known = navigo_projections::known_events(events, q.known_at);
    let stream = navigo_events_schema::StreamId::contract(contract);
    let (mut collected, mut returned) = (Money::ZERO, Money::ZERO);
    for e in navigo_projections::effective_by(&known, q.at) {
        if e.stream != stream {
            continue;
        }
        match &e.event {
            Event::FirstPaymentCollected(p) => collected += p.amount + p.dossier_fee,
            Event::DebitPresented(p) => collected += p.amount,
            Event::DebitRejected(r) => collected -= r.amount,
            Event::DebtSettled(s) => collected += s.amount,
            Event::CashPaymentReceived(c) => collected += c.amount,
            Event::TreasuryNoticeSettled(n) => collected += n.amount,
            Event::RefundPaid(p) => returned += p.amount,
            _ => {}
        }
    }
    (collected, returned)
}

proptest! {
    // Each case drives a population through a ledger on disk: a few cases.
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// `PAY-DUE-VS-COLLECTED`: for every contract of a generated population,
    /// every product and method, at several dates and as known at an earlier
    /// instant, the rows of the balance add up to its totals (due, collected,
    /// returned), balance = due − collected + returned, and what the rows
    /// collected and returned is what the contract's events say.
    #[test]
    fn pay_due_vs_collected_balance_rows_add_up_to_the_totals_on_generated_populations(
        seed in any::<u64>(),
        day in 0i64..820,
    ) {
        use navigo_events_schema::types::{PaymentSetup, Product};
        let events = generated_population(seed, 40);
        let random = d(2024, 1, 1) + Duration::days(day);
        let queries = [
            Query::on(d(2024, 9, 30)),
            Query::on(d(2025, 6, 30)),
            Query::on(d(2025, 12, 15)),
            Query::on(d(2026, 3, 1)),
            Query::on(random),
            Query { at: d(2026, 3, 1), known_at: Some(at(random)) },
        ];
        let everything = Folded::new(&events, &Query::on(d(2026, 3, 1)));
        let contracts: Vec<_> = everything.known().contracts.values().collect();
        // Every product and method is in the population.
        prop_assert!(contracts.iter().any(|c| c.payments.iter().any(|(_, p)| *p == PaymentSetup::Cash)));
        prop_assert!(contracts.iter().any(|c| c.payments.iter().any(|(_, p)| p.is_direct_debit())));
        prop_assert!(contracts.iter().any(|c| c.product == Product::Senior), "no Senior contract");
        let annual = |c: &&&navigo_rules::contract::state::ContractState| {
            matches!(c.product, Product::Annual { .. })
        };
        prop_assert!(contracts.iter().any(|c| annual(&c)), "no Annual contract");
        for q in &queries {
            let input = Folded::new(&events, q);
            for c in &contracts {
                let Ok(b) = balance::contract_balance(&input, c.id) else {
                    continue;
                };
                let sum = |f: fn(&navigo_events_schema::views::BalanceRow) -> Money| {
                    b.rows.iter().map(f).sum::<Money>()
                };
                let t = &b.totals;
                prop_assert_eq!(sum(|r| r.due), t.due, "{} on {:?}: {:?}", c.id, q, b.rows);
                prop_assert_eq!(sum(|r| r.collected), t.collected, "{} on {:?}", c.id, q);
                prop_assert_eq!(sum(|r| r.returned), t.returned, "{} on {:?}", c.id, q);
                prop_assert_eq!(t.balance, t.due - t.collected + t.returned);
                let (collected, returned) = collected_and_returned(&events, c.id, q);
                prop_assert_eq!((t.collected, t.returned), (collected, returned), "{} on {:?}", c.id, q);
            }
        }
    }
}
