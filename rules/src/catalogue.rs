//! The tariff catalogue, folded from the events of the catalogue stream
//! (`TariffPublished`, `SchoolHolidaysPublished`, `ReasonCodesPublished`), and the
//! price formulas of RULES.md §1 (`TAR-CATALOGUE`, `TAR-INSTALLMENT`, `TAR-DAILY`,
//! `TAR-PRORATA`, `SUB-PRODUCT`).
//!
//! Every amount is computed from the annual price and rounded once, at the end of
//! its formula, half away from zero (RULES.md §0): a prorated month is
//! `days × annual / 11 / 20`, never `days × round(daily rate)`.
//!
//! **Unknown prices (Decision).** A `TariffPublished` is a full snapshot of the
//! prices in force from its date. A product priced by an earlier tariff but absent
//! from the one in force (DATA.md: U, no figure) keeps its last known price,
//! **marked U** in the [`TariffRef`], so that billing can go on and every debit
//! computed from it carries the estimate mark (DATA.md: "a debit computed from an
//! estimated price carries that mark too"). A product never priced on or before a
//! date has no price: [`Catalogue::annual_price`] returns `None` and the product
//! does not exist on that date (`SUB-PRODUCT`).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use navigo_events_schema::event::{
    ChargeKind, ChargeLine, ReasonCodeEntry, SchoolHoliday, TariffPrice, TariffPublished,
};
use navigo_events_schema::types::{Mark, Product, ProductKey, ReasonCode, YearMonth};
use navigo_events_schema::{Event, Money};
use rust_decimal::Decimal;

use crate::calendar::remaining_days;
use crate::reference::ReferenceError;

pub use navigo_events_schema::event::TariffRef;

/// `TAR-INSTALLMENT`: installments per year of an Annual contract (CGVU-2026
/// §4.14.12.1: 1/11 of the annual price).
pub const ANNUAL_INSTALLMENTS: u32 = 11;
/// `TAR-INSTALLMENT`: installments per year of a Senior contract (§4.14.13.1).
pub const SENIOR_INSTALLMENTS: u32 = 12;
/// `TAR-DAILY`: the daily rate is 1/20 of the installment (§4.7; CGU-2011 §2.1).
pub const DAILY_RATE_DIVISOR: u32 = 20;
/// `TAR-PRORATA`: a start leaving at least this many remaining days costs a full
/// installment (§4.7: "les vingt derniers jours du mois" are prorated).
pub const FULL_MONTH_MIN_REMAINING_DAYS: u32 = 20;

/// The number of installments a year of a product (`TAR-INSTALLMENT`).
pub fn installments_per_year(product: Product) -> u32 {
    match product {
        Product::Annual { .. } => ANNUAL_INSTALLMENTS,
        Product::Senior => SENIOR_INSTALLMENTS,
    }
}

/// What one month of travel costs by the rules and how it was computed: the
/// line that bills it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthCharge {
    /// `FreeMonth`, `FullInstallment`, `SeniorInstallment` or `Prorated`.
    pub kind: ChargeKind,
    /// The amount, rounded once.
    pub amount: Money,
    /// Days charged for a prorated month (`TAR-PRORATA`), none for a full one.
    pub days: Option<u32>,
    /// The price used, with its mark; none for a free month.
    pub tariff: Option<TariffRef>,
}

impl MonthCharge {
    /// The charge line of this amount for `month`.
    pub fn line(&self, month: YearMonth) -> ChargeLine {
        ChargeLine {
            kind: self.kind,
            amount: self.amount,
            days: self.days,
            month,
            tariff: self.tariff.clone(),
        }
    }
}

/// The kind of a full month's installment of `product` (`TAR-INSTALLMENT`,
/// `PAY-SENIOR`).
pub fn installment_kind(product: Product) -> ChargeKind {
    match product {
        Product::Annual { .. } => ChargeKind::FullInstallment,
        Product::Senior => ChargeKind::SeniorInstallment,
    }
}

/// The catalogue: tariffs, school holidays and reason codes, folded from the
/// catalogue stream. `apply` cannot fail and ignores non-catalogue events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    /// Tariffs by effective date; a later event for the same date corrects the
    /// prices it lists and keeps the others.
    tariffs: BTreeMap<NaiveDate, TariffPublished>,
    /// School holidays by school year; a republished year replaces the old one.
    school_years: BTreeMap<String, Vec<SchoolHoliday>>,
    /// Reason codes; a republished code replaces the old entry.
    reason_codes: BTreeMap<ReasonCode, ReasonCodeEntry>,
}

impl Catalogue {
    /// The catalogue of the built-in data (`rules/data/`).
    ///
    /// # Errors
    /// A malformed embedded data file (caught by the tests of [`crate::reference`]).
    pub fn builtin() -> Result<Catalogue, ReferenceError> {
        let mut c = Catalogue::default();
        for e in crate::reference::builtin_catalogue_events()? {
            c.apply(&e);
        }
        Ok(c)
    }

    /// Folds one event. Events of other streams are ignored.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::TariffPublished(t) => match self.tariffs.get_mut(&t.effective_from) {
                // A second tariff for the same date is a correction: its prices
                // replace those of the same products and add the others, so that
                // an estimate can be replaced by publishing only the new figure.
                Some(existing) => {
                    for p in &t.prices {
                        match existing.prices.iter_mut().find(|q| q.product == p.product) {
                            Some(q) => *q = p.clone(),
                            None => existing.prices.push(p.clone()),
                        }
                    }
                    existing.source = format!("{}; corrected: {}", existing.source, t.source);
                }
                None => {
                    self.tariffs.insert(t.effective_from, t.clone());
                }
            },
            Event::SchoolHolidaysPublished(s) => {
                self.school_years
                    .insert(s.school_year.clone(), s.periods.clone());
            }
            Event::ReasonCodesPublished(r) => {
                for c in &r.codes {
                    self.reason_codes.insert(c.code, c.clone());
                }
            }
            _ => {}
        }
    }

    /// The tariffs known, oldest first.
    pub fn tariffs(&self) -> impl Iterator<Item = &TariffPublished> {
        self.tariffs.values()
    }

    /// `TAR-CATALOGUE`: the annual price of `product` on `date`, from the tariff in
    /// force (the latest with `effective_from <= date`). A product absent from
    /// that tariff but priced by an earlier one keeps its last known price marked
    /// U (see the module documentation); `None` when no tariff on or before `date`
    /// prices it.
    pub fn annual_price(&self, product: ProductKey, date: NaiveDate) -> Option<TariffRef> {
        let mut in_force = true;
        for (from, tariff) in self.tariffs.range(..=date).rev() {
            if let Some(p) = find_price(&tariff.prices, product) {
                return Some(TariffRef {
                    product,
                    effective_from: *from,
                    annual: p.annual,
                    // A price carried forward from an older tariff is an estimate.
                    mark: if in_force { p.mark } else { Mark::Unverified },
                });
            }
            in_force = false;
        }
        None
    }

    /// `SUB-PRODUCT`: true when the catalogue prices `product` on `date` (Senior
    /// exists from 2019-11-01). A subscription to a product without a price on
    /// its start date is refused.
    pub fn product_exists(&self, product: ProductKey, date: NaiveDate) -> bool {
        self.annual_price(product, date).is_some()
    }

    /// `TAR-INSTALLMENT`: the monthly installment at the tariff in force on `date`
    /// (the debit date, `TAR-CATALOGUE`): Annual = annual / 11, Senior = annual / 12,
    /// rounded once.
    pub fn installment(&self, product: Product, date: NaiveDate) -> Option<(Money, TariffRef)> {
        let t = self.annual_price(product.key(), date)?;
        let amount = Money::round(t.annual.value() / Decimal::from(installments_per_year(product)));
        Some((amount, t))
    }

    /// `TAR-DAILY`: the daily rate, 1/20 of the installment, rounded for display.
    /// Amounts are computed with [`Catalogue::prorated`], which rounds only once.
    pub fn daily_rate(&self, product: Product, date: NaiveDate) -> Option<(Money, TariffRef)> {
        self.prorated(product, date, 1)
    }

    /// `TAR-PRORATA` with `TAR-DAILY`: `days × annual / 11 / 20` (Senior:
    /// `days × annual / 12 / 20`), rounded once at the end.
    pub fn prorated(
        &self,
        product: Product,
        date: NaiveDate,
        days: u32,
    ) -> Option<(Money, TariffRef)> {
        let t = self.annual_price(product.key(), date)?;
        let divisor =
            Decimal::from(installments_per_year(product)) * Decimal::from(DAILY_RATE_DIVISOR);
        let amount = Money::round(t.annual.value() * Decimal::from(days) / divisor);
        Some((amount, t))
    }

    /// `TAR-PRORATA`: the amount of the first month of a subscription (or of a
    /// resumption in a month other than the suspension's) starting on `start`,
    /// priced at the tariff in force on `price_date`: a full installment when
    /// `start` is the 1st or leaves at least 20 remaining days, otherwise
    /// `remaining days × daily rate`.
    pub fn first_month_amount(
        &self,
        product: Product,
        start: NaiveDate,
        price_date: NaiveDate,
    ) -> Option<MonthCharge> {
        let r = remaining_days(start);
        if start.day() == 1 || r >= FULL_MONTH_MIN_REMAINING_DAYS {
            let (amount, tariff) = self.installment(product, price_date)?;
            Some(MonthCharge {
                amount,
                kind: installment_kind(product),
                days: None,
                tariff: Some(tariff),
            })
        } else {
            let (amount, tariff) = self.prorated(product, price_date, r)?;
            Some(MonthCharge {
                amount,
                kind: ChargeKind::Prorated,
                days: Some(r),
                tariff: Some(tariff),
            })
        }
    }

    /// The classification of an ISO 20022 reason code (`TAR-REJECT-FEE`), if known.
    pub fn reason_code(&self, code: ReasonCode) -> Option<&ReasonCodeEntry> {
        self.reason_codes.get(&code)
    }

    /// Every published reason code, in code order: what a file the bank
    /// sends may carry.
    pub fn reason_codes(&self) -> impl Iterator<Item = ReasonCode> + '_ {
        self.reason_codes.keys().copied()
    }

    /// The zone C school holiday whose dézonage covers `date` (`USE-DEZONAGE`):
    /// from the day after classes end to the day before they resume, both included.
    pub fn school_holiday_on(&self, date: NaiveDate) -> Option<&SchoolHoliday> {
        self.school_years
            .values()
            .flatten()
            .find(|h| h.classes_end < date && date < h.classes_resume)
    }
}

fn find_price(prices: &[TariffPrice], product: ProductKey) -> Option<&TariffPrice> {
    prices.iter().find(|p| p.product == product)
}

#[cfg(test)]
mod tests {
    use super::*;
    use navigo_events_schema::event::TariffPrice;
    use navigo_events_schema::types::Zones;
    use proptest::prelude::*;

    // The test date and money helpers are the crate's shared ones.
    use navigo_testkit::{d, money};
    fn annual(z: &str) -> Product {
        Product::Annual {
            zones: z.parse::<Zones>().unwrap(),
        }
    }
    fn key(s: &str) -> ProductKey {
        s.parse().unwrap()
    }

    /// A catalogue with one tariff: 1-5 at 990.00 (the RULES.md worked examples)
    /// and Senior at 540.00.
    fn worked_example() -> Catalogue {
        let mut c = Catalogue::default();
        c.apply(&Event::TariffPublished(TariffPublished {
            effective_from: d(2026, 1, 1),
            prices: vec![
                TariffPrice {
                    product: key("1-5"),
                    annual: money("990.00"),
                    mark: Mark::Verified,
                },
                TariffPrice {
                    product: key("senior"),
                    annual: money("540.00"),
                    mark: Mark::Derived,
                },
            ],
            source: "test".into(),
        }));
        c
    }

    #[test]
    fn tar_installment_is_annual_over_11_or_senior_over_12() {
        let c = worked_example();
        let (m, t) = c.installment(annual("1-5"), d(2026, 7, 1)).unwrap();
        assert_eq!(m, money("90.00"));
        assert_eq!(t.annual, money("990.00"));
        let (m, _) = c.installment(Product::Senior, d(2026, 7, 1)).unwrap();
        assert_eq!(m, money("45.00"));
        // Rounded once, half away from zero: 998.80 / 11 = 90.8000, 925.10 / 11 = 84.1
        let b = Catalogue::builtin().unwrap();
        assert_eq!(
            b.installment(annual("1-5"), d(2026, 7, 1)).unwrap().0,
            money("90.80")
        );
        assert_eq!(
            b.installment(annual("1-5"), d(2023, 7, 1)).unwrap().0,
            money("84.10")
        );
        assert_eq!(
            b.installment(Product::Senior, d(2024, 7, 1)).unwrap().0,
            money("43.20")
        );
        // Refused side: no price, no installment (a product not sold).
        assert!(c.installment(annual("2-3"), d(2026, 7, 1)).is_none());
        assert!(c.installment(annual("1-5"), d(2025, 12, 31)).is_none());
    }

    #[test]
    fn tar_daily_is_a_twentieth_of_the_installment() {
        let c = worked_example();
        assert_eq!(
            c.daily_rate(annual("1-5"), d(2026, 7, 1)).unwrap().0,
            money("4.50")
        );
        assert_eq!(
            c.daily_rate(Product::Senior, d(2026, 7, 1)).unwrap().0,
            money("2.25")
        );
        assert!(c.daily_rate(annual("3-4"), d(2026, 7, 1)).is_none());
    }

    #[test]
    fn tar_prorata_19_days_cost_85_50_and_20_days_a_full_installment() {
        let c = worked_example();
        // Worked example 2: a start on 2026-07-13 leaves 19 days: 19 x 4.50.
        let m = c
            .first_month_amount(annual("1-5"), d(2026, 7, 13), d(2026, 7, 13))
            .unwrap();
        assert_eq!(m.amount, money("85.50"));
        assert_eq!(m.kind, ChargeKind::Prorated);
        assert_eq!(m.days, Some(19));
        // Worked example 1: 2026-07-12 leaves 20 days: a full installment.
        let m = c
            .first_month_amount(annual("1-5"), d(2026, 7, 12), d(2026, 7, 12))
            .unwrap();
        assert_eq!(m.amount, money("90.00"));
        assert_eq!(m.kind, ChargeKind::FullInstallment);
        assert_eq!(m.days, None);
        // A start on the 1st is a full month, even in February.
        let m = c
            .first_month_amount(Product::Senior, d(2026, 2, 1), d(2026, 2, 1))
            .unwrap();
        assert_eq!(
            (m.amount, m.kind),
            (money("45.00"), ChargeKind::SeniorInstallment)
        );
        // February 2026: the 10th leaves 19 days, prorated.
        let m = c
            .first_month_amount(Product::Senior, d(2026, 2, 10), d(2026, 2, 10))
            .unwrap();
        assert_eq!(m.amount, money("42.75"));
        let line = m.line(YearMonth::of(d(2026, 2, 10)));
        assert_eq!(line.days, Some(19));
        assert_eq!(line.tariff.unwrap().annual, money("540.00"));
    }

    #[test]
    fn tar_prorata_rounds_once_at_the_end() {
        // 2-3 in 2023 costs 843.70: 19 days are 843.70 x 19 / 220 = 72.865, which
        // rounds (half away from zero) to 72.87. Rounding the daily rate first
        // (3.835 -> 3.84) would give 72.96.
        let b = Catalogue::builtin().unwrap();
        let (m, _) = b.prorated(annual("2-3"), d(2023, 3, 1), 19).unwrap();
        assert_eq!(m, money("72.87"));
        let (daily, _) = b.daily_rate(annual("2-3"), d(2023, 3, 1)).unwrap();
        assert_eq!(daily, money("3.84"));
        assert_ne!(m.value(), daily.value() * Decimal::from(19));
    }

    #[test]
    fn tar_catalogue_uses_the_tariff_in_force_on_the_debit_date() {
        let b = Catalogue::builtin().unwrap();
        let p = |k: &str, date| b.annual_price(key(k), date).map(|t| (t.annual, t.mark));
        assert_eq!(
            p("1-5", d(2025, 12, 31)),
            Some((money("976.80"), Mark::Verified))
        );
        assert_eq!(
            p("1-5", d(2026, 1, 1)),
            Some((money("998.80"), Mark::Verified))
        );
        assert_eq!(
            p("1-5", d(2017, 7, 31)),
            Some((money("803.00"), Mark::Derived))
        );
        assert_eq!(
            p("1-5", d(2021, 6, 1)),
            Some((money("827.20"), Mark::Verified))
        );
        // Before the first known tariff: no price.
        assert_eq!(p("1-5", d(2015, 8, 31)), None);
        // A later event for the same date corrects the prices it lists (a
        // correction) and keeps the others.
        let mut c = b.clone();
        c.apply(&Event::TariffPublished(TariffPublished {
            effective_from: d(2026, 1, 1),
            prices: vec![TariffPrice {
                product: key("2-3"),
                annual: money("930.00"),
                mark: Mark::Verified,
            }],
            source: "replacement of the estimate".into(),
        }));
        assert_eq!(
            c.annual_price(key("2-3"), d(2026, 3, 1))
                .map(|t| (t.annual, t.mark)),
            Some((money("930.00"), Mark::Verified))
        );
        assert_eq!(
            c.annual_price(key("1-5"), d(2026, 3, 1))
                .map(|t| (t.annual, t.mark)),
            Some((money("998.80"), Mark::Verified))
        );
        // The 3-4 price is still carried forward from 2025, marked U.
        assert_eq!(
            c.annual_price(key("3-4"), d(2026, 3, 1))
                .map(|t| (t.annual, t.mark)),
            Some((money("886.60"), Mark::Unverified))
        );
    }

    #[test]
    fn tar_catalogue_carries_an_unknown_price_forward_marked_u() {
        let b = Catalogue::builtin().unwrap();
        // 2-3 has no 2026 figure: the 2025 price (D) is carried, marked U.
        let t = b.annual_price(key("2-3"), d(2026, 3, 1)).unwrap();
        assert_eq!((t.annual, t.mark), (money("910.80"), Mark::Unverified));
        assert_eq!(t.effective_from, d(2025, 1, 1));
        // The same price in 2025 keeps its own mark.
        let t = b.annual_price(key("2-3"), d(2025, 3, 1)).unwrap();
        assert_eq!((t.annual, t.mark), (money("910.80"), Mark::Derived));
        // 3-4 was never priced before 2017-08-01: no price at all.
        assert!(b.annual_price(key("3-4"), d(2016, 9, 1)).is_none());
        // An installment computed from it carries the mark.
        let (_, t) = b.installment(annual("4-5"), d(2026, 2, 1)).unwrap();
        assert_eq!(t.mark, Mark::Unverified);
    }

    #[test]
    fn sub_product_senior_exists_from_2019_11_01() {
        let b = Catalogue::builtin().unwrap();
        assert!(!b.product_exists(ProductKey::Senior, d(2019, 10, 31)));
        assert!(b.product_exists(ProductKey::Senior, d(2019, 11, 1)));
        assert!(b.product_exists(key("1-5"), d(2026, 11, 1)));
        assert!(!b.product_exists(key("3-4"), d(2016, 1, 1)));
        assert!(!b.product_exists(key("1-6"), d(2026, 1, 1)));
    }

    #[test]
    fn reason_codes_and_school_holidays_are_looked_up() {
        let b = Catalogue::builtin().unwrap();
        assert_eq!(
            b.reason_code(ReasonCode::AM04)
                .map(|c| c.attributable_to_payer),
            Some(true)
        );
        assert_eq!(
            b.reason_code("MS03".parse().unwrap())
                .map(|c| c.attributable_to_payer),
            Some(false)
        );
        assert!(b.reason_code("ZZ99".parse().unwrap()).is_none());
        // Toussaint 2025: classes end Sat 2025-10-18, resume Mon 2025-11-03.
        assert!(b.school_holiday_on(d(2025, 10, 18)).is_none());
        assert_eq!(
            b.school_holiday_on(d(2025, 10, 19))
                .map(|h| h.name.as_str()),
            Some("Toussaint")
        );
        assert_eq!(
            b.school_holiday_on(d(2025, 11, 2)).map(|h| h.name.as_str()),
            Some("Toussaint")
        );
        assert!(b.school_holiday_on(d(2025, 11, 3)).is_none());
        // A republished school year replaces the year.
        let mut c = b.clone();
        c.apply(&Event::SchoolHolidaysPublished(
            navigo_events_schema::event::SchoolHolidaysPublished {
                school_year: "2025-26".into(),
                periods: vec![SchoolHoliday {
                    name: "Toussaint".into(),
                    classes_end: d(2025, 10, 25),
                    classes_resume: d(2025, 11, 10),
                    mark: Mark::Verified,
                }],
            },
        ));
        assert!(c.school_holiday_on(d(2025, 10, 20)).is_none());
        assert!(c.school_holiday_on(d(2025, 11, 9)).is_some());
        assert!(
            c.school_holiday_on(d(2025, 12, 24)).is_none(),
            "Noël 2025 was replaced"
        );
        // Other events are ignored.
        let mut c = b.clone();
        c.apply(&Event::MandateRevoked(
            navigo_events_schema::event::MandateRevoked {
                reference: "x".into(),
            },
        ));
        assert_eq!(c, b);
    }

    proptest! {
        #[test]
        fn tar_prorata_never_exceeds_the_installment(
            cents in 1i64..500_000,
            days in 0u32..20,
            senior in any::<bool>(),
        ) {
            let product = if senior { Product::Senior } else { annual("1-5") };
            let mut c = Catalogue::default();
            c.apply(&Event::TariffPublished(TariffPublished {
                effective_from: d(2020, 1, 1),
                prices: vec![TariffPrice {
                    product: product.key(),
                    annual: Money::from_cents(cents),
                    mark: Mark::Verified,
                }],
                source: "proptest".into(),
            }));
            let (inst, _) = c.installment(product, d(2026, 1, 1)).unwrap();
            let (pro, _) = c.prorated(product, d(2026, 1, 1), days).unwrap();
            prop_assert!(pro <= inst, "{} days cost {} > installment {}", days, pro, inst);
            prop_assert!(!pro.is_negative());
        }

        #[test]
        fn tar_prorata_first_month_is_never_more_than_a_full_installment(day in 0i64..3650) {
            let c = worked_example();
            let start = d(2026, 1, 1) + chrono::Duration::days(day);
            let m = c.first_month_amount(annual("1-5"), start, start).unwrap();
            prop_assert!(m.amount <= money("90.00"));
            let r = remaining_days(start);
            if r >= 20 || start.day() == 1 {
                prop_assert_eq!(m.amount, money("90.00"));
            } else {
                prop_assert_eq!(m.amount, Money::round(Decimal::from(r) * Decimal::new(450, 2)));
            }
        }
    }
}
