//! The files of a month of a million direct debits: building the pain.008
//! collection file, and reading back the bank's pain.002 status report and
//! camt.054 notification on it, each beside its reference in the same run,
//! alternately, the least time of several rounds kept:
//!
//! - the pain.008 build (`CollectionFile::build`: the `sepa` builder, the
//!   rulebook's checks, the sort, the SHA-256) against serializing the same
//!   debit records as JSON with serde_json (the cost of writing the records at
//!   all);
//! - each import (`read_status_report`, `read_notification`: the `sepa`
//!   reader, the located second reading, every check) against reading the same
//!   file with the XML parser alone (quick-xml's events, nothing kept).
//!
//! Each phase's peak resident memory is measured on its own: the kernel's
//! peak (`VmHWM`) is reset before it (`/proc/self/clear_refs`) and read after
//! it, with the month's debits and the files already in memory counted in.
//!
//! `cargo bench -p navigo-bank --bench month_files` (debits:
//! `NAVIGO_BENCH_DEBITS`, default 1,000,000; rounds: `NAVIGO_BENCH_ROUNDS`,
//! default 3; a reject in `NAVIGO_BENCH_REJECT_EVERY` debits, default 50, and
//! a return in twice as many).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use navigo_bank::{
    read_notification, read_status_report, CollectionFile, CollectionInput, ReadContext,
    UnknownCodes,
};
use navigo_events_schema::types::Money;
use serde::Serialize;
use support::{creditor, creditor_iban, known_codes, month, notification, status_report, Back};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A debit as plain data: the reference writes the same fields the file
/// carries, as JSON.
#[derive(Serialize)]
struct DebitRecord<'a> {
    end_to_end_id: &'a str,
    amount: Money,
    mandate_reference: &'a str,
    mandate_signed_on: chrono::NaiveDate,
    first: bool,
    previous_mandate_reference: Option<&'a str>,
    debtor_account_changed: bool,
    debtor_name: &'a str,
    debtor_iban: &'a str,
    debtor_bic: Option<&'a str>,
    remittance: &'a str,
}

fn records(input: &CollectionInput) -> Vec<DebitRecord<'_>> {
    input
        .debits
        .iter()
        .map(|d| DebitRecord {
            end_to_end_id: &d.end_to_end_id,
            amount: d.amount,
            mandate_reference: &d.mandate_reference,
            mandate_signed_on: d.mandate_signed_on,
            first: d.sequence == navigo_bank::SequenceType::First,
            previous_mandate_reference: d
                .amendment
                .as_ref()
                .and_then(|a| a.previous_mandate_reference.as_deref()),
            debtor_account_changed: d
                .amendment
                .as_ref()
                .is_some_and(|a| a.debtor_account_changed),
            debtor_name: &d.debtor_name,
            debtor_iban: &d.debtor_iban,
            debtor_bic: d.debtor_bic.as_deref(),
            remittance: &d.remittance,
        })
        .collect()
}

/// Resets the process's peak resident memory to its current one.
fn reset_peak() {
    // Linux only; where it fails the figure is the process's whole peak,
    // which the print says.
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("the peak resident memory could not be reset: figures are the run's peak");
    }
}

/// The process's peak resident memory since the last reset, MiB.
fn peak_mib() -> f64 {
    status_kib("VmHWM:") / 1024.0
}

fn status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Seconds `f` took, its peak resident memory (MiB) and its result.
fn timed<T>(f: impl FnOnce() -> T) -> (f64, f64, T) {
    reset_peak();
    let t = Instant::now();
    let out = f();
    (t.elapsed().as_secs_f64(), peak_mib(), out)
}

/// Reads `xml` with quick-xml alone: every event, nothing kept; how many
/// elements.
fn parse_only(xml: &[u8]) -> u64 {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut elements = 0u64;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(_) | quick_xml::events::Event::Empty(_) => {
                elements += 1;
            }
            quick_xml::events::Event::Eof => return elements,
            _ => {}
        }
    }
}

/// The least of each side of a pair measured alternately.
struct Pair {
    name: &'static str,
    reference: &'static str,
    best: (f64, f64),
    peak: (f64, f64),
    ratios: Vec<f64>,
}

impl Pair {
    fn new(name: &'static str, reference: &'static str) -> Pair {
        Pair {
            name,
            reference,
            best: (f64::MAX, f64::MAX),
            peak: (0.0, 0.0),
            ratios: Vec::new(),
        }
    }

    fn round(
        &mut self,
        round: u64,
        (figure, figure_peak): (f64, f64),
        (refr, refr_peak): (f64, f64),
    ) {
        println!(
            "round {round} {}: {figure:.3} s (peak {figure_peak:.0} MiB); {}: {refr:.3} s (peak \
             {refr_peak:.0} MiB); ratio {:.2}; load {}",
            self.name,
            self.reference,
            figure / refr,
            load_average()
        );
        self.best = (self.best.0.min(figure), self.best.1.min(refr));
        self.peak = (self.peak.0.max(figure_peak), self.peak.1.max(refr_peak));
        self.ratios.push(figure / refr);
    }

    fn print(&self, unit: &str, count: u64) {
        let (f, r) = self.best;
        let ratios: Vec<String> = self.ratios.iter().map(|x| format!("{x:.2}")).collect();
        println!(
            "{}: {f:.3} s = {:.0} {unit}/s, peak {:.0} MiB; {}: {r:.3} s = {:.0} {unit}/s, peak \
             {:.0} MiB; ratio of the least {:.2} (rounds {})",
            self.name,
            count as f64 / f,
            self.peak.0,
            self.reference,
            count as f64 / r,
            self.peak.1,
            f / r,
            ratios.join(", ")
        );
    }
}

fn main() {
    let n = env_or("NAVIGO_BENCH_DEBITS", 1_000_000);
    let rounds = env_or("NAVIGO_BENCH_ROUNDS", 3).max(1);
    let every = env_or("NAVIGO_BENCH_REJECT_EVERY", 50).max(1);
    println!(
        "{n} debits, {rounds} rounds, a reject in {every}, a return in {}; RSS before {:.0} MiB; \
         load {}",
        every * 2,
        status_kib("VmRSS:") / 1024.0,
        load_average()
    );
    let input = month(n);
    let records = records(&input);
    println!(
        "the month's debits generated: RSS {:.0} MiB",
        status_kib("VmRSS:") / 1024.0
    );

    let mut build = Pair::new("pain.008 build", "serde_json of the same records");
    let mut file = None;
    for round in 1..=rounds {
        let (t, p, built) = timed(|| CollectionFile::build(&input).expect("the month's file"));
        let (rt, rp, json) = timed(|| serde_json::to_vec(&records).expect("JSON"));
        assert!(!json.is_empty());
        drop(json);
        build.round(round, (t, p), (rt, rp));
        file = Some(built);
    }
    let file = file.expect("one round at least");
    println!(
        "pain.008: {} bytes ({:.0} B a debit)",
        file.bytes.len(),
        file.bytes.len() as f64 / n as f64
    );

    let codes = known_codes();
    let picked = ["AM04", "MD06", "MS02", "AC04"];
    let back = |i: u64| Back {
        end_to_end_id: input.debits[i as usize].end_to_end_id.clone(),
        amount: input.debits[i as usize].amount,
        code: picked[(i / every) as usize % picked.len()],
    };
    let rejects: Vec<Back> = (0..n).step_by(every as usize).map(back).collect();
    let returns: Vec<Back> = (1..n).step_by(2 * every as usize).map(back).collect();
    let report = status_report(&file.summary, &creditor_iban(), &rejects).into_bytes();
    let collected = file.summary.control_sum;
    let notice = notification(&creditor_iban(), &returns, &[], collected).into_bytes();
    println!(
        "pain.002: {} rejects, {} bytes; camt.054: {} returns, {} bytes",
        rejects.len(),
        report.len(),
        returns.len(),
        notice.len()
    );
    let creditor = creditor();
    let sent = [file.summary.clone()];
    let ctx = ReadContext {
        creditor: &creditor,
        sent: &sent,
        known_codes: &codes,
        unknown_codes: UnknownCodes::Refuse,
    };
    let mut status = Pair::new("pain.002 import", "quick-xml alone");
    let mut notified = Pair::new("camt.054 import", "quick-xml alone");
    for round in 1..=rounds {
        let (t, p, read) = timed(|| read_status_report(&report, &ctx).expect("the report"));
        assert_eq!(read.returned.len(), rejects.len());
        let (rt, rp, elements) = timed(|| parse_only(&report));
        assert!(elements > 0);
        status.round(round, (t, p), (rt, rp));
        let (t, p, read) = timed(|| read_notification(&notice, &ctx).expect("the notification"));
        assert_eq!(read.returned.len(), returns.len());
        let (rt, rp, elements) = timed(|| parse_only(&notice));
        assert!(elements > 0);
        notified.round(round, (t, p), (rt, rp));
    }
    build.print("debits", n);
    status.print("rejects", rejects.len() as u64);
    notified.print("returns", returns.len() as u64);
    println!("load average after: {}", load_average());
}
