//! The checkpoint signing key: created once in a file of its own (mode 0600,
//! never inside the data directory, never overwritten), read to sign, and its
//! public half exported for auditors in the signed-note verifier format.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use navigo_merkle::{generate_key, public_key_of, CheckpointSigner, CheckpointVerifier};

use super::error::BadInput;

/// The key's name when none is given: the name a checkpoint's signature line
/// and the verifier key carry.
pub const KEY_NAME_DEFAULT: &str = "navigo-ledger";

/// A key just created: where it is and its public half.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    /// The private key's file.
    pub key_file: PathBuf,
    /// The key's name.
    pub name: String,
    /// The verifier key to give auditors.
    pub public_key: String,
}

/// Creates a private key named `name` in `key_file`, readable by its owner
/// only, and returns its public half.
///
/// Decision: a key file inside the data directory is refused. The data
/// directory is what an auditor receives a copy of; a signing key in it would
/// let anyone holding the copy sign checkpoints.
///
/// # Errors
/// [`BadInput`] naming the file when it exists already (an existing key is
/// never overwritten: the checkpoints it signed must stay checkable) or lies
/// inside `data`, or naming `--name` when it is not a key name; the file's
/// I/O failure, naming the file.
pub fn create(data: &Path, key_file: &Path, name: &str) -> anyhow::Result<CreatedKey> {
    refuse_inside(data, key_file)?;
    let (private, public) = generate_key(&mut rand_core::OsRng, name);
    CheckpointSigner::new(&private).map_err(|_| {
        BadInput(format!(
            "--name {name:?}: a key name is one word without '+' (e.g. {KEY_NAME_DEFAULT})"
        ))
    })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(key_file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::Error::new(BadInput(format!(
                "{}: a key exists there already; refusing to overwrite it (the checkpoints \
                 it signed would no longer be checkable): choose another --key-file",
                key_file.display()
            )))
        } else {
            anyhow::anyhow!("creating the key file {}: {e}", key_file.display())
        }
    })?;
    f.write_all(format!("{private}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing the key file {}", key_file.display()))?;
    Ok(CreatedKey {
        key_file: key_file.to_owned(),
        name: name.to_owned(),
        public_key: public,
    })
}

/// Refuses a key file whose directory is `data` or inside it.
fn refuse_inside(data: &Path, key_file: &Path) -> Result<(), BadInput> {
    let dir = key_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let (Ok(dir), Ok(data)) = (dir.canonicalize(), data.canonicalize()) else {
        // A data directory that does not exist holds no key; a directory of
        // the key that does not exist fails when the file is created.
        return Ok(());
    };
    if dir.starts_with(&data) {
        return Err(BadInput(format!(
            "{}: the key file is inside the data directory {}, which auditors receive \
             copies of; keep the signing key elsewhere",
            key_file.display(),
            data.display()
        )));
    }
    Ok(())
}

/// Reads the private key in `key_file`.
///
/// # Errors
/// [`BadInput`] naming the file when it is unreadable or holds no private key.
pub fn read_private(key_file: &Path) -> Result<String, BadInput> {
    let text = std::fs::read_to_string(key_file)
        .map_err(|e| BadInput(format!("the key file {}: {e}", key_file.display())))?;
    let key = text.trim().to_owned();
    public_key_of(&key).map_err(|e| {
        BadInput(format!(
            "the key file {}: not a private key made by `key create` ({e})",
            key_file.display()
        ))
    })?;
    Ok(key)
}

/// The signer of the private key in `key_file`.
///
/// # Errors
/// As [`read_private`].
pub fn signer(key_file: &Path) -> Result<CheckpointSigner, BadInput> {
    let key = read_private(key_file)?;
    CheckpointSigner::new(&key).map_err(|e| BadInput(format!("{}: {e}", key_file.display())))
}

/// The public half of the private key in `key_file`, as the verifier key line.
///
/// # Errors
/// As [`read_private`].
pub fn public(key_file: &Path) -> Result<String, BadInput> {
    let key = read_private(key_file)?;
    public_key_of(&key).map_err(|e| BadInput(format!("{}: {e}", key_file.display())))
}

/// The verifier of the public key in `file` (one verifier key line), and
/// the key's text.
///
/// # Errors
/// [`BadInput`] naming the file when it is unreadable or holds no verifier key.
pub fn verifier(file: &Path) -> Result<(CheckpointVerifier, String), BadInput> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| BadInput(format!("the public key file {}: {e}", file.display())))?;
    let key = text.trim().to_owned();
    let verifier = CheckpointVerifier::new(&key).map_err(|e| {
        BadInput(format!(
            "the public key file {}: not a verifier key made by `key public` ({e})",
            file.display()
        ))
    })?;
    Ok((verifier, key))
}
