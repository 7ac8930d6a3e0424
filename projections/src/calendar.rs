//! The debit calendar of a contract: one row per month from its start to a
//! horizon (by default [`Policy::calendar_horizon_months`] after the month of
//! `at`; at most [`CALENDAR_HORIZON_MONTHS_MAX`], a horizon beyond it is refused),
//! with the debit date, the amount and its composition, the tariff entry
//! used with its mark, and the status on `at`. Cash contracts show their coverage,
//! the renewal notice date and the renewal deadlines by channel (`PAY-CASH`).
//!
//! Recorded debits are read from their `DebitPresented` events; months not debited
//! yet are what the billing clock would emit ([`billing::advance_to`] on a scratch
//! copy of the contract's world, from the state as known): the projection never
//! composes a debit itself.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use navigo_core::billing::{self, owed_month};
use navigo_core::calendar::paris_start_of_day;
use navigo_core::contract::state::{ContractState, Status};
use navigo_core::contract::subscription::dossier_fee_line;
use navigo_core::engine::{Context, IdGen};
use navigo_core::world::World;
use navigo_core::Policy;
use navigo_events_schema::event::{ChargeKind, ChargeLine, DebitPresented, RefundReason};
use navigo_events_schema::types::{Channel, PaymentSetup};
use navigo_events_schema::views::{
    CalendarRow, CashCoverage, DebitCalendar, DebitStatus, RenewalDeadline,
};
use navigo_events_schema::{Envelope, Event, Money, StreamId, StreamKind, YearMonth};
use uuid::Uuid;

use crate::{effective_by, fold_states, known_events, ProjectionError, Query};

/// Days after its debit date a debit shows as `presented` rather than `collected`:
/// the time a bank's rejection usually takes to arrive. Decision: RULES.md does not
/// say when a presented debit counts as collected; a `DebitRejected` recorded later
/// still turns the row to `rejected`.
pub const DEBIT_REJECTION_WINDOW_DAYS: i64 = 5;

/// Most months a calendar shows, from the contract's start to its horizon (a
/// named bound on its length, 100 years): a calendar read so far from the start
/// that it would be longer is refused ([`ProjectionError::CalendarTooLong`]),
/// never cut short.
pub const CALENDAR_MONTHS_MAX: i32 = 1_200;

/// Most months after the month read a calendar may forecast (`--horizon`, the
/// HTTP `horizon`). Decision: ten years; RULES.md sets no bound, and beyond ten
/// years a tariff or a rulebook change is likelier than the forecast.
pub const CALENDAR_HORIZON_MONTHS_MAX: u32 = 120;

/// Why a horizon is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HorizonError {
    /// Not a whole number of months.
    #[error(
        "horizon {0:?} is not a number of months: give a whole number from 0 to \
         {CALENDAR_HORIZON_MONTHS_MAX} (CALENDAR_HORIZON_MONTHS_MAX)"
    )]
    NotANumber(String),
    /// More months than [`CALENDAR_HORIZON_MONTHS_MAX`].
    #[error(
        "horizon {0} months is beyond the bound: a calendar forecasts at most \
         {CALENDAR_HORIZON_MONTHS_MAX} months after the month read \
         (CALENDAR_HORIZON_MONTHS_MAX); ask for {CALENDAR_HORIZON_MONTHS_MAX} or fewer"
    )]
    BeyondBound(u64),
}

/// The months after the month read a calendar shows: at most
/// [`CALENDAR_HORIZON_MONTHS_MAX`], built only by [`Horizon::new`] or parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon(u32);

impl Horizon {
    /// A horizon of `months` months.
    ///
    /// # Errors
    /// [`HorizonError::BeyondBound`] above [`CALENDAR_HORIZON_MONTHS_MAX`].
    pub fn new(months: u32) -> Result<Horizon, HorizonError> {
        if months > CALENDAR_HORIZON_MONTHS_MAX {
            return Err(HorizonError::BeyondBound(u64::from(months)));
        }
        Ok(Horizon(months))
    }

    /// The number of months.
    pub fn months(self) -> u32 {
        self.0
    }
}

impl std::str::FromStr for Horizon {
    type Err = HorizonError;

    fn from_str(s: &str) -> Result<Horizon, HorizonError> {
        let t = s.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HorizonError::NotANumber(s.to_owned()));
        }
        // Only digits: a parse failure is a number too large for u64, itself
        // beyond the bound.
        let months: u64 = t.parse().unwrap_or(u64::MAX);
        match u32::try_from(months) {
            Ok(m) => Horizon::new(m),
            Err(_) => Err(HorizonError::BeyondBound(months)),
        }
    }
}

/// The envelopes of the calendar's world: the contract's stream and the catalogue.
fn slice<'a>(known: &[&'a Envelope], contract: Uuid) -> Vec<&'a Envelope> {
    let stream = StreamId::contract(contract);
    known
        .iter()
        .copied()
        .filter(|e| e.stream == stream || e.stream.kind == StreamKind::Catalogue)
        .collect()
}

/// The debit calendar of a contract over `events` (its stream and the catalogue
/// at least), through `horizon` months after the month of `q.at`
/// (default: [`Policy::calendar_horizon_months`]).
///
/// # Errors
/// [`ProjectionError::UnknownContract`]; [`ProjectionError::Horizon`] when the
/// policy's default horizon is beyond [`CALENDAR_HORIZON_MONTHS_MAX`];
/// [`ProjectionError::CalendarTooLong`].
pub fn calendar(
    events: &[Envelope],
    contract: Uuid,
    q: &Query,
    policy: &Policy,
    horizon: Option<Horizon>,
) -> Result<DebitCalendar, ProjectionError> {
    let known = slice(&known_events(events, q.known_at), contract);
    let at = effective_by(&known, q.at);
    // The calendar reads the states, and the contract's known events from
    // `known` itself (the history a full fold would keep holds exactly them, in
    // the same order): the worlds are folded without a history.
    let known_world = fold_states(&known);
    let stream = StreamId::contract(contract);
    let contract_events = known.iter().copied().filter(|e| e.stream == stream);
    let folded_at;
    let at_world = if at.len() == known.len() {
        // Everything known is effective by `at` (the usual "now"): one fold.
        &known_world
    } else {
        folded_at = fold_states(&at);
        &folded_at
    };
    calendar_of(
        &known_world,
        at_world,
        contract_events,
        contract,
        q,
        policy,
        horizon,
    )
}

fn debits_recorded<'a>(
    events: impl Iterator<Item = &'a Envelope>,
) -> Vec<(NaiveDate, &'a DebitPresented)> {
    events
        .filter_map(|e| match &e.event {
            Event::DebitPresented(d) => Some((e.effective_date, d)),
            _ => None,
        })
        .collect()
}

fn first_payment_lines<'a>(
    events: impl Iterator<Item = &'a Envelope>,
) -> Vec<(NaiveDate, ChargeLine)> {
    let mut out = Vec::new();
    for e in events {
        if let Event::FirstPaymentCollected(p) = &e.event {
            let first = p.lines.first().map(|l| l.month);
            for l in &p.lines {
                out.push((e.effective_date, l.clone()));
            }
            if let (Some(m), true) = (first, p.dossier_fee.is_positive()) {
                out.push((e.effective_date, dossier_fee_line(p.dossier_fee, m)));
            }
        }
    }
    out
}

/// The status of a recorded debit on `at`.
fn recorded_status(
    date: NaiveDate,
    d: &DebitPresented,
    known: &ContractState,
    at_state: Option<&ContractState>,
    at: NaiveDate,
) -> DebitStatus {
    if date > at {
        return DebitStatus::Scheduled;
    }
    let rejected = known
        .rejections
        .iter()
        .any(|r| r.month == d.month && r.date <= at);
    if rejected {
        // Decision: a rejected debit counts as settled once the contract owes
        // nothing on `at` (a settlement pays the whole debt, `PAY-REJECT`).
        let debt = at_state.map_or(Money::ZERO, |c| c.money.debt());
        return if debt.is_positive() {
            DebitStatus::Rejected
        } else {
            DebitStatus::Settled
        };
    }
    if d.due < d.amount {
        let refunded = at_state.is_some_and(|c| {
            c.refunds
                .values()
                .any(|r| r.reason == RefundReason::DebitAfterCutoff && r.date == date && r.paid)
        });
        if refunded {
            return DebitStatus::Refunded;
        }
    }
    if at < date + Duration::days(DEBIT_REJECTION_WINDOW_DAYS) {
        DebitStatus::Presented
    } else {
        DebitStatus::Collected
    }
}

fn dated(date: NaiveDate, at: NaiveDate) -> DebitStatus {
    if date > at {
        DebitStatus::Scheduled
    } else {
        DebitStatus::Collected
    }
}

/// The calendar from the two folds of the contract's world (known, and effective
/// by `at`).
///
/// # Errors
/// As [`calendar`].
pub fn calendar_in(
    known_world: &World,
    at_world: &World,
    contract: Uuid,
    q: &Query,
    policy: &Policy,
    horizon: Option<Horizon>,
) -> Result<DebitCalendar, ProjectionError> {
    let history = known_world
        .history
        .get(&StreamId::contract(contract))
        .into_iter()
        .flatten();
    calendar_of(known_world, at_world, history, contract, q, policy, horizon)
}

/// The calendar from the two folds of the contract's world (known, and effective
/// by `at`) folded without a history ([`crate::fold_states`]), and the contract's
/// known events in position order (what the known world's history of the
/// contract's stream would hold). For a caller that has the events at hand (the
/// rebuild, from its index): folding without the history spares a copy of every
/// envelope.
///
/// # Errors
/// As [`calendar`].
pub fn calendar_with_events(
    known_world: &World,
    at_world: &World,
    contract_events: &[&Envelope],
    contract: Uuid,
    q: &Query,
    policy: &Policy,
    horizon: Option<Horizon>,
) -> Result<DebitCalendar, ProjectionError> {
    calendar_of(
        known_world,
        at_world,
        contract_events.iter().copied(),
        contract,
        q,
        policy,
        horizon,
    )
}

/// The calendar from the two folds and the contract's known events, in order.
fn calendar_of<'a>(
    known_world: &World,
    at_world: &World,
    contract_events: impl Iterator<Item = &'a Envelope> + Clone,
    contract: Uuid,
    q: &Query,
    policy: &Policy,
    horizon: Option<Horizon>,
) -> Result<DebitCalendar, ProjectionError> {
    let c = known_world
        .contract(contract)
        .ok_or(ProjectionError::UnknownContract(contract))?;
    let c_at = at_world.contract(contract);
    let horizon = match horizon {
        Some(h) => h,
        None => Horizon::new(policy.calendar_horizon_months)?,
    };
    // At most CALENDAR_HORIZON_MONTHS_MAX, far below i32::MAX.
    let months = i32::try_from(horizon.months()).unwrap_or(i32::MAX);
    let horizon = YearMonth::of(q.at).plus(months);
    let first_month = YearMonth::of(c.start_date);
    let months_shown = first_month.months_until(horizon).saturating_add(1);
    if months_shown > CALENDAR_MONTHS_MAX {
        return Err(ProjectionError::CalendarTooLong {
            from: first_month,
            through: horizon,
        });
    }
    // The forecast: what the billing clock would emit through the horizon, on a
    // scratch copy. The instant only stamps the scratch ids.
    let stamp: DateTime<Utc> = paris_start_of_day(q.at);
    let mut ids = IdGen::new(0);
    let mut ctx = Context {
        policy,
        ids: &mut ids,
    };
    let (decisions, forecast_world) =
        billing::forecast(known_world, horizon.last_day(), stamp, &mut ctx);
    // Only this contract's debits: the world may hold other contracts (a
    // whole-log fold), whose forecast debits must not fill this calendar's rows.
    let stream = StreamId::contract(contract);
    let mut forecast = Vec::with_capacity(decisions.len());
    for dec in decisions.iter().filter(|d| d.stream == stream) {
        for e in &dec.events {
            if let Event::DebitPresented(d) = &e.event {
                forecast.push((e.effective_date, d));
            }
        }
    }
    let fc = forecast_world.contract(contract).unwrap_or(c);
    let recorded = debits_recorded(contract_events.clone());
    let first = first_payment_lines(contract_events);
    let mut rows = Vec::with_capacity(usize::try_from(months_shown.max(0)).unwrap_or(0));
    let mut m = first_month;
    while m <= horizon {
        rows.push(row(
            known_world,
            c,
            c_at,
            fc,
            m,
            q.at,
            &recorded,
            &first,
            &forecast,
        ));
        m = m.plus(1);
    }
    Ok(DebitCalendar {
        contract,
        as_of: q.as_of(),
        horizon,
        rows,
        cash: cash_coverage(c_at.unwrap_or(c), q.at, policy),
    })
}

#[allow(clippy::too_many_arguments)]
fn row(
    world: &World,
    c: &ContractState,
    c_at: Option<&ContractState>,
    fc: &ContractState,
    m: YearMonth,
    at: NaiveDate,
    recorded: &[(NaiveDate, &DebitPresented)],
    first: &[(NaiveDate, ChargeLine)],
    forecast: &[(NaiveDate, &DebitPresented)],
) -> CalendarRow {
    if let Some((date, d)) = recorded.iter().rev().find(|(_, d)| d.month == m) {
        return CalendarRow {
            month: m,
            debit_date: Some(*date),
            amount: d.amount,
            lines: d.lines.clone(),
            status: recorded_status(*date, d, c, c_at, at),
            recorded: true,
        };
    }
    let paid_first: Vec<&(NaiveDate, ChargeLine)> =
        first.iter().filter(|(_, l)| l.month == m).collect();
    if let Some((date, _)) = paid_first.first() {
        // SUB-FIRST-PAYMENT: the first month paid at the agency (or in cash).
        return CalendarRow {
            month: m,
            debit_date: Some(*date),
            amount: paid_first.iter().map(|(_, l)| l.amount).sum(),
            lines: paid_first.iter().map(|(_, l)| l.clone()).collect(),
            status: dated(*date, at),
            recorded: true,
        };
    }
    if let Some((date, d)) = forecast.iter().find(|(_, d)| d.month == m) {
        return CalendarRow {
            month: m,
            debit_date: Some(*date),
            amount: d.amount,
            lines: d.lines.clone(),
            status: DebitStatus::Scheduled,
            recorded: false,
        };
    }
    let none = |status| CalendarRow {
        month: m,
        debit_date: None,
        amount: Money::ZERO,
        lines: Vec::new(),
        status,
        recorded: false,
    };
    let status_none = |s: Option<Status>| match s {
        Some(Status::Terminated { .. }) => DebitStatus::NoneTerminated,
        Some(Status::Suspended { .. }) => DebitStatus::NoneSuspended,
        // Active again later in the month but not billed: shown as suspended.
        _ => DebitStatus::NoneSuspended,
    };
    let Some(period) = fc.period_covering(m) else {
        return none(status_none(fc.status_on(m.last_day())));
    };
    if matches!(fc.payment_at(m), Some(PaymentSetup::Cash)) {
        // PAY-CASH: a month covered by a cash payment has no debit. Decision: it
        // shows as collected once begun, scheduled before.
        return none(dated(m.first_day(), at));
    }
    if let Some(charge) = owed_month(world, fc, m) {
        if charge.kind == ChargeKind::FreeMonth {
            // PAY-FREE-MONTH: nothing is debited. Decision: the row shows the free
            // line, collected once its debit date is past, scheduled before.
            let date = fc.debit_date(m);
            return CalendarRow {
                month: m,
                debit_date: Some(date),
                amount: Money::ZERO,
                lines: vec![ChargeLine {
                    kind: ChargeKind::FreeMonth,
                    amount: Money::ZERO,
                    days: None,
                    month: m,
                    tariff: None,
                }],
                status: dated(date, at),
                recorded: false,
            };
        }
    }
    if period.billing_stops_from.is_some_and(|s| m >= s) {
        return none(status_none(fc.status_on(m.last_day())));
    }
    // PAY-CUTOFF: no debit of the month's own, its installment a line of a
    // later debit (recorded, or forecast): the row names that debit's date.
    let carrier = recorded
        .iter()
        .map(|(date, d)| (date, d, true))
        .chain(forecast.iter().map(|(date, d)| (date, d, false)))
        .find(|(_, d, _)| d.month > m && d.lines.iter().any(|l| l.month == m));
    if let Some((date, _, recorded)) = carrier {
        return CalendarRow {
            month: m,
            debit_date: Some(*date),
            amount: Money::ZERO,
            lines: Vec::new(),
            status: DebitStatus::Carried,
            recorded,
        };
    }
    // In force and not debited by the clock within the horizon (no mandate, no
    // tariff for the date): scheduled, with nothing composed.
    none(DebitStatus::Scheduled)
}

/// `PAY-CASH`: the cash coverage of a contract paid in cash on `at`, with its
/// renewal notice date (45 days before the end) and the renewal deadlines: online,
/// agency and phone until the day before the end; a mailed cheque received at
/// least 20 days before the end (§4.13.4).
fn cash_coverage(c: &ContractState, at: NaiveDate, policy: &Policy) -> Option<CashCoverage> {
    if !matches!(c.payment_at(YearMonth::of(at)), Some(PaymentSetup::Cash)) {
        return None;
    }
    let until = c.cash_paid_until?;
    let end = until.succ_opt()?;
    let from = end
        .checked_sub_months(chrono::Months::new(12))?
        .max(c.start_date);
    let notice = end - Duration::days(i64::from(policy.cash_notice_days_before));
    let cheque = end - Duration::days(i64::from(policy.cash_cheque_days_before));
    Some(CashCoverage {
        from,
        until,
        renewal_notice_date: notice,
        renewal_notice_sent: c.renewal_notices.contains(&until),
        deadlines: vec![
            RenewalDeadline {
                channel: Channel::Online,
                last_day: until,
            },
            RenewalDeadline {
                channel: Channel::Agency,
                last_day: until,
            },
            RenewalDeadline {
                channel: Channel::Phone,
                last_day: until,
            },
            RenewalDeadline {
                channel: Channel::Mail,
                last_day: cheque,
            },
        ],
    })
}
