//! API tokens and customer accounts, stored in `<data>/auth.json`.
//!
//! Decision (storage): a small JSON file next to the ledger's sled files rather
//! than a sled tree, because the CLI must manage tokens while the service runs
//! (sled locks its database for one process) and the service reloads the file when
//! it changes. Secrets are never stored: a token is 32 random bytes shown once and
//! kept as its BLAKE3 hash (a 256-bit random secret needs no slow hash); a
//! password is kept as an argon2id PHC string. Comparison of token hashes is
//! constant-time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde_json::{json, Value};
use uuid::Uuid;

/// Bytes of randomness in a token.
pub const TOKEN_BYTES: usize = 32;
/// Tokens kept in the file.
pub const TOKENS_MAX: usize = 10_000;

/// The roles of API tokens, plus the customer of an account session. What each
/// may submit over HTTP is the service's authorization matrix (`http::authz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The agency's commands and reads.
    Agent,
    /// Every read including verify; no writes.
    Auditor,
    /// The billing clock and bank returns.
    System,
    /// The validity check only (`PARTNER-CHECK`).
    Partner,
    /// Reference data only: tariffs, school holidays, reason codes, campaigns.
    Reference,
    /// A customer of the personal space: their own contracts only.
    Customer,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Auditor => "auditor",
            Role::System => "system",
            Role::Partner => "partner",
            Role::Reference => "reference",
            Role::Customer => "customer",
        }
    }
    /// Every role, in the order of the authorization matrix's columns.
    #[cfg(test)]
    pub const ALL: [Role; 6] = [
        Role::Agent,
        Role::System,
        Role::Reference,
        Role::Customer,
        Role::Auditor,
        Role::Partner,
    ];
    /// The roles a token may have (customers have accounts, not tokens).
    pub const TOKEN_ROLES: [Role; 5] = [
        Role::Agent,
        Role::Auditor,
        Role::System,
        Role::Partner,
        Role::Reference,
    ];
    /// Parses a token role (customers have accounts, not tokens).
    pub fn parse_token_role(s: &str) -> Option<Role> {
        Role::TOKEN_ROLES.into_iter().find(|r| r.as_str() == s)
    }
}

/// A token as stored.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// Its name (for listing and revoking).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// BLAKE3 of the token, hex.
    pub hash: String,
}

/// A customer account as stored.
#[derive(Debug, Clone)]
pub struct AccountRecord {
    /// The login.
    pub login: String,
    /// The person the account is linked to (`ACC-LINK`).
    pub person: Uuid,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// The file's content.
#[derive(Debug, Clone, Default)]
pub struct AuthDb {
    /// Tokens.
    pub tokens: Vec<TokenRecord>,
    /// Accounts by login.
    pub accounts: BTreeMap<String, AccountRecord>,
}

/// The file's path in a data directory.
pub fn path_in(data: &Path) -> PathBuf {
    data.join("auth.json")
}

/// The file's modification time, if it exists.
pub fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl AuthDb {
    /// Loads the file (empty when absent).
    ///
    /// # Errors
    /// An unreadable or malformed file.
    pub fn load(path: &Path) -> anyhow::Result<AuthDb> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AuthDb::default()),
            Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", path.display())),
        };
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", path.display()))?;
        let mut db = AuthDb::default();
        for t in v["tokens"].as_array().into_iter().flatten() {
            let role = t["role"]
                .as_str()
                .and_then(Role::parse_token_role)
                .ok_or_else(|| anyhow::anyhow!("{}: a token has no valid role", path.display()))?;
            db.tokens.push(TokenRecord {
                name: t["name"].as_str().unwrap_or_default().to_owned(),
                role,
                hash: t["hash"].as_str().unwrap_or_default().to_owned(),
            });
        }
        for a in v["accounts"].as_array().into_iter().flatten() {
            let login = a["login"].as_str().unwrap_or_default().to_owned();
            let person = a["person"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    anyhow::anyhow!("{}: account {login:?} has no person", path.display())
                })?;
            db.accounts.insert(
                login.clone(),
                AccountRecord {
                    login,
                    person,
                    password_hash: a["password_hash"].as_str().unwrap_or_default().to_owned(),
                },
            );
        }
        Ok(db)
    }

    /// Saves the file atomically (write then rename).
    ///
    /// # Errors
    /// A write failure.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        // The auth file is the binary's own store of credentials, read back only
        // by `load` above: no output of the ledger and no published format, so
        // it is written as the JSON map it is rather than as a view.
        let v = json!({
            "tokens": self.tokens.iter().map(|t| json!({"name": t.name, "role": t.role.as_str(), "hash": t.hash})).collect::<Vec<_>>(),
            "accounts": self.accounts.values().map(|a| json!({"login": a.login, "person": a.person.to_string(), "password_hash": a.password_hash})).collect::<Vec<_>>(),
        });
        write_private(path, &serde_json::to_vec_pretty(&v)?)
    }

    /// The role of a presented token, comparing hashes in constant time.
    #[cfg(test)]
    pub fn role_of_token(&self, token: &str) -> Option<Role> {
        self.token(token).map(|t| t.role)
    }

    /// The record of a presented token (its name and role), comparing hashes in
    /// constant time.
    pub fn token(&self, token: &str) -> Option<&TokenRecord> {
        let h = blake3::hash(token.as_bytes());
        let mut found = None;
        for t in &self.tokens {
            let Ok(bytes) = hex::decode(&t.hash) else {
                continue;
            };
            let Ok(arr) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                continue;
            };
            // blake3::Hash's equality is constant-time.
            if blake3::Hash::from(arr) == h && found.is_none() {
                found = Some(t);
            }
        }
        found
    }

    /// Creates a token; returns the secret (shown once).
    ///
    /// # Errors
    /// No randomness, a duplicate name or too many tokens.
    pub fn create_token(&mut self, name: &str, role: Role) -> anyhow::Result<String> {
        if self.tokens.iter().any(|t| t.name == name) {
            anyhow::bail!("a token named {name:?} already exists; revoke it first");
        }
        if self.tokens.len() >= TOKENS_MAX {
            anyhow::bail!("tokens_max ({TOKENS_MAX}) reached");
        }
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let secret = format!("nvg_{}", hex::encode(bytes));
        self.tokens.push(TokenRecord {
            name: name.to_owned(),
            role,
            hash: blake3::hash(secret.as_bytes()).to_hex().to_string(),
        });
        Ok(secret)
    }
}

/// Writes a file that holds credentials atomically (a temporary file renamed over
/// it), readable and writable by its owner only (mode 0600 on Unix): token hashes,
/// password hashes and session hashes are not for other users of the machine.
///
/// # Errors
/// A write failure.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options
        .open(&tmp)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Hashes a password with argon2id and a random salt.
///
/// # Errors
/// No randomness or a hashing failure.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// Whether a password matches a stored argon2 hash.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_resolve_to_their_role() {
        // Given a database with one token per role.
        let mut db = AuthDb::default();
        let agent = db.create_token("a", Role::Agent).unwrap();
        let partner = db.create_token("p", Role::Partner).unwrap();
        // Then each secret resolves to its role, an unknown one to none, and no
        // secret is stored in clear.
        assert_eq!(db.role_of_token(&agent), Some(Role::Agent));
        assert_eq!(db.role_of_token(&partner), Some(Role::Partner));
        assert_eq!(db.role_of_token("nvg_00"), None);
        assert!(db
            .tokens
            .iter()
            .all(|t| t.hash != agent && t.hash != partner));
        // A duplicate name is refused.
        assert!(db.create_token("a", Role::Auditor).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn credential_files_are_created_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("navigo-auth-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = path_in(&dir);
        let mut db = AuthDb::default();
        db.create_token("a", Role::Agent).unwrap();
        db.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        // Saved again over a file another tool made world-readable: 0600 again.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        db.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn acc_password_is_hashed_with_argon2_and_verified() {
        let phc = hash_password("Abcdefg1").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("Abcdefg1", &phc));
        assert!(!verify_password("Abcdefg2", &phc));
        assert!(!verify_password("Abcdefg1", "not a hash"));
    }

    #[test]
    fn auth_file_round_trips() {
        let dir = std::env::temp_dir().join(format!("navigo-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = path_in(&dir);
        let mut db = AuthDb::default();
        let secret = db.create_token("s", Role::System).unwrap();
        db.accounts.insert(
            "l".into(),
            AccountRecord {
                login: "l".into(),
                person: Uuid::from_u128(1),
                password_hash: "h".into(),
            },
        );
        db.save(&path).unwrap();
        let back = AuthDb::load(&path).unwrap();
        assert_eq!(back.role_of_token(&secret), Some(Role::System));
        assert_eq!(back.accounts["l"].person, Uuid::from_u128(1));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
