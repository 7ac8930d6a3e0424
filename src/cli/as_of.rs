//! What the projection subcommands (`state`, `balance`, `calendar`, `bans`,
//! `refunds`) share: the `--at` / `--known-at` / `--json` arguments and their
//! validation against the system clock.

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::Envelope;
use navigo_projections::{ProjectionError, Query};
use navigo_rules::calendar::paris_date;
use navigo_store::Clock;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::output::print_json;
use super::remote::{self, RouteQuery};
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::read_slice;
use crate::app::place::Place;
use crate::app::read::Subject;

/// The arguments every projection subcommand takes besides its id (each
/// command names the kind of id it takes).
#[derive(Debug, clap::Args)]
pub struct AsOfArgs {
    /// The effective Europe/Paris date read (YYYY-MM-DD); default: today.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Only events recorded at or before this UTC instant count (RFC 3339, e.g.
    /// 2026-11-20T10:00:00Z); default: everything. Not in the future.
    #[arg(long, value_name = "INSTANT")]
    pub known_at: Option<String>,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The parsed arguments.
pub struct AsOf {
    /// The id.
    pub id: Uuid,
    /// The query.
    pub query: Query,
    /// JSON output.
    pub json: bool,
}

/// Parses the id (`label`: its argument's name, as the help shows it) and the
/// shared arguments against `now`.
///
/// # Errors
/// [`BadInput`] for a malformed id, date or instant, or an instant in the future.
pub fn parse_as_of(
    label: &str,
    id: &str,
    args: &AsOfArgs,
    now: DateTime<Utc>,
) -> Result<AsOf, BadInput> {
    let id: Uuid = id
        .parse()
        .map_err(|e| BadInput(format!("{label} is not a UUID: {e}")))?;
    let at = match &args.at {
        Some(s) => parse_date("--at", s)?,
        None => paris_date(now),
    };
    let known_at = match &args.known_at {
        Some(s) => {
            let t = parse_instant("--known-at", s)?;
            if t > now {
                return Err(BadInput(format!(
                    "--known-at {s} is in the future (now is {}); nothing is known after now",
                    now.format("%Y-%m-%dT%H:%M:%SZ")
                )));
            }
            Some(t)
        }
        None => None,
    };
    Ok(AsOf {
        id,
        query: Query { at, known_at },
        json: args.json,
    })
}

/// The id and the `--at` / `--known-at` of a read as the route's path id and
/// query parameters, checked as the local read checks them (the id's `label`
/// as the help shows it) except against a clock: the service's decides "now".
/// Decision: a `--known-at` after the service's now is therefore not refused
/// here, and the service reads it as now (nothing is known after now), where
/// the local read refuses it; every other answer is the same both ways.
///
/// # Errors
/// [`BadInput`] for a malformed id, date or instant.
pub fn as_of_query(label: &str, id: &str, args: &AsOfArgs) -> Result<(Uuid, RouteQuery), BadInput> {
    let id: Uuid = id
        .parse()
        .map_err(|e| BadInput(format!("{label} is not a UUID: {e}")))?;
    let mut query = Vec::new();
    if let Some(s) = &args.at {
        parse_date("--at", s)?;
        query.push(("at", s.clone()));
    }
    if let Some(s) = &args.known_at {
        parse_instant("--known-at", s)?;
        query.push(("known_at", s.clone()));
    }
    Ok((id, query))
}

/// Parses a date YYYY-MM-DD.
///
/// # Errors
/// [`BadInput`] naming the option.
pub fn parse_date(option: &str, s: &str) -> Result<NaiveDate, BadInput> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| BadInput(format!("{option} {s:?} is not a date YYYY-MM-DD: {e}")))
}

/// Parses an RFC 3339 instant.
///
/// # Errors
/// [`BadInput`] naming the option.
pub fn parse_instant(option: &str, s: &str) -> Result<DateTime<Utc>, BadInput> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            BadInput(format!(
                "{option} {s:?} is not an RFC 3339 instant (e.g. 2026-11-20T10:00:00Z): {e}"
            ))
        })
}

/// Parses an id (UUID) given as `ID`.
///
/// # Errors
/// [`BadInput`] quoting it.
pub fn parse_id(id: &str) -> Result<Uuid, BadInput> {
    id.parse()
        .map_err(|e| BadInput(format!("ID is not a UUID: {e}")))
}

/// An unknown id is bad input (exit 2), with the projection's message.
pub fn unknown(e: ProjectionError) -> BadInput {
    BadInput(e.to_string())
}

/// Arguments of `person`-reading commands (`bans`, `refunds`).
#[derive(Debug, clap::Args)]
pub struct PersonArgs {
    /// The person's id (UUID).
    #[arg(value_name = "PERSON")]
    pub person: String,
    #[command(flatten)]
    pub as_of: AsOfArgs,
}

/// What `bans` and `refunds` share: parses the arguments against the system
/// clock, reads the person's slice of the log and computes the person's view
/// with `view` (beside a running service, asks the service's `route` of the
/// person instead); with `--json` prints it and returns `None` (done), else
/// returns it for the caller's table.
///
/// # Errors
/// Bad input (exit 2), an unknown person, a storage failure.
pub async fn person_view<T: Serialize + DeserializeOwned>(
    data: &Place,
    args: &PersonArgs,
    route: &str,
    view: impl FnOnce(&[Envelope], Uuid, &Query) -> Result<T, ProjectionError>,
) -> anyhow::Result<Option<T>> {
    if let Some(svc) = remote::service(data) {
        let (id, query) = as_of_query("PERSON", &args.person, &args.as_of)?;
        let v: T = remote::get(&svc, &format!("/v1/persons/{id}/{route}"), &query).await?;
        if args.as_of.json {
            print_json(&v)?;
            return Ok(None);
        }
        return Ok(Some(v));
    }
    let q = parse_as_of("PERSON", &args.person, &args.as_of, SystemClock.now())?;
    let events = read_slice(data, q.id, Subject::Person).await?;
    let v = view(&events, q.id, &q.query).map_err(unknown)?;
    if q.json {
        print_json(&v)?;
        return Ok(None);
    }
    Ok(Some(v))
}
