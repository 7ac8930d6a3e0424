//! `TERM-RETENTION` over a population (`navigo_rules::retention`): who is due
//! for erasure on a day, and the cases RULES.md leaves open, each named
//! `term_retention_<case>` after the module's decisions.

use chrono::NaiveDate;
use navigo_events_schema::command::{ContractRef, Subscribe, Suspend};
use navigo_events_schema::event::{RefundMethod, RefundReason};
use navigo_events_schema::types::{Channel, Support};
use navigo_events_schema::{Command, CommandEnvelope, Money};
use navigo_rules::contract::state::{ContractState, Refund};
use navigo_rules::retention::{already_erased, Kept, RetentionPolicy, RetentionRun, Standing};
use navigo_rules::world::{PersonState, World};
use navigo_testkit::*;

const AGENCY: Option<Channel> = Some(Channel::Agency);

/// Reference data, persons 1 and 2 (registered 2011-01-02, address held since
/// 2000), and contract 1 of holder 1 paid by `payer`, subscribed 2026-07-12.
fn subscribed(payer: u128) -> Scenario {
    Scenario::new().given([
        tariff_990(),
        reason_codes(),
        register(1, d(1980, 1, 1)),
        register(2, d(1981, 1, 1)),
        cmd(
            d(2026, 7, 12),
            AGENCY,
            Command::Subscribe(Subscribe {
                contract_id: cid(1),
                holder: pid(1),
                payer: pid(payer),
                product: annual_1_5(),
                start_date: d(2026, 7, 12),
                payment: debit(1, 1),
                third_party_payer: false,
                senior_declaration: None,
                support: Support::Pass,
                first_payment_means: None,
            }),
        ),
    ])
}

fn terminate(date: NaiveDate) -> CommandEnvelope {
    cmd(
        date,
        AGENCY,
        Command::TerminateByPayer(ContractRef {
            contract_id: cid(1),
        }),
    )
}

/// Contract 1 terminated by its payer on 2026-11-10 (its end).
fn terminated(payer: u128) -> Scenario {
    subscribed(payer).given([terminate(d(2026, 11, 10))])
}

/// A run on `today` over every state of `world`, nobody erased.
fn run_over(world: &World, today: NaiveDate) -> RetentionRun {
    let mut run = RetentionRun::new(RetentionPolicy::TERM_RETENTION, today);
    for c in world.contracts.values() {
        run.add_contract(c);
    }
    for p in world.persons.values() {
        add_person(&mut run, p);
    }
    run
}

/// Adds a person as the command does: erased or not by the one predicate.
fn add_person(run: &mut RetentionRun, p: &PersonState) {
    run.add_person(p, already_erased(p));
}

fn standing(world: &World, today: NaiveDate, person: u128) -> Standing {
    run_over(world, today)
        .standing(pid(person))
        .expect("a registered person")
}

fn contract(s: &Scenario) -> ContractState {
    s.world.contract(cid(1)).expect("contract 1").clone()
}

#[test]
fn term_retention_due_on_the_5th_anniversary_of_the_last_contracts_end_not_a_day_before() {
    let s = terminated(1);
    let end = d(2026, 11, 10);
    assert_eq!(contract(&s).termination.as_ref().map(|t| t.0), Some(end));
    assert_eq!(
        standing(&s.world, d(2031, 11, 9), 1),
        Standing::Kept(Kept::Until(d(2031, 11, 10)))
    );
    let Standing::Due(due) = standing(&s.world, d(2031, 11, 10), 1) else {
        panic!("person 1 is due on 2031-11-10");
    };
    assert_eq!(due.person, pid(1));
    assert_eq!(due.client_number.as_str(), "C00000001");
    assert_eq!(due.last_contract, Some(cid(1)));
    assert_eq!(due.last_contract_end, Some(end));
    assert_eq!(
        (due.relationship_end, due.ran_out_on),
        (end, d(2031, 11, 10))
    );
    let run = run_over(&s.world, d(2031, 11, 10));
    assert_eq!(
        run.due().iter().map(|d| d.person).collect::<Vec<_>>(),
        vec![pid(1), pid(2)],
        "person 2, registered only in 2011, is long due too"
    );
}

#[test]
fn term_retention_agrees_with_the_state_views_archive_date() {
    use navigo_rules::contract::ended::{retention, Retention};
    let s = terminated(1);
    let c = contract(&s);
    let Retention::ArchiveFrom(from) = retention([&c]) else {
        panic!("terminated");
    };
    assert_eq!(
        RetentionPolicy::TERM_RETENTION.runs_out(d(2026, 11, 10)),
        from
    );
}

#[test]
fn term_retention_a_contract_active_or_suspended_keeps_the_person_whatever_the_date() {
    let s = subscribed(1);
    assert_eq!(
        standing(&s.world, d(2090, 1, 1), 1),
        Standing::Kept(Kept::ContractInForce(cid(1)))
    );
    let s = s.given([cmd(
        d(2026, 9, 3),
        AGENCY,
        Command::Suspend(Suspend {
            contract_id: cid(1),
            effective_date: None,
            planned_resumption: None,
        }),
    )]);
    assert_eq!(
        standing(&s.world, d(2090, 1, 1), 1),
        Standing::Kept(Kept::ContractInForce(cid(1)))
    );
}

#[test]
fn term_retention_a_person_registered_only_is_kept_5_years_from_the_day_they_registered() {
    // Person 2 registered on 2011-01-02 with an address held since 2000: the
    // relationship began (and, without a contract, ended) on the day the
    // ledger recorded the registration, not on the address's date.
    let s = subscribed(1);
    assert_eq!(
        standing(&s.world, d(2016, 1, 1), 2),
        Standing::Kept(Kept::Until(d(2016, 1, 2)))
    );
    let Standing::Due(due) = standing(&s.world, d(2016, 1, 2), 2) else {
        panic!("due");
    };
    assert_eq!((due.last_contract, due.last_contract_end), (None, None));
    assert_eq!(due.relationship_end, d(2011, 1, 2));
}

#[test]
fn term_retention_a_payer_only_follows_the_contract_they_pay() {
    let s = subscribed(2);
    assert_eq!(
        standing(&s.world, d(2090, 1, 1), 2),
        Standing::Kept(Kept::ContractInForce(cid(1)))
    );
    let s = s.given([terminate(d(2026, 11, 10))]);
    assert_eq!(
        standing(&s.world, d(2031, 11, 9), 2),
        Standing::Kept(Kept::Until(d(2031, 11, 10)))
    );
    assert!(matches!(
        standing(&s.world, d(2031, 11, 10), 2),
        Standing::Due(_)
    ));
}

#[test]
fn term_retention_a_debt_or_an_unpaid_refund_keeps_every_party_of_the_contract() {
    // The fold of a terminated contract whose payer still owes, and one whose
    // refund is still to be paid: the account is open, so neither the holder
    // nor the payer is due, however late.
    let s = terminated(2);
    let mut owing = contract(&s);
    owing.money.due += Money::from_cents(4_000);
    let mut owed = contract(&s);
    owed.refunds.insert(
        cid(99),
        Refund {
            amount: Money::from_cents(1_500),
            reason: RefundReason::Credit,
            date: d(2026, 11, 10),
            due_by: d(2026, 12, 10),
            method: RefundMethod::BankTransfer,
            beneficiary: pid(2),
            paid: false,
        },
    );
    for c in [owing, owed] {
        let mut run = RetentionRun::new(RetentionPolicy::TERM_RETENTION, d(2090, 1, 1));
        run.add_contract(&c);
        for p in s.world.persons.values() {
            add_person(&mut run, p);
        }
        for person in [1, 2] {
            assert_eq!(
                run.standing(pid(person)),
                Some(Standing::Kept(Kept::AccountOpen(cid(1)))),
                "person {person}"
            );
        }
    }
}

#[test]
fn term_retention_fraud_accomplices_are_kept_with_the_contract_that_names_them() {
    let s = terminated(1);
    let mut c = contract(&s);
    c.fraud = Some((pid(1), vec![pid(2)]));
    let mut run = RetentionRun::new(RetentionPolicy::TERM_RETENTION, d(2031, 11, 9));
    run.add_contract(&c);
    for p in s.world.persons.values() {
        add_person(&mut run, p);
    }
    assert_eq!(
        run.standing(pid(2)),
        Some(Standing::Kept(Kept::Until(d(2031, 11, 10))))
    );
}

#[test]
fn term_retention_an_end_on_a_leap_day_runs_out_on_28_february_5_years_later() {
    let policy = RetentionPolicy::TERM_RETENTION;
    assert_eq!(policy.years_after_last_contract_end, 5);
    assert_eq!(policy.runs_out(d(2024, 2, 29)), d(2029, 2, 28));
    assert_eq!(policy.runs_out(d(2028, 2, 29)), d(2033, 2, 28));
    assert_eq!(policy.runs_out(d(2025, 3, 1)), d(2030, 3, 1));
    // Through a run: a contract whose end is a leap day.
    let s = terminated(1);
    let mut c = contract(&s);
    c.termination.as_mut().expect("terminated").0 = d(2028, 2, 29);
    c.last_event_date = d(2028, 2, 29);
    let mut run = RetentionRun::new(policy, d(2033, 2, 28));
    run.add_contract(&c);
    add_person(&mut run, s.world.person(pid(1)).expect("person 1"));
    let Some(Standing::Due(due)) = run.standing(pid(1)) else {
        panic!("due on 2033-02-28");
    };
    assert_eq!(due.ran_out_on, d(2033, 2, 28));
}

#[test]
fn term_retention_a_later_event_on_the_contract_or_the_person_moves_the_end() {
    let s = terminated(1);
    let mut c = contract(&s);
    c.last_event_date = d(2027, 3, 1);
    let mut run = RetentionRun::new(RetentionPolicy::TERM_RETENTION, d(2032, 2, 28));
    run.add_contract(&c);
    let mut p = s.world.person(pid(1)).expect("person 1").clone();
    add_person(&mut run, &p);
    assert_eq!(
        run.standing(pid(1)),
        Some(Standing::Kept(Kept::Until(d(2032, 3, 1))))
    );
    p.last_event_date = d(2028, 6, 1);
    add_person(&mut run, &p);
    assert_eq!(
        run.standing(pid(1)),
        Some(Standing::Kept(Kept::Until(d(2033, 6, 1))))
    );
}

#[test]
fn term_retention_an_erased_person_is_never_due_again() {
    let s = terminated(1);
    let mut run = run_over(&s.world, d(2040, 1, 1));
    run.add_person(s.world.person(pid(1)).expect("person 1"), true);
    assert_eq!(run.standing(pid(1)), Some(Standing::Erased));
    assert!(run.due().iter().all(|d| d.person != pid(1)));
    // A party no person state was given for has nothing to erase.
    assert_eq!(run.standing(pid(77)), None);
}
