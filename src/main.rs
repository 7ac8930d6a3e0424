//! `navigo-ledger`: the command-line interface of the ledger, and its HTTP
//! service.
//!
//! Two transports over one application layer: `app` does what both do (open a
//! ledger, run a command, read a view, audit, verify, accounts and tokens) and
//! answers with the views of `navigo_events_schema::views`; `cli` (one module
//! per subcommand) and `http` (the service, `serve`) parse their input, call it,
//! and print or serve its views. Neither transport imports the other. This file
//! only parses the arguments, runs the chosen command on a tokio runtime and
//! turns its result into an exit code (`cli::exit`: 0 ok, 1 refused or
//! verification failed, 2 bad input or usage, 141 stdout closed by its reader).
#![warn(missing_docs)]

mod app;
mod cli;
mod http;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// The allocator of every command and of the service. Under the service's
/// command load glibc's `malloc` and `free` were 18 % of its CPU (the
/// requests' and the projector's short-lived buffers, sled's copied nodes);
/// mimalloc's thread-local free lists make them cheaper (measured in
/// BENCHMARKS.md, HTTP).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Where the log is when not in --data: a PostgreSQL database
    /// (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`, the ledger in its
    /// schema `navigo`). --data then holds the files kept beside the log
    /// (tokens and accounts, sessions, serve.json, the projections) and no log.
    #[arg(long, global = true, env = "NAVIGO_STORE", value_name = "URL")]
    store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a ledger with the built-in reference data.
    ///
    /// Creates a ledger in --data and loads the built-in reference data
    /// (tariffs, school holidays, reason codes, the 2024 punctuality campaign);
    /// on an existing ledger, appends only the reference data it lacks. With
    /// `--empty`, creates the ledger without any reference data.
    Init(cli::init::Args),
    /// Append raw events (a low-level tool for tests and repairs).
    ///
    /// Appends events given as JSON lines (events-schema's RawEventLine, JSON
    /// Schema raw-event-line.json), all or nothing: no rule judges them.
    Append(cli::append::Args),
    /// Judge commands (JSON lines) and print one JSON line per command.
    ///
    /// Each line is a command (events-schema/schemas/command.json, examples in
    /// events-schema/examples/commands/), judged on its own and in order at its
    /// request instant (`request_at`), and answered with one JSON line: accepted
    /// with its events and positions, refused with the rule id, article and
    /// message, invalid or malformed with the field. A bad line never stops the
    /// later ones.
    ///
    /// Time order: events are recorded at their command's request instant, and
    /// the instants recorded in a ledger never go back. A command whose
    /// request instant is earlier than the ledger's head (the instant of the last
    /// recorded event) is refused as "out of order" and nothing is appended:
    /// send commands in the order of their instants, after everything already
    /// recorded (after a demo, after its last simulated day).
    Apply(cli::apply::Args),
    /// Run the billing clock through a date.
    ///
    /// Emits, in date order, the system events due through --to (debits, cash
    /// renewals and expiries, grace and MD07 terminations, Trésor Public notices,
    /// refunds due) and prints each as a JSON line.
    Advance(cli::advance::Args),
    /// Erase a person's personal data (TERM-RETENTION).
    ///
    /// Destroys the person's key in the key store of the data directory, then
    /// records PersonalDataErased with --basis on the person's stream. Every
    /// field sealed with the key (names, birth date, addresses, places) is
    /// unreadable for good; money, calendars and bans still compute, and verify
    /// and the proofs still pass. Records written before personal data was
    /// sealed hold it in clear and cannot be rewritten (docs/storage-format.md).
    Erase(cli::erase::Args),
    /// A contract's state on a date.
    ///
    /// What holds on --at: status, product and zones, payment method with its
    /// debit day and mandate, payer, support, losses, free month, attestation and
    /// retention; the changes known to take effect later are listed apart, as
    /// scheduled. With --zone, may the contract be used in that zone
    /// (USE-DEZONAGE).
    State(cli::state::Args),
    /// The balance of a contract, or of a payer.
    ///
    /// Totals due, collected and returned (PAY-DUE-VS-COLLECTED) and the
    /// statement whose rows add up to them: fees, cash, payments, refunds and one
    /// row per month. Given a person, the balance of every contract they pay or
    /// paid.
    Balance(cli::balance::Args),
    /// A contract's debit calendar.
    ///
    /// One row per month from the contract's start to --horizon months after
    /// the month of --at: the debit date, amount, composition and status;
    /// months not debited yet are forecast by the billing clock.
    Calendar(cli::calendar::Args),
    /// A person's ban windows.
    ///
    /// Every ban window opened by --at, and whether the person may be payer or
    /// holder of a new contract on that date.
    Bans(cli::bans::Args),
    /// A person's refund entitlements.
    ///
    /// Punctuality campaigns for the person as holder, and the refunds due to
    /// them or on their contracts.
    Refunds(cli::refunds::Args),
    /// Run a seeded population through the ledger and print a summary.
    ///
    /// Generates a seeded population, sends everything it asks through the
    /// command path with the billing clock month by month, rebuilds the
    /// projections, verifies the chain and prints a summary and the audit of one
    /// contract. The run never records the future: it simulates through
    /// yesterday (Europe/Paris) by default, and refuses a later --through.
    Demo(cli::demo::Args),
    /// Print a stream's events.
    ///
    /// A table, or JSON lines (one envelope per line) with --json.
    History(cli::history::Args),
    /// Recompute every hash and the chain.
    ///
    /// Reads every record, checks its hash, the chain and the positions, and
    /// reports the first bad position. With --against and --key, also checks
    /// that the log extends a signed checkpoint an auditor kept: a cut tail or
    /// a rewritten record the checkpoint covers is refused, naming the size,
    /// root or position that differs.
    Verify(cli::verify::Args),
    /// Manage the key that signs checkpoints.
    ///
    /// `key create` writes an Ed25519 private key (mode 0600, outside the data
    /// directory, never overwritten); `key public` prints its verifier key for
    /// auditors.
    #[command(subcommand)]
    Key(cli::key::Args),
    /// Exchange files with the bank (SEPA).
    ///
    /// `bank creditor` configures the creditor the files are built and read
    /// for (its account, BIC and SEPA creditor identifier, checked).
    #[command(subcommand)]
    Bank(cli::bank::Args),
    /// Sign and keep a checkpoint of the log, or list those kept.
    ///
    /// A checkpoint (C2SP signed note, Ed25519) states the log's origin, size,
    /// Merkle root, the recorded-at instant of its last record and the root
    /// of the map of every stream to its head (docs/checkpoints.md). Every
    /// checkpoint is kept; --list prints them.
    Checkpoint(cli::checkpoint::Args),
    /// Print an inclusion, consistency or stream-completeness proof.
    ///
    /// JSON proofs an auditor checks against a signed checkpoint with SHA-256
    /// only (docs/checkpoints.md).
    #[command(subcommand)]
    Prove(cli::prove::Args),
    /// Write the log, or a window of it, as JSON lines an auditor checks alone.
    ///
    /// A header (format, version, the tree size and root at --to, the
    /// subtrees before --from, the chain's previous hash), then one line per
    /// record in position order: position, stream, sequence, BLAKE3 hash and
    /// the canonical record bytes (base64), from which the chain and the RFC
    /// 6962 root are recomputed (docs/checkpoints.md, Export). Each record is
    /// verified as it is written; the first that does not stops the export,
    /// naming its position, and no file is left under --out.
    Export(cli::export::Args),
    /// Copy the log between a data directory and PostgreSQL, either way.
    ///
    /// Copies the log of --from into --to record for record (the same bytes,
    /// positions, stream sequences, instants and hashes, each record checked
    /// as it is read and as it is stored), then the signed checkpoints kept,
    /// each checked against the copy's tree. --to is created when absent; it
    /// must be empty, or hold a prefix of the source's log (an interrupted
    /// copy: the copy resumes after it); another log is refused before
    /// anything is written. --data and --store are not read. Only the log and
    /// its checkpoints move: carry by hand the checkpoint signing key, and
    /// the data directory's auth.json (tokens and accounts) and sessions; the
    /// projections and snapshots are rebuilt from the log (`rebuild`).
    Migrate(cli::migrate::Args),
    /// Write a new ledger from an old one with every personal field sealed.
    ///
    /// Verifies --from first (every record's hash, the chain, the Merkle
    /// tree), then writes into --to (created when absent; it must hold no
    /// record) a first record, LedgerResealed, stating the old log's size,
    /// head hash, Merkle root and store format, then every old record in
    /// order with the same event ids, streams, stream versions, instants and
    /// idempotency keys, at the current version of its event, each personal
    /// field sealed with its person's key: the clear text of records written
    /// before sealing is sealed, and that of an erased person dropped. The
    /// key store is carried (persons without a key get one). The old ledger,
    /// its copies and its checkpoints are untouched and stay valid for the
    /// old log only: destroy them once the new ledger is in service.
    Reseal(cli::reseal::Args),
    /// Recover every record of a damaged ledger that still verifies.
    ///
    /// Never writes to --data: sled opens a private copy and reads every
    /// record key by key; sled's raw files are scanned for stored records as
    /// well, so that records sled cannot reach (or cannot open at all) are
    /// found. Each record kept verifies (its hash). Writes them in position
    /// order as export lines (an export of the whole log when nothing is
    /// lost), reports on stderr the positions lost (as ranges), conflicts,
    /// chain breaks and the head recovered, and prints a JSON summary
    /// (docs/checkpoints.md, Salvage).
    Salvage(cli::salvage::Args),
    /// Write a contract's or a person's dispute bundle as known at an instant.
    ///
    /// One self-contained JSON file: the contract's stream (a person's: theirs
    /// and that of every contract they hold or pay as known at --known-at) and
    /// the streams their views read, complete as of the oldest kept checkpoint covering what was
    /// known at --known-at (stream-head map proofs), every record with its
    /// inclusion proof, and that checkpoint's consistency with the newest.
    Bundle(cli::bundle::Args),
    /// Check a dispute bundle offline and recompute its contracts' views.
    ///
    /// Needs only the bundle and the public key (the ledger is not opened):
    /// both checkpoints' signatures, their consistency, each stream's
    /// completeness and each record's inclusion; then the balance and the
    /// calendar on --at as known at the bundle's instant, of the contract or
    /// of each of the person's contracts.
    VerifyBundle(cli::bundle::VerifyArgs),
    /// Serve the HTTP API.
    ///
    /// The routes and their schemas are in docs/openapi.json; roles by API
    /// token (`token create`) and customer sessions.
    Serve(http::serve::Args),
    /// Manage API tokens.
    ///
    /// Tokens carry a role: agent, auditor, system, partner or reference (see
    /// docs/roles.md).
    #[command(subcommand)]
    Token(cli::token::Args),
    /// Manage customer accounts of the personal space.
    ///
    /// An account is linked to a customer by client number and birth date
    /// (ACC-LINK); its password follows ACC-PASSWORD.
    #[command(subcommand)]
    Account(cli::account::Args),
    /// Count events, streams and keys.
    ///
    /// Events, streams by kind, idempotency keys, the head and the disk usage.
    Stats(cli::stats::Args),
    /// Append a small realistic sample.
    ///
    /// Creates a ledger under --data if absent, appends a small realistic sample,
    /// verifies it and prints its stats.
    Sample,
    /// Rebuild the materialized projections from the whole log.
    ///
    /// The views are written into shadow trees and swapped in atomically.
    Rebuild(cli::rebuild::Args),
    /// Catch the materialized projections up, then tail new events.
    ///
    /// Starts from the projections' checkpoint; each poll reads only the records
    /// after the last one followed.
    Follow(cli::follow::Args),
    /// One page of a list of the materialized projections.
    ///
    /// Contracts by status, product, payer, holder, debt or next debit; the
    /// debits of a date; the bans active on a date; the refunds due; persons
    /// by client number or name.
    List(cli::list::Args),
    /// Let a PostgreSQL role read the projection tables, and nothing else.
    ///
    /// Creates the role NOLOGIN when absent, and grants it the use of the
    /// ledger's projection schema and SELECT on its tables (present and
    /// future): no privilege on the log's tables, no write
    /// (docs/sql-projections.md).
    GrantReader(cli::grant_reader::Args),
    /// Compare every materialized projection with the log.
    ///
    /// Recomputes every view from the log and prints the state hashes of both.
    CheckProjections(cli::check_projections::Args),
    /// An auditor's trail of a contract or person.
    ///
    /// Every event of a contract or person with rule ids, chain hashes and
    /// running balances.
    Audit(cli::audit::Args),
    /// What changed between two readings of a contract or person, and why.
    ///
    /// Compares the views at two dates or as known at two instants and names the
    /// events that caused each change.
    Diff(cli::diff::Args),
    /// Hypothetical commands on a contract, without writing anything.
    ///
    /// Reads the views with the commands applied beside the actual views;
    /// nothing is appended.
    WhatIf(cli::what_if::Args),
    /// The persons whose personal data TERM-RETENTION no longer keeps.
    ///
    /// Personal data is kept for the relationship and 5 years after the end of
    /// the last contract (CGVU-2026 §16.1.4). Lists, on --at (default today),
    /// every person whose retention ran out: person id, client number, the
    /// last contract and its end, the relationship's end and the day the
    /// retention ran out, with the policy's parameters. A dry run: nothing is
    /// written. A contract in force, a debt or a refund not paid keeps its
    /// persons (the decisions are in rules/src/retention.rs).
    Retention(cli::retention::Args),
    /// Write everything the ledger holds about a person (an access request).
    ///
    /// One JSON file under --out (the subject-export view): the person's
    /// identity and addresses, the events of their stream and of every
    /// contract they hold, pay or paid, decoded, those contracts' state,
    /// balance and calendar, their bans and refunds, and the login of their
    /// personal-space account (never its password hash or tokens).
    SubjectExport(cli::subject_export::Args),
    /// Append in a loop from concurrent writers (crash tests, 1M-event runs).
    #[command(hide = true)]
    StressAppend(cli::stress::Args),
}

/// What to do instead of a command that opens the store but has no route
/// through a running service (which holds the store): `None` for a command
/// that reads through the service beside it, or touches no store.
fn beside_service(c: &Command) -> Option<(&'static str, &'static str)> {
    const COMMANDS: &str = "send the commands to the service's POST /v1/commands (docs/roles.md)";
    const OTHERS: &str = "stop the service first (Ctrl-C), or use its HTTP API (docs/openapi.json)";
    match c {
        Command::Append(_) => Some(("`append`", COMMANDS)),
        Command::Serve(_) => Some(("a second `serve`", "use the running one")),
        // Decision: a diff's change to or from a JSON null and a value that
        // is absent are one `null` on the wire, so a diff read through the
        // service would print otherwise than the local one: it refuses instead.
        Command::Diff(_) => Some((
            "`diff`",
            "ask the service (GET /v1/diff/{id} with an auditor's token), or stop it first",
        )),
        Command::State(_)
        | Command::Balance(_)
        | Command::Calendar(_)
        | Command::Bans(_)
        | Command::Refunds(_)
        | Command::Audit(_)
        | Command::List(_)
        | Command::Apply(_)
        | Command::Advance(_)
        | Command::Erase(_)
        | Command::Verify(_)
        | Command::CheckProjections(_)
        | Command::Rebuild(_)
        | Command::Export(_)
        | Command::Migrate(_)
        | Command::Reseal(_)
        | Command::Key(_)
        | Command::Bank(_)
        | Command::GrantReader(_)
        | Command::Token(_)
        | Command::VerifyBundle(_) => None,
        _ => Some(("this command", OTHERS)),
    }
}

fn main() -> ExitCode {
    // Every command's help ends with what its exit codes mean (cli::exit).
    let matches = cli::exit::documented(Cli::command()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(cli::exit::EXIT_REFUSED);
        }
    };
    let data = match app::place::Place::new(cli.data, cli.store.as_deref()) {
        Ok(place) => place,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(cli::exit::EXIT_BAD_INPUT);
        }
    };
    let result = runtime.block_on(async move {
        if let Some((what, instead)) = beside_service(&cli.command) {
            if let Some(svc) = cli::remote::service(&data) {
                return Err(cli::remote::not_through_service(&svc, what, instead));
            }
        }
        match cli.command {
            Command::Init(args) => cli::init::run(&data, args).await,
            Command::Append(args) => cli::append::run(&data, args).await,
            Command::Apply(args) => cli::apply::run(&data, args).await,
            Command::Advance(args) => cli::advance::run(&data, args).await,
            Command::Erase(args) => cli::erase::run(&data, args).await,
            Command::State(args) => cli::state::run(&data, args).await,
            Command::Balance(args) => cli::balance::run(&data, args).await,
            Command::Calendar(args) => cli::calendar::run(&data, args).await,
            Command::Bans(args) => cli::bans::run(&data, args).await,
            Command::Refunds(args) => cli::refunds::run(&data, args).await,
            Command::Demo(args) => cli::demo::run(&data, args).await,
            Command::History(args) => cli::history::run(&data, args).await,
            Command::Verify(args) => cli::verify::run(&data, args).await,
            Command::Key(args) => cli::key::run(&data, args),
            Command::Bank(args) => cli::bank::run(&data, args).await,
            Command::Checkpoint(args) => cli::checkpoint::run(&data, args).await,
            Command::Prove(args) => cli::prove::run(&data, args).await,
            Command::Export(args) => cli::export::run(&data, args).await,
            Command::Migrate(args) => cli::migrate::run(&data, args).await,
            Command::Reseal(args) => cli::reseal::run(&data, args).await,
            Command::Salvage(args) => cli::salvage::run(&data, args).await,
            Command::Bundle(args) => cli::bundle::run(&data, args).await,
            Command::VerifyBundle(args) => cli::bundle::run_verify(args),
            Command::Serve(args) => http::serve::run(&data, args).await,
            Command::Token(args) => cli::token::run(&data, args),
            Command::Account(args) => cli::account::run(&data, args).await,
            Command::Stats(args) => cli::stats::run(&data, args).await,
            Command::Sample => cli::sample::run(&data).await,
            Command::Rebuild(args) => cli::rebuild::run(&data, args).await,
            Command::Follow(args) => cli::follow::run(&data, args).await,
            Command::List(args) => cli::list::run(&data, args).await,
            Command::CheckProjections(args) => cli::check_projections::run(&data, args).await,
            Command::GrantReader(args) => cli::grant_reader::run(&data, args).await,
            Command::Audit(args) => cli::audit::run(&data, args).await,
            Command::Diff(args) => cli::diff::run(&data, args).await,
            Command::WhatIf(args) => cli::what_if::run(&data, args).await,
            Command::Retention(args) => cli::retention::run(&data, args).await,
            Command::SubjectExport(args) => cli::subject_export::run(&data, args).await,
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
            ExitCode::from(cli::exit::EXIT_BROKEN_PIPE)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::exit::exit_code(&e))
        }
    }
}
