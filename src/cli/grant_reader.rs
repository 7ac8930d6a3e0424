//! `navigo-ledger grant-reader ROLE`: lets a PostgreSQL role read the
//! ledger's projection tables and nothing else (no record of the log, no
//! write): the role projection services connect as, or are granted.

use std::io::Write;
use std::process::ExitCode;

use navigo_store_postgres::projections::SqlProjections;
use navigo_store_postgres::schema::{check_schema_name, SCHEMA_NAME_BYTES_MAX};

use super::exit::CmdResult;
use crate::app::error::BadInput;
use crate::app::place::Place;

/// Arguments of `grant-reader`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The role (a plain lower-case identifier); created `NOLOGIN` when it
    /// does not exist.
    #[arg(value_name = "ROLE")]
    pub role: String,
}

/// Grants.
///
/// # Errors
/// A ledger in a data directory (it has no SQL tables), a role name that is
/// not a plain identifier, the server's refusal.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let pg = match data.postgres() {
        Some(pg) => pg,
        None => {
            return Err(BadInput(format!(
                "grant-reader gives a PostgreSQL role the projection tables of a ledger in \
                 PostgreSQL; {} is a data directory: give --store postgres://…",
                data.shown()
            ))
            .into());
        }
    };
    // A role name is a plain identifier, as a schema name is.
    if check_schema_name(&args.role).is_err() {
        return Err(BadInput(format!(
            "role {:?}: lower-case letters, digits and underscores, not starting with a digit, \
             at most {SCHEMA_NAME_BYTES_MAX} bytes",
            args.role
        ))
        .into());
    }
    let sql = SqlProjections::open(pg).await?;
    sql.grant_reader(&args.role).await?;
    writeln!(
        std::io::stdout().lock(),
        "role {} may read the tables of schema {} (SELECT only) and nothing else of the ledger",
        args.role,
        sql.schema()
    )?;
    Ok(ExitCode::SUCCESS)
}
