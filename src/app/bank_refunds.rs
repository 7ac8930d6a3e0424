//! The refund file of an execution date: every refund due by bank transfer
//! and not yet paid, paid by one pain.001 credit-transfer file, recorded as
//! `RefundFileIssued` on the bank stream and each refund as `RefundPaid` on
//! its own stream.
//!
//! Decision (which refunds): a refund is in the file of date D when its
//! `RefundDue` names the bank transfer (`PAY-REFUND-METHOD`: a direct-debit
//! contract's refunds, and a punctuality refund whose beneficiary pays one of
//! the holder's contracts by direct debit), is effective on or before D, and
//! is not paid. Lettre-chèque and card refunds are not the bank's.
//!
//! Decision (to which account): the account of the beneficiary's own mandate
//! on the contract the refund is about (the latest direct-debit setup of
//! that contract whose mandate the beneficiary signed), or, for a punctuality
//! refund, on the holder's contract the beneficiary pays by direct debit
//! (the lowest contract id when several). A refund whose beneficiary signed no
//! such mandate, whose mandate is a legacy one without IBAN, or whose
//! beneficiary is erased is refused naming its stream and refund.
//!
//! Decision (when a refund is recorded paid): when its file is issued. The
//! ledger records a debit as collected when it presents it (`DebitPresented`)
//! and a return later (`DebitRejected`); a transfer is likewise paid when the
//! ledger asks the bank for it, and `PAY-REFUND-30D` is met by the execution
//! date the file requests. Waiting for a bank confirmation would leave the
//! refund unpaid, and so due again in the next file, until one arrived: a
//! double payment. A transfer the payee's bank sends back is refused by
//! `bank import` today (it names it for settlement by hand).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_bank::{refund_end_to_end_id, Creditor, Refund, RefundFile, RefundInput};
use navigo_events_schema::command::PayRefund;
use navigo_events_schema::event::{
    IssuedRefund, RefundFileIssued, RefundMethod, RefundReason, RefundStreamKind,
};
use navigo_events_schema::mandate::{Mandate, MandateDebtor};
use navigo_events_schema::types::{Actor, ActorRole, Money, PaymentSetup};
use navigo_events_schema::{Command, CommandEnvelope, Envelope, Event, StreamId};
use navigo_ledger_core::{ClockMode, Ledger, LedgerError, StateRef};
use navigo_rules::contract::state::ContractState;
use navigo_rules::world::World;
use navigo_store::{EventStore, StoreError};
use uuid::Uuid;

use super::bank_files::{append_bank, bank_events};
use super::bank_parts::{self, bank_event, FileId, PendingParts, Recording};
use super::error::BadInput;
use super::store::AnyStore;

/// What the idempotency key of a refund file starts with; the date follows,
/// so that a date is paid once.
pub const REFUNDS_KEY_PREFIX: &str = "bank-refunds:";
/// Who issues refund files, as the events record the actor.
const ACTOR_ID: &str = "bank-refunds";
/// States paged in at a time by the walk for the refunds due.
const WALK_STATES_PER_CHUNK: usize = 10_000;

/// A refund due by bank transfer, where it is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Due {
    refund_event_id: Uuid,
    kind: RefundStreamKind,
    stream_id: Uuid,
}

impl Due {
    fn stream(&self) -> StreamId {
        match self.kind {
            RefundStreamKind::Contract => StreamId::contract(self.stream_id),
            RefundStreamKind::Person => StreamId::person(self.stream_id),
        }
    }

    fn name(&self) -> String {
        let kind = match self.kind {
            RefundStreamKind::Contract => "contract",
            RefundStreamKind::Person => "holder",
        };
        format!(
            "{kind} {} (refund {})",
            self.stream_id, self.refund_event_id
        )
    }
}

/// A refund ready for the file: its transfer, and what the event records.
struct Resolved {
    transfer: Refund,
    amount: Money,
    effective_date: NaiveDate,
    recorded_at: DateTime<Utc>,
}

/// A refund file built, and whether its event was appended now.
#[derive(Debug)]
pub struct RefundsIssued {
    /// The file.
    pub file: RefundFile,
    /// Its event.
    pub issued: RefundFileIssued,
    /// False when the same file was issued before (nothing appended, unless
    /// an interrupted run left payments to record).
    pub appended: bool,
    /// The refunds recorded paid by this run (zero on a plain re-run).
    pub paid_now: usize,
}

/// The message id of the refund file of `date`: one file a date.
pub fn refund_message_id(date: NaiveDate) -> String {
    format!("NVRFND{}", date.format("%Y%m%d"))
}

/// Builds the refund file of `date`, records it and records its refunds
/// paid. The same date again gives the same file and appends nothing; an
/// interrupted run is completed.
///
/// # Errors
/// No refund due by transfer on `date`; a refund that cannot be paid by
/// transfer (named with its stream); a refund carried by an earlier file and
/// not recorded paid; a file issued before for `date` whose bytes would now
/// differ; a payment refused by the rules; the store.
pub async fn refunds(
    ledger: &mut Ledger<AnyStore>,
    creditor: &Creditor,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<RefundsIssued> {
    let files = refund_files(&bank_events(ledger).await?)?;
    let before = files.iter().find(|f| f.event.execution_date == date);
    let due = match before {
        Some(b) => b.refunds.iter().map(due_of).collect(),
        None => due_on(ledger, date, &files).await?,
    };
    let resolved = resolve_all(ledger, &due, date, before.is_some()).await?;
    if resolved.is_empty() {
        return Err(anyhow::anyhow!(
            "no refund by bank transfer is due on or before {date} (PAY-REFUND-METHOD); nothing \
             was written"
        ));
    }
    let (file, issued, parts) = build(creditor, date, &resolved)?;
    let listed: Vec<IssuedRefund> = parts
        .iter()
        .flatten()
        .chain(&issued.refunds)
        .cloned()
        .collect();
    let appended = match before.map(|b| &b.event) {
        Some(b) if b.sha256 == issued.sha256 => false,
        Some(b) => {
            return Err(anyhow::anyhow!(
                "the refund file of {date} was issued already (message {}, {} refunds, {} EUR, \
                 sha256 {}), and its refunds' accounts have changed since: a file is not sent \
                 again with other bytes; nothing was written",
                b.message_id,
                b.count,
                b.control_sum,
                b.sha256
            ))
        }
        None => {
            record(ledger, &issued, parts).await?;
            true
        }
    };
    let paid_now = pay_all(ledger, &issued, &listed, now).await?;
    Ok(RefundsIssued {
        file,
        issued,
        appended,
        paid_now,
    })
}

/// Appends the parts of a refund file and its event.
async fn record(
    ledger: &mut Ledger<AnyStore>,
    issued: &RefundFileIssued,
    parts: Vec<Vec<IssuedRefund>>,
) -> Result<(), LedgerError> {
    let date = issued.execution_date;
    let key = format!("{REFUNDS_KEY_PREFIX}{date}");
    let file = FileId {
        key: &key,
        message_id: &issued.message_id,
        sha256: &issued.sha256,
    };
    let event = |key: &str, e: Event| bank_event(key, date, ACTOR_ID, e);
    bank_parts::append_parts(ledger, &file, parts, event, Recording::Now).await?;
    let event = event(&key, Event::RefundFileIssued(issued.clone()));
    append_bank(ledger, key, event).await
}

/// A refund file issued, with every refund it carries.
struct IssuedFile {
    event: RefundFileIssued,
    refunds: Vec<IssuedRefund>,
}

/// Every refund file the bank stream's events `bank` record, in their order.
fn refund_files(bank: &[Envelope]) -> Result<Vec<IssuedFile>, StoreError> {
    let mut parts = PendingParts::default();
    let mut out = Vec::new();
    for e in bank {
        match &e.event {
            Event::BankFilePart(p) => parts.keep::<IssuedRefund>(p),
            Event::RefundFileIssued(f) => out.push(IssuedFile {
                refunds: parts.list_of(e, &f.sha256, (f.count, f.parts, &f.refunds))?,
                event: f.clone(),
            }),
            _ => {}
        }
    }
    Ok(out)
}

fn due_of(r: &IssuedRefund) -> Due {
    Due {
        refund_event_id: r.refund_event_id,
        kind: r.stream_kind,
        stream_id: r.stream_id,
    }
}

/// Every refund due by transfer and not paid, from the states (a chunk at a
/// time); refused when one of them was carried by an earlier file, whose
/// payments an interrupted run left unrecorded.
async fn due_on(
    ledger: &mut Ledger<AnyStore>,
    date: NaiveDate,
    files: &[IssuedFile],
) -> anyhow::Result<Vec<Due>> {
    let mut out = Vec::new();
    ledger
        .walk_states(WALK_STATES_PER_CHUNK, |stream, _, state| match state {
            StateRef::Contract(c) => {
                for (id, r) in &c.refunds {
                    if !r.paid && r.method == RefundMethod::BankTransfer && r.date <= date {
                        out.push(Due {
                            refund_event_id: *id,
                            kind: RefundStreamKind::Contract,
                            stream_id: stream.id,
                        });
                    }
                }
            }
            // A person's refund holds no date: it is read with its stream.
            StateRef::Person(p) => {
                for (id, (r, paid)) in &p.refunds {
                    if !paid && r.method == RefundMethod::BankTransfer {
                        out.push(Due {
                            refund_event_id: *id,
                            kind: RefundStreamKind::Person,
                            stream_id: stream.id,
                        });
                    }
                }
            }
        })
        .await?;
    out.sort_by_key(|d| d.refund_event_id);
    let earlier: Vec<(NaiveDate, BTreeSet<Uuid>)> = files
        .iter()
        .map(|f| {
            let ids = f.refunds.iter().map(|r| r.refund_event_id).collect();
            (f.event.execution_date, ids)
        })
        .collect();
    for d in &out {
        if let Some((at, _)) = earlier
            .iter()
            .find(|(_, ids)| ids.contains(&d.refund_event_id))
        {
            return Err(anyhow::anyhow!(
                "{}: carried by the refund file of {at}, whose run was interrupted before it was \
                 recorded paid: run `navigo-ledger bank refunds --date {at}` again first; nothing \
                 was written",
                d.name()
            ));
        }
    }
    Ok(out)
}

/// Each refund's transfer, or every refund that cannot be paid by transfer.
/// A file issued before (`again`) keeps every refund it carried, paid since
/// or not, and no date filter applies to it.
async fn resolve_all(
    ledger: &mut Ledger<AnyStore>,
    due: &[Due],
    date: NaiveDate,
    again: bool,
) -> anyhow::Result<Vec<(Due, Resolved)>> {
    let mut out = Vec::with_capacity(due.len());
    let mut refused = Vec::new();
    for d in due {
        match resolve(ledger, d).await? {
            Ok(r) if again || r.effective_date <= date => out.push((*d, r)),
            Ok(_) => {}
            Err(why) => refused.push(format!("{}: {why}", d.name())),
        }
    }
    if !refused.is_empty() {
        return Err(anyhow::anyhow!(
            "{} of {} refunds due on {date} cannot be paid by transfer; nothing was written:\n  {}",
            refused.len(),
            due.len(),
            refused.join("\n  ")
        ));
    }
    Ok(out)
}

/// Every event of a stream, its sealed fields opened where the keys allow.
async fn stream_events(
    ledger: &Ledger<AnyStore>,
    stream: StreamId,
) -> Result<Vec<Envelope>, LedgerError> {
    let version = ledger.store().stream_version(stream).await?;
    if version == 0 {
        return Ok(Vec::new());
    }
    Ok(ledger.store().read_stream(stream, 1..=version).await?)
}

/// The states folded from some streams' events.
fn fold(events: &[Envelope]) -> World {
    navigo_projections::fold_states(&navigo_projections::known_events(events, None))
}

/// The transfer of one refund, or why it cannot be made.
async fn resolve(
    ledger: &mut Ledger<AnyStore>,
    d: &Due,
) -> Result<Result<Resolved, String>, LedgerError> {
    let events = stream_events(ledger, d.stream()).await?;
    let Some(due_event) = events.iter().find(|e| e.event_id == d.refund_event_id) else {
        return Ok(Err("the refund is not on its stream (annulled?)".into()));
    };
    let Event::RefundDue(due) = &due_event.event else {
        return Ok(Err("the event is not a RefundDue".into()));
    };
    let mandate = match d.kind {
        RefundStreamKind::Contract => fold(&events)
            .contract(d.stream_id)
            .and_then(|c| mandate_signed_by(c, due.beneficiary)),
        RefundStreamKind::Person => holder_mandate(ledger, d.stream_id, due.beneficiary).await?,
    };
    let account = mandate.as_ref().map(|m| (m, m.debtor.value()));
    let account = match account {
        Some((_, Some(MandateDebtor::Account(a)))) => a.clone(),
        Some((m, Some(MandateDebtor::Legacy(_)))) => {
            return Ok(Err(format!(
                "the beneficiary's mandate {} is a legacy one with no IBAN: record their account \
                 (ChangeMandate), or pay the refund by lettre-chèque (PayRefund with method \
                 lettre_cheque)",
                m.reference
            )))
        }
        Some((m, None)) => {
            return Ok(Err(format!(
                "the account under mandate {} cannot be opened (the beneficiary's personal data is \
                 erased): pay the refund by lettre-chèque (PayRefund with method lettre_cheque)",
                m.reference
            )))
        }
        None => {
            return Ok(Err(format!(
                "the beneficiary {} signed no direct-debit mandate that gives an account \
                 (PAY-REFUND-METHOD): pay the refund by lettre-chèque (PayRefund with method \
                 lettre_cheque)",
                due.beneficiary
            )))
        }
    };
    Ok(Ok(Resolved {
        transfer: Refund {
            end_to_end_id: refund_end_to_end_id(d.refund_event_id),
            amount: due.amount,
            payee_name: account.holder_name.as_str().to_owned(),
            payee_iban: account.iban.as_str().to_owned(),
            payee_bic: account.bic.map(|b| b.as_str().to_owned()),
            remittance: remittance(due.reason, d),
        },
        amount: due.amount,
        effective_date: due_event.effective_date,
        recorded_at: due_event.recorded_at,
    }))
}

/// The latest direct-debit mandate of `c` that `beneficiary` signed (a
/// version 1 mandate names no signer: it is the contract's payer's).
fn mandate_signed_by(c: &ContractState, beneficiary: Uuid) -> Option<Mandate> {
    c.payments.iter().rev().find_map(|(_, p)| match p {
        PaymentSetup::DirectDebit { mandate, .. }
            if mandate.payer.unwrap_or(c.payer) == beneficiary =>
        {
            Some(mandate.clone())
        }
        _ => None,
    })
}

/// For a punctuality refund: the beneficiary's mandate on the holder's
/// contract they pay by direct debit, the lowest contract id first.
async fn holder_mandate(
    ledger: &mut Ledger<AnyStore>,
    holder: Uuid,
    beneficiary: Uuid,
) -> Result<Option<Mandate>, LedgerError> {
    let mut contracts: Vec<Uuid> = ledger
        .read_paged(|w| {
            w.contracts_of_holder(holder)
                .filter(|c| mandate_signed_by(c, beneficiary).is_some())
                .map(|c| c.id)
                .collect()
        })
        .await?;
    contracts.sort();
    for id in contracts {
        let events = stream_events(ledger, StreamId::contract(id)).await?;
        if let Some(m) = fold(&events)
            .contract(id)
            .and_then(|c| mandate_signed_by(c, beneficiary))
        {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// What the payee reads on their statement.
fn remittance(reason: RefundReason, d: &Due) -> String {
    // The SEPA character set has no underscore: the reason's wire value is
    // written with spaces.
    let reason = reason.to_string().replace('_', " ");
    format!("Navigo Annuel refund {reason} {}", d.stream_id)
}

/// The file, its event (which lists the last refunds) and the parts that
/// list the refunds before them.
fn build(
    creditor: &Creditor,
    date: NaiveDate,
    resolved: &[(Due, Resolved)],
) -> anyhow::Result<(RefundFile, RefundFileIssued, Vec<Vec<IssuedRefund>>)> {
    let input = RefundInput {
        message_id: refund_message_id(date),
        // Decision: the creation instant is the latest instant a refund of the
        // file became known, so that the same date gives the same bytes.
        created_at: resolved
            .iter()
            .map(|(_, r)| r.recorded_at)
            .max()
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
        creditor: creditor.clone(),
        execution_date: date,
        refunds: resolved.iter().map(|(_, r)| r.transfer.clone()).collect(),
    };
    let file = RefundFile::build(&input).map_err(|e| BadInput(format!("{date}: {e}")))?;
    let listed: Vec<IssuedRefund> = resolved
        .iter()
        .map(|(d, r)| IssuedRefund {
            refund_event_id: d.refund_event_id,
            stream_kind: d.kind,
            stream_id: d.stream_id,
            amount: r.amount,
        })
        .collect();
    let (parts, last) = bank_parts::split(listed);
    let issued = RefundFileIssued {
        execution_date: date,
        message_id: file.summary.message_id.clone(),
        count: file.summary.transactions,
        control_sum: file.summary.control_sum,
        sha256: file.summary.sha256.clone(),
        creditor_id: creditor.id().to_owned(),
        creditor_iban_masked: creditor.iban_masked(),
        refunds: last,
        parts: u32::try_from(parts.len())?,
    };
    Ok((file, issued, parts))
}

/// Records every refund of the file paid, each under a key of the file's
/// date and the refund, so that a re-run replays them; how many were new.
async fn pay_all(
    ledger: &mut Ledger<AnyStore>,
    issued: &RefundFileIssued,
    listed: &[IssuedRefund],
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut new = 0;
    for r in listed {
        let d = due_of(r);
        let key = format!(
            "{REFUNDS_KEY_PREFIX}{}:{}",
            issued.execution_date, r.refund_event_id
        );
        let used = ledger.idempotency_key_used(&key).await?;
        let cmd = CommandEnvelope {
            request_at: now,
            actor: Actor {
                role: ActorRole::System,
                id: ACTOR_ID.into(),
            },
            channel: None,
            idempotency_key: Some(key),
            expected_version: None,
            command: Command::PayRefund(PayRefund {
                stream: d.stream(),
                refund_event_id: r.refund_event_id,
                method: Some(RefundMethod::BankTransfer),
            }),
        };
        super::commands::execute(ledger, &cmd, ClockMode::Service)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: its payment by the refund file {} was refused: {e}; the file is recorded \
                     and the refunds before this one are recorded paid: do not send the file \
                     until this refund is settled",
                    d.name(),
                    issued.message_id
                )
            })?;
        if !used {
            new += 1;
        }
    }
    Ok(new)
}
