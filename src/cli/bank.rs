//! `navigo-ledger bank ...`: the files the ledger exchanges with its bank,
//! and the creditor it exchanges them as.

use std::path::Path;
use std::process::ExitCode;

use super::exit::CmdResult;
use super::output::print_json_line;
use crate::app::bank::{self, CreditorConfig};

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
pub async fn run(data: &Path, args: Args) -> CmdResult {
    match args {
        Args::Creditor(a) => {
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
                print_json_line(&serde_json::json!({
                    "name": creditor.name(),
                    "creditor_id": creditor.id(),
                    "iban": creditor.iban_masked(),
                }))?;
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
