//! Replay, audit, diff and what-if on scenario ledgers built in memory with the
//! core's engine and billing clock (RULES.md worked examples and a seeded random
//! population).

mod population_support;
mod projections_support;

use chrono::{Duration, TimeZone, Utc};
use navigo_events_schema::command::AnnulEvent;
use navigo_events_schema::types::Channel;
use navigo_events_schema::{Command, Envelope, Event, StreamId};
use navigo_projections::Query;
use navigo_replay::materialize::{check, ProjectionDb, KINDS};
use navigo_replay::{audit, diff, whatif};
use navigo_testkit::*;
use population_support::{generated_ledger, in_scratch, into_log, scratch};
use projections_support::*;

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("navigo-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A seeded population: `n` persons each with an agency contract starting on a
/// random day of summer 2026, then the clock through 2027-02, with random
/// suspensions, rejections and settlements (refused commands are not recorded).
fn population(seed: u64, n: u128) -> Vec<Envelope> {
    let mut x = seed.max(1);
    let mut rnd = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let mut s = base();
    for p in 2..=n {
        s = s.given([register(
            p,
            d(1980, 1, 1) + Duration::days(rnd(9000) as i64),
        )]);
    }
    for c in 1..=n {
        let start = d(2026, 7, 1) + Duration::days(rnd(60) as i64);
        let _ = s.run(&subscribe(
            start,
            Channel::Agency,
            c,
            c,
            annual_1_5(),
            start,
            debit(1, c),
        ));
    }
    s = s.advance(d(2026, 10, 1));
    for c in 1..=n {
        match rnd(4) {
            0 => {
                let day = d(2026, 10, 2) + Duration::days(rnd(40) as i64);
                let mut cmd = suspend(day, day + Duration::days(5));
                if let Command::Suspend(x) = &mut cmd.command {
                    x.contract_id = cid(c);
                }
                let _ = s.run(&cmd);
            }
            1 => {
                let mut cmd = reject(d(2026, 10, 5), "2026-10");
                if let Command::RecordDebitRejected(x) = &mut cmd.command {
                    x.contract_id = cid(c);
                }
                let _ = s.run(&cmd);
            }
            _ => {}
        }
    }
    envelopes(&s.advance(d(2027, 2, 1)))
}

#[test]
fn rebuild_equals_on_demand_projections_on_a_seeded_random_population() {
    // Given a seeded population, when rebuilt, then every stored row equals the
    // on-demand projection, and a second rebuild has the same state hashes.
    let events = population(42, 10);
    let dir = tmp("population");
    let db = ProjectionDb::open(&dir).expect("open");
    let g1 = db
        .rebuild(&events, d(2027, 1, 15), &mut |_| {})
        .expect("rebuild");
    let r1 = check(&db, &events).expect("check");
    assert!(r1.consistent(), "{:?}", r1.mismatches);
    assert_eq!(r1.hashes.len(), KINDS.len());
    assert!(r1.hashes.iter().all(|(_, n, _, _)| *n >= 10));
    let g2 = db
        .rebuild(&events, d(2027, 1, 15), &mut |_| {})
        .expect("rebuild again");
    assert!(g2.number > g1.number);
    let r2 = check(&db, &events).expect("check");
    assert_eq!(r1.hashes, r2.hashes);
    // The old generation's trees are gone: only the current one remains.
    assert_eq!(
        db.current().expect("current").map(|g| g.number),
        Some(g2.number)
    );
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn follow_catches_up_from_the_checkpoint_and_equals_a_rebuild() {
    // Given projections built on the first part of the log, when the follower
    // catches up on the whole log, then the checkpoint is the head and every row
    // equals the on-demand projection.
    let events = population(7, 8);
    let half = &events[..events.len() / 2];
    let dir = tmp("follow");
    let db = ProjectionDb::open(&dir).expect("open");
    db.rebuild(half, d(2027, 1, 15), &mut |_| {})
        .expect("rebuild");
    assert!(!check(&db, &events).expect("check").consistent());
    let g = db.catch_up(&events, &mut |_| {}).expect("catch up");
    assert_eq!(Some(g.checkpoint), events.last().map(|e| e.position));
    let r = check(&db, &events).expect("check");
    assert!(r.consistent(), "{:?}", r.mismatches);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Worked example 4, second case: contract 1 from 2026-07-12, suspension
/// requested 2026-11-16 effective 2026-11-20, clock through 2027-01-05.
fn late_suspension() -> Vec<Envelope> {
    let s = base()
        .given([agency(d(2026, 7, 12), annual_1_5())])
        .advance(d(2026, 11, 15))
        .given([suspend(d(2026, 11, 16), d(2026, 11, 20))])
        .advance(d(2027, 1, 5));
    envelopes(&s)
}

#[test]
fn pay_cutoff_diff_explains_the_debit_taken_after_a_late_suspension() {
    // Given the late suspension, when diffing what was known before the request
    // with everything known, then the December debit shows as taken, the refund
    // as due for a debit after the cutoff, and the suspension's request instant
    // and PAY-CUTOFF are among the causes.
    let events = late_suspension();
    let before = Utc.with_ymd_and_hms(2026, 11, 15, 12, 0, 0).single();
    let a = Query {
        at: d(2027, 1, 5),
        known_at: before,
    };
    let b = Query {
        at: d(2027, 1, 5),
        known_at: None,
    };
    let diff = diff::diff(&events, cid(1), &a, &b).expect("diff");
    let debit = diff
        .causes
        .iter()
        .find(|c| matches!(&c.envelope.event, Event::DebitPresented(x) if x.month.to_string() == "2026-12"))
        .expect("the December debit is between the views");
    assert!(
        debit.explanation.contains("PAY-CUTOFF"),
        "{}",
        debit.explanation
    );
    assert!(diff
        .causes
        .iter()
        .any(|c| c.rules.contains(&"PAY-CUTOFF".to_string())
            && matches!(c.envelope.event, Event::RefundDue(_))));
    let susp = diff
        .causes
        .iter()
        .find(|c| matches!(c.envelope.event, Event::ContractSuspended(_)))
        .expect("the suspension");
    assert!(
        susp.explanation.contains("2026-11-16"),
        "{}",
        susp.explanation
    );
    // The balance's refunds line changed, and the change names its cause.
    let refund_change = diff
        .changes
        .iter()
        .find(|c| c.path.starts_with("balance.totals.refunds_pending"))
        .expect("refunds pending changed");
    assert!(!refund_change.caused_by.is_empty());
}

#[test]
fn susp_anytime_what_if_an_early_suspension_prevents_the_december_debit_and_appends_nothing() {
    // Given the late suspension, when the suspension is instead requested on
    // 2026-11-10 (worked example 4, first case), then the hypothetical December
    // row is not debited, the actual one is, and the log is unchanged.
    let events = late_suspension();
    let before = events.clone();
    let w = whatif::what_if(
        &events,
        cid(1),
        &[suspend(d(2026, 11, 10), d(2026, 11, 20))],
        None,
    )
    .expect("what-if");
    assert_eq!(events, before);
    assert!(w.set_aside > 0);
    assert!(w.outcomes[0].result.is_ok(), "{:?}", w.outcomes);
    let dec = |v: &std::collections::BTreeMap<&str, serde_json::Value>| {
        v["calendar"]["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["month"] == "2026-12").cloned())
            .expect("December row")
    };
    assert_eq!(dec(&w.actual)["amount"], "90.00");
    assert_eq!(dec(&w.hypothetical)["amount"], "0.00");
}

#[test]
fn susp_resume_what_if_refusal_is_reported_with_its_rule_id() {
    // Given an active contract, when a hypothetical resumption is asked with no
    // suspension, then it is refused as it would be for real, naming its rule.
    let events = envelopes(
        &base()
            .given([agency(d(2026, 7, 12), annual_1_5())])
            .advance(d(2026, 9, 1)),
    );
    let resume = cmd(
        d(2026, 9, 10),
        Some(Channel::Online),
        Command::Resume(navigo_events_schema::command::Resume {
            contract_id: cid(1),
            effective_date: None,
            payment: None,
        }),
    );
    let w = whatif::what_if(&events, cid(1), &[resume], None).expect("what-if");
    let err = w.outcomes[0].result.clone().expect_err("refused");
    assert!(err.contains("refused by SUSP-"), "{err}");
}

/// Worked example 5's request: contract 1 from 4-5 to 1-5, requested online on
/// 2026-11-10, effective 2026-11-20. Registered before the cutoff of the 15th, it
/// reaches the December debit (`PAY-CUTOFF`); on the 15th or later December's
/// debit would be the prepared 4-5 installment.
fn zone_up_to_1_5() -> navigo_events_schema::CommandEnvelope {
    on(
        d(2026, 11, 10),
        Channel::Online,
        Command::ChangeZones(navigo_events_schema::command::ChangeZones {
            contract_id: cid(1),
            zones: zones("1-5"),
            effective_date: Some(d(2026, 11, 20)),
        }),
    )
}

/// The row of `month` in a what-if's calendar view.
fn calendar_row(
    views: &std::collections::BTreeMap<&str, serde_json::Value>,
    month: &str,
) -> serde_json::Value {
    views["calendar"]["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["month"] == month).cloned())
        .unwrap_or_else(|| panic!("no row {month}"))
}

#[test]
fn zone_up_what_if_worked_example_5_december_debit_carries_novembers_difference() {
    // Given a 4-5 contract from 2026-07-12 billed through 2027-01-05, when a
    // zone change to 1-5 effective 2026-11-20 is layered on it (worked example
    // 5), then November is debited as it was, the December debit the clock
    // takes carries November's difference on top of the 1-5 installment, the
    // actual December is the 4-5 installment alone, the hypothetical product is
    // 1-5, and nothing is appended.
    let events = envelopes(
        &base()
            .given([agency(d(2026, 7, 12), zones_4_5())])
            .advance(d(2027, 1, 5)),
    );
    let before = events.clone();
    let w = whatif::what_if(&events, cid(1), &[zone_up_to_1_5()], None).expect("what-if");
    assert_eq!(events, before);
    let accepted = w.outcomes[0].result.as_ref().expect("accepted");
    assert!(
        accepted
            .iter()
            .any(|(t, day)| t == "ZonesChanged" && *day == d(2026, 11, 20)),
        "{accepted:?}"
    );
    assert_eq!(
        calendar_row(&w.hypothetical, "2026-11"),
        calendar_row(&w.actual, "2026-11")
    );
    let dec = calendar_row(&w.hypothetical, "2026-12");
    assert_eq!(dec["recorded"], true, "the clock took it: {dec}");
    assert_eq!(dec["amount"], "100.00", "{dec}");
    let kinds: Vec<&str> = dec["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"zone_difference"), "{dec}");
    assert_eq!(calendar_row(&w.actual, "2026-12")["amount"], "80.00");
    assert_eq!(w.hypothetical["state"]["product"]["zones"], "1-5");
    assert_eq!(w.actual["state"]["product"]["zones"], "4-5");
}

#[test]
fn zone_up_diff_on_two_effective_dates_names_the_zone_change_worked_example_5() {
    // Given worked example 5 recorded (the change requested 2026-11-10,
    // effective 2026-11-20), billed through 2027-01-05, when the contract is
    // diffed between the effective dates 2026-11-19 and 2026-11-20, then the
    // product changes from 4-5 to 1-5, caused by the zone change, whose rules
    // (ZONE-*) and request instant the diff reports.
    let events = envelopes(
        &base()
            .given([agency(d(2026, 7, 12), zones_4_5())])
            .advance(d(2026, 11, 1))
            .given([zone_up_to_1_5()])
            .advance(d(2027, 1, 5)),
    );
    let change = events
        .iter()
        .find(|e| matches!(e.event, Event::ZonesChanged(_)))
        .expect("the zone change");
    let diff = diff::diff(
        &events,
        cid(1),
        &Query::on(d(2026, 11, 19)),
        &Query::on(d(2026, 11, 20)),
    )
    .expect("diff");
    let product = diff
        .changes
        .iter()
        .find(|c| c.path == "state.product.zones")
        .unwrap_or_else(|| panic!("no product change: {:?}", diff.changes));
    assert_eq!(product.before, Some(serde_json::json!("4-5")));
    assert_eq!(product.after, Some(serde_json::json!("1-5")));
    assert_eq!(product.caused_by, vec![change.position]);
    let cause = diff
        .causes
        .iter()
        .find(|c| c.envelope.position == change.position)
        .expect("the zone change among the causes");
    assert!(
        cause.rules.iter().any(|r| r.starts_with("ZONE-")),
        "{:?}",
        cause.rules
    );
    assert!(
        cause.explanation.contains("2026-11-20"),
        "{}",
        cause.explanation
    );
    // And nothing effective outside (2026-11-19, 2026-11-20] is named.
    assert!(diff
        .causes
        .iter()
        .all(|c| c.envelope.effective_date == d(2026, 11, 20)));
}

#[test]
fn audit_shows_rule_ids_chain_hashes_and_the_annulment_next_to_what_it_corrects() {
    // Given a late suspension annulled by an agent, when audited, then every
    // event carries its rule ids and chain hash, the annulment points at the
    // suspension and the suspension at its annulment, and the views after the
    // correction no longer count it.
    let mut s = base()
        .given([agency(d(2026, 7, 12), annual_1_5())])
        .advance(d(2026, 11, 15))
        .given([suspend(d(2026, 11, 16), d(2026, 11, 20))]);
    let susp_id = envelopes(&s)
        .iter()
        .find(|e| matches!(e.event, Event::ContractSuspended(_)))
        .map(|e| e.event_id)
        .expect("suspension");
    s = s.given([cmd(
        d(2026, 11, 18),
        Some(Channel::Agency),
        Command::AnnulEvent(AnnulEvent {
            stream: StreamId::contract(cid(1)),
            event_id: susp_id,
            reason: "entered on the wrong contract".into(),
        }),
    )]);
    let events = envelopes(&s);
    let trail = audit::audit(&events, cid(1), None).expect("audit");
    let susp = trail
        .iter()
        .find(|e| e.envelope.event_id == susp_id)
        .expect("in the trail");
    let annul = trail
        .iter()
        .find(|e| matches!(e.envelope.event, Event::EventAnnulled(_)))
        .expect("annulment in the trail");
    assert_eq!(susp.annulled_by, Some(annul.envelope.position));
    assert_eq!(annul.corrects, Some(susp.envelope.position));
    assert!(susp.rules.iter().any(|r| r.as_str() == "SUSP-ANYTIME"));
    assert!(trail
        .windows(2)
        .all(|w| w[0].envelope.position < w[1].envelope.position));
    // Known before the annulment, the suspension counts; after, it does not.
    let state = |k| {
        diff::views(
            &events,
            cid(1),
            &Query {
                at: d(2026, 12, 1),
                known_at: k,
            },
        )
        .expect("views")["state"]["status"]["status"]
            .clone()
    };
    assert_eq!(
        state(Utc.with_ymd_and_hms(2026, 11, 17, 12, 0, 0).single()),
        "suspended"
    );
    assert_eq!(state(None), "active");
}

/// A generated population (core's `population` module: payer changes, frauds,
/// annulments, treasury notices, campaigns and claims, losses, suspensions)
/// driven through a ledger over a sled store; returns the stored log.
fn generated_population(seed: u64, contracts: u32) -> Vec<Envelope> {
    use navigo_ledger_core::ClockMode;
    let dir = scratch(&format!("replay-generated-{seed}"));
    in_scratch(&dir, async {
        let mut ledger = generated_ledger(&dir, seed, contracts, d(2025, 6, 30)).await;
        // Fraud is rare in a small population: establish one, with an
        // accomplice who holds another contract (bans read both).
        let in_force: Vec<(uuid::Uuid, uuid::Uuid)> = ledger
            .world()
            .contracts
            .values()
            .filter(|c| c.termination.is_none())
            .map(|c| (c.id, c.holder))
            .collect();
        if let [(contract_id, fraudster), .., (_, accomplice)] = in_force[..] {
            let fraud = cmd(
                d(2025, 7, 1),
                Some(Channel::Agency),
                Command::EstablishFraud(navigo_events_schema::command::EstablishFraud {
                    contract_id,
                    kind: navigo_events_schema::event::FraudKind::Usage,
                    fraudster,
                    accomplices: vec![accomplice],
                }),
            );
            ledger
                .execute(&fraud, ClockMode::Import)
                .await
                .expect("fraud established");
        }
        // The generator annuls rarely: annul the last payer change, suspension
        // and debit (whichever the rules accept), so that annulled events and
        // annulments in other streams' slices are exercised.
        // The ledger's world holds states only: the events are the log's.
        let logged = navigo_ledger_core::load::read_everything(ledger.store())
            .await
            .expect("read");
        let targets: Vec<(StreamId, uuid::Uuid)> =
            ["PayerChanged", "ContractSuspended", "DebitPresented"]
                .iter()
                .filter_map(|t| {
                    logged
                        .iter()
                        .filter(|e| e.event.type_name() == *t)
                        .max_by_key(|e| e.position)
                        .map(|e| (e.stream, e.event_id))
                })
                .collect();
        for (i, (stream, event_id)) in targets.into_iter().enumerate() {
            let annul = cmd(
                d(2025, 7, 2) + Duration::days(i as i64),
                Some(Channel::Agency),
                Command::AnnulEvent(AnnulEvent {
                    stream,
                    event_id,
                    reason: "entered on the wrong contract".into(),
                }),
            );
            let _ = ledger.execute(&annul, ClockMode::Import).await;
        }
        into_log(ledger).await
    })
}

#[test]
fn rebuild_equals_on_demand_projections_on_a_generated_population_with_payer_changes_frauds_and_annulments(
) {
    // Given a generated population whose log holds payer changes, fraud findings
    // and annulments, when rebuilt on a date inside the period (events effective
    // later exist), at its end and in the future, then every stored row equals
    // the view computed on demand from the whole log (`check`: state, balance,
    // refunds from the two folds of every event, bans from every event), every
    // calendar equals the on-demand calendar of the whole log, and a second
    // rebuild gives the same state hashes.
    use navigo_projections::{calendar, Folded, Query};
    let events = generated_population(0x5EED_0042, 120);
    for wanted in [
        "PayerChanged",
        "EventAnnulled",
        "FraudEstablished",
        "RefundClaimDecided",
        "RefundPaid",
    ] {
        assert!(
            events.iter().any(|e| e.event.type_name() == wanted),
            "the generated log has no {wanted}: the test would prove nothing about it"
        );
    }
    let dir = tmp("generated-rebuild");
    let db = ProjectionDb::open(&dir).expect("open");
    for at in [d(2024, 9, 15), d(2025, 6, 30), d(2026, 1, 15)] {
        db.rebuild(&events, at, &mut |_| {}).expect("rebuild");
        let r = check(&db, &events).expect("check");
        assert!(r.consistent(), "on {at}: {:?}", r.mismatches);
        assert!(r.hashes.iter().all(|(_, n, _, _)| *n > 0), "on {at}");
        let q = Query::on(at);
        let whole = Folded::new(&events, &q);
        let policy = navigo_rules::Policy::default();
        let (_, stored) = db.stored_rows().expect("rows");
        if at == d(2026, 1, 15) {
            // A refund recorded on a person's own stream (punctuality): its date
            // is read from the event, which the rebuild takes from its index.
            let own_refund = stored["refunds"].values().any(|r| {
                serde_json::from_slice::<serde_json::Value>(r).is_ok_and(|v| {
                    v["refunds"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x["contract"].is_null()))
                })
            });
            assert!(
                own_refund,
                "no refund on a person's stream: their dates go unproved"
            );
            // A ban window (fraud, unpaid): `check` compares each materialized
            // bans row with the one walk of the whole log for every person.
            let banned = stored["bans"].values().any(|r| {
                serde_json::from_slice::<serde_json::Value>(r)
                    .is_ok_and(|v| v["windows"].as_array().is_some_and(|w| !w.is_empty()))
            });
            assert!(banned, "no ban window: the bans check goes unproved");
        }
        for (id, row) in &stored["calendar"] {
            let fresh = calendar::calendar(&whole, *id, &policy, None).expect("calendar");
            assert_eq!(
                row,
                &serde_json::to_vec(&fresh).expect("encode"),
                "calendar of {id} on {at}"
            );
        }
        db.rebuild(&events, at, &mut |_| {}).expect("rebuild again");
        assert_eq!(check(&db, &events).expect("check").hashes, r.hashes);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pay_debit_day_diff_views_read_each_contract_calendar_as_the_calendar_command_on_a_generated_population(
) {
    // Given a generated population (several contracts with their own debit
    // days, free months, suspensions and zones in one log), when the diff's and
    // the what-if's views are read for every contract on three dates and as
    // known at three instants, then each view's calendar is the calendar of
    // the contract's own slice (what `navigo-ledger calendar` prints), and the
    // calendar read from the folds of the whole log is the same: no other
    // contract's forecast debit fills a row.
    use navigo_projections::{calendar, Folded};
    let events = generated_population(0x5EED_0043, 40);
    let policy = navigo_rules::Policy::default();
    let instants = [
        Utc.with_ymd_and_hms(2024, 9, 1, 0, 0, 0).single(),
        Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).single(),
        None,
    ];
    let mut compared = 0;
    for at in [d(2024, 10, 15), d(2025, 6, 30), d(2026, 3, 1)] {
        for known_at in instants {
            let q = Query { at, known_at };
            let w = Folded::new(&events, &q);
            let ids: Vec<uuid::Uuid> = w.known().contracts.keys().copied().collect();
            assert!(ids.len() > 1, "one contract proves nothing here");
            for id in ids {
                let own =
                    calendar::calendar(&Folded::new(own_slice(&events, id), &q), id, &policy, None)
                        .expect("calendar");
                let whole = calendar::calendar(&w, id, &policy, None).expect("whole-log calendar");
                assert_eq!(whole, own, "calendar of {id} on {at} known at {known_at:?}");
                let views = diff::views(&events, id, &q).expect("views");
                let mut expected = serde_json::to_value(&own).expect("encode");
                if let Some(m) = expected.as_object_mut() {
                    m.remove("as_of");
                }
                assert_eq!(views["calendar"], expected, "diff calendar of {id} on {at}");
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "{compared} calendars compared");
}

#[test]
fn follow_catch_up_in_steps_equals_on_demand_through_payer_changes_frauds_and_annulments() {
    // Given a projection rebuilt on the first third of a generated log that holds
    // payer changes, fraud findings (naming accomplices) and annulments
    let events = generated_population(0x5EED_0042, 120);
    let frauds: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.event.type_name() == "FraudEstablished")
        .map(|(i, _)| i + 1)
        .collect();
    assert!(!frauds.is_empty(), "the generated log has no fraud finding");
    let dir = tmp("generated-follow");
    let db = ProjectionDb::open(&dir).expect("open");
    let at = d(2026, 1, 15);
    db.rebuild(&events[..events.len() / 3], at, &mut |_| {})
        .expect("rebuild");
    // When a follower catches up in steps, one ending just after each fraud
    // finding, then at two thirds and at the end
    let mut cuts = frauds;
    cuts.extend([events.len() * 2 / 3, events.len()]);
    cuts.retain(|c| *c > events.len() / 3);
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts {
        let g = db.catch_up(&events[..cut], &mut |_| {}).expect("catch up");
        assert_eq!(g.checkpoint, events[cut - 1].position);
        // Then after each step every stored row equals the on-demand view
        let r = check(&db, &events[..cut]).expect("check");
        assert!(r.consistent(), "after {cut} events: {:?}", r.mismatches);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Catches `db` up with the events `events[from..cut]` as the service's
/// follower does: the tail and the streams its ids read, picked by `world`'s
/// indexes (a world of the log up to the tail, or ahead of it), or the whole
/// log up to `cut` for a tail with a reference event.
fn catch_up_as_the_service_does(
    db: &ProjectionDb,
    events: &[Envelope],
    from: usize,
    cut: usize,
    world: &navigo_rules::world::World,
) -> navigo_replay::materialize::Generation {
    use navigo_replay::materialize::{catch_up_streams, tail_contract_streams, touches_every_row};
    let tail = &events[from..cut];
    if touches_every_row(tail) {
        return db.catch_up(&events[..cut], &mut |_| {}).expect("catch up");
    }
    let upto = |streams: &std::collections::BTreeSet<StreamId>| -> Vec<Envelope> {
        events[..cut]
            .iter()
            .filter(|e| streams.contains(&e.stream))
            .cloned()
            .collect()
    };
    let contracts = upto(&tail_contract_streams(tail));
    let slice = upto(&catch_up_streams(world, tail, &contracts));
    assert!(slice.len() <= cut);
    db.catch_up_slice(tail, &slice, &mut |_| {})
        .expect("catch up from the slice")
}

#[test]
fn follow_catch_up_from_slices_equals_on_demand_through_payer_changes_frauds_and_annulments() {
    // Given a projection rebuilt on the first third of a generated log that holds
    // payer changes, fraud findings (naming accomplices) and annulments
    let events = generated_population(0x5EED_0042, 120);
    let dir = tmp("generated-follow-slices");
    let db = ProjectionDb::open(&dir).expect("open");
    let at = d(2026, 1, 15);
    let mut from = events.len() / 3;
    db.rebuild(&events[..from], at, &mut |_| {})
        .expect("rebuild");
    let ahead = navigo_projections::fold(&events.iter().collect::<Vec<_>>());
    // When a follower catches up in steps, one ending just after each fraud
    // finding and every 97 events, from the tail and the streams it touches
    // only, picked by a world of the log so far or by one ahead of it
    let mut cuts: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.event.type_name() == "FraudEstablished")
        .map(|(i, _)| i + 1)
        .collect();
    assert!(!cuts.is_empty(), "the generated log has no fraud finding");
    cuts.extend((from..events.len()).step_by(97));
    cuts.push(events.len());
    cuts.retain(|c| *c > from);
    cuts.sort_unstable();
    cuts.dedup();
    let mut sliced = 0;
    for (step, cut) in cuts.into_iter().enumerate() {
        let exact;
        let world = if step % 2 == 0 {
            exact = navigo_projections::fold(&events[..cut].iter().collect::<Vec<_>>());
            &exact
        } else {
            &ahead
        };
        sliced += usize::from(!navigo_replay::materialize::touches_every_row(
            &events[from..cut],
        ));
        let g = catch_up_as_the_service_does(&db, &events, from, cut, world);
        assert_eq!(g.checkpoint, events[cut - 1].position);
        // Then after each step every stored row equals the on-demand view
        let r = check(&db, &events[..cut]).expect("check");
        assert!(r.consistent(), "after {cut} events: {:?}", r.mismatches);
        from = cut;
    }
    assert!(sliced > 3, "{sliced} steps caught up from slices");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn follow_catch_up_from_a_slice_refuses_a_reference_event_and_a_gap() {
    // Given a projection rebuilt on part of a log
    let events = population(7, 8);
    let half = events.len() / 2;
    let dir = tmp("slice-refusals");
    let db = ProjectionDb::open(&dir).expect("open");
    db.rebuild(&events[..half], d(2026, 1, 15), &mut |_| {})
        .expect("rebuild");
    let mut reference = events[half].clone();
    reference.stream = StreamId::catalogue();
    // When a tail with a reference event is given with a slice, then it is
    // refused (it touches every row: the whole log is needed), nothing moves
    let e = db.catch_up_slice(&[reference], &events[..=half], &mut |_| {});
    assert!(
        matches!(e, Err(navigo_replay::ReplayError::WholeLogNeeded { .. })),
        "{e:?}"
    );
    // And a tail that skips a position after the checkpoint is refused
    let e = db.catch_up_slice(&events[half + 1..], &events, &mut |_| {});
    assert!(
        matches!(e, Err(navigo_replay::ReplayError::Discontinuous { .. })),
        "{e:?}"
    );
    let r = check(&db, &events[..half]).expect("check");
    assert!(r.consistent(), "{:?}", r.mismatches);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rebuild_equals_on_demand_when_a_holder_pays_another_contract_after_ending_their_own() {
    // Given person 2 who became the payer of person 1's contract and then
    // terminated their own contract, when rebuilt, then every row equals the
    // on-demand view: person 2's retention (`TERM-RETENTION`) counts the contract
    // they pay, and their refunds and bans read it (the payer index).
    use navigo_events_schema::command::{ChangePayer, ContractRef};
    let mut s = base().given([register(2, d(1985, 3, 3))]);
    let start = d(2026, 7, 12);
    for c in 1..=2 {
        s.run(&subscribe(
            start,
            Channel::Agency,
            c,
            c,
            annual_1_5(),
            start,
            debit(1, c),
        ))
        .expect("subscribed");
    }
    s = s.advance(d(2026, 9, 14));
    s.run(&on(
        d(2026, 9, 15),
        Channel::Agency,
        Command::ChangePayer(ChangePayer {
            contract_id: cid(1),
            payer: pid(2),
            mandate: Some(mandate(2)),
        }),
    ))
    .expect("payer changed");
    s = s.advance(d(2026, 10, 9));
    s.run(&on(
        d(2026, 10, 10),
        Channel::Agency,
        Command::TerminateByPayer(ContractRef {
            contract_id: cid(2),
        }),
    ))
    .expect("terminated by its payer");
    let events = envelopes(&s.advance(d(2027, 2, 1)));
    let dir = tmp("payer-of-another");
    let db = ProjectionDb::open(&dir).expect("open");
    for at in [d(2026, 9, 20), d(2027, 1, 15)] {
        db.rebuild(&events, at, &mut |_| {}).expect("rebuild");
        let r = check(&db, &events).expect("check");
        assert!(r.consistent(), "on {at}: {:?}", r.mismatches);
    }
    let retention = db
        .get("state", cid(2))
        .expect("read")
        .expect("materialized")["retention"]
        .clone();
    assert_eq!(retention["yes"], true, "{retention}");
    assert!(retention["message"].is_null(), "{retention}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ban_fraud_3y_rebuild_and_follow_read_the_termination_that_names_an_accomplice() {
    // Given person 2, who neither holds nor pays contract 1, named as accomplice
    // in the fraud finding that terminates it
    let s = base()
        .given([
            register(2, d(1992, 5, 1)),
            agency(d(2026, 7, 12), annual_1_5()),
        ])
        .advance(d(2026, 8, 20));
    let before = envelopes(&s);
    let s = s
        .given([fraud_with_accomplice(d(2026, 9, 1))])
        .advance(d(2026, 10, 1));
    let events = envelopes(&s);
    let window = |db: &ProjectionDb| {
        let b = db.get("bans", pid(2)).expect("read").expect("materialized");
        b["windows"]
            .as_array()
            .is_some_and(|w| w.iter().any(|x| x["rule"] == "BAN-FRAUD-3Y"))
    };
    // When the projections are rebuilt on the whole log
    let dir = tmp("fraud-accomplice");
    let db = ProjectionDb::open(&dir).expect("open");
    db.rebuild(&events, d(2026, 10, 15), &mut |_| {})
        .expect("rebuild");
    // Then the accomplice's row shows the three-year ban, as the whole log does
    let r = check(&db, &events).expect("check");
    assert!(r.consistent(), "{:?}", r.mismatches);
    assert!(window(&db), "{:?}", db.get("bans", pid(2)));
    // And when they are rebuilt before the finding and followed to the end
    db.rebuild(&before, d(2026, 10, 15), &mut |_| {})
        .expect("rebuild");
    assert!(!window(&db));
    db.catch_up(&events, &mut |_| {}).expect("catch up");
    // Then the follower writes the same row
    let r = check(&db, &events).expect("check");
    assert!(r.consistent(), "{:?}", r.mismatches);
    assert!(window(&db), "{:?}", db.get("bans", pid(2)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ban_fraud_3y_diff_read_from_the_slice_equals_the_diff_read_from_the_whole_log_and_names_contract_events_for_a_person(
) {
    // Given a generated population (payer changes, a fraud with an accomplice,
    // annulments), when contracts and persons are diffed between two `known_at`
    // instants and between two `at` dates, then the diff read from the id's
    // slice (`diff::diff`, what the CLI runs) equals the diff read from the
    // whole log (`diff::diff_whole_log`), and a person's ban window opened by a
    // termination is attributed to events of the contract's stream.
    let events = generated_population(0x5EED_0051, 24);
    let world = navigo_projections::fold(&events.iter().collect::<Vec<_>>());
    let contracts: Vec<uuid::Uuid> = world.contracts.keys().copied().collect();
    let persons: Vec<uuid::Uuid> = world.persons.keys().copied().collect();
    assert!(contracts.len() > 10 && persons.len() > 10);
    let known = |y, m| Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single();
    let pairs = [
        (
            Query {
                at: d(2025, 12, 31),
                known_at: known(2024, 9),
            },
            Query {
                at: d(2025, 12, 31),
                known_at: known(2025, 8),
            },
        ),
        (Query::on(d(2025, 3, 1)), Query::on(d(2025, 12, 31))),
    ];
    let mut compared = 0;
    let mut with_changes = 0;
    let mut bans_from_contract_events = 0;
    for id in contracts.iter().step_by(2).chain(persons.iter().step_by(2)) {
        for (a, b) in &pairs {
            let sliced = diff::diff(&events, *id, a, b).expect("diff");
            let whole = diff::diff_whole_log(&events, *id, a, b).expect("diff_whole_log");
            assert_eq!(sliced, whole, "diff of {id} from {a:?} to {b:?}");
            compared += 1;
            with_changes += usize::from(!sliced.changes.is_empty());
            let contract_positions: Vec<u64> = sliced
                .causes
                .iter()
                .filter(|c| c.envelope.stream.kind == navigo_events_schema::StreamKind::Contract)
                .map(|c| c.envelope.position)
                .collect();
            if world.person(*id).is_some()
                && sliced.changes.iter().any(|c| {
                    c.path.starts_with("bans.")
                        && c.caused_by.iter().any(|p| contract_positions.contains(p))
                })
            {
                bans_from_contract_events += 1;
            }
        }
    }
    assert!(
        compared >= 20 && with_changes * 2 >= compared,
        "{with_changes}/{compared}"
    );
    assert!(
        bans_from_contract_events > 0,
        "no person's ban attributed to a contract event"
    );
}

#[test]
fn pay_cutoff_what_if_read_from_the_slice_equals_the_what_if_read_from_the_whole_log_on_a_generated_population(
) {
    // Given a generated population, when hypothetical suspensions, zone
    // changes, terminations, rejections, payer changes to another person and
    // a fraud finding naming an accomplice are layered on its contracts at past
    // and future dates, then the what-if read from the slice the contract and
    // the commands reach (`whatif::what_if`, what the CLI runs) equals the one
    // read from the whole log (`whatif::what_if_whole_log`): outcomes, refusals,
    // events set aside and both views.
    use navigo_events_schema::command::{
        ChangePayer, ChangeZones, ContractRef, EstablishFraud, RecordDebitRejected, Suspend,
    };
    let events = generated_population(0x5EED_0052, 24);
    let world = navigo_projections::fold(&events.iter().collect::<Vec<_>>());
    let contracts: Vec<uuid::Uuid> = world.contracts.keys().copied().collect();
    let persons: Vec<uuid::Uuid> = world.persons.keys().copied().collect();
    assert!(contracts.len() > 10);
    let batches =
        |c: uuid::Uuid, other: uuid::Uuid| -> Vec<Vec<navigo_events_schema::CommandEnvelope>> {
            let on_contract = |date, channel, command| vec![on(date, channel, command)];
            vec![
                on_contract(
                    d(2025, 3, 10),
                    Channel::Agency,
                    Command::Suspend(Suspend {
                        contract_id: c,
                        effective_date: None,
                        planned_resumption: Some(d(2025, 9, 1)),
                    }),
                ),
                on_contract(
                    d(2025, 8, 5),
                    Channel::Agency,
                    Command::ChangeZones(ChangeZones {
                        contract_id: c,
                        zones: zones("1-5"),
                        effective_date: None,
                    }),
                ),
                on_contract(
                    d(2025, 2, 10),
                    Channel::Agency,
                    Command::TerminateByPayer(ContractRef { contract_id: c }),
                ),
                on_contract(
                    d(2025, 5, 20),
                    Channel::Agency,
                    Command::RecordDebitRejected(RecordDebitRejected {
                        contract_id: c,
                        month: "2025-05".parse().expect("month"),
                        reason_code: "AM04".parse().expect("code"),
                    }),
                ),
                on_contract(
                    d(2024, 11, 5),
                    Channel::Agency,
                    Command::ChangePayer(ChangePayer {
                        contract_id: c,
                        payer: other,
                        mandate: Some(mandate(777)),
                    }),
                ),
                on_contract(
                    d(2025, 4, 2),
                    Channel::Agency,
                    Command::EstablishFraud(EstablishFraud {
                        contract_id: c,
                        kind: navigo_events_schema::event::FraudKind::Usage,
                        fraudster: world.contracts[&c].holder,
                        accomplices: vec![other],
                    }),
                ),
            ]
        };
    let (mut compared, mut accepted, mut refused) = (0, 0, 0);
    for (i, c) in contracts.iter().enumerate().step_by(3) {
        let other = persons[(i * 7 + 3) % persons.len()];
        for cmds in batches(*c, other) {
            let sliced = whatif::what_if(&events, *c, &cmds, None).expect("what-if");
            let whole = whatif::what_if_whole_log(&events, *c, &cmds, None).expect("what-if in");
            assert_eq!(sliced, whole, "what-if on {c}: {cmds:?}");
            compared += 1;
            for o in &sliced.outcomes {
                if o.result.is_ok() {
                    accepted += 1;
                } else {
                    refused += 1;
                }
            }
        }
    }
    eprintln!("{compared} what-ifs compared: {accepted} commands accepted, {refused} refused");
    assert!(
        compared >= 40 && accepted >= 10 && refused >= 1,
        "{compared} {accepted} {refused}"
    );
}

#[test]
fn audit_read_from_the_slice_equals_the_audit_read_from_the_whole_log_on_a_generated_population() {
    // Given a generated population (payer changes, a fraud with an accomplice,
    // annulments), when every contract and every person is audited as known
    // now and as known at two earlier instants, then the trail read from the
    // id's slice (`audit::audit`, what the CLI runs) equals the trail read from
    // the whole log (`audit::audit_whole_log`): lines, balances, corrections.
    let events = generated_population(0x5EED_0053, 24);
    let world = navigo_projections::fold(&events.iter().collect::<Vec<_>>());
    let ids: Vec<uuid::Uuid> = world
        .contracts
        .keys()
        .chain(world.persons.keys())
        .copied()
        .collect();
    let instants = [
        Utc.with_ymd_and_hms(2024, 9, 1, 0, 0, 0).single(),
        Utc.with_ymd_and_hms(2025, 7, 2, 12, 0, 0).single(),
        None,
    ];
    let (mut trails, mut corrections) = (0, 0);
    for id in &ids {
        for known_at in instants {
            let whole = audit::audit_whole_log(&events, *id, known_at);
            let sliced = audit::audit(&events, *id, known_at);
            match (whole, sliced) {
                (Ok(w), Ok(s)) => {
                    assert_eq!(s, w, "audit of {id} known at {known_at:?}");
                    trails += 1;
                    corrections += s.iter().filter(|e| e.corrects.is_some()).count();
                }
                (Err(w), Err(s)) => assert_eq!(s.to_string(), w.to_string()),
                (w, s) => panic!("{id} known at {known_at:?}: whole {w:?}, slice {s:?}"),
            }
        }
    }
    assert!(
        trails > 50 && corrections > 0,
        "{trails} trails, {corrections} corrections"
    );
}

/// The generated population the list tests walk, generated once.
fn list_population() -> &'static [Envelope] {
    static EVENTS: std::sync::OnceLock<Vec<Envelope>> = std::sync::OnceLock::new();
    EVENTS.get_or_init(|| generated_population(0x5EED_0061, 40))
}

/// The ids whose stored rows give an entry of `def` within `range`: a full
/// scan of the rows, the oracle of a list.
fn list_scan(
    db: &ProjectionDb,
    def: &navigo_replay::materialize::index::IndexDef,
    range: &navigo_replay::materialize::index::TermRange,
) -> std::collections::BTreeSet<uuid::Uuid> {
    use navigo_replay::materialize::index::{row_entries, within};
    let (_, rows) = db.stored_rows().expect("rows");
    let bounds = range.key_bounds();
    rows[def.kind]
        .iter()
        .filter(|(id, json)| {
            row_entries(def, **id, json)
                .expect("entries")
                .iter()
                .any(|(k, _)| within(k, &bounds))
        })
        .map(|(id, _)| *id)
        .collect()
}

/// The equality lists walked: each status, the payer of most contracts, the
/// commonest next debit date and debit date, as the whole log gives them.
fn lists_walked(
    db: &ProjectionDb,
) -> Vec<(
    &'static navigo_replay::materialize::index::IndexDef,
    navigo_replay::materialize::index::TermRange,
)> {
    use navigo_replay::materialize::index::{index, row_entries, Term, TermRange};
    let (_, rows) = db.stored_rows().expect("rows");
    let commonest = |name: &str| -> Term {
        let def = index(name).expect("index");
        let mut count: std::collections::BTreeMap<Vec<u8>, (usize, Vec<u8>)> = Default::default();
        for (id, json) in &rows[def.kind] {
            for (k, _) in row_entries(def, *id, json).expect("entries") {
                let term = k[..k.len() - 16].to_vec();
                count.entry(term.clone()).or_insert((0, term)).0 += 1;
            }
        }
        let (_, (_, best)) = count
            .into_iter()
            .max_by_key(|(_, (n, _))| *n)
            .expect("entries");
        // Decoded back from the encoding's own rules: a payer's id or a date.
        let raw = &best[..best.len() - 2];
        match raw.len() {
            16 => Term::Id(uuid::Uuid::from_slice(raw).expect("id")),
            _ => Term::Date(
                std::str::from_utf8(raw)
                    .expect("utf-8")
                    .parse()
                    .expect("date"),
            ),
        }
    };
    let mut out: Vec<_> = ["active", "suspended", "terminated"]
        .into_iter()
        .map(|s| {
            (
                index("contracts_by_status").expect("index"),
                TermRange::eq(Term::Text(s.into())),
            )
        })
        .collect();
    for name in [
        "contracts_by_payer",
        "contracts_by_next_debit",
        "debits_by_date",
    ] {
        out.push((index(name).expect("index"), TermRange::eq(commonest(name))));
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]

    /// The cursor invariants of a list, while events are appended (and caught
    /// up) between its pages: each entry given matches the rows as they are
    /// when its page is read; ids come in strictly increasing order (so none
    /// twice); every row that matches all along is given; and after the walk
    /// every index equals a full scan of the rows.
    #[test]
    fn list_cursor_walk_gives_each_matching_row_once_in_order_while_appends_happen(
        which in 0usize..6,
        limit in 1usize..6,
        cut_percent in 50usize..95,
        step in 1usize..60,
    ) {
        use navigo_replay::materialize::index::PageRequest;
        let events = list_population();
        let at = d(2025, 3, 15);
        let dir = tmp(&format!("list-walk-{which}-{limit}-{cut_percent}-{step}"));
        let db = ProjectionDb::open(&dir).expect("open");
        let mut upto = events.len() * cut_percent / 100;
        db.rebuild(&events[..upto], at, &mut |_| {}).expect("rebuild");
        let walked = lists_walked(&db);
        let (def, range) = walked[which % walked.len()].clone();
        let mut states = vec![list_scan(&db, def, &range)];
        let mut given: Vec<uuid::Uuid> = Vec::new();
        let mut after = None;
        loop {
            let page = db
                .page(&PageRequest { index: def, range: range.clone(), after: after.clone(), limit, filter: None })
                .expect("page");
            let now = list_scan(&db, def, &range);
            for item in &page.items {
                proptest::prop_assert!(now.contains(&item.id), "{} given but not matching", item.id);
            }
            given.extend(page.items.iter().map(|i| i.id));
            if upto < events.len() {
                upto = (upto + step).min(events.len());
                db.catch_up(&events[..upto], &mut |_| {}).expect("catch up");
                states.push(list_scan(&db, def, &range));
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        proptest::prop_assert!(given.windows(2).all(|w| w[0] < w[1]), "{} out of order or twice: {given:?}", def.name);
        let first = states.first().cloned().unwrap_or_default();
        let stable = states.iter().fold(first, |a, s| a.intersection(s).copied().collect());
        for id in &stable {
            proptest::prop_assert!(given.contains(id), "{} never given by {}", id, def.name);
        }
        let r = check(&db, &events[..upto]).expect("check");
        proptest::prop_assert!(r.consistent(), "{:?}", r.mismatches);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn list_indexes_equal_a_scan_of_the_rows_after_every_catch_up() {
    // Given a generated population's projections built on part of its log
    let events = list_population();
    let dir = tmp("list-index-oracle");
    let db = ProjectionDb::open(&dir).expect("open");
    let mut upto = events.len() / 2;
    db.rebuild(&events[..upto], d(2025, 3, 15), &mut |_| {})
        .expect("rebuild");
    // When the rest is caught up in steps, then after each step every index
    // equals the entries a scan of the stored rows gives
    while upto < events.len() {
        upto = (upto + events.len() / 7).min(events.len());
        db.catch_up(&events[..upto], &mut |_| {}).expect("catch up");
        let r = check(&db, &events[..upto]).expect("check");
        assert!(r.consistent(), "at {upto}: {:?}", r.mismatches);
    }
    // And the indexes alone compare equal to the scan of the final rows
    let g = db.current().expect("current").expect("built");
    let (_, rows) = db.stored_rows().expect("rows");
    let mismatches =
        navigo_replay::materialize::check_indexes(&db, g.number, &rows).expect("check");
    assert!(mismatches.is_empty(), "{mismatches:?}");
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_debits_of_a_date_and_bans_active_on_a_date_equal_the_views_computed_on_demand() {
    use navigo_projections::{bans, calendar, Folded, Query};
    use navigo_replay::materialize::index::{index, is_debit, PageRequest, Term, TermRange};
    // Given a generated population rebuilt at the end of its period
    let events = list_population();
    let at = d(2025, 7, 15);
    let dir = tmp("list-semantics");
    let db = ProjectionDb::open(&dir).expect("open");
    db.rebuild(events, at, &mut |_| {}).expect("rebuild");
    let whole = Folded::new(events, &Query::on(at));
    let policy = navigo_rules::Policy::default();
    let walk = |name: &str, range: TermRange| -> Vec<uuid::Uuid> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let p = db
                .page(&PageRequest {
                    index: index(name).expect("index"),
                    range: range.clone(),
                    after,
                    limit: 7,
                    filter: None,
                })
                .expect("page");
            out.extend(p.items.iter().map(|i| i.id));
            match p.next {
                Some(n) => after = Some(n),
                None => return out,
            }
        }
    };
    // When the debits of each first-of-month are listed, then they are the
    // contracts whose calendar, computed on demand, has a debit that day
    let calendars: Vec<(uuid::Uuid, navigo_events_schema::views::DebitCalendar)> = whole
        .known()
        .contracts
        .keys()
        .map(|id| {
            (
                *id,
                calendar::calendar(&whole, *id, &policy, None).expect("calendar"),
            )
        })
        .collect();
    let days: std::collections::BTreeSet<chrono::NaiveDate> = calendars
        .iter()
        .flat_map(|(_, c)| {
            c.rows
                .iter()
                .filter(|r| is_debit(r))
                .filter_map(|r| r.debit_date)
        })
        .collect();
    assert!(
        days.len() > 3,
        "too few debit dates: the test proves little"
    );
    for day in days.iter().step_by(days.len() / 6 + 1).copied() {
        let listed = walk("debits_by_date", TermRange::eq(Term::Date(day)));
        let expected: Vec<uuid::Uuid> = calendars
            .iter()
            .filter(|(_, c)| {
                c.rows
                    .iter()
                    .any(|r| is_debit(r) && r.debit_date == Some(day))
            })
            .map(|(id, _)| *id)
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(listed, expected, "debits of {day}");
    }
    // And the persons with a ban window active on the date are those the
    // bans view, computed on demand, says (start <= date < end)
    let every = bans::every_person_bans(&whole);
    let mut any_ban = false;
    for on in [d(2025, 7, 2), d(2025, 7, 15), d(2026, 1, 1)] {
        let bounds = TermRange {
            lo: std::ops::Bound::Excluded(Term::Date(on)),
            hi: std::ops::Bound::Unbounded,
        };
        let mut listed = Vec::new();
        let mut after = None;
        let on_text = on.to_string();
        let started = |e: &serde_json::Value| {
            let kept: Vec<serde_json::Value> = e
                .as_array()?
                .iter()
                .filter(|w| w["start"].as_str() <= Some(on_text.as_str()))
                .cloned()
                .collect();
            (!kept.is_empty()).then_some(serde_json::Value::Array(kept))
        };
        loop {
            let p = db
                .page(&PageRequest {
                    index: index("bans_by_end").expect("index"),
                    range: bounds.clone(),
                    after,
                    limit: 3,
                    filter: Some(&started),
                })
                .expect("page");
            listed.extend(p.items.iter().map(|i| i.id));
            match p.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        listed.sort();
        listed.dedup();
        let expected: Vec<uuid::Uuid> = every
            .iter()
            .filter(|(_, b)| b.windows.iter().any(|w| w.start <= on && on < w.end))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(listed, expected, "bans active on {on}");
        any_ban |= !listed.is_empty();
    }
    assert!(
        any_ban,
        "no ban active on any date read: the test proves nothing"
    );
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
