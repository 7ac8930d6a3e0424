//! Punctuality refund entitlements (RULES.md §10; PUNCT-2024, REFUND-FAQ) as pure
//! functions: a campaign, one holder's history, the catalogue and a filing go
//! in; a decision per operation, the beneficiary and the total come out.
//!
//! Decisions taken where the texts are silent (each also noted where applied):
//!
//! - `REF-HELD-MONTHS`: a bad month counts when an eligible contract was in force
//!   (not suspended, not terminated) on at least one day of it (RULES.md). Every
//!   product of the ledger (Navigo Annuel, all zones, and Senior) is eligible.
//! - `REF-PLACE`: "during the bad months" means on at least one day of a **held**
//!   bad month: the residence (address history) or a declared place of work or
//!   study was then in the operation's municipalities. An address or declared
//!   place is in effect from its date until the next one of the same sort.
//!   Residents of Paris qualify only through work or study (Art. 2.1, 2.2).
//!   Names are compared without case, accents or separators.
//! - `REF-AMOUNT`: "the tariff of that month" is the tariff in force on the first
//!   day of the last held bad month (the debit date, `TAR-CATALOGUE`); the
//!   product is the one in force on the last day the holder held a contract in
//!   that month. The amount is `factor × annual / installments`, rounded once. An
//!   operation of more than 9 bad months is treated as one of 6–9.
//! - `REF-ONE-PER-CAMPAIGN`: "the same User can only benefit from one refund
//!   within this campaign" (Art. 2.1; the FAQ asks to choose one axis). Every
//!   operation is assessed, then only the one with the highest amount is granted
//!   (the first in campaign order on a tie); the other eligible operations are
//!   reported with amount zero under `REF-ONE-PER-CAMPAIGN`. A second request for
//!   the same holder and campaign is refused.
//! - `REF-WINDOW`: a request is accepted from `filing_from` to `filing_until`; a
//!   claim (complaint, Art. 7) from `filing_from` to `claims_until`, and only when
//!   a request was filed for the holder (claims finalise requests, Art. 1). A
//!   claim is re-decided in full, and its total is what remains after the
//!   amounts already granted, so the refund is still paid once.
//! - `REF-CLAIMANT`: the holder or a payer (of one of the holder's contracts) who
//!   is 18 or more, or an emancipated minor, on the filing date; a legal guardian
//!   (18 or more) files for a holder who is a non-emancipated minor.
//! - `REF-BENEFICIARY`: the payer of the contract the amount is based on, on the
//!   last day it was held in the last held bad month; the holder when a third
//!   party finances that contract entirely (Art. 5).

use chrono::NaiveDate;
use navigo_events_schema::event::TariffRef;
use navigo_events_schema::event::{
    CampaignOperation, CampaignPublished, ClaimKind, FilerCapacity, OperationDecision,
    RefundClaimDecided,
};
use navigo_events_schema::types::{PlaceKind, Product, YearMonth};
use navigo_events_schema::{Money, RuleId};
use rust_decimal::Decimal;
use uuid::Uuid;

pub mod history;

use crate::calendar::age_on;
use crate::catalogue::{installments_per_year, Catalogue};
use crate::refusal::Refusal;

/// `REF-MIN-3`: fewest held bad months for an operation (Art. 2.1).
pub const HELD_MONTHS_MIN: usize = 3;
/// `REF-AMOUNT`: operations with at most this many bad months refund half an
/// installment (Art. 3: "from 3 to 5 months").
pub const SHORT_OPERATION_BAD_MONTHS_MAX: usize = 5;
/// `REF-AMOUNT`: on a longer operation, this many held months refund a full
/// installment (Art. 3: "6 months of the package or more").
pub const FULL_REFUND_HELD_MONTHS_MIN: usize = 6;
/// `REF-CLAIMANT`: age of majority.
pub const ADULT_AGE: u32 = 18;

/// A period a contract was in force: from `from` (included) to `until`
/// (excluded; the effective date of the suspension or termination), or open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InForcePeriod {
    /// First day in force.
    pub from: NaiveDate,
    /// First day no longer in force, if it ended.
    pub until: Option<NaiveDate>,
}

impl InForcePeriod {
    /// The last day in force within [first, last], if any.
    fn last_day_within(&self, first: NaiveDate, last: NaiveDate) -> Option<NaiveDate> {
        let end_incl = match self.until {
            Some(u) => u.pred_opt()?.min(last),
            None => last,
        };
        let start = self.from.max(first);
        (start <= end_incl).then_some(end_incl)
    }
}

/// One contract of the holder, as the refund rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractHistory {
    /// The contract stream id.
    pub contract: Uuid,
    /// The periods in force (suspensions and the termination cut them).
    pub periods: Vec<InForcePeriod>,
    /// The product from each date on (subscription, zone change, Senior switch).
    pub products: Vec<(NaiveDate, Product)>,
    /// The payer from each date on (subscription, payer change).
    pub payers: Vec<(NaiveDate, Uuid)>,
    /// Financed entirely by a third-party payer (Tiers Payant).
    pub third_party_payer: bool,
}

impl ContractHistory {
    fn at<T: Copy>(timeline: &[(NaiveDate, T)], date: NaiveDate) -> Option<T> {
        timeline
            .iter()
            .filter(|(from, _)| *from <= date)
            .max_by_key(|(from, _)| *from)
            .map(|(_, v)| *v)
    }
    /// The last day the contract was in force in `month`.
    fn last_day_in(&self, month: YearMonth) -> Option<NaiveDate> {
        self.periods
            .iter()
            .filter_map(|p| p.last_day_within(month.first_day(), month.last_day()))
            .max()
    }
}

/// A residence from a date on (`PersonRegistered`, `AddressChanged`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Residence {
    /// Effective date.
    pub from: NaiveDate,
    /// Municipality.
    pub municipality: String,
}

/// A declared place of work or study from a date on (`WorkStudyPlaceDeclared`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredPlace {
    /// Effective date.
    pub from: NaiveDate,
    /// Work or study.
    pub kind: PlaceKind,
    /// Municipality.
    pub municipality: String,
}

/// A claim already filed for the holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorClaim {
    /// The campaign.
    pub campaign_id: Uuid,
    /// Request or claim.
    pub kind: ClaimKind,
    /// Total granted by its decision (zero when refused or undecided).
    pub granted: Money,
}

/// What the refund rules read of one holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderHistory {
    /// The holder (person stream id).
    pub holder: Uuid,
    /// The holder's birth date (`REF-CLAIMANT`: a guardian files for a minor).
    pub holder_birth_date: NaiveDate,
    /// Whether the holder is an emancipated minor.
    pub holder_emancipated: bool,
    /// The holder's contracts.
    pub contracts: Vec<ContractHistory>,
    /// Residences, with effective dates.
    pub residences: Vec<Residence>,
    /// Declared places of work or study, with effective dates.
    pub declared_places: Vec<DeclaredPlace>,
    /// Claims already filed for this holder (any campaign).
    pub prior_claims: Vec<PriorClaim>,
}

/// A request or claim being decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing {
    /// The campaign stream id.
    pub campaign_id: Uuid,
    /// The person filing.
    pub filer: Uuid,
    /// In which capacity.
    pub capacity: FilerCapacity,
    /// The filer's birth date.
    pub filer_birth_date: NaiveDate,
    /// Whether the filer is an emancipated minor.
    pub filer_emancipated: bool,
    /// Request or claim.
    pub kind: ClaimKind,
    /// The Paris date of the filing.
    pub date: NaiveDate,
}

/// The outcome of a filing: one line per operation, who is paid, and how much.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundDecision {
    /// One decision per operation, in campaign order.
    pub operations: Vec<OperationDecision>,
    /// Who receives the refund (`REF-BENEFICIARY`), when anything is granted.
    pub beneficiary: Option<Uuid>,
    /// Total to refund now.
    pub total: Money,
}

impl RefundDecision {
    /// The `RefundClaimDecided` event recording this decision for the claim event
    /// `claim_event_id` of campaign `campaign_id`.
    pub fn into_event(self, claim_event_id: Uuid, campaign_id: Uuid) -> RefundClaimDecided {
        RefundClaimDecided {
            claim_event_id,
            campaign_id,
            operations: self.operations,
            beneficiary: self.beneficiary,
            total: self.total,
        }
    }
}

fn refusal(rule: RuleId, on: NaiveDate, message: String) -> Refusal {
    Refusal::on(on, rule, message)
}

/// A municipality name without case, accents, apostrophes or separators, so that
/// "Étréchy", "Etrechy" and "ETRECHY" match.
pub fn normalize_municipality(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        let c = match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ÿ' => 'y',
            'ç' => 'c',
            other => other,
        };
        if c.is_alphanumeric() {
            if sep && !out.is_empty() {
                out.push(' ');
            }
            sep = false;
            out.push(c);
        } else {
            sep = true;
        }
    }
    out
}

/// True for Paris intra-muros ("Paris", "Paris 15e"...): not eligible through
/// residence (Art. 2.1, 2.2).
pub fn is_paris(municipality: &str) -> bool {
    let n = normalize_municipality(municipality);
    n == "paris" || n.starts_with("paris ")
}

/// `REF-HELD-MONTHS`: the operation's bad months in which an eligible contract
/// was in force on at least one day (Decision), in order.
pub fn held_months(op: &CampaignOperation, history: &HolderHistory) -> Vec<YearMonth> {
    let mut months: Vec<YearMonth> = op.bad_months.clone();
    months.sort();
    months.dedup();
    months
        .into_iter()
        .filter(|m| {
            history
                .contracts
                .iter()
                .any(|c| c.last_day_in(*m).is_some())
        })
        .collect()
}

/// Whether a dated timeline had a value satisfying `ok` on some day of
/// [first, last]; each entry holds from its date until the next one.
fn timeline_matches<'a>(
    entries: impl Iterator<Item = (NaiveDate, &'a str)>,
    first: NaiveDate,
    last: NaiveDate,
    ok: impl Fn(&str) -> bool,
) -> bool {
    let mut v: Vec<(NaiveDate, &str)> = entries.collect();
    v.sort_by_key(|(d, _)| *d);
    v.iter().enumerate().any(|(i, (from, name))| {
        let until_excl = v.get(i + 1).map(|(d, _)| *d);
        let starts_before_end = *from <= last;
        let ends_after_start = match until_excl {
            Some(u) => u > first,
            None => true,
        };
        starts_before_end && ends_after_start && ok(name)
    })
}

/// `REF-PLACE`: how the holder is attached to the operation during a held bad
/// month, if at all: `Some(None)` by residence, `Some(Some(kind))` by a declared
/// place of work or study.
pub fn place_basis(
    op: &CampaignOperation,
    history: &HolderHistory,
    held: &[YearMonth],
) -> Option<Option<PlaceKind>> {
    let listed: Vec<String> = op
        .municipalities
        .iter()
        .map(|m| normalize_municipality(m))
        .collect();
    let in_list = |name: &str| listed.contains(&normalize_municipality(name));
    for m in held {
        let (first, last) = (m.first_day(), m.last_day());
        // Residents of Paris are eligible only through work or study.
        let by_residence = timeline_matches(
            history
                .residences
                .iter()
                .map(|r| (r.from, r.municipality.as_str())),
            first,
            last,
            |n| !is_paris(n) && in_list(n),
        );
        if by_residence {
            return Some(None);
        }
        for kind in [PlaceKind::Work, PlaceKind::Study] {
            let places = history
                .declared_places
                .iter()
                .filter(|p| p.kind == kind)
                .map(|p| (p.from, p.municipality.as_str()));
            if timeline_matches(places, first, last, |n| in_list(n)) {
                return Some(Some(kind));
            }
        }
    }
    None
}

/// The contract and day the amount of an operation is based on: the contract
/// held last in the last held bad month (`REF-AMOUNT`, `REF-BENEFICIARY`).
fn basis_contract(
    history: &HolderHistory,
    month: YearMonth,
) -> Option<(&ContractHistory, NaiveDate)> {
    history
        .contracts
        .iter()
        .filter_map(|c| c.last_day_in(month).map(|d| (c, d)))
        .max_by_key(|(_, d)| *d)
}

struct Assessed {
    decision: OperationDecision,
    beneficiary: Option<Uuid>,
}

/// What an eligible operation is priced from: the basis that places the holder
/// in the operation's municipalities (`REF-PLACE`), the last held month, and the
/// contract, product and tariff of that month (`REF-AMOUNT`).
struct PricedBasis<'h> {
    basis: Option<PlaceKind>,
    last_held: YearMonth,
    contract: &'h ContractHistory,
    day: NaiveDate,
    product: Product,
    tariff: TariffRef,
}

/// An operation assessed for the holder: eligible with its amount and
/// beneficiary, or refused by the first rule that fails.
fn assess(op: &CampaignOperation, history: &HolderHistory, catalogue: &Catalogue) -> Assessed {
    let held = held_months(op, history);
    let n_bad = {
        let mut b = op.bad_months.clone();
        b.sort();
        b.dedup();
        b.len()
    };
    match priced_basis(op, history, catalogue, &held, n_bad) {
        Ok(priced) => granted(op, history, held, n_bad, &priced),
        Err((rule, explanation)) => Assessed {
            decision: OperationDecision {
                operation: op.id.clone(),
                eligible: false,
                rule,
                held_months: held,
                amount: Money::ZERO,
                explanation,
            },
            beneficiary: None,
        },
    }
}

/// `REF-MIN-3`, `REF-PLACE`, `REF-HELD-MONTHS`, `REF-AMOUNT`: the basis of an
/// eligible operation, or the rule that refuses it and why.
fn priced_basis<'h>(
    op: &CampaignOperation,
    history: &'h HolderHistory,
    catalogue: &Catalogue,
    held: &[YearMonth],
    n_bad: usize,
) -> Result<PricedBasis<'h>, (RuleId, String)> {
    if held.len() < HELD_MONTHS_MIN {
        return Err((
            RuleId::RefMin3,
            format!(
                "{} of the {} bad months held; at least {HELD_MONTHS_MIN} are needed",
                held.len(),
                n_bad
            ),
        ));
    }
    let Some(basis) = place_basis(op, history, held) else {
        return Err((
            RuleId::RefPlace,
            "neither the residence (outside Paris) nor a declared place of work or study was in \
             the operation's municipalities during a held bad month; declare a place of work or \
             study with proof, or file a claim with proof of the address of the period"
                .to_owned(),
        ));
    };
    let Some(&last_held) = held.last() else {
        return Err((RuleId::RefMin3, "no held month".to_owned()));
    };
    let Some((contract, day)) = basis_contract(history, last_held) else {
        return Err((
            RuleId::RefHeldMonths,
            "no contract in the last held month".to_owned(),
        ));
    };
    let Some(product) = ContractHistory::at(&contract.products, day) else {
        return Err((
            RuleId::RefAmount,
            format!("contract {} has no product on {day}", contract.contract),
        ));
    };
    let price_date = last_held.first_day();
    let Some(tariff) = catalogue.annual_price(product.key(), price_date) else {
        return Err((
            RuleId::RefAmount,
            format!("the catalogue has no price of {product} on {price_date}"),
        ));
    };
    Ok(PricedBasis {
        basis,
        last_held,
        contract,
        day,
        product,
        tariff,
    })
}

/// `REF-AMOUNT` and `REF-BENEFICIARY` of an eligible operation.
fn granted(
    op: &CampaignOperation,
    history: &HolderHistory,
    held: Vec<YearMonth>,
    n_bad: usize,
    priced: &PricedBasis<'_>,
) -> Assessed {
    let PricedBasis {
        basis,
        last_held,
        contract,
        day,
        product,
        ref tariff,
    } = *priced;
    // Art. 3: half an installment on a 3-5 month operation, or with 3-5 months
    // held on a longer one; a full installment with 6 or more held.
    let full = n_bad > SHORT_OPERATION_BAD_MONTHS_MAX && held.len() >= FULL_REFUND_HELD_MONTHS_MIN;
    let factor = if full {
        Decimal::ONE
    } else {
        Decimal::new(5, 1)
    };
    let per_year = installments_per_year(product);
    let amount = Money::round(tariff.annual.value() * factor / Decimal::from(per_year));
    // REF-BENEFICIARY: the payer of that contract on that day, or the holder when a
    // third party finances it entirely (Art. 5).
    let beneficiary = if contract.third_party_payer {
        Some(history.holder)
    } else {
        ContractHistory::at(&contract.payers, day)
    };
    let basis_text = match basis {
        None => "residence".to_owned(),
        Some(PlaceKind::Work) => "declared place of work".to_owned(),
        Some(PlaceKind::Study) => "declared place of study".to_owned(),
    };
    Assessed {
        decision: OperationDecision {
            operation: op.id.clone(),
            eligible: true,
            rule: RuleId::RefAmount,
            explanation: format!(
                "{} of {} bad months held (via {basis_text}); {} x installment of {product} \
                 ({} / {per_year}, tariff of {} marked {}) held in {last_held}",
                held.len(),
                n_bad,
                if full { "1" } else { "0.5" },
                tariff.annual,
                tariff.effective_from,
                tariff.mark,
            ),
            held_months: held,
            amount,
        },
        beneficiary,
    }
}

/// `REF-WINDOW`, `REF-CLAIMANT`, `REF-ONE-PER-CAMPAIGN`: whether the filing may be
/// decided at all.
///
/// # Errors
/// The refusal, with its rule, article and what would make the filing acceptable.
pub fn check_filing(
    campaign: &CampaignPublished,
    history: &HolderHistory,
    filing: &Filing,
) -> Result<(), Refusal> {
    let on = filing.date;
    let prior_request = history
        .prior_claims
        .iter()
        .any(|c| c.campaign_id == filing.campaign_id && c.kind == ClaimKind::Request);
    check_window(campaign, filing, prior_request)?;
    check_claimant(history, filing)?;
    // REF-ONE-PER-CAMPAIGN (Art. 2.1).
    if filing.kind == ClaimKind::Request && prior_request {
        return Err(refusal(
            RuleId::RefOnePerCampaign,
            on,
            format!(
                "a request was already filed for this holder in {}; one refund per holder per \
                 campaign: file a claim until {} to contest its outcome",
                campaign.name, campaign.claims_until
            ),
        ));
    }
    Ok(())
}

/// REF-WINDOW (Art. 1): a request within the filing window; a claim within the
/// claims window, finalising a request filed before.
fn check_window(
    campaign: &CampaignPublished,
    filing: &Filing,
    prior_request: bool,
) -> Result<(), Refusal> {
    let on = filing.date;
    match filing.kind {
        ClaimKind::Request => {
            if on < campaign.filing_from || on > campaign.filing_until {
                return Err(refusal(
                    RuleId::RefWindow,
                    on,
                    format!(
                        "requests for {} are accepted from {} to {} inclusive; filed on {on}",
                        campaign.name, campaign.filing_from, campaign.filing_until
                    ),
                ));
            }
        }
        ClaimKind::Claim => {
            if on < campaign.filing_from || on > campaign.claims_until {
                return Err(refusal(
                    RuleId::RefWindow,
                    on,
                    format!(
                        "claims for {} are accepted from {} to {} inclusive; filed on {on}",
                        campaign.name, campaign.filing_from, campaign.claims_until
                    ),
                ));
            }
            if !prior_request {
                return Err(refusal(
                    RuleId::RefWindow,
                    on,
                    format!(
                        "a claim finalises a request filed between {} and {}; no request was \
                         filed for this holder",
                        campaign.filing_from, campaign.filing_until
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// REF-CLAIMANT (Art. 1; REFUND-FAQ): the holder or a payer of one of the
/// holder's contracts, adult or emancipated; or the adult legal guardian of a
/// minor holder who is not emancipated.
fn check_claimant(history: &HolderHistory, filing: &Filing) -> Result<(), Refusal> {
    let on = filing.date;
    let filer_adult = age_on(filing.filer_birth_date, on) >= ADULT_AGE;
    match filing.capacity {
        FilerCapacity::Holder | FilerCapacity::Payer => {
            let is_holder = filing.filer == history.holder;
            let is_payer = history
                .contracts
                .iter()
                .any(|c| c.payers.iter().any(|(_, p)| *p == filing.filer));
            let capacity_ok = match filing.capacity {
                FilerCapacity::Holder => is_holder,
                _ => is_payer,
            };
            if !capacity_ok {
                return Err(refusal(
                    RuleId::RefClaimant,
                    on,
                    format!(
                        "the filer is not the {} of this holder's contracts; the holder or a \
                         payer of one of them may file",
                        if filing.capacity == FilerCapacity::Holder {
                            "holder"
                        } else {
                            "payer"
                        }
                    ),
                ));
            }
            if !filer_adult && !filing.filer_emancipated {
                return Err(refusal(
                    RuleId::RefClaimant,
                    on,
                    "the filer is a minor who is not emancipated on the filing date; a legal \
                     guardian must file"
                        .to_owned(),
                ));
            }
        }
        FilerCapacity::LegalGuardian => {
            let holder_minor =
                age_on(history.holder_birth_date, on) < ADULT_AGE && !history.holder_emancipated;
            if !filer_adult || !holder_minor {
                return Err(refusal(
                    RuleId::RefClaimant,
                    on,
                    "a legal guardian files only for a non-emancipated minor holder and must be \
                     an adult; an adult or emancipated holder files in person"
                        .to_owned(),
                ));
            }
        }
    }
    Ok(())
}

/// Decides a filing: checks it ([`check_filing`]), assesses every operation and
/// grants the best one (`REF-ONE-PER-CAMPAIGN`).
///
/// # Errors
/// A refusal by `REF-WINDOW`, `REF-CLAIMANT` or `REF-ONE-PER-CAMPAIGN`.
pub fn decide_refund(
    campaign: &CampaignPublished,
    history: &HolderHistory,
    catalogue: &Catalogue,
    filing: &Filing,
) -> Result<RefundDecision, Refusal> {
    check_filing(campaign, history, filing)?;
    let mut assessed: Vec<Assessed> = campaign
        .operations
        .iter()
        .map(|op| assess(op, history, catalogue))
        .collect();
    // One refund per campaign: the highest amount, the first on a tie.
    let best = assessed
        .iter()
        .enumerate()
        .filter(|(_, a)| a.decision.eligible)
        .fold(None::<(usize, Money)>, |acc, (i, a)| match acc {
            Some((_, m)) if m >= a.decision.amount => acc,
            _ => Some((i, a.decision.amount)),
        })
        .map(|(i, _)| i);
    let mut beneficiary = None;
    let mut entitlement = Money::ZERO;
    let granted_name = best
        .and_then(|i| assessed.get(i))
        .map(|a| a.decision.operation.clone());
    for (i, a) in assessed.iter_mut().enumerate() {
        if Some(i) == best {
            entitlement = a.decision.amount;
            beneficiary = a.beneficiary;
        } else if a.decision.eligible {
            a.decision.rule = RuleId::RefOnePerCampaign;
            a.decision.explanation = format!(
                "{}; assessed at {} but not granted: one refund per holder per campaign, \
                 operation {} granted",
                a.decision.explanation,
                a.decision.amount,
                granted_name.as_deref().unwrap_or("?")
            );
            a.decision.amount = Money::ZERO;
        }
    }
    // A claim re-decides in full; what was already granted is not paid twice.
    let already: Money = history
        .prior_claims
        .iter()
        .filter(|c| c.campaign_id == filing.campaign_id)
        .map(|c| c.granted)
        .sum();
    let total = if entitlement > already {
        entitlement - already
    } else {
        Money::ZERO
    };
    Ok(RefundDecision {
        operations: assessed.into_iter().map(|a| a.decision).collect(),
        beneficiary: if total.is_positive() {
            beneficiary
        } else {
            None
        },
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{builtin_campaigns, PUNCT_2024_CAMPAIGN_ID};
    use navigo_events_schema::types::Zones;
    use proptest::prelude::*;

    // The test date and money helpers are the crate's shared ones.
    use navigo_testkit::{d, money};
    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap()
    }
    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }
    const HOLDER: u128 = 1;
    const PAYER: u128 = 2;
    fn annual(z: &str) -> Product {
        Product::Annual {
            zones: z.parse::<Zones>().unwrap(),
        }
    }
    fn campaign() -> CampaignPublished {
        builtin_campaigns().unwrap().remove(0).1
    }
    fn cat() -> Catalogue {
        Catalogue::builtin().unwrap()
    }
    fn contract(periods: &[(NaiveDate, Option<NaiveDate>)], product: Product) -> ContractHistory {
        ContractHistory {
            contract: id(10),
            periods: periods
                .iter()
                .map(|&(from, until)| InForcePeriod { from, until })
                .collect(),
            products: vec![(periods[0].0, product)],
            payers: vec![(periods[0].0, id(PAYER))],
            third_party_payer: false,
        }
    }
    /// A holder living in Sevran (RER B Mitry and CDG operations) since 2020,
    /// with an Annual 1-5 contract from 2023-01-01, paid by PAYER.
    fn sevran_holder() -> HolderHistory {
        HolderHistory {
            holder: id(HOLDER),
            holder_birth_date: d(1990, 5, 5),
            holder_emancipated: false,
            contracts: vec![contract(&[(d(2023, 1, 1), None)], annual("1-5"))],
            residences: vec![Residence {
                from: d(2020, 1, 1),
                municipality: "Sevran".into(),
            }],
            declared_places: vec![],
            prior_claims: vec![],
        }
    }
    fn request(on: NaiveDate) -> Filing {
        Filing {
            campaign_id: PUNCT_2024_CAMPAIGN_ID,
            filer: id(HOLDER),
            capacity: FilerCapacity::Holder,
            filer_birth_date: d(1990, 5, 5),
            filer_emancipated: false,
            kind: ClaimKind::Request,
            date: on,
        }
    }
    fn decide(h: &HolderHistory, f: &Filing) -> Result<RefundDecision, Refusal> {
        decide_refund(&campaign(), h, &cat(), f)
    }
    fn op<'a>(r: &'a RefundDecision, id: &str) -> &'a OperationDecision {
        r.operations.iter().find(|o| o.operation == id).unwrap()
    }
    const MITRY: &str = "rer-b-aulnay-mitry";
    const CDG: &str = "rer-b-aulnay-cdg";

    #[test]
    fn ref_amount_full_installment_for_6_held_of_7_bad_months() {
        let r = decide(&sevran_holder(), &request(d(2025, 3, 20))).unwrap();
        // 1-5 in 2024: 950.40 / 11 = 86.40, once.
        let mitry = op(&r, MITRY);
        assert!(mitry.eligible);
        assert_eq!(mitry.rule, RuleId::RefAmount);
        assert_eq!(mitry.held_months.len(), 7);
        assert_eq!(mitry.amount, money("86.40"));
        assert_eq!(r.total, money("86.40"));
        let e = r.clone().into_event(id(40), PUNCT_2024_CAMPAIGN_ID);
        assert_eq!((e.total, e.operations.len()), (r.total, 6));
        // Operations of other municipalities are refused by REF-PLACE.
        assert_eq!(op(&r, "t12").rule, RuleId::RefPlace);
        assert!(!op(&r, "t12").eligible);
    }

    #[test]
    fn ref_amount_half_installment_with_3_to_5_held_or_on_a_short_operation() {
        // Held from 2024-06-15: Jun, Oct, Nov, Dec of Mitry (4 of 7) -> 0.5 x.
        let mut h = sevran_holder();
        h.contracts = vec![contract(&[(d(2024, 6, 15), None)], annual("4-5"))];
        let r = decide(&h, &request(d(2025, 3, 20))).unwrap();
        let mitry = op(&r, MITRY);
        assert_eq!(
            mitry.held_months,
            vec![ym("2024-06"), ym("2024-10"), ym("2024-11"), ym("2024-12")]
        );
        // 4-5 in 2024: 822.80 / 11 / 2 = 37.40.
        assert_eq!(mitry.amount, money("37.40"));
        // CDG has 3 bad months (Feb, Jun, Dec): 2 held, refused.
        assert_eq!(op(&r, CDG).rule, RuleId::RefMin3);
        // A Senior contract held all year: 518.40 / 12 = 43.20 on Mitry (7 held).
        h.contracts = vec![contract(&[(d(2023, 1, 1), None)], Product::Senior)];
        let r = decide(&h, &request(d(2025, 3, 20))).unwrap();
        assert_eq!(op(&r, MITRY).amount, money("43.20"));
        // On the 3-month CDG operation the same holder gets half: 21.60, not granted
        // since Mitry pays more (one refund per campaign).
        assert_eq!(op(&r, CDG).rule, RuleId::RefOnePerCampaign);
        assert!(
            op(&r, CDG).explanation.contains("assessed at 21.60"),
            "{}",
            op(&r, CDG).explanation
        );
    }

    #[test]
    fn ref_amount_uses_the_last_product_held_in_the_last_bad_month() {
        // A zone change 4-5 -> 1-5 on 2024-12-10: December's product is 1-5.
        let mut h = sevran_holder();
        let mut c = contract(&[(d(2023, 1, 1), None)], annual("4-5"));
        c.products.push((d(2024, 12, 10), annual("1-5")));
        h.contracts = vec![c];
        let r = decide(&h, &request(d(2025, 3, 20))).unwrap();
        assert_eq!(op(&r, MITRY).amount, money("86.40"));
        // Terminated on 2024-12-05 before the change: 4-5 of December, 822.80 / 11 = 74.80.
        let mut c = contract(&[(d(2023, 1, 1), Some(d(2024, 12, 5)))], annual("4-5"));
        c.products.push((d(2024, 12, 10), annual("1-5")));
        h.contracts = vec![c];
        let r = decide(&h, &request(d(2025, 3, 20))).unwrap();
        assert_eq!(op(&r, MITRY).amount, money("74.80"));
    }

    #[test]
    fn ref_held_months_count_a_month_with_a_single_day_in_force() {
        // In force on 2024-01-01 only, suspended until 2024-03-31 (in force that day).
        let mut h = sevran_holder();
        h.contracts = vec![contract(
            &[(d(2023, 6, 1), Some(d(2024, 1, 2))), (d(2024, 3, 31), None)],
            annual("1-5"),
        )];
        let held = held_months(&campaign().operations[0], &h);
        assert!(held.contains(&ym("2024-01")));
        assert!(!held.contains(&ym("2024-02")), "suspended all February");
        assert!(held.contains(&ym("2024-03")));
        assert_eq!(held.len(), 6);
        // Terminated on 2024-01-01 (not in force that day): January is not held.
        h.contracts = vec![contract(
            &[(d(2023, 6, 1), Some(d(2024, 1, 1)))],
            annual("1-5"),
        )];
        assert!(held_months(&campaign().operations[0], &h).is_empty());
    }

    #[test]
    fn ref_min_3_needs_three_held_bad_months() {
        let mut h = sevran_holder();
        // From 2024-10-31: Oct, Nov, Dec of Mitry -> eligible (0.5 x).
        h.contracts = vec![contract(&[(d(2024, 10, 31), None)], annual("1-5"))];
        let r = decide(&h, &request(d(2025, 3, 20))).unwrap();
        assert!(op(&r, MITRY).eligible);
        assert_eq!(op(&r, MITRY).amount, money("43.20"));
        // From 2024-11-01: 2 held -> refused by REF-MIN-3, nothing granted.
        h.contracts = vec![contract(&[(d(2024, 11, 1), None)], annual("1-5"))];
        let r = decide(&h, &request(d(2025, 3, 20))).unwrap();
        assert_eq!(op(&r, MITRY).rule, RuleId::RefMin3);
        assert!(!op(&r, MITRY).eligible);
        assert_eq!(r.total, Money::ZERO);
        assert_eq!(r.beneficiary, None);
    }

    #[test]
    fn ref_place_residence_outside_paris_or_declared_work_or_study() {
        let mut h = sevran_holder();
        // Paris residents are refused through residence...
        h.residences = vec![Residence {
            from: d(2020, 1, 1),
            municipality: "Paris".into(),
        }];
        let r = decide(&h, &request(d(2025, 3, 20))).unwrap();
        assert_eq!(op(&r, MITRY).rule, RuleId::RefPlace);
        assert_eq!(r.total, Money::ZERO);
        // ...but eligible through a declared place of work (accents ignored).
        h.declared_places = vec![DeclaredPlace {
            from: d(2023, 9, 1),
            kind: PlaceKind::Work,
            municipality: "MITRY-MORY".into(),
        }];
        let r = decide(&h, &request(d(2025, 3, 20))).unwrap();
        assert!(op(&r, MITRY).eligible);
        assert!(op(&r, MITRY).explanation.contains("work"));
        // A move out of Sevran on 2024-01-15 still counts: resident on days of a held bad month.
        let mut h = sevran_holder();
        h.residences.push(Residence {
            from: d(2024, 1, 15),
            municipality: "Lyon".into(),
        });
        assert!(decide(&h, &request(d(2025, 3, 20)))
            .unwrap()
            .total
            .is_positive());
        // A move into Sevran only in 2025 does not.
        let mut h = sevran_holder();
        h.residences = vec![
            Residence {
                from: d(2020, 1, 1),
                municipality: "Lyon".into(),
            },
            Residence {
                from: d(2025, 1, 1),
                municipality: "Sevran".into(),
            },
        ];
        let r = decide(&h, &request(d(2025, 3, 20))).unwrap();
        assert_eq!(op(&r, MITRY).rule, RuleId::RefPlace);
    }

    #[test]
    fn ref_place_normalizes_names() {
        assert_eq!(normalize_municipality("L'Haÿ-les-Roses"), "l hay les roses");
        assert_eq!(
            normalize_municipality(" Étréchy "),
            normalize_municipality("Etrechy")
        );
        assert!(is_paris("Paris 15e"));
        assert!(is_paris("PARIS"));
        assert!(!is_paris("Parisot"));
    }

    #[test]
    fn ref_one_per_campaign_grants_one_operation_and_refuses_a_second_request() {
        let r = decide(&sevran_holder(), &request(d(2025, 3, 20))).unwrap();
        // Sevran is on both Mitry (86.40) and CDG (43.20): only Mitry is paid.
        let cdg = op(&r, CDG);
        assert!(cdg.eligible);
        assert_eq!(cdg.rule, RuleId::RefOnePerCampaign);
        assert_eq!(cdg.amount, Money::ZERO);
        assert_eq!(r.total, money("86.40"));
        // A second request for the same holder is refused.
        let mut h = sevran_holder();
        h.prior_claims.push(PriorClaim {
            campaign_id: PUNCT_2024_CAMPAIGN_ID,
            kind: ClaimKind::Request,
            granted: money("86.40"),
        });
        let e = decide(&h, &request(d(2025, 3, 25))).unwrap_err();
        assert_eq!(
            (e.rule, e.article),
            (RuleId::RefOnePerCampaign, "PUNCT-2024 Art. 2.1")
        );
        // A request in another campaign does not count.
        let mut h = sevran_holder();
        h.prior_claims.push(PriorClaim {
            campaign_id: id(999),
            kind: ClaimKind::Request,
            granted: money("10.00"),
        });
        assert_eq!(
            decide(&h, &request(d(2025, 3, 25))).unwrap().total,
            money("86.40")
        );
    }

    #[test]
    fn ref_one_per_campaign_a_claim_pays_only_what_was_not_granted() {
        let mut h = sevran_holder();
        h.prior_claims.push(PriorClaim {
            campaign_id: PUNCT_2024_CAMPAIGN_ID,
            kind: ClaimKind::Request,
            granted: money("43.20"),
        });
        let mut f = request(d(2025, 5, 2));
        f.kind = ClaimKind::Claim;
        let r = decide(&h, &f).unwrap();
        assert_eq!(r.total, money("43.20"));
        h.prior_claims[0].granted = money("86.40");
        assert_eq!(decide(&h, &f).unwrap().total, Money::ZERO);
    }

    #[test]
    fn ref_window_requests_in_the_filing_window_claims_until_the_deadline() {
        let h = sevran_holder();
        for (date, ok) in [
            (d(2025, 3, 17), false),
            (d(2025, 3, 18), true),
            (d(2025, 4, 15), true),
            (d(2025, 4, 16), false),
        ] {
            let r = decide(&h, &request(date));
            assert_eq!(r.is_ok(), ok, "{date}");
            if let Err(e) = r {
                assert_eq!(
                    (e.rule, e.article),
                    (RuleId::RefWindow, "PUNCT-2024 Art. 1")
                );
                assert!(e.message.contains("2025-03-18") && e.message.contains("2025-04-15"));
            }
        }
        // Claims until 2025-05-13, after a request.
        let mut h = sevran_holder();
        h.prior_claims.push(PriorClaim {
            campaign_id: PUNCT_2024_CAMPAIGN_ID,
            kind: ClaimKind::Request,
            granted: Money::ZERO,
        });
        let mut f = request(d(2025, 5, 13));
        f.kind = ClaimKind::Claim;
        assert!(decide(&h, &f).is_ok());
        f.date = d(2025, 5, 14);
        assert_eq!(decide(&h, &f).unwrap_err().rule, RuleId::RefWindow);
        // A claim with no request is refused.
        let mut f = request(d(2025, 4, 20));
        f.kind = ClaimKind::Claim;
        assert_eq!(
            decide(&sevran_holder(), &f).unwrap_err().rule,
            RuleId::RefWindow
        );
    }

    #[test]
    fn ref_claimant_adult_or_emancipated_holder_or_payer_else_a_guardian() {
        let on = d(2025, 3, 20);
        // A holder of 17 cannot file in person...
        let mut h = sevran_holder();
        h.holder_birth_date = d(2007, 6, 1);
        let mut f = request(on);
        f.filer_birth_date = d(2007, 6, 1);
        let e = decide(&h, &f).unwrap_err();
        assert_eq!(
            (e.rule, e.article),
            (RuleId::RefClaimant, "PUNCT-2024 Art. 1")
        );
        assert!(e.message.contains("legal guardian"));
        // ...unless emancipated...
        f.filer_emancipated = true;
        assert!(decide(&h, &f).is_ok());
        // ...and a legal guardian may file for the minor.
        let g = Filing {
            filer: id(77),
            capacity: FilerCapacity::LegalGuardian,
            filer_birth_date: d(1970, 1, 1),
            filer_emancipated: false,
            ..request(on)
        };
        assert!(decide(&h, &g).is_ok());
        // A guardian cannot file for an adult holder.
        assert_eq!(
            decide(&sevran_holder(), &g).unwrap_err().rule,
            RuleId::RefClaimant
        );
        // The payer may file; someone who is not a payer may not.
        let p = Filing {
            filer: id(PAYER),
            capacity: FilerCapacity::Payer,
            ..request(on)
        };
        assert!(decide(&sevran_holder(), &p).is_ok());
        let stranger = Filing { filer: id(55), ..p };
        assert_eq!(
            decide(&sevran_holder(), &stranger).unwrap_err().rule,
            RuleId::RefClaimant
        );
    }

    #[test]
    fn ref_beneficiary_is_the_payer_of_the_last_contract_or_the_holder_under_third_party() {
        let on = d(2025, 3, 20);
        let r = decide(&sevran_holder(), &request(on)).unwrap();
        assert_eq!(r.beneficiary, Some(id(PAYER)));
        // A payer change on 2024-12-10: the new payer is paid.
        let mut h = sevran_holder();
        h.contracts[0].payers.push((d(2024, 12, 10), id(3)));
        assert_eq!(decide(&h, &request(on)).unwrap().beneficiary, Some(id(3)));
        // Financed entirely by a third party: the holder is paid.
        let mut h = sevran_holder();
        h.contracts[0].third_party_payer = true;
        assert_eq!(
            decide(&h, &request(on)).unwrap().beneficiary,
            Some(id(HOLDER))
        );
        // Nothing granted: nobody.
        let mut h = sevran_holder();
        h.residences[0].municipality = "Lyon".into();
        assert_eq!(decide(&h, &request(on)).unwrap().beneficiary, None);
    }

    proptest! {
        #[test]
        fn ref_amount_total_never_exceeds_one_installment(
            start in 0i64..600,
            len in 0i64..600,
            senior in any::<bool>(),
        ) {
            let from = d(2023, 6, 1) + chrono::Duration::days(start);
            let until = from + chrono::Duration::days(len + 1);
            let product = if senior { Product::Senior } else { annual("1-5") };
            let mut h = sevran_holder();
            h.contracts = vec![contract(&[(from, Some(until))], product)];
            let r = decide(&h, &request(d(2025, 3, 20))).unwrap();
            let (inst, _) = cat().installment(product, d(2024, 1, 1)).unwrap();
            prop_assert!(r.total <= inst);
            prop_assert!(!r.total.is_negative());
            prop_assert!(r.operations.iter().filter(|o| o.amount.is_positive()).count() <= 1);
            for o in &r.operations {
                prop_assert!(o.eligible || o.amount.is_zero());
                prop_assert!(o.eligible == (o.held_months.len() >= 3) || o.rule == RuleId::RefPlace);
            }
        }
    }
}
