//! `navigo-ledger account create`: a customer account of the personal space,
//! linked to a customer only when the client number and the birth date both match
//! (`ACC-LINK`), with a password per `ACC-PASSWORD` read from stdin (never an
//! argument, so that it stays out of process lists and logs), hashed with argon2.

use std::io::BufRead;
use std::process::ExitCode;

use chrono::NaiveDate;
use navigo_events_schema::types::ClientNumber;
use navigo_rules::calendar::paris_date;
use navigo_store::Clock;

use super::exit::{CmdResult, EXIT_REFUSED};
use crate::app::accounts::{account_person, create_account, AccountError};
use crate::app::auth;
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::open_store;
use crate::app::place::Place;

/// Arguments of `account`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Create an account; the password is the first line of stdin.
    ///
    /// The account is linked to the customer whose client number and birth date
    /// both match (ACC-LINK). The password (ACC-PASSWORD: 8 to 20 characters with
    /// an upper-case letter, a lower-case letter and a digit) is read from stdin,
    /// never from an argument, and kept hashed.
    Create {
        /// The login.
        #[arg(long)]
        login: String,
        /// The customer's client number.
        #[arg(long)]
        client_number: String,
        /// The customer's birth date (YYYY-MM-DD).
        #[arg(long)]
        birth_date: String,
    },
}

/// Runs the subcommand. It opens the ledger, so it works while the ledger is not
/// served; a served ledger takes accounts through `POST /v1/accounts`.
///
/// # Errors
/// Bad arguments, not a ledger.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let Args::Create {
        login,
        client_number,
        birth_date,
    } = args;
    let today = paris_date(SystemClock.now());
    let given: ClientNumber = client_number
        .parse()
        .map_err(|e| BadInput(format!("--client-number: {e}")))?;
    let birth = NaiveDate::parse_from_str(&birth_date, "%Y-%m-%d")
        .map_err(|e| BadInput(format!("--birth-date {birth_date:?}: {e}")))?;
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    let store = open_store(data).await.map_err(|e| {
        BadInput(format!(
            "{e}; while the ledger is served, create the account with POST /v1/accounts"
        ))
    })?;
    let mut ledger =
        navigo_ledger_core::Ledger::open(store, navigo_rules::Policy::default(), 0).await?;
    let person = ledger
        .read_paged(|w| account_person(w, &given, birth, password, today))
        .await;
    ledger.into_store().close().await?;
    let created = person?
        .and_then(|person| create_account(&auth::path_in(data), &login, person, password, today));
    match created {
        Ok(_) => {}
        Err(AccountError::Refused(r)) => {
            outln!("refused {} ({}): {}", r.rule.as_str(), r.article, r.message);
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        Err(e @ AccountError::LoginTaken) => return Err(BadInput(e.to_string()).into()),
        Err(AccountError::Storage(e)) => return Err(e),
    }
    outln!("account created and linked (ACC-LINK)");
    Ok(ExitCode::SUCCESS)
}
