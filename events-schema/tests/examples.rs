//! The examples under `events-schema/examples/` are checked two ways: against the
//! committed JSON Schema, and by the serde types themselves. An example that one
//! accepts and the other refuses means the schema and the types disagree.
//!
//! Layout:
//! - `examples/events/<Type>.v<N>.json` or `<Type>.v<N>.<label>.json`: the `data`
//!   object of one event of that type and schema version. Every schema under
//!   `schemas/events/` needs at least one.
//! - `examples/commands/<Label>.json`: one `CommandEnvelope`. Every variant of
//!   `Command` needs at least one.
//! - `examples/raw-event-lines.jsonl`: lines in the `navigo-ledger append` format.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use navigo_events_schema::upcast::decode_event_on;
use navigo_events_schema::{schema_files, CommandEnvelope, RawEventLine};
use serde_json::{json, Value};

/// The effective date the examples are decoded on: an upcast may read the
/// envelope's effective date (a `ContractSuspended` v1 derives its first month
/// not due from it), and an example holds only the `data` object.
fn example_effective_date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("a date")
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The committed schema at `schemas/<rel>`.
fn committed_schema(rel: &str) -> Value {
    read_json(&crate_dir().join("schemas").join(rel))
}

/// A validator that also checks formats (`date`, `date-time`, `uuid`), which the
/// types check too: an example with 2026-02-30 must fail here, not only in serde.
fn validator(schema: &Value, what: &str) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("the schema of {what} does not compile: {e}"))
}

/// Every schema error of `instance`, one line each, with its instance path.
fn schema_errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
        .collect()
}

/// The `.json` files of a directory, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    out.sort();
    out
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Splits `Type.vN.json` or `Type.vN.label.json` into the type and version.
fn event_example_key(name: &str) -> Option<(String, u32)> {
    let stem = name.strip_suffix(".json")?;
    let mut parts = stem.split('.');
    let type_name = parts.next()?;
    let version = parts.next()?.strip_prefix('v')?.parse().ok()?;
    if parts.count() > 1 || type_name.is_empty() {
        return None;
    }
    Some((type_name.to_owned(), version))
}

/// Every event schema as (type, version) → path relative to `schemas/`, from both
/// the types and the committed files, so that neither a new type nor a stale file
/// can go without an example.
fn event_schema_keys() -> BTreeMap<(String, u32), String> {
    let mut keys = BTreeMap::new();
    for f in schema_files() {
        if let Some(name) = f.path.strip_prefix("events/") {
            let key = event_example_key(name)
                .unwrap_or_else(|| panic!("schema path {} is not Type.vN.json", f.path));
            keys.insert(key, f.path.clone());
        }
    }
    for p in json_files(&crate_dir().join("schemas/events")) {
        let name = file_name(&p);
        let key = event_example_key(&name)
            .unwrap_or_else(|| panic!("schema file {name} is not Type.vN.json"));
        keys.insert(key, format!("events/{name}"));
    }
    keys
}

#[test]
fn every_event_example_validates_and_decodes() {
    // Given every event example and the schema named by its file
    let keys = event_schema_keys();
    let mut covered = BTreeSet::new();
    let mut problems = Vec::new();
    let examples = json_files(&crate_dir().join("examples/events"));
    assert!(!examples.is_empty(), "no event examples found");

    for path in &examples {
        let name = file_name(path);
        let Some(key) = event_example_key(&name) else {
            problems.push(format!(
                "{name}: not named Type.vN.json or Type.vN.label.json"
            ));
            continue;
        };
        let Some(schema_path) = keys.get(&key) else {
            problems.push(format!(
                "{name}: no schema events/{}.v{}.json",
                key.0, key.1
            ));
            continue;
        };
        covered.insert(key.clone());
        let data = read_json(path);

        // Then it validates against its committed schema
        let schema = committed_schema(schema_path);
        for e in schema_errors(&validator(&schema, schema_path), &data) {
            problems.push(format!("{name}: schemas/{schema_path} {e}"));
        }

        // And the types decode it with the version in its file name
        let event =
            match decode_event_on(&key.0, key.1, &data.to_string(), example_effective_date()) {
                Ok(event) => event,
                Err(e) => {
                    problems.push(format!("{name}: does not decode: {e}"));
                    continue;
                }
            };

        // And what the types write back validates against the current schema, so
        // that the schema accepts every payload the ledger itself stores
        let current = format!(
            "events/{}.v{}.json",
            event.type_name(),
            event.schema_version()
        );
        let written = event.data_to_value().expect("an event serialises");
        let current_schema = committed_schema(&current);
        for e in schema_errors(&validator(&current_schema, &current), &written) {
            problems.push(format!(
                "{name}: re-encoded payload against schemas/{current} {e}"
            ));
        }
    }

    // And every event schema has at least one example
    for (key, schema_path) in &keys {
        if !covered.contains(key) {
            problems.push(format!(
                "schemas/{schema_path} has no example: add examples/events/{}.v{}.json",
                key.0, key.1
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "event examples:\n  {}",
        problems.join("\n  ")
    );
}

/// The tag of every `Command` variant, read from the command schema's `oneOf`.
fn command_tags(schema: &Value) -> BTreeSet<String> {
    let branches = schema
        .pointer("/$defs/Command/oneOf")
        .and_then(Value::as_array)
        .expect("the command schema has $defs/Command/oneOf");
    branches
        .iter()
        .map(|b| {
            b.pointer("/properties/type/const")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("a Command branch has no type const: {b}"))
                .to_owned()
        })
        .collect()
}

#[test]
fn every_command_variant_has_an_example_that_validates_and_deserializes() {
    // Given the command schema, from the types and as committed
    let generated = schema_files()
        .into_iter()
        .find(|f| f.path == "command.json")
        .expect("schema_files publishes command.json");
    let generated = serde_json::to_value(&generated.schema).expect("a schema serialises");
    let committed = committed_schema("command.json");
    let mut expected = command_tags(&generated);
    expected.extend(command_tags(&committed));
    let v = validator(&committed, "command.json");

    let mut covered = BTreeSet::new();
    let mut problems = Vec::new();
    for path in json_files(&crate_dir().join("examples/commands")) {
        let name = file_name(&path);
        let example = read_json(&path);

        // Then each example validates against the committed schema
        for e in schema_errors(&v, &example) {
            problems.push(format!("{name}: schemas/command.json {e}"));
        }
        // And deserialises into a CommandEnvelope
        match serde_json::from_value::<CommandEnvelope>(example.clone()) {
            Ok(envelope) => {
                // And what the type writes back validates too
                let written = serde_json::to_value(&envelope).expect("a command serialises");
                for e in schema_errors(&v, &written) {
                    problems.push(format!("{name}: re-encoded command {e}"));
                }
            }
            Err(e) => problems.push(format!("{name}: does not deserialise: {e}")),
        }
        match example.pointer("/command/type").and_then(Value::as_str) {
            Some(tag) => {
                covered.insert(tag.to_owned());
            }
            None => problems.push(format!("{name}: no command.type")),
        }
    }

    // And every variant has an example
    for tag in expected.difference(&covered) {
        problems.push(format!(
            "Command::{tag} has no example: add examples/commands/{tag}.json"
        ));
    }
    assert!(
        problems.is_empty(),
        "command examples:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn raw_event_line_examples_validate_and_decode() {
    // Given the example input of `navigo-ledger append`
    let path = crate_dir().join("examples/raw-event-lines.jsonl");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let line_schema = committed_schema("raw-event-line.json");
    let v = validator(&line_schema, "raw-event-line.json");

    let mut problems = Vec::new();
    let mut lines = 0u32;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        lines += 1;
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("line {n}: not JSON: {e}"));
                continue;
            }
        };
        // Then each line validates against the raw line schema
        for e in schema_errors(&v, &value) {
            problems.push(format!("line {n}: schemas/raw-event-line.json {e}"));
        }
        // And its data against the schema of its type and version
        if let (Some(t), Some(ver)) = (
            value.get("type").and_then(Value::as_str),
            value.get("schema_version").and_then(Value::as_u64),
        ) {
            let rel = format!("events/{t}.v{ver}.json");
            let data_schema = committed_schema(&rel);
            for e in schema_errors(&validator(&data_schema, &rel), &value["data"]) {
                problems.push(format!("line {n}: data against schemas/{rel} {e}"));
            }
        }
        // And it decodes into a RawEventLine whose event decodes
        match serde_json::from_value::<RawEventLine>(value) {
            Ok(raw) => {
                if let Err(e) = raw.event() {
                    problems.push(format!("line {n}: event does not decode: {e}"));
                }
            }
            Err(e) => problems.push(format!("line {n}: not a raw event line: {e}")),
        }
    }
    assert!(lines > 0, "no lines in {}", path.display());
    assert!(
        problems.is_empty(),
        "raw event lines:\n  {}",
        problems.join("\n  ")
    );
}

/// An example payload with one change applied.
fn mutated(example: &str, pointer: &str, value: Value) -> Value {
    let mut data = read_json(&crate_dir().join("examples/events").join(example));
    match data.pointer_mut(pointer) {
        Some(slot) => *slot = value,
        None => {
            // A pointer to a field that does not exist adds it to the parent object.
            let (parent, field) = pointer.rsplit_once('/').expect("a JSON pointer");
            data.pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .unwrap_or_else(|| panic!("{example} has no object at {parent:?}"))
                .insert(field.to_owned(), value);
        }
    }
    data
}

#[test]
fn schema_and_types_refuse_the_same_bad_payloads() {
    // Given valid examples with one deliberate mistake each, and the serde error
    // text that must name the mistake
    let cases: [(&str, &str, &str, Value, &str); 7] = [
        (
            "unknown field",
            "ContractSubscribed.v1.json",
            "/promo_code",
            json!("NOEL2026"),
            "unknown field `promo_code`",
        ),
        (
            "zones with the higher zone first",
            "ZonesChanged.v1.json",
            "/to",
            json!("3-2"),
            "invalid zones \"3-2\"",
        ),
        (
            "zones of one zone only",
            "ZonesChanged.v1.json",
            "/from",
            json!("1-1"),
            "invalid zones \"1-1\"",
        ),
        (
            "money with three decimals",
            "DebtSettled.v1.json",
            "/amount",
            json!("1.005"),
            "invalid amount \"1.005\"",
        ),
        (
            "money as a JSON number",
            "DebtSettled.v1.json",
            "/amount",
            json!(90.8),
            "invalid type",
        ),
        (
            "debit day not in 1, 2, 8, 12",
            "DebitDayChanged.v1.json",
            "/debit_day",
            json!(5),
            "invalid debit day \"5\"",
        ),
        (
            "reason code in lower case",
            "DebitRejected.v1.json",
            "/reason_code",
            json!("am04"),
            "invalid reason code \"am04\"",
        ),
    ];

    let mut problems = Vec::new();
    for (what, example, pointer, bad, serde_needle) in cases {
        let data = mutated(example, pointer, bad);
        let (type_name, version) = event_example_key(example).expect("a Type.vN.json name");
        let rel = format!("events/{type_name}.v{version}.json");

        // When the schema and the types judge it
        let schema_ok = validator(&committed_schema(&rel), &rel).is_valid(&data);
        let decoded = decode_event_on(
            &type_name,
            version,
            &data.to_string(),
            example_effective_date(),
        );

        // Then both refuse it, and serde says why
        if schema_ok {
            problems.push(format!("{what}: schemas/{rel} accepts {data}"));
        }
        match decoded {
            Ok(_) => problems.push(format!("{what}: the types accept {data}")),
            Err(e) => {
                let text = format!("{e}");
                if !text.contains(serde_needle) {
                    problems.push(format!(
                        "{what}: serde error {text:?} lacks {serde_needle:?}"
                    ));
                }
            }
        }
    }

    // And a command of an unknown type, or a raw line without its version, too
    let mut command = read_json(&crate_dir().join("examples/commands/Suspend.json"));
    command["command"]["type"] = json!("Pause");
    if validator(&committed_schema("command.json"), "command.json").is_valid(&command) {
        problems.push("unknown command type: schemas/command.json accepts it".into());
    }
    if serde_json::from_value::<CommandEnvelope>(command).is_ok() {
        problems.push("unknown command type: CommandEnvelope accepts it".into());
    }
    let text = fs::read_to_string(crate_dir().join("examples/raw-event-lines.jsonl"))
        .expect("raw event lines");
    let mut line: Value =
        serde_json::from_str(text.lines().next().expect("a line")).expect("a JSON line");
    line.as_object_mut()
        .expect("an object")
        .remove("schema_version");
    if validator(
        &committed_schema("raw-event-line.json"),
        "raw-event-line.json",
    )
    .is_valid(&line)
    {
        problems.push("raw line without schema_version: the schema accepts it".into());
    }
    if serde_json::from_value::<RawEventLine>(line).is_ok() {
        problems.push("raw line without schema_version: RawEventLine accepts it".into());
    }

    assert!(
        problems.is_empty(),
        "the schema and the types disagree:\n  {}",
        problems.join("\n  ")
    );
}
