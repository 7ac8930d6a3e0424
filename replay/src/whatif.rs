//! What-if: hypothetical commands layered on a contract at past or future
//! instants, judged by the core's engine and followed by its billing clock, on a
//! copy of the log in memory. Nothing is appended.
//!
//! Decision (RULES.md is silent on hypotheticals): the hypothetical replaces what
//! happened to the contract after the first hypothetical request instant. The
//! contract stream's real events recorded after that instant are set aside
//! (counted in [`WhatIf::set_aside`]); other streams are kept whole. Before each
//! command, and at the end through the date the real log reached, the billing
//! clock runs as it would have, so debits, refunds and clock terminations follow
//! the hypothetical.
//!
//! The layering reads the contract's slice of the log: the streams of the
//! contract's views, of its holder and payers (bans, other contracts), and of
//! the contracts and persons the commands name ([`streams_read`]). A command
//! whose reach a slice cannot bound (a registration, a new subscription, the
//! clock, reference data) makes it read the whole log, as [`what_if_whole_log`] does;
//! `tests/replay.rs` checks the two against each other on a generated
//! population.

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::{Command, CommandEnvelope, Envelope, StreamId, StreamKind};
use navigo_projections::{known_events, slice, Query};
use navigo_rules::billing;
use navigo_rules::calendar::paris_date;
use navigo_rules::decision::{Context, Decision};
use navigo_rules::engine::handle;
use navigo_rules::ids::IdGen;
use navigo_rules::policy::Policy;
use navigo_rules::refusal::CommandError;
use navigo_rules::world::World;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

use crate::diff::views;
use crate::ReplayError;

/// Seed of the hypothetical id generator: fixed, so a what-if is reproducible.
pub const WHATIF_SEED: u64 = 0x5748_4154_4946;

/// The outcome of one hypothetical command.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The command's request instant.
    pub request_at: DateTime<Utc>,
    /// The command type.
    pub command: String,
    /// Accepted: the hypothetical events (type, effective date); refused: the
    /// refusal as it would be reported for real.
    pub result: Result<Vec<(String, NaiveDate)>, String>,
}

/// The actual and hypothetical views side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIf {
    /// The date both views are read on.
    pub at: NaiveDate,
    /// Real events of the contract set aside (recorded after the first
    /// hypothetical instant).
    pub set_aside: u64,
    /// Each command's outcome.
    pub outcomes: Vec<Outcome>,
    /// The actual views (state, balance, calendar).
    pub actual: BTreeMap<&'static str, Value>,
    /// The hypothetical views.
    pub hypothetical: BTreeMap<&'static str, Value>,
}

/// Folds decisions into `world` and `log` as the store would number them
/// (provisional hashes: nothing is stored).
fn append(
    world: &mut World,
    log: &mut Vec<Envelope>,
    decisions: Vec<Decision>,
    at: DateTime<Utc>,
) -> Vec<(String, NaiveDate)> {
    let mut out = Vec::new();
    for d in decisions {
        for e in d.events {
            let env = world.provisional(d.stream, e, at);
            out.push((env.event.type_name().to_string(), env.effective_date));
            world.apply(&env);
            log.push(env);
        }
    }
    out
}

/// Layers `commands` on `contract` over `events` (the whole log) and reads both
/// logs on `at` (default: the latest date among the real log and the commands),
/// reading the slice of the log the contract and the commands reach.
///
/// # Errors
/// Unknown contract.
pub fn what_if(
    events: &[Envelope],
    contract: Uuid,
    commands: &[CommandEnvelope],
    at: Option<NaiveDate>,
) -> Result<WhatIf, ReplayError> {
    let head = events.last().map_or(0, |e| e.position);
    what_if_in_slice(events, head, contract, commands, at)
}

/// [`what_if`] over `events`, a part of a log whose last position is `head`
/// (hypothetical events are numbered after it) holding at least the streams
/// [`streams_read`] picks from the whole log's world: what a reader that
/// took that slice from a store passes, with the same answer as the whole
/// log's (the slice of the slice is itself).
///
/// # Errors
/// Unknown contract.
pub fn what_if_in_slice(
    events: &[Envelope],
    head: u64,
    contract: Uuid,
    commands: &[CommandEnvelope],
    at: Option<NaiveDate>,
) -> Result<WhatIf, ReplayError> {
    let part = slice::of_log(events, |w| streams_read(w, contract, commands));
    layer(
        part.as_deref().unwrap_or(events),
        head,
        contract,
        commands,
        at,
    )
}

/// [`what_if`] reading `events` as the whole world: every fold and the clock
/// run over all of them. The reference the tests hold [`what_if`] to.
///
/// # Errors
/// Unknown contract.
pub fn what_if_whole_log(
    events: &[Envelope],
    contract: Uuid,
    commands: &[CommandEnvelope],
    at: Option<NaiveDate>,
) -> Result<WhatIf, ReplayError> {
    let head = events.last().map_or(0, |e| e.position);
    layer(events, head, contract, commands, at)
}

/// The streams a what-if on `contract` reads, or `None` when a command reaches
/// beyond what a slice bounds: a command on anything but a contract the log
/// knows (a registration's client number is unique among all persons, a new
/// subscription, the clock, reference data, a campaign). For each contract:
/// its views' streams ([`slice::contract_streams`]) and the person streams of
/// its holder and payers ([`slice::person_streams`]: bans, other contracts,
/// campaigns); for each person a command names (a new payer, a fraudster or an
/// accomplice): their person streams.
pub fn streams_read(
    world: &World,
    contract: Uuid,
    commands: &[CommandEnvelope],
) -> Option<BTreeSet<StreamId>> {
    let mut out = BTreeSet::new();
    let mut persons: BTreeSet<Uuid> = BTreeSet::new();
    let mut contracts = BTreeSet::from([contract]);
    for c in commands {
        let subject = c.command.subject()?;
        // A subscription names a contract the log does not know.
        if subject.kind != StreamKind::Contract || world.contract(subject.id).is_none() {
            return None;
        }
        contracts.insert(subject.id);
        match &c.command {
            Command::ChangePayer(p) => {
                persons.insert(p.payer);
            }
            Command::EstablishFraud(f) => {
                persons.insert(f.fraudster);
                persons.extend(f.accomplices.iter().copied());
            }
            _ => {}
        }
    }
    for id in contracts {
        out.extend(slice::contract_streams(world, id)?);
    }
    // The contracts' views read their holders' and payers' person streams.
    persons.extend(
        out.iter()
            .filter(|s| s.kind == StreamKind::Person)
            .map(|s| s.id),
    );
    for p in persons {
        out.insert(StreamId::person(p));
        out.extend(slice::person_streams(world, p).unwrap_or_default());
    }
    Some(out)
}

/// Layers the commands over `events`, numbering hypothetical events after
/// `head` (the whole real log's last position).
fn layer(
    events: &[Envelope],
    head: u64,
    contract: Uuid,
    commands: &[CommandEnvelope],
    at: Option<NaiveDate>,
) -> Result<WhatIf, ReplayError> {
    let stream = StreamId::contract(contract);
    let first = commands.iter().map(|c| c.request_at).min();
    let real_through = events
        .iter()
        .filter(|e| e.stream == stream)
        .map(|e| e.effective_date)
        .max()
        .ok_or(navigo_projections::ProjectionError::UnknownContract(
            contract,
        ))?;
    let mut log: Vec<Envelope> = Vec::new();
    let mut set_aside = 0u64;
    for e in known_events(events, None) {
        if e.stream == stream && first.is_some_and(|f| e.recorded_at > f) {
            set_aside += 1;
        } else {
            log.push(e.clone());
        }
    }
    let mut world = World::new();
    for e in &log {
        world.apply(e);
    }
    // Positions of hypothetical events follow the whole real log.
    world.position = head;
    let policy = Policy::default();
    let mut ids = IdGen::new(WHATIF_SEED);
    let outcomes = judge_in_order(&mut world, &mut log, commands, &policy, &mut ids);
    let last_cmd = commands.iter().map(|c| paris_date(c.request_at)).max();
    let through = last_cmd.map_or(real_through, |d| d.max(real_through));
    let end_at = commands
        .iter()
        .map(|c| c.request_at)
        .max()
        .unwrap_or_default();
    let due = billing::advance_to(
        &world,
        through,
        end_at,
        &mut Context {
            policy: &policy,
            ids: &mut ids,
        },
    );
    append(&mut world, &mut log, due, end_at);
    let at = at.unwrap_or(through);
    let q = Query::on(at);
    Ok(WhatIf {
        at,
        set_aside,
        outcomes,
        actual: views(events, contract, &q)?,
        hypothetical: views(&log, contract, &q)?,
    })
}

/// Judges the commands in the order of their request instants, each after the
/// billing clock ran every day before it (the day's debits included), and
/// appends what each decides to `world` and `log`.
fn judge_in_order(
    world: &mut World,
    log: &mut Vec<Envelope>,
    commands: &[CommandEnvelope],
    policy: &Policy,
    ids: &mut IdGen,
) -> Vec<Outcome> {
    let mut sorted: Vec<&CommandEnvelope> = commands.iter().collect();
    sorted.sort_by_key(|c| c.request_at);
    let mut outcomes = Vec::new();
    for c in sorted {
        let date = paris_date(c.request_at);
        let due = billing::advance_to(world, date, c.request_at, &mut Context { policy, ids });
        append(world, log, due, c.request_at);
        let judged = handle(world, c, &mut Context { policy, ids });
        let result = match judged {
            Ok(decisions) => Ok(append(world, log, decisions, c.request_at)),
            Err(CommandError::Refused(r)) => Err(format!(
                "refused by {} ({}): {}",
                r.rule.as_str(),
                r.article,
                r.message
            )),
            Err(e) => Err(format!("invalid: {e}")),
        };
        outcomes.push(Outcome {
            request_at: c.request_at,
            command: command_name(c),
            result,
        });
    }
    outcomes
}

fn command_name(c: &CommandEnvelope) -> String {
    match serde_json::to_value(&c.command) {
        Ok(Value::Object(m)) => m
            .get("type")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .or_else(|| m.keys().next().cloned())
            .unwrap_or_default(),
        _ => String::new(),
    }
}
