//! The life of a contract after its subscription: suspension and resumption
//! (`SUSP-*`), zone change (`ZONE-*`), loss and theft (`LOSS-*`,
//! `TAR-REPLACEMENT-FEE`), termination (`TERM-*`), Senior switch (`SENIOR-SWITCH`,
//! `PAY-CUTOFF`), fraud and Trésor Public notices (`BAN-*`), corrections, and worked
//! examples 4 and 5 of RULES.md. Each test is named after the rule it proves and
//! reads given / when / then.

use chrono::NaiveDate;
use navigo_events_schema::command::{
    AnnulEvent, ChangeZones, ContractRef, DeclareLoss, EstablishFraud, RequestSeniorSwitch, Resume,
    SettleTreasuryNotice, Subscribe, Suspend, TerminateByAgency, TreasuryNoticeRef,
};
use navigo_events_schema::event::{
    ChargeKind, FeeKind, FraudKind, LossKind, RefundReason, SuspensionCause, TerminationReason,
    ZoneDirection,
};
use navigo_events_schema::types::{ActivityDeclaration, Channel, PaymentRequest, Product, Support};
use navigo_events_schema::{Command, CommandEnvelope, Event, Money, RuleId, StreamId, YearMonth};
use navigo_rules::contract::ended::{attestation_available, retention, Retention};
use navigo_rules::contract::state::{ContractState, Status};
use navigo_rules::policy::Policy;
use navigo_testkit::*;

const AGENCY: Channel = Channel::Agency;
const ONLINE: Channel = Channel::Online;

fn ym(y: i32, m: u32) -> YearMonth {
    YearMonth::new(y, m).expect("valid month")
}

fn eur(cents: i64) -> Money {
    Money::from_cents(cents)
}

fn on(date: NaiveDate, channel: Channel, command: Command) -> CommandEnvelope {
    cmd(date, Some(channel), command)
}

/// Reference data and person 1, born 1980.
fn base() -> Scenario {
    Scenario::new().given([tariff_990(), reason_codes(), register(1, d(1980, 1, 1))])
}

/// Contract 1: Annual 1-5 of person 1, subscribed at an agency on 2026-07-12
/// (worked example 1), paid by direct debit on day 1.
fn subscribed() -> Scenario {
    base().given([subscribe(
        d(2026, 7, 12),
        AGENCY,
        1,
        1,
        annual_1_5(),
        d(2026, 7, 12),
        debit(1, 1),
    )])
}

/// Contract 1 on zones 4-5, otherwise as [`subscribed`].
fn subscribed_4_5() -> Scenario {
    base().given([subscribe(
        d(2026, 7, 12),
        AGENCY,
        1,
        1,
        Product::Annual {
            zones: zones("4-5"),
        },
        d(2026, 7, 12),
        debit(1, 1),
    )])
}

/// Contract 1 subscribed at an agency on 2020-03-10, under CGU-2011.
fn subscribed_2011() -> Scenario {
    base().given([subscribe(
        d(2020, 3, 10),
        AGENCY,
        1,
        1,
        annual_1_5(),
        d(2020, 3, 10),
        debit(1, 1),
    )])
}

/// Contract 1: Senior contract of person 1 born 1950, subscribed at an agency.
fn senior_contract() -> Scenario {
    let mut c = subscribe(
        d(2026, 7, 12),
        AGENCY,
        1,
        1,
        Product::Senior,
        d(2026, 7, 12),
        debit(1, 1),
    );
    if let Command::Subscribe(Subscribe {
        senior_declaration, ..
    }) = &mut c.command
    {
        *senior_declaration = Some(ActivityDeclaration::NoActivity);
    }
    Scenario::new().given([tariff_990(), reason_codes(), register(1, d(1950, 1, 1)), c])
}

fn suspend(
    date: NaiveDate,
    channel: Channel,
    effective: Option<NaiveDate>,
    planned: Option<NaiveDate>,
) -> CommandEnvelope {
    on(
        date,
        channel,
        Command::Suspend(Suspend {
            contract_id: cid(1),
            effective_date: effective,
            planned_resumption: planned,
        }),
    )
}

fn resume(date: NaiveDate, channel: Channel, effective: Option<NaiveDate>) -> CommandEnvelope {
    on(
        date,
        channel,
        Command::Resume(Resume {
            contract_id: cid(1),
            effective_date: effective,
            payment: None,
        }),
    )
}

fn change_zones(
    date: NaiveDate,
    channel: Channel,
    to: &str,
    effective: Option<NaiveDate>,
) -> CommandEnvelope {
    on(
        date,
        channel,
        Command::ChangeZones(ChangeZones {
            contract_id: cid(1),
            zones: zones(to),
            effective_date: effective,
        }),
    )
}

fn loss(date: NaiveDate, support: Support) -> CommandEnvelope {
    on(
        date,
        AGENCY,
        Command::DeclareLoss(DeclareLoss {
            contract_id: cid(1),
            kind: LossKind::Loss,
            support,
            replacement_support: None,
        }),
    )
}

fn terminate_by_payer(date: NaiveDate, channel: Channel) -> CommandEnvelope {
    on(
        date,
        channel,
        Command::TerminateByPayer(ContractRef {
            contract_id: cid(1),
        }),
    )
}

fn terminate_by_agency(
    date: NaiveDate,
    reason: TerminationReason,
    effective: Option<NaiveDate>,
) -> CommandEnvelope {
    on(
        date,
        AGENCY,
        Command::TerminateByAgency(TerminateByAgency {
            contract_id: cid(1),
            reason,
            effective_date: effective,
        }),
    )
}

fn request_senior(date: NaiveDate, declaration: ActivityDeclaration) -> CommandEnvelope {
    on(
        date,
        ONLINE,
        Command::RequestSeniorSwitch(RequestSeniorSwitch {
            contract_id: cid(1),
            declaration,
            age_proof_ref: "ID-123".into(),
        }),
    )
}

fn validate_senior(date: NaiveDate) -> CommandEnvelope {
    cmd(
        date,
        None,
        Command::ValidateSeniorSwitch(ContractRef {
            contract_id: cid(1),
        }),
    )
}

fn contract(s: &Scenario) -> &ContractState {
    s.world.contract(cid(1)).expect("contract 1 exists")
}

fn only<T: Clone>(events: &[Event], pick: impl Fn(&Event) -> Option<T>) -> T {
    let found: Vec<T> = events.iter().filter_map(pick).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one such event in {events:?}"
    );
    found[0].clone()
}

fn suspended(events: &[Event]) -> navigo_events_schema::event::ContractSuspended {
    only(events, |e| match e {
        Event::ContractSuspended(s) => Some(s.clone()),
        _ => None,
    })
}

fn terminated(events: &[Event]) -> navigo_events_schema::event::ContractTerminated {
    only(events, |e| match e {
        Event::ContractTerminated(t) => Some(t.clone()),
        _ => None,
    })
}

/// The effective date of the last event of contract 1.
fn last_effective(s: &Scenario) -> NaiveDate {
    s.contract_events(cid(1))
        .last()
        .expect("an event")
        .effective_date
}

/// The debits presented on contract 1: (month, amount, lines).
fn debits(s: &Scenario) -> Vec<(YearMonth, Money, Vec<ChargeKind>)> {
    s.contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::DebitPresented(p) => {
                Some((p.month, p.amount, p.lines.iter().map(|l| l.kind).collect()))
            }
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// SUSP-ANYTIME

#[test]
fn susp_anytime_agency_suspension_takes_effect_on_the_request_date() {
    let s = subscribed()
        .when(suspend(d(2026, 11, 10), AGENCY, None, None))
        .then_expect(|ev| {
            let s = suspended(ev);
            assert_eq!(s.cause, SuspensionCause::Request);
            assert_eq!(s.billing_stops_from, ym(2026, 12));
        });
    assert_eq!(last_effective(&s), d(2026, 11, 10));
    assert!(matches!(
        contract(&s).current_status(),
        Status::Suspended { .. }
    ));
}

#[test]
fn susp_anytime_remote_suspension_takes_effect_48_hours_after_the_request() {
    let s = subscribed()
        .when(suspend(d(2026, 11, 10), ONLINE, None, None))
        .then_expect(|ev| {
            suspended(ev);
        });
    // Requested at 10:00 on the 10th: the 12th's 00:00 is only 38 h later, so the
    // first Paris date whose 00:00 is 48 h on is the 13th (calendar.rs reading).
    assert_eq!(last_effective(&s), d(2026, 11, 13));
}

#[test]
fn susp_anytime_remote_suspension_earlier_than_48_hours_is_refused() {
    let r = subscribed()
        .when(suspend(
            d(2026, 11, 10),
            ONLINE,
            Some(d(2026, 11, 12)),
            None,
        ))
        .then_refused(RuleId::SuspAnytime);
    assert!(r.message.contains("2026-11-13"), "{}", r.message);
    assert_eq!(r.article, "CGVU-2026 §10.1");
}

#[test]
fn susp_anytime_suspension_of_a_suspended_contract_is_refused() {
    subscribed()
        .given([suspend(d(2026, 11, 10), AGENCY, None, None)])
        .when(suspend(d(2026, 11, 20), AGENCY, None, None))
        .then_refused(RuleId::SuspAnytime);
}

#[test]
fn susp_anytime_cgu_2011_suspension_is_at_an_agency_from_the_1st_of_next_month() {
    // CGU-2011 §6.1, §6.3: a remote request is refused...
    let r = subscribed_2011()
        .when(suspend(d(2020, 11, 10), Channel::Mail, None, None))
        .then_refused(RuleId::SuspAnytime);
    assert_eq!(r.article, "CGU-2011 §6.1");
    // ...a mid-month date too...
    subscribed_2011()
        .when(suspend(
            d(2020, 11, 10),
            AGENCY,
            Some(d(2020, 11, 20)),
            None,
        ))
        .then_refused(RuleId::SuspAnytime);
    // ...and an agency request takes effect on the 1st of the next month.
    let s = subscribed_2011()
        .when(suspend(d(2020, 11, 10), AGENCY, None, None))
        .then_expect(|ev| {
            assert_eq!(suspended(ev).billing_stops_from, ym(2020, 12));
        });
    assert_eq!(last_effective(&s), d(2020, 12, 1));
}

// ---------------------------------------------------------------------------
// SUSP-MONTH-DUE and worked example 4

#[test]
fn susp_month_due_worked_example_4_before_the_15th_november_due_no_december_debit() {
    let s = subscribed()
        .when(suspend(
            d(2026, 11, 10),
            ONLINE,
            Some(d(2026, 11, 20)),
            None,
        ))
        .then_expect(|ev| assert_eq!(suspended(ev).billing_stops_from, ym(2026, 12)))
        .advance(d(2027, 1, 31));
    let months: Vec<YearMonth> = debits(&s).iter().map(|(m, _, _)| *m).collect();
    assert!(
        months.contains(&ym(2026, 11)),
        "November is debited: {months:?}"
    );
    assert!(
        !months.contains(&ym(2026, 12)),
        "no December debit: {months:?}"
    );
    assert!(
        !months.contains(&ym(2027, 1)),
        "no January debit: {months:?}"
    );
    let c = contract(&s);
    assert_eq!(
        c.money.months.get(&ym(2026, 11)).map(|m| m.due),
        Some(eur(9000)),
        "November is due in full"
    );
    assert!(c.money.balance().is_zero(), "balance {}", c.money.balance());
}

#[test]
fn susp_month_due_worked_example_4_after_the_15th_december_debit_taken_and_refunded() {
    let s = subscribed()
        .when(suspend(
            d(2026, 11, 16),
            ONLINE,
            Some(d(2026, 11, 20)),
            None,
        ))
        .then_expect(|ev| assert_eq!(suspended(ev).billing_stops_from, ym(2027, 1)))
        .advance(d(2027, 1, 31));
    let dec: Vec<_> = debits(&s)
        .into_iter()
        .filter(|(m, _, _)| *m == ym(2026, 12))
        .collect();
    assert_eq!(dec.len(), 1, "the prepared December debit is taken");
    assert_eq!(dec[0].1, eur(9000));
    let refunds: Vec<_> = s
        .contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::RefundDue(r) => Some((e.effective_date, r.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(refunds.len(), 1, "one refund: {refunds:?}");
    let (date, r) = &refunds[0];
    assert_eq!(r.amount, eur(9000));
    assert!(r.due_by <= *date + chrono::Duration::days(30));
    assert_eq!(r.reason, RefundReason::DebitAfterCutoff);
}

#[test]
fn susp_month_due_a_suspension_from_the_1st_says_the_month_is_not_due_and_its_prepared_debit_refunded(
) {
    // Given a contract debited on the 1st, when it is suspended online on 28
    // November (after the cutoff), taking effect 48 hours on, on 1 December,
    let s = subscribed()
        .advance(d(2026, 11, 27))
        .when(suspend(d(2026, 11, 28), ONLINE, None, None))
        .then_expect(|ev| {
            // then the event says that December is not due, that its debit, already
            // prepared, is refunded, and that debits stop from January.
            let s = suspended(ev);
            assert_eq!(s.not_due_from, ym(2026, 12));
            assert_eq!(s.prepared_debits_refunded, vec![ym(2026, 12)]);
            assert_eq!(s.billing_stops_from, ym(2027, 1));
        });
    assert_eq!(last_effective(&s), d(2026, 12, 1));
    // And that is what happens: the December debit is taken with nothing due and
    // refunded in full within 30 days (PAY-REFUND-30D); nothing is due after
    // November.
    let s = s.advance(d(2027, 1, 31));
    let c = contract(&s);
    let dec = c.debits.get(&ym(2026, 12)).expect("the December debit");
    assert_eq!((dec.amount, dec.due), (eur(9000), Money::ZERO));
    let refunded: Vec<_> = c
        .refunds
        .values()
        .map(|r| (r.date, r.amount, r.reason))
        .collect();
    assert_eq!(
        refunded,
        vec![(d(2026, 12, 1), eur(9000), RefundReason::DebitAfterCutoff)]
    );
    assert!(c
        .money
        .months
        .range(ym(2026, 12)..)
        .all(|(_, m)| m.due.is_zero()));
    assert!(!c.debits.contains_key(&ym(2027, 1)));
    // Requested before the cutoff, the same suspension stops the debits with the
    // month not due, and nothing is refunded.
    subscribed()
        .advance(d(2026, 11, 9))
        .when(suspend(d(2026, 11, 10), ONLINE, Some(d(2026, 12, 1)), None))
        .then_expect(|ev| {
            let s = suspended(ev);
            assert_eq!(
                (s.not_due_from, s.billing_stops_from),
                (ym(2026, 12), ym(2026, 12))
            );
            assert!(s.prepared_debits_refunded.is_empty());
        });
    // From the 20th (worked example 4, requested on the 16th), November is due and
    // December's prepared debit is refunded.
    subscribed()
        .when(suspend(
            d(2026, 11, 16),
            ONLINE,
            Some(d(2026, 11, 20)),
            None,
        ))
        .then_expect(|ev| {
            let s = suspended(ev);
            assert_eq!(s.not_due_from, ym(2026, 12));
            assert_eq!(s.prepared_debits_refunded, vec![ym(2026, 12)]);
        });
}

// ---------------------------------------------------------------------------
// SUSP-RESUME

#[test]
fn susp_resume_restarts_billing_and_the_free_month_cycle_without_dossier_fee() {
    subscribed()
        .given([suspend(d(2026, 11, 10), AGENCY, None, None)])
        .when(resume(d(2027, 2, 10), AGENCY, None))
        .then_expect(|ev| {
            let r = only(ev, |e| match e {
                Event::ContractResumed(r) => Some(r.clone()),
                _ => None,
            });
            assert_eq!(r.rulebook, "CGVU-2026");
            // 2027-02-10 leaves 19 days: the cycle's free month is M+12.
            assert_eq!(r.remaining_days, 19);
            assert_eq!(r.first_free_month, Some(ym(2028, 2)));
            // Registered before the 15th: billing restarts with March's debit.
            assert_eq!(r.billing_from, ym(2027, 3));
            assert!(
                !ev.iter().any(|e| matches!(e, Event::FeeCharged(_))),
                "no dossier fee at resumption"
            );
        });
}

#[test]
fn susp_resume_with_a_planned_resumption_within_12_months_is_accepted() {
    let s = subscribed()
        .when(suspend(d(2026, 11, 10), AGENCY, None, Some(d(2027, 3, 1))))
        .then_expect(|ev| {
            assert_eq!(suspended(ev).planned_resumption, Some(d(2027, 3, 1)));
        });
    assert_eq!(contract(&s).planned_resumption, Some(d(2027, 3, 1)));
}

#[test]
fn susp_resume_planned_resumption_at_12_months_is_refused() {
    subscribed()
        .when(suspend(
            d(2026, 11, 10),
            AGENCY,
            None,
            Some(d(2027, 11, 10)),
        ))
        .then_refused(RuleId::SuspResume);
}

#[test]
fn susp_resume_of_a_contract_not_suspended_is_refused() {
    subscribed()
        .when(resume(d(2026, 11, 10), AGENCY, None))
        .then_refused(RuleId::SuspResume);
}

#[test]
fn susp_resume_remote_resumption_takes_effect_48_hours_after_the_request() {
    let s = subscribed()
        .given([suspend(d(2026, 11, 10), AGENCY, None, None)])
        .when(resume(d(2027, 1, 20), ONLINE, None))
        .then_expect(|ev| {
            let r = only(ev, |e| match e {
                Event::ContractResumed(r) => Some(r.clone()),
                _ => None,
            });
            // Registered on the 20th, after the cutoff: debits restart in March.
            assert_eq!(r.billing_from, ym(2027, 3));
        });
    assert_eq!(last_effective(&s), d(2027, 1, 23));
}

#[test]
fn susp_resume_switch_to_cash_online_is_refused() {
    let mut c = resume(d(2027, 1, 20), ONLINE, None);
    if let Command::Resume(r) = &mut c.command {
        r.payment = Some(PaymentRequest::Cash);
    }
    subscribed()
        .given([suspend(d(2026, 11, 10), AGENCY, None, None)])
        .when(c)
        .then_refused(RuleId::PaySwitchToCash);
}

// ---------------------------------------------------------------------------
// SUSP-MAX-12M

#[test]
fn susp_max_12m_resumption_twelve_months_after_the_suspension_is_refused() {
    let given = subscribed().given([suspend(d(2026, 11, 10), AGENCY, None, None)]);
    given
        .clone()
        .when(resume(d(2027, 11, 10), AGENCY, None))
        .then_refused(RuleId::SuspMax12m);
    given
        .when(resume(d(2027, 11, 9), AGENCY, None))
        .then_expect(|ev| {
            assert!(ev.iter().any(|e| matches!(e, Event::ContractResumed(_))));
        });
}

#[test]
fn susp_max_12m_agency_terminates_at_twelve_months_not_before() {
    let given = subscribed().given([suspend(d(2026, 11, 10), AGENCY, None, None)]);
    given
        .clone()
        .when(terminate_by_agency(
            d(2027, 11, 9),
            TerminationReason::SuspensionOver12Months,
            None,
        ))
        .then_refused(RuleId::SuspMax12m);
    given
        .when(terminate_by_agency(
            d(2027, 11, 10),
            TerminationReason::SuspensionOver12Months,
            None,
        ))
        .then_expect(|ev| {
            assert_eq!(
                terminated(ev).reason,
                TerminationReason::SuspensionOver12Months
            );
        });
}

#[test]
fn susp_max_12m_billing_clock_terminates_a_suspension_of_twelve_months() {
    let s = subscribed()
        .given([suspend(d(2026, 11, 10), AGENCY, None, None)])
        .advance(d(2027, 11, 30));
    let c = contract(&s);
    assert_eq!(
        c.termination.as_ref().map(|t| (t.0, t.1)),
        Some((d(2027, 11, 10), TerminationReason::SuspensionOver12Months))
    );
}

// ---------------------------------------------------------------------------
// SUSP-NOT-WHILE-TERMINATED

#[test]
fn susp_not_while_terminated_refuses_suspension_resumption_zone_change_and_loss() {
    let given = subscribed().given([terminate_by_payer(d(2026, 11, 10), AGENCY)]);
    for c in [
        suspend(d(2026, 12, 10), AGENCY, None, None),
        resume(d(2026, 12, 10), AGENCY, None),
        change_zones(d(2026, 12, 10), AGENCY, "4-5", None),
        loss(d(2026, 12, 10), Support::Pass),
    ] {
        given
            .clone()
            .when(c)
            .then_refused(RuleId::SuspNotWhileTerminated);
    }
}

// ---------------------------------------------------------------------------
// ZONE-*

#[test]
fn zone_senior_change_on_a_senior_contract_is_refused() {
    senior_contract()
        .when(change_zones(d(2026, 11, 10), AGENCY, "4-5", None))
        .then_refused(RuleId::ZoneSenior);
}

#[test]
fn zone_allowed_change_between_current_products_is_accepted() {
    let s = subscribed()
        .when(change_zones(d(2026, 11, 10), AGENCY, "2-3", None))
        .then_expect(|ev| {
            let z = only(ev, |e| match e {
                Event::ZonesChanged(z) => Some(z.clone()),
                _ => None,
            });
            assert_eq!(z.from, zones("1-5"));
            assert_eq!(z.to, zones("2-3"));
        });
    assert_eq!(
        contract(&s).product,
        Product::Annual {
            zones: zones("2-3")
        }
    );
}

#[test]
fn zone_allowed_refused_while_suspended_to_the_same_zones_or_to_a_range_not_sold() {
    subscribed()
        .given([suspend(d(2026, 11, 10), AGENCY, None, None)])
        .when(change_zones(d(2026, 11, 12), AGENCY, "4-5", None))
        .then_refused(RuleId::ZoneAllowed);
    subscribed()
        .when(change_zones(d(2026, 11, 12), AGENCY, "1-5", None))
        .then_refused(RuleId::ZoneAllowed);
    // Zones 1-3 are not in the catalogue.
    subscribed()
        .when(change_zones(d(2026, 11, 12), AGENCY, "1-3", None))
        .then_refused(RuleId::ZoneAllowed);
}

#[test]
fn zone_when_immediate_or_deferred_to_the_1st_of_one_of_the_two_following_months() {
    // Immediate at an agency: the request date.
    let s = subscribed()
        .when(change_zones(d(2026, 11, 10), AGENCY, "4-5", None))
        .then_expect(|_| {});
    assert_eq!(last_effective(&s), d(2026, 11, 10));
    // Deferred to the 1st of M+1 or M+2.
    for eff in [d(2026, 12, 1), d(2027, 1, 1)] {
        let s = subscribed()
            .when(change_zones(d(2026, 11, 10), AGENCY, "4-5", Some(eff)))
            .then_expect(|_| {});
        assert_eq!(last_effective(&s), eff);
    }
    // Not M+3, and not another day at an agency.
    subscribed()
        .when(change_zones(
            d(2026, 11, 10),
            AGENCY,
            "4-5",
            Some(d(2027, 2, 1)),
        ))
        .then_refused(RuleId::ZoneWhen);
    subscribed()
        .when(change_zones(
            d(2026, 11, 10),
            AGENCY,
            "4-5",
            Some(d(2026, 11, 20)),
        ))
        .then_refused(RuleId::ZoneWhen);
}

#[test]
fn zone_when_remote_change_takes_effect_at_the_earliest_48_hours_after_the_request() {
    let s = subscribed()
        .when(change_zones(d(2026, 11, 10), ONLINE, "4-5", None))
        .then_expect(|_| {});
    // Requested at 10:00 on the 10th: the 12th is only 38 h on, the 13th is the
    // first date whose 00:00 is at least 48 h after the request.
    assert_eq!(last_effective(&s), d(2026, 11, 13));
    subscribed()
        .when(change_zones(
            d(2026, 11, 10),
            ONLINE,
            "4-5",
            Some(d(2026, 11, 12)),
        ))
        .then_refused(RuleId::ZoneWhen);
    // A second change while one is scheduled is refused.
    subscribed()
        .given([change_zones(
            d(2026, 11, 10),
            AGENCY,
            "4-5",
            Some(d(2027, 1, 1)),
        )])
        .when(change_zones(d(2026, 11, 12), AGENCY, "2-3", None))
        .then_refused(RuleId::ZoneWhen);
}

#[test]
fn zone_up_costs_the_new_installment_for_the_month_of_the_effective_date() {
    subscribed_4_5()
        .when(change_zones(
            d(2026, 11, 17),
            ONLINE,
            "1-5",
            Some(d(2026, 11, 20)),
        ))
        .then_expect(|ev| {
            let z = only(ev, |e| match e {
                Event::ZonesChanged(z) => Some(z.clone()),
                _ => None,
            });
            assert_eq!(z.direction, ZoneDirection::Up);
            assert_eq!(z.billed_from_month, ym(2026, 11));
        });
}

#[test]
fn zone_down_costs_the_new_installment_from_the_month_after_the_effective_date() {
    subscribed()
        .when(change_zones(d(2026, 11, 20), AGENCY, "4-5", None))
        .then_expect(|ev| {
            let z = only(ev, |e| match e {
                Event::ZonesChanged(z) => Some(z.clone()),
                _ => None,
            });
            assert_eq!(z.direction, ZoneDirection::Down);
            assert_eq!(z.billed_from_month, ym(2026, 12));
        });
}

#[test]
fn zone_up_worked_example_5_november_costs_the_1_5_installment_collected_with_the_next_debit() {
    // 4-5 costs 80.00 € a month, 1-5 90.00 €. November's debit (80.00) is taken on
    // 2026-11-01, before the change effective 2026-11-20, registered online on
    // 2026-11-10: before the cutoff, so it reaches the December debit (PAY-CUTOFF;
    // registered on the 15th or later it would reach January's, see
    // `tests/pay_cutoff.rs`).
    let s = subscribed_4_5()
        .advance(d(2026, 11, 1))
        .given([change_zones(
            d(2026, 11, 10),
            ONLINE,
            "1-5",
            Some(d(2026, 11, 20)),
        )])
        .advance(d(2026, 12, 31));
    let all = debits(&s);
    let nov = all
        .iter()
        .find(|(m, _, _)| *m == ym(2026, 11))
        .expect("November debit");
    assert_eq!(nov.1, eur(8000));
    let dec = all
        .iter()
        .find(|(m, _, _)| *m == ym(2026, 12))
        .expect("December debit");
    assert_eq!(
        dec.1,
        eur(9000 + 1000),
        "December carries the 1-5 installment and November's difference: {dec:?}"
    );
    assert!(dec.2.contains(&ChargeKind::ZoneDifference), "{dec:?}");
    let c = contract(&s);
    assert_eq!(
        c.money.months.get(&ym(2026, 11)).map(|m| m.due),
        Some(eur(9000))
    );
    assert!(c.money.balance().is_zero(), "balance {}", c.money.balance());
}

// ---------------------------------------------------------------------------
// LOSS-*

#[test]
fn loss_free_two_free_replacements_per_period_then_the_replacement_fee() {
    let s = subscribed().given([
        loss(d(2026, 8, 1), Support::Pass),
        loss(d(2026, 9, 1), Support::Pass),
    ]);
    assert!(s
        .log
        .iter()
        .all(|(_, e)| !matches!(e.event, Event::FeeCharged(_))));
    s.when(loss(d(2026, 10, 1), Support::Pass))
        .then_expect(|ev| {
            let l = only(ev, |e| match e {
                Event::LossDeclared(l) => Some(l.clone()),
                _ => None,
            });
            assert_eq!(l.rank_in_period, 3);
            assert_eq!(l.fee, eur(800));
            let f = only(ev, |e| match e {
                Event::FeeCharged(f) => Some(f.clone()),
                _ => None,
            });
            assert_eq!(f.kind, FeeKind::Replacement);
            assert_eq!(f.amount, eur(800));
        });
}

#[test]
fn loss_free_period_restarts_at_the_resumption() {
    subscribed()
        .given([
            loss(d(2026, 8, 1), Support::Pass),
            loss(d(2026, 9, 1), Support::Pass),
            suspend(d(2026, 9, 10), AGENCY, None, None),
            resume(d(2026, 10, 10), AGENCY, None),
        ])
        .when(loss(d(2026, 10, 20), Support::Pass))
        .then_expect(|ev| {
            let l = only(ev, |e| match e {
                Event::LossDeclared(l) => Some(l.clone()),
                _ => None,
            });
            assert_eq!(l.rank_in_period, 1);
            assert!(l.fee.is_zero());
        });
}

#[test]
fn tar_replacement_fee_is_the_policy_amount() {
    let policy = Policy {
        replacement_fee: eur(1500),
        ..Policy::default()
    };
    Scenario::new()
        .with_policy(policy)
        .given([tariff_990(), reason_codes(), register(1, d(1980, 1, 1))])
        .given([
            subscribe(
                d(2026, 7, 12),
                AGENCY,
                1,
                1,
                annual_1_5(),
                d(2026, 7, 12),
                debit(1, 1),
            ),
            loss(d(2026, 8, 1), Support::Pass),
            loss(d(2026, 9, 1), Support::Pass),
        ])
        .when(loss(d(2026, 10, 1), Support::Pass))
        .then_expect(|ev| {
            assert!(ev
                .iter()
                .any(|e| matches!(e, Event::FeeCharged(f) if f.amount == eur(1500))));
        });
}

#[test]
fn loss_termination_a_fourth_loss_in_twelve_months_terminates_the_contract() {
    let given = subscribed().given([
        loss(d(2026, 8, 1), Support::Pass),
        loss(d(2026, 9, 1), Support::Pass),
        loss(d(2026, 10, 1), Support::Pass),
    ]);
    let s = given
        .clone()
        .when(loss(d(2026, 11, 1), Support::Pass))
        .then_expect(|ev| {
            let t = terminated(ev);
            assert_eq!(t.reason, TerminationReason::LossLimit);
            // No replacement is issued, so no fee for this one.
            assert!(!ev.iter().any(|e| matches!(e, Event::FeeCharged(_))));
        });
    assert!(contract(&s).is_terminated());
    // On 2027-08-01 the first loss has left the window (2026-08-01, 2027-08-01]:
    // a loss that day is only the third of the window and does not terminate.
    let s = given
        .when(loss(d(2027, 8, 1), Support::Pass))
        .then_expect(|ev| {
            assert!(!ev.iter().any(|e| matches!(e, Event::ContractTerminated(_))));
        });
    assert!(!contract(&s).is_terminated());
}

#[test]
fn loss_termination_under_cgu_2011_a_third_loss_in_the_year_terminates() {
    subscribed_2011()
        .given([
            loss(d(2020, 4, 1), Support::Pass),
            loss(d(2020, 5, 1), Support::Pass),
        ])
        .when(loss(d(2020, 6, 1), Support::Pass))
        .then_expect(|ev| {
            assert_eq!(terminated(ev).reason, TerminationReason::LossLimit);
        });
}

#[test]
fn loss_opposition_the_old_support_is_opposed_at_once_and_replaced() {
    let mut c = loss(d(2026, 8, 1), Support::Pass);
    if let Command::DeclareLoss(l) = &mut c.command {
        l.replacement_support = Some(Support::Phone);
    }
    let s = subscribed().when(c).then_expect(|ev| {
        let l = only(ev, |e| match e {
            Event::LossDeclared(l) => Some(l.clone()),
            _ => None,
        });
        assert_eq!(l.support, Support::Pass);
        assert_eq!(l.replacement_support, Support::Phone);
    });
    assert_eq!(
        last_effective(&s),
        d(2026, 8, 1),
        "opposed on the declaration day"
    );
    assert_eq!(contract(&s).support, Support::Phone);
}

#[test]
fn loss_support_only_the_active_support_can_be_declared_lost() {
    subscribed()
        .when(loss(d(2026, 8, 1), Support::Watch))
        .then_refused(RuleId::LossSupport);
    subscribed()
        .when(loss(d(2026, 8, 1), Support::Pass))
        .then_expect(|_| {});
}

// ---------------------------------------------------------------------------
// TERM-*

/// Contract 1 with a debt: three losses, the third carrying the 8.00 € fee.
fn in_debt() -> Scenario {
    subscribed().given([
        loss(d(2026, 8, 1), Support::Pass),
        loss(d(2026, 9, 1), Support::Pass),
        loss(d(2026, 10, 1), Support::Pass),
    ])
}

#[test]
fn term_by_payer_terminates_at_the_request_with_the_month_due_and_debits_stopped() {
    let s = subscribed()
        .when(terminate_by_payer(d(2026, 11, 10), ONLINE))
        .then_expect(|ev| {
            let t = terminated(ev);
            assert_eq!(t.reason, TerminationReason::PayerRequest);
            assert_eq!(t.rulebook, "CGVU-2026");
            assert_eq!(t.billing_stops_from, ym(2026, 12));
        });
    assert_eq!(last_effective(&s), d(2026, 11, 10));
    // After the cutoff, the prepared December debit is still taken (PAY-REFUND-30D).
    subscribed()
        .when(terminate_by_payer(d(2026, 11, 20), ONLINE))
        .then_expect(|ev| assert_eq!(terminated(ev).billing_stops_from, ym(2027, 1)));
}

#[test]
fn term_by_payer_is_refused_while_the_contract_carries_a_debt() {
    let r = in_debt()
        .when(terminate_by_payer(d(2026, 11, 10), AGENCY))
        .then_refused(RuleId::TermByPayer);
    assert!(r.message.contains("8.00"), "{}", r.message);
}

#[test]
fn term_by_payer_under_cgu_2011_takes_effect_the_1st_of_the_next_month() {
    let s = subscribed_2011()
        .when(terminate_by_payer(d(2020, 11, 10), AGENCY))
        .then_expect(|ev| {
            let t = terminated(ev);
            assert_eq!(t.rulebook, "CGU-2011");
            assert_eq!(t.billing_stops_from, ym(2020, 12));
        });
    assert_eq!(last_effective(&s), d(2020, 12, 1));
}

#[test]
fn term_by_payer_of_a_terminated_contract_is_refused() {
    subscribed()
        .given([terminate_by_payer(d(2026, 11, 10), AGENCY)])
        .when(terminate_by_payer(d(2026, 11, 12), AGENCY))
        .then_refused(RuleId::TermByPayer);
}

#[test]
fn term_by_agency_accepts_its_reasons_when_their_facts_hold() {
    in_debt()
        .when(terminate_by_agency(
            d(2026, 11, 10),
            TerminationReason::Unpaid,
            None,
        ))
        .then_expect(|ev| assert_eq!(terminated(ev).reason, TerminationReason::Unpaid));
    subscribed()
        .when(terminate_by_agency(
            d(2026, 11, 10),
            TerminationReason::PayerDeceased,
            None,
        ))
        .then_expect(|ev| assert_eq!(terminated(ev).reason, TerminationReason::PayerDeceased));
    subscribed()
        .when(terminate_by_agency(
            d(2026, 11, 10),
            TerminationReason::ServiceWithdrawn,
            None,
        ))
        .then_expect(|ev| {
            assert_eq!(terminated(ev).reason, TerminationReason::ServiceWithdrawn);
        });
    // CGU-2011 §10.2: address unknown.
    subscribed_2011()
        .when(terminate_by_agency(
            d(2020, 11, 10),
            TerminationReason::AddressUnknown,
            None,
        ))
        .then_expect(|ev| assert_eq!(terminated(ev).reason, TerminationReason::AddressUnknown));
}

#[test]
fn term_by_agency_refuses_reasons_whose_facts_do_not_hold() {
    for reason in [
        TerminationReason::Unpaid,
        TerminationReason::PayerRequest,
        TerminationReason::UsageFraud,
        TerminationReason::AddressUnknown,
    ] {
        subscribed()
            .when(terminate_by_agency(d(2026, 11, 10), reason, None))
            .then_refused(RuleId::TermByAgency);
    }
    subscribed()
        .when(terminate_by_agency(
            d(2026, 11, 10),
            TerminationReason::LossLimit,
            None,
        ))
        .then_refused(RuleId::LossTermination);
    subscribed()
        .when(terminate_by_agency(
            d(2026, 11, 10),
            TerminationReason::MandateRevoked,
            None,
        ))
        .then_refused(RuleId::PayPayerChange);
}

#[test]
fn term_attestation_available_to_holder_or_payer_over_16_until_6_months_after_the_end() {
    let s = subscribed().given([terminate_by_payer(d(2026, 11, 10), AGENCY)]);
    let c = contract(&s);
    let born = d(1980, 1, 1);
    assert!(attestation_available(c, pid(1), born, d(2027, 5, 9)).is_ok());
    let r = attestation_available(c, pid(1), born, d(2027, 5, 10)).unwrap_err();
    assert_eq!(r.rule, RuleId::TermAttestation);
    // Not a party to the contract.
    let r = attestation_available(c, pid(9), born, d(2026, 12, 1)).unwrap_err();
    assert_eq!(r.rule, RuleId::TermAttestation);
    // Under 16.
    let r = attestation_available(c, pid(1), d(2011, 1, 1), d(2026, 12, 1)).unwrap_err();
    assert_eq!(r.rule, RuleId::TermAttestation);
    // Active and suspended contracts.
    let s = subscribed().given([suspend(d(2026, 11, 10), AGENCY, None, None)]);
    assert!(attestation_available(contract(&s), pid(1), born, d(2030, 1, 1)).is_ok());
}

#[test]
fn term_retention_data_is_archived_5_years_after_the_end_of_the_last_contract() {
    let s = subscribed();
    assert_eq!(retention([contract(&s)]), Retention::Kept);
    let s = s.given([terminate_by_payer(d(2026, 11, 10), AGENCY)]);
    assert_eq!(
        retention([contract(&s)]),
        Retention::ArchiveFrom(d(2031, 11, 10))
    );
}

// ---------------------------------------------------------------------------
// SENIOR-SWITCH and PAY-CUTOFF

/// Contract 1 of person 1 born 1960 (66 in 2026), Annual 1-5 by direct debit.
fn switchable() -> Scenario {
    Scenario::new().given([
        tariff_990(),
        reason_codes(),
        register(1, d(1960, 1, 1)),
        subscribe(
            d(2026, 7, 12),
            AGENCY,
            1,
            1,
            annual_1_5(),
            d(2026, 7, 12),
            debit(1, 1),
        ),
    ])
}

#[test]
fn senior_switch_processing_takes_5_working_days_then_applies_by_the_cutoff() {
    // Requested Thursday 2026-11-05: Fri 6, Mon 9, Tue 10, (Wed 11 is a public
    // holiday), Thu 12, Fri 13.
    let s = switchable()
        .when(request_senior(
            d(2026, 11, 5),
            ActivityDeclaration::NoActivity,
        ))
        .then_expect(|ev| {
            let r = only(ev, |e| match e {
                Event::SeniorSwitchRequested(r) => Some(r.clone()),
                _ => None,
            });
            assert_eq!(r.processing_until, d(2026, 11, 13));
        });
    s.clone()
        .when(validate_senior(d(2026, 11, 12)))
        .then_refused(RuleId::SeniorSwitch);
    s.clone()
        .when(validate_senior(d(2026, 11, 13)))
        .then_expect(|ev| {
            assert!(ev.iter().any(|e| matches!(
                e,
                Event::SeniorSwitchValidated(v) if v.effective_from_month == ym(2026, 12)
            )));
        });
}

#[test]
fn pay_cutoff_senior_switch_validated_after_the_15th_applies_from_m_plus_2() {
    let s = switchable()
        .given([request_senior(
            d(2026, 11, 5),
            ActivityDeclaration::NoActivity,
        )])
        .when(validate_senior(d(2026, 11, 16)))
        .then_expect(|ev| {
            assert!(ev.iter().any(|e| matches!(
                e,
                Event::SeniorSwitchValidated(v) if v.effective_from_month == ym(2027, 1)
            )));
        });
    assert_eq!(contract(&s).product, Product::Senior);
}

#[test]
fn senior_switch_refused_for_two_zones_cash_suspended_under_62_or_half_time() {
    // Zones 4-5.
    subscribed_4_5()
        .when(request_senior(
            d(2026, 11, 5),
            ActivityDeclaration::NoActivity,
        ))
        .then_refused(RuleId::SeniorSwitch);
    // Suspended.
    switchable()
        .given([suspend(d(2026, 11, 2), AGENCY, None, None)])
        .when(request_senior(
            d(2026, 11, 5),
            ActivityDeclaration::NoActivity,
        ))
        .then_refused(RuleId::SeniorSwitch);
    // Under 62 (person 1 of `subscribed` is born 1980).
    subscribed()
        .when(request_senior(
            d(2026, 11, 5),
            ActivityDeclaration::NoActivity,
        ))
        .then_refused(RuleId::SeniorSwitch);
    // Half-time or more.
    switchable()
        .when(request_senior(
            d(2026, 11, 5),
            ActivityDeclaration::HoursPerWeek {
                hours: rust_decimal::Decimal::new(175, 1),
            },
        ))
        .then_refused(RuleId::SeniorSwitch);
    // Cash.
    Scenario::new()
        .given([
            tariff_990(),
            reason_codes(),
            register(1, d(1960, 1, 1)),
            subscribe(
                d(2026, 7, 12),
                AGENCY,
                1,
                1,
                annual_1_5(),
                d(2026, 7, 12),
                PaymentRequest::Cash,
            ),
        ])
        .when(request_senior(
            d(2026, 11, 5),
            ActivityDeclaration::NoActivity,
        ))
        .then_refused(RuleId::SeniorSwitch);
    // Without a request.
    switchable()
        .when(validate_senior(d(2026, 11, 16)))
        .then_refused(RuleId::SeniorSwitch);
}

// ---------------------------------------------------------------------------
// Fraud (TERM-BY-AGENCY, BAN-FRAUD-3Y) and Trésor Public notices (BAN-TREASURY-2Y)

fn establish_fraud(date: NaiveDate, accomplices: Vec<uuid::Uuid>) -> CommandEnvelope {
    on(
        date,
        AGENCY,
        Command::EstablishFraud(EstablishFraud {
            contract_id: cid(1),
            kind: FraudKind::Usage,
            fraudster: pid(1),
            accomplices,
        }),
    )
}

#[test]
fn term_by_agency_established_fraud_terminates_and_bans_holder_and_accomplices_3_years() {
    let s = subscribed()
        .given([register(2, d(1985, 1, 1))])
        .when(establish_fraud(d(2026, 11, 10), vec![pid(2)]))
        .then_expect(|ev| {
            assert!(ev.iter().any(|e| matches!(e, Event::FraudEstablished(_))));
            assert_eq!(terminated(ev).reason, TerminationReason::UsageFraud);
        });
    // BAN-FRAUD-3Y: the accomplice may not subscribe within 3 years.
    s.clone()
        .when(subscribe(
            d(2027, 1, 10),
            AGENCY,
            2,
            2,
            annual_1_5(),
            d(2027, 1, 10),
            debit(1, 2),
        ))
        .then_refused(RuleId::SubBannedHolder);
    s.when(subscribe(
        d(2029, 11, 10),
        AGENCY,
        2,
        2,
        annual_1_5(),
        d(2029, 11, 10),
        debit(1, 2),
    ))
    .then_expect(|ev| assert!(ev.iter().any(|e| matches!(e, Event::ContractSubscribed(_)))));
}

#[test]
fn term_by_agency_fraud_needs_registered_persons() {
    subscribed()
        .when(establish_fraud(d(2026, 11, 10), vec![pid(7)]))
        .then_invalid("accomplices");
}

fn notice(date: NaiveDate, f: fn(TreasuryNoticeRef) -> Command) -> CommandEnvelope {
    cmd(
        date,
        None,
        f(TreasuryNoticeRef {
            contract_id: cid(1),
            notice_ref: "ASP-1".into(),
        }),
    )
}

#[test]
fn ban_treasury_2y_notice_two_months_after_an_unpaid_termination() {
    let s = in_debt().given([terminate_by_agency(
        d(2026, 11, 10),
        TerminationReason::Unpaid,
        None,
    )]);
    s.clone()
        .when(notice(d(2027, 1, 9), Command::IssueTreasuryNotice))
        .then_refused(RuleId::BanTreasury2y);
    let s = s
        .when(notice(d(2027, 1, 10), Command::IssueTreasuryNotice))
        .then_expect(|ev| {
            assert!(ev
                .iter()
                .any(|e| matches!(e, Event::TreasuryNoticeIssued(n) if n.amount == eur(800))));
        })
        .when(notice(d(2027, 1, 20), Command::DeliverTreasuryNotice))
        .then_expect(|_| {});
    // The payer is banned from the receipt...
    s.clone()
        .when(subscribe(
            d(2027, 3, 10),
            AGENCY,
            2,
            1,
            annual_1_5(),
            d(2027, 3, 10),
            debit(1, 1),
        ))
        .then_refused(RuleId::SubBannedPayer);
    // ...and settles: the debt is collected.
    let s = s
        .when(cmd(
            d(2027, 4, 1),
            None,
            Command::SettleTreasuryNotice(SettleTreasuryNotice {
                contract_id: cid(1),
                notice_ref: "ASP-1".into(),
                amount: eur(800),
            }),
        ))
        .then_expect(|_| {});
    assert!(contract(&s).money.debt().is_zero());
}

// ---------------------------------------------------------------------------
// Corrections

#[test]
fn annul_event_removes_its_effect_and_cannot_be_repeated() {
    let s = in_debt();
    let fee_loss = s
        .contract_events(cid(1))
        .iter()
        .filter(|e| matches!(e.event, Event::LossDeclared(_)))
        .nth(2)
        .map(|e| e.event_id)
        .expect("third loss");
    let fee = s
        .contract_events(cid(1))
        .iter()
        .find(|e| matches!(e.event, Event::FeeCharged(_)))
        .map(|e| e.event_id)
        .expect("fee");
    let annul = |id| {
        cmd(
            d(2026, 10, 2),
            None,
            Command::AnnulEvent(AnnulEvent {
                stream: StreamId::contract(cid(1)),
                event_id: id,
                reason: "pass found at the counter".into(),
            }),
        )
    };
    let s = s.given([annul(fee), annul(fee_loss)]);
    let c = contract(&s);
    assert_eq!(c.losses.len(), 2);
    assert!(c.money.debt().is_zero());
    s.when(annul(fee)).then_invalid("event_id");
}

// ---------------------------------------------------------------------------
// Punctuality refund claims (REF-*), decided by `punctuality`

/// Person 1 living in Sevran since 2010, holder and payer of an Annual 1-5
/// contract from 2023-01-02 by direct debit; the 2024 campaign published.
fn sevran_holder() -> Scenario {
    use navigo_events_schema::command::{ChangeAddress, PublishCampaign};
    use navigo_events_schema::types::Address;
    use navigo_rules::reference::{builtin_campaigns, PUNCT_2024_CAMPAIGN_ID};
    let campaign = builtin_campaigns()
        .expect("built-in campaign")
        .into_iter()
        .find(|(id, _)| *id == PUNCT_2024_CAMPAIGN_ID)
        .expect("PUNCT-2024")
        .1;
    Scenario::new().given([
        tariff_990(),
        reason_codes(),
        register(1, d(1980, 1, 1)),
        on(
            d(2011, 1, 3),
            AGENCY,
            Command::ChangeAddress(ChangeAddress {
                person_id: pid(1),
                address: Address {
                    street: String::new(),
                    postal_code: "93270".into(),
                    municipality: "Sevran".into(),
                },
                effective_date: d(2010, 1, 1),
            }),
        ),
        cmd(
            d(2025, 1, 2),
            None,
            Command::PublishCampaign(PublishCampaign {
                campaign_id: PUNCT_2024_CAMPAIGN_ID,
                campaign,
            }),
        ),
        subscribe(
            d(2023, 1, 2),
            AGENCY,
            1,
            1,
            annual_1_5(),
            d(2023, 1, 2),
            debit(1, 1),
        ),
    ])
}

fn file_claim(date: NaiveDate, kind: navigo_events_schema::event::ClaimKind) -> CommandEnvelope {
    use navigo_events_schema::command::FileRefundClaim;
    use navigo_rules::reference::PUNCT_2024_CAMPAIGN_ID;
    on(
        date,
        ONLINE,
        Command::FileRefundClaim(FileRefundClaim {
            holder: pid(1),
            campaign_id: PUNCT_2024_CAMPAIGN_ID,
            filer: pid(1),
            filer_capacity: navigo_events_schema::event::FilerCapacity::Holder,
            kind,
        }),
    )
}

#[test]
fn ref_amount_claim_is_decided_and_the_refund_becomes_due_to_the_payer() {
    use navigo_events_schema::event::{ClaimKind, RefundMethod};
    let s = sevran_holder()
        .when(file_claim(d(2025, 3, 20), ClaimKind::Request))
        .then_expect(|ev| {
            let decided = only(ev, |e| match e {
                Event::RefundClaimDecided(x) => Some(x.clone()),
                _ => None,
            });
            // Held through all the bad months of a long operation: one full
            // installment of the 1-5 test tariff (990.00 / 11).
            assert_eq!(decided.total, eur(9000));
            assert_eq!(decided.beneficiary, Some(pid(1)));
            let refund = only(ev, |e| match e {
                Event::RefundDue(r) => Some(r.clone()),
                _ => None,
            });
            assert_eq!(refund.amount, eur(9000));
            assert_eq!(refund.reason, RefundReason::Punctuality);
            assert_eq!(refund.method, RefundMethod::BankTransfer);
        });
    // REF-ONE-PER-CAMPAIGN: a second request for the holder is refused.
    s.when(file_claim(d(2025, 3, 25), ClaimKind::Request))
        .then_refused(RuleId::RefOnePerCampaign);
}

#[test]
fn ref_window_request_after_the_filing_window_is_refused() {
    use navigo_events_schema::event::ClaimKind;
    sevran_holder()
        .when(file_claim(d(2025, 4, 16), ClaimKind::Request))
        .then_refused(RuleId::RefWindow);
}

#[test]
fn sub_third_party_contract_cannot_be_suspended_or_changed_online() {
    let mut c = subscribe(
        d(2026, 7, 12),
        AGENCY,
        1,
        1,
        annual_1_5(),
        d(2026, 7, 12),
        debit(1, 1),
    );
    if let Command::Subscribe(s) = &mut c.command {
        s.third_party_payer = true;
    }
    let given = base().given([c]);
    given
        .clone()
        .when(suspend(d(2026, 11, 10), ONLINE, None, None))
        .then_refused(RuleId::SubThirdParty);
    given
        .clone()
        .when(change_zones(d(2026, 11, 10), ONLINE, "4-5", None))
        .then_refused(RuleId::SubThirdParty);
    given
        .when(suspend(d(2026, 11, 10), AGENCY, None, None))
        .then_expect(|ev| {
            suspended(ev);
        });
}

// ---------------------------------------------------------------------------
// ZONE-UP / ZONE-DOWN and SUSP-RESUME on cash contracts (§7.6, §7.7, §11.3)

/// Contract 1 of person 1 on `zones`, paid cash at an agency from 2026-09-01: the
/// cash period runs to 2027-08-31, its free month is 2027-08.
fn cash_contract(zones_: &str) -> Scenario {
    base().given([subscribe(
        d(2026, 9, 1),
        AGENCY,
        1,
        1,
        Product::Annual {
            zones: zones(zones_),
        },
        d(2026, 9, 1),
        PaymentRequest::Cash,
    )])
}

fn cash_refunds(s: &Scenario) -> Vec<(NaiveDate, Money)> {
    s.contract_events(cid(1))
        .iter()
        .filter_map(|e| match &e.event {
            Event::RefundDue(r) if r.reason == RefundReason::CashUnused => {
                Some((e.effective_date, r.amount))
            }
            _ => None,
        })
        .collect()
}

fn cash_payment(date: NaiveDate, amount: Money) -> CommandEnvelope {
    on(
        date,
        AGENCY,
        Command::RecordCashPayment(navigo_events_schema::command::RecordCashPayment {
            contract_id: cid(1),
            amount,
            means: navigo_events_schema::event::PaymentMeans::Card,
        }),
    )
}

#[test]
fn zone_up_cash_difference_for_the_month_of_the_change_and_the_rest_of_the_period_is_due_at_once() {
    // Given a cash 4-5 contract (80.00 € a month) paid through 2027-08,
    let s = cash_contract("4-5")
        // when it moves to 1-5 (90.00 €) at an agency on 2026-11-10,
        .when(change_zones(d(2026, 11, 10), AGENCY, "1-5", None))
        .then_expect(|ev| {
            let z = only(ev, |e| match e {
                Event::ZonesChanged(z) => Some(z.clone()),
                _ => None,
            });
            // then November to July (9 months; August is the free month) cost
            // 10.00 € more each, due at once.
            assert_eq!(z.direction, ZoneDirection::Up);
            assert_eq!(z.cash_due, Some(eur(9_000)));
            assert!(!ev.iter().any(|e| matches!(e, Event::RefundDue(_))));
        });
    assert_eq!(contract(&s).money.debt(), eur(9_000));
    // The payer pays it; a suspension on 2027-01-10 then refunds February to July
    // at the 1-5 installment: 880.00 + 90.00 paid − (2 × 80.00 + 3 × 90.00) used.
    let s = s
        .given([
            cash_payment(d(2026, 11, 12), eur(9_000)),
            suspend(d(2027, 1, 10), AGENCY, None, None),
        ])
        .advance(d(2027, 1, 31));
    assert_eq!(contract(&s).money.debt(), Money::ZERO);
    assert_eq!(cash_refunds(&s), vec![(d(2027, 1, 10), eur(54_000))]);
}

#[test]
fn zone_up_cash_nothing_due_on_a_direct_debit_contract() {
    subscribed_4_5()
        .when(change_zones(d(2026, 11, 10), AGENCY, "1-5", None))
        .then_expect(|ev| {
            let z = only(ev, |e| match e {
                Event::ZonesChanged(z) => Some(z.clone()),
                _ => None,
            });
            // The debits carry the difference (worked example 5), not a cash amount.
            assert_eq!(z.cash_due, None);
        });
}

#[test]
fn zone_down_cash_difference_from_the_month_after_is_credited_and_refunded() {
    // Given a cash 1-5 contract (90.00 € a month) paid through 2027-08,
    let s = cash_contract("1-5")
        // when it moves to 4-5 (80.00 €) at an agency on 2026-11-10,
        .when(change_zones(d(2026, 11, 10), AGENCY, "4-5", None))
        .then_expect(|ev| {
            let z = only(ev, |e| match e {
                Event::ZonesChanged(z) => Some(z.clone()),
                _ => None,
            });
            assert_eq!(z.direction, ZoneDirection::Down);
            assert_eq!(z.cash_due, None);
            // then December to July (8 months, August free) are credited 10.00 €
            // each and refunded within 30 days, by lettre-chèque (paid at an agency).
            let r = only(ev, |e| match e {
                Event::RefundDue(r) => Some(r.clone()),
                _ => None,
            });
            assert_eq!(r.amount, eur(8_000));
            assert_eq!(r.reason, RefundReason::CashUnused);
            assert_eq!(r.due_by, d(2026, 12, 10));
            assert_eq!(r.beneficiary, pid(1));
        });
    let c = contract(&s);
    assert_eq!(c.money.balance(), eur(-8_000), "a credit being refunded");
    assert_eq!(c.money.refundable_credit(), Money::ZERO, "refunded once");
    // A suspension on 2027-01-10 refunds February to July at the 4-5 installment:
    // 990.00 − (3 × 90.00 + 2 × 80.00) used − 80.00 already refunded.
    let s = s
        .given([suspend(d(2027, 1, 10), AGENCY, None, None)])
        .advance(d(2027, 1, 31));
    assert_eq!(
        cash_refunds(&s),
        vec![(d(2026, 11, 10), eur(8_000)), (d(2027, 1, 10), eur(48_000))]
    );
}

#[test]
fn zone_down_cash_change_after_the_paid_period_ends_refunds_nothing() {
    // A deferred change to 2027-08-01: the only month left is the free month.
    cash_contract("1-5")
        .when(change_zones(
            d(2027, 7, 10),
            AGENCY,
            "4-5",
            Some(d(2027, 8, 1)),
        ))
        .then_expect(|ev| {
            assert!(
                !ev.iter().any(|e| matches!(e, Event::RefundDue(_))),
                "{ev:?}"
            );
        });
}

#[test]
fn susp_resume_cash_renews_the_payment_for_12_months_at_the_tariff_in_force() {
    // Given a cash 1-5 contract suspended on 2026-12-10 (September to December
    // used, 630.00 € refunded by the clock),
    let s = cash_contract("1-5")
        .given([suspend(d(2026, 12, 10), AGENCY, None, None)])
        .advance(d(2027, 1, 31));
    assert_eq!(cash_refunds(&s), vec![(d(2026, 12, 10), eur(63_000))]);
    // when it resumes at an agency on 2027-02-10,
    let s = s
        .when(resume(d(2027, 2, 10), AGENCY, None))
        .then_expect(|ev| {
            let r = only(ev, |e| match e {
                Event::ContractResumed(r) => Some(r.clone()),
                _ => None,
            });
            // then 12 months at the annual price are due (§11.3), with no new
            // dossier fee.
            assert_eq!(r.cash_due, Some(eur(99_000)));
            assert!(!ev.iter().any(|e| matches!(e, Event::FeeCharged(_))));
        });
    let c = contract(&s);
    assert_eq!(c.cash_paid_until, Some(d(2028, 2, 9)));
    // The new period is owed in full, apart from the refund still to be paid.
    assert_eq!(c.money.debt(), eur(99_000));
    // The payer pays it; no expiry suspension before 2028-02-10.
    let s = s
        .given([cash_payment(d(2027, 2, 10), eur(99_000))])
        .advance(d(2028, 2, 9));
    let c = contract(&s);
    assert_eq!(c.money.debt(), Money::ZERO);
    assert_eq!(c.current_status(), Status::Active);
    let s = s.advance(d(2028, 2, 10));
    assert!(matches!(
        contract(&s).current_status(),
        Status::Suspended {
            cause: SuspensionCause::CashPeriodEnded
        }
    ));
}

#[test]
fn susp_resume_cash_before_the_clock_ran_refunds_the_unused_part_in_the_same_decision() {
    // Suspended on 2026-12-10 and resumed on 2026-12-20 without the clock running
    // in between: the unused part of the first period is refunded with the
    // resumption, dated on the suspension.
    cash_contract("1-5")
        .given([suspend(d(2026, 12, 10), AGENCY, None, None)])
        .when(resume(d(2026, 12, 20), AGENCY, None))
        .then_expect(|ev| {
            let r = only(ev, |e| match e {
                Event::RefundDue(r) => Some(r.clone()),
                _ => None,
            });
            assert_eq!(r.amount, eur(63_000));
            assert_eq!(r.reason, RefundReason::CashUnused);
            let resumed = only(ev, |e| match e {
                Event::ContractResumed(r) => Some(r.clone()),
                _ => None,
            });
            assert_eq!(resumed.cash_due, Some(eur(99_000)));
        });
}

#[test]
fn susp_resume_cash_nothing_due_in_cash_on_a_direct_debit_resumption() {
    // A direct-debit resumption makes nothing due in cash.
    subscribed()
        .given([suspend(d(2026, 11, 10), AGENCY, None, None)])
        .when(resume(d(2026, 12, 10), AGENCY, None))
        .then_expect(|ev| {
            let r = only(ev, |e| match e {
                Event::ContractResumed(r) => Some(r.clone()),
                _ => None,
            });
            assert_eq!(r.cash_due, None);
        });
}

// ---------------------------------------------------------------------------
// Who may ask: ZONE-ALLOWED (payer, or holder with the payer's proxy) and
// TERM-BY-PAYER (the payer), when the world can identify the customer.

fn as_customer(mut c: CommandEnvelope, id: &str) -> CommandEnvelope {
    c.actor = navigo_events_schema::types::Actor {
        role: navigo_events_schema::types::ActorRole::Customer,
        id: id.to_owned(),
    };
    c
}

/// Contract 1 held by person 2 and paid by person 1 (client numbers C00000002
/// and C00000001); person 3 (C00000003) is registered too.
fn held_by_2_paid_by_1() -> Scenario {
    let mut sub = subscribe(
        d(2026, 7, 12),
        AGENCY,
        1,
        1,
        annual_1_5(),
        d(2026, 7, 12),
        debit(1, 1),
    );
    if let Command::Subscribe(s) = &mut sub.command {
        s.holder = pid(2);
    }
    base().given([register(2, d(1990, 1, 1)), register(3, d(1990, 1, 1)), sub])
}

#[test]
fn zone_allowed_customer_neither_payer_nor_holder_is_refused() {
    let r = held_by_2_paid_by_1()
        .when(as_customer(
            change_zones(d(2026, 11, 10), ONLINE, "4-5", None),
            "C00000003",
        ))
        .then_refused(RuleId::ZoneAllowed);
    assert!(r.message.contains("payer"), "{}", r.message);
}

#[test]
fn zone_allowed_payer_holder_agent_or_unidentified_customer_is_accepted() {
    for id in ["C00000001", "C00000002", "web-session-42"] {
        held_by_2_paid_by_1()
            .when(as_customer(
                change_zones(d(2026, 11, 10), ONLINE, "4-5", None),
                id,
            ))
            .then_expect(|ev| {
                assert!(ev.iter().any(|e| matches!(e, Event::ZonesChanged(_))));
            });
    }
    // The person id names the customer as well as the client number.
    held_by_2_paid_by_1()
        .when(as_customer(
            change_zones(d(2026, 11, 10), ONLINE, "4-5", None),
            &pid(3).to_string(),
        ))
        .then_refused(RuleId::ZoneAllowed);
    // Agents are not restricted.
    held_by_2_paid_by_1()
        .when(change_zones(d(2026, 11, 10), AGENCY, "4-5", None))
        .then_expect(|_| {});
}

#[test]
fn term_by_payer_holder_or_other_customer_is_refused_payer_is_accepted() {
    for id in ["C00000002", "C00000003"] {
        held_by_2_paid_by_1()
            .when(as_customer(terminate_by_payer(d(2026, 11, 10), ONLINE), id))
            .then_refused(RuleId::TermByPayer);
    }
    held_by_2_paid_by_1()
        .when(as_customer(
            terminate_by_payer(d(2026, 11, 10), ONLINE),
            "C00000001",
        ))
        .then_expect(|ev| {
            assert!(ev.iter().any(|e| matches!(e, Event::ContractTerminated(_))));
        });
}

// ---------------------------------------------------------------------------
// Client numbers (RULES.md §0: a customer is identified by client number and
// birth date; ACC-LINK and PARTNER-CHECK rely on the number naming one person)

#[test]
fn acc_link_client_number_names_one_person_a_second_registration_is_invalid() {
    // Given person 1 registered under C00000001.
    let s = Scenario::new().given([register(1, d(1980, 1, 1))]);
    assert_eq!(
        s.world.person_by_client_number("C00000001").map(|p| p.id),
        Some(pid(1))
    );
    assert!(s.world.person_by_client_number("C00000002").is_none());
    // When person 2 registers under the same number: invalid, naming the field.
    let mut same = register(2, d(1990, 1, 1));
    if let Command::RegisterPerson(r) = &mut same.command {
        r.client_number = "C00000001".parse().expect("client number");
    }
    s.clone().when(same).then_invalid("client_number");
    // Under its own number it is registered and found by it.
    let s = s.given([register(2, d(1990, 1, 1))]);
    assert_eq!(
        s.world.person_by_client_number("C00000002").map(|p| p.id),
        Some(pid(2))
    );
}
