//! Espace Personnel and partner checks (RULES.md §11; ESPACE-GUIDE, CGVU-2026
//! §16.1.5.2): `ACC-PASSWORD`, `ACC-LINK`, `ACC-MINOR-RENEW`, `PARTNER-CHECK`.

use chrono::NaiveDate;
use navigo_events_schema::types::ClientNumber;
use navigo_events_schema::RuleId;

use crate::calendar::age_on;
use crate::refusal::Refusal;

/// `ACC-PASSWORD`: fewest characters of a password.
pub const PASSWORD_CHARS_MIN: usize = 8;
/// `ACC-PASSWORD`: most characters of a password.
pub const PASSWORD_CHARS_MAX: usize = 20;
/// `ACC-MINOR-RENEW`: youngest age allowed to renew through the personal space.
pub const ONLINE_RENEW_AGE_MIN: u32 = 16;

/// `ACC-PASSWORD`: 8 to 20 characters, with at least one upper-case letter, one
/// lower-case letter and one digit (ESPACE-GUIDE). Characters are Unicode scalar
/// values; letters outside ASCII count for their case.
///
/// # Errors
/// A refusal listing every condition not met. The password never appears in it.
pub fn check_password(password: &str, on: NaiveDate) -> Result<(), Refusal> {
    let n = password.chars().count();
    let mut missing = Vec::new();
    if !(PASSWORD_CHARS_MIN..=PASSWORD_CHARS_MAX).contains(&n) {
        missing.push(format!(
            "{PASSWORD_CHARS_MIN} to {PASSWORD_CHARS_MAX} characters (it has {n})"
        ));
    }
    if !password.chars().any(char::is_uppercase) {
        missing.push("an upper-case letter".to_owned());
    }
    if !password.chars().any(char::is_lowercase) {
        missing.push("a lower-case letter".to_owned());
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        missing.push("a digit".to_owned());
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Refusal::on(
        on,
        RuleId::AccPassword,
        format!("the password needs {}", missing.join(", ")),
    ))
}

/// `ACC-LINK`: an account is linked to a customer when the client number and the
/// birth date given both match the customer's.
///
/// # Errors
/// A refusal that does not say which of the two did not match, so that the
/// answer cannot be used to probe client numbers.
pub fn check_link(
    given_client: &ClientNumber,
    given_birth: NaiveDate,
    customer_client: &ClientNumber,
    customer_birth: NaiveDate,
    on: NaiveDate,
) -> Result<(), Refusal> {
    if given_client == customer_client && given_birth == customer_birth {
        return Ok(());
    }
    Err(Refusal::on(
        on,
        RuleId::AccLink,
        "the client number and the birth date must both match the customer's record; \
         check both (they are on the contract and the attestation)",
    ))
}

/// `ACC-MINOR-RENEW`: a holder under 16 on `on` cannot renew through the personal
/// space.
///
/// # Errors
/// A refusal naming the date from which an online renewal is possible, and the
/// agency as the other way.
pub fn check_online_renewal(holder_birth: NaiveDate, on: NaiveDate) -> Result<(), Refusal> {
    let age = age_on(holder_birth, on);
    if age >= ONLINE_RENEW_AGE_MIN {
        return Ok(());
    }
    let sixteen = navigo_events_schema::types::add_months(holder_birth, ONLINE_RENEW_AGE_MIN * 12);
    Err(Refusal::on(
        on,
        RuleId::AccMinorRenew,
        format!(
            "the holder is {age}, under {ONLINE_RENEW_AGE_MIN}: renew at an agency or by mail, \
             or online from {sixteen}"
        ),
    ))
}

/// How a partner identifies the subscription to check (`PARTNER-CHECK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerIdentifier {
    /// The Navigo Annuel support (pass) number.
    Pass(String),
    /// The client number.
    Client(ClientNumber),
}

/// The state of a customer's subscription on the date of the check, as the
/// caller reads it from the projections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    /// A contract in force (not suspended, not terminated).
    Active,
    /// The contract is suspended.
    Suspended,
    /// No contract in force (terminated, or never subscribed).
    None,
}

/// What the ledger knows of one customer, for a partner check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerSubject<'a> {
    /// The customer's client number.
    pub client_number: &'a ClientNumber,
    /// The support numbers of the customer's contracts.
    pub pass_numbers: &'a [String],
    /// The customer's birth date.
    pub birth_date: NaiveDate,
    /// The state of the subscription on the date of the check.
    pub state: SubscriptionState,
}

/// `PARTNER-CHECK`: the answer to a partner, a return code only (CGVU-2026
/// §16.1.5.2: "un code de retour ... sans aucune Donnée à caractère personnel").
/// The type carries no data by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartnerReturnCode {
    /// A subscription is valid on the date of the check.
    Valid,
    /// The identifier and birth date match, but no subscription is valid.
    NotValid,
    /// No customer matches both the identifier and the birth date. An unknown
    /// identifier and a wrong birth date give the same code, so that a partner
    /// cannot learn whether a number exists.
    NoMatch,
}

impl PartnerReturnCode {
    /// The code as sent to partners.
    pub fn code(self) -> &'static str {
        match self {
            PartnerReturnCode::Valid => "00",
            PartnerReturnCode::NotValid => "01",
            PartnerReturnCode::NoMatch => "02",
        }
    }
}

/// `PARTNER-CHECK`: checks a subscription from a pass or client number and a
/// birth date, against the customers the caller found for the identifier.
pub fn partner_check(
    id: &PartnerIdentifier,
    birth_date: NaiveDate,
    subjects: &[PartnerSubject<'_>],
) -> PartnerReturnCode {
    let matched = subjects.iter().find(|s| {
        s.birth_date == birth_date
            && match id {
                PartnerIdentifier::Pass(p) => s.pass_numbers.iter().any(|q| q == p),
                PartnerIdentifier::Client(c) => s.client_number == c,
            }
    });
    match matched {
        Some(s) if s.state == SubscriptionState::Active => PartnerReturnCode::Valid,
        Some(_) => PartnerReturnCode::NotValid,
        None => PartnerReturnCode::NoMatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn cn(s: &str) -> ClientNumber {
        s.parse().unwrap()
    }
    const ON: (i32, u32, u32) = (2026, 11, 20);
    fn on() -> NaiveDate {
        d(ON.0, ON.1, ON.2)
    }

    #[test]
    fn acc_password_accepts_8_to_20_chars_with_upper_lower_and_digit() {
        assert!(check_password("Abcdefg1", on()).is_ok());
        assert!(check_password("Abcdefghijklmnopqr12", on()).is_ok());
        assert!(check_password("Éléphant9", on()).is_ok());
    }

    #[test]
    fn acc_password_refuses_and_names_every_missing_condition() {
        for (pw, needs) in [
            ("Abcdef1", "8 to 20 characters"),
            ("Abcdefghijklmnopqr123", "8 to 20 characters"),
            ("abcdefg1", "upper-case"),
            ("ABCDEFG1", "lower-case"),
            ("Abcdefgh", "digit"),
        ] {
            let r = check_password(pw, on()).unwrap_err();
            assert_eq!(r.rule, RuleId::AccPassword);
            assert_eq!(r.article, "ESPACE-GUIDE");
            assert!(r.message.contains(needs), "{pw}: {}", r.message);
            assert!(
                !r.message.contains(pw),
                "the password leaks into the message"
            );
        }
    }

    #[test]
    fn acc_link_needs_both_client_number_and_birth_date() {
        let c = cn("C123");
        assert!(check_link(&c, d(1990, 1, 2), &c, d(1990, 1, 2), on()).is_ok());
        let wrong_birth = check_link(&c, d(1990, 1, 3), &c, d(1990, 1, 2), on()).unwrap_err();
        let wrong_client =
            check_link(&cn("C124"), d(1990, 1, 2), &c, d(1990, 1, 2), on()).unwrap_err();
        assert_eq!(wrong_birth.rule, RuleId::AccLink);
        // The two refusals are identical: nothing tells which field was wrong.
        assert_eq!(wrong_birth, wrong_client);
    }

    #[test]
    fn acc_minor_renew_under_16_cannot_renew_online() {
        let r = check_online_renewal(d(2010, 11, 21), on()).unwrap_err();
        assert_eq!((r.rule, r.article), (RuleId::AccMinorRenew, "ESPACE-GUIDE"));
        assert!(r.message.contains("2026-11-21"), "{}", r.message);
        assert!(check_online_renewal(d(2010, 11, 20), on()).is_ok());
        assert!(check_online_renewal(d(1950, 1, 1), on()).is_ok());
    }

    #[test]
    fn partner_check_answers_a_return_code_only() {
        let c = cn("C1");
        let passes = vec!["P-77".to_owned()];
        let subject = |state| PartnerSubject {
            client_number: &c,
            pass_numbers: &passes,
            birth_date: d(1980, 5, 6),
            state,
        };
        let active = [subject(SubscriptionState::Active)];
        assert_eq!(
            partner_check(
                &PartnerIdentifier::Pass("P-77".into()),
                d(1980, 5, 6),
                &active
            ),
            PartnerReturnCode::Valid
        );
        assert_eq!(
            partner_check(&PartnerIdentifier::Client(cn("C1")), d(1980, 5, 6), &active),
            PartnerReturnCode::Valid
        );
        assert_eq!(
            partner_check(
                &PartnerIdentifier::Client(cn("C1")),
                d(1980, 5, 6),
                &[subject(SubscriptionState::Suspended)]
            ),
            PartnerReturnCode::NotValid
        );
        // A wrong birth date and an unknown number give the same answer.
        let wrong_birth =
            partner_check(&PartnerIdentifier::Client(cn("C1")), d(1980, 5, 7), &active);
        let unknown = partner_check(
            &PartnerIdentifier::Pass("P-78".into()),
            d(1980, 5, 6),
            &active,
        );
        assert_eq!(wrong_birth, PartnerReturnCode::NoMatch);
        assert_eq!(unknown, PartnerReturnCode::NoMatch);
        assert_eq!(
            [
                PartnerReturnCode::Valid,
                PartnerReturnCode::NotValid,
                PartnerReturnCode::NoMatch
            ]
            .map(|c| c.code()),
            ["00", "01", "02"]
        );
    }

    proptest! {
        #[test]
        fn acc_password_accepted_iff_all_conditions_hold(pw in "[a-zA-Z0-9!?]{0,24}") {
            let n = pw.chars().count();
            let ok = (8..=20).contains(&n)
                && pw.chars().any(|c| c.is_ascii_uppercase())
                && pw.chars().any(|c| c.is_ascii_lowercase())
                && pw.chars().any(|c| c.is_ascii_digit());
            prop_assert_eq!(check_password(&pw, on()).is_ok(), ok);
        }
    }
}
