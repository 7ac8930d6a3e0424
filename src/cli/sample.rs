//! `navigo-ledger sample`: a small, realistic ledger to look at.
//!
//! Three persons, two contracts (one paid by direct debit, one in cash), the
//! 2026 tariff, a first payment and a monthly debit, built from the real event
//! types. Each append carries an idempotency key, so running `sample` twice
//! appends nothing the second time.

use std::path::Path;
use std::process::ExitCode;

use chrono::NaiveDate;
use navigo_events_schema::event::{
    ChargeKind, ChargeLine, ContractSubscribed, DebitPresented, FirstPaymentCollected,
    PaymentMeans, PersonRegistered, TariffPrice, TariffPublished, TariffRef,
    WorkStudyPlaceDeclared,
};
use navigo_events_schema::types::{
    Actor, ActorRole, Address, Channel, DebitDay, Mandate, Mark, PaymentSetup, PlaceKind, Product,
    ProductKey, Support, Zones,
};
use navigo_events_schema::{Event, Money, NewEvent, StreamId, YearMonth};
use navigo_store::{AppendOutcome, AppendRequest, ExpectedVersion};
use navigo_store_sled::{InitOutcome, SledStore};
use uuid::Uuid;

use super::exit::{CmdResult, EXIT_REFUSED};
use super::stats::print_stats;
use crate::app::ledger::open_store;

const ALICE: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_a11c);
const BRUNO: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_b000);
const CHLOE: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_c000);
const CONTRACT_A: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0001_000a);
const CONTRACT_B: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0001_000b);

/// Creates, fills, verifies and describes the sample ledger.
///
/// # Errors
/// `--data` is not a ledger, or a storage failure.
pub async fn run(data: &Path) -> CmdResult {
    if SledStore::init(data)? == InitOutcome::Created {
        outln!("created an empty ledger in {}", data.display());
    }
    let store = open_store(data)?;
    let result = fill(&store).await;
    let report = store.verify();
    let stats = store.stats();
    store.close().await?;
    result?;
    let report = report?;
    match &report.first_bad {
        None => outln!(
            "verify: ok, {} records, head hash {}",
            report.records_checked,
            report.head.hash
        ),
        Some(bad) => {
            outln!("verify: FAILED at {bad}");
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
    }
    print_stats(&stats?)?;
    outln!(
        "try: navigo-ledger --data {} history contract:{CONTRACT_A}",
        data.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn fill(store: &SledStore) -> anyhow::Result<()> {
    let requests = sample_requests()?;
    let outcomes = store.append_all(requests).await?;
    let (mut new, mut old) = (0, 0);
    for o in &outcomes {
        match o {
            AppendOutcome::Appended { positions, .. } => new += positions.len(),
            AppendOutcome::AlreadyAppended { positions } => old += positions.len(),
        }
    }
    outln!("sample: {new} events appended, {old} already in the ledger");
    Ok(())
}

fn date(y: i32, m: u32, d: u32) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| anyhow::anyhow!("bad sample date {y}-{m}-{d}"))
}

fn money(s: &str) -> anyhow::Result<Money> {
    Ok(s.parse()?)
}

fn agent() -> Actor {
    Actor {
        role: ActorRole::Agent,
        id: "AG-0042".into(),
    }
}

fn customer(n: &str) -> Actor {
    Actor {
        role: ActorRole::Customer,
        id: n.into(),
    }
}

/// One event, with ids derived from the sample's fixed ids (event ids are not part
/// of the idempotency content, but fixed ones keep the sample reproducible).
fn ev(
    n: u128,
    effective: NaiveDate,
    actor: Actor,
    channel: Option<Channel>,
    event: Event,
) -> NewEvent {
    NewEvent {
        event_id: Uuid::from_u128(0x0192_0000_0000_7000_9000_0000_0000_0000 | n),
        effective_date: effective,
        actor,
        channel,
        correlation_id: Uuid::from_u128(0x0192_0000_0000_7000_a000_0000_0000_0000 | n),
        causation_id: None,
        event,
    }
}

fn req(key: &str, stream: StreamId, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        stream,
        expected: ExpectedVersion::Any,
        events,
        idempotency_key: Some(format!("sample/{key}")),
        recorded_at: None,
    }
}

fn person(
    first: &str,
    last: &str,
    number: &str,
    birth: NaiveDate,
    postal: &str,
    town: &str,
) -> anyhow::Result<Event> {
    Ok(Event::PersonRegistered(PersonRegistered {
        client_number: number.parse()?,
        first_name: first.into(),
        last_name: last.into(),
        birth_date: birth,
        emancipation_proof: None,
        address: Address {
            street: String::new(),
            postal_code: postal.into(),
            municipality: town.into(),
        },
    }))
}

fn sample_requests() -> anyhow::Result<Vec<AppendRequest>> {
    let zones: Zones = "1-5".parse()?;
    let annual = money("998.80")?;
    let installment = money("90.80")?;
    let tariff_from = date(2026, 1, 1)?;
    let tariff_ref = TariffRef {
        product: ProductKey::Annual(zones),
        effective_from: tariff_from,
        annual,
        mark: Mark::Verified,
    };
    let july: YearMonth = "2026-07".parse()?;
    let august: YearMonth = "2026-08".parse()?;
    let mandate = Mandate {
        reference: "UMR-NAVIGO-0001".into(),
        account_ref: "ACC-7731".into(),
    };
    let start_a = date(2026, 7, 12)?;
    let start_b = date(2026, 9, 1)?;
    Ok(vec![
        req(
            "tariff-2026",
            StreamId::catalogue(),
            vec![ev(
                1,
                tariff_from,
                agent(),
                None,
                Event::TariffPublished(TariffPublished {
                    effective_from: tariff_from,
                    prices: vec![TariffPrice {
                        product: ProductKey::Annual(zones),
                        annual,
                        mark: Mark::Verified,
                    }],
                    source: "DATA.md: Navigo Annuel annual prices, 2026-01-01".into(),
                }),
            )],
        ),
        req(
            "person-alice",
            StreamId::person(ALICE),
            vec![ev(
                2,
                date(2026, 7, 1)?,
                agent(),
                Some(Channel::Agency),
                person(
                    "Alice",
                    "Martin",
                    "C100001",
                    date(1988, 3, 14)?,
                    "75011",
                    "Paris",
                )?,
            )],
        ),
        req(
            "person-bruno",
            StreamId::person(BRUNO),
            vec![ev(
                3,
                date(2026, 8, 20)?,
                agent(),
                Some(Channel::Agency),
                person(
                    "Bruno",
                    "Dubois",
                    "C100002",
                    date(1975, 11, 2)?,
                    "95100",
                    "Argenteuil",
                )?,
            )],
        ),
        req(
            "person-chloe",
            StreamId::person(CHLOE),
            vec![
                ev(
                    4,
                    date(2026, 9, 3)?,
                    customer("C100003"),
                    Some(Channel::Online),
                    person(
                        "Chloé",
                        "Bernard",
                        "C100003",
                        date(2004, 6, 30)?,
                        "93200",
                        "Saint-Denis",
                    )?,
                ),
                ev(
                    5,
                    date(2026, 9, 3)?,
                    customer("C100003"),
                    Some(Channel::Online),
                    Event::WorkStudyPlaceDeclared(WorkStudyPlaceDeclared {
                        kind: PlaceKind::Study,
                        municipality: "Paris".into(),
                        proof_ref: "CERT-SCOL-2026-118".into(),
                    }),
                ),
            ],
        ),
        req(
            "contract-a-subscribe",
            StreamId::contract(CONTRACT_A),
            vec![
                // Starts on 12 July: 20 remaining days, a full first month
                // (TAR-PRORATA) and the free month eleven months on (PAY-FREE-MONTH).
                ev(
                    6,
                    start_a,
                    customer("C100001"),
                    Some(Channel::Online),
                    Event::ContractSubscribed(ContractSubscribed {
                        holder: ALICE,
                        payer: ALICE,
                        product: Product::Annual { zones },
                        channel: Channel::Online,
                        payment: PaymentSetup::DirectDebit {
                            debit_day: DebitDay::DEFAULT,
                            mandate: mandate.clone(),
                        },
                        third_party_payer: false,
                        senior_declaration: None,
                        support: Support::Pass,
                        rulebook: "CGVU-2026".into(),
                        remaining_days: 20,
                        first_free_month: Some(july.plus(11)),
                    }),
                ),
                ev(
                    7,
                    start_a,
                    customer("C100001"),
                    Some(Channel::Online),
                    Event::FirstPaymentCollected(FirstPaymentCollected {
                        amount: installment,
                        dossier_fee: money("7.60")?,
                        means: PaymentMeans::CardOnline,
                        covers_from: july,
                        covers_until: july,
                        lines: vec![
                            ChargeLine {
                                kind: ChargeKind::FullInstallment,
                                amount: installment,
                                days: None,
                                month: july,
                                tariff: Some(tariff_ref.clone()),
                            },
                            ChargeLine {
                                kind: ChargeKind::DossierFee,
                                amount: money("7.60")?,
                                days: None,
                                month: july,
                                tariff: None,
                            },
                        ],
                    }),
                ),
            ],
        ),
        req(
            "contract-a-debit-2026-08",
            StreamId::contract(CONTRACT_A),
            vec![ev(
                8,
                date(2026, 8, 1)?,
                Actor::billing_clock(),
                None,
                Event::DebitPresented(DebitPresented {
                    month: august,
                    amount: installment,
                    due: installment,
                    lines: vec![ChargeLine {
                        kind: ChargeKind::FullInstallment,
                        amount: installment,
                        days: None,
                        month: august,
                        tariff: Some(tariff_ref.clone()),
                    }],
                    mandate_reference: mandate.reference.clone(),
                    payer: ALICE,
                }),
            )],
        ),
        req(
            "contract-b-subscribe",
            StreamId::contract(CONTRACT_B),
            vec![
                ev(
                    9,
                    start_b,
                    agent(),
                    Some(Channel::Agency),
                    Event::ContractSubscribed(ContractSubscribed {
                        holder: BRUNO,
                        payer: BRUNO,
                        product: Product::Annual { zones },
                        channel: Channel::Agency,
                        payment: PaymentSetup::Cash,
                        third_party_payer: false,
                        senior_declaration: None,
                        support: Support::Pass,
                        rulebook: "CGVU-2026".into(),
                        remaining_days: 30,
                        first_free_month: None,
                    }),
                ),
                ev(
                    10,
                    start_b,
                    agent(),
                    Some(Channel::Agency),
                    Event::FirstPaymentCollected(FirstPaymentCollected {
                        amount: annual,
                        dossier_fee: money("7.60")?,
                        means: PaymentMeans::Card,
                        covers_from: "2026-09".parse()?,
                        covers_until: "2027-08".parse()?,
                        lines: vec![
                            ChargeLine {
                                kind: ChargeKind::CashAnnual,
                                amount: annual,
                                days: None,
                                month: "2026-09".parse()?,
                                tariff: Some(tariff_ref),
                            },
                            ChargeLine {
                                kind: ChargeKind::DossierFee,
                                amount: money("7.60")?,
                                days: None,
                                month: "2026-09".parse()?,
                                tariff: None,
                            },
                        ],
                    }),
                ),
            ],
        ),
    ])
}
