//! Policy parameters: the figures RULES.md calls decisions or parameters, in one
//! value with documented defaults. Changing one is a configuration change, never a
//! code change.

use navigo_events_schema::Money;

/// The ledger's policy parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `TAR-REJECT-FEE`: fee for a rejection attributable to the payer. Default
    /// 0.00 € until a published figure is sourced (DATA.md: U).
    pub reject_fee: Money,
    /// `TAR-REPLACEMENT-FEE`: fee for a replacement beyond the free ones. Default
    /// 8.00 € (RULES.md decision; DATA.md: U).
    pub replacement_fee: Money,
    /// `TAR-DOSSIER-FEE`: 7.60 € (CGVU-2026 §4.6; DATA.md: V).
    pub dossier_fee: Money,
    /// `PAY-UNPAID-TERMINATION`: days after a rejection before unsettled debt
    /// terminates the contract. Default 30.
    pub unpaid_grace_days: u32,
    /// `PAY-REFUND-30D`: days within which a refund is paid. 30 (§12.1.2).
    pub refund_within_days: u32,
    /// `BAN-TREASURY-2Y`: months after an unpaid termination before a Trésor
    /// Public notice is issued if the debt is still unsettled. 2 (§4.12).
    pub treasury_notice_after_months: u32,
    /// `SENIOR-SWITCH`: working days of processing. 5 (§3.3).
    pub senior_processing_working_days: u32,
    /// `PAY-CASH`: days before the end of a cash period the renewal notice is due. 45 (§4.13.4).
    pub cash_notice_days_before: u32,
    /// `PAY-CASH`: days before the end a mailed cheque must be received. 20 (§4.13.4).
    pub cash_cheque_days_before: u32,
    /// Months ahead a debit calendar is projected (a named bound).
    pub calendar_horizon_months: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            reject_fee: Money::ZERO,
            replacement_fee: Money::from_cents(800),
            dossier_fee: Money::from_cents(760),
            unpaid_grace_days: 30,
            refund_within_days: 30,
            treasury_notice_after_months: 2,
            senior_processing_working_days: 5,
            cash_notice_days_before: 45,
            cash_cheque_days_before: 20,
            calendar_horizon_months: 24,
        }
    }
}
