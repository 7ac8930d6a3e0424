//! Customer sessions of the personal space, persisted in `<data>/sessions.json`
//! (mode 0600) so that a restart of the service does not sign every customer
//! out, each with an expiry; a logout forgets one at once.
//!
//! Only the BLAKE3 hash of a session token is stored (a 256-bit random secret
//! needs no slow hash), never the token itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::auth;

/// How long a session lasts from its opening, in minutes. Decision (RULES.md is
/// silent): half an hour, the usual idle limit of a bank's customer space; the
/// customer signs in again after it.
pub const SESSION_LIFETIME_MINUTES: i64 = 30;
/// Sessions kept at once; beyond, the one closest to its expiry is dropped.
pub const SESSIONS_MAX: usize = 100_000;

/// One session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// The customer's person.
    pub person: Uuid,
    /// The instant from which the session no longer authenticates.
    pub expires_at: DateTime<Utc>,
}

/// The sessions, by token hash, and the file they are saved to.
#[derive(Debug)]
pub struct Sessions {
    path: PathBuf,
    by_hash: HashMap<blake3::Hash, Session>,
}

/// The file's path in a data directory.
pub fn path_in(data: &Path) -> PathBuf {
    data.join("sessions.json")
}

impl Sessions {
    /// Loads the sessions of `path` (none when absent), dropping those expired at
    /// `now`.
    ///
    /// # Errors
    /// An unreadable or malformed file.
    pub fn load(path: &Path, now: DateTime<Utc>) -> anyhow::Result<Sessions> {
        let mut s = Sessions {
            path: path.to_owned(),
            by_hash: HashMap::new(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(s),
            Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", path.display())),
        };
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", path.display()))?;
        for item in v["sessions"].as_array().into_iter().flatten() {
            let bad = || anyhow::anyhow!("{}: a malformed session", path.display());
            let hash = item["hash"]
                .as_str()
                .and_then(|h| blake3::Hash::from_hex(h).ok())
                .ok_or_else(bad)?;
            let person = item["person"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .ok_or_else(bad)?;
            let expires_at = item["expires_at"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(bad)?;
            if expires_at > now {
                s.by_hash.insert(hash, Session { person, expires_at });
            }
        }
        Ok(s)
    }

    /// Closes every session of `person` (whose personal data was erased).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn forget_person(&mut self, person: Uuid) -> anyhow::Result<()> {
        let before = self.by_hash.len();
        self.by_hash.retain(|_, s| s.person != person);
        if self.by_hash.len() == before {
            return Ok(());
        }
        self.save()
    }

    fn save(&self) -> anyhow::Result<()> {
        // The sessions file is the service's own store, read back only by
        // `load` above: no output of the ledger and no published format, so it
        // is written as the JSON map it is rather than as a view.
        let v = json!({"sessions": self.by_hash.iter().map(|(h, s)| json!({
            "hash": h.to_hex().to_string(),
            "person": s.person.to_string(),
            "expires_at": s.expires_at.to_rfc3339(),
        })).collect::<Vec<_>>()});
        auth::write_private(&self.path, &serde_json::to_vec(&v)?)
    }

    /// Opens a session for `person` at `now`; returns its token (shown once) and
    /// its expiry.
    ///
    /// # Errors
    /// No randomness, or the file cannot be written (the session is not opened).
    pub fn open(
        &mut self,
        person: Uuid,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(String, DateTime<Utc>)> {
        let mut bytes = [0u8; auth::TOKEN_BYTES];
        getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let token = format!("nvs_{}", hex::encode(bytes));
        self.by_hash.retain(|_, s| s.expires_at > now);
        if self.by_hash.len() >= SESSIONS_MAX {
            if let Some(h) = self
                .by_hash
                .iter()
                .min_by_key(|(_, s)| s.expires_at)
                .map(|(h, _)| *h)
            {
                self.by_hash.remove(&h);
            }
        }
        let expires_at = now + Duration::minutes(SESSION_LIFETIME_MINUTES);
        let hash = blake3::hash(token.as_bytes());
        self.by_hash.insert(hash, Session { person, expires_at });
        if let Err(e) = self.save() {
            self.by_hash.remove(&hash);
            return Err(e);
        }
        Ok((token, expires_at))
    }

    /// The session of a presented token, if it has not expired at `now`
    /// (blake3's hash equality is constant-time).
    pub fn get(&self, token: &str, now: DateTime<Utc>) -> Option<Session> {
        self.by_hash
            .get(&blake3::hash(token.as_bytes()))
            .filter(|s| s.expires_at > now)
            .copied()
    }

    /// Forgets the session of `token`; whether there was one.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn close(&mut self, token: &str) -> anyhow::Result<bool> {
        let removed = self
            .by_hash
            .remove(&blake3::hash(token.as_bytes()))
            .is_some();
        if removed {
            self.save()?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acc_session_expires_survives_a_reload_and_ends_at_logout() {
        let dir = std::env::temp_dir().join(format!("navigo-sessions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = path_in(&dir);
        let _ = std::fs::remove_file(&path);
        let t0: DateTime<Utc> = "2027-10-15T08:00:00Z".parse().unwrap();
        let person = Uuid::from_u128(7);
        let mut s = Sessions::load(&path, t0).unwrap();
        let (token, expires) = s.open(person, t0).unwrap();
        assert_eq!(expires, t0 + Duration::minutes(SESSION_LIFETIME_MINUTES));
        // Reloaded (a restart): still there until its expiry, not after.
        let back = Sessions::load(&path, t0).unwrap();
        assert_eq!(back.get(&token, t0).map(|s| s.person), Some(person));
        assert_eq!(back.get(&token, expires), None);
        assert!(Sessions::load(&path, expires).unwrap().by_hash.is_empty());
        // The token itself is not stored.
        assert!(!std::fs::read_to_string(&path).unwrap().contains(&token));
        // Logout forgets it, on disk too.
        assert!(s.close(&token).unwrap());
        assert_eq!(Sessions::load(&path, t0).unwrap().get(&token, t0), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
