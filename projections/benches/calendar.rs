//! Projection benchmark (not a timed test): the as-of debit calendar of one
//! contract with five years of history, read from a sled ledger and folded,
//! against a raw sled prefix scan + JSON decode of the same contract's events, in
//! the same run. Target: p99 ≤ 2 × the raw p99. Figures go to BENCHMARKS.md.
//!
//! ```sh
//! cargo bench -p navigo-projections --bench calendar
//! NAVIGO_BENCH_ITERS=5000 cargo bench -p navigo-projections --bench calendar
//! ```
//!
//! The ledger is built with the core's `Ledger` in import mode: the 990 € test
//! tariff, the built-in reference data (catalogue, school holidays, reason codes,
//! campaigns), one holder, an agency subscription on 2021-07-12, the billing clock
//! month by month through 2026-07, a rejection and its settlement, a suspension
//! and a resumption, a zone change, and 200 other contracts so the stream index
//! is not the whole log.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::command::{
    ChangeZones, RecordDebitRejected, Resume, SettleDebt, Suspend,
};
use navigo_events_schema::event::SettlementChannel;
use navigo_events_schema::types::{Channel, Product};
use navigo_events_schema::{Command, CommandEnvelope, StreamId};
use navigo_ledger_core::load;
use navigo_ledger_core::{ClockMode, Ledger};
use navigo_projections::{calendar, Folded, Query};
use navigo_rules::Policy;
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::{raw_stream_read, SledStore};
use navigo_testkit::{at, cid, d, debit, register, subscribe, tariff_990, zones};

/// Other contracts in the ledger.
const OTHER_CONTRACTS: u128 = 200;

fn bench_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = base.join("bench-projections").join("calendar");
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn on(date: NaiveDate, channel: Channel, command: Command) -> CommandEnvelope {
    navigo_testkit::cmd(date, Some(channel), command)
}

async fn advance(ledger: &mut Ledger<SledStore>, through: NaiveDate) {
    ledger
        .advance_to(through, at(through), ClockMode::Import)
        .await
        .expect("advance");
}

async fn build(dir: &std::path::Path) -> SledStore {
    SledStore::init(dir).expect("init");
    let t: DateTime<Utc> = "2011-01-01T00:00:00Z".parse().expect("instant");
    let store =
        SledStore::open(dir, Limits::default(), Arc::new(ManualClock::new(t))).expect("open");
    let mut ledger = Ledger::open(store, Policy::default(), 7)
        .await
        .expect("ledger");
    let mut cmds = vec![tariff_990()];
    for n in 0..=OTHER_CONTRACTS {
        cmds.push(register(n + 1, d(1980, 1, 1)));
    }
    let c1 = 1u128;
    cmds.push(subscribe(
        d(2021, 7, 12),
        Channel::Agency,
        c1,
        1,
        Product::Annual {
            zones: zones("4-5"),
        },
        d(2021, 7, 12),
        debit(1, 1),
    ));
    for n in 2..=OTHER_CONTRACTS + 1 {
        cmds.push(subscribe(
            d(2021, 7, 13),
            Channel::Agency,
            n,
            n,
            Product::Annual {
                zones: zones("1-5"),
            },
            d(2021, 7, 13),
            debit(1, n),
        ));
    }
    for c in cmds {
        ledger
            .execute(&c, ClockMode::Import)
            .await
            .expect("setup command");
    }
    advance(&mut ledger, d(2023, 3, 1)).await;
    let steps = [on(
        d(2023, 3, 6),
        Channel::Agency,
        Command::RecordDebitRejected(RecordDebitRejected {
            contract_id: cid(c1),
            month: "2023-03".parse().expect("month"),
            reason_code: "AM04".parse().expect("code"),
        }),
    )];
    for c in steps {
        let _ = ledger.execute(&c, ClockMode::Import).await;
    }
    let debt = ledger
        .world()
        .contract(cid(c1))
        .map(|c| c.money.debt())
        .unwrap_or_default();
    let _ = ledger
        .execute(
            &on(
                d(2023, 3, 10),
                Channel::Online,
                Command::SettleDebt(SettleDebt {
                    contract_id: cid(c1),
                    amount: debt,
                    via: SettlementChannel::OnlineCard,
                }),
            ),
            ClockMode::Import,
        )
        .await;
    advance(&mut ledger, d(2024, 3, 1)).await;
    let _ = ledger
        .execute(
            &on(
                d(2024, 3, 5),
                Channel::Agency,
                Command::Suspend(Suspend {
                    contract_id: cid(c1),
                    effective_date: None,
                    planned_resumption: None,
                }),
            ),
            ClockMode::Import,
        )
        .await;
    advance(&mut ledger, d(2024, 6, 1)).await;
    let _ = ledger
        .execute(
            &on(
                d(2024, 6, 3),
                Channel::Agency,
                Command::Resume(Resume {
                    contract_id: cid(c1),
                    effective_date: None,
                    payment: None,
                }),
            ),
            ClockMode::Import,
        )
        .await;
    advance(&mut ledger, d(2025, 2, 1)).await;
    let _ = ledger
        .execute(
            &on(
                d(2025, 2, 3),
                Channel::Agency,
                Command::ChangeZones(ChangeZones {
                    contract_id: cid(c1),
                    zones: zones("1-5"),
                    effective_date: None,
                }),
            ),
            ClockMode::Import,
        )
        .await;
    advance(&mut ledger, d(2026, 7, 1)).await;
    ledger.into_store()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let p50 = percentile(&samples, 0.50);
    let p99 = percentile(&samples, 0.99);
    println!(
        "{name:<44} n={:<6} p50={:>9.1?} p99={:>9.1?} max={:>9.1?}",
        samples.len(),
        p50,
        p99,
        samples.last().copied().unwrap_or_default()
    );
    (p50, p99)
}

fn main() {
    let iters: usize = std::env::var("NAVIGO_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    // NAVIGO_BENCH_HORIZON=N: months of forecast (default: the policy's 24).
    let horizon: Option<calendar::Horizon> = std::env::var("NAVIGO_BENCH_HORIZON").ok().map(|s| {
        s.parse()
            .expect("NAVIGO_BENCH_HORIZON: a horizon in months")
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = bench_dir();
    let store = rt.block_on(build(&dir));
    let contract = cid(1);
    let stream = StreamId::contract(contract);
    let policy = Policy::default();
    let n_events = raw_stream_read(&store, stream).len();
    // The raw baseline reads the same events as the calendar, or the comparison
    // would flatter one side: the calendar reads the contract's stream and the
    // catalogue stream (tariffs, holidays, reason codes), so the raw baseline
    // scans and decodes both. The contract-only scan is reported too.
    let catalogue = StreamId::catalogue();
    let raw_same = |store: &SledStore| {
        let mut v = raw_stream_read(store, stream);
        v.extend(raw_stream_read(store, catalogue));
        v
    };
    let q_now = Query::on(d(2026, 7, 15));
    let q_past = Query {
        at: d(2024, 4, 15),
        known_at: Some(at(d(2024, 4, 15))),
    };
    // Warm-up and a correctness check: the calendar reads what the raw scan reads.
    let events = rt
        .block_on(load::read_contract(&store, contract, false))
        .expect("read");
    assert_eq!(
        raw_same(&store).len(),
        events.len(),
        "the raw baseline reads exactly the events the calendar reads"
    );
    let cal = calendar::calendar(&Folded::new(&events, &q_now), contract, &policy, horizon)
        .expect("calendar");
    // A digest of both calendars (their JSON), so that two builds can be checked
    // to answer exactly the same thing.
    for (name, q) in [("now", &q_now), ("past", &q_past)] {
        use std::hash::{Hash, Hasher};
        let c = calendar::calendar(&Folded::new(&events, q), contract, &policy, horizon)
            .expect("calendar");
        let json = serde_json::to_string(&c).expect("calendar JSON");
        let mut h = std::collections::hash_map::DefaultHasher::new();
        json.hash(&mut h);
        println!(
            "calendar {name}: {} bytes of JSON, digest {:016x}",
            json.len(),
            h.finish()
        );
    }
    println!(
        "contract stream: {n_events} events (+ {} catalogue events read by both); calendar rows: {} (through {})",
        events.len() - n_events,
        cal.rows.len(),
        cal.horizon
    );
    let mut raw = Vec::with_capacity(iters);
    let mut raw_contract = Vec::with_capacity(iters);
    let mut now = Vec::with_capacity(iters);
    let mut past = Vec::with_capacity(iters);
    let mut now_first = Vec::with_capacity(iters);
    // Interleaved, so that both see the same machine load.
    for _ in 0..iters {
        let t = Instant::now();
        let r = raw_same(&store);
        raw.push(t.elapsed());
        std::hint::black_box(r);
        let t = Instant::now();
        let r = raw_stream_read(&store, stream);
        raw_contract.push(t.elapsed());
        std::hint::black_box(r);
        for (q, out) in [(&q_now, &mut now), (&q_past, &mut past)] {
            let t = Instant::now();
            let events = rt
                .block_on(load::read_contract(&store, contract, false))
                .expect("read");
            let cal = calendar::calendar(&Folded::new(&events, q), contract, &policy, horizon)
                .expect("calendar");
            out.push(t.elapsed());
            std::hint::black_box(cal);
        }
        // The same query as a first read: the store forgets which records it
        // verified, so that it hashes every record again (the store compares a
        // record read again with its verified bytes instead of hashing it).
        store.forget_verified();
        let t = Instant::now();
        let events = rt
            .block_on(load::read_contract(&store, contract, false))
            .expect("read");
        let cal = calendar::calendar(&Folded::new(&events, &q_now), contract, &policy, horizon)
            .expect("calendar");
        now_first.push(t.elapsed());
        std::hint::black_box(cal);
    }
    // The parts of the calendar, for the record: reading (store, with hash
    // checks) and folding + forecasting.
    let mut read = Vec::with_capacity(iters);
    let mut read_first = Vec::with_capacity(iters);
    let mut fold = Vec::with_capacity(iters);
    for _ in 0..iters {
        store.forget_verified();
        let t = Instant::now();
        let events = rt
            .block_on(load::read_contract(&store, contract, false))
            .expect("read");
        read_first.push(t.elapsed());
        std::hint::black_box(events);
        let t = Instant::now();
        let events = rt
            .block_on(load::read_contract(&store, contract, false))
            .expect("read");
        read.push(t.elapsed());
        let t = Instant::now();
        let cal = calendar::calendar(&Folded::new(&events, &q_now), contract, &policy, horizon)
            .expect("calendar");
        fold.push(t.elapsed());
        std::hint::black_box(cal);
    }
    report("  of which: store read (contract + catalogue)", read);
    report("  of which: store read, first read (hashed)", read_first);
    report("  of which: fold + forecast (as of now)", fold);
    let (_, raw_c99) = report("raw prefix scan + decode, contract only", raw_contract);
    let (raw50, raw99) = report("raw prefix scan + decode, same events", raw);
    let (now50, now99) = report("calendar as of 2026-07-15 (known now)", now);
    let (past50, past99) = report("calendar as of 2024-04-15 (known then)", past);
    let (first50, first99) = report("calendar as of 2026-07-15, first read", now_first);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "p99 ratio: now {:.2}x, past {:.2}x, now as a first read {:.2}x (target <= 2.00x)",
        ratio(now99, raw99),
        ratio(past99, raw99),
        ratio(first99, raw99)
    );
    println!(
        "p50 ratio: now {:.2}x, past {:.2}x, now as a first read {:.2}x",
        ratio(now50, raw50),
        ratio(past50, raw50),
        ratio(first50, raw50)
    );
    println!(
        "p99 ratio against the contract-only scan: now {:.2}x, past {:.2}x",
        now99.as_secs_f64() / raw_c99.as_secs_f64(),
        past99.as_secs_f64() / raw_c99.as_secs_f64()
    );
    let _ = rt.block_on(store.close());
}
