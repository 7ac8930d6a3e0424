//! `navigo-ledger bans PERSON [--at DATE] [--known-at INSTANT] [--json]`: a
//! person's ban windows and whether they may be payer or holder on the date.

use std::io::Write;
use std::process::ExitCode;

use navigo_events_schema::views::MayBe;

use super::as_of::{person_view, PersonArgs};
use super::exit::CmdResult;
use super::output::name;
use crate::app::place::Place;
use crate::app::read::person_bans;

/// Arguments of `bans`: a person and the shared ones.
pub type Args = PersonArgs;

/// Prints the ban windows.
///
/// # Errors
/// Bad input (exit 2), an unknown person, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let Some(b) = person_view(data, &args, "bans", person_bans).await? else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "person {} on {}", b.person, b.as_of.at)?;
    let verdict = |m: &MayBe| match &m.forbidden_by {
        None => "yes".to_owned(),
        Some(w) => format!("no: {} until {} (exclusive)", w.rule, w.end),
    };
    writeln!(out, "may be payer   {}", verdict(&b.may_be_payer))?;
    writeln!(out, "may be holder  {}", verdict(&b.may_be_holder))?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<16}  {:<6}  {:<10}  {:<10}  {:<6}  {:<36}  LIFTED",
        "RULE", "ROLE", "START", "END", "ACTIVE", "OPENED BY"
    )?;
    for w in &b.windows {
        writeln!(
            out,
            "{:<16}  {:<6}  {:<10}  {:<10}  {:<6}  {:<36}  {}",
            w.rule.to_string(),
            name(&w.role),
            w.start,
            w.end,
            if w.active { "yes" } else { "no" },
            w.opened_by_event,
            w.lifted
                .as_ref()
                .map(|l| format!("{}: {}", l.date, l.why))
                .unwrap_or_else(|| "-".into())
        )?;
    }
    if b.windows.is_empty() {
        writeln!(out, "(no ban window)")?;
    }
    Ok(ExitCode::SUCCESS)
}
