//! The committed JSON Schemas under `events-schema/schemas/` are generated from the
//! types. This test regenerates them and fails when the committed files drift from
//! the types, so that a change to an event or command type is always visible in
//! review as a change to its schema file.
//!
//! `NAVIGO_BLESS=1 cargo test -p navigo-events-schema --test schemas` rewrites the
//! files (and removes those no longer generated) instead of failing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use navigo_events_schema::schema_files;

/// The command that rewrites the committed schemas.
const BLESS_HINT: &str = "run NAVIGO_BLESS=1 cargo test -p navigo-events-schema --test schemas";

/// Deepest directory nesting walked under `schemas/`; the layout uses one level.
const SCHEMA_DIR_DEPTH_MAX: u32 = 4;

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

/// Every schema as it must be committed: pretty JSON and a trailing newline, keyed by
/// its path relative to `schemas/` (always with `/` separators).
fn generated() -> BTreeMap<String, String> {
    schema_files()
        .into_iter()
        .map(|f| {
            let mut text = serde_json::to_string_pretty(&f.schema).expect("a schema serialises");
            text.push('\n');
            (f.path, text)
        })
        .collect()
}

/// Every `.json` file committed under `schemas/`, keyed like [`generated`].
fn committed() -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, depth: u32, out: &mut BTreeMap<String, String>) {
        assert!(
            depth <= SCHEMA_DIR_DEPTH_MAX,
            "{} is nested deeper than {SCHEMA_DIR_DEPTH_MAX} levels",
            dir.display()
        );
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                walk(root, &path, depth + 1, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                let rel = path
                    .strip_prefix(root)
                    .expect("under the root")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let text = fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                out.insert(rel, text);
            }
        }
    }
    let root = schemas_dir();
    let mut out = BTreeMap::new();
    walk(&root, &root, 0, &mut out);
    out
}

/// The first line where two texts differ, for the failure message.
fn first_difference(committed: &str, generated: &str) -> String {
    let mut c = committed.lines();
    let mut g = generated.lines();
    let mut n = 1;
    loop {
        match (c.next(), g.next()) {
            (Some(a), Some(b)) if a == b => n += 1,
            (None, None) => return "trailing whitespace or newline".into(),
            (a, b) => {
                return format!(
                    "line {n}: committed {:?}, generated {:?}",
                    a.unwrap_or("<end of file>"),
                    b.unwrap_or("<end of file>")
                )
            }
        }
    }
}

fn bless(generated: &BTreeMap<String, String>, committed: &BTreeMap<String, String>) {
    let root = schemas_dir();
    for (path, text) in generated {
        let file = root.join(path);
        if let Some(dir) = file.parent() {
            fs::create_dir_all(dir).expect("create the schema directory");
        }
        if committed.get(path) != Some(text) {
            fs::write(&file, text).expect("write the schema");
        }
    }
    for path in committed.keys().filter(|p| !generated.contains_key(*p)) {
        fs::remove_file(root.join(path)).expect("remove a schema no longer generated");
    }
}

#[test]
fn schemas_match_the_types() {
    // Given the schemas generated from the types and those committed
    let generated = generated();
    let committed = committed();

    if std::env::var("NAVIGO_BLESS").is_ok_and(|v| v == "1") {
        bless(&generated, &committed);
        return;
    }

    // Then every generated schema is committed, unchanged, and nothing else is
    let mut problems = Vec::new();
    for (path, text) in &generated {
        match committed.get(path) {
            None => problems.push(format!("missing: schemas/{path}")),
            Some(c) if c != text => problems.push(format!(
                "drifted: schemas/{path} ({})",
                first_difference(c, text)
            )),
            Some(_) => {}
        }
    }
    for path in committed.keys().filter(|p| !generated.contains_key(*p)) {
        problems.push(format!("extra (no longer generated): schemas/{path}"));
    }
    assert!(
        problems.is_empty(),
        "the committed JSON Schemas differ from the types:\n  {}\n{BLESS_HINT}, review the \
         diff, and add or update an example under events-schema/examples/ for every new \
         event type or version",
        problems.join("\n  ")
    );
}

#[test]
fn schema_paths_name_every_event_type_and_version() {
    // Given the schema files and the event types
    let paths: Vec<String> = schema_files().into_iter().map(|f| f.path).collect();

    // Then each current (type, version) has its file, plus the command and raw line
    for (name, version) in navigo_events_schema::Event::TYPES {
        let expected = format!("events/{name}.v{version}.json");
        assert!(paths.contains(&expected), "no schema file {expected}");
    }
    assert!(paths.iter().any(|p| p == "command.json"));
    assert!(paths.iter().any(|p| p == "raw-event-line.json"));
    // And paths are unique, so that no schema overwrites another on disk
    let mut unique = paths.clone();
    unique.dedup();
    assert_eq!(unique.len(), paths.len(), "duplicate schema paths");
}
