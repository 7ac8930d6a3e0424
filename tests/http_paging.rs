//! The service's reads see every state, resident or not: on a generated
//! population, a service whose ledger holds at most a handful of states
//! between requests answers every read (a contract's state, balance and
//! calendar, a person's bans and refunds, the audit trails, the partner check,
//! account creation, a customer's contracts, renewal and attestation, and the
//! ownership check of a customer's commands) exactly as a service holding
//! every state does; and the demo's summary is the same with either cache.

mod http_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use http_support::{cli, request, serve_with, token, NOW};
use navigo_ledger_core::Ledger;
use navigo_rules::Policy;
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::SledStore;
use serde_json::{json, Value};

/// The bounded service's cache: smaller than any read's working set.
const TINY_CACHE_ENTRIES: &str = "4";

/// Partner tokens made: each may run `PARTNER_CHECKS_PER_MINUTE_MAX` (30)
/// checks a minute, and the script runs fewer than 25 on each.
const PARTNER_TOKENS: usize = 6;
const CHECKS_PER_PARTNER_TOKEN: usize = 25;

const PASSWORD: &str = "Secret2027ok";

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("http-paging")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::remove_file(d.with_extension("log"));
    d
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A demo's population in `data` (15 months of 12 contracts); its JSON
/// summary without the timings (a measurement).
fn demo(data: &Path, more: &[&str]) -> Value {
    let mut args = vec![
        "demo",
        "--today",
        "2025-04-02",
        "--from",
        "2024-01-01",
        "--through",
        "2025-03-31",
        "--contracts",
        "12",
        "--seed",
        "11",
        "--json",
    ];
    args.extend_from_slice(more);
    let (code, out) = cli(data, &args, "");
    assert_eq!(code, 0, "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    let mut summary: Value = serde_json::from_str(line).expect("JSON");
    summary
        .as_object_mut()
        .expect("an object")
        .remove("timings_s");
    summary
}

/// A person of the population: id, client number, birth date.
struct Person {
    id: String,
    client_number: String,
    birth_date: String,
}

/// A contract of the population: id and its holder's birth date.
struct Contract {
    id: String,
    holder_birth_date: String,
}

/// Every contract and person of the ledger in `data`, read by a ledger
/// holding every state.
fn population(data: &Path) -> (Vec<Contract>, Vec<Person>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let clock = Arc::new(ManualClock::new(NOW.parse().expect("instant")));
        let store = SledStore::open(data, Limits::default(), clock).expect("open");
        let ledger = Ledger::open_with(store, Policy::default(), 0, usize::MAX)
            .await
            .expect("ledger");
        let w = ledger.world();
        // The registrations are sealed with the persons' keys, which this
        // store (no key store) does not open: the birth dates are opened here.
        let mut births = std::collections::HashMap::new();
        for id in w.persons.keys() {
            births.insert(*id, opened_birth_date(data, ledger.store(), *id).await);
        }
        let persons = w
            .persons
            .values()
            .map(|p| Person {
                id: p.id.to_string(),
                client_number: p.client_number.as_str().to_owned(),
                birth_date: births[&p.id].clone(),
            })
            .collect();
        let contracts = w
            .contracts
            .values()
            .map(|c| Contract {
                id: c.id.to_string(),
                holder_birth_date: births[&c.holder].clone(),
            })
            .collect();
        ledger.into_store().close().await.expect("close");
        (contracts, persons)
    })
}

/// The birth date of `person`, opened from their sealed registration with
/// their key from the key store file of `data` (16-byte header, 64-byte slots:
/// state, padding, person id, key).
async fn opened_birth_date(data: &Path, store: &SledStore, person: uuid::Uuid) -> String {
    use navigo_events_schema::{Event, StreamId};
    use navigo_store::EventStore;
    let keys = std::fs::read(data.join("personal-keys")).expect("key store");
    let mut key = [0u8; 32];
    let slot = keys[16..]
        .chunks_exact(64)
        .find(|s| s[16..32] == *person.as_bytes())
        .expect("a key");
    key.copy_from_slice(&slot[32..]);
    let stream = StreamId::person(person);
    let mut first = store.read_stream(stream, 1..=1).await.expect("read");
    let env = &mut first[0];
    let id = env.event_id;
    for (p, sealing_id, field) in env.event.personal_fields_mut(person, id) {
        field.open(p, &key, sealing_id).expect("opens");
    }
    match &env.event {
        Event::PersonRegistered(r) => r.personal.value().expect("open").birth_date.to_string(),
        other => panic!("{other:?}"),
    }
}

/// One exchange of the script: what was asked, the status, the answer.
type Transcript = Vec<(String, u16, Value)>;

struct Script<'a> {
    addr: &'a str,
    out: Transcript,
}

impl Script<'_> {
    fn call(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let text = body.as_ref().map(Value::to_string);
        let (status, answer) = request(self.addr, method, path, token, text.as_deref(), &[]);
        self.out.push((
            format!("{method} {path} {}", text.unwrap_or_default()),
            status,
            answer.clone(),
        ));
        answer
    }
}

/// Runs the same reads and customer actions on the service at `addr`; the
/// tokens were made in the data directory both services were copied from.
fn script(addr: &str, tokens: &Tokens, contracts: &[Contract], persons: &[Person]) -> Transcript {
    let mut s = Script {
        addr,
        out: Vec::new(),
    };
    let agent = Some(tokens.agent.as_str());
    let auditor = Some(tokens.auditor.as_str());
    for c in contracts {
        for view in ["state", "balance", "calendar"] {
            s.call(
                "GET",
                &format!("/v1/contracts/{}/{view}", c.id),
                agent,
                None,
            );
        }
        s.call("GET", &format!("/v1/audit/{}", c.id), auditor, None);
    }
    for p in persons {
        for view in ["bans", "refunds"] {
            s.call("GET", &format!("/v1/persons/{}/{view}", p.id), agent, None);
        }
        s.call("GET", &format!("/v1/audit/{}", p.id), auditor, None);
    }
    // The partner check, by client number and by pass number.
    let checks = persons
        .iter()
        .map(|p| json!({"client_number": p.client_number, "birth_date": p.birth_date}))
        .chain(
            contracts
                .iter()
                .map(|c| json!({"pass_number": c.id, "birth_date": c.holder_birth_date})),
        );
    for (i, body) in checks.enumerate() {
        let partner = &tokens.partners[i / CHECKS_PER_PARTNER_TOKEN];
        s.call("POST", "/v1/partner/check", Some(partner), Some(body));
    }
    // Accounts of the first persons, and what each customer reads and does.
    for (i, p) in persons.iter().take(3).enumerate() {
        let account = json!({"login": format!("customer-{i}"), "password": PASSWORD,
                             "client_number": p.client_number, "birth_date": p.birth_date});
        s.call("POST", "/v1/accounts", None, Some(account));
        let login = json!({"login": format!("customer-{i}"), "password": PASSWORD});
        let (status, session) = request(
            addr,
            "POST",
            "/v1/sessions",
            None,
            Some(&login.to_string()),
            &[],
        );
        // The token is drawn at random: only the status is compared.
        s.out
            .push((format!("session of customer-{i}"), status, Value::Null));
        let Some(customer) = session["token"].as_str() else {
            continue;
        };
        s.call("GET", "/v1/me/contracts", Some(customer), None);
        for c in contracts {
            for view in ["online-renewal", "attestation"] {
                s.call(
                    "GET",
                    &format!("/v1/me/contracts/{}/{view}", c.id),
                    Some(customer),
                    None,
                );
            }
            // The ownership check: another's contract is refused (403), their
            // own is judged.
            let suspend = json!({"command": {"type": "ChangeDebitDay", "contract_id": c.id,
                                             "debit_day": 8}});
            s.call("POST", "/v1/commands", Some(customer), Some(suspend));
        }
    }
    s.out
}

struct Tokens {
    agent: String,
    auditor: String,
    partners: Vec<String>,
}

#[test]
fn state_cache_bounded_service_answers_every_read_as_the_unbounded_one() {
    let generated = dir("generated");
    let summary_whole = demo(&generated, &[]);
    let (contracts, persons) = population(&generated);
    assert!(contracts.len() >= 10, "{} contracts", contracts.len());
    assert!(
        persons.len() + contracts.len() > 20,
        "a population larger than the cache"
    );
    let tokens = Tokens {
        agent: token(&generated, "agent-1", "agent"),
        auditor: token(&generated, "auditor-1", "auditor"),
        partners: (0..PARTNER_TOKENS)
            .map(|i| token(&generated, &format!("partner-{i}"), "partner"))
            .collect(),
    };
    let (tiny_dir, whole_dir) = (dir("tiny"), dir("whole"));
    copy_dir(&generated, &tiny_dir);
    copy_dir(&generated, &whole_dir);
    let (mut tiny, tiny_addr) = serve_with(
        &tiny_dir,
        NOW,
        &["--state-cache-entries-max", TINY_CACHE_ENTRIES],
    );
    let (mut whole, whole_addr) = serve_with(&whole_dir, NOW, &[]);
    let bounded = script(&tiny_addr, &tokens, &contracts, &persons);
    let reference = script(&whole_addr, &tokens, &contracts, &persons);
    for child in [&mut tiny, &mut whole] {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(bounded.len(), reference.len());
    for (a, b) in bounded.iter().zip(&reference) {
        assert_eq!(a, b, "the bounded service answered otherwise");
    }
    // The script read something: answers of every kind, and customers' own
    // contracts among refusals of others'.
    let ok = |prefix: &str| {
        reference
            .iter()
            .filter(|(asked, status, _)| asked.starts_with(prefix) && (200..300).contains(status))
            .count()
    };
    assert!(
        ok("GET /v1/contracts/") >= 3 * contracts.len(),
        "{reference:?}"
    );
    assert!(ok("GET /v1/persons/") >= 2 * persons.len());
    assert!(ok("GET /v1/audit/") >= contracts.len() + persons.len());
    assert!(ok("POST /v1/partner/check") >= persons.len() + contracts.len());
    assert!(ok("POST /v1/accounts") >= 1, "{reference:?}");
    assert!(ok("GET /v1/me/contracts/") >= 1, "{reference:?}");
    let refused_as_not_theirs = reference
        .iter()
        .filter(|(asked, status, _)| asked.starts_with("POST /v1/commands") && *status == 403)
        .count();
    assert!(refused_as_not_theirs >= contracts.len(), "{reference:?}");
    // The demo's summary with a tiny cache is the one with the ledger's own.
    let tiny_demo = dir("demo-tiny");
    let summary_tiny = demo(
        &tiny_demo,
        &["--state-cache-entries-max", TINY_CACHE_ENTRIES],
    );
    assert_eq!(summary_tiny, summary_whole);
    for d in [generated, tiny_dir, whole_dir, tiny_demo] {
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_file(d.with_extension("log"));
    }
}
