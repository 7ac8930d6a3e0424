//! The projections read back through the worked examples of RULES.md and the rules
//! they prove: balances (`PAY-DUE-VS-COLLECTED`), debit calendars (worked examples
//! 1, 2, 4, 5), ban windows (`BAN-UNPAID-2M`), refunds (`PAY-REFUND-30D`), contract
//! state and validity (`USE-DEZONAGE`), `at` and `known_at` (corrections, daylight
//! saving, month ends). Events come from the core's pure scenario harness, with
//! their recorded instants (commands at 10:00 Paris, the clock at 06:00 UTC).

mod projections_support;

use chrono::{DateTime, Duration, Utc};
use navigo_events_schema::command::{AnnulEvent, ChangeZones};
use navigo_events_schema::event::{ChargeKind, RefundReason};
use navigo_events_schema::types::{Channel, Mark};
use navigo_events_schema::views::{DebitStatus, RefundStatus, StatusView, ValidityReason};
use navigo_events_schema::{Command, Event, Money, RuleId, StreamId};
use navigo_projections::{balance, bans, calendar, refunds, state, Folded, Query};
use navigo_rules::Policy;
use navigo_testkit::*;
use projections_support::*;

/// A person's bans (`bans::person_bans`), asserted equal to their entry in the
/// one walk for every person (`bans::every_person_bans`, what
/// `check-projections` compares the materialized rows with).
fn bans_both(
    events: &[navigo_events_schema::Envelope],
    person: uuid::Uuid,
    q: &Query,
) -> navigo_events_schema::views::PersonBans {
    let b = bans::person_bans(&Folded::new(events, q), person).expect("bans");
    assert_eq!(
        bans::every_person_bans(&Folded::new(events, q)).get(&person),
        Some(&b),
        "one walk for every person"
    );
    b
}

#[test]
fn worked_example_1_tar_prorata_calendar_july_full_plus_fee_and_free_month_2027_06() {
    // Given worked example 1: agency start 2026-07-12 (20 days remain), 990.00 €.
    let s = base()
        .given([agency(d(2026, 7, 12), annual_1_5())])
        .advance(d(2026, 9, 1));
    let events = envelopes(&s);
    // When the calendar is read on 2026-09-10.
    let c = cal(&events, Query::on(d(2026, 9, 10)));
    // Then July costs 90.00 + 7.60 dossier fee, paid at the agency.
    let july = row(&c, "2026-07");
    assert_eq!(july.amount, eur(9000 + 760), "{july:?}");
    assert!(kinds(&july).contains(&ChargeKind::FullInstallment));
    assert!(kinds(&july).contains(&ChargeKind::DossierFee));
    assert_eq!(july.status, DebitStatus::Collected);
    // August and September were debited on the 1st; October is scheduled.
    assert_eq!(row(&c, "2026-08").status, DebitStatus::Collected);
    assert_eq!(row(&c, "2026-09").status, DebitStatus::Collected);
    let oct = row(&c, "2026-10");
    assert_eq!(oct.status, DebitStatus::Scheduled);
    assert!(!oct.recorded);
    assert_eq!(oct.amount, eur(9000));
    assert_eq!(oct.debit_date, Some(d(2026, 10, 1)));
    let tariff = oct.lines[0].tariff.as_ref().expect("tariff named");
    assert_eq!(tariff.mark, Mark::Unverified);
    // And June 2027 is the free month (M+11), then June 2028.
    assert_eq!(kinds(&row(&c, "2027-06")), vec![ChargeKind::FreeMonth]);
    assert_eq!(row(&c, "2027-06").amount, Money::ZERO);
    assert_eq!(kinds(&row(&c, "2028-06")), vec![ChargeKind::FreeMonth]);
    assert_eq!(row(&c, "2027-07").amount, eur(9000));
    // The default horizon is 24 months after the month read.
    assert_eq!(c.horizon, ym("2028-09"));
}

#[test]
fn worked_example_2_tar_prorata_calendar_19_days_prorated_and_free_month_2027_07() {
    let s = base().given([agency(d(2026, 7, 13), annual_1_5())]);
    let c = cal(&envelopes(&s), Query::on(d(2026, 7, 13)));
    let july = row(&c, "2026-07");
    assert_eq!(july.amount, eur(8550 + 760), "{july:?}");
    let prorated = july
        .lines
        .iter()
        .find(|l| l.kind == ChargeKind::Prorated)
        .expect("prorated line");
    assert_eq!(prorated.days, Some(19));
    assert_eq!(kinds(&row(&c, "2027-07")), vec![ChargeKind::FreeMonth]);
    assert_eq!(row(&c, "2027-06").amount, eur(9000));
}

#[test]
fn susp_month_due_worked_example_4_calendar_before_the_15th_no_december_debit() {
    // Given the suspension requested online on 2026-11-10, effective 2026-11-20.
    let s = base()
        .given([agency(d(2026, 7, 12), annual_1_5())])
        .advance(d(2026, 11, 1))
        .given([suspend(d(2026, 11, 10), d(2026, 11, 20))]);
    let events = envelopes(&s);
    let c = cal(&events, Query::on(d(2026, 11, 15)));
    // November is due in full and collected; December shows no debit, suspended.
    assert_eq!(row(&c, "2026-11").amount, eur(9000));
    assert_eq!(row(&c, "2026-12").status, DebitStatus::NoneSuspended);
    assert_eq!(row(&c, "2026-12").amount, Money::ZERO);
    // As known before the suspension was recorded, December was scheduled.
    let before = Query {
        at: d(2026, 11, 15),
        known_at: Some(at(d(2026, 11, 9))),
    };
    let c = cal(&events, before);
    assert_eq!(row(&c, "2026-12").status, DebitStatus::Scheduled);
    assert_eq!(row(&c, "2026-12").amount, eur(9000));
    // The state on 2026-11-15 is active; on 2026-11-20 suspended.
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 11, 15))), cid(1))
        .expect("state");
    assert!(matches!(st.status, StatusView::Active { .. }));
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 11, 20))), cid(1))
        .expect("state");
    assert!(matches!(st.status, StatusView::Suspended { .. }));
}

#[test]
fn pay_refund_30d_worked_example_4_after_the_15th_december_taken_then_refund_due_then_overdue() {
    let s = base()
        .given([agency(d(2026, 7, 12), annual_1_5())])
        .advance(d(2026, 11, 1))
        .given([suspend(d(2026, 11, 16), d(2026, 11, 20))])
        .advance(d(2027, 1, 31));
    let events = envelopes(&s);
    let c = cal(&events, Query::on(d(2026, 12, 20)));
    let dec = row(&c, "2026-12");
    assert_eq!(dec.amount, eur(9000));
    assert!(dec.recorded);
    assert_eq!(dec.status, DebitStatus::Collected);
    assert_eq!(row(&c, "2027-01").status, DebitStatus::NoneSuspended);
    // The refund is due within 30 days, then overdue while unpaid.
    let r = refunds::person_refunds(&Folded::new(&events, &Query::on(d(2026, 12, 20))), pid(1))
        .expect("refunds");
    let cutoff: Vec<_> = r
        .refunds
        .iter()
        .filter(|x| x.reason == RefundReason::DebitAfterCutoff)
        .collect();
    assert_eq!(cutoff.len(), 1, "{:?}", r.refunds);
    assert_eq!(cutoff[0].amount, eur(9000));
    assert_eq!(cutoff[0].status, RefundStatus::Due);
    let later = cutoff[0].due_by + Duration::days(1);
    let r =
        refunds::person_refunds(&Folded::new(&events, &Query::on(later)), pid(1)).expect("refunds");
    let overdue = r
        .refunds
        .iter()
        .find(|x| x.reason == RefundReason::DebitAfterCutoff)
        .expect("refund");
    assert_eq!(overdue.status, RefundStatus::Overdue);
    // Before the debit, no refund was due.
    let r = refunds::person_refunds(&Folded::new(&events, &Query::on(d(2026, 11, 30))), pid(1))
        .expect("refunds");
    assert!(r.refunds.is_empty(), "{:?}", r.refunds);
}

#[test]
fn zone_up_worked_example_5_calendar_december_carries_novembers_difference() {
    let s = base()
        .given([agency(d(2026, 7, 12), zones_4_5())])
        .advance(d(2026, 11, 1))
        // Requested on the 10th, before the cutoff (PAY-CUTOFF): the change
        // reaches the December debit.
        .given([on(
            d(2026, 11, 10),
            Channel::Online,
            Command::ChangeZones(ChangeZones {
                contract_id: cid(1),
                zones: zones("1-5"),
                effective_date: Some(d(2026, 11, 20)),
            }),
        )]);
    let events = envelopes(&s);
    // December is forecast (not recorded yet) with November's difference.
    let c = cal(&events, Query::on(d(2026, 11, 25)));
    assert_eq!(row(&c, "2026-11").amount, eur(8000));
    let dec = row(&c, "2026-12");
    assert!(!dec.recorded);
    assert_eq!(dec.amount, eur(9000 + 1000), "{dec:?}");
    assert!(kinds(&dec).contains(&ChargeKind::ZoneDifference));
    // The product timeline shows 4-5 then 1-5 from 2026-11-20.
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 11, 19))), cid(1))
        .expect("state");
    assert_eq!(st.product, zones_4_5());
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 11, 20))), cid(1))
        .expect("state");
    assert_eq!(st.product, annual_1_5());
}

#[test]
fn pay_due_vs_collected_balance_as_of_before_and_after_the_rejection() {
    let s = rejected();
    let events = envelopes(&s);
    let before =
        balance::contract_balance(&Folded::new(&events, &Query::on(d(2026, 8, 4))), cid(1))
            .expect("b");
    assert!(before.totals.balance.is_zero(), "{before:?}");
    assert_eq!(before.totals.due, eur(9000 + 760 + 9000));
    let after = balance::contract_balance(&Folded::new(&events, &Query::on(d(2026, 8, 5))), cid(1))
        .expect("b");
    let t = &after.totals;
    assert_eq!(t.balance, t.due - t.collected + t.returned);
    assert!(t.debt >= eur(9000), "{t:?}");
    assert_eq!(t.due, after.rows.iter().map(|r| r.due).sum::<Money>());
    // The payer's balance sums their contracts.
    let p = balance::payer_balance(&Folded::new(&events, &Query::on(d(2026, 8, 5))), pid(1))
        .expect("p");
    assert_eq!(p.totals, after.totals);
    // The calendar shows August rejected, and presented before the rejection.
    let c = cal(&events, Query::on(d(2026, 8, 6)));
    assert_eq!(row(&c, "2026-08").status, DebitStatus::Rejected);
    let c = cal(&events, Query::on(d(2026, 8, 3)));
    assert_eq!(row(&c, "2026-08").status, DebitStatus::Presented);
}

#[test]
fn ban_unpaid_2m_window_lifted_when_the_debt_is_settled_not_before() {
    // Given an unpaid termination 30 days after the rejection, then a settlement.
    let s = rejected().advance(d(2026, 9, 10));
    let debt = s.world.contract(cid(1)).expect("c").money.debt();
    assert!(debt.is_positive());
    let s = s.given([settle(d(2026, 9, 20), debt)]);
    let events = envelopes(&s);
    // On 2026-09-15 the window is open: no payer role; the holder role is free.
    let b = bans_both(&events, pid(1), &Query::on(d(2026, 9, 15)));
    assert_eq!(b.windows.len(), 1, "{b:?}");
    assert_eq!(b.windows[0].rule, RuleId::BanUnpaid2m);
    assert!(!b.may_be_payer.allowed);
    assert_eq!(
        b.may_be_payer.forbidden_by.as_ref().map(|w| w.rule),
        Some(RuleId::BanUnpaid2m)
    );
    assert!(b.may_be_holder.allowed);
    assert!(b.windows[0].lifted.is_none());
    // On 2026-09-20 the debt is settled: lifted early.
    let b = bans_both(&events, pid(1), &Query::on(d(2026, 9, 20)));
    assert!(b.may_be_payer.allowed, "{b:?}");
    let lift = b.windows[0].lifted.as_ref().expect("lifted");
    assert_eq!(lift.date, d(2026, 9, 20));
    // Before the termination there is no window.
    let b = bans_both(&events, pid(1), &Query::on(d(2026, 9, 1)));
    assert!(b.windows.is_empty());
    // The contract is terminated for unpaid debt on the calendar.
    let c = cal(&events, Query::on(d(2026, 9, 20)));
    assert_eq!(row(&c, "2026-10").status, DebitStatus::NoneTerminated);
    assert_eq!(row(&c, "2026-08").status, DebitStatus::Settled);
}

#[test]
fn event_annulled_changes_the_answer_for_known_at_after_the_correction_only() {
    // Given a rejection recorded on 2026-08-05, annulled on 2026-08-20.
    let s = rejected();
    let rejection = s
        .world
        .history
        .get(&StreamId::contract(cid(1)))
        .into_iter()
        .flatten()
        .find(|e| matches!(e.event, Event::DebitRejected(_)))
        .map(|e| e.event_id)
        .expect("rejection");
    let s = s.given([on(
        d(2026, 8, 20),
        Channel::Agency,
        Command::AnnulEvent(AnnulEvent {
            stream: StreamId::contract(cid(1)),
            event_id: rejection,
            reason: "bank error: the debit was paid".into(),
        }),
    )]);
    let events = envelopes(&s);
    let q = |known: chrono::NaiveDate| Query {
        at: d(2026, 8, 25),
        known_at: Some(at(known)),
    };
    // Known on 2026-08-10: in debt, August rejected.
    let b =
        balance::contract_balance(&Folded::new(&events, &q(d(2026, 8, 10))), cid(1)).expect("b");
    assert!(b.totals.debt.is_positive(), "{b:?}");
    assert_eq!(
        row(&cal(&events, q(d(2026, 8, 10))), "2026-08").status,
        DebitStatus::Rejected
    );
    // Known on 2026-08-21: the rejection no longer counts.
    let b =
        balance::contract_balance(&Folded::new(&events, &q(d(2026, 8, 21))), cid(1)).expect("b");
    assert!(!b.totals.debt.is_positive(), "{b:?}");
    assert_eq!(
        row(&cal(&events, q(d(2026, 8, 21))), "2026-08").status,
        DebitStatus::Collected
    );
}

#[test]
fn use_dezonage_validity_query_weekend_around_daylight_saving_and_suspension() {
    let s = base().given([agency(d(2026, 7, 12), zones_4_5())]);
    let events = envelopes(&s);
    let t = |s: &str| s.parse::<DateTime<Utc>>().expect("instant");
    let v = |instant: &str, zone: u8| {
        // The validity reads the instant's date; the query's date plays no part.
        let input = Folded::new(&events, &Query::on(t(instant).date_naive()));
        state::validity(&input, cid(1), zone, t(instant)).expect("validity")
    };
    // Zone 4 is covered any time.
    assert_eq!(v("2026-10-21T08:00:00Z", 4).reason, ValidityReason::Covered);
    // Saturday 2026-10-24 00:00 Paris is 2026-10-23T22:00Z (summer time, UTC+2).
    assert_eq!(
        v("2026-10-23T21:59:59Z", 1).reason,
        ValidityReason::NotCovered
    );
    assert!(!v("2026-10-23T21:59:59Z", 1).valid);
    assert_eq!(v("2026-10-23T22:00:00Z", 1).reason, ValidityReason::Weekend);
    // Clocks go back on Sunday 2026-10-25: Monday 00:00 Paris is 23:00Z (UTC+1).
    assert_eq!(v("2026-10-25T22:59:59Z", 1).reason, ValidityReason::Weekend);
    assert_eq!(
        v("2026-10-25T23:00:00Z", 1).reason,
        ValidityReason::NotCovered
    );
    // Clocks go forward on Easter Sunday 2027-03-28: Easter Monday 00:00 Paris is
    // 22:00Z (UTC+2), a public holiday until Tuesday 00:00 Paris (22:00Z).
    assert_eq!(v("2027-03-28T21:59:59Z", 1).reason, ValidityReason::Weekend);
    assert_eq!(
        v("2027-03-28T22:00:00Z", 1).reason,
        ValidityReason::PublicHoliday
    );
    assert_eq!(
        v("2027-03-29T21:59:59Z", 1).reason,
        ValidityReason::PublicHoliday
    );
    assert_eq!(
        v("2027-03-29T22:00:00Z", 1).reason,
        ValidityReason::NotCovered
    );
    // Summer: 15 July to 15 August.
    assert_eq!(v("2027-07-20T10:00:00Z", 1).reason, ValidityReason::Summer);
    // Before the start: not started.
    assert_eq!(
        v("2026-07-01T10:00:00Z", 4).reason,
        ValidityReason::NotStarted
    );
    // Suspended: not valid, whatever the zone.
    let s = s.given([suspend(d(2026, 11, 10), d(2026, 11, 20))]);
    let events = envelopes(&s);
    let input = Folded::new(&events, &Query::on(d(2026, 11, 21)));
    let w = state::validity(&input, cid(1), 4, t("2026-11-21T10:00:00Z")).expect("v");
    assert_eq!(w.reason, ValidityReason::Suspended);
    assert!(!w.valid);
    assert_eq!(w.rule, RuleId::UseDezonage);
}

#[test]
fn tar_prorata_at_month_ends_31st_and_29_february() {
    // Given an agency start on 2027-12-31 (one day remains: prorated 1 day), the
    // debits run through 2028-03.
    let s = base()
        .given([agency(d(2027, 12, 31), annual_1_5())])
        .advance(d(2028, 3, 1));
    let events = envelopes(&s);
    let c = cal(&events, Query::on(d(2028, 2, 29)));
    let dec = row(&c, "2027-12");
    let prorated = dec
        .lines
        .iter()
        .find(|l| l.kind == ChargeKind::Prorated)
        .expect("prorated");
    assert_eq!(prorated.days, Some(1));
    assert_eq!(prorated.amount, eur(450));
    // On 29 February the February debit is collected, March's is scheduled.
    assert_eq!(row(&c, "2028-02").status, DebitStatus::Collected);
    assert_eq!(row(&c, "2028-03").status, DebitStatus::Scheduled);
    assert_eq!(row(&c, "2028-03").debit_date, Some(d(2028, 3, 1)));
    // The balance on 2028-02-29 counts January and February, not March.
    let b = balance::contract_balance(&Folded::new(&events, &Query::on(d(2028, 2, 29))), cid(1))
        .expect("b");
    let months = |b: &navigo_events_schema::views::ContractBalance| -> Vec<_> {
        b.rows.iter().filter_map(|r| r.month).collect()
    };
    assert!(months(&b).iter().all(|m| *m <= ym("2028-02")), "{b:?}");
    let b = balance::contract_balance(&Folded::new(&events, &Query::on(d(2028, 3, 1))), cid(1))
        .expect("b");
    assert!(months(&b).contains(&ym("2028-03")));
    // The calendar read on the 31st of a month ends at that month + 24.
    let c = cal(&events, Query::on(d(2028, 1, 31)));
    assert_eq!(c.horizon, ym("2030-01"));
}

#[test]
fn term_attestation_and_free_month_position_in_the_state() {
    let s = base().given([agency(d(2026, 7, 12), annual_1_5())]);
    let events = envelopes(&s);
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 9, 1))), cid(1))
        .expect("state");
    assert!(st.attestation.yes);
    assert_eq!(st.attestation.rule, RuleId::TermAttestation);
    assert!(st.retention.yes);
    let f = st.free_month.expect("cycle");
    assert_eq!(f.next_free_month, ym("2027-06"));
    assert_eq!(f.months_until, 9);
    assert_eq!(st.losses_in_free_period, 0);
}

#[test]
fn unknown_ids_are_errors() {
    let events = envelopes(&base());
    let q = Query::on(d(2026, 9, 1));
    assert!(
        calendar::calendar(&Folded::new(&events, &q), cid(9), &Policy::default(), None).is_err()
    );
    assert!(balance::contract_balance(&Folded::new(&events, &q), cid(9)).is_err());
    assert!(bans::person_bans(&Folded::new(&events, &q), pid(9)).is_err());
    assert!(refunds::person_refunds(&Folded::new(&events, &q), pid(9)).is_err());
    assert!(state::contract_state(&Folded::new(&events, &q), cid(9)).is_err());
}

#[test]
fn ban_treasury_2y_window_opens_on_the_notice_and_bars_the_payer_role_only() {
    // Given an unpaid termination (2026-09-04) left unsettled: the clock issues a
    // Trésor Public notice two months later.
    let s = rejected().advance(d(2026, 9, 10)).advance(d(2026, 11, 30));
    let events = envelopes(&s);
    let b = bans_both(&events, pid(1), &Query::on(d(2026, 11, 30)));
    let treasury = b
        .windows
        .iter()
        .find(|w| w.rule == RuleId::BanTreasury2y)
        .unwrap_or_else(|| panic!("a treasury window: {b:?}"));
    assert!(treasury.active);
    assert!(treasury.start >= d(2026, 11, 4), "{treasury:?}");
    assert_eq!(treasury.end, treasury.until);
    // The payer role is barred, the holder role is not (BAN-NEW-PAYER).
    assert!(!b.may_be_payer.allowed);
    assert!(b.may_be_holder.allowed);
    // Known before the notice was recorded, only the unpaid window existed.
    let q = Query {
        at: d(2026, 11, 30),
        known_at: Some(at(d(2026, 10, 1))),
    };
    let b = bans_both(&events, pid(1), &q);
    assert_eq!(b.windows.len(), 1, "{b:?}");
    assert_eq!(b.windows[0].rule, RuleId::BanUnpaid2m);
}

#[test]
fn pay_free_month_calendar_read_from_a_whole_log_world_forecasts_only_its_own_contract() {
    // Given contract 1 (person 1, debit day 8, from 2026-07-12: free month
    // 2027-06) and contract 2 of person 2 in the same log (debit day 1, from
    // 2026-07-13: free month 2027-07), billed through September.
    let s = base()
        .given([
            subscribe(
                d(2026, 7, 12),
                Channel::Agency,
                1,
                1,
                annual_1_5(),
                d(2026, 7, 12),
                debit(8, 1),
            ),
            register(2, d(1985, 5, 5)),
            subscribe(
                d(2026, 7, 13),
                Channel::Agency,
                2,
                2,
                annual_1_5(),
                d(2026, 7, 13),
                debit(1, 2),
            ),
        ])
        .advance(d(2026, 9, 20));
    let events = envelopes(&s);
    let q = Query::on(d(2026, 9, 20));
    // When contract 1's calendar is read from the folds of the whole log (as the
    // diff and the what-if read it), and from its own slice (what
    // `navigo-ledger calendar` reads)
    let whole = calendar::calendar(&Folded::new(&events, &q), cid(1), &Policy::default(), None)
        .expect("calendar");
    // Then both are contract 1's: its debit day (PAY-DEBIT-DAY) and its free
    // month, not contract 2's forecast debits, which come first in date order.
    assert_eq!(whole, cal(&events, q));
    assert_eq!(row(&whole, "2026-10").debit_date, Some(d(2026, 10, 8)));
    assert_eq!(kinds(&row(&whole, "2027-06")), vec![ChargeKind::FreeMonth]);
    assert_eq!(row(&whole, "2027-07").amount, eur(9000));
}

#[test]
fn pay_cutoff_a_month_resumed_after_its_debit_was_prepared_names_the_later_debit_that_carries_it() {
    // Given a contract suspended from October and resumed on 7 November,
    // requested on the 4th (before the 15th: debits from 1 December), when the calendar is read, then the
    // November row has no debit of its own, is `carried`, and names the
    // December debit, whose lines hold November's installment: forecast as
    // known on 20 November, recorded as known on 2 December. It is never `scheduled` in the past.
    let s = base()
        .given([agency(d(2026, 7, 12), annual_1_5())])
        .advance(d(2026, 9, 9))
        .given([suspend(d(2026, 9, 10), d(2026, 10, 1))])
        .advance(d(2026, 11, 3))
        .given([on(
            d(2026, 11, 4),
            Channel::Online,
            Command::Resume(navigo_events_schema::command::Resume {
                contract_id: cid(1),
                effective_date: Some(d(2026, 11, 7)),
                payment: None,
            }),
        )])
        .advance(d(2026, 12, 2));
    let events = envelopes(&s);
    for (read_on, recorded) in [(d(2026, 11, 20), false), (d(2026, 12, 2), true)] {
        // As known on the day read: the December debit is recorded on the 1st.
        let q = Query {
            at: read_on,
            known_at: Some(at(read_on) + Duration::hours(12)),
        };
        let c = cal(&events, q);
        let nov = row(&c, "2026-11");
        let dec = row(&c, "2026-12");
        assert_eq!(nov.status, DebitStatus::Carried, "on {read_on}: {nov:?}");
        assert_eq!(nov.amount, Money::ZERO);
        assert_eq!(nov.debit_date, dec.debit_date, "on {read_on}");
        assert_eq!(nov.recorded, recorded, "on {read_on}");
        assert!(
            dec.lines.iter().any(|l| l.month == ym("2026-11")),
            "on {read_on}: {dec:?}"
        );
        assert_eq!(row(&c, "2026-10").status, DebitStatus::NoneSuspended);
    }
}

/// The given / when / then of the balance a cash contract shows once suspended:
/// every row and the totals, as one account (`PAY-CASH-REFUND`).
#[test]
fn pay_cash_refund_balance_rows_of_a_cash_contract_suspended_after_four_months_agree_with_the_totals(
) {
    use navigo_events_schema::command::Suspend;
    use navigo_events_schema::types::PaymentRequest;
    use navigo_events_schema::views::BalanceItem;
    // Given a cash contract subscribed at an agency on 2026-07-01 (990.00 €
    // paid for 12 months, plus the 7.60 € dossier fee),
    let s = base()
        .given([subscribe(
            d(2026, 7, 1),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 7, 1),
            PaymentRequest::Cash,
        )])
        .advance(d(2026, 10, 1));
    // when it is suspended at an agency on 2026-10-20 (July to October used),
    let s = s
        .given([on(
            d(2026, 10, 20),
            Channel::Agency,
            Command::Suspend(Suspend {
                contract_id: cid(1),
                effective_date: None,
                planned_resumption: None,
            }),
        )])
        .advance(d(2026, 12, 1));
    let events = envelopes(&s);
    let b = balance::contract_balance(&Folded::new(&events, &Query::on(d(2026, 11, 30))), cid(1))
        .expect("b");
    // then the months used are charged with the direct-debit method (4 × 90.00)
    // plus the fee, and the rest of the annual price is refunded,
    assert_eq!(b.totals.due, eur(4 * 9000 + 760), "{b:?}");
    assert_eq!(b.totals.collected, eur(99000 + 760));
    assert_eq!(b.totals.refunds_pending, eur(99000 - 4 * 9000));
    // and the statement says so: the cash row is what the cash period cost, the
    // payments row what was paid, and no month shows the annual price as due.
    let cash: Vec<_> = b
        .rows
        .iter()
        .filter(|r| r.item == BalanceItem::Cash)
        .collect();
    assert_eq!(cash.len(), 1, "{b:?}");
    assert_eq!(cash[0].due, eur(4 * 9000));
    assert!(
        b.rows
            .iter()
            .filter(|r| r.item == BalanceItem::Month)
            .all(|r| r.due < eur(99000)),
        "{b:?}"
    );
    let payments: Money = b
        .rows
        .iter()
        .filter(|r| r.item == BalanceItem::Payments)
        .map(|r| r.collected)
        .sum();
    assert_eq!(payments, eur(99000 + 760));
    // Rows and totals are one account (PAY-DUE-VS-COLLECTED).
    let due: Money = b.rows.iter().map(|r| r.due).sum();
    let collected: Money = b.rows.iter().map(|r| r.collected).sum();
    let returned: Money = b.rows.iter().map(|r| r.returned).sum();
    assert_eq!(
        (due, collected, returned),
        (b.totals.due, b.totals.collected, b.totals.returned)
    );
}

/// `SUSP-ANYTIME`: a suspension registered on 2026-11-10 for 2026-11-20 does not
/// hold on 2026-11-15; the view of that date lists it apart, as scheduled.
#[test]
fn susp_anytime_state_as_of_a_date_shows_what_holds_then_and_a_later_suspension_as_scheduled() {
    // Given worked example 4: the suspension requested online on 2026-11-10,
    // effective 2026-11-20,
    let s = base()
        .given([agency(d(2026, 7, 12), annual_1_5())])
        .advance(d(2026, 11, 1))
        .given([suspend(d(2026, 11, 10), d(2026, 11, 20))]);
    let events = envelopes(&s);
    // when the state is read on 2026-11-15,
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 11, 15))), cid(1))
        .expect("state");
    // then only what holds on that date is in the timeline,
    assert_eq!(
        st.statuses,
        vec![StatusView::Active {
            from: d(2026, 7, 12)
        }]
    );
    assert!(st
        .statuses
        .iter()
        .all(|s| status_from(s) <= d(2026, 11, 15)));
    // and the suspension is scheduled, apart.
    assert_eq!(st.scheduled.statuses.len(), 1, "{:?}", st.scheduled);
    assert!(matches!(
        st.scheduled.statuses[0],
        StatusView::Suspended { from, .. } if from == d(2026, 11, 20)
    ));
    // Read on 2026-11-20, the suspension holds and nothing is scheduled.
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 11, 20))), cid(1))
        .expect("state");
    assert_eq!(st.statuses.len(), 2);
    assert!(st.scheduled.statuses.is_empty());
    // Read before the start, nothing holds yet: the start itself is scheduled.
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 7, 1))), cid(1))
        .expect("state");
    assert!(matches!(st.status, StatusView::NotStarted { .. }));
    assert!(st.statuses.is_empty() && st.products.is_empty());
    assert_eq!(st.scheduled.statuses.len(), 2);
}

/// `ZONE-WHEN`: a zone change deferred to the 1st of a later month is not the
/// product of the date read before it.
#[test]
fn zone_when_state_as_of_a_date_before_a_deferred_zone_change_lists_it_as_scheduled() {
    // Given a zone change 1-5 → 2-3 requested at an agency on 2026-09-10 for
    // 2026-11-01,
    let s = base()
        .given([agency(d(2026, 7, 12), annual_1_5())])
        .advance(d(2026, 9, 1))
        .given([on(
            d(2026, 9, 10),
            Channel::Agency,
            Command::ChangeZones(ChangeZones {
                contract_id: cid(1),
                zones: zones("2-3"),
                effective_date: Some(d(2026, 11, 1)),
            }),
        )]);
    let events = envelopes(&s);
    // when the state is read on 2026-10-15,
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 10, 15))), cid(1))
        .expect("state");
    // then the product is still 1-5, the timeline holds only it, and the change
    // is scheduled.
    assert_eq!(st.product, annual_1_5());
    assert_eq!(st.products.len(), 1, "{:?}", st.products);
    assert_eq!(st.scheduled.products.len(), 1, "{:?}", st.scheduled);
    assert_eq!(st.scheduled.products[0].from, d(2026, 11, 1));
}

/// `PAY-DEBIT-DAY`: one debit day per view, the one in force in the month read;
/// a change registered for a later month is scheduled, not mixed in.
#[test]
fn pay_debit_day_state_carries_one_debit_day_as_of_the_date_read_and_a_later_change_as_scheduled() {
    use navigo_events_schema::command::ChangeDebitDay;
    use navigo_events_schema::types::DebitDay;
    use navigo_events_schema::views::PaymentView;
    // Given a contract debited on the 8th, whose payer asks on 2026-08-03 (before
    // the 15th) for the 12th, from September (PAY-CUTOFF),
    let s = base()
        .given([subscribe(
            d(2026, 7, 12),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 7, 12),
            debit(8, 1),
        )])
        .advance(d(2026, 8, 1))
        .given([on(
            d(2026, 8, 3),
            Channel::Online,
            Command::ChangeDebitDay(ChangeDebitDay {
                contract_id: cid(1),
                debit_day: DebitDay::new(12).expect("day"),
            }),
        )])
        .advance(d(2026, 10, 1));
    let events = envelopes(&s);
    let day = |p: &Option<PaymentView>| match p {
        Some(PaymentView::DirectDebit { debit_day, .. }) => Some(debit_day.day()),
        _ => None,
    };
    // when the state is read in October, then its one debit day is the 12th,
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 10, 15))), cid(1))
        .expect("state");
    assert_eq!(day(&st.payment), Some(12), "{:?}", st.payment);
    let json = serde_json::to_value(&st).expect("json");
    assert!(json.get("debit_day").is_none(), "{json}");
    assert_eq!(json["payment"]["debit_day"], 12, "{json}");
    assert!(st.scheduled.payments.is_empty());
    // and read in August, the 8th, with the 12th scheduled from September.
    let st = state::contract_state(&Folded::new(&events, &Query::on(d(2026, 8, 20))), cid(1))
        .expect("state");
    assert_eq!(day(&st.payment), Some(8));
    assert_eq!(st.scheduled.payments.len(), 1, "{:?}", st.scheduled);
    assert_eq!(st.scheduled.payments[0].from_month, ym("2026-09"));
    assert_eq!(
        day(&Some(st.scheduled.payments[0].payment.clone())),
        Some(12)
    );
    // The calendar debits October on the 12th: the view and the calendar agree.
    assert_eq!(
        row(&cal(&events, Query::on(d(2026, 10, 15))), "2026-10").debit_date,
        Some(d(2026, 10, 12))
    );
}

fn status_from(s: &StatusView) -> chrono::NaiveDate {
    match s {
        StatusView::Active { from }
        | StatusView::Suspended { from, .. }
        | StatusView::Terminated { from, .. }
        | StatusView::NotStarted { from } => *from,
    }
}
