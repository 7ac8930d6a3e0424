//! Ban windows (RULES.md §8) as a pure function of facts about one person,
//! taken from contract events by the caller.
//!
//! Windows follow RULES.md §0: "for N months from D" is [D, D + N months); the
//! person may act again on D + N months. Ban durations use the rulebook in force
//! on the date of the termination or notice that opens them (RULES.md §0,
//! Decision): the rulebook recorded on the fact when it is known, else
//! [`crate::rulebook::in_force`] on the fact's date.
//!
//! - `BAN-UNPAID-2M` (CGVU-2026 §4.4): a payer whose contract was terminated for
//!   unpaid debt cannot be payer for 2 months; lifted as soon as the debt is
//!   settled.
//! - `BAN-UNPAID-2011` (CGU-2011 §8.5): 6 months as payer. **Decision**: CGU-2011
//!   says nothing of a settlement, so settling does not lift it.
//! - `BAN-TREASURY-2Y` (§4.4): from the receipt of a Trésor Public notice
//!   (**Decision**: the delivery date when recorded, else the issue date), 2 years
//!   as payer; ends 21 days after a settlement with the Trésor Public.
//! - `BAN-FRAUD-3Y` (§12.2.4): 3 years as holder for the fraudster and the named
//!   accomplices; CGU-2011 §8.5: the fraudster only. **Decision**: the fraud ban
//!   bars the holder role (`SUB-BANNED-HOLDER`); RULES.md names no payer ban for
//!   fraud.
//! - `BAN-NEW-PAYER` (§12.2.5): a payer ban never bars the holder role, so a
//!   holder whose payer is refused may subscribe with a new payer.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use navigo_events_schema::RuleId;
use uuid::Uuid;

use crate::calendar::window_end;
use crate::refusal::Refusal;
use crate::rulebook::{by_id, in_force, Rulebook};

/// The role a fraud fact gives a person (`BAN-FRAUD-3Y`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FraudRole {
    /// The fraudster named in `FraudEstablished`.
    Fraudster,
    /// An accomplice named in `FraudEstablished`.
    Accomplice,
}

impl FraudRole {
    /// The role a fraud finding `(fraudster, accomplices)` gives `person`, if any.
    pub fn of(fraud: &(Uuid, Vec<Uuid>), person: Uuid) -> Option<FraudRole> {
        let (fraudster, accomplices) = fraud;
        if *fraudster == person {
            Some(FraudRole::Fraudster)
        } else if accomplices.contains(&person) {
            Some(FraudRole::Accomplice)
        } else {
            None
        }
    }
}

/// A fact about one person, read from contract events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanFact {
    /// A contract the person pays was terminated for unpaid debt
    /// (`ContractTerminated{reason: unpaid}`; the effective date).
    UnpaidTermination {
        /// Termination date.
        date: NaiveDate,
        /// The rulebook recorded on the termination.
        rulebook: String,
        /// The contract.
        contract: Uuid,
        /// The termination event.
        event_id: Uuid,
    },
    /// The debt of that contract was fully settled on `date`.
    DebtSettled {
        /// Settlement date.
        date: NaiveDate,
        /// The contract.
        contract: Uuid,
    },
    /// A Trésor Public notice was issued to the person as payer.
    TreasuryNoticeIssued {
        /// Issue date.
        date: NaiveDate,
        /// The contract.
        contract: Uuid,
        /// The notice reference.
        notice_ref: String,
        /// The notice event.
        event_id: Uuid,
    },
    /// That notice was delivered (its receipt opens the ban).
    TreasuryNoticeDelivered {
        /// Delivery date.
        date: NaiveDate,
        /// The contract.
        contract: Uuid,
        /// The notice reference.
        notice_ref: String,
    },
    /// The person settled that notice with the Trésor Public.
    TreasuryNoticeSettled {
        /// Settlement date.
        date: NaiveDate,
        /// The contract.
        contract: Uuid,
        /// The notice reference.
        notice_ref: String,
    },
    /// A contract was terminated for established fraud and the person is named.
    FraudTermination {
        /// Termination date.
        date: NaiveDate,
        /// The rulebook recorded on the termination.
        rulebook: String,
        /// Fraudster or accomplice.
        role: FraudRole,
        /// The contract.
        contract: Uuid,
        /// The termination event.
        event_id: Uuid,
    },
}

/// The role a ban bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BanRole {
    /// Payer of a new contract (`SUB-BANNED-PAYER`).
    Payer,
    /// Holder of a new contract (`SUB-BANNED-HOLDER`).
    Holder,
}

/// An early end of a ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lift {
    /// First day the person is no longer banned.
    pub date: NaiveDate,
    /// Why, for a person to read.
    pub why: String,
}

/// A ban window: the person may not take `role` on a date in [from, end), where
/// end is `until`, or the lift date when earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanWindow {
    /// `BAN-UNPAID-2M`, `BAN-UNPAID-2011`, `BAN-TREASURY-2Y` or `BAN-FRAUD-3Y`.
    pub rule: RuleId,
    /// The role barred.
    pub role: BanRole,
    /// First day banned.
    pub from: NaiveDate,
    /// First day no longer banned (exclusive end), before any lift.
    pub until: NaiveDate,
    /// An early end, when one happened.
    pub lifted: Option<Lift>,
    /// The event that opened the window.
    pub opened_by_event: Uuid,
    /// The contract concerned.
    pub contract: Uuid,
    /// The rulebook whose duration applies.
    pub rulebook: &'static str,
}

impl BanWindow {
    /// The exclusive end of the window, lift included.
    pub fn end(&self) -> NaiveDate {
        match &self.lifted {
            Some(l) if l.date < self.until => l.date,
            _ => self.until,
        }
    }

    /// True when the window bars its role on `date`.
    pub fn is_active_on(&self, date: NaiveDate) -> bool {
        date >= self.from && date < self.end()
    }
}

fn rulebook_of(recorded: &str, date: NaiveDate) -> &'static Rulebook {
    by_id(recorded).unwrap_or_else(|| in_force(date))
}

/// The earliest date per key of the facts `pick` selects.
fn earliest_by<'a, K: Ord>(
    facts: &'a [BanFact],
    pick: impl Fn(&'a BanFact) -> Option<(K, NaiveDate)>,
) -> BTreeMap<K, NaiveDate> {
    let mut out: BTreeMap<K, NaiveDate> = BTreeMap::new();
    for (k, d) in facts.iter().filter_map(pick) {
        out.entry(k).and_modify(|e| *e = (*e).min(d)).or_insert(d);
    }
    out
}

/// What ends a window early, read once from all of a person's facts: the
/// settlements of each contract's debt (`BAN-UNPAID-2M`), and per Trésor Public
/// notice its first delivery and first settlement (`BAN-TREASURY-2Y`).
struct Lifts<'a> {
    /// Settlement dates per contract, sorted.
    settled: BTreeMap<Uuid, Vec<NaiveDate>>,
    /// The earliest delivery of each notice.
    delivered: BTreeMap<&'a str, NaiveDate>,
    /// The earliest settlement of each notice.
    treasury_settled: BTreeMap<&'a str, NaiveDate>,
}

impl<'a> Lifts<'a> {
    fn of(facts: &'a [BanFact]) -> Lifts<'a> {
        let mut settled: BTreeMap<Uuid, Vec<NaiveDate>> = BTreeMap::new();
        for f in facts {
            if let BanFact::DebtSettled { date, contract } = f {
                settled.entry(*contract).or_default().push(*date);
            }
        }
        for dates in settled.values_mut() {
            dates.sort();
        }
        Lifts {
            settled,
            delivered: earliest_by(facts, |f| match f {
                BanFact::TreasuryNoticeDelivered {
                    date, notice_ref, ..
                } => Some((notice_ref.as_str(), *date)),
                _ => None,
            }),
            treasury_settled: earliest_by(facts, |f| match f {
                BanFact::TreasuryNoticeSettled {
                    date, notice_ref, ..
                } => Some((notice_ref.as_str(), *date)),
                _ => None,
            }),
        }
    }
}

/// The ban windows opened by one person's facts, in the order of the facts.
/// Every fact is read (nothing is dropped): the work is O(n log n) in the number
/// of facts.
pub fn ban_windows(facts: &[BanFact]) -> Vec<BanWindow> {
    let lifts = Lifts::of(facts);
    facts
        .iter()
        .filter_map(|fact| match fact {
            BanFact::UnpaidTermination {
                date,
                rulebook,
                contract,
                event_id,
            } => Some(unpaid_window(*date, rulebook, *contract, *event_id, &lifts)),
            BanFact::TreasuryNoticeIssued {
                date,
                contract,
                notice_ref,
                event_id,
            } => treasury_window(*date, *contract, notice_ref, *event_id, &lifts),
            BanFact::FraudTermination {
                date,
                rulebook,
                role,
                contract,
                event_id,
            } => fraud_window(*date, rulebook, *role, *contract, *event_id),
            BanFact::DebtSettled { .. }
            | BanFact::TreasuryNoticeDelivered { .. }
            | BanFact::TreasuryNoticeSettled { .. } => None,
        })
        .collect()
}

/// `BAN-UNPAID-2M` / `BAN-UNPAID-2011`: the payer's window opened by an unpaid
/// termination.
fn unpaid_window(
    date: NaiveDate,
    rulebook: &str,
    contract: Uuid,
    event_id: Uuid,
    lifts: &Lifts<'_>,
) -> BanWindow {
    let rb = rulebook_of(rulebook, date);
    // BAN-UNPAID-2M lifts on the first settlement on or after the
    // termination; BAN-UNPAID-2011 does not (CGU-2011 §8.5 is silent;
    // see the module documentation and
    // `Rulebook::unpaid_ban_lifts_on_settlement`).
    let lifted = if rb.unpaid_ban_lifts_on_settlement {
        lifts
            .settled
            .get(&contract)
            .and_then(|dates| dates.iter().find(|s| **s >= date))
            .map(|s| Lift {
                date: *s,
                why: format!("debt of contract {contract} settled on {s} (BAN-UNPAID-2M)"),
            })
    } else {
        None
    };
    BanWindow {
        rule: rb.unpaid_ban.rule,
        role: BanRole::Payer,
        from: date,
        until: window_end(date, rb.unpaid_ban.months),
        lifted,
        opened_by_event: event_id,
        contract,
        rulebook: rb.id,
    }
}

/// `BAN-TREASURY-2Y`: the payer's window opened by the receipt of a Trésor
/// Public notice; `None` under a rulebook without that ban (CGU-2011).
fn treasury_window(
    date: NaiveDate,
    contract: Uuid,
    notice_ref: &str,
    event_id: Uuid,
    lifts: &Lifts<'_>,
) -> Option<BanWindow> {
    // Receipt = delivery date when recorded, else issue date (Decision).
    let receipt = lifts.delivered.get(notice_ref).copied().unwrap_or(date);
    let rb = in_force(receipt);
    let ban = rb.treasury_ban?;
    let lifted = lifts.treasury_settled.get(notice_ref).map(|&s| {
        let lift = s
            .checked_add_signed(Duration::days(i64::from(rb.treasury_settlement_lift_days)))
            .unwrap_or(NaiveDate::MAX);
        Lift {
            date: lift,
            why: format!(
                "settled with the Trésor Public on {s}; the ban ends {} days later \
                 (BAN-TREASURY-2Y)",
                rb.treasury_settlement_lift_days
            ),
        }
    });
    Some(BanWindow {
        rule: ban.rule,
        role: BanRole::Payer,
        from: receipt,
        until: window_end(receipt, ban.months),
        lifted,
        opened_by_event: event_id,
        contract,
        rulebook: rb.id,
    })
}

/// `BAN-FRAUD-3Y`: the holder's window of a fraudster, or of an accomplice
/// under a rulebook whose ban covers them (CGU-2011 §8.5: the fraudster only).
fn fraud_window(
    date: NaiveDate,
    rulebook: &str,
    role: FraudRole,
    contract: Uuid,
    event_id: Uuid,
) -> Option<BanWindow> {
    let rb = rulebook_of(rulebook, date);
    if role == FraudRole::Accomplice && !rb.fraud_ban_covers_accomplices {
        return None;
    }
    Some(BanWindow {
        rule: rb.fraud_ban.rule,
        role: BanRole::Holder,
        from: date,
        until: window_end(date, rb.fraud_ban.months),
        lifted: None,
        opened_by_event: event_id,
        contract,
        rulebook: rb.id,
    })
}

/// Whether the person may take `role` on `date`: the first window barring it,
/// if any. Payer windows never bar the holder role (`BAN-NEW-PAYER`).
///
/// # Errors
/// The window that bars the role on that date.
pub fn may_be(role: BanRole, date: NaiveDate, windows: &[BanWindow]) -> Result<(), &BanWindow> {
    match windows
        .iter()
        .find(|w| w.role == role && w.is_active_on(date))
    {
        Some(w) => Err(w),
        None => Ok(()),
    }
}

/// The refusal of a subscription barred by `window` on `request_date`:
/// `SUB-BANNED-PAYER` or `SUB-BANNED-HOLDER`, with the article of the rulebook in
/// force on the request date and what would make the request acceptable.
pub fn ban_refusal(window: &BanWindow, request_date: NaiveDate) -> Refusal {
    let rb = in_force(request_date);
    let end = window.end();
    match window.role {
        BanRole::Payer => Refusal::under(
            rb,
            RuleId::SubBannedPayer,
            format!(
                "the payer is banned by {} ({}) from {} until {} (exclusive), opened on contract {}; \
                 the holder may propose another payer (BAN-NEW-PAYER, {}){}",
                window.rule,
                rb.article(window.rule),
                window.from,
                end,
                window.contract,
                rb.article(RuleId::BanNewPayer),
                match window.rule {
                    RuleId::BanUnpaid2m => ", or the payer may settle the debt, which lifts the ban",
                    RuleId::BanTreasury2y => ", or the payer may settle with the Trésor Public: the ban ends 21 days later",
                    _ => "",
                }
            ),
        ),
        BanRole::Holder => Refusal::under(
            rb,
            RuleId::SubBannedHolder,
            format!(
                "the holder is banned by {} ({}) after a termination for fraud on contract {}, \
                 from {} until {} (exclusive); a subscription is possible from {}",
                window.rule,
                rb.article(window.rule),
                window.contract,
                window.from,
                end,
                end
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }
    fn unpaid(date: NaiveDate) -> BanFact {
        BanFact::UnpaidTermination {
            date,
            rulebook: crate::rulebook::in_force(date).id.to_owned(),
            contract: id(1),
            event_id: id(100),
        }
    }

    #[test]
    fn ban_unpaid_2m_bars_the_payer_for_two_months_from_the_termination() {
        let w = ban_windows(&[unpaid(d(2026, 12, 31))]);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].rule, RuleId::BanUnpaid2m);
        assert_eq!((w[0].from, w[0].until), (d(2026, 12, 31), d(2027, 2, 28)));
        assert_eq!(w[0].opened_by_event, id(100));
        assert!(may_be(BanRole::Payer, d(2026, 12, 30), &w).is_ok());
        assert!(may_be(BanRole::Payer, d(2026, 12, 31), &w).is_err());
        assert!(may_be(BanRole::Payer, d(2027, 2, 27), &w).is_err());
        // RULES.md §0: the person may act again on D + N months.
        assert!(may_be(BanRole::Payer, d(2027, 2, 28), &w).is_ok());
    }

    #[test]
    fn ban_unpaid_2m_lifts_as_soon_as_the_debt_is_settled() {
        let facts = [
            unpaid(d(2026, 10, 5)),
            BanFact::DebtSettled {
                date: d(2026, 10, 20),
                contract: id(1),
            },
            // Another contract's settlement does not lift it.
            BanFact::DebtSettled {
                date: d(2026, 10, 10),
                contract: id(2),
            },
        ];
        let w = ban_windows(&facts);
        assert_eq!(w[0].lifted.as_ref().map(|l| l.date), Some(d(2026, 10, 20)));
        assert!(may_be(BanRole::Payer, d(2026, 10, 19), &w).is_err());
        assert!(may_be(BanRole::Payer, d(2026, 10, 20), &w).is_ok());
        let r = ban_refusal(
            may_be(BanRole::Payer, d(2026, 10, 19), &w).unwrap_err(),
            d(2026, 10, 19),
        );
        assert_eq!(r.rule, RuleId::SubBannedPayer);
        assert_eq!(r.article, "CGVU-2026 §4.4");
        assert!(
            r.message.contains("BAN-UNPAID-2M") && r.message.contains("settle"),
            "{}",
            r.message
        );
    }

    #[test]
    fn ban_unpaid_2011_lasts_six_months_and_settlement_does_not_lift_it() {
        let facts = [
            unpaid(d(2025, 3, 10)),
            BanFact::DebtSettled {
                date: d(2025, 3, 20),
                contract: id(1),
            },
        ];
        let w = ban_windows(&facts);
        assert_eq!(w[0].rule, RuleId::BanUnpaid2011);
        assert_eq!(w[0].rulebook, "CGU-2011");
        assert_eq!(w[0].until, d(2025, 9, 10));
        assert!(w[0].lifted.is_none());
        assert!(may_be(BanRole::Payer, d(2025, 9, 9), &w).is_err());
        assert!(may_be(BanRole::Payer, d(2025, 9, 10), &w).is_ok());
    }

    #[test]
    fn ban_treasury_2y_runs_from_receipt_and_ends_21_days_after_settlement() {
        let issued = BanFact::TreasuryNoticeIssued {
            date: d(2027, 1, 5),
            contract: id(1),
            notice_ref: "ASP-1".into(),
            event_id: id(200),
        };
        // Without a delivery: from the issue date, for 24 months.
        let w = ban_windows(std::slice::from_ref(&issued));
        assert_eq!(w[0].rule, RuleId::BanTreasury2y);
        assert_eq!((w[0].from, w[0].until), (d(2027, 1, 5), d(2029, 1, 5)));
        assert!(may_be(BanRole::Payer, d(2027, 1, 4), &w).is_ok());
        assert!(may_be(BanRole::Payer, d(2029, 1, 4), &w).is_err());
        assert!(may_be(BanRole::Payer, d(2029, 1, 5), &w).is_ok());
        // With a delivery: from the delivery; settled 2027-03-01: ends 2027-03-22.
        let facts = [
            issued,
            BanFact::TreasuryNoticeDelivered {
                date: d(2027, 1, 9),
                contract: id(1),
                notice_ref: "ASP-1".into(),
            },
            BanFact::TreasuryNoticeSettled {
                date: d(2027, 3, 1),
                contract: id(1),
                notice_ref: "ASP-1".into(),
            },
        ];
        let w = ban_windows(&facts);
        assert_eq!(w[0].from, d(2027, 1, 9));
        assert!(may_be(BanRole::Payer, d(2027, 1, 8), &w).is_ok());
        assert_eq!(w[0].end(), d(2027, 3, 22));
        assert!(may_be(BanRole::Payer, d(2027, 3, 21), &w).is_err());
        assert!(may_be(BanRole::Payer, d(2027, 3, 22), &w).is_ok());
    }

    #[test]
    fn ban_treasury_2y_does_not_exist_under_cgu_2011() {
        let w = ban_windows(&[BanFact::TreasuryNoticeIssued {
            date: d(2025, 1, 5),
            contract: id(1),
            notice_ref: "ASP-0".into(),
            event_id: id(201),
        }]);
        assert!(w.is_empty());
    }

    #[test]
    fn ban_fraud_3y_bars_holder_and_accomplices_under_cgvu_2026() {
        let fraud = |role| BanFact::FraudTermination {
            date: d(2026, 9, 1),
            rulebook: "CGVU-2026".into(),
            role,
            contract: id(1),
            event_id: id(300),
        };
        for role in [FraudRole::Fraudster, FraudRole::Accomplice] {
            let w = ban_windows(&[fraud(role)]);
            assert_eq!(w.len(), 1, "{role:?}");
            assert_eq!(
                (w[0].rule, w[0].role),
                (RuleId::BanFraud3y, BanRole::Holder)
            );
            assert_eq!(w[0].until, d(2029, 9, 1));
            assert!(may_be(BanRole::Holder, d(2029, 8, 31), &w).is_err());
            assert!(may_be(BanRole::Holder, d(2029, 9, 1), &w).is_ok());
            let r = ban_refusal(&w[0], d(2027, 1, 1));
            assert_eq!(
                (r.rule, r.article),
                (RuleId::SubBannedHolder, "CGVU-2026 §12.2.4")
            );
        }
    }

    #[test]
    fn ban_fraud_3y_under_cgu_2011_bars_the_fraudster_only() {
        let fraud = |role| BanFact::FraudTermination {
            date: d(2024, 9, 1),
            rulebook: "CGU-2011".into(),
            role,
            contract: id(1),
            event_id: id(301),
        };
        assert_eq!(ban_windows(&[fraud(FraudRole::Fraudster)]).len(), 1);
        assert!(ban_windows(&[fraud(FraudRole::Accomplice)]).is_empty());
    }

    #[test]
    fn ban_new_payer_a_payer_ban_never_bars_the_holder_role() {
        let w = ban_windows(&[unpaid(d(2026, 10, 5))]);
        // The banned person may still be holder, with another payer.
        assert!(may_be(BanRole::Payer, d(2026, 10, 6), &w).is_err());
        assert!(may_be(BanRole::Holder, d(2026, 10, 6), &w).is_ok());
        let r = ban_refusal(
            may_be(BanRole::Payer, d(2026, 10, 6), &w).unwrap_err(),
            d(2026, 10, 6),
        );
        assert!(r.message.contains("BAN-NEW-PAYER"), "{}", r.message);
        // And a fraud ban (holder) does bar the holder.
        let f = ban_windows(&[BanFact::FraudTermination {
            date: d(2026, 10, 5),
            rulebook: "CGVU-2026".into(),
            role: FraudRole::Fraudster,
            contract: id(1),
            event_id: id(1),
        }]);
        assert!(may_be(BanRole::Holder, d(2026, 10, 6), &f).is_err());
        assert!(may_be(BanRole::Payer, d(2026, 10, 6), &f).is_ok());
    }

    #[test]
    fn sub_banned_payer_refusal_names_the_ban_its_end_and_the_way_out() {
        let w = ban_windows(&[unpaid(d(2026, 10, 5))]);
        let r = ban_refusal(&w[0], d(2026, 11, 1));
        assert_eq!(
            (r.rule, r.article),
            (RuleId::SubBannedPayer, "CGVU-2026 §4.4")
        );
        assert!(r.message.contains("2026-12-05"), "{}", r.message);
        // Under CGU-2011 the refusal cites CGU-2011 §8.5.
        let w = ban_windows(&[unpaid(d(2025, 10, 5))]);
        let r = ban_refusal(&w[0], d(2025, 11, 1));
        assert_eq!(
            (r.rule, r.article),
            (RuleId::SubBannedPayer, "CGU-2011 §8.5")
        );
        // Once the window is over, nothing bars the payer.
        assert!(may_be(BanRole::Payer, d(2026, 4, 5), &w).is_ok());
    }

    #[test]
    fn sub_banned_holder_only_for_a_fraud_ban() {
        let w = ban_windows(&[BanFact::FraudTermination {
            date: d(2026, 10, 5),
            rulebook: "CGVU-2026".into(),
            role: FraudRole::Accomplice,
            contract: id(1),
            event_id: id(2),
        }]);
        let barred = may_be(BanRole::Holder, d(2027, 1, 1), &w).unwrap_err();
        let r = ban_refusal(barred, d(2027, 1, 1));
        assert_eq!(r.rule, RuleId::SubBannedHolder);
        assert!(r.message.contains("2029-10-05"), "{}", r.message);
        // An unpaid termination does not bar the holder role.
        let w = ban_windows(&[unpaid(d(2026, 10, 5))]);
        assert!(may_be(BanRole::Holder, d(2026, 10, 6), &w).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn ban_unpaid_2m_window_is_half_open_and_a_lift_never_extends_it(
            start in 0i64..8000,
            settle_after in proptest::option::of(0i64..120),
        ) {
            let date = d(2011, 6, 1) + Duration::days(start);
            let mut facts = vec![unpaid(date)];
            if let Some(k) = settle_after {
                facts.push(BanFact::DebtSettled { date: date + Duration::days(k), contract: id(1) });
            }
            let w = ban_windows(&facts);
            proptest::prop_assert_eq!(w.len(), 1);
            let end = w[0].end();
            proptest::prop_assert!(end <= w[0].until);
            proptest::prop_assert!(may_be(BanRole::Payer, end, &w).is_ok());
            proptest::prop_assert!(may_be(BanRole::Holder, date, &w).is_ok());
            if end > date {
                proptest::prop_assert!(may_be(BanRole::Payer, date, &w).is_err());
                proptest::prop_assert!(may_be(BanRole::Payer, end.pred_opt().unwrap(), &w).is_err());
            }
            if w[0].rule == RuleId::BanUnpaid2011 {
                proptest::prop_assert_eq!(end, window_end(date, 6));
            }
        }
    }
}
