//! Rejects and returns in: pain.002 status reports and camt.054
//! notifications read into the transactions that came back.
//!
//! A file is read whole or refused whole: the first problem is reported with
//! its element and line, and nothing of the file is returned.

use std::collections::BTreeSet;
use std::str::FromStr;

use navigo_events_schema::types::{Money, ReasonCode};

use crate::creditor::Creditor;
use crate::error::{ReadError, ReadErrorKind};
use crate::located::{self, Element};
use crate::summary::{money, sha256_hex, FileSummary};

/// The largest file a reader takes.
///
/// Decision: a status report of a million-debit collection where one debit in
/// five comes back holds about 200,000 transactions of under a kilobyte; a
/// quarter of a gigabyte leaves room for that and refuses a runaway file
/// before it is read into memory.
pub const RETURN_FILE_BYTES_MAX: usize = 256 * 1024 * 1024;

/// The status-report versions read: `.001.10` (EPC implementation guidelines
/// of 2023) and `.001.11`, whose elements read here are the same.
const STATUS_REPORT_NAMESPACES: &[&str] = &[
    "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10",
    "urn:iso:std:iso:20022:tech:xsd:pain.002.001.11",
];

/// The notification version read: the one of the same ISO release as the
/// pain.008.001.08 collections.
const NOTIFICATION_NAMESPACES: &[&str] = &["urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"];

/// How a transaction came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnKind {
    /// Refused before settlement (a pain.002 `RJCT`).
    Reject,
    /// Sent back by the payer's bank after settlement (a camt.054 return).
    Return,
    /// Claimed back by the payer (`MD06`, the eight weeks of an authorised debit).
    Refund,
    /// Reversed by the creditor's bank (bank transaction sub-family `PRDD`).
    Reversal,
}

/// One transaction that came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    /// The end-to-end id of the original transaction.
    pub end_to_end_id: String,
    /// The amount that came back.
    pub amount: Money,
    /// The ISO 20022 reason code.
    pub reason_code: ReasonCode,
    /// Reject, return, refund or reversal.
    pub kind: ReturnKind,
    /// The line of the transaction in the file.
    pub line: u32,
    /// False when the reason code is not one the ledger knows, which only a
    /// reader told to list such codes ([`UnknownCodes::List`]) returns.
    pub code_known: bool,
}

/// What a reader does with a reason code the ledger does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownCodes {
    /// The file is refused, naming the code's element and line.
    Refuse,
    /// The transaction is returned with [`Returned::code_known`] false, for
    /// the caller to refuse it or to let an operator decide on it.
    List,
}

/// A file read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnFile {
    /// `GrpHdr/MsgId` of the file the bank sent.
    pub message_id: String,
    /// The SHA-256 of its bytes, lowercase hex: what a ledger records to read
    /// a file once.
    pub sha256: String,
    /// The transactions that came back, in file order.
    pub returned: Vec<Returned>,
    /// The transactions the file reports that did not come back (accepted
    /// ones in a status report, credits in a notification).
    pub other_transactions: u64,
}

/// What a reader checks a file against.
#[derive(Debug, Clone, Copy)]
pub struct ReadContext<'a> {
    /// The creditor the file must be about.
    pub creditor: &'a Creditor,
    /// The files this ledger sent: a status report names one of them.
    pub sent: &'a [FileSummary],
    /// The reason codes the ledger knows (its published reference data).
    pub known_codes: &'a [ReasonCode],
    /// What an unknown code does.
    pub unknown_codes: UnknownCodes,
}

/// Reads a pain.002 status report: every `RJCT` transaction, as a
/// [`ReturnKind::Reject`].
///
/// # Errors
/// The first problem, naming its element and line: not well-formed, another
/// message or version, an element missing (the original end-to-end id, the
/// amount, the reason), a report on a file not sent or whose count or sum is
/// not the file's, another creditor, a reason code not known, a rejection of a
/// whole group or block without its transactions.
pub fn read_status_report(bytes: &[u8], ctx: &ReadContext<'_>) -> Result<ReturnFile, ReadError> {
    let (tree, text) = open(bytes, STATUS_REPORT_NAMESPACES, "a pain.002 status report")?;
    let report = tree.required(&["CstmrPmtStsRpt"], "the status report")?;
    let message_id = report.required(&["GrpHdr", "MsgId"], "the report's message id")?;
    let original = report.required(&["OrgnlGrpInfAndSts"], "the original group")?;
    let sent = sent_file(original, ctx)?;
    let doc =
        sepa::parse_pain002(text).map_err(|e| tree.refuse(ReadErrorKind::Schema, e.to_string()))?;
    let nodes: Vec<&Element> = report
        .children_named("OrgnlPmtInfAndSts")
        .flat_map(|b| b.children_named("TxInfAndSts"))
        .collect();
    let txs: Vec<&sepa::TransactionStatus> = doc
        .payment_info_statuses
        .iter()
        .flat_map(|b| b.transactions.iter())
        .collect();
    if nodes.len() != txs.len() {
        return Err(report.refuse(
            ReadErrorKind::Schema,
            "transactions the reader could not align",
        ));
    }
    whole_rejections(report, original, nodes.is_empty())?;
    let mut returned = Vec::new();
    let mut other = 0u64;
    for (node, tx) in nodes.into_iter().zip(txs) {
        let status = node.required(&["TxSts"], "the transaction's status")?;
        if status.text != "RJCT" {
            other += 1;
            continue;
        }
        returned.push(rejected(node, tx, ctx)?);
    }
    check_within(&returned, sent, original)?;
    finish(message_id, bytes, returned, other)
}

/// Reads a camt.054 notification: every debit entry of the creditor's account
/// that carries a return reason.
///
/// # Errors
/// As [`read_status_report`], and: another account, a debit entry without its
/// transactions or their return reason, transactions whose amounts do not sum
/// to their entry (or to its batch total or count), a returned credit transfer
/// (a refund the payer's bank sent back), which the ledger does not handle yet.
pub fn read_notification(bytes: &[u8], ctx: &ReadContext<'_>) -> Result<ReturnFile, ReadError> {
    let (tree, text) = open(bytes, NOTIFICATION_NAMESPACES, "a camt.054 notification")?;
    let root = tree.required(&["BkToCstmrDbtCdtNtfctn"], "the notification")?;
    let message_id = root.required(&["GrpHdr", "MsgId"], "the notification's message id")?;
    let notifications: Vec<&Element> = root.children_named("Ntfctn").collect();
    for n in &notifications {
        check_account(n, ctx.creditor)?;
        for ntry in n.children_named("Ntry") {
            amount(ntry.required(&["Amt"], "the entry's amount")?)?;
            let ind = ntry.required(&["CdtDbtInd"], "credit or debit")?;
            if ind.text != "CRDT" && ind.text != "DBIT" {
                return Err(ind.refuse(
                    ReadErrorKind::Schema,
                    format!("{:?}: CRDT or DBIT", ind.text),
                ));
            }
        }
    }
    let doc =
        sepa::parse_camt054(text).map_err(|e| tree.refuse(ReadErrorKind::Schema, e.to_string()))?;
    if doc.notifications.len() != notifications.len() {
        return Err(root.refuse(
            ReadErrorKind::Schema,
            "notifications the reader could not align",
        ));
    }
    let mut returned = Vec::new();
    let mut other = 0u64;
    for (n, parsed) in notifications.iter().zip(&doc.notifications) {
        let entries: Vec<&Element> = n.children_named("Ntry").collect();
        if entries.len() != parsed.entries.len() {
            return Err(n.refuse(ReadErrorKind::Schema, "entries the reader could not align"));
        }
        for (ntry, entry) in entries.into_iter().zip(&parsed.entries) {
            other += entry_returns(ntry, entry, ctx, &mut returned)?;
        }
    }
    finish(message_id, bytes, returned, other)
}

/// The tree and the text of a file, once its size, form and namespace are
/// checked.
fn open<'b>(
    bytes: &'b [u8],
    namespaces: &[&str],
    what: &str,
) -> Result<(Element, &'b str), ReadError> {
    if bytes.len() > RETURN_FILE_BYTES_MAX {
        return Err(ReadError {
            kind: ReadErrorKind::Malformed,
            element: "Document".to_owned(),
            line: 1,
            reason: format!(
                "{} bytes exceed return_file_bytes_max ({RETURN_FILE_BYTES_MAX})",
                bytes.len()
            ),
        });
    }
    let tree = located::parse(bytes)?;
    let text = std::str::from_utf8(bytes).map_err(|e| ReadError {
        kind: ReadErrorKind::Malformed,
        element: "Document".to_owned(),
        line: line_of_offset(bytes, e.valid_up_to()),
        reason: "not UTF-8".to_owned(),
    })?;
    let namespace = tree
        .attributes
        .iter()
        .find(|(k, _)| k == "xmlns" || k.starts_with("xmlns:"))
        .map(|(_, v)| v.as_str());
    match namespace {
        Some(ns) if tree.name == "Document" && namespaces.contains(&ns) => Ok((tree, text)),
        other => Err(tree.refuse(
            ReadErrorKind::Schema,
            format!(
                "namespace {:?}: expected {what} ({})",
                other.unwrap_or(""),
                namespaces.join(" or ")
            ),
        )),
    }
}

fn line_of_offset(bytes: &[u8], offset: usize) -> u32 {
    let n = bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1)
}

fn finish(
    message_id: &Element,
    bytes: &[u8],
    returned: Vec<Returned>,
    other: u64,
) -> Result<ReturnFile, ReadError> {
    let mut seen = BTreeSet::new();
    for r in &returned {
        if !seen.insert(r.end_to_end_id.as_str()) {
            return Err(ReadError {
                kind: ReadErrorKind::Schema,
                element: "EndToEndId".to_owned(),
                line: r.line,
                reason: format!(
                    "{} comes back twice in one file: each transaction is reported once",
                    r.end_to_end_id
                ),
            });
        }
    }
    Ok(ReturnFile {
        message_id: message_id.text.clone(),
        sha256: sha256_hex(bytes),
        returned,
        other_transactions: other,
    })
}

/// The file sent that a status report is about; its count and sum, when the
/// report repeats them, must be that file's.
fn sent_file<'c>(original: &Element, ctx: &ReadContext<'c>) -> Result<&'c FileSummary, ReadError> {
    let id = original.required(&["OrgnlMsgId"], "the original message id")?;
    let sent = ctx.sent.iter().find(|s| s.message_id == id.text).ok_or_else(|| {
        id.refuse(
            ReadErrorKind::UnknownMessage,
            format!("{:?} is no file this ledger sent: a report is read with the file it reports on", id.text),
        )
    })?;
    if let Some(n) = original.child("OrgnlNbOfTxs") {
        if n.text.parse::<u64>().ok() != Some(sent.transactions) {
            return Err(n.refuse(
                ReadErrorKind::ControlSum,
                format!(
                    "{} transactions, but file {} carried {}",
                    n.text, sent.message_id, sent.transactions
                ),
            ));
        }
    }
    if let Some(sum) = original.child("OrgnlCtrlSum") {
        if Money::from_str(&sum.text).ok() != Some(sent.control_sum) {
            return Err(sum.refuse(
                ReadErrorKind::ControlSum,
                format!(
                    "{}, but file {} summed to {}",
                    sum.text, sent.message_id, sent.control_sum
                ),
            ));
        }
    }
    Ok(sent)
}

/// A group or block rejected whole without its transactions cannot be
/// matched debit by debit.
///
/// Decision: such a report is refused rather than expanded to every debit of
/// the file sent: the file as a whole never reached the payers, so no debit
/// is unpaid; the operator corrects the file and presents it again.
fn whole_rejections(
    report: &Element,
    original: &Element,
    no_transactions: bool,
) -> Result<(), ReadError> {
    let group = original.child("GrpSts").filter(|s| s.text == "RJCT");
    if let (Some(g), true) = (group, no_transactions) {
        return Err(g.refuse(
            ReadErrorKind::Schema,
            "the whole file was rejected: no debit reached a payer; correct the file and present it again",
        ));
    }
    for block in report.children_named("OrgnlPmtInfAndSts") {
        let rejected = block.child("PmtInfSts").filter(|s| s.text == "RJCT");
        if let (Some(s), None) = (rejected, block.child("TxInfAndSts")) {
            return Err(s.refuse(
                ReadErrorKind::Schema,
                "a whole payment block was rejected without its transactions: correct it and present it again",
            ));
        }
    }
    Ok(())
}

/// One `RJCT` transaction of a status report.
fn rejected(
    node: &Element,
    tx: &sepa::TransactionStatus,
    ctx: &ReadContext<'_>,
) -> Result<Returned, ReadError> {
    let id = node.required(
        &["OrgnlEndToEndId"],
        "a rejection is matched to its debit by end-to-end id",
    )?;
    debug_assert_eq!(id.text, tx.original_end_to_end_id);
    let (code, code_known) = reason(
        node.required(&["StsRsnInf", "Rsn"], "the reason of the rejection")?,
        ctx,
    )?;
    let amt = node.required(&["OrgnlTxRef", "Amt", "InstdAmt"], "the amount rejected")?;
    let amount = amount(amt)?;
    if tx.original_amount_ct.map(money) != Some(amount) {
        return Err(amt.refuse(
            ReadErrorKind::Schema,
            format!("{:?} is not an amount in euros", amt.text),
        ));
    }
    if let Some(iban) = node.at(&["OrgnlTxRef", "CdtrAcct", "Id", "IBAN"]) {
        other_creditor_account(iban, ctx.creditor)?;
    }
    let scheme = ["OrgnlTxRef", "CdtrSchmeId", "Id", "PrvtId", "Othr", "Id"];
    if let Some(ci) = node.at(&scheme) {
        other_creditor_id(ci, ctx.creditor)?;
    }
    Ok(Returned {
        end_to_end_id: id.text.clone(),
        amount,
        reason_code: code,
        kind: ReturnKind::Reject,
        line: node.line,
        code_known,
    })
}

/// A status report cannot reject more debits, or more money, than its file
/// carried.
fn check_within(
    returned: &[Returned],
    sent: &FileSummary,
    original: &Element,
) -> Result<(), ReadError> {
    let sum: Money = returned.iter().map(|r| r.amount).sum();
    if returned.len() as u64 > sent.transactions || sum > sent.control_sum {
        return Err(original.refuse(
            ReadErrorKind::ControlSum,
            format!(
                "{} rejections of {sum} in all, but file {} carried {} debits of {}",
                returned.len(),
                sent.message_id,
                sent.transactions,
                sent.control_sum
            ),
        ));
    }
    Ok(())
}

/// The returns of one camt.054 entry, pushed onto `out`; the count of its
/// transactions that are not returns.
fn entry_returns(
    ntry: &Element,
    entry: &sepa::CashEntry,
    ctx: &ReadContext<'_>,
    out: &mut Vec<Returned>,
) -> Result<u64, ReadError> {
    let parent = ntry.child("NtryDtls").unwrap_or(ntry);
    let details: Vec<&Element> = parent.children_named("TxDtls").collect();
    let has_return = details.iter().any(|d| d.child("RtrInf").is_some());
    if entry.indicator == sepa::CreditDebitIndicator::Credit {
        if has_return {
            return Err(ntry.refuse(
                ReadErrorKind::Schema,
                "a returned credit transfer (a refund sent back by the payee's bank): not handled yet, \
                 settle it by hand",
            ));
        }
        return Ok(details.len().max(1) as u64);
    }
    if details.is_empty() {
        return Err(ntry.refuse(
            ReadErrorKind::Schema,
            "a debit of the creditor's account without TxDtls: a return is matched by its end-to-end id",
        ));
    }
    let entry_amount = money(entry.amount_ct);
    let kind_of = |code: ReasonCode| kind(ntry, code);
    let mut sum = Money::ZERO;
    for td in &details {
        let id = td.required(
            &["Refs", "EndToEndId"],
            "a return is matched to its debit by end-to-end id",
        )?;
        let (code, code_known) =
            reason(td.required(&["RtrInf", "Rsn"], "the return reason")?, ctx)?;
        let amount = match td.child("Amt") {
            Some(a) => amount(a)?,
            None if details.len() == 1 => entry_amount,
            None => {
                return Err(td.refuse(
                    ReadErrorKind::Schema,
                    "Amt missing: a batch entry itemises each amount",
                ))
            }
        };
        if let Some(ci) = td.at(&["RltdPties", "Cdtr", "Pty", "Id", "PrvtId", "Othr", "Id"]) {
            other_creditor_id(ci, ctx.creditor)?;
        }
        sum += amount;
        out.push(Returned {
            end_to_end_id: id.text.clone(),
            amount,
            reason_code: code,
            kind: kind_of(code),
            line: td.line,
            code_known,
        });
    }
    check_batch(ntry, parent, entry_amount, sum, details.len())?;
    Ok(0)
}

/// The transactions of an entry sum to its amount, and to its batch's total
/// and count when the bank gives them.
fn check_batch(
    ntry: &Element,
    parent: &Element,
    entry_amount: Money,
    sum: Money,
    n: usize,
) -> Result<(), ReadError> {
    if sum != entry_amount {
        let amt = ntry.child("Amt").unwrap_or(ntry);
        return Err(amt.refuse(
            ReadErrorKind::ControlSum,
            format!("the entry is {entry_amount}, but its transactions sum to {sum}"),
        ));
    }
    let Some(batch) = parent.child("Btch") else {
        return Ok(());
    };
    if let Some(count) = batch.child("NbOfTxs") {
        if count.text.parse::<usize>().ok() != Some(n) {
            return Err(count.refuse(
                ReadErrorKind::ControlSum,
                format!("{}, but the entry has {n} TxDtls", count.text),
            ));
        }
    }
    if let Some(total) = batch.child("TtlAmt") {
        if amount(total)? != sum {
            return Err(total.refuse(
                ReadErrorKind::ControlSum,
                format!("{}, but its transactions sum to {sum}", total.text),
            ));
        }
    }
    Ok(())
}

/// How a camt.054 transaction came back.
///
/// Decision: the bank transaction sub-family `PRDD` (reversal due to payment
/// reversal) is a reversal; the reason `MD06` (the payer's claim within eight
/// weeks) is a refund; any other return reason is a return. Each becomes a
/// rejection of the debit for the ledger (`PAY-REJECT`); the kind is kept for
/// the operator and the audit.
fn kind(ntry: &Element, code: ReasonCode) -> ReturnKind {
    let sub = ntry
        .at(&["BkTxCd", "Domn", "Fmly", "SubFmlyCd"])
        .map(|e| e.text.as_str());
    if sub == Some("PRDD") {
        ReturnKind::Reversal
    } else if code.to_string() == "MD06" {
        ReturnKind::Refund
    } else {
        ReturnKind::Return
    }
}

/// A reason (`Rsn`): its ISO code, and whether the ledger knows it (an
/// unknown one refuses the file unless the context lists them).
fn reason(rsn: &Element, ctx: &ReadContext<'_>) -> Result<(ReasonCode, bool), ReadError> {
    let Some(cd) = rsn.child("Cd") else {
        return Err(rsn.refuse(
            ReadErrorKind::ReasonCode,
            "a proprietary reason (Prtry) cannot be classified payer or technical (TAR-REJECT-FEE): \
             the bank must send an ISO code (Cd)",
        ));
    };
    let code = ReasonCode::from_str(&cd.text)
        .map_err(|e| cd.refuse(ReadErrorKind::Schema, e.to_string()))?;
    let known = ctx.known_codes.contains(&code);
    if !known && ctx.unknown_codes == UnknownCodes::Refuse {
        return Err(cd.refuse(
            ReadErrorKind::ReasonCode,
            format!("{code} is not a reason code the ledger knows: publish it in the reason codes first"),
        ));
    }
    Ok((code, known))
}

/// An amount element: euros, two decimals at most, strictly positive.
fn amount(el: &Element) -> Result<Money, ReadError> {
    if el.attribute("Ccy") != Some("EUR") {
        return Err(el.refuse(
            ReadErrorKind::Schema,
            format!(
                "currency {:?}: SEPA amounts are in EUR",
                el.attribute("Ccy").unwrap_or("")
            ),
        ));
    }
    match Money::from_str(&el.text) {
        Ok(m) if m.is_positive() => Ok(m),
        _ => Err(el.refuse(
            ReadErrorKind::Schema,
            format!(
                "{:?}: a positive amount in euros with at most two decimals",
                el.text
            ),
        )),
    }
}

fn check_account(ntfctn: &Element, creditor: &Creditor) -> Result<(), ReadError> {
    let iban = ntfctn.required(&["Acct", "Id", "IBAN"], "the account notified")?;
    other_creditor_account(iban, creditor)
}

fn other_creditor_account(iban: &Element, creditor: &Creditor) -> Result<(), ReadError> {
    if creditor.iban_is(&iban.text) {
        return Ok(());
    }
    Err(iban.refuse(
        ReadErrorKind::Creditor,
        format!(
            "account {} is not the creditor's ({}): a file for another creditor",
            crate::mask_iban(&iban.text),
            creditor.iban_masked()
        ),
    ))
}

fn other_creditor_id(id: &Element, creditor: &Creditor) -> Result<(), ReadError> {
    if creditor.id_is(&id.text) {
        return Ok(());
    }
    Err(id.refuse(
        ReadErrorKind::Creditor,
        format!(
            "creditor identifier {:?} is not ours ({}): a file for another creditor",
            id.text,
            creditor.id()
        ),
    ))
}
