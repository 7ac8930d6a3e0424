//! The pipelined command path of the service on its embedded store: the
//! requests that arrive while a group commit is flushing queue up, and one
//! task takes them all as one batch of the ledger
//! ([`navigo_ledger_core::pipeline`]): each command judged against the world
//! with the not-yet-durable events of the commands before it, their appends
//! submitted together so that the store's writer group-commits them, and each
//! request answered only once its events are durable. A failed flush fails
//! every command judged on top of it (none answered as accepted), and the
//! ledger is folded again from the durable log before the next batch.
//!
//! Readers never see a provisional event: the task holds the ledger from the
//! batch's first judgment to its last flush, and the feed reads the store,
//! which shows a record only once it is durable.
//!
//! Decision: on PostgreSQL the service keeps judging one command at a time
//! under the database's command lock (`crate::app::commands`): the lock is
//! what lets several services share a database, a batch would hold it across
//! a flush of every service's commands, and the advisory lock, the catch-up
//! with the other services' appends and the batch's failure would have to be
//! proven together; the embedded store, which one process owns, gets the
//! pipeline.

use std::sync::Arc;

use navigo_events_schema::views::CommandAccepted;
use navigo_ledger_core::pipeline::{PipelineOutcome, Pipelined, COMMANDS_IN_FLIGHT_MAX};
use navigo_ledger_core::LedgerError;
use tokio::sync::mpsc;

use crate::http::command_queue::Job;
use crate::http::error::ApiError;
use crate::http::judging::{answer_outcomes, check_owned};
use crate::http::state::AppState;

/// Takes the queued requests as batches, until the queue closes: each batch
/// is every request queued when the previous one ended, up to
/// [`COMMANDS_IN_FLIGHT_MAX`] commands (exceeded by the last request taken at
/// most, whose commands are judged together).
pub async fn run(st: Arc<AppState>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut commands = first.cmds.len();
        let mut jobs = vec![first];
        while commands < COMMANDS_IN_FLIGHT_MAX {
            match rx.try_recv() {
                Ok(job) => {
                    commands += job.cmds.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        judge_batch(&st, jobs).await;
    }
}

/// Where a request's judgment stands in the batch.
enum Judged {
    /// Its commands are the batch's `from..to`.
    Commands { from: usize, to: usize },
    /// Refused before any was judged (a customer's command on another's
    /// contract), after `judged` commands of the batch.
    Refused { error: ApiError, judged: usize },
}

/// Judges the jobs as one pipelined batch and answers each.
async fn judge_batch(st: &AppState, jobs: Vec<Job>) {
    // A request whose caller has gone (timed out) is not judged at all.
    let jobs: Vec<Job> = jobs.into_iter().filter(|j| !j.reply.is_closed()).collect();
    if jobs.is_empty() {
        return;
    }
    let mut ledger = st.ledger.lock().await;
    let mut batch = match ledger.begin_pipeline(st.clock.now()).await {
        Ok(b) => b,
        Err(e) => {
            let why = e.to_string();
            for job in jobs {
                let _ = job.reply.send(Err(ApiError::Internal(why.clone())));
            }
            return;
        }
    };
    let mut judged = Vec::with_capacity(jobs.len());
    for job in &jobs {
        judged.push(judge_job(&mut ledger, &mut batch, job).await);
    }
    let outcome = ledger.end_pipeline(batch).await;
    let head = ledger.world().position;
    drop(ledger);
    st.forget_erased(
        outcome
            .results
            .iter()
            .flatten()
            .flatten()
            .filter(|e| matches!(e.event, navigo_events_schema::Event::PersonalDataErased(_)))
            .map(|e| e.stream.id)
            .collect(),
    )
    .await;
    st.metrics
        .head_position
        .set(crate::http::metrics::gauge(head));
    answer_jobs(st, jobs, judged, outcome);
}

/// Judges one request's commands into the batch.
async fn judge_job(
    ledger: &mut navigo_ledger_core::Ledger<crate::app::store::AnyStore>,
    batch: &mut Pipelined,
    job: &Job,
) -> Judged {
    let judged = batch.judged();
    if let Err(error) = check_owned(ledger, job.person, &job.cmds, job.batch).await {
        return Judged::Refused { error, judged };
    }
    for c in &job.cmds {
        ledger.execute_pipelined(batch, c).await;
    }
    Judged::Commands {
        from: judged,
        to: batch.judged(),
    }
}

/// Answers every request of a batch from the batch's outcome: a request
/// refused before its commands were judged keeps its refusal unless that was
/// judged on top of events a failed flush lost, when it fails as they do.
fn answer_jobs(st: &AppState, jobs: Vec<Job>, judged: Vec<Judged>, outcome: PipelineOutcome) {
    let lost: Vec<bool> = (0..=outcome.results.len())
        .map(|n| outcome.judged_on_lost(n))
        .collect();
    let why = outcome
        .failed_from
        .and_then(|f| outcome.results.get(f))
        .and_then(|r| r.as_ref().err())
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut results: Vec<Option<Result<CommandAccepted, LedgerError>>> = outcome
        .results
        .into_iter()
        .map(|r| Some(r.map(|events| CommandAccepted::of(&events))))
        .collect();
    for (job, judged) in jobs.into_iter().zip(judged) {
        let answer = match judged {
            Judged::Refused { judged, .. } if lost.get(judged).copied().unwrap_or(true) => {
                Err(ApiError::Internal(why.clone()))
            }
            Judged::Refused { error, .. } => Err(error),
            Judged::Commands { from, to } => {
                let of_job = results
                    .get_mut(from..to)
                    .unwrap_or_default()
                    .iter_mut()
                    .filter_map(Option::take)
                    .collect();
                answer_outcomes(st, of_job, job.batch)
            }
        };
        let _ = job.reply.send(answer);
    }
}
