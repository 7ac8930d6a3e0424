//! `navigo-ledger account create`: a customer account of the personal space,
//! linked to a customer only when the client number and the birth date both match
//! (`ACC-LINK`), with a password per `ACC-PASSWORD` read from stdin (never an
//! argument, so that it stays out of process lists and logs), hashed with argon2.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use chrono::NaiveDate;
use navigo_core::account::{check_link, check_password};
use navigo_core::calendar::paris_date;
use navigo_core::store::Clock;
use navigo_events_schema::types::ClientNumber;

use super::{open_store, BadInput, CmdResult, SystemClock, EXIT_REFUSED};
use crate::http::auth::{self, AccountRecord, AuthDb};

/// Arguments of `account`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Create an account; the password is the first line of stdin.
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

/// Runs the subcommand (the ledger must not be served meanwhile: it is opened).
///
/// # Errors
/// Bad arguments, not a ledger.
pub async fn run(data: &Path, args: Args) -> CmdResult {
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
    if let Err(r) = check_password(password, today) {
        println!("refused {} ({}): {}", r.rule.as_str(), r.article, r.message);
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    let store = open_store(data)?;
    let ledger =
        navigo_core::ledger::Ledger::open(store, navigo_core::Policy::default(), 0).await?;
    let person = ledger
        .world()
        .persons
        .values()
        .find(|p| check_link(&given, birth, &p.client_number, p.birth_date, today).is_ok())
        .map(|p| p.id);
    ledger.into_store().close().await?;
    let Some(person) = person else {
        // The refusal names the rule without saying which of the two did not match.
        let other = birth.succ_opt().unwrap_or(NaiveDate::MIN);
        let r = check_link(&given, birth, &given, other, today).err();
        match r {
            Some(r) => println!("refused {} ({}): {}", r.rule.as_str(), r.article, r.message),
            None => println!("refused ACC-LINK"),
        }
        return Ok(ExitCode::from(EXIT_REFUSED));
    };
    let path = auth::path_in(data);
    let mut db = AuthDb::load(&path)?;
    if db.accounts.contains_key(&login) {
        return Err(BadInput(format!("the login {login:?} is taken")).into());
    }
    db.accounts.insert(
        login.clone(),
        AccountRecord {
            login,
            person,
            password_hash: auth::hash_password(password)?,
        },
    );
    db.save(&path)?;
    println!("account created and linked (ACC-LINK)");
    Ok(ExitCode::SUCCESS)
}
