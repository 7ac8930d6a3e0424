//! Exit codes: the one place errors become exit codes, and the one place their
//! meaning for each command is written. `--help` of every command ends with its
//! table ([`documented`]); README.md's table is checked against it
//! (tests/cli.rs).

use std::process::ExitCode;

use crate::app::error::BadInput;

/// The result of a subcommand: an exit code, or an error whose kind chooses one.
pub type CmdResult = anyhow::Result<ExitCode>;

/// Exit code of a refusal (not a ledger, conflict) or a failed verification.
pub const EXIT_REFUSED: u8 = 1;
/// Exit code of bad input or usage (clap uses it for usage errors too).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code when the reader of stdout went away (`navigo-ledger audit ID |
/// head`): 128 + SIGPIPE, as a Unix tool killed by the signal.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// What 0, 1 and 2 mean for one command.
struct Meaning {
    command: &'static str,
    ok: &'static str,
    refused: &'static str,
    bad_input: &'static str,
}

const fn meaning(
    command: &'static str,
    ok: &'static str,
    refused: &'static str,
    bad_input: &'static str,
) -> Meaning {
    Meaning {
        command,
        ok,
        refused,
        bad_input,
    }
}

/// The projection commands share their failures.
const VIEW_REFUSED: &str = "the ledger cannot be opened or read";
/// The failures of the views the command line reads through a running
/// service beside it.
const SERVED_VIEW_REFUSED: &str = "the ledger cannot be opened or read, or, beside a running \
    service, the service refuses the token of NAVIGO_TOKEN (unknown, or of a role that may not \
    read the view) or the question (state --zone)";

/// What the exit codes of each command mean, in the order of `--help`.
const MEANINGS: &[Meaning] = &[
    meaning(
        "init",
        "the ledger was created, or already existed (the built-in reference data it lacked was appended)",
        "--data is a file or a non-empty directory that is not a ledger (left untouched), or the store failed",
        "bad usage",
    ),
    meaning(
        "append",
        "every line was appended, or had been already (idempotency keys)",
        "the store refused the batch (a version or idempotency conflict) or --data is not a ledger; nothing was appended",
        "a line is malformed, a limit is exceeded or there is no line; nothing was appended",
    ),
    meaning(
        "apply",
        "every command was accepted",
        "a command was refused (rule id and article), invalid, or out of order (its output line says which), or the store failed; the other lines were still judged; beside a running service, a line the service refuses (its field or rule named: the service judges at its own instant, with the token's actor), or the service refuses the token of NAVIGO_TOKEN (unknown, or of a role that submits no command: the run stops there)",
        "a line is malformed (not a command; this wins over 1); the other lines were still judged; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "advance",
        "the clock ran; its events are printed",
        "the ledger cannot be opened or the store failed (what was appended stays); beside a running service, the service refuses the token of NAVIGO_TOKEN (unknown, or not a system token) or the clock",
        "bad usage (--to is not a date); beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "erase",
        "the person's key is destroyed and the erasure recorded, or the person was erased already",
        "an unknown person, an empty --basis, a lost key store or a storage failure; nothing was appended; beside a running service, the service refuses the token of NAVIGO_TOKEN (unknown, or not an agent)",
        "bad usage (the person is not a UUID); beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "state",
        "the view is printed",
        SERVED_VIEW_REFUSED,
        "a malformed id, date or instant, an instant in the future, or an unknown contract; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "balance",
        "the view is printed",
        SERVED_VIEW_REFUSED,
        "a malformed id, date or instant, an instant in the future, or an id that is neither a contract nor a person; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "calendar",
        "the view is printed",
        SERVED_VIEW_REFUSED,
        "a malformed id, date or instant, an instant in the future, an unknown contract, or a horizon beyond its bound; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "bans",
        "the view is printed",
        SERVED_VIEW_REFUSED,
        "a malformed id, date or instant, an instant in the future, or an unknown person; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "refunds",
        "the view is printed",
        SERVED_VIEW_REFUSED,
        "a malformed id, date or instant, an instant in the future, or an unknown person; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "demo",
        "the run completed and every check holds (chain, balance invariant, materialized balances)",
        "a check failed (the summary says which), or the store failed",
        "bad arguments (--through today or later, or before --from; --contracts out of range); nothing was written",
    ),
    meaning(
        "history",
        "the stream is printed",
        "--data is not a ledger, or a record is corrupt",
        "a malformed id, or a bare id that no stream or several streams have",
    ),
    meaning(
        "verify",
        "every record and the chain verify (and the log extends the checkpoint given with --against)",
        "a record or the chain does not verify (the first bad position is printed), the log does not extend the checkpoint (the size, root or position is named), the checkpoint does not open with the key, or --data is not a ledger; beside a running service, the service refuses the token of NAVIGO_TOKEN (unknown, or of a role that may not), or --against is given",
        "bad usage, or a checkpoint or key file that cannot be read; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "key",
        "done: the key was created, or its public half is printed",
        "the key file cannot be written or read",
        "the key file exists already (never overwritten), lies inside --data, or holds no key; a malformed --name",
    ),
    meaning(
        "bank",
        "done: the creditor is configured or shown; the collection file was written (and recorded, or issued before with the same bytes); the refund file was written (and recorded with each refund paid, or issued before with the same bytes); the bank's file was imported (or had been already), without the refused transactions an operator left out when one decided",
        "a debit cannot be collected (its contract and what would make it collectable named), the date's debits changed since its file, no debit on the date, a refund cannot be paid by transfer (its stream and refund named), no refund due by transfer on the date, the accounts of the date's refund file changed since, a refund carried by an earlier refund file whose run was interrupted, a rejection or payment refused by the rules, or the store failed; nothing was appended, but for the rejections or payments recorded before a refusal or failure mid-run (a run again completes them)",
        "a creditor field refused, no creditor configured, a malformed date; a bank file refused (each line or element named: malformed XML, another message, another creditor, a file not sent, a transaction matching no debit, an amount that differs, an unknown code; an operator may leave the refused transactions out), --skip naming no refused transaction, --skip or --accept-remainder without --operator; nothing was appended",
    ),
    meaning(
        "checkpoint",
        "the checkpoint was signed and kept (or the list is printed)",
        "--data is not a ledger, or the store failed or keeps no tree",
        "the key file is missing or holds no private key",
    ),
    meaning(
        "prove",
        "the proof is printed",
        "--data is not a ledger, or the store failed or keeps no tree",
        "a position or size outside the log, an unknown stream, or no checkpoint kept (stream)",
    ),
    meaning(
        "export",
        "every record in the window verified and the file was written under --out",
        "a record does not verify (its position is named) or the stored tree's root does not match the records; --data is not a ledger or the store failed; no file is left under --out; beside a running service, the service refuses the token of NAVIGO_TOKEN (unknown, or of a role that may not) or is running one of the same already",
        "bad usage, --out exists or its directory cannot be written, or a window outside the log; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "migrate",
        "the log and its checkpoints are in --to, its head the source's (a copy interrupted before resumed)",
        "--to holds another log (named; nothing was written), a source record does not verify (its position is named; the records before its batch stay copied and a second run resumes after them), a checkpoint does not match the copy's tree, --from is not a ledger, or a store failed",
        "bad usage: --from and --to name the same store, or a URL that does not parse",
    ),
    meaning(
        "reseal",
        "the new ledger is in --to: its first record states the old log's head and root, then every old record with its personal fields sealed",
        "--from does not verify (its first bad position is named) or is not a ledger, --to holds records (an interrupted reseal too: delete it and run again; nothing was written), the key store cannot be carried, or a store failed",
        "bad usage: --from and --to name the same store or data directory, or a URL that does not parse",
    ),
    meaning(
        "salvage",
        "every position up to the highest any file names was recovered, with an unbroken chain; the file was written under --out",
        "something is lost (positions, conflicts or chain breaks, named on stderr and in the summary); the file was written under --out all the same",
        "bad usage, --out exists or its directory cannot be written, or --data is not a directory",
    ),
    meaning(
        "bundle",
        "the bundle is printed",
        "--data is not a ledger, or the store failed or keeps no tree",
        "a malformed id or instant, an id neither a contract nor a person, or no kept checkpoint covering the instant",
    ),
    meaning(
        "verify-bundle",
        "every signature, proof and record holds; the views are printed",
        "a signature, proof or record does not hold (named)",
        "the bundle or key file cannot be read or is not one",
    ),
    meaning(
        "serve",
        "the service stopped cleanly (Ctrl-C)",
        "the ledger cannot be opened, or the service failed",
        "a malformed --listen address, or one it cannot listen on",
    ),
    meaning(
        "token",
        "done",
        "the auth file cannot be read or written",
        "an unknown role or token name",
    ),
    meaning(
        "account",
        "the account was created and linked",
        "refused (ACC-PASSWORD, ACC-LINK), or the ledger cannot be read",
        "malformed arguments, or the login is taken",
    ),
    meaning(
        "stats",
        "the counts are printed",
        "--data is not a ledger, or the store failed",
        "bad usage",
    ),
    meaning(
        "sample",
        "the sample is in the ledger and the ledger verifies",
        "the ledger does not verify, or --data is not a ledger",
        "bad usage",
    ),
    meaning(
        "rebuild",
        "the projections were rebuilt and swapped in",
        "the log or the projections cannot be read or written; beside a running service, the service refuses the token of NAVIGO_TOKEN (unknown, or of a role that may not) or is running one of the same already",
        "a malformed --at; beside a running service, no NAVIGO_TOKEN, or an --at that is not the service's today",
    ),
    meaning(
        "follow",
        "caught up (--once), or stopped",
        "no projection built yet, a storage failure, or a log that no longer continues what was followed",
        "bad usage",
    ),
    meaning(
        "list",
        "the page is printed",
        "the projections are not built (or not indexed: rebuild) or cannot be read, or, beside a running service, the service refuses the token of NAVIGO_TOKEN",
        "an unknown list or parameter, a malformed value, limit or cursor; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "check-projections",
        "every materialized view equals the view computed from the log",
        "a view differs (named), or the projections cannot be read; beside a running service, the service refuses the token of NAVIGO_TOKEN (unknown, or of a role that may not) or is running one of the same already",
        "bad usage; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "grant-reader",
        "the role may read the projection tables, and nothing else of the ledger",
        "the server refuses (e.g. the connecting role may not create roles)",
        "a role name that is not a plain identifier, or a ledger in a data directory (no --store postgres://…)",
    ),
    meaning(
        "audit",
        "the trail is printed",
        SERVED_VIEW_REFUSED,
        "a malformed id or instant, an instant in the future, or an unknown id; beside a running service, no NAVIGO_TOKEN",
    ),
    meaning(
        "diff",
        "the changes are printed",
        VIEW_REFUSED,
        "malformed or missing readings, or an unknown id",
    ),
    meaning(
        "what-if",
        "the hypothetical views are printed (nothing is appended)",
        VIEW_REFUSED,
        "a malformed id, date or command file, or an unknown contract",
    ),
    meaning(
        "retention",
        "the persons due are printed (and, with --apply, erased)",
        "the ledger cannot be opened or read, or an erasure failed (those before it are done; a run again lists the rest)",
        "a malformed --at, or --apply with --at",
    ),
    meaning(
        "subject-export",
        "the export was written under --out",
        "the ledger or the auth file cannot be opened or read; no file is left under --out",
        "a malformed id, an unknown person, or --out exists or its directory cannot be written",
    ),
    meaning(
        "stress-append",
        "the writers finished",
        "the store failed",
        "bad arguments",
    ),
];

/// The lines every command shares.
const BROKEN_PIPE: &str = "stdout was closed by its reader (`| head`); what was appended stays";

/// The exit-code section of a command's help.
fn section(m: &Meaning) -> String {
    format!(
        "Exit codes:\n  0    {}\n  {EXIT_REFUSED}    {}\n  {EXIT_BAD_INPUT}    {}\n  \
         {EXIT_BROKEN_PIPE}  {BROKEN_PIPE}",
        m.ok, m.refused, m.bad_input
    )
}

/// The exit-code section of the top-level help.
fn overview() -> String {
    format!(
        "Exit codes (each command's --help says what they mean for it):\n  0    success\n  \
         {EXIT_REFUSED}    refused, not verified, or the ledger cannot be opened or read\n  \
         {EXIT_BAD_INPUT}    bad input or usage (the message names the argument, line or \
         field)\n  {EXIT_BROKEN_PIPE}  {BROKEN_PIPE}"
    )
}

/// The command line with every command's help ending with its exit codes (a
/// subcommand of `token` or `account` ends with its parent's).
pub fn documented(cli: clap::Command) -> clap::Command {
    cli.after_help(overview()).mut_subcommands(|sub| {
        let Some(m) = MEANINGS.iter().find(|m| m.command == sub.get_name()) else {
            // `help` is clap's own.
            return sub;
        };
        let text = section(m);
        sub.after_help(text.clone())
            .mut_subcommands(move |nested| nested.after_help(text.clone()))
    })
}

/// The exit code of an error: 2 for bad input, 1 for everything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.downcast_ref::<BadInput>().is_some()) {
        EXIT_BAD_INPUT
    } else {
        EXIT_REFUSED
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_command_has_its_exit_codes_written_once() {
        // Given the command line, then every subcommand has one meaning, and
        // every meaning names a subcommand.
        let cli = crate::Cli::command();
        let names: Vec<&str> = cli.get_subcommands().map(|s| s.get_name()).collect();
        for name in &names {
            let n = MEANINGS.iter().filter(|m| m.command == *name).count();
            assert_eq!(n, 1, "{name}: {n} exit-code meanings");
        }
        for m in MEANINGS {
            assert!(names.contains(&m.command), "{} is no command", m.command);
        }
    }
}
