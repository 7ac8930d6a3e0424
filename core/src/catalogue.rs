//! The tariff catalogue and reference data, folded from the catalogue stream
//! (`TAR-CATALOGUE`, `TAR-INSTALLMENT`, `TAR-DAILY`, `TAR-PRORATA`).
//!
//! This is the contract branch's interim version of the `reference` branch's module,
//! with the same public names; the merge of `reference` replaces it.

use chrono::{Datelike, NaiveDate};
use navigo_events_schema::event::{
    ChargeKind, ReasonCodeEntry, SchoolHoliday, TariffPrice, TariffRef,
};
use navigo_events_schema::types::{Product, ProductKey, ReasonCode};
use navigo_events_schema::{Event, Money};
use rust_decimal::Decimal;

/// Installments per year of an Annual contract (`TAR-INSTALLMENT`, §4.14.12.1).
pub const ANNUAL_INSTALLMENTS: u32 = 11;
/// Installments per year of a Senior contract (`TAR-INSTALLMENT`, §4.14.13.1).
pub const SENIOR_INSTALLMENTS: u32 = 12;
/// The daily rate is 1/20 of the installment (`TAR-DAILY`, §4.7).
pub const DAILY_RATE_DIVISOR: u32 = 20;
/// A start leaving at least this many days costs a full month (`TAR-PRORATA`).
pub const FULL_MONTH_DAYS_MIN: u32 = 20;

/// One published tariff.
#[derive(Debug, Clone, PartialEq)]
pub struct Tariff {
    /// First debit date it applies to.
    pub effective_from: NaiveDate,
    /// Its prices.
    pub prices: Vec<TariffPrice>,
}

/// The catalogue: tariffs, reason codes, school holidays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    /// Tariffs sorted by effective date.
    pub tariffs: Vec<Tariff>,
    /// Reason codes.
    pub reason_codes: Vec<ReasonCodeEntry>,
    /// School holidays.
    pub school_holidays: Vec<SchoolHoliday>,
}

impl Catalogue {
    /// Folds a catalogue event; other events are ignored.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::TariffPublished(t) => {
                self.tariffs
                    .retain(|x| x.effective_from != t.effective_from);
                self.tariffs.push(Tariff {
                    effective_from: t.effective_from,
                    prices: t.prices.clone(),
                });
                self.tariffs.sort_by_key(|x| x.effective_from);
            }
            Event::ReasonCodesPublished(r) => {
                for c in &r.codes {
                    self.reason_codes.retain(|x| x.code != c.code);
                    self.reason_codes.push(c.clone());
                }
            }
            Event::SchoolHolidaysPublished(s) => self.school_holidays.extend(s.periods.clone()),
            _ => {}
        }
    }

    /// The annual price of a product on a date, with its tariff reference.
    pub fn annual_price(&self, key: ProductKey, date: NaiveDate) -> Option<(Money, TariffRef)> {
        let tariff = self
            .tariffs
            .iter()
            .rev()
            .find(|t| t.effective_from <= date)?;
        let p = tariff.prices.iter().find(|p| p.product == key)?;
        Some((
            p.annual,
            TariffRef {
                product: key,
                effective_from: tariff.effective_from,
                annual: p.annual,
                mark: p.mark,
            },
        ))
    }

    /// Whether the product is sold on `date` (`SUB-PRODUCT`).
    pub fn product_exists(&self, product: Product, date: NaiveDate) -> bool {
        self.annual_price(product.key(), date).is_some()
    }

    /// The monthly installment on a debit date (`TAR-INSTALLMENT`).
    pub fn installment(&self, product: Product, date: NaiveDate) -> Option<(Money, TariffRef)> {
        let (annual, r) = self.annual_price(product.key(), date)?;
        let n = match product {
            Product::Annual { .. } => ANNUAL_INSTALLMENTS,
            Product::Senior => SENIOR_INSTALLMENTS,
        };
        Some((Money::round(annual.value() / Decimal::from(n)), r))
    }

    /// `days × daily rate`, rounded once (`TAR-DAILY`, `TAR-PRORATA`).
    pub fn prorated(
        &self,
        product: Product,
        date: NaiveDate,
        days: u32,
    ) -> Option<(Money, TariffRef)> {
        let (annual, r) = self.annual_price(product.key(), date)?;
        let n = match product {
            Product::Annual { .. } => ANNUAL_INSTALLMENTS,
            Product::Senior => SENIOR_INSTALLMENTS,
        };
        let v = annual.value() * Decimal::from(days) / Decimal::from(n * DAILY_RATE_DIVISOR);
        Some((Money::round(v), r))
    }

    /// The first month's amount of a start date (`TAR-PRORATA`): a full installment
    /// on the 1st or with 20 or more remaining days, otherwise the prorated days.
    pub fn first_month_amount(
        &self,
        product: Product,
        start: NaiveDate,
    ) -> Option<(ChargeKind, Money, Option<u32>, TariffRef)> {
        let r = crate::calendar::remaining_days(start);
        if start.day() == 1 || r >= FULL_MONTH_DAYS_MIN {
            let (m, t) = self.installment(product, start)?;
            let kind = match product {
                Product::Annual { .. } => ChargeKind::FullInstallment,
                Product::Senior => ChargeKind::SeniorInstallment,
            };
            Some((kind, m, None, t))
        } else {
            let (m, t) = self.prorated(product, start, r)?;
            Some((ChargeKind::Prorated, m, Some(r), t))
        }
    }

    /// A reason code's entry.
    pub fn reason_code(&self, code: ReasonCode) -> Option<&ReasonCodeEntry> {
        self.reason_codes.iter().find(|c| c.code == code)
    }

    /// The school holiday covering `date` (dézonage from the day after classes end to
    /// the day before they resume).
    pub fn school_holiday_on(&self, date: NaiveDate) -> Option<&SchoolHoliday> {
        self.school_holidays
            .iter()
            .find(|h| h.classes_end < date && date < h.classes_resume)
    }
}
