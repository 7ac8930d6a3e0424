//! The command line: one module per subcommand, each parsing its arguments,
//! calling the application layer (`crate::app`) and printing its views; the
//! arguments the projection commands share (`as_of`), how views are printed
//! (`output`), and the one place errors become exit codes (`exit`). The HTTP
//! service's subcommand, `serve`, is the service's own (`crate::http::serve`).

/// `println!` that returns the write error (`?`) instead of panicking: a reader
/// that closes stdout (`navigo-ledger stats | head -1`) ends the command with a
/// broken pipe, which `main` turns into the SIGPIPE exit.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

pub mod account;
pub mod advance;
pub mod append;
pub mod apply;
pub mod as_of;
pub mod audit;
pub mod balance;
pub mod bank;
pub mod bans;
pub mod bundle;
pub mod calendar;
pub mod check_projections;
pub mod checkpoint;
pub mod demo;
pub mod diff;
pub mod erase;
pub mod exit;
pub mod export;
pub mod follow;
pub mod grant_reader;
pub mod history;
pub mod init;
pub mod key;
pub mod list;
pub mod migrate;
pub mod out_file;
pub mod output;
pub mod prove;
pub mod readonly;
pub mod rebuild;
pub mod refunds;
pub mod remote;
pub mod reseal;
pub mod retention;
pub mod salvage;
pub mod sample;
pub mod state;
pub mod stats;
pub mod stress;
pub mod subject_export;
pub mod token;
pub mod verify;
pub mod what_if;
