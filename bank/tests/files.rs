//! The files the ledger sends: pain.008.001.08 collections and pain.001.001.09
//! refunds, checked against the official ISO 20022 XSDs, with every debit
//! once, their summary, and the same bytes for the same input.

mod support;

use std::collections::BTreeMap;

use navigo_bank::{BuildError, CollectionFile, Refund, RefundFile, RefundInput, SequenceType};
use navigo_events_schema::types::Money;
use sha2::{Digest, Sha256};
use support::*;

#[test]
fn pay_method_collection_file_has_every_debit_of_a_month_once_and_validates() {
    let input = month(600);
    let file = CollectionFile::build(&input).expect("the month's file");
    assert_valid("pain.008.001.08.xsd", &file.bytes);

    let mut ids = texts_of(&file.bytes, "EndToEndId");
    ids.sort();
    let mut expected: Vec<String> = input
        .debits
        .iter()
        .map(|d| d.end_to_end_id.clone())
        .collect();
    expected.sort();
    assert_eq!(ids, expected, "every debit exactly once");

    let sum: Money = input.debits.iter().map(|d| d.amount).sum();
    assert_eq!(file.summary.message_id, "NAV-COLL-2026-03-05");
    assert_eq!(file.summary.transactions, 600);
    assert_eq!(file.summary.control_sum, sum);
    assert_eq!(
        file.summary.sha256,
        hex::encode(Sha256::digest(&file.bytes))
    );
    assert_eq!(texts_of(&file.bytes, "CtrlSum")[0], sum.to_string());
    assert_eq!(texts_of(&file.bytes, "NbOfTxs")[0], "600");
    let amendments = input
        .debits
        .iter()
        .filter(|d| d.amendment.is_some())
        .count();
    assert_eq!(texts_of(&file.bytes, "AmdmntInd").len(), amendments);
}

#[test]
fn pay_method_collection_file_has_one_block_per_sequence_type() {
    let input = month(50);
    let file = CollectionFile::build(&input).unwrap();
    assert_eq!(texts_of(&file.bytes, "SeqTp"), ["FRST", "RCUR"]);
    // The first block holds exactly the first collections.
    let firsts = input
        .debits
        .iter()
        .filter(|d| d.sequence == SequenceType::First)
        .count();
    let per_block = texts_of(&file.bytes, "NbOfTxs");
    assert_eq!(per_block[1], firsts.to_string());
    assert_eq!(per_block[2], (50 - firsts).to_string());
    assert_eq!(
        texts_of(&file.bytes, "ReqdColltnDt"),
        ["2026-03-05", "2026-03-05"]
    );
    assert_eq!(texts_of(&file.bytes, "CreDtTm"), ["2026-02-25T06:00:00Z"]);
}

#[test]
fn pay_method_collection_file_same_input_same_bytes() {
    let input = month(120);
    let once = CollectionFile::build(&input).unwrap();
    let twice = CollectionFile::build(&input).unwrap();
    assert_eq!(once, twice);
    // The order the debits were gathered in does not change the bytes.
    let mut shuffled = input.clone();
    shuffled.debits.reverse();
    shuffled.debits.rotate_left(37);
    assert_eq!(CollectionFile::build(&shuffled).unwrap(), once);
    // The creation instant is an input: another one, other bytes.
    let mut later = input.clone();
    later.created_at = at("2026-02-25T06:00:01Z");
    assert_ne!(
        CollectionFile::build(&later).unwrap().summary.sha256,
        once.summary.sha256
    );
}

#[test]
fn pay_method_collection_file_refuses_bad_input_naming_the_field() {
    let base = month(5);
    let bad = |edit: &dyn Fn(&mut navigo_bank::CollectionInput)| {
        let mut input = base.clone();
        edit(&mut input);
        CollectionFile::build(&input).expect_err("refused")
    };
    let iban = base.debits[2].debtor_iban.clone();
    let mut wrong = iban.clone();
    wrong.replace_range(2..4, if &iban[2..4] == "00" { "01" } else { "00" });
    let e = bad(&|i| i.debits[2].debtor_iban = wrong.clone());
    let text = e.to_string();
    assert!(
        text.contains("NAV-2026-03-00000002") && text.contains("debtor_iban"),
        "{text}"
    );
    assert!(
        !text.contains(&wrong[4..]),
        "the IBAN is masked in errors: {text}"
    );

    let e = bad(&|i| i.debits[4].end_to_end_id = i.debits[1].end_to_end_id.clone());
    assert_eq!(
        e,
        BuildError::DuplicateEndToEndId("NAV-2026-03-00000001".to_owned())
    );
    let e = bad(&|i| i.debits[0].amount = Money::ZERO);
    assert!(
        matches!(
            e,
            BuildError::Field {
                field: "amount",
                ..
            }
        ),
        "{e}"
    );
    let e = bad(&|i| i.debits[3].end_to_end_id = "X".repeat(36));
    assert!(
        matches!(
            e,
            BuildError::Field {
                field: "end_to_end_id",
                ..
            }
        ),
        "{e}"
    );
    let e = bad(&|i| {
        i.debits[1].amendment = Some(navigo_bank::Amendment {
            previous_mandate_reference: None,
            debtor_account_changed: false,
        })
    });
    assert!(
        matches!(
            e,
            BuildError::Field {
                field: "amendment",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(bad(&|i| i.debits.clear()), BuildError::Empty);
    let e = bad(&|i| i.message_id = "M".repeat(36));
    assert!(matches!(e, BuildError::Rulebook(_)), "{e}");
}

fn refunds(n: u64) -> RefundInput {
    RefundInput {
        message_id: "NAV-RFD-2026-03-20".to_owned(),
        created_at: at("2026-03-19T07:30:00Z"),
        creditor: creditor(),
        execution_date: day("2026-03-20"),
        refunds: (0..n)
            .map(|i| Refund {
                end_to_end_id: format!("NAV-RFD-{i:08}"),
                amount: Money::from_cents(500 + i64::try_from(i * 37 % 9000).unwrap()),
                payee_name: format!("Payeur {i}"),
                payee_iban: payer_iban(i),
                payee_bic: None,
                remittance: "Remboursement Navigo Annuel".to_owned(),
            })
            .collect(),
    }
}

#[test]
fn pay_refund_30d_refund_file_has_every_refund_once_validates_and_repeats() {
    let input = refunds(200);
    let file = RefundFile::build(&input).unwrap();
    assert_valid("pain.001.001.09.xsd", &file.bytes);
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for id in texts_of(&file.bytes, "EndToEndId") {
        *count.entry(id).or_default() += 1;
    }
    assert_eq!(count.len(), 200);
    assert!(count.values().all(|n| *n == 1));
    let sum: Money = input.refunds.iter().map(|r| r.amount).sum();
    assert_eq!(file.summary.control_sum, sum);
    assert_eq!(file.summary.transactions, 200);
    assert_eq!(
        file.summary.sha256,
        hex::encode(Sha256::digest(&file.bytes))
    );
    let mut reversed = input.clone();
    reversed.refunds.reverse();
    assert_eq!(RefundFile::build(&reversed).unwrap(), file);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Any subset of a month, in any order: each debit once, the count and
        /// control sum of the summary theirs, and the bytes of the sorted input.
        #[test]
        fn pay_method_collection_file_any_subset_any_order(
            keep in proptest::collection::vec(any::<bool>(), 40),
            rotate in 0usize..40,
        ) {
            let mut input = month(40);
            let mut k = keep.iter();
            input.debits.retain(|_| *k.next().unwrap());
            prop_assume!(!input.debits.is_empty());
            let sorted = CollectionFile::build(&input).unwrap();
            let n = input.debits.len();
            input.debits.rotate_left(rotate % n);
            let file = CollectionFile::build(&input).unwrap();
            prop_assert_eq!(&file, &sorted);
            let mut ids = texts_of(&file.bytes, "EndToEndId");
            ids.sort();
            let mut want: Vec<String> = input.debits.iter().map(|d| d.end_to_end_id.clone()).collect();
            want.sort();
            prop_assert_eq!(ids, want);
            prop_assert_eq!(file.summary.transactions, n as u64);
            let sum: Money = input.debits.iter().map(|d| d.amount).sum();
            prop_assert_eq!(file.summary.control_sum, sum);
        }
    }
}

#[test]
fn pay_method_debug_output_masks_every_iban() {
    let input = month(3);
    let debug = format!("{input:?}");
    for d in &input.debits {
        assert!(!debug.contains(&d.debtor_iban), "{debug}");
    }
    assert!(!debug.contains(&creditor_iban()), "{debug}");
    let refunds = format!("{:?}", refunds(2));
    assert!(!refunds.contains(&payer_iban(1)), "{refunds}");
}
