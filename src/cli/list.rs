//! `navigo-ledger list LIST [PARAM=VALUE] [--limit N] [--after CURSOR] [--json]`:
//! one page of a list of the materialized projections (contracts by status,
//! product, payer, holder, debt or next debit; the debits of a date; the bans
//! active on a date; the refunds due; persons by client number or name), as
//! the service's `GET /v1/lists/{list}`
//! answers it. It reads the projection database directly, or, beside a
//! running service (which holds that database and keeps it current), asks
//! the service's route with the token of `NAVIGO_TOKEN`.

use std::path::Path;
use std::process::ExitCode;

use navigo_events_schema::views::ListPage;
use navigo_replay::materialize::ProjectionDb;

use super::exit::CmdResult;
use super::output::print_json_sorted;
use super::remote;
use crate::app::error::BadInput;
use crate::app::lists::{self, ListError, LISTS};

/// Arguments of `list`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The list: contracts-by-status (status=), contracts-by-product
    /// (product=), contracts-by-payer (payer=), contracts-by-holder
    /// (holder=), contracts-in-debt (debt_above=), contracts-by-next-debit
    /// (date=), debits (date=), bans-active (on=), refunds-due (due_by=),
    /// persons-by-client-number (client_number=), persons-by-name (name=,
    /// the start of "family given"). Without its filter, a list is read
    /// whole in its order.
    pub list: String,
    /// Its filter, `PARAM=VALUE` (e.g. `status=active`).
    #[arg(value_name = "PARAM=VALUE")]
    pub filter: Vec<String>,
    /// Entries in the page (the service's default and bound).
    #[arg(long)]
    pub limit: Option<String>,
    /// The cursor of the page before (its `next`).
    #[arg(long)]
    pub after: Option<String>,
    /// The page as JSON (the service's answer).
    #[arg(long)]
    pub json: bool,
}

/// Prints one page.
///
/// # Errors
/// Bad input naming the parameter (exit 2); projections not built or held by
/// a running service.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let spec = lists::list(&args.list).ok_or_else(|| {
        let names: Vec<&str> = LISTS.iter().map(|l| l.name).collect();
        BadInput(format!("LIST {:?}: one of {}", args.list, names.join(", ")))
    })?;
    let mut params = Vec::new();
    for f in &args.filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| BadInput(format!("{f:?}: a filter is PARAM=VALUE")))?;
        params.push((k.trim().to_owned(), v.to_owned()));
    }
    params.extend(args.limit.map(|v| ("limit".to_owned(), v)));
    params.extend(args.after.map(|v| ("after".to_owned(), v)));
    let bad = |e: ListError| -> anyhow::Error {
        match e {
            ListError::Bad { field, message } => BadInput(format!("{field}: {message}")).into(),
            ListError::Replay(navigo_replay::ReplayError::Cursor(m)) => {
                BadInput(format!("--after: {m}")).into()
            }
            ListError::Replay(e) => e.into(),
        }
    };
    let asked = lists::ask(spec, &params).map_err(bad)?;
    let page = match remote::service(data) {
        // The service holds the projection database and keeps it current:
        // the same question goes to its route, checked here as it is there.
        Some(svc) => {
            let query: Vec<(&str, String)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            remote::get::<ListPage>(&svc, &format!("/v1/lists/{}", spec.name), &query).await?
        }
        None => {
            let db = ProjectionDb::open(data)?;
            let page = lists::page(&db, &asked).map_err(bad)?;
            db.close()?;
            page
        }
    };
    if args.json {
        print_json_sorted(&page)?;
        return Ok(ExitCode::SUCCESS);
    }
    for item in &page.items {
        outln!("{}  {}", item.id, item.entry);
    }
    outln!(
        "{} entries of {} {}, read on {} at position {}",
        page.items.len(),
        page.list,
        page.filter,
        page.at,
        page.position
    );
    if let Some(next) = &page.next {
        outln!("next page: --after {next}");
    }
    Ok(ExitCode::SUCCESS)
}
