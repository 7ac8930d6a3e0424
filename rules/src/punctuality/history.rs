//! What the refund rules read of the ledger: one holder's contracts, periods,
//! products, payers and residences, taken from the [`World`] into the plain
//! [`HolderHistory`] that [`super::decide_refund`] judges. Used by the
//! `FileRefundClaim` handler and by the refunds view alike.

use navigo_events_schema::Money;

use super::{ContractHistory, DeclaredPlace, HolderHistory, InForcePeriod, PriorClaim, Residence};
use crate::contract::state::ContractState;
use crate::world::{PersonState, World};

/// What the refund rules read of one contract: its periods in force, its products
/// and its payers, each from a date (`REF-HELD-MONTHS`, `REF-AMOUNT`,
/// `REF-BENEFICIARY`). A payer change is effective from the 1st of its month, the
/// first payer from the start date.
pub fn contract_history(c: &ContractState) -> ContractHistory {
    ContractHistory {
        contract: c.id,
        periods: c
            .periods
            .iter()
            .map(|p| InForcePeriod {
                from: p.start,
                until: p.end,
            })
            .collect(),
        products: c.products.clone(),
        payers: c
            .payers
            .iter()
            .map(|(m, p)| (m.first_day().max(c.start_date), *p))
            .collect(),
        third_party_payer: c.third_party_payer,
    }
}

/// What the refund rules read of one holder (`REF-*`).
pub fn holder_history(world: &World, holder: &PersonState) -> HolderHistory {
    HolderHistory {
        holder: holder.id,
        holder_birth_date: holder.birth_date,
        holder_emancipated: holder.emancipation_proof.is_some(),
        contracts: world
            .contracts_of_holder(holder.id)
            .map(contract_history)
            .collect(),
        residences: holder
            .addresses
            .iter()
            .map(|(from, a)| Residence {
                from: *from,
                municipality: a.municipality.clone(),
            })
            .collect(),
        declared_places: holder
            .places
            .iter()
            .map(|p| DeclaredPlace {
                from: p.since,
                kind: p.kind,
                municipality: p.municipality.clone(),
            })
            .collect(),
        prior_claims: holder
            .claims
            .iter()
            .map(|c| PriorClaim {
                campaign_id: c.filed.campaign_id,
                kind: c.filed.kind,
                granted: c.decided.as_ref().map_or(Money::ZERO, |d| d.total),
            })
            .collect(),
    }
}
