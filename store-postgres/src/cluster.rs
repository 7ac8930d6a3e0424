//! A throwaway PostgreSQL cluster for tests (feature `test-cluster`): the
//! system's server binaries (installed with the Debian package manager when
//! missing), `initdb` in a temporary directory, the server listening on a Unix
//! socket in that directory only (no TCP port to clash with), run as an
//! unprivileged user when the tests run as root, and removed afterwards.
//!
//! [`Cluster::shared`] is one cluster per test binary, in which each test takes
//! a database or a schema of its own; [`Cluster::start`] is a cluster of one's
//! own, for tests that stop and restart the server. A cluster is stopped and
//! its directory removed when it is dropped, and, whatever happens to the test
//! process (a panic, a kill), by a watchdog process that waits for the test
//! process to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The port number in the socket's name (`.s.PGSQL.5432`); nothing listens on
/// TCP, so every cluster can use the same.
pub const PORT: u16 = 5432;

/// The superuser `initdb` creates; local connections are trusted.
pub const SUPERUSER: &str = "navigo";

/// The unprivileged system user created to run the server when the tests run
/// as root and the system has no `postgres` user.
pub const SERVER_USER_CREATED: &str = "navigo-pg";

/// Seconds `pg_ctl` waits for the server to start or stop.
pub const PG_CTL_WAIT_SECONDS_MAX: u32 = 120;

/// Connections the test server accepts: every test of a binary opens a store
/// (a writer connection and a read pool) at the same time as the others.
pub const SERVER_CONNECTIONS_MAX: u32 = 300;

/// The lock file that serialises the tests' package installs ([`apt_install`]),
/// so that test binaries started in parallel take turns.
pub const INSTALL_LOCK_FILE: &str = "/tmp/navigo-postgresql-install.lock";

/// The environment variable naming a directory holding `initdb` and `pg_ctl`,
/// to use instead of the system's.
pub const BIN_DIR_VAR: &str = "NAVIGO_PG_BIN";

/// Why a cluster could not be had.
#[derive(Debug, thiserror::Error)]
#[error("test PostgreSQL cluster: {0}")]
pub struct ClusterError(String);

fn fail(what: impl Into<String>) -> ClusterError {
    ClusterError(what.into())
}

/// A running throwaway cluster.
#[derive(Debug)]
pub struct Cluster {
    base: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    bin: PathBuf,
    /// The user the server runs as, when the tests run as root.
    run_as: Option<String>,
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// Runs `cmd`, naming it and its output when it fails.
fn run(mut cmd: Command) -> Result<Output, ClusterError> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(format!("{shown}: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "{shown} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out)
}

/// Whether this process runs as root (the owner of `/proc/self` is the
/// process's effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The directory holding `initdb` and `pg_ctl`: [`BIN_DIR_VAR`], else the
/// newest `/usr/lib/postgresql/N/bin` (Debian's layout), else the `PATH`.
fn find_bin() -> Option<PathBuf> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os(BIN_DIR_VAR).map(PathBuf::from) {
        return has_both(&dir).then_some(dir);
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, d)| has_both(d))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Some(dir);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| has_both(d))
}

/// Installs Debian's `postgresql` package, as [`apt_install`] does.
fn install() -> Result<(), ClusterError> {
    apt_install(&["postgresql"]).map_err(|e| {
        fail(format!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: {e}; install them \
             (Debian: apt-get install postgresql) or set {BIN_DIR_VAR}"
        ))
    })
}

/// Installs Debian packages the tests need, as root or with `sudo -n` (a
/// password prompt would hang a test run), under [`INSTALL_LOCK_FILE`] so that
/// test binaries installing at once take turns, and waiting for apt's own lock
/// held by any other installer; the package lists are refreshed only if the
/// first attempt fails. An installed package is left as it is.
///
/// # Errors
/// Neither root nor sudo without a password, or apt's failure.
pub fn apt_install(packages: &[&str]) -> Result<(), ClusterError> {
    let sudo = !running_as_root();
    if sudo && !sudo_without_password() {
        return Err(fail(format!(
            "neither root nor sudo without a password to install {packages:?}"
        )));
    }
    let apt = "apt-get -o DPkg::Lock::Timeout=600";
    let install = format!(
        "{apt} install -y -q --no-install-recommends {}",
        packages.join(" ")
    );
    let script = format!(
        "export DEBIAN_FRONTEND=noninteractive; {install} || {{ {apt} update -q && {install}; }}"
    );
    let command = |args: &[&str]| {
        let mut cmd = Command::new(if sudo { "sudo" } else { args[0] });
        if sudo {
            cmd.arg("-n");
            cmd.args(args);
        } else {
            cmd.args(&args[1..]);
        }
        cmd
    };
    match run(command(&["flock", INSTALL_LOCK_FILE, "sh", "-c", &script])) {
        Ok(_) => Ok(()),
        Err(_) if which("flock").is_none() => run(command(&["sh", "-c", &script])).map(|_| ()),
        Err(e) => Err(e),
    }
}

fn sudo_without_password() -> bool {
    which("sudo").is_some()
        && Command::new("sudo")
            .args(["-n", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The unprivileged user to run the server as: `postgres` (which the Debian
/// package creates) when it exists, else [`SERVER_USER_CREATED`], created now.
fn server_user() -> Result<String, ClusterError> {
    let exists = |u: &str| {
        Command::new("id")
            .args(["-u", u])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if exists("postgres") {
        return Ok("postgres".into());
    }
    if !exists(SERVER_USER_CREATED) {
        let mut cmd = Command::new("useradd");
        cmd.args(["--system", "--user-group", "--no-create-home"])
            .args(["--shell", "/usr/sbin/nologin", SERVER_USER_CREATED]);
        // Another test binary may have created it meanwhile.
        if let Err(e) = run(cmd) {
            if !exists(SERVER_USER_CREATED) {
                return Err(e);
            }
        }
    }
    Ok(SERVER_USER_CREATED.into())
}

impl Cluster {
    /// The cluster of this test binary, started on first use.
    ///
    /// # Errors
    /// Why it could not start (the same error for every later call).
    pub fn shared() -> Result<&'static Cluster, ClusterError> {
        static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Cluster::start().map_err(|e| e.0))
            .as_ref()
            .map_err(|e| fail(e.clone()))
    }

    /// Starts a new cluster in a new temporary directory, installing the
    /// server binaries first if the system has none.
    ///
    /// # Errors
    /// The step that failed, with the command's output.
    pub fn start() -> Result<Cluster, ClusterError> {
        let bin = match find_bin() {
            Some(b) => b,
            None => {
                install()?;
                find_bin().ok_or_else(|| fail("the postgresql package installed no initdb"))?
            }
        };
        let run_as = if running_as_root() {
            Some(server_user()?)
        } else {
            None
        };
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("navigo-pg-{}-{n}", std::process::id()));
        let io = |e: std::io::Error| fail(format!("{}: {e}", base.display()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("sock")).map_err(io)?;
        let cluster = Cluster {
            data: base.join("data"),
            socket_dir: base.join("sock"),
            base,
            bin,
            run_as,
        };
        cluster.watch();
        if let Some(user) = &cluster.run_as {
            let mut cmd = Command::new("chown");
            cmd.args(["-R", &format!("{user}:")]).arg(&cluster.base);
            run(cmd)?;
        }
        cluster.initdb()?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// A command of the server's binaries, run as the server's user.
    fn pg_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        cmd.current_dir(&self.base);
        cmd
    }

    /// Creates the cluster and its settings: a Unix socket in its own
    /// directory, no TCP, durable commits.
    fn initdb(&self) -> Result<(), ClusterError> {
        let mut cmd = self.pg_command("initdb");
        cmd.arg("-D").arg(&self.data);
        cmd.args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ]);
        // The cluster is thrown away: syncing its new files to disk buys nothing
        // (the server's own commits are still flushed: fsync stays on).
        cmd.arg("--no-sync");
        run(cmd)?;
        let settings = format!(
            "\n# The navigo test cluster\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{}'\n\
             port = {PORT}\n\
             max_connections = {SERVER_CONNECTIONS_MAX}\n\
             fsync = on\n\
             synchronous_commit = on\n",
            self.socket_dir.display()
        );
        use std::io::Write;
        let conf = self.data.join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(|e| fail(format!("{}: {e}", conf.display())))
    }

    /// Starts the server and waits until it accepts connections.
    ///
    /// # Errors
    /// `pg_ctl`'s failure and output.
    pub fn start_server(&self) -> Result<(), ClusterError> {
        let mut cmd = self.pg_command("pg_ctl");
        cmd.arg("-D").arg(&self.data);
        cmd.arg("-l").arg(self.base.join("server.log"));
        cmd.args(["-w", "-t", &PG_CTL_WAIT_SECONDS_MAX.to_string(), "start"]);
        run(cmd).map(|_| ())
    }

    /// Stops the server the way a crash would: `pg_ctl stop -m immediate`
    /// (every server process quits at once, without a checkpoint; the next
    /// start recovers from the write-ahead log).
    ///
    /// # Errors
    /// `pg_ctl`'s failure and output.
    pub fn kill_server(&self) -> Result<(), ClusterError> {
        self.stop_server("immediate")
    }

    fn stop_server(&self, mode: &str) -> Result<(), ClusterError> {
        let mut cmd = self.pg_command("pg_ctl");
        cmd.arg("-D").arg(&self.data);
        cmd.args(["-w", "-t", &PG_CTL_WAIT_SECONDS_MAX.to_string()]);
        cmd.args(["-m", mode, "stop"]);
        run(cmd).map(|_| ())
    }

    /// Starts a process that, once this test process has ended (or the
    /// cluster's directory is gone), stops the server and removes the
    /// directory: the cleanup of a shared cluster, which is never dropped, and
    /// of any cluster whose test process was killed.
    fn watch(&self) {
        let script = r#"pid=$1; base=$2; data=$3; pgctl=$4; user=$5
while kill -0 "$pid" 2>/dev/null && [ -d "$base" ]; do sleep 1; done
if [ -n "$user" ]; then runuser -u "$user" -- "$pgctl" -D "$data" -m immediate stop
else "$pgctl" -D "$data" -m immediate stop; fi >/dev/null 2>&1
rm -rf "$base""#;
        let args = |cmd: &mut Command| {
            cmd.args(["-c", script, "navigo-pg-watchdog"])
                .arg(std::process::id().to_string())
                .arg(&self.base)
                .arg(&self.data)
                .arg(self.bin.join("pg_ctl"))
                .arg(self.run_as.as_deref().unwrap_or(""))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        };
        // In a session of its own, so that an interrupt of the test process's
        // group (Ctrl-C) does not stop the watchdog before it cleans up.
        let mut cmd = Command::new("setsid");
        cmd.arg("sh");
        args(&mut cmd);
        if cmd.spawn().is_err() {
            let mut cmd = Command::new("sh");
            args(&mut cmd);
            // Without a watchdog, Drop still cleans up a cluster that is dropped.
            let _ = cmd.spawn();
        }
    }

    /// The directory of the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Connection settings for the database `dbname`, as the superuser.
    pub fn connection(&self, dbname: &str) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host_path(&self.socket_dir)
            .port(PORT)
            .user(SUPERUSER)
            .dbname(dbname);
        c
    }

    /// The `postgres://` URL of the database `dbname`, as the superuser over
    /// the cluster's Unix socket (its directory percent-encoded as the host):
    /// what a test gives the binary's `--store`.
    pub fn url(&self, dbname: &str) -> String {
        let dir = self.socket_dir.to_string_lossy();
        let host = percent_encoding::utf8_percent_encode(&dir, percent_encoding::NON_ALPHANUMERIC);
        format!("postgres://{SUPERUSER}@{host}:{PORT}/{dbname}")
    }

    /// Creates the database `name` (a plain lower-case identifier) and returns
    /// its connection settings.
    ///
    /// # Errors
    /// A bad name or the server's refusal.
    pub async fn create_database(
        &self,
        name: &str,
    ) -> Result<tokio_postgres::Config, ClusterError> {
        crate::schema::check_schema_name(name).map_err(fail)?;
        self.execute("postgres", &format!("CREATE DATABASE \"{name}\""))
            .await?;
        Ok(self.connection(name))
    }

    /// Runs `sql` (one or more statements) in the database `dbname`.
    ///
    /// # Errors
    /// The server's refusal.
    pub async fn execute(&self, dbname: &str, sql: &str) -> Result<(), ClusterError> {
        let (client, connection) = self
            .connection(dbname)
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| fail(format!("connect: {e}")))?;
        let task = tokio::spawn(connection);
        let result = client.batch_execute(sql).await;
        drop(client);
        let _ = task.await;
        result.map_err(|e| fail(format!("{sql}: {e}")))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Already stopped (a test that killed it) is fine: the directory goes
        // all the same.
        let _ = self.stop_server("immediate");
        let _ = std::fs::remove_dir_all(&self.base);
    }
}
