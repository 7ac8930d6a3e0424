//! Rulebooks: the parameter sets of the contract terms in force on a date
//! (RULES.md §0). Two are known, CGU-2011 and CGVU-2026. Adding a version is a new
//! entry of [`rulebooks`] plus tests, never a code rewrite: every difference
//! between versions is a field here.
//!
//! Which rulebook applies (RULES.md §0, Decision): a request is judged by the
//! rulebook in force on its request date; cycle computations (free month, loss
//! periods) use the one in force on the date the cycle began (subscription or
//! resumption); ban durations use the one in force on the date of the
//! termination or notice that opens them.

use chrono::NaiveDate;
use navigo_events_schema::RuleId;

/// How the free month of a cycle is placed (`PAY-FREE-MONTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeMonthRule {
    /// CGVU-2026 §4.14.12.2: started on the 1st or with at least `min_days`
    /// remaining days → M+11 free; otherwise M+12.
    RemainingDays {
        /// 20.
        min_days: u32,
    },
    /// CGU-2011 §2.9.3: started on the 1st → M+11 free; any other day → M+12.
    FirstOfMonthOnly,
}

/// How and when a suspension takes effect (`SUSP-ANYTIME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuspensionRule {
    /// CGVU-2026 §10.2: any channel; remote channels at the earliest
    /// `remote_delay_hours` after the request, the agency at once.
    AnyChannel {
        /// 48.
        remote_delay_hours: u32,
    },
    /// CGU-2011 §6.1, §6.3: agency only, effective the 1st of the month after the
    /// request.
    AgencyFirstOfNextMonth,
}

/// When a termination asked by the payer takes effect (`TERM-BY-PAYER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayerTerminationRule {
    /// CGVU-2026 §12.1: at the request; the month in progress is due in full and
    /// debits stop per `PAY-CUTOFF`.
    AtRequest,
    /// CGU-2011 §7.2: effective the 1st of the month after the request.
    FirstOfNextMonth,
}

/// A ban length (`BAN-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanRule {
    /// The rule id that opens the window.
    pub rule: RuleId,
    /// Length in months.
    pub months: u32,
}

/// One version of the contract terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rulebook {
    /// `CGU-2011` or `CGVU-2026`.
    pub id: &'static str,
    /// First day in force.
    pub in_force_from: NaiveDate,
    /// `SUB-WINDOW`: latest request, in days before the 1st of the start month
    /// (online and mail).
    pub sub_window_days_max: u32,
    /// `SUB-WINDOW`: earliest request, in days before the start.
    pub sub_window_days_min: u32,
    /// `PAY-CUTOFF`: a change registered before this day of month M takes effect on
    /// debits from M+1, on or after it from M+2 (15; CGU-2011: 20).
    pub cutoff_day: u32,
    /// `PAY-FREE-MONTH`.
    pub free_month: FreeMonthRule,
    /// `SUSP-ANYTIME`.
    pub suspension: SuspensionRule,
    /// `TERM-BY-PAYER`.
    pub payer_termination: PayerTerminationRule,
    /// `LOSS-FREE`: free replacements per period of 12 months.
    pub free_replacements_per_period: u32,
    /// `LOSS-TERMINATION`: more than this many losses in the last 12 months
    /// terminates (3; CGU-2011: 2).
    pub loss_termination_above: u32,
    /// Ban after an unpaid termination: `BAN-UNPAID-2M` (2 months) or
    /// `BAN-UNPAID-2011` (6 months).
    pub unpaid_ban: BanRule,
    /// Whether settling the debt lifts the unpaid ban at once: yes under CGVU-2026
    /// §4.4 ("défaut de paiement non régularisé"); CGU-2011 §8.5 says nothing of a
    /// settlement, so its 6 months run in full (Decision).
    pub unpaid_ban_lifts_on_settlement: bool,
    /// `BAN-TREASURY-2Y`, when the rulebook has it.
    pub treasury_ban: Option<BanRule>,
    /// `BAN-TREASURY-2Y`: days after a settlement with the Trésor Public the ban ends.
    pub treasury_settlement_lift_days: u32,
    /// `BAN-FRAUD-3Y`.
    pub fraud_ban: BanRule,
    /// `BAN-FRAUD-3Y`: whether accomplices are banned too (CGU-2011: the
    /// fraudster only).
    pub fraud_ban_covers_accomplices: bool,
    /// `TERM-BY-AGENCY`: whether `address_unknown` is a reason (CGU-2011 §10.2).
    pub address_unknown_termination: bool,
    /// The article each rule cites under this rulebook.
    pub articles: &'static [(RuleId, &'static str)],
}

impl Rulebook {
    /// The article of `rule` under this rulebook, e.g. `CGVU-2026 §3.1`. Rules whose
    /// source is not a contract term (decisions, campaign terms) cite RULES.md or
    /// the campaign text.
    pub fn article(&self, rule: RuleId) -> &'static str {
        self.articles
            .iter()
            .find(|(r, _)| *r == rule)
            .map(|(_, a)| *a)
            .unwrap_or("RULES.md")
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    // The constants below are valid dates; a typo is caught by the tests.
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// CGU-2011, in force 2011-06-01 to 2026-06-23.
pub fn cgu_2011() -> Rulebook {
    Rulebook {
        id: "CGU-2011",
        in_force_from: date(2011, 6, 1),
        sub_window_days_max: 60,
        sub_window_days_min: 15,
        cutoff_day: 20,
        free_month: FreeMonthRule::FirstOfMonthOnly,
        suspension: SuspensionRule::AgencyFirstOfNextMonth,
        payer_termination: PayerTerminationRule::FirstOfNextMonth,
        free_replacements_per_period: 2,
        loss_termination_above: 2,
        unpaid_ban: BanRule {
            rule: RuleId::BanUnpaid2011,
            months: 6,
        },
        unpaid_ban_lifts_on_settlement: false,
        treasury_ban: None,
        treasury_settlement_lift_days: 21,
        fraud_ban: BanRule {
            rule: RuleId::BanFraud3y,
            months: 36,
        },
        fraud_ban_covers_accomplices: false,
        address_unknown_termination: true,
        articles: crate::articles::CGU_2011,
    }
}

/// CGVU-2026, in force from 2026-06-24.
pub fn cgvu_2026() -> Rulebook {
    Rulebook {
        id: "CGVU-2026",
        in_force_from: date(2026, 6, 24),
        sub_window_days_max: 60,
        sub_window_days_min: 15,
        cutoff_day: 15,
        free_month: FreeMonthRule::RemainingDays { min_days: 20 },
        suspension: SuspensionRule::AnyChannel {
            remote_delay_hours: 48,
        },
        payer_termination: PayerTerminationRule::AtRequest,
        free_replacements_per_period: 2,
        loss_termination_above: 3,
        unpaid_ban: BanRule {
            rule: RuleId::BanUnpaid2m,
            months: 2,
        },
        unpaid_ban_lifts_on_settlement: true,
        treasury_ban: Some(BanRule {
            rule: RuleId::BanTreasury2y,
            months: 24,
        }),
        treasury_settlement_lift_days: 21,
        fraud_ban: BanRule {
            rule: RuleId::BanFraud3y,
            months: 36,
        },
        fraud_ban_covers_accomplices: true,
        address_unknown_termination: false,
        articles: crate::articles::CGVU_2026,
    }
}

/// The known rulebooks, oldest first.
pub fn rulebooks() -> &'static [Rulebook] {
    static BOOKS: std::sync::OnceLock<Vec<Rulebook>> = std::sync::OnceLock::new();
    BOOKS.get_or_init(|| vec![cgu_2011(), cgvu_2026()])
}

/// The rulebook in force on `date`: the latest whose `in_force_from` is on or
/// before it. Dates before 2011-06-01 fall back to the oldest known rulebook
/// (the ledger knows no earlier terms).
pub fn in_force(date: NaiveDate) -> &'static Rulebook {
    let books = rulebooks();
    books
        .iter()
        .rev()
        .find(|b| b.in_force_from <= date)
        .unwrap_or(&books[0])
}

/// A rulebook by id, as recorded in events.
pub fn by_id(id: &str) -> Option<&'static Rulebook> {
    rulebooks().iter().find(|b| b.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::articles::{CGU_2011, CGVU_2026};
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
