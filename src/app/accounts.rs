//! Customer accounts of the personal space, created the one way both
//! transports create them (`navigo-ledger account create`, `POST /v1/accounts`):
//! the password must pass `ACC-PASSWORD`, the account is linked to the one
//! customer whose client number and birth date both match (`ACC-LINK`), and is
//! kept in the auth file with its password hashed.

use std::path::Path;

use uuid::Uuid;

use super::auth::{hash_password, AccountRecord, AuthDb};

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// `ACC-PASSWORD` or `ACC-LINK` refused it.
    #[error("refused {} ({}): {}", .0.rule.as_str(), .0.article, .0.message)]
    Refused(navigo_rules::Refusal),
    /// The login belongs to another account.
    #[error("the login is taken; choose another")]
    LoginTaken,
    /// The auth file could not be read or written.
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

/// The customer a new personal-space account is for (the one implementation,
/// for `navigo-ledger account create` and `POST /v1/accounts`): the password
/// must pass `ACC-PASSWORD`; the account is linked only to the customer whose
/// client number and birth date both match (`ACC-LINK`) — the refusal does not
/// say which of the two did not, so that client numbers cannot be probed.
///
/// It reads the world only, and writes nothing: a ledger whose states are
/// paged runs it through `Ledger::read_paged`, which may run it more than once.
///
/// # Errors
/// [`AccountError::Refused`].
pub fn account_person(
    world: &navigo_rules::world::World,
    client_number: &navigo_events_schema::types::ClientNumber,
    birth: chrono::NaiveDate,
    password: &str,
    today: chrono::NaiveDate,
) -> Result<Uuid, AccountError> {
    use navigo_rules::account::{check_link, check_password};
    check_password(password, today).map_err(AccountError::Refused)?;
    // Only the persons of that client number can pass ACC-LINK (the number must
    // match): read through the world's index, not a scan of every person.
    let person = world
        .persons_by_client_number(client_number.as_str())
        .find(|p| check_link(client_number, birth, &p.client_number, p.birth_date, today).is_ok())
        .map(|p| p.id);
    person.ok_or_else(|| {
        // A link that cannot match (same number, another birth date) gives the
        // rule's own refusal, whichever field did not match.
        let other = birth.succ_opt().unwrap_or(chrono::NaiveDate::MIN);
        match check_link(client_number, birth, client_number, other, today) {
            Err(r) => AccountError::Refused(r),
            Ok(()) => AccountError::Storage(anyhow::anyhow!("ACC-LINK accepted a mismatch")),
        }
    })
}

/// Creates the personal-space account `login` of `person` (found by
/// [`account_person`]), its password stored as an argon2id hash in the auth
/// file at `path`: one account per customer (`ACC-LINK`), one customer per
/// login.
///
/// # Errors
/// [`AccountError`].
pub fn create_account(
    path: &Path,
    login: &str,
    person: Uuid,
    password: &str,
    today: chrono::NaiveDate,
) -> Result<Uuid, AccountError> {
    let mut db = AuthDb::load(path)?;
    if db.accounts.contains_key(login) {
        return Err(AccountError::LoginTaken);
    }
    // ACC-LINK links one account to one customer: a second account for the same
    // person would give two passwords to one personal space. Only someone who
    // gave both the client number and the birth date learns it exists.
    if db.accounts.values().any(|a| a.person == person) {
        return Err(AccountError::Refused(navigo_rules::Refusal::on(
            today,
            navigo_events_schema::RuleId::AccLink,
            "this customer already has a personal-space account: sign in with its login, \
             or have an agent reset it",
        )));
    }
    db.accounts.insert(
        login.to_owned(),
        AccountRecord {
            login: login.to_owned(),
            person,
            password_hash: hash_password(password)?,
        },
    );
    db.save(path)?;
    Ok(person)
}

/// Forgets the personal-space account of `person`, whose personal data was
/// erased (`TERM-RETENTION`): its login (often an e-mail address) and password
/// hash leave the auth file at `path`, which is written again only when it
/// held one. Returns how many accounts were forgotten. Idempotent, so that
/// erasing again finishes what a failure interrupted.
///
/// # Errors
/// The auth file cannot be read or written.
pub fn forget_person(path: &Path, person: Uuid) -> anyhow::Result<usize> {
    let mut db = AuthDb::load(path)?;
    let before = db.accounts.len();
    db.accounts.retain(|_, a| a.person != person);
    let forgotten = before - db.accounts.len();
    if forgotten > 0 {
        db.save(path)?;
    }
    Ok(forgotten)
}
