//! The rule ids that produced or judged an event, for the audit trail. Refusals
//! are not events and never appear here.

use navigo_events_schema::event::{ChargeKind, RefundReason, TerminationReason};
use navigo_events_schema::{Event, RuleId};

/// The rule ids behind `event`, derived from its type and payload. Decision (the
/// rulebook is silent on audit): a debit names one rule per kind of line it
/// carries, a refund its reason's rule, a termination its reason's rule; events
/// that only record a fact (registration, address) name none.
pub fn rule_ids(event: &Event) -> Vec<RuleId> {
    use RuleId as R;
    let mut out: Vec<RuleId> = match event {
        Event::ContractSubscribed(_) => vec![R::SubWindow, R::SubOneActive, R::TarCatalogue],
        Event::FirstPaymentCollected(_) => vec![R::SubFirstPayment],
        Event::DebitDayChanged(_) => vec![R::PayDebitDay],
        Event::PayerChanged(_) => vec![R::PayPayerChange],
        Event::MandateChanged(_) | Event::MandateRevoked(_) => vec![R::PayMethod],
        Event::PaymentMethodSwitched(_) => vec![R::PaySwitchToCash, R::PaySwitchToDebit],
        Event::DebitPresented(d) => d
            .lines
            .iter()
            .map(|l| match l.kind {
                ChargeKind::FullInstallment => R::TarInstallment,
                ChargeKind::Prorated => R::TarProrata,
                ChargeKind::FreeMonth => R::PayFreeMonth,
                ChargeKind::SeniorInstallment => R::PaySenior,
                ChargeKind::ZoneDifference => R::ZoneUp,
                ChargeKind::CutoffDifference => R::PayCutoff,
                ChargeKind::CreditDeducted | ChargeKind::DebtCarried => R::PayDueVsCollected,
                ChargeKind::DossierFee => R::TarDossierFee,
                ChargeKind::CashAnnual => R::PayCash,
                #[allow(unreachable_patterns)]
                _ => R::PayDueVsCollected,
            })
            .collect(),
        Event::DebitRejected(_) => vec![R::PayReject, R::TarRejectFee],
        Event::DebtSettled(_) => vec![R::PayDueVsCollected],
        Event::CashPaymentReceived(_) | Event::CashRenewalNoticeSent(_) => vec![R::PayCash],
        Event::RefundDue(r) => vec![
            R::PayRefund30d,
            match r.reason {
                RefundReason::DebitAfterCutoff => R::PayCutoff,
                RefundReason::CashUnused => R::PayCashRefund,
                RefundReason::Punctuality => R::RefAmount,
                _ => R::PayDueVsCollected,
            },
        ],
        Event::RefundPaid(_) => vec![R::PayRefundMethod],
        Event::ContractSuspended(_) => vec![R::SuspAnytime, R::SuspMonthDue],
        Event::ContractResumed(_) => vec![R::SuspResume],
        Event::ZonesChanged(_) => vec![R::ZoneAllowed, R::ZoneWhen],
        Event::LossDeclared(_) => vec![R::LossSupport],
        Event::FeeCharged(_) => vec![R::TarReplacementFee],
        Event::SeniorSwitchRequested(_) | Event::SeniorSwitchValidated(_) => {
            vec![R::SeniorSwitch]
        }
        Event::FraudEstablished(_) => vec![R::BanFraud3y],
        Event::ContractTerminated(t) => vec![match t.reason {
            TerminationReason::PayerRequest => R::TermByPayer,
            TerminationReason::Unpaid => R::PayUnpaidTermination,
            TerminationReason::SuspensionOver12Months => R::SuspMax12m,
            TerminationReason::LossLimit => R::LossTermination,
            _ => R::TermByAgency,
        }],
        Event::TreasuryNoticeIssued(_)
        | Event::TreasuryNoticeDelivered(_)
        | Event::TreasuryNoticeSettled(_) => vec![R::BanTreasury2y],
        Event::RefundClaimFiled(_) => vec![R::RefWindow, R::RefClaimant],
        Event::RefundClaimDecided(_) => vec![R::RefHeldMonths, R::RefMin3, R::RefAmount],
        Event::TariffPublished(_) => vec![R::TarCatalogue],
        _ => Vec::new(),
    };
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_named_for_an_event_exists_in_the_rulebook_list() {
        // Given every rule id the mapping may name, when printed, then each is a
        // RULES.md id (upper case, dash-separated) as `RuleId::as_str` spells it.
        for r in [RuleId::PayCutoff, RuleId::SuspAnytime, RuleId::TarProrata] {
            let s = r.as_str();
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'),
                "{s}"
            );
        }
    }
}
