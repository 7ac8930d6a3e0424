//! A contract's state holds its mandates (`PAY-METHOD`), their accounts sealed
//! with the payer's key (`TERM-RETENTION`): the paged states' CBOR must write
//! and read them back, clear or sealed, or every page-in would fold the
//! contract again from the log.

use navigo_events_schema::sealed::SealedField;
use navigo_rules::contract::state::ContractState;
use navigo_testkit::*;

fn roundtrip(c: &ContractState) -> ContractState {
    let mut out = Vec::new();
    ciborium::into_writer(c, &mut out).expect("CBOR");
    ciborium::from_reader(&out[..]).unwrap_or_else(|e| panic!("reads back: {e:?}"))
}

#[test]
fn term_retention_a_contract_state_with_a_mandate_pages_out_and_back_clear_or_sealed() {
    // Given a direct-debit contract
    let s = Scenario::new().given(agency_contract(debit(1, 1)));
    let clear = s.world.contract(cid(1)).expect("contract 1").clone();
    // Then its state reads back as it was, its account clear
    assert_eq!(roundtrip(&clear), clear);
    // And with its account sealed with the payer's key, it reads back sealed
    // for the same person, with no clear text in its bytes
    // (every copy the fold kept, as the store seals the event they come from)
    let mut sealed = clear.clone();
    let copies = sealed.mandates.iter_mut().map(|(_, m)| m).chain(
        sealed
            .payments
            .iter_mut()
            .filter_map(|(_, p)| p.mandate_mut()),
    );
    for m in copies {
        let id = m.sealing_id();
        m.debtor.seal(pid(1), &[5; 32], id).expect("sealed");
    }
    let mut bytes = Vec::new();
    ciborium::into_writer(&sealed, &mut bytes).expect("CBOR");
    let iban = mandate(1).debtor.iban;
    assert!(!bytes
        .windows(iban.as_str().len())
        .any(|w| w == iban.as_str().as_bytes()));
    let back = roundtrip(&sealed);
    let (_, m) = back.mandates.last().expect("a mandate");
    assert_eq!(m.debtor.sealed_for(), Some(pid(1)));
    assert_eq!(m.payer, Some(pid(1)));
}
