//! The states with an open item (an unpaid refund, a treasury notice not
//! delivered or settled: `OpenItems`), which the back office's round pages in
//! instead of every state, on generated populations over sled:
//! - the world's set equals, at every cut, the states a walk of every state
//!   finds with an open item, under every cache, across annulments of refunds
//!   and of their payments;
//! - a ledger reopened from its stored states does not know the set, walks
//!   every state once and then knows it exactly;
//! - the back office's round gives the commands a walk of every state gives.

mod population;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use navigo_events_schema::command::AnnulEvent;
use navigo_events_schema::{Command, CommandEnvelope, Envelope, Event, StreamId};
use navigo_ledger_core::{ClockMode, Ledger, StateRef};
use navigo_rules::Policy;
use navigo_sim::driver::{resolve_paged, send};
use navigo_store::EventStore;
use navigo_store_sled::SledStore;

use population::{agent_command, builtin_at, fresh_dir, open_store, plan, rt};

/// The caches compared: a handful of states (the set outlives evictions),
/// and every state.
const CACHES: [usize; 2] = [4, usize::MAX];

/// Planned requests between two checks of the set (and two annulments).
const CHECK_EVERY: usize = 13;

/// The states with an open item, found by a walk of every state.
async fn walked_open_items(ledger: &mut Ledger<SledStore>) -> BTreeSet<StreamId> {
    let mut found = BTreeSet::new();
    ledger
        .walk_states(16, |s, _, state| {
            let open = match state {
                StateRef::Contract(c) => c.has_open_items(),
                StateRef::Person(p) => p.has_open_items(),
            };
            if open {
                found.insert(s);
            }
        })
        .await
        .unwrap();
    found
}

/// The streams the back office's round is given, in order.
async fn round(ledger: &mut Ledger<SledStore>) -> Vec<StreamId> {
    let mut seen = Vec::new();
    ledger
        .walk_open_items(16, |s, _, _| seen.push(s))
        .await
        .unwrap();
    seen
}

/// An annulment of the `nth` refund event of the log (a refund granted, or
/// its payment), which opens or closes an item again.
async fn refund_annulment(
    ledger: &Ledger<SledStore>,
    nth: usize,
    at: DateTime<Utc>,
) -> Option<CommandEnvelope> {
    let events = ledger.store().read_log(1).await.unwrap();
    let refunds: Vec<&Envelope> = events
        .iter()
        .filter(|e| matches!(e.event, Event::RefundDue(_) | Event::RefundPaid(_)))
        .collect();
    let target = refunds.get(nth.wrapping_mul(7919) % refunds.len().max(1))?;
    Some(agent_command(
        at,
        format!("test:annul-refund:{nth}"),
        Command::AnnulEvent(AnnulEvent {
            stream: target.stream,
            event_id: target.event_id,
            reason: "a correction".into(),
        }),
    ))
}

/// Drives `seed`'s population on a ledger of `cache` states, checking the set
/// against a walk of every state every [`CHECK_EVERY`] requests; returns how
/// many open items the checks saw in all.
async fn drive_and_check(seed: u64, cache: usize) -> usize {
    let plan = plan(seed, 40);
    let dir = fresh_dir("open-items");
    let mut ledger = Ledger::open_with(open_store(&dir), Policy::default(), 7, cache)
        .await
        .unwrap();
    ledger
        .load_builtin_reference(builtin_at(), ClockMode::Import)
        .await
        .unwrap();
    let mut seen = 0;
    for (i, p) in plan.commands.iter().enumerate() {
        for cmd in resolve_paged(&mut ledger, p).await.unwrap() {
            send(&mut ledger, &cmd).await.unwrap();
        }
        if i % CHECK_EVERY != 0 && i + 1 != plan.commands.len() {
            continue;
        }
        let at = p.at + Duration::milliseconds(1);
        if let Some(cmd) = refund_annulment(&ledger, i, at).await {
            // Refusals are fine (a refund already annulled, say).
            let _ = ledger.execute(&cmd, ClockMode::Import).await;
        }
        let known = ledger.world().open_items.streams().cloned();
        let walked = walked_open_items(&mut ledger).await;
        assert_eq!(
            known.as_ref(),
            Some(&walked),
            "seed {}, cache {}, request {}",
            seed,
            cache,
            i
        );
        seen += walked.len();
    }
    // Reopened from its stored states, the ledger does not know the set: the
    // first round walks every state, and the set is then exact.
    let store = ledger.close().await.unwrap();
    let mut ledger = Ledger::open_with(store, Policy::default(), 7, cache)
        .await
        .unwrap();
    let walked = walked_open_items(&mut ledger).await;
    if ledger.opened().snapshot_position.is_some() {
        assert!(ledger.world().open_items.streams().is_none());
    }
    let first = round(&mut ledger).await;
    assert!(first.len() >= walked.len());
    assert_eq!(ledger.world().open_items.streams(), Some(&walked));
    let second = round(&mut ledger).await;
    assert_eq!(second, walked.iter().copied().collect::<Vec<_>>());
    ledger.into_store().close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    seen
}

/// Seeds of generated populations: a few, since a population of 40 contracts
/// over fifteen months may have no refund open at any check.
const SEEDS: [u64; 3] = [3, 119, 2024];

/// `PAY-REFUND-30D`: the back office pays every refund due and follows every
/// treasury notice; the world's set of states with an open item is exactly
/// what a walk of every state finds, whatever the cache, so that its round,
/// which pages in those states only, misses none.
#[test]
fn pay_refund_30d_open_items_equal_a_walk_of_every_state() {
    rt().block_on(async {
        let mut seen = 0;
        for seed in SEEDS {
            for cache in CACHES {
                seen += drive_and_check(seed, cache).await;
            }
        }
        assert!(seen > 0, "the populations have open items");
    });
}
