//! The demo's side of the bank: the simulator's driver
//! ([`navigo_sim::drive_with_bank`]) issues each collection file and imports
//! each file the simulated bank answers with through the functions of the
//! `bank collect` and `bank import` commands ([`bank_files`]), the events
//! recorded at the simulated instants.

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use navigo_bank::{Creditor, FileSummary};
use navigo_ledger_core::Ledger;
use navigo_sim::BankDesk;

use super::bank::{creditor_path, save_creditor, CreditorConfig};
use super::bank_files::{self, BankBook, Recording};
use super::store::AnyStore;

/// The demo's creditor, saved in a demo's data directory that has none so
/// that the `bank` commands work on it.
///
/// Decision: a fixed creditor (a valid French IBAN and SEPA creditor
/// identifier of no real account), so that the same seed writes the same
/// files and the same log in any directory.
pub fn demo_creditor_config() -> CreditorConfig {
    CreditorConfig {
        name: "Navigo Annuel (demo)".into(),
        iban: "FR7630004000031234567890143".into(),
        bic: "BNPAFRPPXXX".into(),
        creditor_id: "FR72ZZZ123456".into(),
    }
}

/// The creditor of the demo in `data`: the one configured there, else the
/// demo's, saved.
///
/// # Errors
/// A creditor file that is not one; the directory cannot be written.
pub fn demo_creditor(data: &Path) -> anyhow::Result<Creditor> {
    if creditor_path(data).exists() {
        return super::bank::creditor(data);
    }
    save_creditor(data, &demo_creditor_config())
}

/// The bank desk the demo's driver talks to.
#[derive(Debug)]
pub struct DemoBank {
    creditor: Creditor,
    book: BankBook,
    collected_through: Option<NaiveDate>,
}

impl DemoBank {
    /// A desk for `creditor`, which reads the bank stream on its first use.
    pub fn new(creditor: Creditor) -> DemoBank {
        DemoBank {
            creditor,
            book: BankBook::default(),
            collected_through: None,
        }
    }
}

#[async_trait]
impl BankDesk<AnyStore> for DemoBank {
    type Error = anyhow::Error;

    async fn collect(
        &mut self,
        ledger: &mut Ledger<AnyStore>,
        through: NaiveDate,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        if self.collected_through.is_some_and(|c| c >= through) {
            return Ok(());
        }
        bank_files::collect_through(
            ledger,
            &mut self.book,
            &self.creditor,
            self.collected_through,
            through,
            Recording::At(at),
        )
        .await?;
        self.collected_through = Some(through);
        Ok(())
    }

    fn sent(&self, date: NaiveDate) -> Option<FileSummary> {
        self.book.sent(date)
    }

    fn creditor_iban(&self) -> String {
        self.creditor.iban().to_owned()
    }

    async fn import(
        &mut self,
        ledger: &mut Ledger<AnyStore>,
        name: &str,
        bytes: &[u8],
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<Vec<usize>>> {
        let imported = bank_files::import_with(
            ledger,
            &mut self.book,
            &self.creditor,
            name,
            bytes,
            Recording::At(at),
            at,
            None,
        )
        .await?;
        Ok(imported.appended.then_some(imported.rejection_events))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use chrono::NaiveDate;
    use navigo_events_schema::event::BankFileKind;
    use navigo_events_schema::{Event, StreamId};
    use navigo_ledger_core::Ledger;
    use navigo_rules::calendar::paris_start_of_day;
    use navigo_rules::contract::state::ContractState;
    use navigo_sim::{drive, drive_with_bank, generate, DriveReport, PopulationConfig};
    use navigo_store::{EventStore, ManualClock};
    use uuid::Uuid;

    use super::*;
    use crate::app::ledger::{init_store, load_builtin_reference, open_clocked_ledger};
    use crate::app::place::Place;

    const SEED: u64 = 22;
    const CONTRACTS: u32 = 400;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    /// The bank desk of the demo, keeping every file it imported.
    struct Recording {
        desk: DemoBank,
        files: Vec<(String, Vec<u8>, DateTime<Utc>)>,
    }

    #[async_trait]
    impl BankDesk<AnyStore> for Recording {
        type Error = anyhow::Error;

        async fn collect(
            &mut self,
            ledger: &mut Ledger<AnyStore>,
            through: NaiveDate,
            at: DateTime<Utc>,
        ) -> anyhow::Result<()> {
            self.desk.collect(ledger, through, at).await
        }

        fn sent(&self, date: NaiveDate) -> Option<FileSummary> {
            BankDesk::<AnyStore>::sent(&self.desk, date)
        }

        fn creditor_iban(&self) -> String {
            BankDesk::<AnyStore>::creditor_iban(&self.desk)
        }

        async fn import(
            &mut self,
            ledger: &mut Ledger<AnyStore>,
            name: &str,
            bytes: &[u8],
            at: DateTime<Utc>,
        ) -> anyhow::Result<Option<Vec<usize>>> {
            self.files.push((name.to_owned(), bytes.to_vec(), at));
            self.desk.import(ledger, name, bytes, at).await
        }
    }

    async fn ledger(dir: &std::path::Path) -> Ledger<AnyStore> {
        let place = Place::dir(dir);
        init_store(&place).await.expect("init");
        // A fixed clock after the simulated months: nothing reads the wall clock.
        let clock = Arc::new(ManualClock::new(paris_start_of_day(day(2025, 1, 1))));
        let mut ledger = open_clocked_ledger(&place, SEED, clock)
            .await
            .expect("open");
        load_builtin_reference(&mut ledger)
            .await
            .expect("reference");
        ledger
    }

    fn plan() -> Vec<navigo_sim::PlannedCommand> {
        let config = PopulationConfig {
            seed: SEED,
            contracts: CONTRACTS,
            from: day(2024, 1, 1),
            through: day(2024, 8, 31),
        };
        let campaigns = navigo_rules::reference::builtin_campaigns().expect("campaigns");
        generate(config, &campaigns).commands
    }

    async fn bank_stream(ledger: &Ledger<AnyStore>) -> Vec<navigo_events_schema::Envelope> {
        let stream = StreamId::bank();
        let version = ledger
            .store()
            .stream_version(stream)
            .await
            .expect("version");
        ledger
            .store()
            .read_stream(stream, 1..=version)
            .await
            .expect("bank stream")
    }

    fn counts(r: &DriveReport) -> impl PartialEq + std::fmt::Debug + '_ {
        (
            r.sent,
            r.accepted,
            r.already_applied,
            &r.refused,
            &r.invalid,
            r.skipped,
            r.command_events,
            r.clock_events,
            &r.by_command,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pay_reject_demo_rejects_arrive_through_the_bank_files_and_change_nothing_else() {
        // Given a generated population of eight months, driven once with the
        // rejection commands and once with the bank's files.
        let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let plan = plan();
        let mut by_commands = ledger(dirs.0.path()).await;
        let commands = drive(&mut by_commands, &plan, &mut |_| {})
            .await
            .expect("drive");
        let mut by_files = ledger(dirs.1.path()).await;
        let creditor = demo_creditor(dirs.1.path()).expect("creditor");
        let mut desk = Recording {
            desk: DemoBank::new(creditor),
            files: Vec::new(),
        };
        // When the bank's files carry the rejections.
        let files = drive_with_bank(&mut by_files, &plan, &mut desk, &mut |_| {})
            .await
            .expect("drive with the bank's files");

        // Then every request is judged as with the commands, and every
        // contract ends in the same state: each rejection landed on its
        // contract with the same policy (fee, grace, termination, bans).
        assert_eq!(counts(&files), counts(&commands));
        let rejected = files.by_command.get("RecordDebitRejected").copied();
        assert!(rejected.is_some_and(|(ok, _)| ok > 10), "{rejected:?}");
        assert_eq!(
            by_files.world().contracts.len(),
            by_commands.world().contracts.len()
        );
        // A rejection's event id is a UUID v7 of the instant it is recorded
        // at: the night's last planned instant rather than its own.
        let without_rejection_ids = |c: &ContractState| {
            let mut c = c.clone();
            for r in &mut c.rejections {
                r.event_id = Uuid::nil();
            }
            c
        };
        for (id, state) in &by_commands.world().contracts {
            let through_files = by_files.world().contracts.get(id).expect("the contract");
            assert_eq!(
                without_rejection_ids(through_files),
                without_rejection_ids(state),
                "{id}"
            );
        }

        // And each rejection arrived by a file: every `DebitRejected` is one
        // an imported file recorded, both kinds of file were sent, and every
        // collection date the clock presented has its file.
        let bank = bank_stream(&by_files).await;
        let mut through_files = BTreeSet::new();
        let mut kinds = BTreeSet::new();
        let mut collected = 0;
        for e in &bank {
            match &e.event {
                Event::BankFileImported(f) => {
                    assert!(f.skipped.is_empty(), "{f:?}");
                    assert_eq!(f.returned, f.rejection_event_ids.len() as u64);
                    kinds.insert(format!("{:?}", f.kind));
                    through_files.extend(f.rejection_event_ids.iter().copied());
                }
                Event::CollectionFileIssued(_) => collected += 1,
                _ => {}
            }
        }
        assert_eq!(
            kinds,
            [BankFileKind::StatusReport, BankFileKind::Notification]
                .iter()
                .map(|k| format!("{k:?}"))
                .collect()
        );
        assert!(collected >= 8 * 2, "{collected} collection files");
        let rejections: BTreeSet<Uuid> = by_files
            .world()
            .contracts
            .values()
            .flat_map(|c| c.rejections.iter().map(|r| r.event_id))
            .collect();
        assert_eq!(rejections, through_files);
        assert_eq!(rejections.len() as u64, rejected.map_or(0, |r| r.0));

        // And a file imported again appends nothing.
        let head = by_files.store().head().await.expect("head").position;
        let again: Vec<_> = desk.files.clone();
        assert!(!again.is_empty());
        for (name, bytes, at) in again {
            let answer = desk
                .desk
                .import(&mut by_files, &name, &bytes, at)
                .await
                .expect("imported again");
            assert_eq!(answer, None, "{name}");
        }
        assert_eq!(by_files.store().head().await.expect("head").position, head);
        by_commands.close().await.unwrap().close().await.unwrap();
        by_files.close().await.unwrap().close().await.unwrap();
    }
}
