//! The files the bank sends back: pain.002 status reports and camt.054
//! notifications built from a generated collection (and checked against the
//! official XSDs) read back to the right end-to-end ids, amounts and codes;
//! every bad file is refused whole, naming its element and line.

mod support;

use navigo_bank::{
    read_notification, read_status_report, CollectionFile, FileSummary, ReadContext, ReadError,
    ReadErrorKind, ReturnKind,
};
use navigo_events_schema::types::{Money, ReasonCode};
use support::*;

struct Fixture {
    creditor: navigo_bank::Creditor,
    sent: Vec<FileSummary>,
    codes: Vec<ReasonCode>,
    file: CollectionFile,
    input: navigo_bank::CollectionInput,
}

fn fixture() -> Fixture {
    let input = month(80);
    let file = CollectionFile::build(&input).unwrap();
    Fixture {
        creditor: creditor(),
        sent: vec![file.summary.clone()],
        codes: known_codes(),
        file,
        input,
    }
}

impl Fixture {
    fn ctx(&self) -> ReadContext<'_> {
        ReadContext {
            creditor: &self.creditor,
            sent: &self.sent,
            known_codes: &self.codes,
            unknown_codes: navigo_bank::UnknownCodes::Refuse,
        }
    }

    /// Debit `i` of the collection coming back with `code`.
    fn back(&self, i: usize, code: &'static str) -> Back {
        let d = &self.input.debits[i];
        Back {
            end_to_end_id: d.end_to_end_id.clone(),
            amount: d.amount,
            code,
        }
    }

    fn rejects(&self) -> Vec<Back> {
        vec![
            self.back(3, "AM04"),
            self.back(17, "MD07"),
            self.back(40, "AC04"),
            self.back(41, "MS02"),
        ]
    }

    fn report(&self) -> String {
        status_report(&self.file.summary, &creditor_iban(), &self.rejects())
    }

    fn notification(&self) -> String {
        let returns = [
            self.back(5, "AM04"),
            self.back(6, "MD06"),
            self.back(9, "AC01"),
        ];
        let reversals = [self.back(12, "MS02")];
        notification(
            &creditor_iban(),
            &returns,
            &reversals,
            self.file.summary.control_sum,
        )
    }

    fn refused_report(&self, xml: &str) -> ReadError {
        read_status_report(xml.as_bytes(), &self.ctx()).expect_err("refused")
    }

    fn refused_notification(&self, xml: &str) -> ReadError {
        read_notification(xml.as_bytes(), &self.ctx()).expect_err("refused")
    }
}

fn line_of(xml: &str, needle: &str) -> u32 {
    let at = xml
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in the fixture"));
    u32::try_from(xml[..at].matches('\n').count()).unwrap() + 1
}

#[test]
fn pay_reject_status_report_reads_back_end_to_end_ids_amounts_and_codes() {
    let f = fixture();
    let xml = f.report();
    assert_valid("pain.002.001.11.xsd", xml.as_bytes());
    let read = read_status_report(xml.as_bytes(), &f.ctx()).expect("a good report");
    assert_eq!(read.message_id, "BNP-STS-0001");
    assert_eq!(read.other_transactions, 0);
    let got: Vec<(String, Money, String, ReturnKind)> = read
        .returned
        .iter()
        .map(|r| {
            (
                r.end_to_end_id.clone(),
                r.amount,
                r.reason_code.to_string(),
                r.kind,
            )
        })
        .collect();
    let want: Vec<(String, Money, String, ReturnKind)> = f
        .rejects()
        .into_iter()
        .map(|b| {
            (
                b.end_to_end_id,
                b.amount,
                b.code.to_owned(),
                ReturnKind::Reject,
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(read.returned[0].line, line_of(&xml, "<TxInfAndSts>"));
    assert_eq!(read.sha256.len(), 64);
}

#[test]
fn pay_reject_notification_reads_back_returns_refunds_and_reversals() {
    let f = fixture();
    let xml = f.notification();
    assert_valid("camt.054.001.08.xsd", xml.as_bytes());
    let read = read_notification(xml.as_bytes(), &f.ctx()).expect("a good notification");
    let got: Vec<(String, String, ReturnKind)> = read
        .returned
        .iter()
        .map(|r| (r.end_to_end_id.clone(), r.reason_code.to_string(), r.kind))
        .collect();
    let id = |i: usize| f.input.debits[i].end_to_end_id.clone();
    assert_eq!(
        got,
        [
            (id(5), "AM04".to_owned(), ReturnKind::Return),
            (id(6), "MD06".to_owned(), ReturnKind::Refund),
            (id(9), "AC01".to_owned(), ReturnKind::Return),
            (id(12), "MS02".to_owned(), ReturnKind::Reversal),
        ]
    );
    assert_eq!(read.returned[1].amount, f.input.debits[6].amount);
    // The collection's own credit is no return.
    assert_eq!(read.other_transactions, 1);
}

#[test]
fn pay_reject_malformed_file_refused_naming_line() {
    let f = fixture();
    let xml = f.report().replacen("</TxSts>", "</TxStatus>", 1);
    let e = f.refused_report(&xml);
    assert_eq!(e.kind, ReadErrorKind::Malformed, "{e}");
    assert_eq!(e.line, line_of(&xml, "</TxStatus>"), "{e}");
    let cut = &f.notification()[..400];
    let e = f.refused_notification(cut);
    assert_eq!(e.kind, ReadErrorKind::Malformed, "{e}");
}

#[test]
fn pay_reject_schema_violation_refused_naming_element_and_line() {
    let f = fixture();
    // A rejection without the end-to-end id of its debit.
    let report = f.report();
    let first = f.rejects()[0].end_to_end_id.clone();
    let xml = report.replacen(
        &format!("<OrgnlEndToEndId>{first}</OrgnlEndToEndId>"),
        "",
        1,
    );
    assert!(
        xsd_check("pain.002.001.11.xsd", xml.as_bytes()).is_ok(),
        "the XSD allows it"
    );
    let e = f.refused_report(&xml);
    assert_eq!(
        (e.kind, e.element.as_str()),
        (ReadErrorKind::Schema, "TxInfAndSts/OrgnlEndToEndId"),
        "{e}"
    );
    assert_eq!(e.line, line_of(&xml, "<TxInfAndSts>"));
    // An amount that is not one.
    let amount = f.rejects()[1].amount.to_string();
    let xml = report.replacen(&format!(">{amount}</InstdAmt>"), ">12,50</InstdAmt>", 1);
    assert!(xsd_check("pain.002.001.11.xsd", xml.as_bytes()).is_err());
    let e = f.refused_report(&xml);
    assert_eq!(
        (e.kind, e.element.as_str()),
        (ReadErrorKind::Schema, "InstdAmt"),
        "{e}"
    );
    assert_eq!(e.line, line_of(&xml, "12,50"));
    // Another message in the place of a notification.
    let e = f.refused_notification(&report);
    assert_eq!(
        (e.kind, e.element.as_str(), e.line),
        (ReadErrorKind::Schema, "Document", 2),
        "{e}"
    );
}

#[test]
fn pay_reject_wrong_control_sum_refused_naming_element_and_line() {
    let f = fixture();
    let report = f.report();
    let sum = f.file.summary.control_sum.to_string();
    let xml = report.replacen(
        &format!("<OrgnlCtrlSum>{sum}</OrgnlCtrlSum>"),
        "<OrgnlCtrlSum>1.00</OrgnlCtrlSum>",
        1,
    );
    let e = f.refused_report(&xml);
    assert_eq!(
        (e.kind, e.element.as_str()),
        (ReadErrorKind::ControlSum, "OrgnlCtrlSum"),
        "{e}"
    );
    assert_eq!(e.line, line_of(&xml, "<OrgnlCtrlSum>"));
    // A batch whose transactions do not sum to its total.
    let notification = f.notification();
    let first = f.back(5, "AM04").amount.to_string();
    let needle = format!("<Amt Ccy=\"EUR\">{first}</Amt>\n            <RtrInf>");
    assert!(notification.contains(&needle));
    let xml = notification.replacen(
        &needle,
        "<Amt Ccy=\"EUR\">0.01</Amt>\n            <RtrInf>",
        1,
    );
    assert_valid("camt.054.001.08.xsd", xml.as_bytes());
    let e = f.refused_notification(&xml);
    assert_eq!(e.kind, ReadErrorKind::ControlSum, "{e}");
}

#[test]
fn pay_reject_file_of_another_creditor_refused_naming_element_and_line() {
    let f = fixture();
    let xml = notification(
        &other_creditor_iban(),
        &[f.back(5, "AM04")],
        &[],
        Money::from_cents(100),
    );
    let e = f.refused_notification(&xml);
    assert_eq!(
        (e.kind, e.element.as_str()),
        (ReadErrorKind::Creditor, "IBAN"),
        "{e}"
    );
    // The account's IBAN is the first IBAN of a notification.
    assert_eq!(e.line, line_of(&xml, "<IBAN>"));
    assert!(
        !e.to_string().contains(&other_creditor_iban()),
        "masked: {e}"
    );
    let xml = status_report(&f.file.summary, &other_creditor_iban(), &f.rejects());
    let e = f.refused_report(&xml);
    assert_eq!(e.kind, ReadErrorKind::Creditor, "{e}");
    // The first rejection's creditor account holds the first IBAN.
    assert_eq!(e.line, line_of(&xml, "<IBAN>"));
}

#[test]
fn pay_reject_report_on_a_file_never_sent_refused() {
    let f = fixture();
    let mut other = f.file.summary.clone();
    other.message_id = "SOMEONE-ELSES-FILE".to_owned();
    let xml = status_report(&other, &creditor_iban(), &f.rejects());
    let e = f.refused_report(&xml);
    assert_eq!(
        (e.kind, e.element.as_str()),
        (ReadErrorKind::UnknownMessage, "OrgnlMsgId"),
        "{e}"
    );
    assert_eq!(e.line, line_of(&xml, "<OrgnlMsgId>"));
}

#[test]
fn tar_reject_fee_unknown_reason_code_refused_naming_element_and_line() {
    let f = fixture();
    let mut rejects = f.rejects();
    rejects[2].code = "ZZ99";
    let xml = status_report(&f.file.summary, &creditor_iban(), &rejects);
    assert_valid("pain.002.001.11.xsd", xml.as_bytes());
    let e = f.refused_report(&xml);
    assert_eq!(
        (e.kind, e.element.as_str()),
        (ReadErrorKind::ReasonCode, "Cd"),
        "{e}"
    );
    assert_eq!(e.line, line_of(&xml, "<Cd>ZZ99</Cd>"));
    let xml = notification(
        &creditor_iban(),
        &[f.back(5, "ZZ99")],
        &[],
        Money::from_cents(100),
    );
    let e = f.refused_notification(&xml);
    assert_eq!(
        (e.kind, e.line),
        (ReadErrorKind::ReasonCode, line_of(&xml, "<Cd>ZZ99</Cd>")),
        "{e}"
    );
}

#[test]
fn tar_reject_fee_unknown_reason_code_listed_per_line_when_the_caller_decides() {
    // Given a status report whose third rejection carries a code nobody knows
    let f = fixture();
    let mut rejects = f.rejects();
    rejects[2].code = "ZZ99";
    let xml = status_report(&f.file.summary, &creditor_iban(), &rejects);
    // When it is read by a caller that lets an operator decide on such lines
    let ctx = ReadContext {
        unknown_codes: navigo_bank::UnknownCodes::List,
        ..f.ctx()
    };
    let read = read_status_report(xml.as_bytes(), &ctx).expect("the file is read");
    // Then every rejection is returned, the unknown one flagged with its line
    assert_eq!(read.returned.len(), rejects.len());
    let unknown: Vec<_> = read.returned.iter().filter(|r| !r.code_known).collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].end_to_end_id, rejects[2].end_to_end_id);
    let id_at = xml.find(&rejects[2].end_to_end_id).unwrap();
    let tx_at = xml[..id_at].rfind("<TxInfAndSts>").unwrap();
    let tx_line = u32::try_from(xml[..tx_at].matches('\n').count()).unwrap() + 1;
    assert_eq!(unknown[0].line, tx_line);
}
