//! The administrative jobs a running service runs (`routes::admin`), one of
//! a kind at a time: the turns, kept apart from the handlers so that the
//! service's state holds them without importing the handlers.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex as StdMutex};

use super::error::ApiError;

/// The kinds of administrative job running, one of each at a time: a job is
/// a whole-log read and fold, and a second of the same kind would only
/// repeat the first's answer while taking a core from the readers.
#[derive(Default, Clone)]
pub struct AdminJobs(Arc<StdMutex<BTreeSet<&'static str>>>);

/// A kind's turn, given back when dropped (on whichever thread the job ends).
pub struct JobTurn {
    jobs: AdminJobs,
    kind: &'static str,
}

impl AdminJobs {
    /// Takes the turn of `kind`.
    ///
    /// # Errors
    /// 409 when a job of that kind is running, saying what to do.
    pub fn start(&self, kind: &'static str) -> Result<JobTurn, ApiError> {
        let mut running = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !running.insert(kind) {
            return Err(ApiError::Conflict(format!(
                "a {kind} is running on this service (admin_jobs_per_kind_max 1): wait for its \
                 answer, or try again when it is done"
            )));
        }
        Ok(JobTurn {
            jobs: self.clone(),
            kind,
        })
    }
}

impl Drop for JobTurn {
    fn drop(&mut self) {
        let mut running = self.jobs.0.lock().unwrap_or_else(|p| p.into_inner());
        running.remove(self.kind);
    }
}
