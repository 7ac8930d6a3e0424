//! Mandates as personal data (`PAY-METHOD`, `TERM-RETENTION`): the debtor's
//! account sealed with the payer's key in every event that carries it, the
//! IBAN validated, normalised and masked.

use chrono::NaiveDate;
use navigo_events_schema::event::{ContractResumed, MandateChanged};
use navigo_events_schema::mandate::{DebtorAccount, DebtorView, Iban, MandateInput, MandateView};
use navigo_events_schema::types::{DebitDay, PaymentSetup};
use navigo_events_schema::{Event, YearMonth};
use proptest::prelude::*;
use uuid::Uuid;

const PAYER: Uuid = Uuid::from_u128(0x0196_a000_0000_7000_8000_0000_0000_0002);
const KEY: [u8; 32] = [7; 32];
const IBAN: &str = "FR7630004447112718281828435";

fn input(reference: &str) -> MandateInput {
    MandateInput {
        reference: reference.parse().expect("a reference"),
        signed_on: NaiveDate::from_ymd_opt(2027, 7, 1).expect("a date"),
        debtor: DebtorAccount {
            iban: IBAN.parse().expect("an IBAN"),
            bic: Some("BNPAFRPP".parse().expect("a BIC")),
            holder_name: "Zephyrine Quasimodette".parse().expect("a name"),
        },
    }
}

fn seal(event: &mut Event, stream: Uuid, event_id: Uuid) {
    for (person, sealing_id, field) in event.personal_fields_mut(stream, event_id) {
        assert_eq!(person, PAYER);
        field.seal(person, &KEY, sealing_id).expect("sealed");
    }
}

fn open(event: &mut Event, stream: Uuid, event_id: Uuid, key: &[u8; 32]) -> bool {
    event
        .personal_fields_mut(stream, event_id)
        .into_iter()
        .all(|(person, sealing_id, field)| field.open(person, key, sealing_id).is_ok())
}

fn reread(event: &Event) -> (String, Event) {
    let json = event.data_to_value().expect("JSON").to_string();
    let back = navigo_events_schema::upcast::decode_event(
        event.type_name(),
        Event::current_version(event.type_name()).expect("a version"),
        &json,
    )
    .expect("decodes");
    (json, back)
}

#[test]
fn term_retention_a_mandate_account_is_sealed_with_the_payer_key_and_opens_back() {
    // Given a mandate change recorded for the payer
    let contract = Uuid::from_u128(0xc);
    let event_id = Uuid::from_u128(0xe1);
    let mandate = input("UMR-A-1").to_mandate(PAYER);
    let mut e = Event::MandateChanged(MandateChanged {
        mandate: mandate.clone(),
        effective_from_month: "2027-09".parse().expect("a month"),
    });
    // When the store seals it
    seal(&mut e, contract, event_id);
    // Then its JSON holds neither the IBAN, nor its account number, nor the name
    let (json, mut back) = reread(&e);
    for clear in [IBAN, "27182818284", "Quasimodette", "BNPAFRPP"] {
        assert!(!json.contains(clear), "{clear} in {json}");
    }
    // But the reference and the signature date, which are not personal
    assert!(
        json.contains("UMR-A-1") && json.contains("2027-07-01"),
        "{json}"
    );
    // And read back without the key, the account is unreadable and masked as such
    let Event::MandateChanged(closed) = &back else {
        panic!("a mandate change")
    };
    assert!(closed.mandate.account().is_none());
    assert_eq!(
        MandateView::from(&closed.mandate).debtor,
        DebtorView::Unreadable
    );
    // And another key does not open it
    assert!(!open(&mut back.clone(), contract, event_id, &[8; 32]));
    // And the payer's key opens it back to the same mandate
    assert!(open(&mut back, contract, event_id, &KEY));
    let Event::MandateChanged(opened) = &back else {
        panic!("a mandate change")
    };
    assert_eq!(opened.mandate, mandate);
    assert_eq!(
        opened.mandate.account().map(|a| a.iban.as_str()),
        Some(IBAN)
    );
}

#[test]
fn term_retention_a_sealed_mandate_carried_into_a_later_event_still_opens() {
    // Given a sealed mandate, read back closed (as a paged state holds it)
    let contract = Uuid::from_u128(0xc);
    let mut e = Event::MandateChanged(MandateChanged {
        mandate: input("UMR-A-1").to_mandate(PAYER),
        effective_from_month: "2027-09".parse().expect("a month"),
    });
    seal(&mut e, contract, Uuid::from_u128(1));
    let (_, back) = reread(&e);
    let Event::MandateChanged(closed) = back else {
        panic!("a mandate change")
    };
    // When the rules carry it unchanged into a resumption, another event
    let mut resumed = Event::ContractResumed(ContractResumed {
        rulebook: "CGVU-2026".into(),
        remaining_days: 30,
        billing_from: YearMonth::of(NaiveDate::from_ymd_opt(2027, 11, 1).expect("a date")),
        first_free_month: None,
        payment: PaymentSetup::DirectDebit {
            debit_day: DebitDay::DEFAULT,
            mandate: closed.mandate.clone(),
        },
        cash_due: None,
    });
    seal(&mut resumed, contract, Uuid::from_u128(2));
    let (_, mut back) = reread(&resumed);
    // Then it opens there too
    assert!(open(&mut back, contract, Uuid::from_u128(2), &KEY));
    let Event::ContractResumed(r) = &back else {
        panic!("a resumption")
    };
    assert_eq!(
        r.payment
            .mandate()
            .and_then(|m| m.account())
            .map(|a| a.iban.as_str()),
        Some(IBAN)
    );
    // But moved under another mandate reference it does not open
    let mut moved = closed.mandate.clone();
    moved.reference = "UMR-OTHER".into();
    let mut e = Event::MandateChanged(MandateChanged {
        mandate: moved,
        effective_from_month: "2027-09".parse().expect("a month"),
    });
    assert!(!open(&mut e, contract, Uuid::from_u128(3), &KEY));
}

proptest! {
    /// `PAY-METHOD`: every French IBAN built from a RIB validates, and its
    /// masked form shows the country, the check digits and the last four
    /// characters only, grouped as printed.
    #[test]
    fn pay_method_built_ibans_validate_and_mask_all_but_their_ends(
        bank in any::<u32>(), branch in any::<u32>(), account in any::<u64>()
    ) {
        let iban = Iban::french(bank, branch, account);
        let text = iban.as_str().to_owned();
        prop_assert_eq!(text.len(), 27);
        prop_assert!(text.starts_with("FR"));
        let parsed: Iban = text.parse().expect("valid");
        prop_assert_eq!(&parsed, &iban);
        let masked = iban.masked().as_str().replace(' ', "");
        prop_assert_eq!(&masked[..4], &text[..4]);
        prop_assert_eq!(&masked[23..], &text[23..]);
        prop_assert!(masked[4..23].chars().all(|c| c == '*'));
        let debug = format!("{:?}", iban);
        prop_assert!(!debug.contains(&text[4..23]));
    }

    /// `PAY-METHOD`: changing any one digit of a valid IBAN is refused (the
    /// mod-97 checksum catches every single-digit error).
    #[test]
    fn pay_method_a_single_changed_digit_is_refused(
        account in any::<u64>(), at in 4usize..27, delta in 1u8..10
    ) {
        let iban = Iban::french(30004, 1, account);
        let mut bytes = iban.as_str().as_bytes().to_vec();
        bytes[at] = b'0' + (bytes[at] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).expect("ASCII");
        prop_assert!(changed.parse::<Iban>().is_err(), "{} accepted", changed);
    }
}
