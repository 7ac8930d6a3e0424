//! `navigo-ledger bank ...`: the files the ledger exchanges with its bank,
//! and the creditor it exchanges them as.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use navigo_events_schema::views::{
    BankImportView, CollectionFileView, CreditorView, RefundFileView,
};
use navigo_store::Clock;

use super::exit::{CmdResult, EXIT_BAD_INPUT};
use super::output::print_json_line;
use crate::app::bank::{self, CreditorConfig};
use crate::app::bank_files::{self, ImportRefused};
use crate::app::bank_refunds;
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::open_clocked_ledger;
use crate::app::place::Place;

/// Arguments of `bank`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Configure or show the creditor the bank files are built and read for.
    ///
    /// With --name, --iban, --bic and --creditor-id (all four), checks the
    /// account (IBAN checksum), the BIC and the SEPA creditor identifier, then
    /// writes them to bank-creditor.json in --data (replacing the creditor
    /// configured before). Without them, shows the creditor configured. Prints
    /// the creditor with its account masked.
    Creditor(CreditorArgs),
    /// Build the pain.008 collection file of a collection date and record it.
    ///
    /// Every debit presented for --date (its DebitPresented effective that
    /// day), each with its payer's mandate (FRST / RCUR, amendment), written
    /// atomically to --out, and CollectionFileIssued appended to the bank
    /// stream. The same date again writes the same bytes and appends nothing;
    /// a date whose debits changed since its file is refused. A debit that
    /// cannot be collected (no mandate, a legacy mandate without IBAN, an
    /// erased payer) is named with its contract; nothing is written.
    Collect(CollectArgs),
    /// Build the pain.001 refund file of an execution date and record it.
    ///
    /// Every refund due by bank transfer (PAY-REFUND-METHOD) on or before
    /// --date and not yet paid, each to its beneficiary's mandate account,
    /// written atomically to --out; RefundFileIssued appended to the bank
    /// stream and each refund recorded paid (RefundPaid). The same date again
    /// writes the same bytes and appends nothing. A refund that cannot be paid
    /// by transfer (no account, a legacy mandate without IBAN, an erased
    /// beneficiary) is named with its stream; nothing is written.
    Refunds(RefundsArgs),
    /// Import a pain.002 status report or a camt.054 notification.
    ///
    /// Every returned transaction is matched to its debit by end-to-end id
    /// and recorded as a DebitRejected (RecordDebitRejected: PAY-REJECT,
    /// TAR-REJECT-FEE, PAY-UNPAID-TERMINATION apply), then BankFileImported.
    /// All or nothing per file: a transaction matching no debit, an amount
    /// that differs, an unknown code, another creditor, a malformed file are
    /// each named by line or element and nothing is appended, unless an
    /// operator decides to leave the refused transactions out (--skip or
    /// --accept-remainder, with --operator), which the file's event records
    /// with why. A file imported before appends nothing, with or without a
    /// decision.
    Import(ImportArgs),
}

/// Arguments of `bank collect`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// The collection date (YYYY-MM-DD).
    #[arg(long)]
    date: NaiveDate,
    /// Where the file is written (replaced atomically).
    #[arg(long)]
    out: PathBuf,
    /// One JSON object instead of the text line.
    #[arg(long)]
    json: bool,
}

/// Arguments of `bank refunds`.
#[derive(Debug, clap::Args)]
pub struct RefundsArgs {
    /// The requested execution date (YYYY-MM-DD).
    #[arg(long)]
    date: NaiveDate,
    /// Where the file is written (replaced atomically).
    #[arg(long)]
    out: PathBuf,
    /// One JSON object instead of the text line.
    #[arg(long)]
    json: bool,
}

/// Arguments of `bank import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The file the bank sent.
    file: PathBuf,
    /// The operator's decision: import the file without the refused
    /// transaction of this end-to-end id (repeat for each). Only a refused
    /// transaction may be left out; each is recorded with why.
    #[arg(long, value_name = "END_TO_END_ID", requires = "operator")]
    skip: Vec<String>,
    /// The operator's decision: import the file without every refused
    /// transaction, each recorded with why.
    #[arg(long, requires = "operator", conflicts_with = "skip")]
    accept_remainder: bool,
    /// The agent who decides to leave transactions out (recorded as the
    /// file's event's actor); required with --skip or --accept-remainder.
    #[arg(long)]
    operator: Option<String>,
    /// One JSON object instead of the text line.
    #[arg(long)]
    json: bool,
}

/// Arguments of `bank creditor`.
#[derive(Debug, clap::Args)]
pub struct CreditorArgs {
    /// The creditor's name, as its bank knows it.
    #[arg(long, requires_all = ["iban", "bic", "creditor_id"])]
    name: Option<String>,
    /// The account debits are credited to and refunds paid from.
    #[arg(long, requires_all = ["name", "bic", "creditor_id"])]
    iban: Option<String>,
    /// The BIC of the account's bank.
    #[arg(long, requires_all = ["name", "iban", "creditor_id"])]
    bic: Option<String>,
    /// The SEPA creditor identifier (ICS), e.g. FR72ZZZ123456.
    #[arg(long, requires_all = ["name", "iban", "bic"])]
    creditor_id: Option<String>,
    /// One JSON object instead of the text line.
    #[arg(long)]
    json: bool,
}

/// Runs the subcommand.
///
/// # Errors
/// A field refused (exit 2, the field named), I/O.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    match args {
        Args::Creditor(a) => creditor(data.data(), a),
        Args::Collect(a) => collect(data, a).await,
        Args::Refunds(a) => refunds(data, a).await,
        Args::Import(a) => import(data, a).await,
    }
}

fn creditor(data: &Path, a: CreditorArgs) -> CmdResult {
    {
        {
            let creditor = match (a.name, a.iban, a.bic, a.creditor_id) {
                (Some(name), Some(iban), Some(bic), Some(creditor_id)) => {
                    let config = CreditorConfig {
                        name,
                        iban,
                        bic,
                        creditor_id,
                    };
                    bank::save_creditor(data, &config)?
                }
                // clap requires all four together: none given shows.
                _ => bank::creditor(data)?,
            };
            if a.json {
                print_json_line(&CreditorView {
                    name: creditor.name().to_owned(),
                    creditor_id: creditor.id().to_owned(),
                    iban: creditor.iban_masked(),
                })?;
            } else {
                outln!(
                    "creditor {} ({}), account {}",
                    creditor.name(),
                    creditor.id(),
                    creditor.iban_masked()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `bank collect`: the file written once its event is recorded, so that no
/// file leaves the ledger without its evidence (a crash in between: the next
/// run writes the same bytes and appends nothing).
async fn collect(data: &Place, a: CollectArgs) -> CmdResult {
    let creditor = bank::creditor(data.data())?;
    let mut ledger = open_clocked_ledger(data, 0, std::sync::Arc::new(SystemClock)).await?;
    let result = bank_files::collect(&mut ledger, &creditor, a.date).await;
    ledger.close().await?.close().await?;
    let c = result?;
    bank_files::write_atomically(&a.out, &c.file.bytes)?;
    let s = &c.file.summary;
    if a.json {
        print_json_line(&CollectionFileView {
            collection_date: a.date,
            message_id: c.issued.message_id.clone(),
            count: c.issued.count,
            control_sum: c.issued.control_sum,
            sha256: c.issued.sha256.clone(),
            creditor_id: c.issued.creditor_id.clone(),
            out: a.out.display().to_string(),
            appended: c.appended,
        })?;
    } else {
        let recorded = if c.appended {
            "recorded (CollectionFileIssued)"
        } else {
            "issued before with the same bytes; nothing appended"
        };
        outln!(
            "{}: {} debits, {} EUR, sha256 {}, written to {}; {recorded}",
            s.message_id,
            s.transactions,
            s.control_sum,
            s.sha256,
            a.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `bank refunds`: the file written once its event and its payments are
/// recorded, as `bank collect`.
async fn refunds(data: &Place, a: RefundsArgs) -> CmdResult {
    let creditor = bank::creditor(data.data())?;
    let mut ledger = open_clocked_ledger(data, 0, std::sync::Arc::new(SystemClock)).await?;
    let result = bank_refunds::refunds(&mut ledger, &creditor, a.date, SystemClock.now()).await;
    ledger.close().await?.close().await?;
    let r = result?;
    bank_files::write_atomically(&a.out, &r.file.bytes)?;
    let s = &r.file.summary;
    if a.json {
        print_json_line(&RefundFileView {
            execution_date: a.date,
            message_id: r.issued.message_id.clone(),
            count: r.issued.count,
            control_sum: r.issued.control_sum,
            sha256: r.issued.sha256.clone(),
            creditor_id: r.issued.creditor_id.clone(),
            out: a.out.display().to_string(),
            appended: r.appended,
            paid_now: r.paid_now as u64,
        })?;
    } else {
        let recorded = match (r.appended, r.paid_now) {
            (true, _) => "recorded (RefundFileIssued, each refund RefundPaid)".to_owned(),
            (false, 0) => "issued before with the same bytes; nothing appended".to_owned(),
            (false, n) => format!("issued before with the same bytes; {n} payments left unrecorded by an interrupted run recorded now"),
        };
        outln!(
            "{}: {} refunds, {} EUR, sha256 {}, written to {}; {recorded}",
            s.message_id,
            s.transactions,
            s.control_sum,
            s.sha256,
            a.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `bank import`: a refused file is exit 2 with each problem on stderr.
async fn import(data: &Place, a: ImportArgs) -> CmdResult {
    let creditor = bank::creditor(data.data())?;
    let bytes = read_bank_file(&a.file)?;
    let mut ledger = open_clocked_ledger(data, 0, std::sync::Arc::new(SystemClock)).await?;
    let name = a.file.display().to_string();
    let decision = decision(&a)?;
    let result = bank_files::import(
        &mut ledger,
        &creditor,
        &name,
        &bytes,
        SystemClock.now(),
        decision.as_ref(),
    )
    .await;
    ledger.close().await?.close().await?;
    let imported = match result {
        Ok(i) => i,
        Err(e) if e.downcast_ref::<ImportRefused>().is_some() => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
        Err(e) => return Err(e),
    };
    let ev = &imported.event;
    if a.json {
        print_json_line(&BankImportView {
            kind: ev.kind,
            message_id: ev.message_id.clone(),
            sha256: ev.sha256.clone(),
            returned: ev.returned,
            rejection_event_ids: ev.rejection_event_ids.clone(),
            skipped: ev.skipped.clone(),
            decided_by: ev.decided_by.clone(),
            appended: imported.appended,
        })?;
    } else if imported.appended {
        let decided = match &ev.decided_by {
            Some(op) => format!("; {} left out by {op}", ev.skipped.len()),
            None => String::new(),
        };
        outln!(
            "{} {}: {} debits rejected (DebitRejected), recorded (BankFileImported){decided}",
            bank_files::kind_name(ev.kind),
            ev.message_id,
            ev.rejection_event_ids.len()
        );
    } else {
        outln!(
            "{} {} (sha256 {}) was imported before; nothing appended",
            bank_files::kind_name(ev.kind),
            ev.message_id,
            ev.sha256
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The operator's decision the flags give, if any.
fn decision(a: &ImportArgs) -> anyhow::Result<Option<bank_files::OperatorDecision>> {
    let skip = if a.accept_remainder {
        bank_files::Skip::EveryRefused
    } else if a.skip.is_empty() {
        return Ok(None);
    } else {
        bank_files::Skip::Lines(a.skip.iter().cloned().collect())
    };
    let operator = a
        .operator
        .clone()
        .filter(|o| !o.trim().is_empty())
        .ok_or_else(|| {
            BadInput(
                "--operator: the agent who decides to leave transactions out is required".into(),
            )
        })?;
    Ok(Some(bank_files::OperatorDecision { operator, skip }))
}

/// The file's bytes, refused before reading when larger than a bank file may be.
fn read_bank_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bad = |e: String| BadInput(format!("{}: {e}", path.display()));
    let len = std::fs::metadata(path)
        .map_err(|e| bad(e.to_string()))?
        .len();
    if len > navigo_bank::RETURN_FILE_BYTES_MAX as u64 {
        return Err(bad(format!(
            "{len} bytes exceed return_file_bytes_max ({})",
            navigo_bank::RETURN_FILE_BYTES_MAX
        ))
        .into());
    }
    Ok(std::fs::read(path).map_err(|e| bad(e.to_string()))?)
}
