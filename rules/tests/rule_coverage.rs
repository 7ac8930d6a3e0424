//! Rule coverage: (a) `RuleId` is exactly the set of ids of RULES.md; (b) every
//! rule id has at least one test named after it, in snake case.
//!
//! Part (b) scans every Rust source of the workspace (every crate's folder under
//! the workspace root, the binary's `src/` and `tests/` included; hidden folders
//! and `target` are skipped) for test functions: a `fn` after
//! a `#[test]`, `#[tokio::test]` or `#[proptest]` attribute, or any `fn` inside a
//! `proptest! { ... }` block. A test name proves a rule when the rule's snake-case
//! id appears in it at a word boundary and no longer id matches at the same
//! place (`pay_cash_refund_...` proves `PAY-CASH-REFUND`, not `PAY-CASH`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use navigo_events_schema::RuleId;

const RULES_MD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/RULES.md");
/// The rulebook names look like rule ids but are not.
const NOT_RULE_IDS: [&str; 2] = ["CGU-2011", "CGVU-2026"];
/// Deepest folder nesting scanned (a named bound against symlink loops).
const SCAN_DEPTH_MAX: u32 = 12;

/// The backticked ids of a RULES.md text: `UPPER-CASE-IDS` with at least one
/// hyphen, starting with a letter.
fn rule_ids_of(markdown: &str) -> BTreeSet<String> {
    markdown
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.starts_with(|c: char| c.is_ascii_uppercase())
                && s.contains('-')
                && s.split('-').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                })
        })
        .filter(|s| !NOT_RULE_IDS.contains(s))
        .map(str::to_owned)
        .collect()
}

#[test]
fn rule_id_enum_equals_the_ids_of_rules_md() {
    let text =
        std::fs::read_to_string(RULES_MD).unwrap_or_else(|e| panic!("cannot read {RULES_MD}: {e}"));
    let in_md = rule_ids_of(&text);
    let in_enum: BTreeSet<String> = RuleId::ALL.iter().map(|r| r.as_str().to_owned()).collect();
    let missing_in_enum: Vec<&String> = in_md.difference(&in_enum).collect();
    let missing_in_md: Vec<&String> = in_enum.difference(&in_md).collect();
    assert!(
        missing_in_enum.is_empty() && missing_in_md.is_empty(),
        "RULES.md ids not in RuleId: {missing_in_enum:?}; RuleId variants not in RULES.md: {missing_in_md:?}"
    );
    assert_eq!(
        RuleId::ALL.len(),
        in_enum.len(),
        "RuleId::ALL lists an id twice"
    );
}

fn rust_files(dir: &Path, depth: u32, out: &mut Vec<PathBuf>) {
    if depth > SCAN_DEPTH_MAX {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // This file's own scanner fixture would count as tests: skip it.
        if name.starts_with('.') || name == "target" || name == "rule_coverage.rs" {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, depth + 1, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The name of the function declared on a line, if any: `fn name(` or
/// `fn name<`.
fn fn_name(line: &str) -> Option<String> {
    let mut t = line.trim_start();
    for prefix in ["pub(crate) ", "pub ", "async "] {
        t = t.strip_prefix(prefix).unwrap_or(t);
    }
    let rest = t.strip_prefix("fn ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The test function names of one Rust source.
fn test_names(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending_test_attr = false;
    // Brace depth inside a `proptest!` block (0: outside).
    let mut proptest_depth: i64 = 0;
    for line in source.lines() {
        let t = line.trim();
        if proptest_depth == 0 && t.starts_with("proptest!") {
            let opens = t.matches('{').count() as i64 - t.matches('}').count() as i64;
            proptest_depth = opens.max(0);
            if proptest_depth == 0 && !t.contains('}') {
                // `proptest!` with the brace on the next line.
                proptest_depth = -1;
            }
            continue;
        }
        if proptest_depth == -1 {
            let opens = t.matches('{').count() as i64 - t.matches('}').count() as i64;
            if opens > 0 {
                proptest_depth = opens;
            }
            continue;
        }
        if proptest_depth > 0 {
            if let Some(name) = fn_name(t) {
                out.push(name);
            }
            proptest_depth += t.matches('{').count() as i64 - t.matches('}').count() as i64;
            if proptest_depth <= 0 {
                proptest_depth = 0;
            }
            continue;
        }
        if t.starts_with("#[test]")
            || t.starts_with("#[tokio::test")
            || t.starts_with("#[proptest")
            || t.starts_with("#[test_case")
        {
            pending_test_attr = true;
            continue;
        }
        if pending_test_attr {
            if t.starts_with("#[") || t.starts_with("//") || t.is_empty() {
                continue;
            }
            if let Some(name) = fn_name(t) {
                out.push(name);
            }
            pending_test_attr = false;
        }
    }
    out
}

/// The rule ids a test name proves: at each word boundary, the longest id that
/// matches there and ends at a word boundary.
fn ids_proved_by(name: &str, ids: &[(RuleId, String)]) -> Vec<RuleId> {
    let mut out = Vec::new();
    let starts = std::iter::once(0).chain(name.match_indices('_').map(|(i, _)| i + 1));
    for start in starts {
        let rest = &name[start..];
        let best = ids
            .iter()
            .filter(|(_, snake)| {
                rest.starts_with(snake.as_str())
                    && (rest.len() == snake.len() || rest[snake.len()..].starts_with('_'))
            })
            .max_by_key(|(_, snake)| snake.len());
        if let Some((rule, _)) = best {
            out.push(*rule);
        }
    }
    out
}

#[test]
fn the_coverage_scanner_finds_tests_and_matches_the_longest_id() {
    let src = r#"
        #[test]
        fn pay_cash_refund_is_computed() {}
        #[tokio::test]
        #[allow(dead_code)]
        async fn sub_window_online() {}
        fn helper_not_a_test() {}
        proptest! {
            #[test]
            fn tar_prorata_never_exceeds(x in 0u32..3) { let _ = x; }
        }
        fn ban_fraud_3y_outside() {}
    "#;
    let names = test_names(src);
    assert_eq!(
        names,
        [
            "pay_cash_refund_is_computed",
            "sub_window_online",
            "tar_prorata_never_exceeds"
        ]
    );
    let ids: Vec<(RuleId, String)> = RuleId::ALL.iter().map(|r| (*r, r.snake_case())).collect();
    assert_eq!(
        ids_proved_by("pay_cash_refund_is_computed", &ids),
        [RuleId::PayCashRefund]
    );
    assert_eq!(ids_proved_by("pay_cash_renewal", &ids), [RuleId::PayCash]);
    assert_eq!(ids_proved_by("sub_windows", &ids), Vec::<RuleId>::new());
}

#[test]
fn every_rule_id_has_a_test() {
    // The workspace root: every crate lies under it, so a crate added later is
    // scanned without a list to keep in step.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&root, 0, &mut files);
    assert!(
        !files.is_empty(),
        "no Rust file found under {}",
        root.display()
    );
    let ids: Vec<(RuleId, String)> = RuleId::ALL.iter().map(|r| (*r, r.snake_case())).collect();
    let mut proved: BTreeSet<RuleId> = BTreeSet::new();
    for f in &files {
        let Ok(src) = std::fs::read_to_string(f) else {
            continue;
        };
        for name in test_names(&src) {
            proved.extend(ids_proved_by(&name, &ids));
        }
    }
    let missing: Vec<&str> = RuleId::ALL
        .iter()
        .filter(|r| !proved.contains(r))
        .map(|r| r.as_str())
        .collect();
    println!(
        "rule ids without a test ({}): {}",
        missing.len(),
        missing.join(" ")
    );
    assert!(
        missing.is_empty(),
        "{} rule ids have no test named after them (snake case): {}",
        missing.len(),
        missing.join(" ")
    );
}
