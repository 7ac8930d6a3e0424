//! The built-in reference data: tariffs, zone C school holidays, ISO 20022 reason
//! codes and the 2024 punctuality campaign, shipped as JSON files under
//! `rules/data/` (see `rules/data/README.md`), embedded in the binary and parsed
//! into the event payload types of the catalogue and campaign streams.
//!
//! Every figure carries its DATA.md mark (V seen in a public source, D derived, U
//! unverified). Replacing an estimate is an edit of a data file, never of code.
//!
//! The loaders return a [`ReferenceError`] rather than panic; a unit test parses
//! every embedded file, so a malformed file fails the build's tests, not a run.

use navigo_events_schema::event::{
    CampaignPublished, ReasonCodesPublished, SchoolHolidaysPublished, TariffPublished,
};
use navigo_events_schema::Event;
use uuid::Uuid;

/// The tariff catalogue, one entry per tariff date (`TAR-CATALOGUE`).
pub const TARIFFS_JSON: &str = include_str!("../data/tariffs.json");
/// Zone C school holidays, one entry per school year (`USE-DEZONAGE`).
pub const SCHOOL_HOLIDAYS_JSON: &str = include_str!("../data/school_holidays.json");
/// ISO 20022 reject reason codes and their fee classification (`TAR-REJECT-FEE`).
pub const REASON_CODES_JSON: &str = include_str!("../data/reason_codes.json");
/// The 2024 punctuality campaign (PUNCT-2024 Art. 11, RULES.md §10).
pub const CAMPAIGN_PUNCT_2024_JSON: &str = include_str!("../data/campaign_punct_2024.json");

/// The fixed stream id of the built-in 2024 punctuality campaign. It never
/// changes, so that claims recorded against it stay attached to it across
/// versions of the ledger (`PUNCT-2024`, `2024` in the first bytes, then `0001`).
pub const PUNCT_2024_CAMPAIGN_ID: Uuid = Uuid::from_u128(0x50554e43_5432_4024_8000_000000000001);

/// Most entries a built-in file may hold (a named bound; today's files hold
/// fewer than 20).
pub const ENTRIES_MAX: usize = 1_000;

/// An embedded data file could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The JSON does not match the payload type; serde names the line, column
    /// and field.
    #[error("rules/data/{file}: {source}")]
    Json {
        /// The data file.
        file: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The content parses but breaks an invariant of the data.
    #[error("rules/data/{file}: {message}")]
    Invalid {
        /// The data file.
        file: &'static str,
        /// What is wrong and where.
        message: String,
    },
}

fn parse<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, ReferenceError> {
    serde_json::from_str(text).map_err(|source| ReferenceError::Json { file, source })
}

fn bounded<T>(file: &'static str, v: Vec<T>) -> Result<Vec<T>, ReferenceError> {
    if v.len() > ENTRIES_MAX {
        return Err(ReferenceError::Invalid {
            file,
            message: format!("{} entries, more than ENTRIES_MAX = {ENTRIES_MAX}", v.len()),
        });
    }
    Ok(v)
}

/// The built-in tariffs, oldest first.
///
/// # Errors
/// A malformed `tariffs.json`, two tariffs on the same date, a product priced
/// twice in one tariff, or a non-positive price.
pub fn builtin_tariffs() -> Result<Vec<TariffPublished>, ReferenceError> {
    const FILE: &str = "tariffs.json";
    let mut tariffs: Vec<TariffPublished> = bounded(FILE, parse(FILE, TARIFFS_JSON)?)?;
    tariffs.sort_by_key(|t| t.effective_from);
    for pair in tariffs.windows(2) {
        if pair[0].effective_from == pair[1].effective_from {
            return Err(ReferenceError::Invalid {
                file: FILE,
                message: format!("two tariffs effective from {}", pair[0].effective_from),
            });
        }
    }
    for t in &tariffs {
        for (i, p) in t.prices.iter().enumerate() {
            if !p.annual.is_positive() {
                return Err(ReferenceError::Invalid {
                    file: FILE,
                    message: format!(
                        "tariff {}: price of {} is {}, must be positive",
                        t.effective_from, p.product, p.annual
                    ),
                });
            }
            if t.prices[..i].iter().any(|q| q.product == p.product) {
                return Err(ReferenceError::Invalid {
                    file: FILE,
                    message: format!("tariff {}: {} priced twice", t.effective_from, p.product),
                });
            }
        }
    }
    Ok(tariffs)
}

/// The built-in zone C school holidays, one entry per school year.
///
/// # Errors
/// A malformed `school_holidays.json`, or a holiday whose classes resume on or
/// before the day they end.
pub fn builtin_school_holidays() -> Result<Vec<SchoolHolidaysPublished>, ReferenceError> {
    const FILE: &str = "school_holidays.json";
    let years: Vec<SchoolHolidaysPublished> = bounded(FILE, parse(FILE, SCHOOL_HOLIDAYS_JSON)?)?;
    for y in &years {
        for p in &y.periods {
            if p.classes_resume <= p.classes_end {
                return Err(ReferenceError::Invalid {
                    file: FILE,
                    message: format!(
                        "{} {}: classes resume {} on or before they end {}",
                        y.school_year, p.name, p.classes_resume, p.classes_end
                    ),
                });
            }
        }
    }
    Ok(years)
}

/// The built-in ISO 20022 reason codes.
///
/// # Errors
/// A malformed `reason_codes.json` or a code listed twice.
pub fn builtin_reason_codes() -> Result<ReasonCodesPublished, ReferenceError> {
    const FILE: &str = "reason_codes.json";
    let codes: ReasonCodesPublished = parse(FILE, REASON_CODES_JSON)?;
    let codes = ReasonCodesPublished {
        codes: bounded(FILE, codes.codes)?,
    };
    for (i, c) in codes.codes.iter().enumerate() {
        if codes.codes[..i].iter().any(|d| d.code == c.code) {
            return Err(ReferenceError::Invalid {
                file: FILE,
                message: format!("reason code {} listed twice", c.code),
            });
        }
    }
    Ok(codes)
}

/// Every built-in event of the catalogue stream, in the order they are
/// appended: the tariffs (oldest first), the school holidays, the reason codes.
///
/// # Errors
/// Any [`ReferenceError`] of the loaders above.
pub fn builtin_catalogue_events() -> Result<Vec<Event>, ReferenceError> {
    let mut out: Vec<Event> = builtin_tariffs()?
        .into_iter()
        .map(Event::TariffPublished)
        .collect();
    out.extend(
        builtin_school_holidays()?
            .into_iter()
            .map(Event::SchoolHolidaysPublished),
    );
    out.push(Event::ReasonCodesPublished(builtin_reason_codes()?));
    Ok(out)
}

/// The built-in campaigns with their fixed stream ids: today the 2024
/// punctuality campaign under [`PUNCT_2024_CAMPAIGN_ID`].
///
/// # Errors
/// A malformed campaign file, an empty or inverted window, or an operation id
/// used twice.
pub fn builtin_campaigns() -> Result<Vec<(Uuid, CampaignPublished)>, ReferenceError> {
    const FILE: &str = "campaign_punct_2024.json";
    let c: CampaignPublished = parse(FILE, CAMPAIGN_PUNCT_2024_JSON)?;
    if !(c.filing_from <= c.filing_until && c.filing_until <= c.claims_until) {
        return Err(ReferenceError::Invalid {
            file: FILE,
            message: format!(
                "windows out of order: filing {}..={}, claims until {}",
                c.filing_from, c.filing_until, c.claims_until
            ),
        });
    }
    let c = CampaignPublished {
        operations: bounded(FILE, c.operations)?,
        ..c
    };
    for (i, op) in c.operations.iter().enumerate() {
        if c.operations[..i].iter().any(|o| o.id == op.id) {
            return Err(ReferenceError::Invalid {
                file: FILE,
                message: format!("operation id {} used twice", op.id),
            });
        }
    }
    Ok(vec![(PUNCT_2024_CAMPAIGN_ID, c)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use navigo_events_schema::types::{Mark, ProductKey, ReasonCode};
    use navigo_events_schema::Money;

    #[test]
    fn every_embedded_data_file_parses() {
        let tariffs = builtin_tariffs().unwrap();
        assert_eq!(tariffs.len(), 8);
        let holidays = builtin_school_holidays().unwrap();
        assert_eq!(holidays.len(), 4);
        assert!(holidays.iter().all(|y| y.periods.len() == 4));
        let codes = builtin_reason_codes().unwrap();
        assert_eq!(codes.codes.len(), 16);
        let events = builtin_catalogue_events().unwrap();
        assert_eq!(events.len(), 8 + 4 + 1);
        let campaigns = builtin_campaigns().unwrap();
        assert_eq!(campaigns.len(), 1);
    }

    #[test]
    fn a_malformed_file_is_an_error_naming_the_file_not_a_panic() {
        let e =
            parse::<Vec<TariffPublished>>("tariffs.json", "[{\"effective_from\": 3}]").unwrap_err();
        assert!(e.to_string().contains("rules/data/tariffs.json"), "{e}");
    }

    #[test]
    fn tar_reject_fee_only_payer_codes_carry_the_fee_per_data_md() {
        let codes = builtin_reason_codes().unwrap();
        let technical: Vec<String> = codes
            .codes
            .iter()
            .filter(|c| !c.attributable_to_payer)
            .map(|c| c.code.to_string())
            .collect();
        assert_eq!(technical, ["AG02", "AM05", "BE05", "MD02", "MS03", "RC01"]);
        assert!(codes.codes.iter().all(|c| c.mark == Mark::Verified));
        assert!(codes.codes.iter().any(|c| c.code == ReasonCode::MD07));
    }

    #[test]
    fn senior_prices_are_stored_as_twelve_monthly_installments() {
        // DATA.md gives the Senior monthly price; the catalogue stores 12 x it.
        let expected = [
            ("2019-11-01", 3760),
            ("2023-01-01", 4205),
            ("2024-01-01", 4320),
            ("2025-01-01", 4440),
            ("2026-01-01", 4540),
        ];
        let tariffs = builtin_tariffs().unwrap();
        for (date, monthly_cents) in expected {
            let t = tariffs
                .iter()
                .find(|t| t.effective_from.to_string() == date)
                .unwrap();
            let senior = t
                .prices
                .iter()
                .find(|p| p.product == ProductKey::Senior)
                .unwrap();
            assert_eq!(
                senior.annual,
                Money::from_cents(monthly_cents * 12),
                "{date}"
            );
        }
    }

    #[test]
    fn unknown_two_zone_prices_are_absent_from_the_data() {
        let tariffs = builtin_tariffs().unwrap();
        let t2026 = tariffs
            .iter()
            .find(|t| t.effective_from.to_string() == "2026-01-01")
            .unwrap();
        assert!(t2026
            .prices
            .iter()
            .all(|p| matches!(p.product, ProductKey::Senior) || p.product.to_string() == "1-5"));
    }

    #[test]
    fn the_2024_campaign_has_six_operations_and_the_art_1_windows() {
        let (id, c) = builtin_campaigns().unwrap().remove(0);
        assert_eq!(id, PUNCT_2024_CAMPAIGN_ID);
        assert_eq!(c.filing_from.to_string(), "2025-03-18");
        assert_eq!(c.filing_until.to_string(), "2025-04-15");
        assert_eq!(c.claims_until.to_string(), "2025-05-13");
        let counts: Vec<(usize, usize)> = c
            .operations
            .iter()
            .map(|o| (o.bad_months.len(), o.municipalities.len()))
            .collect();
        assert_eq!(
            counts,
            [(7, 21), (3, 16), (4, 56), (5, 53), (5, 59), (7, 16)]
        );
        for op in &c.operations {
            assert!(op.bad_months.iter().all(|m| m.year() == 2024), "{}", op.id);
            assert!(
                !op.municipalities
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case("paris")),
                "Paris intra-muros is excluded (Art. 2.1)"
            );
        }
    }
}
