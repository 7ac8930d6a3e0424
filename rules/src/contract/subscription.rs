//! Subscription (`SUB-*`, `TAR-DOSSIER-FEE`, `SUB-FIRST-PAYMENT`, `PAY-FREE-MONTH`).

use chrono::{Datelike, Duration};
use navigo_events_schema::command::Subscribe;
use navigo_events_schema::event::{
    ChargeKind, ChargeLine, ContractSubscribed, FirstPaymentCollected, PaymentMeans,
};
use navigo_events_schema::types::{Channel, PaymentRequest, Product};
use navigo_events_schema::{Event, RuleId, StreamId, YearMonth};

use super::charges::first_free_month;
use super::guards::{self, holder_banned, payer_banned, senior_declaration_ok, SENIOR_AGE_MIN};
use super::state::Status;
use super::timing;
use crate::calendar::{age_on, date_of_age, remaining_days};
use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::{PersonState, World};

/// `SUB-AGE`: minimum age of the holder on the start date.
pub const HOLDER_AGE_MIN: u32 = 16;

/// Subscribes a contract: the guards of the request (its parties, channel,
/// product, window, ages, other contracts and bans), then the subscription
/// event, then what is paid at once ([`first_payment`]).
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
    check_channel(req, cmd, channel)?;
    check_product(world, req, cmd, holder, channel)?;
    check_window(req, cmd, channel)?;
    check_parties(world, req, cmd, holder, payer)?;
    let book = req.rulebook;
    let start = cmd.start_date;
    let mut events = vec![req.event(
        ctx,
        start,
        Event::ContractSubscribed(ContractSubscribed {
            holder: cmd.holder,
            payer: cmd.payer,
            product: cmd.product,
            channel,
            payment: cmd.payment.to_setup(cmd.payer),
            third_party_payer: cmd.third_party_payer,
            senior_declaration: cmd.senior_declaration,
            support: cmd.support,
            rulebook: book.id.to_owned(),
            remaining_days: remaining_days(start),
            first_free_month: first_free_month(book, cmd.product, start),
        }),
    )];
    if let Some(p) = first_payment(world, req, cmd, channel, ctx)? {
        events.push(req.event(ctx, req.date, Event::FirstPaymentCollected(p)));
    }
    Ok(vec![decision(world, stream, events)])
}

/// `SUB-THIRD-PARTY` and `SUB-FIRST-PAYMENT`: what the channel allows.
fn check_channel(req: &Request<'_>, cmd: &Subscribe, channel: Channel) -> Result<(), CommandError> {
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
    Ok(())
}

/// `SUB-PRODUCT` and `SUB-SENIOR`: the product exists on the start date, and a
/// Senior contract meets its conditions.
fn check_product(
    world: &World,
    req: &Request<'_>,
    cmd: &Subscribe,
    holder: &PersonState,
    channel: Channel,
) -> Result<(), CommandError> {
    let start = cmd.start_date;
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
    if cmd.product == Product::Senior {
        check_senior(req, cmd, holder, channel)?;
    }
    Ok(())
}

/// `SUB-SENIOR` (§2.2, §3.2.1): age, activity, zones 1-5, direct debit, agency.
fn check_senior(
    req: &Request<'_>,
    cmd: &Subscribe,
    holder: &PersonState,
    channel: Channel,
) -> Result<(), CommandError> {
    let start = cmd.start_date;
    let age = age_on(holder.birth_date, start);
    if age < SENIOR_AGE_MIN {
        return Err(req.refuse(
            RuleId::SubSenior,
            format!(
                "the Senior holder must be {SENIOR_AGE_MIN} or older on the start date; \
                 aged {age} on {start} (62 on {})",
                date_of_age(holder.birth_date, SENIOR_AGE_MIN)
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
            format!("new Senior contracts are opened at an agency only; requested by {channel}"),
        ));
    }
    Ok(())
}

/// `SUB-WINDOW` (§3.1; CGU-2011 §1.4). Decision: email and phone, which RULES.md
/// does not list, follow the remote rule of online and mail (start on the 1st,
/// request 60 to 15 days before).
fn check_window(req: &Request<'_>, cmd: &Subscribe, channel: Channel) -> Result<(), CommandError> {
    let start = cmd.start_date;
    let book = req.rulebook;
    if !channel.is_remote() {
        if start < req.date {
            return Err(req.refuse(
                RuleId::SubWindow,
                format!(
                    "an agency subscription starts on the request date or later; asked for \
                     {start}, requested {}",
                    req.date
                ),
            ));
        }
        return Ok(());
    }
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
    Ok(())
}

/// `SUB-AGE`, the payer's age, `SUB-ONE-ACTIVE`, `SUB-BANNED-PAYER` and
/// `SUB-BANNED-HOLDER`: who may hold and pay.
fn check_parties(
    world: &World,
    req: &Request<'_>,
    cmd: &Subscribe,
    holder: &PersonState,
    payer: &PersonState,
) -> Result<(), CommandError> {
    let start = cmd.start_date;
    // SUB-AGE (§4.1).
    let holder_age = age_on(holder.birth_date, start);
    if holder_age < HOLDER_AGE_MIN {
        return Err(req.refuse(
            RuleId::SubAge,
            format!(
                "the holder must be at least {HOLDER_AGE_MIN} on the start date; aged {holder_age} \
                 on {start}; start on or after {}",
                date_of_age(holder.birth_date, HOLDER_AGE_MIN)
            ),
        ));
    }
    guards::check_payer_age(req, payer, start)?;
    if let PaymentRequest::DirectDebit { mandate, .. } = &cmd.payment {
        guards::check_mandate_signed(req, Some(mandate), "payment.mandate.signed_on")?;
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
    Ok(())
}

/// SUB-FIRST-PAYMENT (§3.1) and TAR-DOSSIER-FEE (§4.6): agency direct debit pays
/// the first month plus the fee at the agency; cash pays the annual price plus
/// the fee at once; remote direct debit pays both on the first debit (billing),
/// so nothing here.
///
/// # Errors
/// `SUB-PRODUCT` when the catalogue has no price on the start date.
fn first_payment(
    world: &World,
    req: &Request<'_>,
    cmd: &Subscribe,
    channel: Channel,
    ctx: &Context<'_>,
) -> Result<Option<FirstPaymentCollected>, CommandError> {
    let start = cmd.start_date;
    let means = cmd.first_payment_means.unwrap_or(match channel {
        Channel::Online => PaymentMeans::CardOnline,
        Channel::Mail => PaymentMeans::Cheque,
        _ => PaymentMeans::Card,
    });
    let m = YearMonth::of(start);
    let no_price = || req.refuse(RuleId::SubProduct, "no price on the start date");
    Ok(match &cmd.payment {
        PaymentRequest::Cash => {
            let tariff = world
                .catalogue
                .annual_price(cmd.product.key(), start)
                .ok_or_else(no_price)?;
            let annual = tariff.annual;
            Some(FirstPaymentCollected {
                amount: annual,
                dossier_fee: ctx.policy.dossier_fee,
                means,
                covers_from: m,
                covers_until: timing::cash_period_last_month(m),
                lines: vec![ChargeLine {
                    kind: ChargeKind::CashAnnual,
                    amount: annual,
                    days: None,
                    month: m,
                    tariff: Some(tariff),
                }],
            })
        }
        PaymentRequest::DirectDebit { .. } if channel == Channel::Agency => {
            let first = world
                .catalogue
                .first_month_amount(cmd.product, start, start)
                .ok_or_else(no_price)?;
            Some(FirstPaymentCollected {
                amount: first.amount,
                dossier_fee: ctx.policy.dossier_fee,
                means,
                covers_from: m,
                covers_until: m,
                lines: vec![first.line(m)],
            })
        }
        PaymentRequest::DirectDebit { .. } => None,
    })
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
