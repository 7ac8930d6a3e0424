//! The harness of the HTTP tests: a served ledger holding the year scenario
//! (`tests/scenarios/year.jsonl`), with a token per role and a customer account
//! (alice), its clock fixed at [`NOW`]; requests over fresh loopback
//! connections.
#![allow(dead_code)]

#[path = "../cli_support/mod.rs"]
pub mod cli_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_navigo-ledger");
pub const CONTRACT_A: &str = "0196a000-0000-7000-8000-00000000000a";
pub const CONTRACT_B: &str = "0196a000-0000-7000-8000-00000000000b";
pub const PERSON_A: &str = "0196a000-0000-7000-8000-0000000000a1";
pub const NOW: &str = "2027-10-15T08:00:00Z";
pub const ALICE_PASSWORD: &str = "Secret2027ok";

pub fn cli(data: &Path, args: &[&str], stdin: &str) -> (i32, String) {
    let out = cli_support::run(data, args, Some(stdin));
    (out.code, format!("{}{}", out.stdout, out.stderr))
}

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub data: PathBuf,
    pub agent: String,
    pub auditor: String,
    pub system: String,
    pub partner: String,
    pub reference: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn token(data: &Path, name: &str, role: &str) -> String {
    let (code, out) = cli(
        data,
        &["token", "create", "--name", name, "--role", role],
        "",
    );
    assert_eq!(code, 0, "{out}");
    out.trim().to_owned()
}

pub fn start(name: &str) -> Server {
    let data = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("http")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_file(data.with_extension("log"));
    assert_eq!(cli(&data, &["init"], "").0, 0);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/year.jsonl");
    let (code, out) = cli(&data, &["apply", scenario.to_str().expect("path")], "");
    assert!(code == 0 || code == 1, "{out}");
    let agent = token(&data, "agent-1", "agent");
    let auditor = token(&data, "auditor-1", "auditor");
    let system = token(&data, "system-1", "system");
    let partner = token(&data, "partner-1", "partner");
    let reference = token(&data, "reference-1", "reference");
    let (code, out) = cli(
        &data,
        &[
            "account",
            "create",
            "--login",
            "alice",
            "--client-number",
            "NV00000001",
            "--birth-date",
            "1985-03-14",
        ],
        &format!("{ALICE_PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{out}");
    let (child, addr) = serve(&data, NOW);
    Server {
        child,
        addr,
        data,
        agent,
        auditor,
        system,
        partner,
        reference,
    }
}

/// Serves the ledger in `data` with its clock at `now`: the child and its address.
pub fn serve(data: &Path, now: &str) -> (Child, String) {
    serve_with(data, now, &[])
}

/// [`serve`] with more arguments of `serve`.
pub fn serve_with(data: &Path, now: &str, more: &[&str]) -> (Child, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.with_extension("log"))
        .expect("log file");
    let mut child = Command::new(BIN)
        // Time in tests is injected: the binary's clock stands at this instant.
        .env("NAVIGO_TEST_NOW", now)
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0", "--fixed-now", now])
        .args(more)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the address");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, addr)
}

/// One request over a fresh connection: (status, JSON body).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let (status, _, body) = exchange(addr, method, path, token, body, headers);
    (status, body)
}

/// One request over a fresh connection: (status, response head, JSON body).
pub fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String, Value) {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    send_raw(addr, None, &format!("{head}{body}"))
}

/// Sends a raw HTTP/1.1 request (`Connection: close`) from `from` (a loopback
/// address of this machine; any when `None`): (status, response head, JSON
/// body, or the body as a JSON string when it is not JSON).
pub fn send_raw(addr: &str, from: Option<&str>, request: &str) -> (u16, String, Value) {
    let mut s = match from {
        None => TcpStream::connect(addr).expect("connect"),
        Some(ip) => {
            let to: std::net::SocketAddr = addr.parse().expect("address");
            let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                .expect("socket");
            let local: std::net::SocketAddr = format!("{ip}:0").parse().expect("local address");
            sock.bind(&local.into()).expect("bind");
            sock.connect(&to.into()).expect("connect");
            sock.into()
        }
    };
    s.write_all(request.as_bytes()).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    let (response_head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        status,
        response_head.to_owned(),
        serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())),
    )
}

/// The value of a response header (names are case-insensitive).
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

impl Server {
    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        request(&self.addr, "GET", path, token, None, &[])
    }
    pub fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        request(&self.addr, "POST", path, token, Some(body), &[])
    }
    /// An agent's command with an `If-Match` header.
    pub fn command_if_match(&self, body: &str, tag: &str) -> (u16, Value) {
        request(
            &self.addr,
            "POST",
            "/v1/commands",
            Some(&self.agent),
            Some(body),
            &[("If-Match", tag)],
        )
    }
    pub fn head(&self) -> u64 {
        self.get("/ready", None).1["head_position"]
            .as_u64()
            .expect("head")
    }
    /// Stops the service and serves the same ledger again with its clock at `now`.
    pub fn restart_at(&mut self, now: &str) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, addr) = serve(&self.data, now);
        self.child = child;
        self.addr = addr;
    }
    /// Every caller a role matrix puts to a route, by role name: the five
    /// API roles' tokens, a customer's session (`customer`, from
    /// [`Server::customer`]) and no credential (`none`).
    pub fn callers<'a>(&'a self, customer: &'a str) -> [(&'static str, Option<&'a str>); 7] {
        [
            ("agent", Some(&self.agent)),
            ("reference", Some(&self.reference)),
            ("auditor", Some(&self.auditor)),
            ("system", Some(&self.system)),
            ("partner", Some(&self.partner)),
            ("customer", Some(customer)),
            ("none", None),
        ]
    }
    pub fn customer(&self) -> String {
        let (s, v) = self.post(
            "/v1/sessions",
            None,
            &json!({"login": "alice", "password": ALICE_PASSWORD}).to_string(),
        );
        assert_eq!(s, 200, "{v}");
        v["token"].as_str().expect("token").to_owned()
    }
}

/// An agent's suspension of `contract` (the actor is the token's, so none is sent).
pub fn agent_command(contract: &str) -> String {
    json!({"request_at": NOW, "channel": "agency",
           "command": {"type": "Suspend", "contract_id": contract}})
    .to_string()
}

/// An agent's registration of a person.
pub fn register(person: &str, client: &str) -> String {
    json!({"channel": "agency",
           "command": {"type": "RegisterPerson", "person_id": person, "client_number": client,
                       "first_name": "Chloé", "last_name": "Martin", "birth_date": "1990-01-01",
                       "address": {"street": "1 rue X", "postal_code": "75001", "municipality": "Paris"}}}).to_string()
}
