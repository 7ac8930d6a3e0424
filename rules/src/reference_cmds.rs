//! Reference data commands: tariffs, school holidays, reason codes, campaigns
//! (`TAR-CATALOGUE`, RULES.md §10).

use navigo_events_schema::command::PublishCampaign;
use navigo_events_schema::event::{ReasonCodesPublished, SchoolHolidaysPublished, TariffPublished};
use navigo_events_schema::{Event, StreamId};

use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// Publishes a tariff on the catalogue stream (`TAR-CATALOGUE`).
///
/// # Errors
/// A tariff with no price, or a non-positive price.
pub fn publish_tariff(
    world: &World,
    req: &Request<'_>,
    cmd: &TariffPublished,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    if cmd.prices.is_empty() {
        return Err(CommandError::invalid(
            "prices",
            "a tariff lists at least one price",
        ));
    }
    if let Some(p) = cmd.prices.iter().find(|p| !p.annual.is_positive()) {
        return Err(CommandError::invalid(
            "prices",
            format!(
                "the annual price of {} must be positive, got {}",
                p.product, p.annual
            ),
        ));
    }
    let e = req.event(ctx, cmd.effective_from, Event::TariffPublished(cmd.clone()));
    Ok(vec![decision(world, StreamId::catalogue(), vec![e])])
}

/// Publishes zone C school holidays (`USE-DEZONAGE`).
///
/// # Errors
/// A period whose classes resume before they end.
pub fn publish_school_holidays(
    world: &World,
    req: &Request<'_>,
    cmd: &SchoolHolidaysPublished,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    if let Some(p) = cmd
        .periods
        .iter()
        .find(|p| p.classes_resume <= p.classes_end)
    {
        return Err(CommandError::invalid(
            "periods",
            format!(
                "{}: classes resume {} before they end {}",
                p.name, p.classes_resume, p.classes_end
            ),
        ));
    }
    let e = req.event(ctx, req.date, Event::SchoolHolidaysPublished(cmd.clone()));
    Ok(vec![decision(world, StreamId::catalogue(), vec![e])])
}

/// Publishes reject reason codes (`TAR-REJECT-FEE`).
///
/// # Errors
/// An empty list.
pub fn publish_reason_codes(
    world: &World,
    req: &Request<'_>,
    cmd: &ReasonCodesPublished,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    if cmd.codes.is_empty() {
        return Err(CommandError::invalid("codes", "at least one reason code"));
    }
    let e = req.event(ctx, req.date, Event::ReasonCodesPublished(cmd.clone()));
    Ok(vec![decision(world, StreamId::catalogue(), vec![e])])
}

/// Publishes a punctuality campaign on its own stream (RULES.md §10).
///
/// # Errors
/// A campaign already published, or windows out of order.
pub fn publish_campaign(
    world: &World,
    req: &Request<'_>,
    cmd: &PublishCampaign,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = &cmd.campaign;
    if world.campaigns.contains_key(&cmd.campaign_id) {
        return Err(CommandError::invalid(
            "campaign_id",
            format!("campaign {} is already published", cmd.campaign_id),
        ));
    }
    if !(c.filing_from <= c.filing_until && c.filing_until <= c.claims_until) {
        return Err(CommandError::invalid(
            "campaign",
            "filing_from <= filing_until <= claims_until",
        ));
    }
    let e = req.event(ctx, req.date, Event::CampaignPublished(c.clone()));
    Ok(vec![decision(
        world,
        StreamId::campaign(cmd.campaign_id),
        vec![e],
    )])
}
