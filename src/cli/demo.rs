//! `navigo-ledger demo`: generates a seeded population, sends everything it asks
//! through the real command path, runs the billing clock month by month, verifies
//! the chain and prints a summary and the audit of one interesting contract.
//!
//! The summary's figures come from the folded world (the contract states the rules
//! read); the projections are then rebuilt from the log into new shadow trees and
//! swapped in (`navigo-ledger rebuild`), and the totals of the materialized balance
//! views are compared with the world's: the demo fails (exit 1) if they differ.
//!
//! Re-running the demo with the same arguments on the same data directory resumes
//! where a killed run stopped and appends nothing twice (deterministic idempotency
//! keys; the billing clock is idempotent).
//!
//! The demo never records the future: its events are recorded at their simulated
//! instants, so it simulates through yesterday (Europe/Paris) by default and
//! refuses a later `--through`; a user's own `apply` of today's requests then
//! comes after the demo's head. The run is deterministic for a seed and a
//! `--through` (the default `--through` follows the system clock, read once).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use navigo_events_schema::views::{
    ContractBalance, DemoAmounts, DemoAudit, DemoBalances, DemoChain, DemoOperationRefunds,
    DemoProjections, DemoRequests, DemoSummary, DemoViewRows,
};
use navigo_events_schema::Money;
use navigo_ledger_core::Ledger;
use navigo_replay::materialize::{state_hash, ProjectionDb};
use navigo_rules::calendar::paris_date;
use navigo_sim::generate::CONTRACTS_MAX;
use navigo_sim::summary::{audit_lines, summarize_ledger, Summary};
use navigo_sim::{drive, drive_with_bank, generate, DriveReport, Plan, PopulationConfig};
use navigo_store::Clock;
use navigo_store_sled::VerifyReport;

use super::exit::{CmdResult, EXIT_REFUSED};
use super::output::print_json_line;
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::{
    init_store, load_builtin_reference, open_clocked_ledger_with, read_whole_log,
};
use crate::app::place::Place;
use crate::app::sim_bank::{demo_creditor, DemoBank};
use crate::app::store::AnyStore;
use crate::app::verify::verify;

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of contracts.
    #[arg(long, default_value_t = 10_000)]
    contracts: u32,
    /// Seed of the population (and of the event ids).
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// First simulated day.
    #[arg(long, default_value = "2024-01-01", value_name = "DATE")]
    from: NaiveDate,
    /// Last simulated day (inclusive, Europe/Paris); default: yesterday. Today
    /// or a later day is refused: the demo records every event at its simulated
    /// instant, and an event recorded in the future would make every later
    /// `apply` of today's requests out of order.
    #[arg(long, value_name = "DATE")]
    through: Option<NaiveDate>,
    /// For tests only: the Europe/Paris date taken as today instead of the system
    /// clock's. It can move today earlier, never later (the earlier of the two
    /// counts), so that even with it the demo never records the future.
    #[arg(long, value_name = "DATE", hide = true)]
    today: Option<NaiveDate>,
    /// For tests only: the most contract and person states the ledger holds
    /// between commands, instead of the ledger's bound.
    #[arg(long, value_name = "N", hide = true)]
    state_cache_entries_max: Option<usize>,
    /// Send the simulated bank's rejections as rejection commands
    /// (`RecordDebitRejected`) instead of through its files. By default each
    /// collection date's pain.008 is issued after the billing clock presents
    /// its debits, and the bank's rejects and returns are imported from its
    /// pain.002 and camt.054 files, as an operator's `bank collect` and `bank
    /// import` would: the same rejections, judged by the same rules.
    #[arg(long)]
    rejection_commands: bool,
    /// Print the summary as one JSON object (no progress bars).
    #[arg(long)]
    json: bool,
}

/// The duration of each step, in order.
struct Timings(Vec<(&'static str, Duration)>);

impl Timings {
    fn slowest(&self) -> Option<&(&'static str, Duration)> {
        self.0.iter().max_by_key(|(_, d)| *d)
    }
}

fn bar(len: u64, msg: &'static str, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    let style =
        ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})")
            .map(|s| s.progress_chars("=> "));
    if let Ok(s) = style {
        pb.set_style(s);
    }
    pb.set_message(msg);
    pb
}

fn spinner(msg: &'static str, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// The last day a demo may simulate when today (Europe/Paris) is `today`:
/// yesterday, whose events are all recorded before today began.
pub fn last_day_simulable(today: NaiveDate) -> NaiveDate {
    today.pred_opt().unwrap_or(today)
}

/// The last simulated day of a run: `--through`, or by default yesterday
/// ([`last_day_simulable`]).
///
/// # Errors
/// [`BadInput`] when `--through` is today or later (nothing is written), or
/// before `from`.
pub fn through_day(
    asked: Option<NaiveDate>,
    from: NaiveDate,
    today: NaiveDate,
) -> Result<NaiveDate, BadInput> {
    let last = last_day_simulable(today);
    let through = asked.unwrap_or(last);
    if through > last {
        return Err(BadInput(format!(
            "--through {through} is not in the past: today is {today} (Europe/Paris), and \
             the demo records its events at their simulated instants, which must not be in \
             the future (a later `apply` of today's requests would be refused as out of \
             order); give --through {last} or earlier, or leave it out (default: yesterday)"
        )));
    }
    if through < from {
        return Err(BadInput(format!(
            "--through {through} is before --from {from}; give a --from on or before {through}"
        )));
    }
    Ok(through)
}

/// The population a run simulates, from its arguments, checked before anything
/// is written. The system clock is read once, here: the population and
/// everything it records depend only on the seed and the last simulated day.
///
/// # Errors
/// [`BadInput`]: `--through` today or later or before `--from`, `--contracts`
/// out of range.
fn population_config(args: &Args) -> Result<PopulationConfig, BadInput> {
    let system_today = paris_date(SystemClock.now());
    let today = args.today.map_or(system_today, |t| t.min(system_today));
    let through = through_day(args.through, args.from, today)?;
    if args.contracts == 0 || args.contracts > CONTRACTS_MAX {
        return Err(BadInput(format!(
            "--contracts must be between 1 and {CONTRACTS_MAX}; got {}",
            args.contracts
        )));
    }
    Ok(PopulationConfig {
        seed: args.seed,
        contracts: args.contracts,
        from: args.from,
        through,
    })
}

/// Runs the demo.
///
/// # Errors
/// Bad arguments, a data directory that is not a ledger, a store failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let cfg = population_config(&args)?;
    let through = cfg.through;
    let visible = !args.json && std::io::stderr().is_terminal();
    let mut timings = Timings(Vec::new());

    // 1. The ledger, with the built-in reference data (as `init`).
    let t = Instant::now();
    let ledger = open_with_reference(data, args.seed, args.state_cache_entries_max).await?;
    timings
        .0
        .push(("open ledger + reference data", t.elapsed()));

    // 2. The population.
    let t = Instant::now();
    let campaigns = navigo_rules::reference::builtin_campaigns()?;
    let plan = generate(cfg, &campaigns);
    timings.0.push(("generate population", t.elapsed()));

    // 3. Everything through the command path, the clock month by month, the
    // bank's rejections through its files unless asked for as commands.
    let bank = match args.rejection_commands {
        false => Some(DemoBank::new(demo_creditor(data.data())?)),
        true => None,
    };
    let (mut ledger, report) = send(ledger, &plan, bank, visible).await?;
    timings.0.push(("append commands", report.command_time));
    timings.0.push(("billing clock", report.clock_time));
    if !args.rejection_commands {
        timings.0.push(("bank files", report.bank_time));
    }

    // 4. The summary, from the world's states, walked a chunk at a time (they
    // need not all be resident), and the audit of one contract, from its
    // history loaded from the store.
    let t = Instant::now();
    let (summary, interesting) = summarize_ledger(&mut ledger, through).await?;
    let mut audit = None;
    if let Some(id) = interesting {
        let stream = navigo_events_schema::StreamId::contract(id);
        ledger.load_histories(&[stream].into()).await?;
        audit = Some((id, audit_lines(ledger.world(), id)));
        ledger.forget_histories();
    }
    let position = ledger.world().position;
    ledger.close().await?.close().await?;
    timings.0.push(("summary (from the world)", t.elapsed()));

    // 5. The projections, rebuilt from the log as of the last simulated day.
    let t = Instant::now();
    let materialized = rebuild_projections(data, through, visible).await?;
    timings.0.push(("rebuild projections", t.elapsed()));

    // 6. The chain.
    let t = Instant::now();
    let sp = spinner("verifying the chain", visible);
    let verified = verify(data).await?;
    sp.finish_and_clear();
    timings.0.push(("verify chain", t.elapsed()));

    let outcome = Outcome {
        plan: &plan,
        report: &report,
        summary: &summary,
        timings: &timings,
        verified: &verified,
        materialized: &materialized,
        position,
        audit: audit.as_ref(),
    };
    if args.json {
        print_json_line(&summary_view(&outcome))?;
    } else {
        print_summary(data, &outcome)?;
    }
    Ok(
        if verified.first_bad.is_none()
            && summary.balance_mismatches == 0
            && materialized.agrees_with(&summary)
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_REFUSED)
        },
    )
}

/// Creates the ledger in `data` if absent and opens it, judged by the binary's
/// clock (nothing is recorded after it), with the built-in reference data.
///
/// # Errors
/// Not a ledger, a store failure (the store is closed).
async fn open_with_reference(
    data: &Place,
    seed: u64,
    state_cache_entries_max: Option<usize>,
) -> anyhow::Result<Ledger<AnyStore>> {
    init_store(data).await?;
    let clock = Arc::new(SystemClock);
    let mut ledger = open_clocked_ledger_with(data, seed, clock, state_cache_entries_max).await?;
    // Decision: the demo's persons are generated, not real: their keys are
    // derived from the seed, so that the same seed writes the same log in
    // any directory, as it did before personal data was sealed.
    if let Some(keys) = ledger.store().keys() {
        keys.derive_new_keys_from(seed);
    }
    if let Err(e) = load_builtin_reference(&mut ledger).await {
        ledger.into_store().close().await?;
        return Err(e.into());
    }
    Ok(ledger)
}

/// Sends every request of the plan through the command path, the billing clock
/// month by month, with a progress bar when `visible`.
///
/// # Errors
/// A store failure (the store is closed).
async fn send(
    mut ledger: Ledger<AnyStore>,
    plan: &Plan,
    bank: Option<DemoBank>,
    visible: bool,
) -> anyhow::Result<(Ledger<AnyStore>, DriveReport)> {
    let pb = bar(
        u64::try_from(plan.commands.len()).unwrap_or(u64::MAX),
        "commands + clock",
        visible,
    );
    let mut progress = |done: usize| {
        if done % 256 == 0 {
            pb.set_position(u64::try_from(done).unwrap_or(u64::MAX));
        }
    };
    let result = match bank {
        Some(mut desk) => drive_with_bank(&mut ledger, &plan.commands, &mut desk, &mut progress)
            .await
            .map_err(anyhow::Error::from),
        None => drive(&mut ledger, &plan.commands, &mut progress)
            .await
            .map_err(anyhow::Error::from),
    };
    pb.finish_and_clear();
    match result {
        Ok(r) => Ok((ledger, r)),
        Err(e) => {
            ledger.into_store().close().await?;
            Err(e)
        }
    }
}

/// What the rebuild materialized.
struct Materialized {
    generation: navigo_replay::materialize::Generation,
    /// Rows and state hash per view.
    views: Vec<(&'static str, usize, String)>,
    /// Totals of the materialized contract balances: due, collected, returned.
    due: Money,
    collected: Money,
    returned: Money,
}

impl Materialized {
    /// The materialized balances add up to the world's amounts.
    fn agrees_with(&self, s: &Summary) -> bool {
        (self.due, self.collected, self.returned)
            == (s.amounts.due, s.amounts.collected, s.amounts.returned)
    }
}

/// Rebuilds the projections of the ledger in `data` as of `at` (as `navigo-ledger
/// rebuild --at`) and reads back what was materialized.
async fn rebuild_projections(
    data: &Place,
    at: NaiveDate,
    visible: bool,
) -> Result<Materialized, anyhow::Error> {
    let events = read_whole_log(data).await?;
    let db = ProjectionDb::open(data)?;
    let mut progress = super::rebuild::bar(!visible);
    db.rebuild(&events, at, &mut progress)?;
    drop(events);
    let (generation, rows) = db.stored_rows()?;
    db.close()?;
    let views = rows
        .iter()
        .map(|(kind, r)| (*kind, r.len(), state_hash(r)))
        .collect();
    let (mut due, mut collected, mut returned) = (Money::ZERO, Money::ZERO, Money::ZERO);
    for (id, bytes) in rows.get("balance").into_iter().flatten() {
        let b: ContractBalance = serde_json::from_slice(bytes)
            .map_err(|e| anyhow::anyhow!("materialized balance of {id}: {e}"))?;
        due += b.totals.due;
        collected += b.totals.collected;
        returned += b.totals.returned;
    }
    Ok(Materialized {
        generation,
        views,
        due,
        collected,
        returned,
    })
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Everything a demo run found, as its two summaries (the printed one and the
/// JSON one) read it.
struct Outcome<'a> {
    /// What was generated.
    plan: &'a Plan,
    /// What the driver sent and how the ledger judged it.
    report: &'a DriveReport,
    /// The figures of the folded world.
    summary: &'a Summary,
    /// The duration of each step.
    timings: &'a Timings,
    /// The chain verification.
    verified: &'a VerifyReport,
    /// What the projection rebuild materialized.
    materialized: &'a Materialized,
    /// The head position of the log.
    position: u64,
    /// The audit lines of an interesting contract, when there is one.
    audit: Option<&'a (uuid::Uuid, Vec<String>)>,
}

/// The printed summary: the run, the requests, the contracts and their money,
/// the refusals, bans and refunds, the chain, the projections, the timings and
/// an audit.
fn print_summary(data: &Path, o: &Outcome<'_>) -> std::io::Result<()> {
    print_requests(data, o)?;
    print_contracts(o.summary)?;
    print_refusals(o)?;
    print_checks(o)
}

/// The run's header and what was asked and judged.
fn print_requests(data: &Path, o: &Outcome<'_>) -> std::io::Result<()> {
    let (plan, r, position) = (o.plan, o.report, o.position);
    let c = &plan.config;
    outln!(
        "navigo-ledger demo — seed {}, {} contracts, {} to {}, ledger {}",
        c.seed,
        c.contracts,
        c.from,
        c.through,
        data.display()
    );
    outln!("(figures from the folded world; the projections are rebuilt and checked below)");
    outln!();
    outln!("Requests");
    outln!(
        "  planned {:>9}   judged {:>9}   accepted {:>9}   already applied {:>7}",
        plan.commands.len(),
        r.sent,
        r.accepted,
        r.already_applied
    );
    outln!(
        "  refused {:>9}   invalid {:>8}   out of order {:>5}   intents with nothing to do {}",
        r.refused_total(),
        r.invalid_total(),
        r.out_of_order,
        r.skipped
    );
    outln!(
        "  events appended: {} by commands, {} by the billing clock; head position {position}",
        r.command_events,
        r.clock_events
    );
    outln!();
    Ok(())
}

/// The contracts by status and product, and the money.
fn print_contracts(s: &Summary) -> std::io::Result<()> {
    outln!("Contracts: {} (persons: {})", s.contracts, s.persons);
    outln!("  by status");
    for (k, n) in &s.by_status {
        outln!("    {k:<40} {n:>7}");
    }
    outln!("  by product");
    for (k, n) in &s.by_product {
        outln!("    {k:<40} {n:>7}");
    }
    outln!();
    let a = &s.amounts;
    outln!("Money (EUR)");
    outln!("  due          {:>16}", a.due.to_string());
    outln!("  collected    {:>16}", a.collected.to_string());
    outln!("  returned     {:>16}", a.returned.to_string());
    outln!(
        "  outstanding  {:>16}   (sum of debts)",
        a.outstanding.to_string()
    );
    outln!(
        "  credit       {:>16}   (sum of credits)",
        a.credit.to_string()
    );
    outln!(
        "  refunds due  {:>16}   (not yet paid)",
        a.refunds_pending.to_string()
    );
    outln!(
        "  balance invariant (balance = due - collected + returned, due = months + fees + cash): {}",
        if s.balance_mismatches == 0 {
            "holds on every contract".to_owned()
        } else {
            format!("BROKEN on {} contracts", s.balance_mismatches)
        }
    );
    outln!();
    Ok(())
}

/// The refusals by rule, the invalid commands by field, the active bans and the
/// refund entitlements.
fn print_refusals(o: &Outcome<'_>) -> std::io::Result<()> {
    let (r, s, c) = (o.report, o.summary, &o.plan.config);
    outln!("Refusals by rule id");
    if r.refused.is_empty() {
        outln!("  none");
    }
    for (rule, n) in &r.refused {
        outln!("  {:<24} {n:>7}", rule.to_string());
        for ex in r.refusal_examples.get(rule).into_iter().flatten().take(1) {
            outln!("      e.g. {ex}");
        }
    }
    if !r.invalid.is_empty() {
        outln!("Invalid commands by field");
        for (field, n) in &r.invalid {
            outln!("  {field:<24} {n:>7}");
            for ex in r.invalid_examples.get(field).into_iter().flatten().take(1) {
                outln!("      e.g. {ex}");
            }
        }
    }
    outln!();
    outln!("Active bans on {}", c.through);
    if s.active_bans.is_empty() {
        outln!("  none");
    }
    for (rule, n) in &s.active_bans {
        outln!("  {:<24} {n:>7}", rule.to_string());
    }
    outln!();
    outln!(
        "Refund entitlements by campaign operation ({} claims filed)",
        s.claims_filed
    );
    if s.refunds_by_operation.is_empty() {
        outln!("  none");
    }
    for (op, e) in &s.refunds_by_operation {
        outln!(
            "  {op:<28} judged {:>6}  eligible {:>6}  amount {:>12}",
            e.judged,
            e.eligible,
            e.amount.to_string()
        );
    }
    outln!();
    Ok(())
}

/// The chain, the rebuilt projections, the timings and the audit of one
/// contract.
fn print_checks(o: &Outcome<'_>) -> std::io::Result<()> {
    let (v, m, t, s) = (o.verified, o.materialized, o.timings, o.summary);
    outln!(
        "Chain: {}",
        match &v.first_bad {
            None => format!(
                "verifies ({} records, {} streams, head {})",
                v.records_checked, v.streams, v.head.hash
            ),
            Some(b) => format!("FAILED at position {}: {}", b.position, b.problem),
        }
    );
    outln!();
    let g = &m.generation;
    outln!(
        "Projections: generation {} as of {}, through position {}",
        g.number,
        g.at,
        g.checkpoint
    );
    for (kind, rows, hash) in &m.views {
        outln!("  {kind:<10} {rows:>8} rows   state hash {hash}");
    }
    outln!(
        "  materialized balances: due {} collected {} returned {}: {}",
        m.due,
        m.collected,
        m.returned,
        if m.agrees_with(s) {
            "equal to the figures above"
        } else {
            "DIFFER from the figures above"
        }
    );
    outln!();
    outln!("Timings");
    for (step, d) in &t.0 {
        outln!("  {step:<30} {:>10}", secs(*d));
    }
    if let Some((step, d)) = t.slowest() {
        outln!("  slowest step: {step} ({})", secs(*d));
    }
    if let Some((id, lines)) = o.audit {
        outln!();
        outln!(
            "Audit of contract {id} (a suspension, a zone change and a rejection where one exists)"
        );
        for l in lines {
            outln!("  {l}");
        }
    }
    Ok(())
}

/// The summary as its view (`--json`).
fn summary_view(o: &Outcome<'_>) -> DemoSummary {
    let (plan, s, c) = (o.plan, o.summary, &o.plan.config);
    let m = o.materialized;
    DemoSummary {
        seed: c.seed,
        contracts_requested: c.contracts,
        from: c.from,
        through: c.through,
        source: "world; projections rebuilt and compared".to_owned(),
        projections: DemoProjections {
            generation: m.generation.number,
            at: m.generation.at,
            checkpoint: m.generation.checkpoint,
            views: m
                .views
                .iter()
                .map(|(k, rows, state_hash)| {
                    let rows = *rows as u64;
                    let state_hash = state_hash.clone();
                    ((*k).to_owned(), DemoViewRows { rows, state_hash })
                })
                .collect(),
            balances: DemoBalances {
                due: m.due,
                collected: m.collected,
                returned: m.returned,
            },
            agree_with_world: m.agrees_with(s),
        },
        requests: requests_view(plan, o.report),
        refused_by_rule: o.report.refused.clone(),
        invalid_by_field: (o.report.invalid.iter())
            .map(|(k, n)| ((*k).to_owned(), *n))
            .collect(),
        contracts: s.contracts,
        persons: s.persons,
        by_status: s.by_status.clone(),
        by_product: s.by_product.clone(),
        amounts: amounts_view(s),
        balance_mismatches: s.balance_mismatches,
        active_bans: s.active_bans.clone(),
        claims_filed: s.claims_filed,
        refunds_by_operation: refunds_view(s),
        chain: DemoChain {
            ok: o.verified.first_bad.is_none(),
            records: o.verified.records_checked,
            head: o.verified.head.hash,
        },
        timings_s: (o.timings.0.iter())
            .map(|(k, d)| ((*k).to_owned(), d.as_secs_f64()))
            .collect(),
        audit: o.audit.map(|(id, lines)| DemoAudit {
            contract: *id,
            events: lines.clone(),
        }),
    }
}

fn requests_view(plan: &Plan, r: &DriveReport) -> DemoRequests {
    DemoRequests {
        planned: plan.commands.len() as u64,
        judged: r.sent,
        accepted: r.accepted,
        already_applied: r.already_applied,
        refused: r.refused_total(),
        invalid: r.invalid_total(),
        out_of_order: r.out_of_order,
        intents_skipped: r.skipped,
        command_events: r.command_events,
        clock_events: r.clock_events,
    }
}

fn amounts_view(s: &Summary) -> DemoAmounts {
    let a = &s.amounts;
    DemoAmounts {
        due: a.due,
        collected: a.collected,
        returned: a.returned,
        outstanding: a.outstanding,
        credit: a.credit,
        refunds_pending: a.refunds_pending,
    }
}

fn refunds_view(s: &Summary) -> BTreeMap<String, DemoOperationRefunds> {
    (s.refunds_by_operation.iter())
        .map(|(k, e)| {
            let entry = DemoOperationRefunds {
                judged: e.judged,
                eligible: e.eligible,
                amount: e.amount,
            };
            (k.clone(), entry)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn demo_through_defaults_to_yesterday_of_the_injected_today() {
        // Given today is 2026-03-01 (Europe/Paris), when no --through is given,
        // then the demo simulates through 2026-02-28.
        let from = d(2024, 1, 1);
        assert_eq!(
            through_day(None, from, d(2026, 3, 1)).expect("default"),
            d(2026, 2, 28)
        );
        // And on 1 January, through the last day of the year before.
        assert_eq!(
            through_day(None, from, d(2027, 1, 1)).expect("default"),
            d(2026, 12, 31)
        );
    }

    #[test]
    fn demo_through_today_or_later_is_refused_naming_the_last_day_allowed() {
        // Given today is 2026-12-06, when --through is today or the old default
        // 2026-12-31, then it is refused with the last day allowed.
        let from = d(2024, 1, 1);
        let today = d(2026, 12, 6);
        for asked in [today, d(2026, 12, 31)] {
            let e = through_day(Some(asked), from, today).expect_err("refused");
            assert!(e.0.contains("give --through 2026-12-05 or earlier"), "{e}");
            assert!(e.0.contains("future"), "{e}");
        }
        // Yesterday and earlier are accepted as given.
        assert_eq!(
            through_day(Some(d(2026, 12, 5)), from, today).expect("yesterday"),
            d(2026, 12, 5)
        );
        assert_eq!(
            through_day(Some(d(2025, 6, 30)), from, today).expect("past"),
            d(2025, 6, 30)
        );
        // Before --from is refused.
        assert!(through_day(Some(d(2023, 12, 31)), from, today).is_err());
    }
}
