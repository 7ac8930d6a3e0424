//! Where a running service listens, recorded in the data directory
//! (`serve.json`), so that the command line beside it sends its reads to the
//! service instead of opening the store, which admits one process.
//!
//! The service writes the record once its listener is bound, atomically (a
//! temporary file renamed into place: a reader sees the whole record or none),
//! and removes it when it stops in order. A record left by a service that was
//! killed is stale: its process is gone or its address refuses connections; a
//! reader ignores it and says so.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The record's file name in the data directory.
pub const SERVE_FILE: &str = "serve.json";

/// How long a reader waits for the recorded address to accept a connection
/// before it takes the record as stale: a live service on this machine answers
/// in well under this.
const CONNECT_TIMEOUT_MS: u64 = 1000;

/// What `serve.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeRecord {
    /// The address the service listens on (as bound: with `--listen` port 0,
    /// the port chosen).
    pub address: SocketAddr,
    /// The service's process id.
    pub pid: u32,
    /// When the service started listening, by its clock.
    pub started_at: DateTime<Utc>,
    /// The data directory served, as an absolute path: a copy of the
    /// directory (a backup restored beside the running service) carries the
    /// record of a service that does not serve it.
    pub data: PathBuf,
}

/// What a reader finds in a data directory.
#[derive(Debug)]
pub enum Served {
    /// No record: the ledger is not served (or by a service that predates the
    /// record).
    No,
    /// A live service at the record's address.
    At(ServeRecord),
    /// A record that no live service answers for, and why.
    Stale(String),
}

/// The record's path in `data`.
pub fn path_in(data: &Path) -> PathBuf {
    data.join(SERVE_FILE)
}

/// Writes the record atomically: a temporary file in `data`, renamed over
/// `serve.json`.
///
/// # Errors
/// The directory cannot be written.
pub fn write(data: &Path, record: &ServeRecord) -> anyhow::Result<()> {
    let path = path_in(data);
    let mut tmp = tempfile::NamedTempFile::new_in(data)
        .with_context(|| format!("a temporary file in {}", data.display()))?;
    serde_json::to_writer_pretty(&mut tmp, record).context("serialising serve.json")?;
    writeln!(tmp)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Removes the record, if it is still this process's.
///
/// # Errors
/// The file exists and cannot be removed.
pub fn remove(data: &Path) -> anyhow::Result<()> {
    let path = path_in(data);
    // Another service's record (one started since, on a ledger this one no
    // longer holds) is not this one's to remove.
    if matches!(read(&path), Ok(Some(r)) if r.pid != std::process::id()) {
        return Ok(());
    }
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The record in `path`, `None` when there is none.
fn read(path: &Path) -> anyhow::Result<Option<ServeRecord>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("{} is not a service record", path.display()))
}

/// Whether the ledger in `data` is served by a live service: a record whose
/// process runs and whose address accepts a connection.
pub fn find(data: &Path) -> Served {
    let path = path_in(data);
    let record = match read(&path) {
        Ok(None) => return Served::No,
        Ok(Some(r)) => r,
        Err(e) => return Served::Stale(format!("{e:#}")),
    };
    if !process_runs(record.pid) {
        // The record of a dead process can never become true again: removed,
        // so that it is said once, not at every command. A failure to remove
        // it (a read-only directory) changes nothing but the repetition.
        let removed = std::fs::remove_file(&path).is_ok();
        return Served::Stale(format!(
            "{}: its service (pid {}) is no longer running{}",
            path.display(),
            record.pid,
            if removed { "; removed" } else { "" }
        ));
    }
    if !same_dir(&record.data, data) {
        return Served::Stale(format!(
            "{}: its service serves {}, not this directory (a copy?)",
            path.display(),
            record.data.display()
        ));
    }
    let to = reachable(record.address);
    match TcpStream::connect_timeout(&to, Duration::from_millis(CONNECT_TIMEOUT_MS)) {
        Ok(_) => Served::At(record),
        Err(e) => Served::Stale(format!(
            "{}: {} refuses connections ({e})",
            path.display(),
            record.address
        )),
    }
}

/// The absolute form of `data` a record names.
///
/// # Errors
/// The directory does not exist or cannot be resolved.
pub fn absolute(data: &Path) -> std::io::Result<PathBuf> {
    std::fs::canonicalize(data)
}

/// Whether the record's directory is `data`.
fn same_dir(recorded: &Path, data: &Path) -> bool {
    absolute(data).is_ok_and(|d| d == recorded)
}

/// The address a client connects to: a service listening on every interface
/// (`0.0.0.0`, `::`) is reached through the loopback of the same family.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// Whether process `pid` runs. Decision: where there is no `/proc` to ask
/// (not Linux), every process is taken as running and the connection alone
/// tells a live record from a stale one.
fn process_runs(pid: u32) -> bool {
    let proc_dir = Path::new("/proc");
    !proc_dir.is_dir() || proc_dir.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(dir: &Path, address: SocketAddr, pid: u32) -> ServeRecord {
        ServeRecord {
            address,
            pid,
            data: absolute(dir).unwrap(),
            started_at: DateTime::parse_from_rfc3339("2027-10-15T08:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn serve_record_written_is_found_while_its_address_listens() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let r = record(
            dir.path(),
            listener.local_addr().unwrap(),
            std::process::id(),
        );
        write(dir.path(), &r).unwrap();
        assert!(matches!(find(dir.path()), Served::At(found) if found == r));
        remove(dir.path()).unwrap();
        assert!(matches!(find(dir.path()), Served::No));
    }

    #[test]
    fn serve_record_refusing_connections_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        write(dir.path(), &record(dir.path(), addr, std::process::id())).unwrap();
        assert!(
            matches!(find(dir.path()), Served::Stale(why) if why.contains("refuses connections"))
        );
    }

    #[test]
    fn serve_record_of_a_gone_process_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // Beyond the kernel's largest pid (4194304 on 64-bit Linux).
        let r = record(dir.path(), listener.local_addr().unwrap(), u32::MAX - 1);
        write(dir.path(), &r).unwrap();
        if Path::new("/proc").is_dir() {
            assert!(
                matches!(find(dir.path()), Served::Stale(why) if why.contains("no longer running"))
            );
            assert!(
                !path_in(dir.path()).exists(),
                "the dead service's record stays"
            );
        }
    }

    #[test]
    fn serve_record_copied_with_its_directory_is_stale_in_the_copy() {
        let (dir, copy) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let r = record(
            dir.path(),
            listener.local_addr().unwrap(),
            std::process::id(),
        );
        write(copy.path(), &r).unwrap();
        assert!(matches!(find(copy.path()), Served::Stale(why) if why.contains("a copy?")));
    }

    #[test]
    fn serve_record_that_is_not_json_is_stale_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path_in(dir.path()), "{").unwrap();
        assert!(matches!(find(dir.path()), Served::Stale(why) if why.contains("serve.json")));
    }
}
