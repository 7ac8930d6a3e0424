//! Load on the HTTP service over loopback: requests per second and p99 latency
//! of a projection read (`GET /v1/contracts/{id}/state`) and of a command
//! submission (`POST /v1/commands`, RegisterPerson, each one appended), with
//! concurrent keep-alive clients. By default a small load that only checks every
//! answer succeeds (seconds in CI); `NAVIGO_HTTP_BENCH=REQUESTS` runs the real
//! measurement and prints the figures for BENCHMARKS.md (`NAVIGO_HTTP_BIN` picks
//! a release binary, `NAVIGO_HTTP_CLIENTS` the number of clients, default 8).
//! While the commands run, the projections' lag behind the head
//! (`navigo_projection_lag_events` of `/metrics`, which the service's own
//! follower keeps) is sampled every [`LAG_SAMPLE_MS`] and its p99 printed, in
//! events and in seconds at the measured command rate.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONTRACT_A: &str = "0196a000-0000-7000-8000-00000000000a";

fn bin() -> String {
    std::env::var("NAVIGO_HTTP_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_navigo-ledger").to_owned())
}

fn cli(data: &Path, args: &[&str]) -> String {
    let out = Command::new(bin())
        // Time in tests is injected: the binary's clock stands at this instant.
        .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One keep-alive connection.
struct Conn {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            stream,
        }
    }
    fn call(&mut self, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
        // No credential for an empty token (`/metrics` needs none).
        let auth = if token.is_empty() {
            String::new()
        } else {
            format!("Authorization: Bearer {token}\r\n")
        };
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(req.as_bytes()).expect("write");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let mut len = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0u8; len];
        self.reader.read_exact(&mut body).expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

/// Milliseconds between two samples of the projections' lag.
const LAG_SAMPLE_MS: u64 = 10;

/// Samples the projections' lag behind the head until `stop`: the values of
/// `navigo_projection_lag_events`, in order.
fn sample_lag(addr: &str, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<u64>> {
    let addr = addr.to_owned();
    std::thread::spawn(move || {
        let mut conn = Conn::new(&addr);
        let mut lags = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let (status, text) = conn.call("GET", "/metrics", "", "");
            assert_eq!(status, 200, "{text}");
            let lag = text
                .lines()
                .find_map(|l| l.strip_prefix("navigo_projection_lag_events "))
                .and_then(|v| v.trim().parse().ok())
                .expect("the lag gauge");
            lags.push(lag);
            std::thread::sleep(Duration::from_millis(LAG_SAMPLE_MS));
        }
        lags
    })
}

fn run(
    addr: &str,
    clients: usize,
    per_client: usize,
    token: &str,
    make: fn(usize, usize) -> (&'static str, String, String),
) -> (f64, Duration, Duration) {
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let addr = addr.to_owned();
            let token = token.to_owned();
            std::thread::spawn(move || {
                let mut conn = Conn::new(&addr);
                let mut lat = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let (m, p, b) = make(c, i);
                    let t = Instant::now();
                    let (status, answer) = conn.call(m, &p, &token, &b);
                    lat.push(t.elapsed());
                    assert!((200..300).contains(&status), "{m} {p}: {status} {answer}");
                }
                lat
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client"))
        .collect();
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let p = |q: f64| {
        all[((all.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(all.len() - 1)]
    };
    (all.len() as f64 / secs, p(0.5), p(0.99))
}

#[test]
fn http_load_projection_read_and_command_submission() {
    let total: usize = std::env::var("NAVIGO_HTTP_BENCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(80);
    let clients: usize = std::env::var("NAVIGO_HTTP_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let data = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("http")
        .join(format!("bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    cli(&data, &["init"]);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/year.jsonl");
    cli(&data, &["apply", scenario.to_str().expect("path")]);
    let agent = cli(
        &data,
        &["token", "create", "--name", "bench", "--role", "agent"],
    )
    .trim()
    .to_owned();
    let mut child = Command::new(bin())
        // Time in tests is injected: the binary's clock stands at this instant.
        .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
        .arg("--data")
        .arg(&data)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--fixed-now",
            "2027-10-15T08:00:00Z",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("addr");
    let addr = line.trim().trim_start_matches("listening on ").to_owned();
    let per = (total / clients).max(1);
    let read = run(&addr, clients, per, &agent, |_, _| {
        (
            "GET",
            format!("/v1/contracts/{CONTRACT_A}/state?at=2027-01-15"),
            String::new(),
        )
    });
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_lag(&addr, stop.clone());
    let write = run(&addr, clients, per, &agent, |c, i| {
        let id = format!("0196b000-0000-7000-8000-{:06x}{:06x}", c, i);
        let body = format!(
            r#"{{"request_at":"2027-10-15T08:00:00Z","actor":{{"role":"agent","id":"bench"}},"channel":"agency","command":{{"type":"RegisterPerson","person_id":"{id}","client_number":"NV9{:03}{:04}","first_name":"A","last_name":"B","birth_date":"1990-01-01","address":{{"street":"1 rue X","postal_code":"75001","municipality":"Paris"}}}}}}"#,
            c, i
        );
        ("POST", "/v1/commands".to_owned(), body)
    });
    stop.store(true, Ordering::Relaxed);
    let mut lags = sampler.join().expect("sampler");
    lags.sort_unstable();
    let lag99 = lags
        .get(((lags.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
    println!(
        "HTTP bench: {clients} clients, {} requests each kind",
        per * clients
    );
    println!(
        "  projection read  : {:.0} req/s, p50 {:?}, p99 {:?}",
        read.0, read.1, read.2
    );
    println!(
        "  command submit   : {:.0} req/s, p50 {:?}, p99 {:?}",
        write.0, write.1, write.2
    );
    println!(
        "  projection lag   : p99 {lag99} events ({:.3} s at the command rate), {} samples",
        lag99 as f64 / write.0,
        lags.len()
    );
    assert!(read.0 > 0.0 && write.0 > 0.0);
}
