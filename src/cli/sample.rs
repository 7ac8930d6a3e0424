//! `navigo-ledger sample`: a small, realistic ledger to look at.
//!
//! Three persons, two contracts (one paid by direct debit, one in cash), the
//! 2026 tariff, a first payment and a monthly debit, built from the real event
//! types. Each append carries an idempotency key, so running `sample` twice
//! appends nothing the second time.

use std::process::ExitCode;

use crate::app::store::AnyStore;
use chrono::NaiveDate;
use navigo_events_schema::event::{
    ChargeKind, ChargeLine, ContractSubscribed, DebitPresented, FirstPaymentCollected,
    PaymentMeans, PersonDetails, PersonRegistered, PlaceProof, TariffPrice, TariffPublished,
    TariffRef, WorkStudyPlaceDeclared,
};
use navigo_events_schema::mandate::{DebtorAccount, Iban, MandateInput};
use navigo_events_schema::sealed::Sealed;
use navigo_events_schema::types::{
    Actor, ActorRole, Address, Channel, DebitDay, Mandate, Mark, PaymentSetup, PlaceKind, Product,
    ProductKey, Support, Zones,
};
use navigo_events_schema::{Event, Money, NewEvent, StreamId, YearMonth};
use navigo_store::{AppendOutcome, AppendRequest, ExpectedVersion};
use uuid::Uuid;

use super::exit::{CmdResult, EXIT_REFUSED};
use super::stats::print_stats;
use crate::app::ledger::{init_store, open_store};
use crate::app::place::Place;

const ALICE: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_a11c);
const BRUNO: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_b000);
const CHLOE: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_c000);
const CONTRACT_A: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0001_000a);
const CONTRACT_B: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0001_000b);

/// Creates, fills, verifies and describes the sample ledger.
///
/// # Errors
/// `--data` is not a ledger, or a storage failure.
pub async fn run(data: &Place) -> CmdResult {
    if init_store(data).await? {
        outln!("created an empty ledger in {}", data.shown());
    }
    let store = open_store(data).await?;
    let result = fill(&store).await;
    let report = store.verify().await;
    let stats = store.stats().await;
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

async fn fill(store: &AnyStore) -> anyhow::Result<()> {
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
        personal: Sealed::clear(PersonDetails {
            first_name: first.into(),
            last_name: last.into(),
            birth_date: birth,
            emancipation_proof: None,
            address: Address {
                street: String::new(),
                postal_code: postal.into(),
                municipality: town.into(),
            },
        }),
    }))
}

/// The values several of the sample's events share: one tariff, the months and
/// start dates of the two contracts, Alice's mandate.
struct Terms {
    zones: Zones,
    annual: Money,
    installment: Money,
    dossier_fee: Money,
    tariff_from: NaiveDate,
    tariff_ref: TariffRef,
    july: YearMonth,
    august: YearMonth,
    mandate: Mandate,
    start_a: NaiveDate,
    start_b: NaiveDate,
}

fn terms() -> anyhow::Result<Terms> {
    let zones: Zones = "1-5".parse()?;
    let annual = money("998.80")?;
    let tariff_from = date(2026, 1, 1)?;
    Ok(Terms {
        zones,
        annual,
        installment: money("90.80")?,
        dossier_fee: money("7.60")?,
        tariff_from,
        tariff_ref: TariffRef {
            product: ProductKey::Annual(zones),
            effective_from: tariff_from,
            annual,
            mark: Mark::Verified,
        },
        july: "2026-07".parse()?,
        august: "2026-08".parse()?,
        mandate: MandateInput {
            reference: "UMR-NAVIGO-0001".parse()?,
            signed_on: date(2026, 7, 1)?,
            debtor: DebtorAccount {
                iban: Iban::french(30004, 7731, 7731),
                bic: None,
                holder_name: "Alice Martin".parse()?,
            },
        }
        .to_mandate(ALICE),
        start_a: date(2026, 7, 12)?,
        start_b: date(2026, 9, 1)?,
    })
}

/// Every append of the sample, in the order they are made.
fn sample_requests() -> anyhow::Result<Vec<AppendRequest>> {
    let t = terms()?;
    let mut requests = vec![tariff(&t)];
    requests.extend(persons()?);
    requests.extend(contract_a(&t)?);
    requests.push(contract_b(&t)?);
    Ok(requests)
}

/// The 2026 tariff of the zones the two contracts hold.
fn tariff(t: &Terms) -> AppendRequest {
    req(
        "tariff-2026",
        StreamId::catalogue(),
        vec![ev(
            1,
            t.tariff_from,
            agent(),
            None,
            Event::TariffPublished(TariffPublished {
                effective_from: t.tariff_from,
                prices: vec![TariffPrice {
                    product: ProductKey::Annual(t.zones),
                    annual: t.annual,
                    mark: Mark::Verified,
                }],
                source: "DATA.md: Navigo Annuel annual prices, 2026-01-01".into(),
            }),
        )],
    )
}

/// Alice and Bruno, registered at an agency; Chloé, online, with her place of
/// study.
fn persons() -> anyhow::Result<Vec<AppendRequest>> {
    Ok(vec![
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
                        place: Sealed::clear(PlaceProof {
                            municipality: "Paris".into(),
                            proof_ref: "CERT-SCOL-2026-118".into(),
                        }),
                    }),
                ),
            ],
        ),
    ])
}

/// Alice's contract, paid by direct debit: its subscription with the first
/// payment, then the August debit.
fn contract_a(t: &Terms) -> anyhow::Result<Vec<AppendRequest>> {
    let subscribe = req(
        "contract-a-subscribe",
        StreamId::contract(CONTRACT_A),
        vec![
            // Starts on 12 July: 20 remaining days, a full first month
            // (TAR-PRORATA) and the free month eleven months on (PAY-FREE-MONTH).
            ev(
                6,
                t.start_a,
                customer("C100001"),
                Some(Channel::Online),
                Event::ContractSubscribed(ContractSubscribed {
                    holder: ALICE,
                    payer: ALICE,
                    product: Product::Annual { zones: t.zones },
                    channel: Channel::Online,
                    payment: PaymentSetup::DirectDebit {
                        debit_day: DebitDay::DEFAULT,
                        mandate: t.mandate.clone(),
                    },
                    third_party_payer: false,
                    senior_declaration: None,
                    support: Support::Pass,
                    rulebook: "CGVU-2026".into(),
                    remaining_days: 20,
                    first_free_month: Some(t.july.plus(11)),
                }),
            ),
            ev(
                7,
                t.start_a,
                customer("C100001"),
                Some(Channel::Online),
                Event::FirstPaymentCollected(FirstPaymentCollected {
                    amount: t.installment,
                    dossier_fee: t.dossier_fee,
                    means: PaymentMeans::CardOnline,
                    covers_from: t.july,
                    covers_until: t.july,
                    lines: vec![installment_line(t, t.july), dossier_fee_line(t, t.july)],
                }),
            ),
        ],
    );
    let debit = req(
        "contract-a-debit-2026-08",
        StreamId::contract(CONTRACT_A),
        vec![ev(
            8,
            date(2026, 8, 1)?,
            Actor::billing_clock(),
            None,
            Event::DebitPresented(DebitPresented {
                month: t.august,
                amount: t.installment,
                due: t.installment,
                lines: vec![installment_line(t, t.august)],
                mandate_reference: t.mandate.reference.clone(),
                payer: ALICE,
            }),
        )],
    );
    Ok(vec![subscribe, debit])
}

/// Bruno's contract, paid in cash at an agency: the whole year at once.
fn contract_b(t: &Terms) -> anyhow::Result<AppendRequest> {
    let september: YearMonth = "2026-09".parse()?;
    Ok(req(
        "contract-b-subscribe",
        StreamId::contract(CONTRACT_B),
        vec![
            ev(
                9,
                t.start_b,
                agent(),
                Some(Channel::Agency),
                Event::ContractSubscribed(ContractSubscribed {
                    holder: BRUNO,
                    payer: BRUNO,
                    product: Product::Annual { zones: t.zones },
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
                t.start_b,
                agent(),
                Some(Channel::Agency),
                Event::FirstPaymentCollected(FirstPaymentCollected {
                    amount: t.annual,
                    dossier_fee: t.dossier_fee,
                    means: PaymentMeans::Card,
                    covers_from: september,
                    covers_until: "2027-08".parse()?,
                    lines: vec![
                        ChargeLine {
                            kind: ChargeKind::CashAnnual,
                            amount: t.annual,
                            days: None,
                            month: september,
                            tariff: Some(t.tariff_ref.clone()),
                        },
                        dossier_fee_line(t, september),
                    ],
                }),
            ),
        ],
    ))
}

/// A month's full installment at the sample's tariff.
fn installment_line(t: &Terms, month: YearMonth) -> ChargeLine {
    ChargeLine {
        kind: ChargeKind::FullInstallment,
        amount: t.installment,
        days: None,
        month,
        tariff: Some(t.tariff_ref.clone()),
    }
}

/// The dossier fee, charged with a contract's first payment.
fn dossier_fee_line(t: &Terms, month: YearMonth) -> ChargeLine {
    ChargeLine {
        kind: ChargeKind::DossierFee,
        amount: t.dossier_fee,
        days: None,
        month,
        tariff: None,
    }
}
