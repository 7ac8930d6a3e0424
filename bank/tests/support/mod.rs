//! What the bank-file tests share: a generated month of debits, the creditor,
//! the known reason codes, xmllint against the committed ISO 20022 XSDs, and
//! the files a bank would send back (status reports, notifications) built
//! from a generated collection. The binary's bank tests (`tests/bank.rs`)
//! include this module as it is, so that both validate with one helper.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use chrono::{DateTime, NaiveDate, Utc};
use navigo_bank::{
    Amendment, BankReturn, CollectionInput, Creditor, Debit, FileSummary, Notification,
    SequenceType, StatusReport,
};
use navigo_events_schema::types::{Money, ReasonCode};

pub const CREDITOR_BIC: &str = "BNPAFRPPXXX";

/// A French IBAN with correct check digits for a 23-character BBAN.
pub fn french_iban(bban: &str) -> String {
    let rearranged = format!("{bban}FR00");
    let digits: String = rearranged
        .chars()
        .map(|c| match c.to_digit(36) {
            Some(v) => v.to_string(),
            None => String::new(),
        })
        .collect();
    let rest = digits
        .chars()
        .fold(0u32, |acc, c| (acc * 10 + c.to_digit(10).unwrap()) % 97);
    format!("FR{:02}{bban}", 98 - rest)
}

/// The IBAN of payer number `n`.
pub fn payer_iban(n: u64) -> String {
    french_iban(&format!("3000400003{:011}{:02}", n, n % 97))
}

pub fn creditor_iban() -> String {
    french_iban("30004000031234567890143")
}

pub fn creditor() -> Creditor {
    let national = "123456";
    let id = format!(
        "FR{}ZZZ{national}",
        sepa::creditor_id_check_digits(national, "FR")
    );
    Creditor::parse("Navigo Annuel", &creditor_iban(), CREDITOR_BIC, &id)
        .expect("the test creditor")
}

/// Another creditor: another account and identifier.
pub fn other_creditor_iban() -> String {
    french_iban("10278060000002020802047")
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A month of `n` debits for 2026-03-05: one in seven a first collection,
/// one in eleven with an amendment, amounts between 20.00 and 99.99 €.
pub fn month(n: u64) -> CollectionInput {
    let debits = (0..n)
        .map(|i| Debit {
            end_to_end_id: format!("NAV-2026-03-{i:08}"),
            amount: Money::from_cents(2000 + i64::try_from((i * 7919) % 8000).unwrap()),
            mandate_reference: format!("NAVUMR{i:010}"),
            mandate_signed_on: day("2024-01-15"),
            sequence: if i % 7 == 0 {
                SequenceType::First
            } else {
                SequenceType::Recurring
            },
            amendment: (i % 11 == 3).then(|| Amendment {
                previous_mandate_reference: (i % 2 == 0).then(|| format!("OLDUMR{i:08}")),
                debtor_account_changed: i % 2 == 1,
            }),
            debtor_name: format!("Payeur {i}"),
            debtor_iban: payer_iban(i),
            debtor_bic: (i % 3 == 0).then(|| "CEPAFRPP751".to_owned()),
            remittance: "Navigo Annuel mars 2026".to_owned(),
        })
        .collect();
    CollectionInput {
        message_id: "NAV-COLL-2026-03-05".to_owned(),
        created_at: at("2026-02-25T06:00:00Z"),
        creditor: creditor(),
        collection_date: day("2026-03-05"),
        debits,
    }
}

/// The reason codes the ledger publishes.
pub fn known_codes() -> Vec<ReasonCode> {
    navigo_rules::reference::builtin_reason_codes()
        .expect("the built-in reason codes")
        .codes
        .into_iter()
        .map(|c| c.code)
        .collect()
}

/// The committed ISO 20022 schemas. This module is the bank crate's test
/// support and the binary's bank tests include it too (`#[path]`), so the
/// directory is found from either package's manifest directory.
pub fn xsd_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let of_bank = root.join("tests/xsd");
    if of_bank.is_dir() {
        of_bank
    } else {
        root.join("bank/tests/xsd")
    }
}

/// Checks `xml` against `bank/tests/xsd/<xsd>` with libxml2's xmllint,
/// installing it (Debian's libxml2-utils) when it is missing. Returns
/// xmllint's complaint when the file does not validate.
pub fn xsd_check(xsd: &str, xml: &[u8]) -> Result<(), String> {
    ensure_xmllint();
    let schema = xsd_dir().join(xsd);
    let mut child = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&schema)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint runs");
    child.stdin.take().unwrap().write_all(xml).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub fn assert_valid(xsd: &str, xml: &[u8]) {
    if let Err(e) = xsd_check(xsd, xml) {
        panic!(
            "{xsd} refuses the file:\n{e}\n{}",
            String::from_utf8_lossy(xml)
        );
    }
}

fn ensure_xmllint() {
    let found = Command::new("xmllint")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        navigo_store_postgres::cluster::apt_install(&["libxml2-utils"])
            .unwrap_or_else(|e| panic!("xmllint (libxml2-utils) is needed by the XSD tests: {e}"));
    }
}

/// The texts of every element named `name`, in order (quick-xml, not a
/// pattern over the text).
pub fn texts_of(xml: &[u8], name: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = Vec::new();
    let mut inside = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(s) if s.local_name().as_ref() == name.as_bytes() => {
                inside = true
            }
            quick_xml::events::Event::Text(t) if inside => {
                out.push(t.decode().unwrap().into_owned())
            }
            quick_xml::events::Event::End(_) => inside = false,
            quick_xml::events::Event::Eof => return out,
            _ => {}
        }
    }
}

/// One transaction a bank sends back in a test file.
#[derive(Debug, Clone)]
pub struct Back {
    pub end_to_end_id: String,
    pub amount: Money,
    pub code: &'static str,
}

impl Back {
    fn bank_return(&self) -> BankReturn {
        BankReturn {
            end_to_end_id: self.end_to_end_id.clone(),
            amount: self.amount,
            reason_code: self.code.to_owned(),
        }
    }
}

fn bank_returns(backs: &[Back]) -> Vec<BankReturn> {
    backs.iter().map(Back::bank_return).collect()
}

/// A pain.002.001.11 status report rejecting `rejects` of the file `sent`,
/// as a bank writes it (the bank crate's writer, checked against the XSD).
pub fn status_report(sent: &FileSummary, creditor_iban: &str, rejects: &[Back]) -> String {
    let rejects = bank_returns(rejects);
    let bytes = StatusReport {
        message_id: "BNP-STS-0001",
        created_at: at("2026-03-04T09:00:00Z"),
        original: sent,
        creditor_iban,
        rejects: &rejects,
    }
    .write()
    .expect("written to memory");
    String::from_utf8(bytes).expect("UTF-8")
}

/// A camt.054.001.08 notification of the creditor's account `iban`: one
/// batch entry of returns (`returns`), one entry per reversal (`reversals`),
/// and the credit of the collection itself.
pub fn notification(iban: &str, returns: &[Back], reversals: &[Back], collected: Money) -> String {
    let returns = bank_returns(returns);
    let reversals = bank_returns(reversals);
    let bytes = Notification {
        message_id: "BNP-NTF-0001",
        created_at: at("2026-03-12T18:00:00Z"),
        notification_id: "NTF-2026-03-12",
        creditor_iban: iban,
        collected: Some(collected),
        returns: &returns,
        reversals: &reversals,
    }
    .write()
    .expect("written to memory");
    String::from_utf8(bytes).expect("UTF-8")
}
