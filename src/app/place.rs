//! Where a ledger is: its data directory and, when the log lives in
//! PostgreSQL (`--store postgres://…`), the database.
//!
//! Decision: with a PostgreSQL store the data directory (`--data`) still
//! holds the files the binary keeps beside the log — the API tokens and
//! accounts (`auth.json`), the customer sessions, `serve.json`, the
//! materialized projections' database — and holds no log. Each service
//! instance therefore has a data directory of its own, and the log is shared
//! through the database.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

use navigo_store_postgres::PgConfig;

use super::error::BadInput;

/// Seconds a connection attempt to PostgreSQL waits when the URL sets no
/// `connect_timeout`: an unreachable server is an error, not a hang.
pub const CONNECT_TIMEOUT_SECONDS: u64 = 10;

/// Where a ledger is.
///
/// It dereferences to its data directory, where every command keeps its
/// files whichever backend holds the log.
#[derive(Debug, Clone)]
pub struct Place {
    data: PathBuf,
    postgres: Option<PgConfig>,
}

impl Place {
    /// The ledger whose log is in the data directory `data` (sled).
    pub fn dir(data: impl Into<PathBuf>) -> Place {
        Place {
            data: data.into(),
            postgres: None,
        }
    }

    /// The ledger of `--data` and `--store`: the database a `postgres://` (or
    /// `postgresql://`) URL names, else the data directory.
    ///
    /// # Errors
    /// [`BadInput`] for a `--store` that is not such a URL, naming it without
    /// its password.
    pub fn new(data: PathBuf, store: Option<&str>) -> Result<Place, BadInput> {
        let Some(url) = store else {
            return Ok(Place::dir(data));
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(BadInput(format!(
                "--store {}: not a postgres:// URL (a ledger in a directory is given by --data)",
                without_password(url)
            )));
        }
        let mut config = PgConfig::parse(url)
            .map_err(|e| BadInput(format!("--store {}: {e}", without_password(url))))?;
        if config.connection.get_connect_timeout().is_none() {
            config
                .connection
                .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_SECONDS));
        }
        Ok(Place {
            data,
            postgres: Some(config),
        })
    }

    /// The data directory (the log's, unless the log is in PostgreSQL).
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// The PostgreSQL ledger, when the log is there.
    pub fn postgres(&self) -> Option<&PgConfig> {
        self.postgres.as_ref()
    }

    /// The data directory of a command that works on sled's files, or a
    /// refusal naming the command and what to use instead when the log is in
    /// PostgreSQL.
    ///
    /// # Errors
    /// [`BadInput`] for a PostgreSQL store.
    pub fn sled_only(&self, what: &str, instead: &str) -> Result<&Path, BadInput> {
        match &self.postgres {
            None => Ok(&self.data),
            Some(pg) => Err(BadInput(format!(
                "{what} works on a ledger in a data directory (sled's files), not on the \
                 PostgreSQL store {}: {instead}",
                pg.shown()
            ))),
        }
    }

    /// The ledger as messages name it: the data directory, or the database
    /// without its password.
    pub fn shown(&self) -> String {
        match &self.postgres {
            None => self.data.display().to_string(),
            Some(pg) => pg.shown(),
        }
    }
}

impl Deref for Place {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.data
    }
}

/// `url` with the password of its user-info, if any, replaced by `***`: what
/// an error may print of a URL the driver could not read.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_bin_store_url_shown_without_its_password() {
        assert_eq!(
            without_password("postgres://alice:s3cret@db.example:5432/ledger?sslmode=disable"),
            "postgres://alice:***@db.example:5432/ledger?sslmode=disable"
        );
        assert_eq!(
            without_password("postgres://alice@db/ledger"),
            "postgres://alice@db/ledger"
        );
        let p = Place::new(
            "d".into(),
            Some("postgres://alice:s3cret@db.example:5433/ledger"),
        )
        .unwrap();
        assert_eq!(p.shown(), "postgres://alice@db.example:5433/ledger");
        let e = Place::new("d".into(), Some("mysql://alice:s3cret@db/x")).unwrap_err();
        assert!(!e.0.contains("s3cret"), "{}", e.0);
    }
}
