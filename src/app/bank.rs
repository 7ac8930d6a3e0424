//! The ledger's side of the bank: the creditor it collects for and refunds
//! from, and (beside it) the files it sends to and reads from the bank.
//!
//! Decision: the creditor's identity (name, account, BIC, SEPA creditor
//! identifier) is configuration kept in the data directory
//! ([`CREDITOR_FILE`]), not an event: it is the operator's own account and
//! changes with a bank contract, not with a customer's. What must be
//! auditable is which creditor each file was built or read for, and every
//! file's event in the chain records the creditor identifier and the masked
//! account it used. Several services on one PostgreSQL database each read
//! their own data directory's file: keep them equal.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use navigo_bank::Creditor;
use serde::{Deserialize, Serialize};

use super::error::BadInput;

/// The creditor's file in the data directory.
pub const CREDITOR_FILE: &str = "bank-creditor.json";

/// What [`CREDITOR_FILE`] holds: the creditor as typed, checked on every read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditorConfig {
    /// The creditor's name, as the bank knows it.
    pub name: String,
    /// The account debits are credited to and refunds paid from.
    pub iban: String,
    /// Its bank's BIC.
    pub bic: String,
    /// The SEPA creditor identifier (ICS), e.g. `FR72ZZZ123456`.
    pub creditor_id: String,
}

impl CreditorConfig {
    /// Checks every field with the bank crate's rules.
    ///
    /// # Errors
    /// [`BadInput`] naming the field refused (an account number masked).
    pub fn check(&self) -> anyhow::Result<Creditor> {
        Creditor::parse(&self.name, &self.iban, &self.bic, &self.creditor_id)
            .map_err(|e| BadInput(format!("the bank creditor: {e}")).into())
    }
}

/// The creditor's file's path in `data`.
pub fn creditor_path(data: &Path) -> PathBuf {
    data.join(CREDITOR_FILE)
}

/// Checks `config` and writes it atomically (a temporary file renamed over
/// the old one), readable by its owner only.
///
/// # Errors
/// A field refused ([`BadInput`]), or the directory cannot be written.
pub fn save_creditor(data: &Path, config: &CreditorConfig) -> anyhow::Result<Creditor> {
    let creditor = config.check()?;
    let path = creditor_path(data);
    let mut tmp = tempfile::NamedTempFile::new_in(data)
        .with_context(|| format!("a temporary file in {}", data.display()))?;
    serde_json::to_writer_pretty(&mut tmp, config).context("serialising the creditor")?;
    writeln!(tmp)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(creditor)
}

/// The configured creditor, checked.
///
/// # Errors
/// [`BadInput`] when no creditor is configured (saying how to configure one),
/// when the file is not a creditor, or when a field is refused.
pub fn creditor(data: &Path) -> anyhow::Result<Creditor> {
    let path = creditor_path(data);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BadInput(format!(
                "no bank creditor is configured in {}: run `navigo-ledger bank creditor --name ... \
                 --iban ... --bic ... --creditor-id ...` first",
                data.display()
            ))
            .into())
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let config: CreditorConfig = serde_json::from_str(&text)
        .map_err(|e| BadInput(format!("{}: not a bank creditor: {e}", path.display())))?;
    config.check()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CreditorConfig {
        CreditorConfig {
            name: "Ile-de-France Mobilites".into(),
            iban: "FR7630006000011234567890189".into(),
            bic: "AGRIFRPP".into(),
            creditor_id: "FR72ZZZ123456".into(),
        }
    }

    #[test]
    fn bank_creditor_is_read_back_as_saved() {
        let dir = tempfile::tempdir().unwrap();
        let saved = save_creditor(dir.path(), &config()).unwrap();
        let read = creditor(dir.path()).unwrap();
        assert_eq!(saved.id(), read.id());
        assert_eq!(read.name(), "Ile-de-France Mobilites");
    }

    #[test]
    fn bank_creditor_missing_says_how_to_configure_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = creditor(dir.path()).unwrap_err();
        assert!(e.downcast_ref::<BadInput>().is_some());
        assert!(e.to_string().contains("bank creditor --name"), "{e}");
    }

    #[test]
    fn bank_creditor_refused_field_is_named_and_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let bad = CreditorConfig {
            iban: "FR7630006000011234567890188".into(),
            ..config()
        };
        let e = save_creditor(dir.path(), &bad).unwrap_err();
        assert!(e.to_string().contains("creditor_iban"), "{e}");
        assert!(!e.to_string().contains("1234567890188"), "{e}");
        assert!(!creditor_path(dir.path()).exists());
    }
}
