//! No field of a command is ever silently dropped: every command, every nested
//! object and every enum variant refuses unknown and contradictory fields, and
//! the error names the offending field by its path (`command.product.zones`).
//! Amounts of a command are bounded (`Money::COMMAND_AMOUNT_EUROS_MAX`).

use std::fs;
use std::path::{Path, PathBuf};

use navigo_events_schema::{from_json_str, CommandEnvelope, FieldError};
use proptest::prelude::*;
use serde_json::{json, Value};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/commands")
}

/// Every example command, as (file name, JSON), sorted.
fn examples() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = fs::read_dir(examples_dir())
        .expect("the examples directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = fs::read_to_string(&p).expect("an example");
            let name = p
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (name, serde_json::from_str(&text).expect("JSON"))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn example(name: &str) -> Value {
    examples()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no example {name}"))
        .1
}

/// Decodes a command the way `apply` and the service do.
fn decode(v: &Value) -> Result<CommandEnvelope, FieldError> {
    CommandEnvelope::from_json(&v.to_string())
}

/// The field an input is refused for; panics when it is accepted.
fn refused_field(v: &Value) -> (Option<String>, String) {
    match decode(v) {
        Ok(c) => panic!("accepted: {v}\nas {c:?}"),
        Err(e) => (e.field, e.message),
    }
}

/// The JSON path (`command.prices[1]`) of every object in a JSON tree, the root
/// as the empty path.
fn object_paths(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(fields) => {
            out.push(at.to_owned());
            for (k, x) in fields {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                object_paths(x, &path, out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                object_paths(x, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The object at a path made by [`object_paths`].
fn object_at<'v>(v: &'v mut Value, path: &str) -> &'v mut serde_json::Map<String, Value> {
    let mut pointer = String::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(k, rest)| (k, rest));
        pointer.push('/');
        pointer.push_str(key);
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            pointer.push('/');
            pointer.push_str(index.trim_end_matches(']'));
        }
    }
    v.pointer_mut(&pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {path}"))
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z0-9 -]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn every_example_command_decodes_strictly() {
    // The property below adds to valid commands: each example must be one.
    for (name, v) in examples() {
        if let Err(e) = decode(&v) {
            panic!("{name}: {e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// For every example command, a field no type knows, added to any object of
    /// the JSON tree, is refused and named by its path.
    #[test]
    fn an_unknown_field_at_any_depth_of_any_command_is_refused_with_its_path(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        name in "x_[a-z]{1,10}",
        value in any_json(),
    ) {
        let all = examples();
        let (file, mut v) = all[which.index(all.len())].clone();
        let mut paths = Vec::new();
        object_paths(&v, "", &mut paths);
        let path = paths[at.index(paths.len())].clone();
        object_at(&mut v, &path).insert(name.clone(), value);
        let expected = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
        let (field, message) = match decode(&v) {
            Ok(_) => panic!("{file}: {expected} was accepted"),
            Err(e) => (e.field, e.message),
        };
        prop_assert_eq!(field.as_deref(), Some(expected.as_str()), "{}: {}", file, message);
        prop_assert!(message.contains("unknown field"), "{}: {}", file, message);
    }
}

#[test]
fn an_unknown_field_is_refused_in_every_object_of_every_example() {
    // The exhaustive companion of the property: every object of every example.
    for (file, v) in examples() {
        let mut paths = Vec::new();
        object_paths(&v, "", &mut paths);
        for path in paths {
            let mut bad = v.clone();
            object_at(&mut bad, &path).insert("x_unknown".into(), json!(1));
            let expected = if path.is_empty() {
                "x_unknown".to_owned()
            } else {
                format!("{path}.x_unknown")
            };
            let (field, message) = refused_field(&bad);
            assert_eq!(
                field.as_deref(),
                Some(expected.as_str()),
                "{file}: {message}"
            );
        }
    }
}

#[test]
fn sub_senior_product_given_zones_is_refused_not_read_as_plain_senior() {
    // Given a Senior subscription whose product also names zones
    let mut v = example("Subscribe.json");
    v["command"]["product"] = json!({"kind": "senior", "zones": "2-3"});
    // Then it is refused, naming the zones of the product
    let (field, message) = refused_field(&v);
    assert_eq!(field.as_deref(), Some("command.product.zones"), "{message}");
    assert!(message.contains("unknown field `zones`"), "{message}");
}

#[test]
fn pay_method_cash_given_a_debit_day_and_a_mandate_is_refused() {
    // Given a cash payment that also carries a direct debit's fields
    let mut v = example("Subscribe.json");
    let mandate = example("Subscribe.json")["command"]["payment"]["mandate"].clone();
    v["command"]["payment"] = json!({
        "method": "cash",
        "debit_day": 8,
        "mandate": mandate
    });
    // Then it is refused, naming the first of them
    let (field, message) = refused_field(&v);
    assert_eq!(
        field.as_deref(),
        Some("command.payment.debit_day"),
        "{message}"
    );
    // And the mandate alone is refused too
    v["command"]["payment"] = json!({"method": "cash", "mandate": mandate});
    let (field, _) = refused_field(&v);
    assert_eq!(field.as_deref(), Some("command.payment.mandate"));
}

#[test]
fn pay_method_a_bad_mandate_is_refused_naming_its_field_and_never_repeating_the_iban() {
    let at = |pointer: &str, value: Value| with(example("Subscribe.json"), pointer, value);
    let iban = "/command/payment/mandate/debtor/iban";
    for (what, v, field) in [
        // A wrong checksum (the last digit of a valid IBAN changed).
        (
            "checksum",
            at(iban, json!("FR7630006000011234567890188")),
            "command.payment.mandate.debtor.iban",
        ),
        // Too short for France.
        (
            "length",
            at(iban, json!("FR763000600001123456789018")),
            "command.payment.mandate.debtor.iban",
        ),
        // A valid IBAN of a country outside SEPA (Brazil).
        (
            "country",
            at(iban, json!("BR1800360305000010009795493C1")),
            "command.payment.mandate.debtor.iban",
        ),
        (
            "BIC",
            at("/command/payment/mandate/debtor/bic", json!("BNPA")),
            "command.payment.mandate.debtor.bic",
        ),
        (
            "holder's name",
            at("/command/payment/mandate/debtor/holder_name", json!("  ")),
            "command.payment.mandate.debtor.holder_name",
        ),
        (
            "reference",
            at("/command/payment/mandate/reference", json!("M".repeat(36))),
            "command.payment.mandate.reference",
        ),
        (
            "signature date",
            without(
                example("Subscribe.json"),
                "/command/payment/mandate/signed_on",
            ),
            "command.payment.mandate.signed_on",
        ),
        // The version 1 mandate's opaque reference is no longer taken.
        (
            "legacy account reference",
            {
                let mut v = example("Subscribe.json");
                v["command"]["payment"]["mandate"]["account_ref"] = json!("acct-1");
                v
            },
            "command.payment.mandate.account_ref",
        ),
    ] {
        let (got, message) = refused_field(&v);
        assert_eq!(got.as_deref(), Some(field), "{what}: {message}");
        assert!(
            !message.contains("0006000011234") && !message.contains("000010009795"),
            "{what}: {message}"
        );
    }
    // And a valid IBAN as a person types it is normalised.
    let v = at(iban, json!("fr76 3000 6000 0112 3456 7890 189"));
    let c = decode(&v).expect("a valid IBAN");
    let navigo_events_schema::Command::Subscribe(s) = c.command else {
        panic!("a subscription")
    };
    let navigo_events_schema::types::PaymentRequest::DirectDebit { mandate, .. } = s.payment else {
        panic!("a direct debit")
    };
    assert_eq!(mandate.debtor.iban.as_str(), "FR7630006000011234567890189");
}

#[test]
fn sub_senior_declaration_with_an_extra_field_is_refused() {
    let mut v = example("RequestSeniorSwitch.json");
    for (declaration, path) in [
        (
            json!({"declared": "no_activity", "hours": "40"}),
            "command.declaration.hours",
        ),
        (
            json!({"declared": "hours_per_week", "hours": "12", "per": "week"}),
            "command.declaration.per",
        ),
    ] {
        v["command"]["declaration"] = declaration;
        let (field, message) = refused_field(&v);
        assert_eq!(field.as_deref(), Some(path), "{message}");
    }
}

#[test]
fn sub_senior_declaration_with_an_annual_product_contradicts_it_and_is_refused() {
    // Given an Annual subscription carrying a Senior activity declaration, which
    // would be stored with a contract it says nothing about
    let mut v = example("Subscribe.json");
    v["command"]["senior_declaration"] = json!({"declared": "no_activity"});
    let (field, message) = refused_field(&v);
    assert_eq!(
        field.as_deref(),
        Some("command.senior_declaration"),
        "{message}"
    );
    assert!(message.contains("senior"), "{message}");
}

#[test]
fn sub_senior_declared_hours_out_of_their_period_are_refused() {
    let mut v = example("RequestSeniorSwitch.json");
    for hours in ["-1", "168.5", "-0.5"] {
        v["command"]["declaration"] = json!({"declared": "hours_per_week", "hours": hours});
        let (field, message) = refused_field(&v);
        assert_eq!(
            field.as_deref(),
            Some("command.declaration.hours"),
            "{hours}: {message}"
        );
    }
    for hours in ["0", "168", "12.5"] {
        v["command"]["declaration"] = json!({"declared": "hours_per_week", "hours": hours});
        assert!(decode(&v).is_ok(), "{hours}");
    }
}

#[test]
fn a_key_given_twice_is_refused_at_any_depth() {
    // serde_json keeps the last of two equal keys of a buffered object: the first
    // would be dropped silently.
    let text = example("Subscribe.json")
        .to_string()
        .replace("\"zones\":\"1-5\"", "\"zones\":\"1-5\",\"zones\":\"2-3\"");
    let e = from_json_str::<CommandEnvelope>(&text).expect_err("refused");
    assert_eq!(e.field.as_deref(), Some("command.product.zones"), "{e}");
    assert!(e.message.contains("duplicate field"), "{e}");
    let text = example("Subscribe.json").to_string().replace(
        "\"channel\":\"online\"",
        "\"channel\":\"online\",\"channel\":\"agency\"",
    );
    let e = from_json_str::<CommandEnvelope>(&text).expect_err("refused");
    assert_eq!(e.field.as_deref(), Some("channel"), "{e}");
}

/// Sets `pointer` (a JSON pointer) of `v` to `value`.
fn with(mut v: Value, pointer: &str, value: Value) -> Value {
    match v.pointer_mut(pointer) {
        Some(slot) => *slot = value,
        None => panic!("no {pointer} in the example"),
    }
    v
}

fn without(mut v: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    v.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("an object")
        .remove(key);
    v
}

#[test]
fn the_error_names_the_offending_field_by_its_path() {
    // Given bad values at several depths of several commands (the first four
    // were named `means`, `via`, `debit_day` and `id`: the key before the
    // error's column, not the field)
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        (
            "cash amount",
            with(
                example("RecordCashPayment.json"),
                "/command/amount",
                json!("12,50"),
            ),
            Some("command.amount"),
        ),
        (
            "settled amount",
            with(
                example("SettleDebt.json"),
                "/command/amount",
                json!("ninety"),
            ),
            Some("command.amount"),
        ),
        (
            "contract of a debit day change",
            with(
                example("ChangeDebitDay.json"),
                "/command/contract_id",
                json!("019a1c3e-zzzz"),
            ),
            Some("command.contract_id"),
        ),
        (
            "zones of a product",
            with(
                example("Subscribe.json"),
                "/command/product/zones",
                json!("3-2"),
            ),
            Some("command.product.zones"),
        ),
        (
            "kind of a product",
            with(
                example("Subscribe.json"),
                "/command/product/kind",
                json!("gold"),
            ),
            Some("command.product.kind"),
        ),
        (
            "debit day of a payment",
            with(
                example("Subscribe.json"),
                "/command/payment/debit_day",
                json!(5),
            ),
            Some("command.payment.debit_day"),
        ),
        (
            "mandate without its reference",
            without(
                example("Subscribe.json"),
                "/command/payment/mandate/reference",
            ),
            Some("command.payment.mandate.reference"),
        ),
        (
            "product without its kind",
            without(example("Subscribe.json"), "/command/product/kind"),
            Some("command.product.kind"),
        ),
        (
            "a tariff's second price",
            with(
                example("PublishTariff.json"),
                "/command/prices/1/annual",
                json!("x"),
            ),
            Some("command.prices[1].annual"),
        ),
        (
            "a tariff's product",
            with(
                example("PublishTariff.json"),
                "/command/prices/2/product",
                json!("9-9"),
            ),
            Some("command.prices[2].product"),
        ),
        (
            "the command type",
            with(
                example("SettleDebt.json"),
                "/command/type",
                json!("PayEverything"),
            ),
            Some("command.type"),
        ),
        (
            "the actor's role",
            with(example("SettleDebt.json"), "/actor/role", json!("boss")),
            Some("actor.role"),
        ),
        (
            "the request instant",
            with(
                example("SettleDebt.json"),
                "/request_at",
                json!("yesterday"),
            ),
            Some("request_at"),
        ),
        (
            "a missing contract",
            without(example("SettleDebt.json"), "/command/contract_id"),
            Some("command.contract_id"),
        ),
        (
            "the declared hours",
            with(
                example("RequestSeniorSwitch.json"),
                "/command/declaration/hours",
                json!("many"),
            ),
            Some("command.declaration.hours"),
        ),
        (
            "a termination reason in its old spelling",
            with(
                example("TerminateByAgency.json"),
                "/command/reason",
                json!("suspension_over12_months"),
            ),
            Some("command.reason"),
        ),
        (
            "a refund claim's campaign",
            with(
                example("FileRefundClaim.json"),
                "/command/campaign_id",
                json!(7),
            ),
            Some("command.campaign_id"),
        ),
        (
            "a command that is not an object",
            with(example("SettleDebt.json"), "/command", json!("SettleDebt")),
            Some("command"),
        ),
    ];
    for (what, input, expected) in cases {
        let (field, message) = refused_field(&input);
        // Then the field is the path of the bad value
        assert_eq!(field.as_deref(), expected, "{what}: {message}");
        // And the message does not repeat serde_json's position in the line
        assert!(!message.contains(" at line "), "{what}: {message}");
    }
}

#[test]
fn a_truncated_line_names_no_field_and_says_it_ends_early() {
    let text = example("Subscribe.json").to_string();
    for cut in [text.len() - 1, text.len() / 2, 20] {
        let e = from_json_str::<CommandEnvelope>(&text[..cut]).expect_err("refused");
        assert_eq!(e.field, None, "cut at {cut}: {e}");
        assert!(e.message.contains("ends before"), "cut at {cut}: {e}");
    }
    let e = from_json_str::<CommandEnvelope>(&format!("{text} {{}}")).expect_err("refused");
    assert_eq!(e.field, None, "{e}");
    assert!(e.message.contains("not valid JSON"), "{e}");
}

#[test]
fn tar_catalogue_amounts_of_a_command_are_bounded() {
    let bound = navigo_events_schema::Money::COMMAND_AMOUNT_EUROS_MAX;
    assert_eq!(bound.to_string(), "10000.00");
    let cases = [
        (
            "PublishTariff.json",
            "/command/prices/0/annual",
            "command.prices[0].annual",
        ),
        ("SettleDebt.json", "/command/amount", "command.amount"),
        (
            "RecordCashPayment.json",
            "/command/amount",
            "command.amount",
        ),
        (
            "SettleTreasuryNotice.json",
            "/command/amount",
            "command.amount",
        ),
    ];
    for (file, pointer, path) in cases {
        // Given an amount beyond the bound, either way
        for amount in ["99999999999.99", "10000.01", "-10000.01"] {
            let v = with(example(file), pointer, json!(amount));
            // Then it is refused, naming the field and the bound
            let (field, message) = refused_field(&v);
            assert_eq!(field.as_deref(), Some(path), "{file} {amount}: {message}");
            assert!(
                message.contains("command_amount_euros_max"),
                "{file} {amount}: {message}"
            );
        }
        // And the bound itself is accepted
        let v = with(example(file), pointer, json!("10000.00"));
        assert!(decode(&v).is_ok(), "{file}");
    }
}

#[test]
fn every_command_amount_is_listed_for_the_bound() {
    // Every amount of every example is one that `Command::amounts` names, so
    // that the bound cannot miss one: a `Money` field is a JSON string of
    // digits with a point, which no other field of the examples is.
    for (file, v) in examples() {
        let command = decode(&v).expect("valid").command;
        let listed: Vec<String> = command
            .amounts()
            .into_iter()
            .map(|(path, _)| format!("command.{path}"))
            .collect();
        let mut money = Vec::new();
        find_amounts(&v, "", &mut money);
        for path in money {
            assert!(
                listed.contains(&path),
                "{file}: {path} is not in Command::amounts"
            );
        }
    }
}

fn find_amounts(v: &Value, at: &str, out: &mut Vec<String>) {
    let is_money = |s: &str| {
        s.split_once('.').is_some_and(|(whole, cents)| {
            !whole.is_empty()
                && whole
                    .trim_start_matches('-')
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                && cents.len() == 2
                && cents.bytes().all(|b| b.is_ascii_digit())
        })
    };
    match v {
        Value::String(s) if is_money(s) => out.push(at.to_owned()),
        Value::Object(fields) => {
            for (k, x) in fields {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                find_amounts(x, &path, out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                find_amounts(x, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}
