//! The files the ledger exchanges with its bank: the collection file of a
//! collection date built from the debits the billing clock presented
//! ([`collect`]), and the bank's status reports and notifications read back
//! into rejections ([`import`]). Each file's evidence is an event of the bank
//! stream ([`StreamId::bank`]).
//!
//! Decision ("presented for D"): a debit belongs to the collection of date D
//! when its `DebitPresented` is effective on D. The billing clock records a
//! debit on its debit date (`PAY-DEBIT-DAY`: the payer's day of the month,
//! moved by the calendar), which is the date the bank is asked to collect.
//!
//! Decision (where the debits are read): from the contract states the ledger
//! keeps (their presented debits, indexed by month, each with its date and
//! event id), walked a chunk at a time ([`Ledger::walk_states`]), not from the
//! log. The materialized `debits` list is the debit *calendar* as of the day
//! the projections were last rebuilt: it may be behind the log, and a file
//! built from it could miss a debit the clock presented since; a collection
//! file must hold every presented debit exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use navigo_bank::{
    debit_end_to_end_id, debit_event_of, Amendment, CollectionFile, CollectionInput, Creditor,
    Debit, FileSummary, ReadContext, ReturnFile, SequenceType, UnknownCodes,
};
use navigo_events_schema::command::RecordDebitRejected;
use navigo_events_schema::event::{
    BankFileImported, BankFileKind, CollectionFileIssued, IssuedDebit, SkippedLine,
};
use navigo_events_schema::mandate::{Mandate, MandateDebtor};
use navigo_events_schema::types::{Actor, ActorRole, Money, ReasonCode};
use navigo_events_schema::{
    Command, CommandEnvelope, Envelope, Event, NewEvent, StreamId, YearMonth,
};
use navigo_ledger_core::{ClockMode, Ledger, LedgerError, StateRef};
use navigo_rules::contract::collection::{Presentation, SequenceType as RuleSequence};
use navigo_rules::contract::state::{ContractState, DebitRecord};
use navigo_store::{EventStore, StoreError};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use super::bank_parts::Recording;
use super::bank_parts::{self, bank_event, FileId, PendingParts};
use super::error::BadInput;
use super::keystore::KeyStore;
use super::sealing;
use super::store::AnyStore;

/// What the idempotency key of a collection file starts with; the date
/// follows, so that a date is collected once.
pub const COLLECT_KEY_PREFIX: &str = "bank-collect:";
/// What the idempotency key of an imported file starts with; the file's
/// SHA-256 follows, so that a file is imported once.
pub const IMPORT_KEY_PREFIX: &str = "bank-import:";
/// The actor id of a collection file's events.
const COLLECT_ACTOR_ID: &str = "bank-collect";
/// Contract states paged in at a time by a walk for the debits of a date.
const WALK_STATES_PER_CHUNK: usize = 10_000;

/// A debit presented on the collection date, with its contract.
#[derive(Debug, Clone)]
struct Presented {
    contract_id: Uuid,
    event_id: Uuid,
    month: YearMonth,
    amount: Money,
    recorded_at: DateTime<Utc>,
    /// The mandate it is collected under, sealed as the state holds it, and
    /// how it was presented; or why it cannot be collected.
    collection: Result<(Mandate, Presentation), String>,
}

/// A collection file built, and whether its event was appended now.
#[derive(Debug)]
pub struct Collected {
    /// The file.
    pub file: CollectionFile,
    /// Its event.
    pub issued: CollectionFileIssued,
    /// False when the same file was issued before (nothing appended).
    pub appended: bool,
}

/// Every debit presented for `date`, by event id.
async fn presented_on(
    ledger: &mut Ledger<AnyStore>,
    date: NaiveDate,
) -> Result<Vec<Presented>, LedgerError> {
    let mut by_date = presented_between(ledger, date.pred_opt(), date).await?;
    Ok(by_date.remove(&date).unwrap_or_default())
}

/// Every debit presented for a date after `after` (when given) and through
/// `through`, by date, each date's by event id: one walk of the states.
async fn presented_between(
    ledger: &mut Ledger<AnyStore>,
    after: Option<NaiveDate>,
    through: NaiveDate,
) -> Result<BTreeMap<NaiveDate, Vec<Presented>>, LedgerError> {
    let mut out: BTreeMap<NaiveDate, Vec<Presented>> = BTreeMap::new();
    let within = |d: NaiveDate| d <= through && after.is_none_or(|a| d > a);
    ledger
        .walk_states(WALK_STATES_PER_CHUNK, |stream, _, state| {
            let StateRef::Contract(c) = state else { return };
            for (month, d) in &c.debits {
                if within(d.date) {
                    out.entry(d.date).or_default().push(Presented {
                        contract_id: stream.id,
                        event_id: d.event_id,
                        month: *month,
                        amount: d.amount,
                        recorded_at: d.recorded_at,
                        collection: collection_of(c, d).map_err(|why| {
                            format!("contract {} (debit of {month}): {why}", stream.id)
                        }),
                    });
                }
            }
        })
        .await?;
    for debits in out.values_mut() {
        debits.sort_by_key(|p| p.event_id);
    }
    Ok(out)
}

/// The mandate a debit of contract `c` is collected under, and how the debit
/// was presented: the sequence type and amendment were decided as the debit
/// was presented (`PAY-MANDATE-SEQUENCE`, `PAY-MANDATE-AMENDMENT`; the
/// debit changed both for the contract). Decision: the mandate is the one the
/// contract holds now for the debit's month; a change of mandate or payer
/// takes effect from a later month than a debit already presented
/// (`PAY-CUTOFF`), so it is the mandate the debit was presented under.
fn collection_of(c: &ContractState, d: &DebitRecord) -> Result<(Mandate, Presentation), String> {
    let none = || {
        format!(
            "no mandate in force on {} (PAY-METHOD): record the payer's SEPA mandate \
             (ChangeMandate) or take the debit out with an annulment",
            d.date
        )
    };
    let presented = d.presented_as.clone().ok_or_else(none)?;
    let m = c.collection_mandate(d.date).ok_or_else(none)?;
    Ok((m.mandate, presented))
}

/// The debit of the file, or why the contract cannot be collected; the
/// mandate's account opened with `keys`.
///
/// # Errors
/// A key store that lost a payer's key, or an account that does not open.
fn debit_of(p: &Presented, keys: Option<&KeyStore>) -> Result<Result<Debit, String>, StoreError> {
    let contract = format!("contract {} (debit of {})", p.contract_id, p.month);
    let (mandate, presented) = match &p.collection {
        Ok(c) => c,
        Err(why) => return Ok(Err(why.clone())),
    };
    let mut mandate = mandate.clone();
    if let Some(keys) = keys {
        sealing::open_mandate(keys, &mut mandate)?;
    }
    let account = match mandate.debtor.value() {
        Some(MandateDebtor::Account(a)) => a.clone(),
        Some(MandateDebtor::Legacy(_)) => {
            return Ok(Err(format!(
                "{contract}: mandate {} is a legacy one with no IBAN: record the payer's account \
                 (ChangeMandate with the IBAN, the holder's name and the signature date)",
                mandate.reference
            )))
        }
        None => {
            return Ok(Err(format!(
                "{contract}: the payer's account under mandate {} cannot be opened (the payer's \
                 personal data is erased): a new payer's mandate (ChangePayer) is needed",
                mandate.reference
            )))
        }
    };
    let Some(signed_on) = mandate.signed_on else {
        return Ok(Err(format!(
            "{contract}: mandate {} has no signature date: record it (ChangeMandate)",
            mandate.reference
        )));
    };
    Ok(Ok(Debit {
        end_to_end_id: debit_end_to_end_id(p.event_id),
        amount: p.amount,
        mandate_reference: mandate.reference.clone(),
        mandate_signed_on: signed_on,
        sequence: match presented.sequence {
            RuleSequence::First => SequenceType::First,
            RuleSequence::Recurrent => SequenceType::Recurring,
        },
        amendment: presented.amended().then(|| Amendment {
            previous_mandate_reference: presented.amended_from_reference.clone(),
            debtor_account_changed: presented.amended_debtor,
        }),
        debtor_name: account.holder_name.as_str().to_owned(),
        debtor_iban: account.iban.as_str().to_owned(),
        debtor_bic: account.bic.map(|b| b.as_str().to_owned()),
        remittance: format!("Navigo Annuel {}", p.month),
    }))
}

/// The message id of the collection file of `date`: one file a date.
pub fn collection_message_id(date: NaiveDate) -> String {
    format!("NVCOLL{}", date.format("%Y%m%d"))
}

/// Every event of the bank stream.
pub(super) async fn bank_events(ledger: &Ledger<AnyStore>) -> Result<Vec<Envelope>, LedgerError> {
    let stream = StreamId::bank();
    let version = ledger.store().stream_version(stream).await?;
    if version == 0 {
        return Ok(Vec::new());
    }
    Ok(ledger.store().read_stream(stream, 1..=version).await?)
}

/// Builds the collection file of `date` and records it.
///
/// # Errors
/// No debit presented on `date`; debits that cannot be collected (each named
/// with its contract and what would make it collectable); a file issued
/// before for `date` whose debits differ from today's; the store.
pub async fn collect(
    ledger: &mut Ledger<AnyStore>,
    creditor: &Creditor,
    date: NaiveDate,
) -> anyhow::Result<Collected> {
    let presented = presented_on(ledger, date).await?;
    let mut book = BankBook::default();
    collect_presented(ledger, &mut book, creditor, date, presented, Recording::Now).await
}

/// The collection files of every date after `after` (when given) through
/// `through` the billing clock presented debits for, built and recorded as
/// [`collect`] does one, with what the bank stream holds kept in `book`.
///
/// # Errors
/// As [`collect`] (a date without debits is not collected).
pub async fn collect_through(
    ledger: &mut Ledger<AnyStore>,
    book: &mut BankBook,
    creditor: &Creditor,
    after: Option<NaiveDate>,
    through: NaiveDate,
    recording: Recording,
) -> anyhow::Result<Vec<Collected>> {
    let mut out = Vec::new();
    for (date, presented) in presented_between(ledger, after, through).await? {
        out.push(collect_presented(ledger, book, creditor, date, presented, recording).await?);
    }
    Ok(out)
}

async fn collect_presented(
    ledger: &mut Ledger<AnyStore>,
    book: &mut BankBook,
    creditor: &Creditor,
    date: NaiveDate,
    presented: Vec<Presented>,
    recording: Recording,
) -> anyhow::Result<Collected> {
    if presented.is_empty() {
        return Err(anyhow::anyhow!(
            "no debit is presented for {date}: run the billing clock through it first \
             (`navigo-ledger advance --to {date}`); nothing was written"
        ));
    }
    let mut debits = Vec::with_capacity(presented.len());
    let mut refused = Vec::new();
    let keys = ledger.store().keys().cloned();
    for p in &presented {
        match debit_of(p, keys.as_deref())? {
            Ok(d) => debits.push(d),
            Err(why) => refused.push(why),
        }
    }
    let created_at = presented
        .iter()
        .map(|p| p.recorded_at)
        .max()
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    if !refused.is_empty() {
        return Err(anyhow::anyhow!(
            "{} of {} debits of {date} cannot be collected; nothing was written:\n  {}",
            refused.len(),
            presented.len(),
            refused.join("\n  ")
        ));
    }
    let input = CollectionInput {
        message_id: collection_message_id(date),
        // Decision: the creation instant is the latest instant a debit of the
        // file was recorded at, so that the same date gives the same bytes.
        created_at,
        creditor: creditor.clone(),
        collection_date: date,
        debits,
    };
    let file = CollectionFile::build(&input).map_err(|e| BadInput(format!("{date}: {e}")))?;
    let listed = presented
        .iter()
        .map(|p| IssuedDebit {
            debit_event_id: p.event_id,
            contract_id: p.contract_id,
            amount: p.amount,
        })
        .collect();
    let (parts, last) = bank_parts::split(listed);
    let issued = CollectionFileIssued {
        collection_date: date,
        message_id: file.summary.message_id.clone(),
        count: file.summary.transactions,
        control_sum: file.summary.control_sum,
        sha256: file.summary.sha256.clone(),
        creditor_id: creditor.id().to_owned(),
        creditor_iban_masked: creditor.iban_masked(),
        debits: last,
        parts: u32::try_from(parts.len())?,
    };
    let appended = record_issued(ledger, book, &issued, parts, recording).await?;
    Ok(Collected {
        file,
        issued,
        appended,
    })
}

/// Appends the file's parts and event unless the same file was issued
/// before; refuses a date issued before with other debits.
async fn record_issued(
    ledger: &mut Ledger<AnyStore>,
    book: &mut BankBook,
    issued: &CollectionFileIssued,
    parts: Vec<Vec<IssuedDebit>>,
    recording: Recording,
) -> anyhow::Result<bool> {
    let date = issued.collection_date;
    book.refresh(ledger).await?;
    if let Some((before, position)) = book.issued.get(&date) {
        {
            if before.sha256 == issued.sha256 {
                return Ok(false);
            }
            return Err(anyhow::anyhow!(
                "the collection file of {date} was issued already (message {}, {} debits, {} EUR, \
                 recorded at position {}), and the debits presented for {date} have changed since \
                 ({} debits, {} EUR now): a file sent to the bank is not sent again; correct the \
                 debits that changed by rejections or refunds; nothing was written",
                before.message_id,
                before.transactions,
                before.control_sum,
                position,
                issued.count,
                issued.control_sum
            ));
        }
    }
    let key = format!("{COLLECT_KEY_PREFIX}{date}");
    let file = FileId {
        key: &key,
        message_id: &issued.message_id,
        sha256: &issued.sha256,
    };
    let event = |key: &str, e: Event| bank_event(key, date, COLLECT_ACTOR_ID, e);
    let mut appended = bank_parts::append_parts(ledger, &file, parts, event, recording).await?;
    let event = event(&key, Event::CollectionFileIssued(issued.clone()));
    appended.extend(bank_parts::append_at(ledger, key, vec![event], recording).await?);
    book.take(&appended)?;
    Ok(true)
}

/// Appends a bank-stream event under its key, then folds it into the
/// ledger's world (its stream version), as the ledger folds what another
/// writer appended, so that the world and its snapshot stay at the head.
pub(super) async fn append_bank(
    ledger: &mut Ledger<AnyStore>,
    key: String,
    event: NewEvent,
) -> Result<(), LedgerError> {
    bank_parts::append_at(ledger, key, vec![event], Recording::Now).await?;
    Ok(())
}

/// What the bank stream holds, read once and then only its new events: the
/// files issued (by date, with their positions), their debits, the files
/// imported. A process that exchanges many files (the demo) reads the stream
/// once rather than once a file.
#[derive(Debug, Default)]
pub struct BankBook {
    version: u64,
    issued: BTreeMap<NaiveDate, (FileSummary, u64)>,
    debits: BTreeMap<Uuid, SentDebit>,
    imported: BTreeMap<String, BankFileImported>,
    parts: PendingParts,
}

impl BankBook {
    /// Reads the bank stream's events this book has not seen.
    ///
    /// # Errors
    /// The store.
    pub async fn refresh(&mut self, ledger: &Ledger<AnyStore>) -> Result<(), LedgerError> {
        let stream = StreamId::bank();
        let version = ledger.store().stream_version(stream).await?;
        if version <= self.version {
            return Ok(());
        }
        let events = ledger
            .store()
            .read_stream(stream, self.version + 1..=version)
            .await?;
        for e in &events {
            self.fold(e)?;
        }
        self.version = version;
        Ok(())
    }

    /// Folds the bank stream's events this process appended or staged
    /// (`appended`, in order), which the store may not hold yet: the events
    /// a book reads from the store start after them.
    fn take(&mut self, appended: &[Envelope]) -> Result<(), StoreError> {
        for e in appended {
            if e.stream_seq > self.version {
                self.fold(e)?;
                self.version = e.stream_seq;
            }
        }
        Ok(())
    }

    fn fold(&mut self, e: &Envelope) -> Result<(), StoreError> {
        match &e.event {
            Event::BankFilePart(p) => self.parts.keep::<IssuedDebit>(p),
            Event::CollectionFileIssued(f) => {
                let summary = FileSummary {
                    message_id: f.message_id.clone(),
                    transactions: f.count,
                    control_sum: f.control_sum,
                    sha256: f.sha256.clone(),
                };
                self.issued
                    .entry(f.collection_date)
                    .or_insert((summary, e.position));
                let listed = (f.count, f.parts, f.debits.as_slice());
                for d in self.parts.list_of(e, &f.sha256, listed)? {
                    self.debits.insert(
                        d.debit_event_id,
                        SentDebit {
                            contract_id: d.contract_id,
                            amount: d.amount,
                        },
                    );
                }
            }
            Event::BankFileImported(f) => {
                self.imported.insert(f.sha256.clone(), f.clone());
            }
            _ => {}
        }
        Ok(())
    }

    /// The summary of the collection file issued for `date`, if any.
    pub fn sent(&self, date: NaiveDate) -> Option<FileSummary> {
        self.issued.get(&date).map(|(f, _)| f.clone())
    }

    fn sent_files(&self) -> Vec<FileSummary> {
        self.issued.values().map(|(f, _)| f.clone()).collect()
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced,
/// renamed over it.
///
/// # Errors
/// The directory cannot be written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| BadInput(format!("--out {}: {e}", path.display())))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Import

/// What an import did.
#[derive(Debug)]
pub struct Imported {
    /// The file's event (the one recorded before, for a file imported twice).
    pub event: BankFileImported,
    /// False when the file was imported before: nothing appended.
    pub appended: bool,
    /// The events each rejection appended, in file order (empty for a file
    /// imported before).
    pub rejection_events: Vec<usize>,
}

/// Why a file is refused: every line named, nothing appended.
#[derive(Debug, thiserror::Error)]
#[error("{} refused, nothing was appended:\n  {}", .file, .problems.join("\n  "))]
pub struct ImportRefused {
    /// The file.
    pub file: String,
    /// Each problem, with its line, element or rule id.
    pub problems: Vec<String>,
}

/// The kind of a bank file, by its namespace.
pub fn file_kind(bytes: &[u8]) -> Option<BankFileKind> {
    let head = &bytes[..bytes.len().min(4096)];
    let has = |s: &str| head.windows(s.len()).any(|w| w == s.as_bytes());
    if has("urn:iso:std:iso:20022:tech:xsd:pain.002.") {
        Some(BankFileKind::StatusReport)
    } else if has("urn:iso:std:iso:20022:tech:xsd:camt.054.") {
        Some(BankFileKind::Notification)
    } else {
        None
    }
}

/// A debit of a file sent, by its event id.
#[derive(Debug)]
struct SentDebit {
    contract_id: Uuid,
    amount: Money,
}

/// A returned transaction matched to its debit.
struct Matched {
    end_to_end_id: String,
    contract_id: Uuid,
    month: YearMonth,
    code: ReasonCode,
}

/// A returned transaction that cannot be recorded as it is.
struct Problem {
    end_to_end_id: String,
    line: u32,
    why: String,
}

impl Problem {
    fn text(&self) -> String {
        format!(
            "line {}, <EndToEndId> {}: {}",
            self.line, self.end_to_end_id, self.why
        )
    }
}

/// An operator's decision on a file refused line by line: import it without
/// the transactions that cannot be recorded.
#[derive(Debug, Clone)]
pub struct OperatorDecision {
    /// Who decided (an agent), recorded as the file's event's actor.
    pub operator: String,
    /// Which refused transactions to leave out.
    pub skip: Skip,
}

/// Which refused transactions an operator leaves out.
#[derive(Debug, Clone)]
pub enum Skip {
    /// Those of these end-to-end ids; each must name a refused transaction.
    Lines(BTreeSet<String>),
    /// Every refused transaction.
    EveryRefused,
}

/// Imports a status report or a notification: all of it or nothing, unless
/// an operator decides to leave out the transactions refused line by line.
///
/// Decision (all or nothing): the store appends one stream's events
/// atomically (and sled several, PostgreSQL not yet), while each rejection
/// goes through the rules on its contract's stream. Every transaction is
/// therefore checked first (its debit, amount, code, and that the debit is
/// not rejected already) and the file refused whole on the first doubt;
/// then each rejection is executed under an idempotency key derived from the
/// file's SHA-256 and its end-to-end id, and the file's `BankFileImported`
/// last, under a key of the file's SHA-256. A crash in between leaves some
/// rejections recorded and the file not imported; the next run skips the
/// checks of the debits its own keys rejected, replays those keys (which
/// append nothing) and completes, so that every rejection is recorded once.
///
/// Decision (the operator's decision): a transaction refused line by line
/// (no debit matches it, another amount, an unknown reason code, twice in
/// the file, a debit rejected already) may be left out by an operator, who
/// names it by its end-to-end id or leaves out every refused one; a
/// transaction that is not refused cannot be left out (it would lose a
/// rejection the bank made). The file's event records each line left out
/// with why, and the operator as its actor; what a whole file is refused for
/// (malformed, another creditor, a file never sent, a control sum) is not the
/// operator's to decide. The file is still imported once: a file imported
/// before, with or without a decision, appends nothing.
///
/// # Errors
/// [`ImportRefused`] (bad input: every problem named), a refusal by the rules
/// (named), the store.
pub async fn import(
    ledger: &mut Ledger<AnyStore>,
    creditor: &Creditor,
    name: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
    decision: Option<&OperatorDecision>,
) -> anyhow::Result<Imported> {
    let mut book = BankBook::default();
    import_with(
        ledger,
        &mut book,
        creditor,
        name,
        bytes,
        Recording::Now,
        now,
        decision,
    )
    .await
}

/// [`import`], with what the bank stream holds kept in `book`, the events
/// recorded as `recording` says (the rejections judged at `now`).
///
/// # Errors
/// As [`import`].
#[allow(clippy::too_many_arguments)]
pub async fn import_with(
    ledger: &mut Ledger<AnyStore>,
    book: &mut BankBook,
    creditor: &Creditor,
    name: &str,
    bytes: &[u8],
    recording: Recording,
    now: DateTime<Utc>,
    decision: Option<&OperatorDecision>,
) -> anyhow::Result<Imported> {
    let refuse = |problems: Vec<String>| ImportRefused {
        file: name.to_owned(),
        problems,
    };
    let kind = file_kind(bytes).ok_or_else(|| {
        refuse(vec![
            "line 1, <Document>: neither a pain.002 status report nor a camt.054 notification \
             (ISO 20022 namespace urn:iso:std:iso:20022:tech:xsd:pain.002.001.10/11 or \
             camt.054.001.08)"
                .into(),
        ])
    })?;
    book.refresh(ledger).await?;
    let sha = navigo_bank_sha256(bytes);
    if let Some(done) = book.imported.get(&sha) {
        return Ok(Imported {
            event: done.clone(),
            appended: false,
            rejection_events: Vec::new(),
        });
    }
    let sent = book.sent_files();
    let debits = &book.debits;
    let known: Vec<ReasonCode> = ledger.world().catalogue.reason_codes().collect();
    let ctx = ReadContext {
        creditor,
        sent: &sent,
        known_codes: &known,
        unknown_codes: UnknownCodes::List,
    };
    let read = match kind {
        BankFileKind::StatusReport => navigo_bank::read_status_report(bytes, &ctx),
        BankFileKind::Notification => navigo_bank::read_notification(bytes, &ctx),
    }
    .map_err(|e| refuse(vec![e.to_string()]))?;
    let file_key = format!("{IMPORT_KEY_PREFIX}{sha}");
    let (matched, problems) = match_all(ledger, &read, debits, &file_key).await?;
    let skipped = decide(&read, problems, decision).map_err(refuse)?;
    let mode = match recording {
        Recording::Now => ClockMode::Service,
        Recording::At(_) => ClockMode::Import,
    };
    let (rejection_event_ids, rejection_events) =
        reject_all(ledger, name, &matched, &file_key, now, mode).await?;
    let event = BankFileImported {
        kind,
        message_id: read.message_id.clone(),
        sha256: sha.clone(),
        creditor_id: creditor.id().to_owned(),
        returned: read.returned.len() as u64,
        rejection_event_ids,
        decided_by: decision
            .filter(|_| !skipped.is_empty())
            .map(|d| d.operator.clone()),
        skipped,
    };
    fault_point("bank-import-before-file-event")?;
    let date = navigo_rules::calendar::paris_date(now);
    let mut new = bank_event(
        &file_key,
        date,
        "bank-import",
        Event::BankFileImported(event.clone()),
    );
    if let Some(operator) = &event.decided_by {
        new.actor = Actor {
            role: ActorRole::Agent,
            id: operator.clone(),
        };
    }
    let appended = bank_parts::append_at(ledger, file_key, vec![new], recording).await?;
    book.take(&appended)?;
    Ok(Imported {
        event,
        appended: true,
        rejection_events,
    })
}

/// The lines the operator's decision leaves out, or every problem it does
/// not settle (and every name it gives that is no refused transaction).
fn decide(
    read: &ReturnFile,
    problems: Vec<Problem>,
    decision: Option<&OperatorDecision>,
) -> Result<Vec<SkippedLine>, Vec<String>> {
    let mut refused = Vec::new();
    if let Some(OperatorDecision {
        skip: Skip::Lines(ids),
        ..
    }) = decision
    {
        for id in ids {
            if problems.iter().any(|p| &p.end_to_end_id == id) {
                continue;
            }
            refused.push(
                match read.returned.iter().find(|r| &r.end_to_end_id == id) {
                    Some(r) => format!(
                    "--skip {id}: line {} is not refused; only a refused transaction may be left \
                     out (the bank's rejection would be lost)",
                    r.line
                ),
                    None => {
                        format!("--skip {id}: no transaction of the file has this end-to-end id")
                    }
                },
            );
        }
    }
    let leaves_out = |p: &Problem| match decision.map(|d| &d.skip) {
        Some(Skip::EveryRefused) => true,
        Some(Skip::Lines(ids)) => ids.contains(&p.end_to_end_id),
        None => false,
    };
    let mut skipped = Vec::new();
    for p in problems {
        if leaves_out(&p) {
            skipped.push(SkippedLine {
                end_to_end_id: p.end_to_end_id,
                line: p.line,
                reason: p.why,
            });
        } else {
            refused.push(p.text());
        }
    }
    if refused.is_empty() {
        return Ok(skipped);
    }
    if decision.is_none() {
        refused.push(
            "an operator may import the rest: --skip END-TO-END-ID (each refused line) or \
             --accept-remainder, with --operator ID"
                .into(),
        );
    }
    Err(refused)
}

/// Records each matched rejection through the rules, under its key; the
/// event ids of the `DebitRejected` and the events each appended, in file
/// order.
async fn reject_all(
    ledger: &mut Ledger<AnyStore>,
    name: &str,
    matched: &[Matched],
    file_key: &str,
    now: DateTime<Utc>,
    mode: ClockMode,
) -> anyhow::Result<(Vec<Uuid>, Vec<usize>)> {
    let mut rejection_event_ids = Vec::with_capacity(matched.len());
    let mut rejection_events = Vec::with_capacity(matched.len());
    for m in matched {
        let cmd = CommandEnvelope {
            request_at: now,
            actor: Actor {
                role: ActorRole::System,
                id: "bank-import".into(),
            },
            channel: None,
            idempotency_key: Some(rejection_key(file_key, &m.end_to_end_id)),
            expected_version: None,
            command: Command::RecordDebitRejected(RecordDebitRejected {
                contract_id: m.contract_id,
                month: m.month,
                reason_code: m.code,
            }),
        };
        let before = ledger.world().position;
        let stored = super::commands::execute(ledger, &cmd, mode)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "{name}: the rejection of {} (contract {}, {}) was refused: {e}; the \
                     rejections before it are recorded, and a run again completes the import",
                    m.end_to_end_id,
                    m.contract_id,
                    m.month
                )
            })?;
        if let Some(first) = stored.events.first() {
            rejection_event_ids.push(first.event_id);
        }
        rejection_events.push(stored.events.iter().filter(|e| e.position > before).count());
    }
    Ok((rejection_event_ids, rejection_events))
}

/// The idempotency key of one rejection of a file.
fn rejection_key(file_key: &str, end_to_end_id: &str) -> String {
    // The SHA-256 shortened to 128 bits keeps the key within the ledger's
    // bound on a command's key, and is still unique per file.
    let short = &file_key[..IMPORT_KEY_PREFIX.len() + 32];
    format!("{short}:{end_to_end_id}")
}

/// The SHA-256 of the bytes, lowercase hex, as the bank crate records a file.
fn navigo_bank_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Test hook: the environment variable naming a point where the import stops
/// as if the process had died there, so that the tests can prove a re-run
/// completes it.
pub const FAULT_ENV: &str = "NAVIGO_TEST_FAULT";

fn fault_point(name: &str) -> anyhow::Result<()> {
    if std::env::var(FAULT_ENV).is_ok_and(|v| v == name) {
        return Err(anyhow::anyhow!("injected fault at {name} ({FAULT_ENV})"));
    }
    Ok(())
}

/// Each returned transaction matched to its debit, and every one that
/// cannot be recorded, with its line.
async fn match_all(
    ledger: &mut Ledger<AnyStore>,
    read: &ReturnFile,
    debits: &BTreeMap<Uuid, SentDebit>,
    file_key: &str,
) -> Result<(Vec<Matched>, Vec<Problem>), LedgerError> {
    let mut problems = Vec::new();
    let mut wanted = Vec::new();
    let mut seen = BTreeSet::new();
    for r in &read.returned {
        let problem = |why: String| Problem {
            end_to_end_id: r.end_to_end_id.clone(),
            line: r.line,
            why,
        };
        if !seen.insert(r.end_to_end_id.clone()) {
            problems.push(problem("the transaction appears twice in the file".into()));
            continue;
        }
        let Some((id, sent)) =
            debit_event_of(&r.end_to_end_id).and_then(|id| debits.get(&id).map(|s| (id, s)))
        else {
            problems.push(problem(
                "matches no debit of a collection file this ledger issued (PAY-REJECT)".into(),
            ));
            continue;
        };
        if r.amount != sent.amount {
            problems.push(problem(format!(
                "amount {} EUR differs from the debit's {} EUR (PAY-REJECT)",
                r.amount, sent.amount
            )));
            continue;
        }
        if !r.code_known {
            problems.push(problem(format!(
                "reason code {} is not one the ledger knows (TAR-REJECT-FEE cannot tell the \
                 payer's from a technical one): publish it in the reason codes first",
                r.reason_code
            )));
            continue;
        }
        wanted.push((r, id, sent.contract_id));
    }
    let mut matched = Vec::new();
    for (r, id, contract_id) in wanted {
        let e2e = r.end_to_end_id.clone();
        let key = rejection_key(file_key, &e2e);
        let resumed = ledger.idempotency_key_used(&key).await?;
        let debit = ledger
            .read_paged(|w| {
                w.contract(contract_id).and_then(|c| {
                    c.debits
                        .iter()
                        .find(|(_, d)| d.event_id == id)
                        .map(|(m, d)| (*m, d.rejected))
                })
            })
            .await?;
        let problem = |why: String| Problem {
            end_to_end_id: e2e.clone(),
            line: r.line,
            why,
        };
        match debit {
            None => problems.push(problem(format!(
                "the debit is no longer on contract {contract_id} (annulled?)"
            ))),
            Some((_, true)) if !resumed => problems.push(problem(format!(
                "the debit of contract {contract_id} is rejected already (PAY-REJECT): a debit \
                 comes back once"
            ))),
            Some((month, _)) => matched.push(Matched {
                end_to_end_id: e2e,
                contract_id,
                month,
                code: r.reason_code,
            }),
        }
    }
    problems.sort_by_key(|p| p.line);
    Ok((matched, problems))
}

/// The kind's name as printed.
pub fn kind_name(kind: BankFileKind) -> &'static str {
    match kind {
        BankFileKind::StatusReport => "pain.002 status report",
        BankFileKind::Notification => "camt.054 notification",
    }
}
