//! `navigo-ledger erase PERSON --basis TEXT --operator ID`: erase a person's
//! personal data (`TERM-RETENTION`). The person's key is destroyed, then
//! `PersonalDataErased` is recorded on their stream with the legal basis, the
//! operator (an agent) and the instant of the binary's clock. Beside a running
//! service, the service does it (`POST /v1/commands`, `ErasePersonalData`, with
//! an agent's token: the token's agent is the operator, the service's clock the
//! instant). Erasing twice is erasing once. The materialized projections are
//! then rebuilt into a database of their own and the previous one's files
//! deleted, so that none keeps the person's clear text.

use std::process::ExitCode;
use std::sync::Arc;

use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::views::CommandAccepted;
use navigo_store::Clock;
use uuid::Uuid;

use super::exit::CmdResult;
use super::output::print_json_line;
use super::remote;
use crate::app::admin::after_erasure;
use crate::app::clock::SystemClock;
use crate::app::commands::erase_person;
use crate::app::ledger::open_clocked_ledger;
use crate::app::place::Place;

/// Arguments of `erase`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person whose personal data is erased.
    person: Uuid,
    /// The legal basis, recorded in the event (e.g. "TERM-RETENTION: five
    /// years after the last contract ended", "GDPR art. 17 request of
    /// 2026-03-02").
    #[arg(long)]
    basis: String,
    /// The agent who erases (recorded as the event's actor); beside a running
    /// service, the agent of the token is.
    #[arg(long, default_value = "cli")]
    operator: String,
}

/// Erases, and prints the events appended (none when already erased).
///
/// # Errors
/// An unknown person, an empty basis, or a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if let Some(svc) = remote::service(data) {
        let body = serde_json::json!({"command": {
            "type": "ErasePersonalData", "person_id": args.person, "basis": args.basis,
        }});
        let answer: CommandAccepted = remote::command(&svc, body.to_string()).await?;
        return print(&answer);
    }
    let mut ledger = open_clocked_ledger(data, 0, Arc::new(SystemClock)).await?;
    let actor = Actor {
        role: ActorRole::Agent,
        id: args.operator,
    };
    let result = erase_person(
        &mut ledger,
        args.person,
        &args.basis,
        actor,
        SystemClock.now(),
    )
    .await;
    let answer = match result {
        Ok(a) => a,
        Err(e) => {
            ledger.into_store().close().await?;
            return Err(e.into());
        }
    };
    print(&answer)?;
    // The projections are purged even when nothing was appended, so that
    // erasing again finishes a purge a failure interrupted.
    let done = after_erasure(&mut ledger, data.data(), &[args.person]).await;
    ledger.close().await?.close().await?;
    done?;
    Ok(ExitCode::SUCCESS)
}

fn print(answer: &CommandAccepted) -> CmdResult {
    print_json_line(answer)?;
    if answer.events.is_empty() {
        eprintln!("the person was erased already: nothing appended, the key is destroyed");
    }
    Ok(ExitCode::SUCCESS)
}
