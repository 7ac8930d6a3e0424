//! The queue of the pipelined command path (`crate::http::pipeline`): a
//! request's commands wait in it, and the request waits for their answer.

use axum::http::StatusCode;
use navigo_events_schema::CommandEnvelope;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::http::error::ApiError;

/// Requests waiting for the pipeline; a request finding it full waits for a
/// place (back-pressure), so that memory stays bounded whatever the load.
pub const QUEUED_REQUESTS_MAX: usize = 1_024;

/// One request's commands, waiting to be judged.
pub struct Job {
    /// The customer's person, when a customer sends them (their ownership
    /// is checked against the batch's world).
    pub(crate) person: Option<Uuid>,
    pub(crate) cmds: Vec<CommandEnvelope>,
    /// Whether the body was a batch (answered with each outcome).
    pub(crate) batch: bool,
    pub(crate) reply: oneshot::Sender<Result<(StatusCode, Value), ApiError>>,
}

/// The queue of the pipeline.
pub type Queue = mpsc::Sender<Job>;

/// A new queue, and its receiving end for [`run`].
pub fn queue() -> (Queue, mpsc::Receiver<Job>) {
    mpsc::channel(QUEUED_REQUESTS_MAX)
}

/// Queues a request's commands and waits for their answer.
///
/// # Errors
/// The commands' own answer (`crate::http::judging::answer_outcomes`); an internal
/// error when the pipeline has stopped (the service is closing).
pub async fn submit(
    queue: &Queue,
    person: Option<Uuid>,
    cmds: Vec<CommandEnvelope>,
    batch: bool,
) -> Result<(StatusCode, Value), ApiError> {
    let (reply, answer) = oneshot::channel();
    let stopped = || ApiError::Internal("the command pipeline has stopped".into());
    queue
        .send(Job {
            person,
            cmds,
            batch,
            reply,
        })
        .await
        .map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())?
}
