//! Crashes: the server killed (`pg_ctl stop -m immediate`) or the writer's
//! connection dropped while appends are in flight. No acknowledged append is
//! lost, no append is half-written, positions stay gapless, and an append whose
//! answer was an error is either wholly in the log or wholly absent, so that a
//! retry with its idempotency key completes it exactly once. Each test has a
//! cluster of its own, since it stops the server.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use navigo_store::conformance::read_all;
use navigo_store::{AppendRequest, EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_postgres::cluster::Cluster;
use navigo_store_postgres::{PgConfig, PgStore};
use support::*;
use uuid::Uuid;

/// Concurrent appenders.
const APPENDERS: usize = 24;
/// Events per append: more than one, so that a half-written append would show.
const EVENTS_PER_APPEND: usize = 3;

/// What the appenders sent: every request, and the positions of those
/// acknowledged.
#[derive(Default)]
struct Sent {
    requests: Vec<AppendRequest>,
    acked: HashMap<String, Vec<u64>>,
}

/// Appenders sending keyed appends until `stop`, each waiting a little after
/// an error (the server may be down).
fn appenders(store: Arc<PgStore>, stop: Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<Sent>> {
    (0..APPENDERS)
        .map(|a| {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                let mut sent = Sent::default();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let events = (0..EVENTS_PER_APPEND).map(|_| event("c")).collect();
                    let mut r = request(stream(a as u128), ExpectedVersion::Any, events);
                    let key = format!("a{a}-{i}");
                    r.idempotency_key = Some(key.clone());
                    i += 1;
                    sent.requests.push(r.clone());
                    match store.append(r).await {
                        Ok(out) => {
                            sent.acked.insert(key, out.positions().to_vec());
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
                sent
            })
        })
        .collect()
}

/// Stops the appenders and gathers what they sent.
async fn gather(stop: &AtomicBool, handles: Vec<tokio::task::JoinHandle<Sent>>) -> Sent {
    stop.store(true, Ordering::SeqCst);
    let mut all = Sent::default();
    for h in handles {
        let s = h.await.unwrap();
        all.requests.extend(s.requests);
        all.acked.extend(s.acked);
    }
    all
}

/// Checks the log against what was sent: gapless, verified, every
/// acknowledged append at its positions, every append whole or absent; then
/// retries every append with its key and checks each is in the log once.
async fn check_nothing_lost_nothing_half_written(store: &Arc<PgStore>, sent: &Sent) {
    let log = read_all(&**store, 1).await;
    let positions: Vec<u64> = log.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=log.len() as u64).collect::<Vec<_>>());
    assert!(store.verify().await.unwrap().is_ok());
    let at: HashMap<Uuid, u64> = log.iter().map(|e| (e.event_id, e.position)).collect();
    let mut whole = 0;
    for r in &sent.requests {
        let key = r.idempotency_key.clone().unwrap_or_default();
        let found: Vec<Option<u64>> = r
            .events
            .iter()
            .map(|e| at.get(&e.event_id).copied())
            .collect();
        match sent.acked.get(&key) {
            Some(acked) => {
                let want: Vec<Option<u64>> = acked.iter().copied().map(Some).collect();
                assert_eq!(found, want, "acknowledged append {key} lost or moved");
            }
            None => assert!(
                found.iter().all(Option::is_some) || found.iter().all(Option::is_none),
                "append {key} half-written: {found:?}"
            ),
        }
        whole += usize::from(found.iter().all(Option::is_some));
    }
    assert_eq!(whole * EVENTS_PER_APPEND, log.len(), "events of no append");
    // Every append retried with its key is in the log once, whatever its
    // first answer was.
    let mut retries = tokio::task::JoinSet::new();
    for r in sent.requests.iter().cloned() {
        let store = store.clone();
        retries.spawn(async move { store.append(r).await.map(|_| ()) });
    }
    while let Some(r) = retries.join_next().await {
        r.unwrap().unwrap();
    }
    let log = read_all(&**store, 1).await;
    assert_eq!(log.len(), sent.requests.len() * EVENTS_PER_APPEND);
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for e in &log {
        *by_key
            .entry(e.idempotency_key.clone().unwrap_or_default())
            .or_default() += 1;
    }
    assert!(by_key.values().all(|n| *n == EVENTS_PER_APPEND));
    assert!(store.verify().await.unwrap().is_ok());
}

/// A ledger in a cluster of its own.
async fn own_ledger(name: &str) -> (Cluster, PgConfig) {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"));
    let config = fresh_place_in(&cluster, name).await;
    (cluster, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_loses_no_acknowledged_append_when_the_server_is_killed_mid_append() {
    // Given appenders writing to a store
    let (cluster, config) = own_ledger("kill").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let store = Arc::new(
        PgStore::open(&config, Limits::default(), clock.clone())
            .await
            .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let handles = appenders(store.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        store.head().await.unwrap().position > 0,
        "nothing appended yet"
    );
    // When the server is killed while they append, then started again
    let cluster = Arc::new(cluster);
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.kill_server())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start_server())
        .await
        .unwrap()
        .unwrap();
    // And the same store goes on appending once the server is back
    let before = store.head().await.unwrap().position;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = gather(&stop, handles).await;
    assert!(
        store.head().await.unwrap().position > before,
        "no append after the restart"
    );
    // Then nothing acknowledged is lost and nothing is half-written, read by
    // the store that lived through it and by one opened afresh
    check_nothing_lost_nothing_half_written(&store, &sent).await;
    let reopened = PgStore::open(&config, Limits::default(), clock)
        .await
        .unwrap();
    assert_eq!(read_all(&reopened, 1).await, read_all(&*store, 1).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_loses_no_acknowledged_append_when_its_writer_connection_drops_mid_append() {
    // Given appenders writing to a store
    let (cluster, config) = own_ledger("drop").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let store = Arc::new(
        PgStore::open(&config, Limits::default(), clock)
            .await
            .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let handles = appenders(store.clone(), stop.clone());
    // When the writer's connection is terminated by the server, five times
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        cluster
            .execute(
                DATABASE,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = 'navigo-store-writer'",
            )
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let sent = gather(&stop, handles).await;
    // Then the store went on with a new connection each time, and nothing
    // acknowledged is lost and nothing is half-written
    assert!(
        sent.acked.len() < sent.requests.len(),
        "no append failed: nothing was dropped"
    );
    check_nothing_lost_nothing_half_written(&store, &sent).await;
}
