//! The command lock: several services sharing one ledger judge commands one
//! at a time across every process, each against the whole log, so that a
//! judgment never rests on a world another service has moved meanwhile (two
//! registrations of one client number, a suspension of a contract another
//! service terminated). It is a PostgreSQL advisory lock of the session, per
//! ledger schema, held on a connection of its own from before the judgment
//! until after the append.

use deadpool_postgres::Object;
use navigo_store::StoreError;

use crate::error::{pg, pool};
use crate::PgStore;

/// The command lock, held until [`CommandLock::release`]; a lock dropped
/// without it closes its connection, which releases it on the server.
pub struct CommandLock {
    conn: Option<Object>,
    key: String,
}

impl PgStore {
    /// Waits for the ledger's command lock and takes it.
    ///
    /// # Errors
    /// A storage failure.
    pub async fn lock_commands(&self) -> Result<CommandLock, StoreError> {
        let conn = self.read.get().await.map_err(pool)?;
        let key = self.sql.command_lock_key.clone();
        conn.execute("SELECT pg_advisory_lock(hashtext($1))", &[&key])
            .await
            .map_err(pg)?;
        Ok(CommandLock {
            conn: Some(conn),
            key,
        })
    }
}

impl CommandLock {
    /// Releases the lock (its connection goes back to the pool).
    ///
    /// # Errors
    /// A storage failure (the connection is then closed, which releases it).
    pub async fn release(mut self) -> Result<(), StoreError> {
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        match conn
            .execute("SELECT pg_advisory_unlock(hashtext($1))", &[&self.key])
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                drop(Object::take(conn));
                Err(pg(e))
            }
        }
    }
}

impl Drop for CommandLock {
    fn drop(&mut self) {
        // Not released (a panic, a cancelled request): the connection is
        // closed rather than pooled, so that the server releases the lock.
        if let Some(conn) = self.conn.take() {
            drop(Object::take(conn));
        }
    }
}
