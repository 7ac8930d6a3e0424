//! Rule identifiers of RULES.md. Every refusal and every computed figure names one,
//! so that an auditor can go from a refusal to the article that caused it.
//!
//! The list is generated from `../shared/RULES.md` and a test in `navigo-rules` fails
//! when RULES.md gains an id this enum lacks (or the reverse).

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A rule id of RULES.md, such as `SUB-WINDOW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    /// `SUB-WINDOW`.
    SubWindow,
    /// `PAY-FREE-MONTH`.
    PayFreeMonth,
    /// `TAR-CATALOGUE`.
    TarCatalogue,
    /// `TAR-INSTALLMENT`.
    TarInstallment,
    /// `TAR-DAILY`.
    TarDaily,
    /// `TAR-PRORATA`.
    TarProrata,
    /// `TAR-DOSSIER-FEE`.
    TarDossierFee,
    /// `TAR-REJECT-FEE`.
    TarRejectFee,
    /// `TAR-REPLACEMENT-FEE`.
    TarReplacementFee,
    /// `LOSS-FREE`.
    LossFree,
    /// `SUB-AGE`.
    SubAge,
    /// `SUB-SENIOR`.
    SubSenior,
    /// `SUB-PRODUCT`.
    SubProduct,
    /// `PAY-SENIOR`.
    PaySenior,
    /// `ZONE-SENIOR`.
    ZoneSenior,
    /// `SENIOR-SWITCH`.
    SeniorSwitch,
    /// `SUB-FIRST-PAYMENT`.
    SubFirstPayment,
    /// `SUB-ONE-ACTIVE`.
    SubOneActive,
    /// `SUB-BANNED-PAYER`.
    SubBannedPayer,
    /// `SUB-BANNED-HOLDER`.
    SubBannedHolder,
    /// `SUB-THIRD-PARTY`.
    SubThirdParty,
    /// `PAY-METHOD`.
    PayMethod,
    /// `PAY-DEBIT-DAY`.
    PayDebitDay,
    /// `PAY-CUTOFF`.
    PayCutoff,
    /// `PAY-REFUND-30D`.
    PayRefund30d,
    /// `PAY-DUE-VS-COLLECTED`.
    PayDueVsCollected,
    /// `PAY-REJECT`.
    PayReject,
    /// `PAY-UNPAID-TERMINATION`.
    PayUnpaidTermination,
    /// `PAY-CASH`.
    PayCash,
    /// `PAY-SWITCH-TO-CASH`.
    PaySwitchToCash,
    /// `PAY-SWITCH-TO-DEBIT`.
    PaySwitchToDebit,
    /// `PAY-CASH-REFUND`.
    PayCashRefund,
    /// `PAY-REFUND-METHOD`.
    PayRefundMethod,
    /// `PAY-PAYER-CHANGE`.
    PayPayerChange,
    /// `SUSP-ANYTIME`.
    SuspAnytime,
    /// `SUSP-MONTH-DUE`.
    SuspMonthDue,
    /// `SUSP-MAX-12M`.
    SuspMax12m,
    /// `SUSP-RESUME`.
    SuspResume,
    /// `SUSP-NOT-WHILE-TERMINATED`.
    SuspNotWhileTerminated,
    /// `ZONE-ALLOWED`.
    ZoneAllowed,
    /// `ZONE-WHEN`.
    ZoneWhen,
    /// `ZONE-UP`.
    ZoneUp,
    /// `ZONE-DOWN`.
    ZoneDown,
    /// `LOSS-TERMINATION`.
    LossTermination,
    /// `LOSS-OPPOSITION`.
    LossOpposition,
    /// `LOSS-SUPPORT`.
    LossSupport,
    /// `USE-DEZONAGE`.
    UseDezonage,
    /// `TERM-BY-PAYER`.
    TermByPayer,
    /// `TERM-BY-AGENCY`.
    TermByAgency,
    /// `TERM-ATTESTATION`.
    TermAttestation,
    /// `TERM-RETENTION`.
    TermRetention,
    /// `BAN-UNPAID-2M`.
    BanUnpaid2m,
    /// `BAN-TREASURY-2Y`.
    BanTreasury2y,
    /// `BAN-FRAUD-3Y`.
    BanFraud3y,
    /// `BAN-UNPAID-2011`.
    BanUnpaid2011,
    /// `BAN-NEW-PAYER`.
    BanNewPayer,
    /// `REF-HELD-MONTHS`.
    RefHeldMonths,
    /// `REF-MIN-3`.
    RefMin3,
    /// `REF-AMOUNT`.
    RefAmount,
    /// `REF-PLACE`.
    RefPlace,
    /// `REF-ONE-PER-CAMPAIGN`.
    RefOnePerCampaign,
    /// `REF-WINDOW`.
    RefWindow,
    /// `REF-CLAIMANT`.
    RefClaimant,
    /// `REF-BENEFICIARY`.
    RefBeneficiary,
    /// `ACC-PASSWORD`.
    AccPassword,
    /// `ACC-LINK`.
    AccLink,
    /// `ACC-MINOR-RENEW`.
    AccMinorRenew,
    /// `PARTNER-CHECK`.
    PartnerCheck,
}

impl RuleId {
    /// Every rule id, in RULES.md order.
    pub const ALL: &'static [RuleId] = &[
        RuleId::SubWindow,
        RuleId::PayFreeMonth,
        RuleId::TarCatalogue,
        RuleId::TarInstallment,
        RuleId::TarDaily,
        RuleId::TarProrata,
        RuleId::TarDossierFee,
        RuleId::TarRejectFee,
        RuleId::TarReplacementFee,
        RuleId::LossFree,
        RuleId::SubAge,
        RuleId::SubSenior,
        RuleId::SubProduct,
        RuleId::PaySenior,
        RuleId::ZoneSenior,
        RuleId::SeniorSwitch,
        RuleId::SubFirstPayment,
        RuleId::SubOneActive,
        RuleId::SubBannedPayer,
        RuleId::SubBannedHolder,
        RuleId::SubThirdParty,
        RuleId::PayMethod,
        RuleId::PayDebitDay,
        RuleId::PayCutoff,
        RuleId::PayRefund30d,
        RuleId::PayDueVsCollected,
        RuleId::PayReject,
        RuleId::PayUnpaidTermination,
        RuleId::PayCash,
        RuleId::PaySwitchToCash,
        RuleId::PaySwitchToDebit,
        RuleId::PayCashRefund,
        RuleId::PayRefundMethod,
        RuleId::PayPayerChange,
        RuleId::SuspAnytime,
        RuleId::SuspMonthDue,
        RuleId::SuspMax12m,
        RuleId::SuspResume,
        RuleId::SuspNotWhileTerminated,
        RuleId::ZoneAllowed,
        RuleId::ZoneWhen,
        RuleId::ZoneUp,
        RuleId::ZoneDown,
        RuleId::LossTermination,
        RuleId::LossOpposition,
        RuleId::LossSupport,
        RuleId::UseDezonage,
        RuleId::TermByPayer,
        RuleId::TermByAgency,
        RuleId::TermAttestation,
        RuleId::TermRetention,
        RuleId::BanUnpaid2m,
        RuleId::BanTreasury2y,
        RuleId::BanFraud3y,
        RuleId::BanUnpaid2011,
        RuleId::BanNewPayer,
        RuleId::RefHeldMonths,
        RuleId::RefMin3,
        RuleId::RefAmount,
        RuleId::RefPlace,
        RuleId::RefOnePerCampaign,
        RuleId::RefWindow,
        RuleId::RefClaimant,
        RuleId::RefBeneficiary,
        RuleId::AccPassword,
        RuleId::AccLink,
        RuleId::AccMinorRenew,
        RuleId::PartnerCheck,
    ];

    /// The id as written in RULES.md, e.g. `SUB-WINDOW`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::SubWindow => "SUB-WINDOW",
            RuleId::PayFreeMonth => "PAY-FREE-MONTH",
            RuleId::TarCatalogue => "TAR-CATALOGUE",
            RuleId::TarInstallment => "TAR-INSTALLMENT",
            RuleId::TarDaily => "TAR-DAILY",
            RuleId::TarProrata => "TAR-PRORATA",
            RuleId::TarDossierFee => "TAR-DOSSIER-FEE",
            RuleId::TarRejectFee => "TAR-REJECT-FEE",
            RuleId::TarReplacementFee => "TAR-REPLACEMENT-FEE",
            RuleId::LossFree => "LOSS-FREE",
            RuleId::SubAge => "SUB-AGE",
            RuleId::SubSenior => "SUB-SENIOR",
            RuleId::SubProduct => "SUB-PRODUCT",
            RuleId::PaySenior => "PAY-SENIOR",
            RuleId::ZoneSenior => "ZONE-SENIOR",
            RuleId::SeniorSwitch => "SENIOR-SWITCH",
            RuleId::SubFirstPayment => "SUB-FIRST-PAYMENT",
            RuleId::SubOneActive => "SUB-ONE-ACTIVE",
            RuleId::SubBannedPayer => "SUB-BANNED-PAYER",
            RuleId::SubBannedHolder => "SUB-BANNED-HOLDER",
            RuleId::SubThirdParty => "SUB-THIRD-PARTY",
            RuleId::PayMethod => "PAY-METHOD",
            RuleId::PayDebitDay => "PAY-DEBIT-DAY",
            RuleId::PayCutoff => "PAY-CUTOFF",
            RuleId::PayRefund30d => "PAY-REFUND-30D",
            RuleId::PayDueVsCollected => "PAY-DUE-VS-COLLECTED",
            RuleId::PayReject => "PAY-REJECT",
            RuleId::PayUnpaidTermination => "PAY-UNPAID-TERMINATION",
            RuleId::PayCash => "PAY-CASH",
            RuleId::PaySwitchToCash => "PAY-SWITCH-TO-CASH",
            RuleId::PaySwitchToDebit => "PAY-SWITCH-TO-DEBIT",
            RuleId::PayCashRefund => "PAY-CASH-REFUND",
            RuleId::PayRefundMethod => "PAY-REFUND-METHOD",
            RuleId::PayPayerChange => "PAY-PAYER-CHANGE",
            RuleId::SuspAnytime => "SUSP-ANYTIME",
            RuleId::SuspMonthDue => "SUSP-MONTH-DUE",
            RuleId::SuspMax12m => "SUSP-MAX-12M",
            RuleId::SuspResume => "SUSP-RESUME",
            RuleId::SuspNotWhileTerminated => "SUSP-NOT-WHILE-TERMINATED",
            RuleId::ZoneAllowed => "ZONE-ALLOWED",
            RuleId::ZoneWhen => "ZONE-WHEN",
            RuleId::ZoneUp => "ZONE-UP",
            RuleId::ZoneDown => "ZONE-DOWN",
            RuleId::LossTermination => "LOSS-TERMINATION",
            RuleId::LossOpposition => "LOSS-OPPOSITION",
            RuleId::LossSupport => "LOSS-SUPPORT",
            RuleId::UseDezonage => "USE-DEZONAGE",
            RuleId::TermByPayer => "TERM-BY-PAYER",
            RuleId::TermByAgency => "TERM-BY-AGENCY",
            RuleId::TermAttestation => "TERM-ATTESTATION",
            RuleId::TermRetention => "TERM-RETENTION",
            RuleId::BanUnpaid2m => "BAN-UNPAID-2M",
            RuleId::BanTreasury2y => "BAN-TREASURY-2Y",
            RuleId::BanFraud3y => "BAN-FRAUD-3Y",
            RuleId::BanUnpaid2011 => "BAN-UNPAID-2011",
            RuleId::BanNewPayer => "BAN-NEW-PAYER",
            RuleId::RefHeldMonths => "REF-HELD-MONTHS",
            RuleId::RefMin3 => "REF-MIN-3",
            RuleId::RefAmount => "REF-AMOUNT",
            RuleId::RefPlace => "REF-PLACE",
            RuleId::RefOnePerCampaign => "REF-ONE-PER-CAMPAIGN",
            RuleId::RefWindow => "REF-WINDOW",
            RuleId::RefClaimant => "REF-CLAIMANT",
            RuleId::RefBeneficiary => "REF-BENEFICIARY",
            RuleId::AccPassword => "ACC-PASSWORD",
            RuleId::AccLink => "ACC-LINK",
            RuleId::AccMinorRenew => "ACC-MINOR-RENEW",
            RuleId::PartnerCheck => "PARTNER-CHECK",
        }
    }

    /// The id in snake case, as test names carry it: `sub_window`.
    pub fn snake_case(self) -> String {
        self.as_str().to_ascii_lowercase().replace('-', "_")
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An id that is not in RULES.md.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rule id {0:?}: see RuleId::ALL (RULES.md)")]
pub struct UnknownRuleId(pub String);

impl FromStr for RuleId {
    type Err = UnknownRuleId;
    fn from_str(s: &str) -> Result<RuleId, UnknownRuleId> {
        RuleId::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRuleId(s.to_owned()))
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for RuleId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RuleId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let ids: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        schemars::json_schema!({
            "type": "string",
            "enum": ids,
            "description": "A rule id of RULES.md."
        })
    }
}
