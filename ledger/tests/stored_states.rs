//! The stored form of paged contract states (`states::stored`, state schema
//! version 7):
//! - encoding a state then decoding it gives the state back, for every
//!   contract of a generated population and for generated states that take
//!   every variant of what a state holds (products, payment setups, mandates,
//!   statuses, activity declarations, refunds, notices, prepared terms) with
//!   arbitrary amounts and dates;
//! - bytes that are not a whole stored state are refused, never misread;
//! - a space written by the previous version (CBOR states keyed by field
//!   names, frames of version 6) is refused and rebuilt from the log, and a
//!   single state entry of that version is refolded from its own stream;
//! - states kept apart from the log (store formats 3 and 4) that are lost or damaged
//!   are rebuilt from the log.

mod population;

use std::sync::OnceLock;

use chrono::NaiveDate;
use navigo_events_schema::event::{
    FeeKind, LossKind, PaymentMeans, RefundMethod, RefundReason, SuspensionCause, TerminationReason,
};
use navigo_events_schema::types::{
    ActivityDeclaration, DebitDay, Mandate, PaymentSetup, Product, ReasonCode, Zones,
};
use navigo_events_schema::{Money, StreamId, YearMonth};
use navigo_ledger_core::states::{self, stored, Refused, STATES_SPACE};
use navigo_ledger_core::{ClockMode, Ledger};
use navigo_rules::contract::state::{
    ContractState, Loss, MonthMoney, OneOffPayment, PreparedTerms, Refund, Rejection,
    SeniorSwitchPending, Status, StatusChange, TreasuryNotice,
};
use navigo_rules::world::World;
use navigo_rules::Policy;
use navigo_sim::driver::{resolve, send};
use navigo_store::{DerivedBatch, EventStore};
use navigo_store_sled::SledStore;
use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use population::{builtin_at, fresh_dir, open_store, plan, rt};

/// The version before the positional form: CBOR keyed by field names.
const PREVIOUS_STATE_SCHEMA_VERSION: u32 = 6;

/// Drives a generated population into a ledger in `dir` (every state resident),
/// closes it (which writes every state), and returns its world.
async fn driven(dir: &std::path::Path, seed: u64, contracts: u32) -> World {
    let plan = plan(seed, contracts);
    let mut ledger = Ledger::open(open_store(dir), Policy::default(), 7)
        .await
        .unwrap();
    ledger
        .load_builtin_reference(builtin_at(), ClockMode::Import)
        .await
        .unwrap();
    for p in &plan.commands {
        for cmd in resolve(ledger.world(), p) {
            send(&mut ledger, &cmd).await.unwrap();
        }
    }
    let world = ledger.world().clone();
    ledger.close().await.unwrap().close().await.unwrap();
    world
}

/// Closes `ledger`, which rebuilt its states from the log, and checks that
/// the next open of `dir` verifies and takes them (no refusal, the snapshot at
/// `world`'s position, the same contracts); then removes `dir`.
async fn reopens_from_the_states_it_rebuilt(
    dir: &std::path::Path,
    ledger: Ledger<SledStore>,
    world: &World,
) {
    ledger.close().await.unwrap().close().await.unwrap();
    let ledger = Ledger::open(open_store(dir), Policy::default(), 7)
        .await
        .unwrap();
    assert_eq!(ledger.opened().snapshot_refused, None);
    assert_eq!(ledger.opened().snapshot_position, Some(world.position));
    assert_eq!(ledger.world().contracts, world.contracts);
    ledger.into_store().close().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// The contract states of one generated population, driven once for every case.
fn population_states() -> &'static [ContractState] {
    static STATES: OnceLock<Vec<ContractState>> = OnceLock::new();
    STATES.get_or_init(|| {
        rt().block_on(async {
            let dir = fresh_dir("stored-population");
            let world = driven(&dir, 31, 30).await;
            let _ = std::fs::remove_dir_all(&dir);
            world.contracts.into_values().collect()
        })
    })
}

fn round_trip(state: &ContractState) -> ContractState {
    let bytes = stored::encode(state).unwrap();
    stored::decode(&bytes).unwrap()
}

#[test]
fn state_stored_form_round_trips_every_contract_of_a_generated_population() {
    let states = population_states();
    assert!(states.len() >= 30, "{} states", states.len());
    for s in states {
        assert_eq!(&round_trip(s), s, "contract {}", s.id);
        for p in &s.prepared {
            assert_eq!(&round_trip(&p.before), &*p.before);
        }
    }
    // The population reaches the variants the generated states below do not
    // build by hand: direct debits with their sealed mandates, and debits.
    assert!(states
        .iter()
        .any(|s| s.payments.iter().any(|(_, p)| p.is_direct_debit())));
    assert!(states.iter().any(|s| !s.debits.is_empty()));
}

#[test]
fn state_stored_form_refuses_bytes_that_are_not_a_whole_state() {
    let state = &population_states()[0];
    let bytes = stored::encode(state).unwrap();
    assert!(
        stored::decode(&bytes[..bytes.len() - 1]).is_err(),
        "truncated"
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(stored::decode(&longer).is_err(), "a trailing byte");
    // The previous version's bytes are not misread as a state.
    let mut cbor = Vec::new();
    ciborium::into_writer(state, &mut cbor).unwrap();
    assert!(stored::decode(&cbor).is_err(), "CBOR of version 6");
}

fn date(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Duration::days(i64::from(days))
}

fn month(n: i32) -> YearMonth {
    YearMonth::new(2000 + n / 12, (n % 12) as u32 + 1).unwrap()
}

fn zones() -> impl Strategy<Value = Zones> {
    (1u8..=5)
        .prop_flat_map(|from| (Just(from), from + 1..=6))
        .prop_map(|(from, to)| Zones::new(from, to).unwrap())
}

fn product() -> impl Strategy<Value = Product> {
    prop_oneof![
        zones().prop_map(|zones| Product::Annual { zones }),
        Just(Product::Senior)
    ]
}

fn money() -> impl Strategy<Value = Money> {
    (-10_000_000i64..10_000_000).prop_map(Money::from_cents)
}

fn declaration() -> impl Strategy<Value = ActivityDeclaration> {
    let hours = (0i64..100_000, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s));
    prop_oneof![
        Just(ActivityDeclaration::NoActivity),
        hours
            .clone()
            .prop_map(|hours| ActivityDeclaration::HoursPerWeek { hours }),
        hours
            .clone()
            .prop_map(|hours| ActivityDeclaration::HoursPerMonth { hours }),
        hours.prop_map(|hours| ActivityDeclaration::HoursPerYear { hours }),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Active),
        prop::sample::select(vec![
            SuspensionCause::Request,
            SuspensionCause::CashPeriodEnded
        ])
        .prop_map(|cause| Status::Suspended { cause }),
        termination_reason().prop_map(|reason| Status::Terminated { reason }),
    ]
}

fn termination_reason() -> impl Strategy<Value = TerminationReason> {
    prop::sample::select(vec![
        TerminationReason::PayerRequest,
        TerminationReason::SubscriptionFraud,
        TerminationReason::UsageFraud,
        TerminationReason::Unpaid,
        TerminationReason::LossLimit,
        TerminationReason::MandateRevoked,
        TerminationReason::PayerDeceased,
        TerminationReason::ServiceWithdrawn,
        TerminationReason::AddressUnknown,
    ])
}

/// A mandate of the population (sealed or clear, as the rules recorded it),
/// or a legacy one (no payer, no signature date, an account reference).
fn mandate(pick: usize, legacy: bool) -> Mandate {
    let recorded: Vec<&Mandate> = population_states()
        .iter()
        .flat_map(|s| s.mandates.iter().map(|(_, m)| m))
        .collect();
    if legacy || recorded.is_empty() {
        Mandate::legacy(format!("UMR-LEGACY-{pick}"), format!("acct-{pick}"))
    } else {
        recorded[pick % recorded.len()].clone()
    }
}

/// What a generated state changes of a population's state: one of each
/// variant family, with arbitrary amounts and dates.
#[derive(Debug, Clone)]
struct Variation {
    pick: usize,
    product: Product,
    products: Vec<(i32, Product)>,
    cash: bool,
    legacy_mandate: bool,
    debit_day: u8,
    status: Status,
    declaration: Option<ActivityDeclaration>,
    amounts: Vec<Money>,
    days: Vec<i32>,
    reason: TerminationReason,
    prepared: bool,
}

fn variation() -> impl Strategy<Value = Variation> {
    (
        (
            0usize..1_000,
            product(),
            prop::collection::vec((0i32..10_000, product()), 0..4),
        ),
        (
            any::<bool>(),
            any::<bool>(),
            prop::sample::select(vec![1u8, 2, 8, 12]),
        ),
        (status(), prop::option::of(declaration())),
        (
            prop::collection::vec(money(), 8),
            prop::collection::vec(0i32..20_000, 6),
        ),
        (termination_reason(), any::<bool>()),
    )
        .prop_map(
            |(
                (pick, product, products),
                (cash, legacy_mandate, debit_day),
                (status, declaration),
                (amounts, days),
                (reason, prepared),
            )| Variation {
                pick,
                product,
                products,
                cash,
                legacy_mandate,
                debit_day,
                status,
                declaration,
                amounts,
                days,
                reason,
                prepared,
            },
        )
}

/// A population's state changed by `v`.
fn varied(v: &Variation) -> ContractState {
    let states = population_states();
    let mut s = states[v.pick % states.len()].clone();
    let (a, d) = (&v.amounts, &v.days);
    s.product = v.product;
    s.products = v.products.iter().map(|(n, p)| (date(*n), *p)).collect();
    s.billed_products = vec![(month(d[0] % 300), v.product)];
    s.pending_zone_change = Some((date(d[1]), v.product.zones()));
    let setup = if v.cash {
        PaymentSetup::Cash
    } else {
        PaymentSetup::DirectDebit {
            debit_day: DebitDay::new(v.debit_day).unwrap(),
            mandate: mandate(v.pick, v.legacy_mandate),
        }
    };
    s.payments.push((month(d[2] % 300), setup));
    s.mandates
        .push((month(d[3] % 300), mandate(v.pick, v.legacy_mandate)));
    s.last_presented_mandate = Some(mandate(v.pick + 1, v.legacy_mandate));
    s.revoked_spans = vec![(date(d[4]), None), (date(d[0]), Some(date(d[5])))];
    s.statuses.push(StatusChange {
        from: date(d[5]),
        status: v.status,
    });
    s.senior_switch = v.declaration.map(|declaration| SeniorSwitchPending {
        requested: date(d[0]),
        processing_until: date(d[1]),
        declaration,
    });
    s.money.due = a[0];
    s.money.collected = a[1];
    s.money.returned = a[2];
    s.money.refunds_pending = a[3];
    s.money.unattributed_due = a[4];
    s.money.months.insert(
        month(d[1] % 300),
        MonthMoney {
            due: a[5],
            collected: a[6],
        },
    );
    s.money.fees.insert(FeeKind::Rejection, a[7]);
    s.money.fees.insert(FeeKind::Replacement, a[0]);
    s.cash_period_paid = a[1];
    s.cash_period_refunded = a[2];
    s.cash_period_zone_due = a[3];
    s.cash_paid_until = Some(date(d[2]));
    s.losses.push(Loss {
        date: date(d[3]),
        kind: if v.cash {
            LossKind::Theft
        } else {
            LossKind::Loss
        },
        fee: a[4],
    });
    s.rejections.push(Rejection {
        event_id: Uuid::from_u128(v.pick as u128 + 1),
        date: date(d[4]),
        month: month(d[5] % 300),
        amount: a[5],
        reason_code: ReasonCode::MD07,
    });
    s.refunds.insert(
        Uuid::from_u128(v.pick as u128 + 2),
        Refund {
            amount: a[6],
            reason: RefundReason::Punctuality,
            date: date(d[0]),
            due_by: date(d[1]),
            method: RefundMethod::BankTransfer,
            beneficiary: s.payer,
            paid: v.cash,
        },
    );
    s.one_off_payments.push(OneOffPayment {
        date: date(d[2]),
        amount: a[7],
        means: PaymentMeans::Cheque,
    });
    s.treasury_notices.push(TreasuryNotice {
        notice_ref: format!("TP-{}", v.pick),
        payer: s.payer,
        amount: a[0],
        issued: date(d[3]),
        delivered: v.cash.then(|| date(d[4])),
        settled: None,
    });
    s.fraud = v.cash.then(|| (s.holder, vec![s.payer]));
    s.termination = Some((date(d[5]), v.reason, "CGVU-2026".into()));
    s.unpaid_since = Some(date(d[0]));
    s.last_event_date = date(d[1]);
    if v.prepared {
        let mut before = s.clone();
        before.prepared.clear();
        s.prepared.push(PreparedTerms {
            registered_on: date(d[2]),
            before: Box::new(before),
        });
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Encode then decode equals the state, for generated states across every
    /// variant of what a contract state holds.
    #[test]
    fn state_stored_form_round_trips_generated_states_of_every_variant(v in variation()) {
        let state = varied(&v);
        prop_assert_eq!(round_trip(&state), state);
    }
}

/// A frame as the previous version wrote it: its version, the BLAKE3 of the
/// key and the payload, the payload.
fn previous_frame(key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut h = blake3::Hasher::new();
    h.update(&(key.len() as u64).to_be_bytes());
    h.update(key);
    h.update(payload);
    let mut out = PREVIOUS_STATE_SCHEMA_VERSION.to_be_bytes().to_vec();
    out.extend_from_slice(h.finalize().as_bytes());
    out.extend_from_slice(payload);
    out
}

async fn put_entries(store: &SledStore, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) {
    let batch = DerivedBatch {
        clear: false,
        entries,
    };
    store
        .write_derived_entries(STATES_SPACE, &batch)
        .await
        .unwrap();
}

/// Rewrites the meta and every contract entry as version 6 wrote them.
async fn downgrade_to_previous_version(store: &SledStore) {
    let mut entries = Vec::new();
    let mut contracts = 0;
    for prefix in [&b"m"[..], &b"c"[..]] {
        for (key, value) in store
            .scan_derived_entries(STATES_SPACE, prefix)
            .await
            .unwrap()
        {
            let payload = states::unframe(&key, &value).unwrap();
            let payload = if key[0] == b'c' {
                contracts += 1;
                let state = stored::decode(payload).unwrap();
                let mut cbor = Vec::new();
                ciborium::into_writer(&state, &mut cbor).unwrap();
                cbor
            } else {
                payload.to_vec()
            };
            entries.push((key.clone(), Some(previous_frame(&key, &payload))));
        }
    }
    assert!(contracts >= 8, "{contracts} contract entries");
    put_entries(store, entries).await;
}

#[test]
fn state_schema_version_previous_space_is_refused_and_rebuilt_from_the_log() {
    rt().block_on(async {
        let dir = fresh_dir("stored-previous");
        let world = driven(&dir, 41, 8).await;
        let store = open_store(&dir);
        downgrade_to_previous_version(&store).await;
        let ledger = Ledger::open(store, Policy::default(), 7).await.unwrap();
        assert_eq!(
            ledger.opened().snapshot_refused,
            Some(Refused::Version {
                found: PREVIOUS_STATE_SCHEMA_VERSION
            })
        );
        assert_eq!(ledger.opened().snapshot_position, None);
        assert_eq!(ledger.world().contracts, world.contracts);
        // Rebuilt in the new form: the next open verifies every entry.
        reopens_from_the_states_it_rebuilt(&dir, ledger, &world).await;
    });
}

#[test]
fn state_schema_version_previous_state_entry_is_refolded_from_its_stream() {
    rt().block_on(async {
        let dir = fresh_dir("stored-previous-entry");
        let world = driven(&dir, 43, 8).await;
        let store = open_store(&dir);
        let (key, value) = store
            .scan_derived_entries(STATES_SPACE, b"c")
            .await
            .unwrap()
            .remove(0);
        let stream = StreamId::contract(Uuid::from_slice(&key[1..]).unwrap());
        let state = stored::decode(states::unframe(&key, &value).unwrap()).unwrap();
        let mut cbor = Vec::new();
        ciborium::into_writer(&state, &mut cbor).unwrap();
        put_entries(
            &store,
            vec![(key.clone(), Some(previous_frame(&key, &cbor)))],
        )
        .await;
        // A cache of one: nothing is paged in at open.
        let mut ledger = Ledger::open_with(store, Policy::default(), 7, 1)
            .await
            .unwrap();
        let paged = ledger
            .page_in(&std::iter::once(stream).collect())
            .await
            .unwrap();
        assert_eq!((paged.read, paged.refolded), (0, 1));
        assert_eq!(
            ledger.world().contracts.get(&stream.id),
            world.contracts.get(&stream.id)
        );
        ledger.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// Drives a population, loses or damages the states' database with `harm`,
/// and checks that the ledger opens with the same contracts, rebuilt from the
/// log, and that the next open reads the rebuilt states.
fn states_apart_rebuilt_after(name: &str, harm: impl FnOnce(&std::path::Path)) {
    rt().block_on(async {
        let dir = fresh_dir(name);
        let world = driven(&dir, 47, 8).await;
        let derived = dir.join(navigo_store_sled::derived::DERIVED_DIR);
        assert!(derived.is_dir(), "formats 3 and 4 keep the states apart");
        harm(&derived);
        let ledger = Ledger::open(open_store(&dir), Policy::default(), 7)
            .await
            .unwrap();
        assert_eq!(ledger.opened().snapshot_position, None);
        assert_eq!(ledger.world().contracts, world.contracts);
        reopens_from_the_states_it_rebuilt(&dir, ledger, &world).await;
    });
}

#[test]
fn states_apart_lost_database_is_rebuilt_from_the_log() {
    states_apart_rebuilt_after("states-apart-lost", |derived| {
        std::fs::remove_dir_all(derived).unwrap();
    });
}

#[test]
fn states_apart_damaged_database_is_rebuilt_from_the_log() {
    states_apart_rebuilt_after("states-apart-damaged", |derived| {
        for file in ["conf", "db"] {
            std::fs::write(derived.join(file), b"not sled's files").unwrap();
        }
    });
}
