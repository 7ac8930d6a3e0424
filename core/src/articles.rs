//! The article each rule id cites under each rulebook, as RULES.md gives them.
//!
//! Every [`RuleId`] has exactly one entry in each table (a test checks it), so
//! that a refusal always names a real source. How the entries were chosen:
//!
//! - A rule with an article in both terms cites each (`SUB-WINDOW`:
//!   `CGVU-2026 §3.1` / `CGU-2011 §1.4`).
//! - A rule with no CGU-2011 article (the Senior product, dézonage, ...) cites the
//!   CGVU-2026 article in the CGU-2011 table too: RULES.md §2 decides that the
//!   Senior rules come from CGVU-2026 for every contract, and the other such rules
//!   have no older source.
//! - `BAN-UNPAID-2011` only exists in CGU-2011 and cites `CGU-2011 §8.5` in both
//!   tables; `BAN-UNPAID-2M` and `BAN-TREASURY-2Y` only exist in CGVU-2026 and cite
//!   `CGVU-2026 §4.4` in both.
//! - Punctuality refunds cite the campaign terms (`PUNCT-2024 Art. N`) or the FAQ
//!   (`REFUND-FAQ`); the personal space cites `ESPACE-GUIDE`; partner checks cite
//!   `CGVU-2026 §16.1.5.2`.
//! - Rules that are pure product decisions cite `RULES.md §N (Decision)`.

use navigo_events_schema::RuleId;

/// Articles under CGVU-2026 (in force from 2026-06-24).
pub const CGVU_2026: &[(RuleId, &str)] = &[
    (RuleId::SubWindow, "CGVU-2026 §3.1"),
    (RuleId::PayFreeMonth, "CGVU-2026 §4.14.12.2"),
    (RuleId::TarCatalogue, "CGVU-2026 §4.14.5"),
    (RuleId::TarInstallment, "CGVU-2026 §4.14.12.1"),
    (RuleId::TarDaily, "CGVU-2026 §4.7"),
    (RuleId::TarProrata, "CGVU-2026 §4.7"),
    (RuleId::TarDossierFee, "CGVU-2026 §4.6"),
    (RuleId::TarRejectFee, "CGVU-2026 §4.10"),
    (RuleId::TarReplacementFee, "RULES.md §1 (Decision)"),
    (RuleId::LossFree, "CGVU-2026 §9.1"),
    (RuleId::SubAge, "CGVU-2026 §4.1"),
    (RuleId::SubSenior, "CGVU-2026 §2.2.3"),
    (RuleId::SubProduct, "CGVU-2026 §2"),
    (RuleId::PaySenior, "CGVU-2026 §4.14.13.2"),
    (RuleId::ZoneSenior, "CGVU-2026 §7.1"),
    (RuleId::SeniorSwitch, "CGVU-2026 §3.2.2"),
    (RuleId::SubFirstPayment, "CGVU-2026 §3.1"),
    (RuleId::SubOneActive, "CGVU-2026 §4.14.11"),
    (RuleId::SubBannedPayer, "CGVU-2026 §4.4"),
    (RuleId::SubBannedHolder, "CGVU-2026 §12.2.4"),
    (RuleId::SubThirdParty, "CGVU-2026 §3.1"),
    (RuleId::PayMethod, "CGVU-2026 §4.5"),
    (RuleId::PayDebitDay, "CGVU-2026 §4.14.2"),
    (RuleId::PayCutoff, "CGVU-2026 §4.14.1"),
    (RuleId::PayRefund30d, "CGVU-2026 §12.1.2"),
    (RuleId::PayDueVsCollected, "RULES.md §3 (Decision)"),
    (RuleId::PayReject, "CGVU-2026 §4.11"),
    (RuleId::PayUnpaidTermination, "CGVU-2026 §4.12"),
    (RuleId::PayCash, "CGVU-2026 §4.13.2"),
    (RuleId::PaySwitchToCash, "CGVU-2026 §4.14.12.3"),
    (RuleId::PaySwitchToDebit, "CGVU-2026 §4.13.3"),
    (RuleId::PayCashRefund, "CGVU-2026 §10.5"),
    (RuleId::PayRefundMethod, "CGVU-2026 §7.7"),
    (RuleId::PayPayerChange, "CGVU-2026 §4.14.9"),
    (RuleId::SuspAnytime, "CGVU-2026 §10.1"),
    (RuleId::SuspMonthDue, "CGVU-2026 §10.4"),
    (RuleId::SuspMax12m, "CGVU-2026 §10.3"),
    (RuleId::SuspResume, "CGVU-2026 §11.1"),
    (RuleId::SuspNotWhileTerminated, "RULES.md §4 (Decision)"),
    (RuleId::ZoneAllowed, "CGVU-2026 §7.2"),
    (RuleId::ZoneWhen, "CGVU-2026 §7.4"),
    (RuleId::ZoneUp, "CGVU-2026 §7.6"),
    (RuleId::ZoneDown, "CGVU-2026 §7.7"),
    (RuleId::LossTermination, "CGVU-2026 §12.2.1"),
    (RuleId::LossOpposition, "CGVU-2026 §9.3"),
    (RuleId::LossSupport, "CGVU-2026 §5.5"),
    (RuleId::UseDezonage, "CGVU-2026 §2.1.2"),
    (RuleId::TermByPayer, "CGVU-2026 §12.1"),
    (RuleId::TermByAgency, "CGVU-2026 §12.2.1"),
    (RuleId::TermAttestation, "CGVU-2026 §4.14.4"),
    (RuleId::TermRetention, "CGVU-2026 §16.1.4"),
    (RuleId::BanUnpaid2m, "CGVU-2026 §4.4"),
    (RuleId::BanTreasury2y, "CGVU-2026 §4.4"),
    (RuleId::BanFraud3y, "CGVU-2026 §12.2.4"),
    (RuleId::BanUnpaid2011, "CGU-2011 §8.5"),
    (RuleId::BanNewPayer, "CGVU-2026 §12.2.5"),
    (RuleId::RefHeldMonths, "RULES.md §10 (Decision)"),
    (RuleId::RefMin3, "PUNCT-2024 Art. 2.1"),
    (RuleId::RefAmount, "PUNCT-2024 Art. 3"),
    (RuleId::RefPlace, "PUNCT-2024 Art. 2.2"),
    (RuleId::RefOnePerCampaign, "PUNCT-2024 Art. 2.1"),
    (RuleId::RefWindow, "PUNCT-2024 Art. 1"),
    (RuleId::RefClaimant, "PUNCT-2024 Art. 1"),
    (RuleId::RefBeneficiary, "PUNCT-2024 Art. 5"),
    (RuleId::AccPassword, "ESPACE-GUIDE"),
    (RuleId::AccLink, "ESPACE-GUIDE"),
    (RuleId::AccMinorRenew, "ESPACE-GUIDE"),
    (RuleId::PartnerCheck, "CGVU-2026 §16.1.5.2"),
];

/// Articles under CGU-2011 (in force 2011-06-01 to 2026-06-23).
pub const CGU_2011: &[(RuleId, &str)] = &[
    (RuleId::SubWindow, "CGU-2011 §1.4"),
    (RuleId::PayFreeMonth, "CGU-2011 §2.9.3"),
    (RuleId::TarCatalogue, "CGU-2011 §2.9.2"),
    (RuleId::TarInstallment, "CGU-2011 §2.9.2"),
    (RuleId::TarDaily, "CGU-2011 §2.1"),
    (RuleId::TarProrata, "CGU-2011 §2.1"),
    (RuleId::TarDossierFee, "CGU-2011 §2.1"),
    (RuleId::TarRejectFee, "CGU-2011 §2.9.10"),
    (RuleId::TarReplacementFee, "RULES.md §1 (Decision)"),
    (RuleId::LossFree, "CGU-2011 §5.1"),
    (RuleId::SubAge, "CGU-2011 §2.4"),
    // The Senior product postdates CGU-2011: its rules cite CGVU-2026 (RULES.md §2).
    (RuleId::SubSenior, "CGVU-2026 §2.2.3"),
    (RuleId::SubProduct, "CGVU-2026 §2"),
    (RuleId::PaySenior, "CGVU-2026 §4.14.13.2"),
    (RuleId::ZoneSenior, "CGVU-2026 §7.1"),
    (RuleId::SeniorSwitch, "CGVU-2026 §3.2.2"),
    (RuleId::SubFirstPayment, "CGU-2011 §2.9.4"),
    (RuleId::SubOneActive, "CGVU-2026 §4.14.11"),
    (RuleId::SubBannedPayer, "CGU-2011 §8.5"),
    (RuleId::SubBannedHolder, "CGU-2011 §8.5"),
    (RuleId::SubThirdParty, "CGVU-2026 §3.1"),
    (RuleId::PayMethod, "CGU-2011 §2.1"),
    (RuleId::PayDebitDay, "CGU-2011 §2.9.2"),
    (RuleId::PayCutoff, "CGU-2011 §2.9.6"),
    (RuleId::PayRefund30d, "CGU-2011 §7.3"),
    (RuleId::PayDueVsCollected, "RULES.md §3 (Decision)"),
    (RuleId::PayReject, "CGVU-2026 §4.11"),
    (RuleId::PayUnpaidTermination, "CGU-2011 §8.1"),
    (RuleId::PayCash, "CGU-2011 §2.8.1"),
    (RuleId::PaySwitchToCash, "CGU-2011 §2.2"),
    (RuleId::PaySwitchToDebit, "CGU-2011 §2.2"),
    (RuleId::PayCashRefund, "CGU-2011 §6.4"),
    (RuleId::PayRefundMethod, "CGVU-2026 §7.7"),
    (RuleId::PayPayerChange, "CGU-2011 §2.9.8"),
    (RuleId::SuspAnytime, "CGU-2011 §6.1"),
    (RuleId::SuspMonthDue, "CGU-2011 §6.3"),
    (RuleId::SuspMax12m, "CGU-2011 §6.2"),
    (RuleId::SuspResume, "CGU-2011 §6.5"),
    (RuleId::SuspNotWhileTerminated, "RULES.md §4 (Decision)"),
    (RuleId::ZoneAllowed, "CGU-2011 §4.1"),
    (RuleId::ZoneWhen, "CGU-2011 §4.3"),
    (RuleId::ZoneUp, "CGU-2011 §4.5"),
    (RuleId::ZoneDown, "CGU-2011 §4.6"),
    (RuleId::LossTermination, "CGU-2011 §8.1"),
    (RuleId::LossOpposition, "CGU-2011 §5.4"),
    (RuleId::LossSupport, "CGVU-2026 §5.5"),
    (RuleId::UseDezonage, "CGVU-2026 §2.1.2"),
    (RuleId::TermByPayer, "CGU-2011 §7.2"),
    (RuleId::TermByAgency, "CGU-2011 §8.1"),
    (RuleId::TermAttestation, "CGVU-2026 §4.14.4"),
    (RuleId::TermRetention, "CGVU-2026 §16.1.4"),
    (RuleId::BanUnpaid2m, "CGVU-2026 §4.4"),
    (RuleId::BanTreasury2y, "CGVU-2026 §4.4"),
    (RuleId::BanFraud3y, "CGU-2011 §8.5"),
    (RuleId::BanUnpaid2011, "CGU-2011 §8.5"),
    (RuleId::BanNewPayer, "CGU-2011 §8.6"),
    (RuleId::RefHeldMonths, "RULES.md §10 (Decision)"),
    (RuleId::RefMin3, "PUNCT-2024 Art. 2.1"),
    (RuleId::RefAmount, "PUNCT-2024 Art. 3"),
    (RuleId::RefPlace, "PUNCT-2024 Art. 2.2"),
    (RuleId::RefOnePerCampaign, "PUNCT-2024 Art. 2.1"),
    (RuleId::RefWindow, "PUNCT-2024 Art. 1"),
    (RuleId::RefClaimant, "PUNCT-2024 Art. 1"),
    (RuleId::RefBeneficiary, "PUNCT-2024 Art. 5"),
    (RuleId::AccPassword, "ESPACE-GUIDE"),
    (RuleId::AccLink, "ESPACE-GUIDE"),
    (RuleId::AccMinorRenew, "ESPACE-GUIDE"),
    (RuleId::PartnerCheck, "CGVU-2026 §16.1.5.2"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rulebook::{by_id, cgu_2011, cgvu_2026, in_force};
    use chrono::NaiveDate;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn every_rule_id_has_one_article_in_each_rulebook() {
        for (name, table) in [("CGVU-2026", CGVU_2026), ("CGU-2011", CGU_2011)] {
            for rule in RuleId::ALL {
                let n = table.iter().filter(|(r, _)| r == rule).count();
                assert_eq!(n, 1, "{rule} has {n} entries in the {name} table");
            }
            assert_eq!(table.len(), RuleId::ALL.len(), "{name} has extra entries");
            for (rule, article) in table {
                assert!(!article.trim().is_empty(), "{rule} cites nothing in {name}");
            }
        }
    }

    #[test]
    fn articles_cite_the_rulebook_given_by_rules_md() {
        assert_eq!(cgvu_2026().article(RuleId::SubWindow), "CGVU-2026 §3.1");
        assert_eq!(cgu_2011().article(RuleId::SubWindow), "CGU-2011 §1.4");
        assert_eq!(cgu_2011().article(RuleId::PayCutoff), "CGU-2011 §2.9.6");
        assert_eq!(cgu_2011().article(RuleId::SubSenior), "CGVU-2026 §2.2.3");
        assert_eq!(cgu_2011().article(RuleId::UseDezonage), "CGVU-2026 §2.1.2");
        assert_eq!(cgvu_2026().article(RuleId::RefAmount), "PUNCT-2024 Art. 3");
        assert_eq!(cgvu_2026().article(RuleId::AccPassword), "ESPACE-GUIDE");
        assert_eq!(
            cgvu_2026().article(RuleId::PartnerCheck),
            "CGVU-2026 §16.1.5.2"
        );
        assert_eq!(
            cgvu_2026().article(RuleId::PayDueVsCollected),
            "RULES.md §3 (Decision)"
        );
    }

    #[test]
    fn pay_cutoff_day_is_15_under_cgvu_2026_and_20_under_cgu_2011() {
        assert_eq!(cgvu_2026().cutoff_day, 15);
        assert_eq!(cgu_2011().cutoff_day, 20);
    }

    #[test]
    fn rulebook_in_force_switches_on_2026_06_24() {
        assert_eq!(in_force(d(2026, 6, 23)).id, "CGU-2011");
        assert_eq!(in_force(d(2026, 6, 24)).id, "CGVU-2026");
        assert_eq!(in_force(d(2011, 6, 1)).id, "CGU-2011");
        assert_eq!(by_id("CGVU-2026").map(|b| b.id), Some("CGVU-2026"));
        assert!(by_id("CGU-1999").is_none());
    }

    #[test]
    fn rulebook_parameters_match_rules_md() {
        let new = cgvu_2026();
        let old = cgu_2011();
        // SUB-WINDOW: 60 to 15 days before the 1st, in both terms.
        assert_eq!((new.sub_window_days_max, new.sub_window_days_min), (60, 15));
        assert_eq!((old.sub_window_days_max, old.sub_window_days_min), (60, 15));
        // LOSS-FREE: 2 free replacements; LOSS-TERMINATION: more than 3 (2011: 2).
        assert_eq!(new.free_replacements_per_period, 2);
        assert_eq!(old.free_replacements_per_period, 2);
        assert_eq!(new.loss_termination_above, 3);
        assert_eq!(old.loss_termination_above, 2);
        // BAN-*: 2 months / 24 months / 36 months; 2011: 6 months, fraudster only.
        assert_eq!(
            (new.unpaid_ban.rule, new.unpaid_ban.months),
            (RuleId::BanUnpaid2m, 2)
        );
        assert_eq!(
            (old.unpaid_ban.rule, old.unpaid_ban.months),
            (RuleId::BanUnpaid2011, 6)
        );
        assert!(new.unpaid_ban_lifts_on_settlement);
        assert!(!old.unpaid_ban_lifts_on_settlement);
        assert_eq!(new.treasury_ban.map(|b| b.months), Some(24));
        assert_eq!(old.treasury_ban, None);
        assert_eq!(new.treasury_settlement_lift_days, 21);
        assert_eq!(new.fraud_ban.months, 36);
        assert_eq!(old.fraud_ban.months, 36);
        assert!(new.fraud_ban_covers_accomplices);
        assert!(!old.fraud_ban_covers_accomplices);
        // TERM-BY-AGENCY: address_unknown is a CGU-2011 reason only.
        assert!(old.address_unknown_termination);
        assert!(!new.address_unknown_termination);
        assert_eq!(old.in_force_from, d(2011, 6, 1));
        assert_eq!(new.in_force_from, d(2026, 6, 24));
    }
}
