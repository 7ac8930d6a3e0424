//! The error both transports report as bad input: the command line exits 2
//! with it, the service refuses to start with it.

use std::fmt;

/// Bad input: a malformed line, argument or address, an unknown id, a limit
/// exceeded. Its message names the argument, line or field.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}
