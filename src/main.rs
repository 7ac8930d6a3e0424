//! `navigo-ledger`: the command-line interface of the ledger.
//!
//! Every subcommand lives in its own module under `cli/`; this file only parses
//! the arguments, runs the chosen command on a tokio runtime and turns its result
//! into an exit code (0 ok, 1 refused or verification failed, 2 bad input or usage).
#![warn(missing_docs)]

mod cli;
mod http;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The event-sourced ledger of Navigo Annuel contracts.
#[derive(Debug, Parser)]
#[command(name = "navigo-ledger", version, about)]
struct Cli {
    /// The ledger's data directory.
    #[arg(
        long,
        global = true,
        default_value = "./navigo-data",
        value_name = "DIR"
    )]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a ledger in --data with the built-in reference data (tariffs, school
    /// holidays, reason codes, campaigns); an existing ledger only gets what it
    /// lacks of that data. `--empty` creates it without.
    Init(cli::init::Args),
    /// Append raw events, one JSON object per line (events-schema's RawEventLine,
    /// JSON Schema raw-event-line.json), all or nothing. A low-level tool for tests
    /// and repairs.
    Append(cli::append::Args),
    /// Judge commands (JSON lines, see events-schema/schemas/command.json) at
    /// their request instants and print one JSON line per command: accepted with
    /// its events and positions, or refused with rule id, article and message.
    Apply(cli::apply::Args),
    /// Run the billing clock through a date (debits, notices, terminations...).
    Advance(cli::advance::Args),
    /// A contract's state on a date (status, product, payment, losses, free month,
    /// attestation, retention); with --zone, may it be used there (USE-DEZONAGE).
    State(cli::state::Args),
    /// The balance of a contract, or of a payer (every contract they pay).
    Balance(cli::balance::Args),
    /// A contract's debit calendar, from its start to a horizon.
    Calendar(cli::calendar::Args),
    /// A person's ban windows; may they be payer or holder on the date?
    Bans(cli::bans::Args),
    /// A person's refund entitlements (punctuality, contract refunds).
    Refunds(cli::refunds::Args),
    /// Generate a seeded population, send everything it asks through the command
    /// path with the billing clock month by month, verify the chain and print a
    /// summary and the audit of one contract.
    Demo(cli::demo::Args),
    /// Print a stream's events: a table, or JSON lines with --json.
    History(cli::history::Args),
    /// Recompute every hash and the chain; report the first bad position.
    Verify,
    /// Serve the HTTP API (see docs/openapi.json).
    Serve(cli::serve::Args),
    /// Manage API tokens (agent, auditor, system, partner, reference).
    #[command(subcommand)]
    Token(cli::token::Args),
    /// Manage customer accounts of the personal space.
    #[command(subcommand)]
    Account(cli::account::Args),
    /// Count events, streams and keys.
    Stats,
    /// Create a ledger under --data if absent, append a small realistic sample,
    /// verify it and print its stats.
    Sample,
    /// Rebuilds the materialized projections from the whole log (shadow trees,
    /// swapped in atomically).
    Rebuild(cli::rebuild::Args),
    /// Catches the materialized projections up from their checkpoint, then tails
    /// new events.
    Follow(cli::follow::Args),
    /// Compares every materialized projection with the log; prints state hashes.
    CheckProjections(cli::check_projections::Args),
    /// Every event of a contract or person with rule ids, hashes and balances.
    Audit(cli::audit::Args),
    /// What changed between two views of a contract or person, and why.
    Diff(cli::diff::Args),
    /// Hypothetical commands on a contract, without writing anything.
    WhatIf(cli::what_if::Args),
    /// Append in a loop from concurrent writers (crash tests, 1M-event runs).
    #[command(hide = true)]
    StressAppend(cli::stress::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(cli::EXIT_REFUSED);
        }
    };
    let data = cli.data;
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Init(args) => cli::init::run(&data, args).await,
            Command::Append(args) => cli::append::run(&data, args).await,
            Command::Apply(args) => cli::apply::run(&data, args).await,
            Command::Advance(args) => cli::advance::run(&data, args).await,
            Command::State(args) => cli::state::run(&data, args).await,
            Command::Balance(args) => cli::balance::run(&data, args).await,
            Command::Calendar(args) => cli::calendar::run(&data, args).await,
            Command::Bans(args) => cli::bans::run(&data, args).await,
            Command::Refunds(args) => cli::refunds::run(&data, args).await,
            Command::Demo(args) => cli::demo::run(&data, args).await,
            Command::History(args) => cli::history::run(&data, args).await,
            Command::Verify => cli::verify::run(&data),
            Command::Serve(args) => cli::serve::run(&data, args).await,
            Command::Token(args) => cli::token::run(&data, args),
            Command::Account(args) => cli::account::run(&data, args).await,
            Command::Stats => cli::stats::run(&data).await,
            Command::Sample => cli::sample::run(&data).await,
            Command::Rebuild(args) => cli::rebuild::run(&data, args).await,
            Command::Follow(args) => cli::follow::run(&data, args).await,
            Command::CheckProjections(args) => cli::check_projections::run(&data, args).await,
            Command::Audit(args) => cli::audit::run(&data, args).await,
            Command::Diff(args) => cli::diff::run(&data, args).await,
            Command::WhatIf(args) => cli::what_if::run(&data, args).await,
            Command::StressAppend(args) => cli::stress::run(&data, args).await,
        }
    });
    match result {
        Ok(code) => code,
        // The reader of stdout went away (`navigo-ledger audit ID | head`): exit
        // as a Unix tool killed by SIGPIPE does (128 + 13), without an error
        // line about the reader's choice. What was appended before stays.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(141)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
