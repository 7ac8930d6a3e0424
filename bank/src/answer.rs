//! The bank's side of the exchange: the pain.002 status report and the
//! camt.054 notification a bank writes in answer to a collection file, for a
//! test bank or a simulator to send back what the ledger's readers import.
//!
//! `sepa` reads these messages but does not write them, so they are written
//! with quick-xml's writer (every text escaped by it, no XML by hand); the
//! tests check both against the official XSDs.

use std::io;

use chrono::{DateTime, Utc};
use navigo_events_schema::types::Money;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use crate::summary::FileSummary;

/// The status-report version written (read as one of the two the ledger reads).
const STATUS_REPORT_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.11";
/// The notification version written (the one the ledger reads).
const NOTIFICATION_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08";

/// One transaction a bank sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankReturn {
    /// The end-to-end id of the debit, as the collection file carried it.
    pub end_to_end_id: String,
    /// The amount sent back.
    pub amount: Money,
    /// The ISO 20022 reason code, as the bank writes it (a test bank may
    /// write one the ledger does not know, to see it refused).
    pub reason_code: String,
}

/// A pain.002 status report rejecting debits of one collection file.
#[derive(Debug, Clone)]
pub struct StatusReport<'a> {
    /// `GrpHdr/MsgId` of the report.
    pub message_id: &'a str,
    /// `GrpHdr/CreDtTm`.
    pub created_at: DateTime<Utc>,
    /// The collection file the report answers (its message id, count, sum).
    pub original: &'a FileSummary,
    /// The creditor's account, repeated in each transaction's reference.
    pub creditor_iban: &'a str,
    /// The debits rejected, in the order written.
    pub rejects: &'a [BankReturn],
}

/// A camt.054 notification of the creditor's account: the credit of the
/// collections, one batch entry of returns, one entry per reversal.
#[derive(Debug, Clone)]
pub struct Notification<'a> {
    /// `GrpHdr/MsgId` of the notification.
    pub message_id: &'a str,
    /// `GrpHdr/CreDtTm`.
    pub created_at: DateTime<Utc>,
    /// `Ntfctn/Id`.
    pub notification_id: &'a str,
    /// The account notified: the creditor's.
    pub creditor_iban: &'a str,
    /// The credit of the collections notified beside the returns, if any.
    pub collected: Option<Money>,
    /// Debits returned or refunded after settlement (sub-family `UPDD`).
    pub returns: &'a [BankReturn],
    /// Debits reversed by the creditor's bank (sub-family `PRDD`).
    pub reversals: &'a [BankReturn],
}

type W = Writer<Vec<u8>>;

impl StatusReport<'_> {
    /// The report's bytes: one payment-information block of `RJCT`
    /// transactions, the group partly accepted.
    ///
    /// # Errors
    /// None in practice: the writer writes to memory.
    pub fn write(&self) -> io::Result<Vec<u8>> {
        document(STATUS_REPORT_NAMESPACE, |w| {
            w.create_element("CstmrPmtStsRpt")
                .write_inner_content(|w| {
                    header(w, self.message_id, self.created_at)?;
                    self.original_group(w)?;
                    w.create_element("OrgnlPmtInfAndSts")
                        .write_inner_content(|w| {
                            let block = format!("{}-RJCT", self.original.message_id);
                            text(w, "OrgnlPmtInfId", &block)?;
                            text(w, "PmtInfSts", "PART")?;
                            for (i, r) in self.rejects.iter().enumerate() {
                                self.rejected(w, i, r)?;
                            }
                            Ok(())
                        })?;
                    Ok(())
                })?;
            Ok(())
        })
    }

    fn original_group(&self, w: &mut W) -> io::Result<()> {
        w.create_element("OrgnlGrpInfAndSts")
            .write_inner_content(|w| {
                text(w, "OrgnlMsgId", &self.original.message_id)?;
                text(w, "OrgnlMsgNmId", "pain.008.001.08")?;
                text(w, "OrgnlNbOfTxs", &self.original.transactions.to_string())?;
                text(w, "OrgnlCtrlSum", &self.original.control_sum.to_string())?;
                text(w, "GrpSts", "PART")
            })?;
        Ok(())
    }

    fn rejected(&self, w: &mut W, i: usize, r: &BankReturn) -> io::Result<()> {
        w.create_element("TxInfAndSts").write_inner_content(|w| {
            text(w, "StsId", &format!("RJ{i:06}"))?;
            text(w, "OrgnlEndToEndId", &r.end_to_end_id)?;
            text(w, "TxSts", "RJCT")?;
            w.create_element("StsRsnInf")
                .write_inner_content(|w| reason(w, &r.reason_code))?;
            w.create_element("OrgnlTxRef").write_inner_content(|w| {
                w.create_element("Amt")
                    .write_inner_content(|w| euros(w, "InstdAmt", r.amount))?;
                account(w, "CdtrAcct", self.creditor_iban)
            })?;
            Ok(())
        })?;
        Ok(())
    }
}

impl Notification<'_> {
    /// The notification's bytes.
    ///
    /// # Errors
    /// None in practice: the writer writes to memory.
    pub fn write(&self) -> io::Result<Vec<u8>> {
        document(NOTIFICATION_NAMESPACE, |w| {
            w.create_element("BkToCstmrDbtCdtNtfctn")
                .write_inner_content(|w| {
                    header(w, self.message_id, self.created_at)?;
                    w.create_element("Ntfctn").write_inner_content(|w| {
                        text(w, "Id", self.notification_id)?;
                        account(w, "Acct", self.creditor_iban)?;
                        self.entries(w)
                    })?;
                    Ok(())
                })?;
            Ok(())
        })
    }

    fn entries(&self, w: &mut W) -> io::Result<()> {
        if let Some(collected) = self.collected {
            entry(w, collected, "CRDT", "ESDD", |_| Ok(()))?;
        }
        if !self.returns.is_empty() {
            let total: Money = self.returns.iter().map(|r| r.amount).sum();
            entry(w, total, "DBIT", "UPDD", |w| {
                w.create_element("Btch").write_inner_content(|w| {
                    text(w, "NbOfTxs", &self.returns.len().to_string())?;
                    euros(w, "TtlAmt", total)
                })?;
                self.returns.iter().try_for_each(|r| detail(w, r))
            })?;
        }
        for r in self.reversals {
            entry(w, r.amount, "DBIT", "PRDD", |w| detail(w, r))?;
        }
        Ok(())
    }
}

/// An XML document of `namespace` around what `body` writes.
fn document(namespace: &str, body: impl FnOnce(&mut W) -> io::Result<()>) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("Document")
        .with_attribute(("xmlns", namespace))
        .write_inner_content(body)?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn header(w: &mut W, message_id: &str, created_at: DateTime<Utc>) -> io::Result<()> {
    w.create_element("GrpHdr").write_inner_content(|w| {
        text(w, "MsgId", message_id)?;
        // ISODateTime without an offset, as banks write it: the instant in UTC.
        let stamp = created_at.format("%Y-%m-%dT%H:%M:%S").to_string();
        text(w, "CreDtTm", &stamp)
    })?;
    Ok(())
}

/// One entry of the account: its amount, direction and bank transaction
/// code (`PMNT / IDDT / sub_family`), its details written by `details`.
fn entry(
    w: &mut W,
    amount: Money,
    indicator: &str,
    sub_family: &str,
    details: impl FnOnce(&mut W) -> io::Result<()>,
) -> io::Result<()> {
    w.create_element("Ntry").write_inner_content(|w| {
        euros(w, "Amt", amount)?;
        text(w, "CdtDbtInd", indicator)?;
        w.create_element("Sts")
            .write_inner_content(|w| text(w, "Cd", "BOOK"))?;
        w.create_element("BkTxCd").write_inner_content(|w| {
            w.create_element("Domn").write_inner_content(|w| {
                text(w, "Cd", "PMNT")?;
                w.create_element("Fmly").write_inner_content(|w| {
                    text(w, "Cd", "IDDT")?;
                    text(w, "SubFmlyCd", sub_family)
                })?;
                Ok(())
            })?;
            Ok(())
        })?;
        if indicator == "DBIT" {
            w.create_element("NtryDtls").write_inner_content(details)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn detail(w: &mut W, r: &BankReturn) -> io::Result<()> {
    w.create_element("TxDtls").write_inner_content(|w| {
        w.create_element("Refs")
            .write_inner_content(|w| text(w, "EndToEndId", &r.end_to_end_id))?;
        euros(w, "Amt", r.amount)?;
        w.create_element("RtrInf")
            .write_inner_content(|w| reason(w, &r.reason_code))?;
        Ok(())
    })?;
    Ok(())
}

fn reason(w: &mut W, code: &str) -> io::Result<()> {
    w.create_element("Rsn")
        .write_inner_content(|w| text(w, "Cd", code))?;
    Ok(())
}

fn account(w: &mut W, name: &str, iban: &str) -> io::Result<()> {
    w.create_element(name).write_inner_content(|w| {
        w.create_element("Id")
            .write_inner_content(|w| text(w, "IBAN", iban))?;
        Ok(())
    })?;
    Ok(())
}

fn euros(w: &mut W, name: &str, amount: Money) -> io::Result<()> {
    w.create_element(name)
        .with_attribute(("Ccy", "EUR"))
        .write_text_content(BytesText::new(&amount.to_string()))?;
    Ok(())
}

fn text(w: &mut W, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}
