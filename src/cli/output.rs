//! How the command line prints its views.
//!
//! The outputs that were JSON maps before they were views (every `--json`
//! output but those of the five projection views, and the lines of `apply` and
//! `advance`) are written through serde_json's `Value`, whose object keys come
//! out sorted: the order those outputs have always had, kept byte for byte
//! whatever order a view declares its fields in. The projections' views
//! (`state`, `balance`, `calendar`, `bans`, `refunds --json`) have always been
//! written in the order their fields are declared, and still are.

use std::io::Write;

use anyhow::Context;
use serde::Serialize;

/// Prints a view as pretty JSON, its fields in their declared order.
///
/// # Errors
/// A write failure.
pub fn print_json<T: Serialize>(view: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(view).context("serialising the view")?;
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}

/// A view as `serde_json::Value`: object keys sorted.
///
/// # Errors
/// A view that does not serialise (none does not).
pub fn sorted<T: Serialize>(view: &T) -> anyhow::Result<serde_json::Value> {
    serde_json::to_value(view).context("serialising the view")
}

/// Prints a view as pretty JSON, object keys sorted.
///
/// # Errors
/// A write failure.
pub fn print_json_sorted<T: Serialize>(view: &T) -> anyhow::Result<()> {
    print_json(&sorted(view)?)
}

/// Prints a view as one line of JSON, object keys sorted.
///
/// # Errors
/// A write failure.
pub fn print_json_line<T: Serialize>(view: &T) -> anyhow::Result<()> {
    writeln!(std::io::stdout().lock(), "{}", sorted(view)?)?;
    Ok(())
}

/// The snake-case name a view gives an enum value (its JSON form).
pub fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

/// An amount in euros, right-aligned by the caller.
pub fn eur(m: navigo_events_schema::Money) -> String {
    format!("{m} €")
}
