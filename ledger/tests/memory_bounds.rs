//! The memory budget (ARCHITECTURE.md, "Memory budget"), counted on a
//! generated population: through an import of the simulator's plan, a window
//! at a time, and a clock month after it, every cache of the world and of the
//! import holds at most its named bound, and what the world keeps for every
//! stream (a version, index edges, a wake date) is one entry per stream, not
//! per event. The bounds are set small, so that the population exceeds each of
//! them several times over. Nothing is timed.

mod population;

use chrono::NaiveDate;
use navigo_events_schema::{StreamId, StreamKind};
use navigo_ledger_core::{ClockMode, Ledger};
use navigo_rules::idset::IdSet;
use navigo_rules::Policy;
use navigo_sim::driver::{resolve_paged, send};
use navigo_sim::generate::{PlanWindows, PopulationConfig};
use navigo_store::EventStore;
use navigo_store_sled::SledStore;

use population::{builtin_at, fresh_dir, open_store, rt};

/// The bounds of this test, far below the defaults.
const STATES_MAX: usize = 24;
const WINDOW_REQUESTS_MAX: usize = 60;
const BATCH_EVENTS_MAX: usize = 20;

/// What the world and the import hold between two commands, by cache and index.
#[derive(Debug, Default, Clone, Copy)]
struct Held {
    states: usize,
    last_used: usize,
    dirty: usize,
    histories: usize,
    keys: usize,
    staged: usize,
    versions: usize,
    edges: usize,
    wakes: usize,
}

fn edges(index: &std::collections::BTreeMap<impl Ord, IdSet>) -> usize {
    index.values().map(IdSet::len).sum()
}

fn held(ledger: &Ledger<SledStore>) -> Held {
    let w = ledger.world();
    Held {
        states: w.resident_states(),
        last_used: w.residency.last_used.len(),
        dirty: w.residency.dirty.len(),
        histories: w.history.len(),
        keys: w.idempotency_keys.len(),
        staged: ledger.staged_events(),
        versions: w.versions.len(),
        edges: edges(&w.by_holder)
            + edges(&w.by_payer)
            + edges(&w.by_fraud_party)
            + edges(&w.by_client_number),
        wakes: w.wakes.known(),
    }
}

/// Every bounded cache within its bound, and the per-stream entries one per
/// stream (`streams` of them), whatever the number of events.
fn assert_within_bounds(h: Held, streams: usize, contracts: usize, after: &str) {
    assert!(h.states <= STATES_MAX, "{after}: {h:?}");
    // A state is used once it is resident, and only a resident one is dirty.
    assert!(
        h.last_used <= h.states && h.dirty <= h.states,
        "{after}: {h:?}"
    );
    assert_eq!((h.histories, h.keys), (0, 0), "{after}: {h:?}");
    assert!(h.staged < BATCH_EVENTS_MAX, "{after}: {h:?}");
    assert!(h.versions <= streams, "{after}: {h:?}");
    // A contract is indexed under its holder and its payers (a payer change
    // adds one), a person under a client number, a fraud finding's parties
    // once: a few edges a stream.
    assert!(h.edges <= 4 * streams, "{after}: {h:?}");
    assert!(h.wakes <= contracts, "{after}: {h:?}");
}

async fn streams_and_contracts(store: &SledStore) -> (usize, usize, usize) {
    let log = store.read_log(1).await.unwrap();
    let streams: std::collections::BTreeSet<StreamId> = log.iter().map(|e| e.stream).collect();
    let contracts = streams
        .iter()
        .filter(|s| s.kind == StreamKind::Contract)
        .count();
    (streams.len(), contracts, log.len())
}

#[test]
fn memory_budget_caches_hold_their_named_bounds_through_an_import_and_a_clock_month() {
    rt().block_on(async {
        let dir = fresh_dir("memory-budget");
        let campaigns = navigo_rules::reference::builtin_campaigns().unwrap();
        let through = NaiveDate::from_ymd_opt(2024, 9, 30).unwrap();
        let config = PopulationConfig {
            seed: 17,
            contracts: 80,
            from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            through,
        };
        // Given a population imported a window of the plan at a time, with a
        // cache of 24 states and a batch of 20 events
        let mut windows = PlanWindows::new(config, &campaigns, WINDOW_REQUESTS_MAX).unwrap();
        let requests = windows.requests();
        let mut ledger = Ledger::open_with(open_store(&dir), Policy::default(), 17, STATES_MAX)
            .await
            .unwrap();
        ledger
            .load_builtin_reference(builtin_at(), ClockMode::Import)
            .await
            .unwrap();
        ledger.begin_import_with(BATCH_EVENTS_MAX);
        let (mut most, mut held_windows) = (Held::default(), 0);
        // Then between any two commands every cache is within its bound
        while let Some(window) = windows.next_window().unwrap() {
            assert!(window.len() <= WINDOW_REQUESTS_MAX, "{}", window.len());
            held_windows += 1;
            for p in &window {
                for cmd in resolve_paged(&mut ledger, p).await.unwrap() {
                    send(&mut ledger, &cmd).await.unwrap();
                    let h = held(&ledger);
                    most.states = most.states.max(h.states);
                    most.staged = most.staged.max(h.staged);
                    // The streams so far: the versions name each once.
                    let streams = h.versions;
                    assert_within_bounds(h, streams, streams, &p.key);
                }
            }
        }
        ledger.end_import().await.unwrap();
        let (streams, contracts, events) = streams_and_contracts(ledger.store()).await;
        assert_within_bounds(held(&ledger), streams, contracts, "the import");
        assert_eq!(held(&ledger).versions, streams, "one version per stream");
        // When the billing clock runs every day of the month after
        let mut day = through.succ_opt().unwrap();
        while day <= NaiveDate::from_ymd_opt(2024, 10, 31).unwrap() {
            let at = day.and_hms_opt(4, 0, 0).unwrap().and_utc();
            ledger.advance_to(day, at, ClockMode::Import).await.unwrap();
            // Then after each advance too
            assert_within_bounds(held(&ledger), streams + 1, contracts, &day.to_string());
            day = day.succ_opt().unwrap();
        }
        // And the population exceeded every bound several times over: the
        // plan, the states, the batch; the caches were full at some point.
        let (_, _, events_after) = streams_and_contracts(ledger.store()).await;
        assert!(events_after > events, "the clock month appended");
        assert!(
            requests > 4 * WINDOW_REQUESTS_MAX && held_windows > 4,
            "{requests} requests in {held_windows} windows"
        );
        assert!(streams > 4 * STATES_MAX, "{streams} streams");
        assert!(events > 4 * BATCH_EVENTS_MAX, "{events} events");
        assert!(
            most.states > STATES_MAX / 2 && most.staged > BATCH_EVENTS_MAX / 2,
            "{most:?}"
        );
        ledger.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}
