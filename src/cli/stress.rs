//! `navigo-ledger stress-append` (hidden): appends in a loop from concurrent
//! writers, for the crash-durability test and for building large ledgers.
//!
//! With `--print-acks`, each acknowledged event is printed as one line
//! `ACK <position> <stream> <seq> <event id>` and stdout is flushed per line, so a
//! test that kills the process knows exactly what the store acknowledged.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::app::store::AnyStore;
use chrono::NaiveDate;
use navigo_events_schema::event::MandateRevoked;
use navigo_events_schema::types::Actor;
use navigo_events_schema::{Event, NewEvent, StreamId};
use navigo_store::{AppendOutcome, AppendRequest, EventStore, ExpectedVersion};
use uuid::Uuid;

use super::exit::CmdResult;
use crate::app::error::BadInput;
use crate::app::ledger::{init_store, open_store};
use crate::app::place::Place;

/// Concurrent writers allowed.
pub const STRESS_WRITERS_MAX: u32 = 1_024;

/// Arguments of `stress-append`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Concurrent writers, each on its own new contract stream.
    #[arg(long, default_value_t = 8)]
    writers: u32,
    /// Events per append request.
    #[arg(long, default_value_t = 1)]
    batch: u32,
    /// Stop after this many events in total (0: run until killed).
    #[arg(long, default_value_t = 0)]
    events: u64,
    /// Print each acknowledged event.
    #[arg(long)]
    print_acks: bool,
}

/// Runs the writers.
///
/// # Errors
/// Bad arguments, not a ledger, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if args.writers == 0 || args.writers > STRESS_WRITERS_MAX || args.batch == 0 {
        return Err(BadInput(format!(
            "--writers must be 1 to {STRESS_WRITERS_MAX} and --batch at least 1"
        ))
        .into());
    }
    init_store(data).await?;
    let store = Arc::new(open_store(data).await?);
    let issued = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for w in 0..args.writers {
        let store = store.clone();
        let issued = issued.clone();
        let (batch, limit, print) = (u64::from(args.batch), args.events, args.print_acks);
        handles.push(tokio::spawn(async move {
            writer(w, &store, &issued, batch, limit, print).await
        }));
    }
    for h in handles {
        h.await??;
    }
    let head = store.head().await?;
    if let Ok(store) = Arc::try_unwrap(store) {
        store.close().await?;
    }
    eprintln!("stress-append: head position {}", head.position);
    Ok(ExitCode::SUCCESS)
}

async fn writer(
    w: u32,
    store: &AnyStore,
    issued: &AtomicU64,
    batch: u64,
    limit: u64,
    print: bool,
) -> anyhow::Result<()> {
    let stream = StreamId::contract(Uuid::now_v7());
    let mut version = 0u64;
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
    loop {
        let n = if limit == 0 {
            batch
        } else {
            let before = issued.fetch_add(batch, Ordering::Relaxed);
            if before >= limit {
                return Ok(());
            }
            batch.min(limit - before)
        };
        let events: Vec<NewEvent> = (0..n)
            .map(|i| NewEvent {
                event_id: Uuid::now_v7(),
                effective_date: day,
                actor: Actor::billing_clock(),
                channel: None,
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                event: Event::MandateRevoked(MandateRevoked {
                    reference: format!("stress-{w}-{}", version + i + 1),
                }),
            })
            .collect();
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let out = store
            .append(AppendRequest {
                stream,
                expected: ExpectedVersion::Exact(version),
                events,
                idempotency_key: None,
                recorded_at: None,
            })
            .await?;
        let AppendOutcome::Appended { positions, .. } = out else {
            anyhow::bail!("an append without an idempotency key cannot be a duplicate");
        };
        if print {
            let mut out = std::io::stdout().lock();
            for (i, (p, id)) in positions.iter().zip(&ids).enumerate() {
                writeln!(out, "ACK {p} {stream} {} {id}", version + i as u64 + 1)?;
            }
            out.flush()?;
        }
        version += n;
    }
}
