//! The ledger judges a command against a world of states and indexes, with only
//! the stream histories `histories::of_command` names loaded from the store.
//! These tests judge every command kind the simulation sends, and the commands
//! that read histories (subscriptions and payer changes naming every person,
//! annulments of every kind of event), against that world and against the
//! whole world folded with every history: the decisions (or refusals) are the
//! same.

// Only the agent's command of the population's helpers is used here.
#[allow(dead_code)]
mod population;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::command::{AnnulEvent, ChangePayer};
use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::{Command, CommandEnvelope, Event};
use navigo_ledger_core::{histories, ClockMode, Ledger};
use navigo_rules::decision::Context;
use navigo_rules::engine::handle;
use navigo_rules::ids::IdGen;
use navigo_rules::world::World;
use navigo_rules::Policy;
use navigo_sim::driver::{resolve, send};
use navigo_sim::generate::{generate, PopulationConfig, Step};
use navigo_store::{EventStore, Limits, ManualClock};
use navigo_store_sled::SledStore;
use population::agent_command;
use uuid::Uuid;

fn builtin_at() -> DateTime<Utc> {
    "2011-06-01T00:00:00Z".parse().unwrap()
}

/// The outcome of judging `cmd` on `world`, as comparable text.
fn judge(world: &World, cmd: &CommandEnvelope) -> String {
    let policy = Policy::default();
    let mut ids = IdGen::new(99);
    let mut ctx = Context {
        policy: &policy,
        ids: &mut ids,
    };
    format!("{:?}", handle(world, cmd, &mut ctx))
}

#[test]
fn slice_judging_equals_whole_world_judging_for_every_command_kind_of_a_generated_population() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("slice-judging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        SledStore::init(&dir).unwrap();
        let store = SledStore::open(
            &dir,
            Limits::default(),
            Arc::new(ManualClock::new(builtin_at())),
        )
        .unwrap();
        let mut ledger = Ledger::open(store, Policy::default(), 3).await.unwrap();
        ledger
            .load_builtin_reference(builtin_at(), ClockMode::Import)
            .await
            .unwrap();
        let campaigns = navigo_rules::reference::builtin_campaigns().unwrap();
        let plan = generate(
            PopulationConfig {
                seed: 4242,
                contracts: 40,
                from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
                through: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
            },
            &campaigns,
        );
        let last = plan.commands.last().unwrap().at;
        let mut judged_kinds = BTreeSet::new();
        let mut compared = 0usize;
        // Judge each planned request, before it is sent, on both worlds.
        for p in &plan.commands {
            let commands = resolve(ledger.world(), p);
            for cmd in &commands {
                compare(&ledger, cmd).await;
                compared += 1;
                judged_kinds.insert(navigo_sim::driver::command_name(&cmd.command));
                send(&mut ledger, cmd).await.unwrap();
            }
        }
        // Then the commands that read histories, against the final ledger:
        // a payer change and a subscription naming each person as payer, and
        // an annulment of each kind of event.
        let at = last + chrono::Duration::seconds(1);
        let template = plan.commands.iter().find_map(|p| match &p.step {
            Step::Command(c) => match &c.command {
                Command::Subscribe(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        });
        let template = template.expect("a subscription");
        // A contract in force paid by direct debit, whose payer changes keep
        // its last mandate: judged up to the payer's bans (SUB-BANNED-PAYER).
        let (contract, mandate) = ledger
            .world()
            .contracts
            .values()
            .filter(|c| {
                c.current_status() == navigo_rules::contract::state::Status::Active
                    && !c.mandates.is_empty()
            })
            .map(|c| (c.id, c.mandates.last().and_then(|(_, m)| m.to_input())))
            .next()
            .expect("a contract in force");

        // A fraud finding on another contract in force bans its payer
        // (BAN-FRAUD-3Y) from the facts of that contract's history.
        let (victim, fraudster) = ledger
            .world()
            .contracts
            .values()
            .filter(|c| {
                c.id != contract
                    && c.current_status() == navigo_rules::contract::state::Status::Active
            })
            .map(|c| (c.id, c.payer))
            .next()
            .expect("another contract in force");
        let fraud = agent_command(
            at - chrono::Duration::seconds(1),
            "fraud".into(),
            Command::EstablishFraud(navigo_events_schema::command::EstablishFraud {
                contract_id: victim,
                kind: navigo_events_schema::event::FraudKind::Usage,
                fraudster,
                accomplices: Vec::new(),
            }),
        );
        compare(&ledger, &fraud).await;
        send(&mut ledger, &fraud).await.unwrap();
        // A rejected debit left unpaid: the billing clock terminates the
        // contract (PAY-UNPAID-TERMINATION), which bans its payer
        // (BAN-UNPAID-2M) from the facts of its history.
        let (debtor, month) = ledger
            .world()
            .contracts
            .values()
            .filter(|c| c.id != contract && c.id != victim)
            .filter(|c| c.current_status() == navigo_rules::contract::state::Status::Active)
            .find_map(|c| c.debits.iter().next_back().map(|(m, _)| (c.id, *m)))
            .expect("a debited contract");
        let mut reject = agent_command(
            at,
            "reject".into(),
            Command::RecordDebitRejected(navigo_events_schema::command::RecordDebitRejected {
                contract_id: debtor,
                month,
                reason_code: "AM04".parse().unwrap(),
            }),
        );
        reject.actor = Actor {
            role: ActorRole::System,
            id: "sepa-bank".into(),
        };
        reject.channel = None;
        compare(&ledger, &reject).await;
        send(&mut ledger, &reject).await.unwrap();
        let later = at + chrono::Duration::days(45);
        let mut advance = agent_command(
            later,
            "advance".into(),
            Command::AdvanceClock(navigo_events_schema::command::AdvanceClock {
                to: navigo_rules::calendar::paris_date(later),
            }),
        );
        advance.actor = Actor::billing_clock();
        advance.channel = None;
        compare(&ledger, &advance).await;
        send(&mut ledger, &advance).await.unwrap();
        let at = later + chrono::Duration::seconds(1);
        let persons: Vec<Uuid> = ledger.world().persons.keys().copied().collect();
        // Some of them are banned: the histories matter.
        let mut whole = World::new();
        whole.apply_all(&ledger.store().read_log(1).await.unwrap());
        let rules: BTreeSet<_> = persons
            .iter()
            .flat_map(|p| whole.ban_windows(*p))
            .map(|w| w.rule)
            .collect();
        assert!(rules.len() >= 2, "a fraud ban and an unpaid ban: {rules:?}");
        for (i, person) in persons.iter().enumerate() {
            let change = agent_command(
                at,
                format!("payer-{i}"),
                Command::ChangePayer(ChangePayer {
                    contract_id: contract,
                    payer: *person,
                    mandate: mandate.clone(),
                }),
            );
            compare(&ledger, &change).await;
            let mut sub = template.clone();
            sub.contract_id = Uuid::from_u128(0xC0FFEE + i as u128);
            sub.payer = *person;
            sub.start_date =
                navigo_events_schema::YearMonth::of(navigo_rules::calendar::paris_date(at))
                    .plus(1)
                    .first_day();
            sub.holder = persons[(i + 1) % persons.len()];
            compare(
                &ledger,
                &agent_command(at, format!("sub-{i}"), Command::Subscribe(sub)),
            )
            .await;
            compared += 2;
        }
        let events = ledger.store().read_log(1).await.unwrap();
        let mut kinds = BTreeSet::new();
        for e in &events {
            if kinds.insert(e.event.type_name()) || matches!(e.event, Event::ContractTerminated(_))
            {
                let annul = agent_command(
                    at,
                    format!("annul-{}", e.position),
                    Command::AnnulEvent(AnnulEvent {
                        stream: e.stream,
                        event_id: e.event_id,
                        reason: "a correction".into(),
                    }),
                );
                compare(&ledger, &annul).await;
                compared += 1;
            }
        }
        for kind in [
            "Subscribe",
            "AdvanceClock",
            "RecordDebitRejected",
            "SettleDebt",
            "Suspend",
            "FileRefundClaim",
        ] {
            assert!(
                judged_kinds.contains(kind),
                "the population sent no {kind}: {judged_kinds:?}"
            );
        }
        assert!(compared > 300, "{compared}");
        ledger.into_store().close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    });
}

thread_local! {
    /// The whole world at a head position, folded once per position.
    static WHOLE: std::cell::RefCell<Option<(u64, World)>> = const { std::cell::RefCell::new(None) };
}

/// Judges `cmd` on the ledger's world with the histories it reads loaded, and
/// on the world the whole log folds to with every history: the same outcome.
async fn compare(ledger: &Ledger<SledStore>, cmd: &CommandEnvelope) {
    let store = ledger.store();
    let mut slice = ledger.world().clone();
    assert!(slice.history.is_empty());
    for s in histories::of_command(&slice, cmd) {
        let h = store.read_stream(s, 1..=u64::MAX).await.unwrap();
        slice.history.insert(s, h);
    }
    let head = ledger.world().position;
    let whole = WHOLE.with(|w| {
        let cached = w.borrow();
        cached
            .as_ref()
            .filter(|(p, _)| *p == head)
            .map(|(_, w)| w.clone())
    });
    let whole = match whole {
        Some(w) => w,
        None => {
            let mut w = World::new();
            w.apply_all(&store.read_log(1).await.unwrap());
            WHOLE.with(|c| *c.borrow_mut() = Some((head, w.clone())));
            w
        }
    };
    assert_eq!(
        judge(&slice, cmd),
        judge(&whole, cmd),
        "{}",
        navigo_sim::driver::command_name(&cmd.command)
    );
}
