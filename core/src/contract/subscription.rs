//! Subscription (`SUB-*`, `TAR-DOSSIER-FEE`, `SUB-FIRST-PAYMENT`, `PAY-FREE-MONTH`).

use chrono::{Datelike, Duration, NaiveDate};
use navigo_events_schema::command::Subscribe;
use navigo_events_schema::event::{
    ChargeKind, ChargeLine, ContractSubscribed, FirstPaymentCollected, PaymentMeans,
};
use navigo_events_schema::types::{
    add_months, ActivityDeclaration, Channel, PaymentSetup, Product,
};
use navigo_events_schema::{Event, Money, RuleId, StreamId, YearMonth};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::bans::{self, BanRole};
use crate::calendar::remaining_days;
use crate::contract::state::Status;
use crate::engine::{Context, Decision, Request};
use crate::person::age_on;
use crate::refusal::CommandError;
use crate::rulebook::{FreeMonthRule, Rulebook};
use crate::world::World;

/// `SUB-AGE`: minimum age of the holder on the start date.
pub const HOLDER_AGE_MIN: u32 = 16;
/// `SUB-AGE`: minimum age of a payer who is not emancipated.
pub const PAYER_AGE_MIN: u32 = 18;
/// `SUB-AGE`: minimum age of an emancipated payer (with proof).
pub const EMANCIPATED_PAYER_AGE_MIN: u32 = 16;
/// `SUB-SENIOR`: minimum age of a Senior holder on the start date.
pub const SENIOR_AGE_MIN: u32 = 62;
/// `SUB-SENIOR`: activity strictly below these hours (week, month, year; §2.2.3).
pub const SENIOR_HOURS_PER_WEEK_MAX: Decimal = Decimal::from_parts(175, 0, 0, false, 1);
/// See [`SENIOR_HOURS_PER_WEEK_MAX`].
pub const SENIOR_HOURS_PER_MONTH_MAX: Decimal = Decimal::from_parts(755, 0, 0, false, 1);
/// See [`SENIOR_HOURS_PER_WEEK_MAX`].
pub const SENIOR_HOURS_PER_YEAR_MAX: Decimal = Decimal::from_parts(8035, 0, 0, false, 1);
/// `PAY-CASH`: months of travel a cash payment covers.
pub const CASH_PERIOD_MONTHS: u32 = 12;

/// The first free month of a cycle starting on `start` under `book`
/// (`PAY-FREE-MONTH`, CGVU-2026 §4.14.12.2, CGU-2011 §2.9.3). None for Senior
/// (`PAY-SENIOR`).
pub fn first_free_month(book: &Rulebook, product: Product, start: NaiveDate) -> Option<YearMonth> {
    if product == Product::Senior {
        return None;
    }
    let m = YearMonth::of(start);
    let eleven = match book.free_month {
        FreeMonthRule::RemainingDays { min_days } => {
            start.day() == 1 || remaining_days(start) >= min_days
        }
        FreeMonthRule::FirstOfMonthOnly => start.day() == 1,
    };
    Some(if eleven { m.plus(11) } else { m.plus(12) })
}

/// Whether a Senior activity declaration is below half-time (`SUB-SENIOR`, §2.2.3).
pub fn senior_declaration_ok(d: &ActivityDeclaration) -> bool {
    match d {
        ActivityDeclaration::NoActivity => true,
        ActivityDeclaration::HoursPerWeek { hours } => *hours < SENIOR_HOURS_PER_WEEK_MAX,
        ActivityDeclaration::HoursPerMonth { hours } => *hours < SENIOR_HOURS_PER_MONTH_MAX,
        ActivityDeclaration::HoursPerYear { hours } => *hours < SENIOR_HOURS_PER_YEAR_MAX,
    }
}

/// The payer ban barring `payer` on `date` (`SUB-BANNED-PAYER`, RULES.md §8), as
/// the refusal to give: the windows come from [`crate::bans`] over the person's
/// facts; ban durations use the rulebook recorded on the termination or in force
/// on the notice's receipt (RULES.md §0 Decision).
pub fn payer_banned(world: &World, payer: Uuid, date: NaiveDate) -> Option<CommandError> {
    let windows = world.ban_windows(payer);
    bans::may_be(BanRole::Payer, date, &windows)
        .err()
        .map(|w| CommandError::Refused(bans::ban_refusal(w, date)))
}

/// The fraud ban barring `holder` on `date` (`SUB-BANNED-HOLDER`, `BAN-FRAUD-3Y`).
pub fn holder_banned(world: &World, holder: Uuid, date: NaiveDate) -> Option<CommandError> {
    let windows = world.ban_windows(holder);
    bans::may_be(BanRole::Holder, date, &windows)
        .err()
        .map(|w| CommandError::Refused(bans::ban_refusal(w, date)))
}

/// Subscribes a contract.
///
/// # Errors
/// Refusals by `SUB-THIRD-PARTY`, `SUB-PRODUCT`, `SUB-SENIOR`, `SUB-WINDOW`,
/// `SUB-AGE`, `SUB-ONE-ACTIVE`, `SUB-BANNED-PAYER`, `SUB-BANNED-HOLDER`; invalid
/// when a person is unknown or the contract id is taken.
pub fn subscribe(
    world: &World,
    req: &Request<'_>,
    cmd: &Subscribe,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let channel = req.channel()?;
    let stream = StreamId::contract(cmd.contract_id);
    if world.version(stream) > 0 {
        return Err(CommandError::invalid(
            "contract_id",
            format!("contract {} already exists", cmd.contract_id),
        ));
    }
    let holder = world
        .person(cmd.holder)
        .ok_or_else(|| CommandError::invalid("holder", format!("no person {}", cmd.holder)))?;
    let payer = world
        .person(cmd.payer)
        .ok_or_else(|| CommandError::invalid("payer", format!("no person {}", cmd.payer)))?;
    let start = cmd.start_date;

    // SUB-THIRD-PARTY (§3.1, §4.14.2): never online.
    if cmd.third_party_payer && channel == Channel::Online {
        return Err(req.refuse(
            RuleId::SubThirdParty,
            "a contract financed by a third-party payer cannot be subscribed online; \
             subscribe at an agency or by mail",
        ));
    }
    // SUB-FIRST-PAYMENT: a first payment is collected at subscription for cash
    // or at an agency only; a remote direct debit pays its first month and the
    // dossier fee with the first debit, so a means given for it would be
    // dropped without a word.
    if cmd.first_payment_means.is_some() && cmd.payment.is_direct_debit() && channel.is_remote() {
        return Err(CommandError::invalid(
            "first_payment_means",
            format!(
                "a direct-debit subscription by {channel} collects no first payment (the first \
                 month and the dossier fee are on the first debit, SUB-FIRST-PAYMENT); remove \
                 first_payment_means, or subscribe at an agency"
            ),
        ));
    }
    // SUB-PRODUCT: the catalogue says when a product exists.
    if !world.catalogue.product_exists(cmd.product.key(), start) {
        return Err(req.refuse(
            RuleId::SubProduct,
            format!(
                "product {} is not in the tariff catalogue on {start}; choose a product \
                 the catalogue prices on the start date",
                cmd.product
            ),
        ));
    }
    // SUB-SENIOR (§2.2, §3.2.1): age, activity, zones 1-5, direct debit, agency.
    if cmd.product == Product::Senior {
        let age = age_on(holder.birth_date, start);
        if age < SENIOR_AGE_MIN {
            return Err(req.refuse(
                RuleId::SubSenior,
                format!(
                    "the Senior holder must be {SENIOR_AGE_MIN} or older on the start date; \
                     aged {age} on {start} (62 on {})",
                    add_months(holder.birth_date, 12 * SENIOR_AGE_MIN)
                ),
            ));
        }
        match &cmd.senior_declaration {
            None => {
                return Err(req.refuse(
                    RuleId::SubSenior,
                    "a Senior subscription needs the activity declaration (no activity, or \
                     below 17.5 h/week, 75.5 h/month or 803.5 h/year)",
                ))
            }
            Some(d) if !senior_declaration_ok(d) => {
                return Err(req.refuse(
                    RuleId::SubSenior,
                    format!(
                        "the declared activity {d} is not below half-time; Senior requires \
                         below 17.5 h/week, 75.5 h/month or 803.5 h/year"
                    ),
                ))
            }
            Some(_) => {}
        }
        if !cmd.payment.is_direct_debit() {
            return Err(req.refuse(
                RuleId::SubSenior,
                "a Senior contract is paid by monthly direct debit only; choose direct debit",
            ));
        }
        if channel != Channel::Agency {
            return Err(req.refuse(
                RuleId::SubSenior,
                format!(
                    "new Senior contracts are opened at an agency only; requested by {channel}"
                ),
            ));
        }
    }
    // SUB-WINDOW (§3.1; CGU-2011 §1.4). Decision: email and phone, which RULES.md
    // does not list, follow the remote rule of online and mail (start on the 1st,
    // request 60 to 15 days before).
    let book = req.rulebook;
    if channel.is_remote() {
        let earliest = start - Duration::days(i64::from(book.sub_window_days_max));
        let latest = start - Duration::days(i64::from(book.sub_window_days_min));
        if start.day() != 1 {
            return Err(req.refuse(
                RuleId::SubWindow,
                format!(
                    "{} subscription starts on the 1st of a month; asked for {start}",
                    with_article(channel_name(channel))
                ),
            ));
        }
        if req.date < earliest || req.date > latest {
            return Err(req.refuse(
                RuleId::SubWindow,
                format!(
                    "{} subscription starting {start} must be requested between {earliest} \
                     and {latest}; requested {}",
                    with_article(channel_name(channel)),
                    req.date
                ),
            ));
        }
    } else if start < req.date {
        return Err(req.refuse(
            RuleId::SubWindow,
            format!(
                "an agency subscription starts on the request date or later; asked for {start}, \
                 requested {}",
                req.date
            ),
        ));
    }
    // SUB-AGE (§4.1).
    let holder_age = age_on(holder.birth_date, start);
    if holder_age < HOLDER_AGE_MIN {
        return Err(req.refuse(
            RuleId::SubAge,
            format!(
                "the holder must be at least {HOLDER_AGE_MIN} on the start date; aged {holder_age} \
                 on {start}; start on or after {}",
                add_months(holder.birth_date, 12 * HOLDER_AGE_MIN)
            ),
        ));
    }
    let payer_age = age_on(payer.birth_date, start);
    let emancipated = payer.emancipation_proof.is_some() && payer_age >= EMANCIPATED_PAYER_AGE_MIN;
    if payer_age < PAYER_AGE_MIN && !emancipated {
        return Err(req.refuse(
            RuleId::SubAge,
            format!(
                "the payer must be at least {PAYER_AGE_MIN}, or at least \
                 {EMANCIPATED_PAYER_AGE_MIN} and emancipated with proof; aged {payer_age} on {start}"
            ),
        ));
    }
    // SUB-ONE-ACTIVE (§4.14.11): another contract of the holder still in force (or
    // in force on the start date) blocks a new one.
    if let Some(other) = world.contracts_of_holder(cmd.holder).find(|c| {
        c.current_status() == Status::Active || c.status_on(start) == Some(Status::Active)
    }) {
        return Err(req.refuse(
            RuleId::SubOneActive,
            format!(
                "holder {} already has contract {} in force; suspend or terminate it first",
                cmd.holder, other.id
            ),
        ));
    }
    // SUB-BANNED-PAYER / SUB-BANNED-HOLDER (§4.4, §12.2.4), judged on the request date.
    if let Some(refusal) = payer_banned(world, cmd.payer, req.date) {
        return Err(refusal);
    }
    if let Some(refusal) = holder_banned(world, cmd.holder, req.date) {
        return Err(refusal);
    }

    let r = remaining_days(start);
    let mut events = vec![req.event(
        ctx,
        start,
        Event::ContractSubscribed(ContractSubscribed {
            holder: cmd.holder,
            payer: cmd.payer,
            product: cmd.product,
            channel,
            payment: cmd.payment.clone(),
            third_party_payer: cmd.third_party_payer,
            senior_declaration: cmd.senior_declaration,
            support: cmd.support,
            rulebook: book.id.to_owned(),
            remaining_days: r,
            first_free_month: first_free_month(book, cmd.product, start),
        }),
    )];
    // SUB-FIRST-PAYMENT (§3.1) and TAR-DOSSIER-FEE (§4.6): agency direct debit pays
    // the first month plus the fee at the agency; cash pays the annual price plus
    // the fee at once; remote direct debit pays both on the first debit (billing).
    let means = cmd.first_payment_means.unwrap_or(match channel {
        Channel::Online => PaymentMeans::CardOnline,
        Channel::Mail => PaymentMeans::Cheque,
        _ => PaymentMeans::Card,
    });
    let m = YearMonth::of(start);
    let first = match &cmd.payment {
        PaymentSetup::Cash => {
            let tariff = world
                .catalogue
                .annual_price(cmd.product.key(), start)
                .ok_or_else(|| req.refuse(RuleId::SubProduct, "no price on the start date"))?;
            let annual = tariff.annual;
            Some(FirstPaymentCollected {
                amount: annual,
                dossier_fee: ctx.policy.dossier_fee,
                means,
                covers_from: m,
                covers_until: m.plus(CASH_PERIOD_MONTHS as i32 - 1),
                lines: vec![ChargeLine {
                    kind: ChargeKind::CashAnnual,
                    amount: annual,
                    days: None,
                    month: m,
                    tariff: Some(tariff),
                }],
            })
        }
        PaymentSetup::DirectDebit { .. } if channel == Channel::Agency => {
            let first = world
                .catalogue
                .first_month_amount(cmd.product, start, start)
                .ok_or_else(|| req.refuse(RuleId::SubProduct, "no price on the start date"))?;
            let (kind, amount, days, tariff) = (first.kind, first.amount, first.days, first.tariff);
            Some(FirstPaymentCollected {
                amount,
                dossier_fee: ctx.policy.dossier_fee,
                means,
                covers_from: m,
                covers_until: m,
                lines: vec![ChargeLine {
                    kind,
                    amount,
                    days,
                    month: m,
                    tariff: Some(tariff),
                }],
            })
        }
        PaymentSetup::DirectDebit { .. } => None,
    };
    if let Some(p) = first {
        events.push(req.event(ctx, req.date, Event::FirstPaymentCollected(p)));
    }
    Ok(vec![Decision::new(world, stream, events)])
}

fn with_article(name: &str) -> String {
    if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {name}")
    } else {
        format!("a {name}")
    }
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Online => "online",
        Channel::Agency => "agency",
        Channel::Mail => "mail",
        Channel::Email => "email",
        Channel::Phone => "phone",
    }
}

/// The dossier fee as a charge line on the first debit of a remote subscription
/// (`TAR-DOSSIER-FEE`, `SUB-FIRST-PAYMENT`).
pub fn dossier_fee_line(fee: Money, month: YearMonth) -> ChargeLine {
    ChargeLine {
        kind: ChargeKind::DossierFee,
        amount: fee,
        days: None,
        month,
        tariff: None,
    }
}
