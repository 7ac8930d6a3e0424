//! States paged from the store behind a bounded cache, on generated
//! populations over sled:
//! - the log a ledger whose world holds at most a handful of states writes is
//!   the log a ledger holding every state writes, event for event, for every
//!   command kind the simulation sends, the billing clock included;
//! - between commands the world holds at most `state_cache_entries_max`
//!   states;
//! - a ledger reopened with a tiny cache loads no state at open and goes on
//!   writing the same log.

mod population;

use std::path::Path;

use chrono::NaiveDate;
use navigo_events_schema::Envelope;
use navigo_ledger_core::{ClockMode, Ledger};
use navigo_rules::Policy;
use navigo_sim::driver::{drive, resolve_paged, send};
use navigo_sim::generate::Plan;
use navigo_store::EventStore;
use proptest::prelude::*;

use population::{builtin_at, fresh_dir, open_store, plan, rt};

/// The cache of the bounded ledgers: smaller than any command's working set.
const TINY_CACHE_ENTRIES: usize = 4;

/// Everything a stored event is, as comparable text.
fn canonical(e: &Envelope) -> String {
    serde_json::to_string(e).unwrap()
}

/// Drives `plan` (in two halves, the ledger closed and reopened between) on a
/// ledger whose world holds at most `cache` states; returns the stored log and
/// the most states the world held between commands.
async fn drive_with_cache(dir: &Path, plan: &Plan, cache: usize) -> (Vec<String>, usize) {
    let half = plan.commands.len() / 2;
    let mut most = 0;
    let mut ledger = Ledger::open_with(open_store(dir), Policy::default(), 7, cache)
        .await
        .unwrap();
    ledger
        .load_builtin_reference(builtin_at(), ClockMode::Import)
        .await
        .unwrap();
    // The first half one command at a time, counting what the world holds.
    for p in &plan.commands[..half] {
        for cmd in resolve_paged(&mut ledger, p).await.unwrap() {
            send(&mut ledger, &cmd).await.unwrap();
            most = most.max(ledger.world().resident_states());
        }
        most = most.max(ledger.world().resident_states());
    }
    let store = ledger.close().await.unwrap();
    // The second half through the import batch, after a reopen.
    let mut ledger = Ledger::open_with(store, Policy::default(), 7, cache)
        .await
        .unwrap();
    if cache < usize::MAX {
        assert!(ledger.world().resident_states() <= cache);
    }
    drive(&mut ledger, &plan.commands[half..], &mut |_| {})
        .await
        .unwrap();
    most = most.max(ledger.world().resident_states());
    let store = ledger.close().await.unwrap();
    let log = store
        .read_log(1)
        .await
        .unwrap()
        .iter()
        .map(canonical)
        .collect();
    store.close().await.unwrap();
    (log, most)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    /// The rules are pure and judged again once the states they missed are
    /// paged in: a tiny cache changes no event of the log.
    #[test]
    fn state_cache_bounded_log_equals_the_unbounded_log_event_for_event(seed in 1u64..1_000) {
        rt().block_on(async {
            let plan = plan(seed, 10);
            let (tiny_dir, whole_dir) = (fresh_dir("tiny"), fresh_dir("whole"));
            let (tiny, most) = drive_with_cache(&tiny_dir, &plan, TINY_CACHE_ENTRIES).await;
            let (whole, _) = drive_with_cache(&whole_dir, &plan, usize::MAX).await;
            prop_assert!(tiny.len() > 100, "seed {seed}: a log of some length ({})", tiny.len());
            let kinds: std::collections::BTreeSet<&str> = whole
                .iter()
                .filter_map(|e| e.split("\"type\":\"").nth(1)?.split('"').next())
                .collect();
            // The billing clock ran: some plans of ten contracts schedule no
            // debit ahead but all present some.
            prop_assert!(
                kinds.contains("DebitScheduled") || kinds.contains("DebitPresented"),
                "{kinds:?}"
            );
            prop_assert_eq!(tiny.len(), whole.len(), "seed {}", seed);
            for (i, (a, b)) in tiny.iter().zip(&whole).enumerate() {
                prop_assert_eq!(a, b, "seed {}: event {} differs", seed, i + 1);
            }
            // The bound held between commands.
            prop_assert!(most <= TINY_CACHE_ENTRIES, "held {most} states");
            let _ = std::fs::remove_dir_all(&tiny_dir);
            let _ = std::fs::remove_dir_all(&whole_dir);
            Ok(())
        })?;
    }
}

/// The world's states are bounded by the cache, not by the population: after
/// a generated population the world holds at most the limit, while the
/// population has many more states, every one in the store.
#[test]
fn state_cache_entries_max_bounds_the_states_the_world_holds() {
    rt().block_on(async {
        let dir = fresh_dir("bound");
        let plan = plan(3, 20);
        let (log, most) = drive_with_cache(&dir, &plan, TINY_CACHE_ENTRIES).await;
        assert!(log.len() > 200, "{}", log.len());
        assert!(most <= TINY_CACHE_ENTRIES, "held {most} states");
        let ledger = Ledger::open_with(open_store(&dir), Policy::default(), 7, TINY_CACHE_ENTRIES)
            .await
            .unwrap();
        let w = ledger.world();
        let states = w
            .versions
            .keys()
            .filter(|s| {
                matches!(
                    s.kind,
                    navigo_events_schema::StreamKind::Contract
                        | navigo_events_schema::StreamKind::Person
                )
            })
            .count();
        assert!(states > 10 * TINY_CACHE_ENTRIES, "{states} states in all");
        assert!(w.resident_states() <= TINY_CACHE_ENTRIES);
        assert_eq!(ledger.opened().tail_events, 0, "the states cover the log");
        ledger.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// The demo's summary walks the states a chunk at a time and computes the
/// bans with the histories of a chunk of persons loaded: with a cache of a
/// handful of states it equals the summary of a ledger holding every state,
/// and the summary of the whole world as folded before states were paged,
/// interesting contract included; the cache's bound holds after it.
#[test]
fn state_cache_bounded_summary_equals_the_unbounded_summary() {
    use navigo_sim::summary::{interesting_contract, summarize, summarize_ledger};
    rt().block_on(async {
        let dir = fresh_dir("summary");
        let plan = plan(5, 20);
        let through = NaiveDate::from_ymd_opt(2025, 3, 31).unwrap();
        drive_with_cache(&dir, &plan, TINY_CACHE_ENTRIES).await;
        let mut tiny =
            Ledger::open_with(open_store(&dir), Policy::default(), 7, TINY_CACHE_ENTRIES)
                .await
                .unwrap();
        let (tiny_summary, tiny_interesting) = summarize_ledger(&mut tiny, through).await.unwrap();
        assert!(tiny.world().resident_states() <= TINY_CACHE_ENTRIES);
        let store = tiny.close().await.unwrap();
        let mut whole = Ledger::open_with(store, Policy::default(), 7, usize::MAX)
            .await
            .unwrap();
        let (whole_summary, whole_interesting) =
            summarize_ledger(&mut whole, through).await.unwrap();
        assert!(tiny_summary.contracts >= 10, "{tiny_summary:?}");
        assert!(
            tiny_summary.contracts + tiny_summary.persons > 10 * TINY_CACHE_ENTRIES as u64,
            "{tiny_summary:?}"
        );
        assert_eq!(tiny_summary, whole_summary);
        assert_eq!(tiny_interesting, whole_interesting);
        // The reference: the whole world's summary, its histories loaded.
        let streams = navigo_sim::summary::history_streams(whole.world());
        whole.load_histories(&streams).await.unwrap();
        assert_eq!(whole_summary, summarize(whole.world(), through));
        assert_eq!(whole_interesting, interesting_contract(whole.world()));
        whole.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}
