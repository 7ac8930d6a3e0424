//! The end-to-end id of a presented debit, defined once.

use uuid::Uuid;

/// What every end-to-end id of a debit starts with: it tells a debit of this
/// ledger from anything else a bank may report on the same account.
const DEBIT_END_TO_END_PREFIX: &str = "NV";

/// What every end-to-end id of a refund's transfer starts with: a transfer is
/// never taken for a debit, nor a debit for a transfer.
const REFUND_END_TO_END_PREFIX: &str = "NR";

/// The end-to-end id of the transfer paying the refund due recorded by the
/// event `refund_event_id`: as [`debit_end_to_end_id`], with its own prefix.
pub fn refund_end_to_end_id(refund_event_id: Uuid) -> String {
    format!("{REFUND_END_TO_END_PREFIX}{}", refund_event_id.simple())
}

/// The end-to-end id of the debit presented by the event `debit_event_id`.
///
/// Decision: the `DebitPresented` event's id is unique in the log, is what a
/// `DebitRejected` already names (`debit_event_id`), and survives every
/// replay; its 32 hexadecimal digits after a two-letter prefix make 34
/// characters, inside the 35 of `Max35Text`, of the `[A-Za-z0-9]` the EPC
/// recommends. A return is then matched to its debit by parsing its id back,
/// without an index from ids to debits.
pub fn debit_end_to_end_id(debit_event_id: Uuid) -> String {
    format!("{DEBIT_END_TO_END_PREFIX}{}", debit_event_id.simple())
}

/// The event id of the debit an end-to-end id names, when it is one of this
/// ledger's ([`debit_end_to_end_id`]).
pub fn debit_event_of(end_to_end_id: &str) -> Option<Uuid> {
    let hex = end_to_end_id.strip_prefix(DEBIT_END_TO_END_PREFIX)?;
    if hex.len() != 32
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    Uuid::try_parse(hex).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pay_reject_end_to_end_id_round_trips_the_debit_event_id() {
        for raw in [
            0u128,
            1,
            u128::MAX,
            0x0190_1234_5678_7abc_8def_0123_4567_89ab,
        ] {
            let id = Uuid::from_u128(raw);
            let e2e = debit_end_to_end_id(id);
            assert!(
                e2e.len() <= 35 && e2e.chars().all(|c| c.is_ascii_alphanumeric()),
                "{e2e}"
            );
            assert_eq!(debit_event_of(&e2e), Some(id));
            let refund = refund_end_to_end_id(id);
            assert!(refund.len() <= 35 && refund != e2e, "{refund}");
            assert_eq!(debit_event_of(&refund), None, "a transfer is no debit");
        }
        for other in [
            "",
            "NV",
            "XX0190123456787abc8def0123456789ab",
            "NV0190123456787ABC8DEF0123456789AB",
            "NV-1",
        ] {
            assert_eq!(debit_event_of(other), None, "{other}");
        }
    }
}
