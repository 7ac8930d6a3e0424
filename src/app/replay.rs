//! The auditor's reads over the log: the audit trail of a contract or person,
//! what changed between two readings, and hypothetical commands; each answered
//! with its view. Each reads the id's slice of the log, as the views do: the
//! audit trail and the diff [`read::slice`](super::read::slice) of the contract
//! or person, the what-if [`what_if_slice`].

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::views::{
    AuditEntryView, AuditTrail, CauseView, ChangeView, DiffView, HypotheticalEvent,
    WhatIfJudgement, WhatIfOutcome, WhatIfView,
};
use navigo_events_schema::{CommandEnvelope, Envelope};
use navigo_ledger_core::{Ledger, LedgerError};
use navigo_projections::Query;
use navigo_replay::audit::AuditEntry;
use navigo_replay::ReplayError;
use navigo_store::EventStore;
use uuid::Uuid;

/// One line of an audit trail as a view.
fn entry_view(e: &AuditEntry) -> AuditEntryView {
    let env = &e.envelope;
    AuditEntryView {
        position: env.position,
        stream: env.stream,
        stream_seq: env.stream_seq,
        event_id: env.event_id,
        event_type: env.event.type_name().to_owned(),
        recorded_at: env.recorded_at,
        effective_date: env.effective_date,
        actor: env.actor.clone(),
        channel: env.channel,
        rules: e.rules.clone(),
        balance_after: e.balance_after,
        corrects_position: e.corrects,
        annulled_by_position: e.annulled_by,
        prev_hash: env.prev_hash,
        hash: env.hash,
    }
}

/// Every event of a contract or person in log order, as known at `known_at`
/// (everything when `None`), read from `events`: the id's slice
/// ([`Subject::ContractOrPerson`](super::read::Subject)) or the whole log.
///
/// # Errors
/// An unknown id, a log that does not fold.
pub fn audit(
    events: &[Envelope],
    id: Uuid,
    known_at: Option<DateTime<Utc>>,
) -> Result<AuditTrail, ReplayError> {
    let entries = navigo_replay::audit::audit(events, id, known_at)?;
    Ok(AuditTrail {
        id,
        entries: entries.iter().map(entry_view).collect(),
    })
}

/// What changed in the views of a contract or person between the readings `a`
/// and `b`, and which events caused it, read from `events`: the id's slice
/// ([`Subject::ContractOrPerson`](super::read::Subject)) or the whole log.
///
/// # Errors
/// An unknown id, a log that does not fold.
pub fn diff(events: &[Envelope], id: Uuid, a: &Query, b: &Query) -> Result<DiffView, ReplayError> {
    let d = navigo_replay::diff::diff(events, id, a, b)?;
    Ok(DiffView {
        id,
        from: a.as_of(),
        to: b.as_of(),
        changes: d
            .changes
            .into_iter()
            .map(|c| ChangeView {
                path: c.path,
                before: c.before,
                after: c.after,
                caused_by: c.caused_by,
            })
            .collect(),
        events: d
            .causes
            .into_iter()
            .map(|c| CauseView {
                position: c.envelope.position,
                event_type: c.envelope.event.type_name().to_owned(),
                recorded_at: c.envelope.recorded_at,
                effective_date: c.envelope.effective_date,
                rules: c.rules,
                explanation: c.explanation,
                hash: c.envelope.hash,
            })
            .collect(),
    })
}

/// What a what-if reads: the part of the log the contract and the commands
/// reach, and the log's head (hypothetical events are numbered after it).
pub struct WhatIfSlice {
    /// The events, in position order.
    pub events: Vec<Envelope>,
    /// The last position of the whole log.
    pub head: u64,
}

/// The part of the log a what-if of `commands` on `contract` reads: the
/// streams `navigo_replay::whatif::streams_read` picks from the ledger's
/// world, or the whole log when a command reaches beyond what a slice bounds
/// (a subscription, a registration, the clock, reference data).
///
/// # Errors
/// A store failure or a corrupt record of what is read.
pub async fn what_if_slice<S: EventStore>(
    ledger: &Ledger<S>,
    contract: Uuid,
    commands: &[CommandEnvelope],
) -> Result<WhatIfSlice, LedgerError> {
    let head = ledger.world().position;
    let events = match navigo_replay::whatif::streams_read(ledger.world(), contract, commands) {
        Some(streams) => ledger.read_streams(&streams).await?,
        None => navigo_ledger_core::load::read_everything(ledger.store()).await?,
    };
    Ok(WhatIfSlice { events, head })
}

/// `commands` layered on `contract`, judged and clocked in memory, and its views
/// read on `at` with and without them; nothing is appended. `read` is what
/// [`what_if_slice`] read.
///
/// # Errors
/// An unknown contract.
pub fn what_if(
    read: &WhatIfSlice,
    contract: Uuid,
    commands: &[CommandEnvelope],
    at: Option<NaiveDate>,
) -> Result<WhatIfView, ReplayError> {
    let w =
        navigo_replay::whatif::what_if_in_slice(&read.events, read.head, contract, commands, at)?;
    let views = |m: std::collections::BTreeMap<&str, serde_json::Value>| {
        m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    };
    Ok(WhatIfView {
        contract,
        at: w.at,
        set_aside: w.set_aside,
        outcomes: w
            .outcomes
            .into_iter()
            .map(|o| WhatIfOutcome {
                request_at: o.request_at,
                command: o.command,
                judgement: match o.result {
                    Ok(events) => WhatIfJudgement::Accepted(
                        events
                            .into_iter()
                            .map(|(event_type, effective_date)| HypotheticalEvent {
                                event_type,
                                effective_date,
                            })
                            .collect(),
                    ),
                    Err(why) => WhatIfJudgement::Refused(why),
                },
            })
            .collect(),
        actual: views(w.actual),
        hypothetical: views(w.hypothetical),
    })
}
