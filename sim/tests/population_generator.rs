//! The population generator: deterministic for a seed, ordered,
//! and covering every product, channel, payment method and life event.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use navigo_events_schema::mandate::Iban;
use navigo_events_schema::types::{Channel, MandateInput, PaymentRequest, Product};
use navigo_events_schema::Command;
use navigo_sim::generate::{generate, Intent, PlanWindows, PopulationConfig, Step};
use navigo_sim::spill::Spill;

fn config(seed: u64, contracts: u32) -> PopulationConfig {
    PopulationConfig {
        seed,
        contracts,
        from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        through: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
    }
}

fn campaigns() -> Vec<(uuid::Uuid, navigo_events_schema::event::CampaignPublished)> {
    navigo_rules::reference::builtin_campaigns().unwrap()
}

#[test]
fn population_same_seed_gives_the_same_plan_and_another_seed_another() {
    // Given two generations with the same seed and one with another
    let a = generate(config(7, 300), &campaigns());
    let b = generate(config(7, 300), &campaigns());
    let c = generate(config(8, 300), &campaigns());
    // Then the same seed gives the same plan, another seed a different one
    assert_eq!(a, b);
    assert_ne!(a.commands, c.commands);
}

#[test]
fn plan_windows_concatenated_are_the_whole_plan_with_a_bounded_window_each() {
    // Given a population's whole plan, and the same population a window of
    // at most 500 requests at a time
    let whole = generate(config(13, 400), &campaigns());
    let campaigns = campaigns();
    let mut windows = PlanWindows::new(config(13, 400), &campaigns, 500).unwrap();
    assert_eq!(windows.requests(), whole.commands.len());
    assert_eq!(windows.persons(), whole.persons);
    assert_eq!(windows.config(), whole.config);
    // When every window is generated
    let mut joined = Vec::new();
    let mut count = 0;
    while let Some(w) = windows.next_window().unwrap() {
        // Then each holds at most its bound (no day of this population asks
        // more than 500 requests)
        assert!(!w.is_empty() && w.len() <= 500, "a window of {}", w.len());
        joined.extend(w);
        count += 1;
    }
    // And together they are the whole plan, request for request, in order
    assert!(count > 3, "{count} windows: the bound cut the plan");
    assert_eq!(joined, whole.commands);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(10))]

    /// The windows from one spilled run are `generate`'s plan whatever the
    /// seed, the size, the period, the window's bound and the spill's buffer
    /// (a small buffer writes each day in many chunks).
    #[test]
    fn plan_windows_spilled_are_the_whole_plan_for_any_seed_size_and_bound(
        seed in proptest::prelude::any::<u64>(),
        contracts in 0u32..150,
        months in 1u32..30,
        requests_max in 1usize..600,
        buffered_bytes_max in 0usize..20_000,
    ) {
        let from = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let through = navigo_events_schema::types::add_months(from, months) - chrono::Duration::days(1);
        let cfg = PopulationConfig { seed, contracts, from, through };
        let campaigns = campaigns();
        let whole = generate(cfg, &campaigns);
        let spill = Spill::new_in(&std::env::temp_dir(), buffered_bytes_max).unwrap();
        let mut windows = PlanWindows::with_spill(cfg, &campaigns, requests_max, spill).unwrap();
        proptest::prop_assert_eq!(windows.requests(), whole.commands.len());
        proptest::prop_assert_eq!(windows.persons(), whole.persons);
        let mut joined = Vec::new();
        while let Some(w) = windows.next_window().unwrap() {
            // Each window within its bound, or a single day above it.
            let days: BTreeSet<NaiveDate> =
                w.iter().map(|p| navigo_rules::calendar::paris_date(p.at)).collect();
            proptest::prop_assert!(!w.is_empty());
            proptest::prop_assert!(w.len() <= requests_max || days.len() == 1, "{} requests", w.len());
            joined.extend(w);
        }
        proptest::prop_assert_eq!(windows.windows_left(), 0);
        proptest::prop_assert!(joined == whole.commands, "the windows differ from the plan");
    }
}

#[test]
fn population_requests_are_in_strict_instant_order_with_unique_keys() {
    let plan = generate(config(11, 500), &campaigns());
    let mut keys = BTreeSet::new();
    for w in plan.commands.windows(2) {
        assert!(w[0].at < w[1].at, "{} then {}", w[0].at, w[1].at);
    }
    for p in &plan.commands {
        assert!(keys.insert(p.key.clone()), "duplicate key {}", p.key);
        if let Step::Command(c) = &p.step {
            assert_eq!(c.request_at, p.at);
        }
        let d = navigo_rules::calendar::paris_date(p.at);
        assert!(d >= plan.config.from && d <= plan.config.through, "{d}");
    }
}

#[test]
fn population_covers_every_product_channel_debit_day_and_life_event() {
    // Given a population of 3,000 contracts over 2024-2026
    let plan = generate(config(2024, 3_000), &campaigns());
    let mut products = BTreeSet::new();
    let mut channels = BTreeSet::new();
    let mut debit_days = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    let mut cash = 0;
    let mut third_party = 0;
    let mut accomplices = 0;
    let mut reasons = BTreeSet::new();
    for p in &plan.commands {
        match &p.step {
            Step::Command(c) => {
                kinds.insert(navigo_sim::driver::command_name(&c.command));
                match &c.command {
                    Command::Subscribe(s) => {
                        products.insert(s.product.to_string());
                        channels.insert(format!("{:?}", c.channel));
                        match &s.payment {
                            PaymentRequest::DirectDebit { debit_day, mandate } => {
                                debit_days.insert(debit_day.day());
                                // PAY-METHOD: every generated account is a
                                // French IBAN that validates as typed back.
                                let iban = mandate.debtor.iban.as_str();
                                assert!(iban.starts_with("FR76"), "{}", mandate.debtor.iban);
                                assert!(iban.parse::<Iban>().is_ok());
                                assert!(mandate.signed_on <= request_date(c));
                            }
                            PaymentRequest::Cash => cash += 1,
                        }
                        if s.third_party_payer {
                            third_party += 1;
                            assert_ne!(c.channel, Some(Channel::Online), "SUB-THIRD-PARTY");
                        }
                        if s.product == Product::Senior {
                            assert_eq!(c.channel, Some(Channel::Agency), "SUB-SENIOR");
                        }
                    }
                    Command::EstablishFraud(f) if !f.accomplices.is_empty() => accomplices += 1,
                    _ => {}
                }
            }
            Step::Intent(Intent::RejectDebit { reason_code, .. }) => {
                reasons.insert(reason_code.as_str().to_owned());
            }
            Step::Intent(_) => {}
        }
    }
    // Then every product, both main channels, every debit day and cash appear
    for p in [
        "annual 1-5",
        "annual 2-3",
        "annual 3-4",
        "annual 4-5",
        "senior",
    ] {
        assert!(products.contains(p), "{p} missing from {products:?}");
    }
    assert!(channels.contains("Some(Online)") && channels.contains("Some(Agency)"));
    assert_eq!(debit_days, BTreeSet::from([1, 2, 8, 12]));
    assert!(cash > 0 && third_party > 0 && accomplices > 0);
    // And every kind of request a population sends
    for k in [
        "RegisterPerson",
        "DeclareWorkStudyPlace",
        "Subscribe",
        "Suspend",
        "Resume",
        "ChangeZones",
        "DeclareLoss",
        "ChangeDebitDay",
        "ChangePayer",
        "SwitchPaymentMethod",
        "TerminateByPayer",
        "EstablishFraud",
        "RequestSeniorSwitch",
        "ValidateSeniorSwitch",
        "FileRefundClaim",
        "ChangeAddress",
        "AdvanceClock",
    ] {
        assert!(kinds.contains(k), "{k} missing");
    }
    // And the rejections carry a mix of reason codes, AM04 among them
    assert!(reasons.contains("AM04") && reasons.contains("MD07") && reasons.len() >= 5);
}

/// The Paris date a planned command is requested on.
fn request_date(c: &navigo_events_schema::CommandEnvelope) -> NaiveDate {
    navigo_rules::calendar::paris_date(c.request_at)
}

/// Every mandate a planned command gives: subscriptions, payer changes and
/// switches to direct debit, with the command's request date.
fn mandates(plan: &navigo_sim::generate::Plan) -> Vec<(NaiveDate, MandateInput)> {
    let mut out = Vec::new();
    for p in &plan.commands {
        let (c, m) = match &p.step {
            Step::Command(c) => match &c.command {
                Command::Subscribe(s) => (c, s.payment.clone()),
                Command::ChangePayer(s) => match &s.mandate {
                    Some(m) => (
                        c,
                        PaymentRequest::DirectDebit {
                            debit_day: navigo_events_schema::types::DebitDay::DEFAULT,
                            mandate: m.clone(),
                        },
                    ),
                    None => continue,
                },
                _ => continue,
            },
            Step::Intent(Intent::CashRenewal {
                switch_to: Some(to),
                ..
            }) => {
                if let PaymentRequest::DirectDebit { mandate, .. } = to {
                    out.push((p.at.date_naive(), mandate.clone()));
                }
                continue;
            }
            _ => continue,
        };
        if let PaymentRequest::DirectDebit { mandate, .. } = m {
            out.push((request_date(c), mandate));
        }
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8))]

    /// `PAY-METHOD`: whatever the seed, every account the simulator gives is a
    /// French IBAN (`FR76`) that the IBAN validator accepts as written on the
    /// wire, signed no later than the request that gives it, and the same seed
    /// gives the same accounts.
    #[test]
    fn pay_method_generated_mandates_have_valid_ibans(seed in proptest::prelude::any::<u64>()) {
        let plan = generate(config(seed, 40), &campaigns());
        let mandates = mandates(&plan);
        proptest::prop_assert!(!mandates.is_empty());
        for (requested, m) in &mandates {
            let wire = serde_json::to_value(&m.debtor.iban).expect("JSON");
            let text = wire.as_str().expect("a string");
            proptest::prop_assert!(text.starts_with("FR76"));
            proptest::prop_assert!(text.parse::<Iban>().is_ok());
            proptest::prop_assert!(m.signed_on <= *requested);
        }
        let again = generate(config(seed, 40), &campaigns());
        proptest::prop_assert_eq!(mandates, self::mandates(&again));
    }
}
