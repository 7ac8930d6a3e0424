//! `navigo-ledger token create|list|revoke`: API tokens (hashed at rest).

use std::path::Path;
use std::process::ExitCode;

use super::exit::CmdResult;
use crate::app::auth::{self, AuthDb, Role};
use crate::app::error::BadInput;

/// Arguments of `token`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Create a token with a role.
    ///
    /// The secret is printed once; only its hash is kept.
    Create {
        /// A name to list and revoke it by.
        #[arg(long)]
        name: String,
        /// agent, auditor, system, partner or reference (see docs/roles.md).
        #[arg(long)]
        role: String,
    },
    /// List token names and roles.
    ///
    /// Secrets are never listed: only their hashes are kept.
    List,
    /// Revoke a token by name.
    ///
    /// Requests with the token are refused from then on.
    Revoke {
        /// The name.
        #[arg(long)]
        name: String,
    },
}

/// Runs the subcommand.
///
/// # Errors
/// Bad arguments, an unreadable auth file.
pub fn run(data: &Path, args: Args) -> CmdResult {
    let path = auth::path_in(data);
    let mut db = AuthDb::load(&path)?;
    match args {
        Args::Create { name, role } => {
            let role = Role::parse_token_role(&role).ok_or_else(|| {
                let roles: Vec<&str> = Role::TOKEN_ROLES.iter().map(|r| r.as_str()).collect();
                BadInput(format!("--role {role:?}: one of {}", roles.join(", ")))
            })?;
            let secret = db.create_token(&name, role)?;
            db.save(&path)?;
            outln!("{secret}");
        }
        Args::List => {
            for t in &db.tokens {
                outln!("{}\t{}", t.name, t.role.as_str());
            }
        }
        Args::Revoke { name } => {
            let before = db.tokens.len();
            db.tokens.retain(|t| t.name != name);
            if db.tokens.len() == before {
                return Err(BadInput(format!("no token named {name:?}")).into());
            }
            db.save(&path)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
