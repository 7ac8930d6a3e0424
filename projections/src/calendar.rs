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
use navigo_events_schema::event::{ChargeKind, ChargeLine, DebitPresented, RefundReason};
use navigo_events_schema::types::{Channel, PaymentSetup};
use navigo_events_schema::views::{
    CalendarRow, CashCoverage, DebitCalendar, DebitStatus, RenewalDeadline,
};
use navigo_events_schema::{Envelope, Event, Money, StreamId, YearMonth};
use navigo_rules::billing;
use navigo_rules::calendar::paris_start_of_day;
use navigo_rules::contract::charges::{dossier_fee_line, owed_month};
use navigo_rules::contract::state::{ContractState, Status};
use navigo_rules::decision::{Context, Decision};
use navigo_rules::ids::IdGen;
use navigo_rules::world::World;
use navigo_rules::Policy;
use uuid::Uuid;

use crate::{Folded, ProjectionError};

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

/// The debit calendar of a contract (the input holding its stream and the
/// catalogue at least), through `horizon` months after the month of `at`
/// (default: [`Policy::calendar_horizon_months`]).
///
/// # Errors
/// [`ProjectionError::UnknownContract`]; [`ProjectionError::Horizon`] when the
/// policy's default horizon is beyond [`CALENDAR_HORIZON_MONTHS_MAX`];
/// [`ProjectionError::CalendarTooLong`].
pub fn calendar(
    input: &Folded<'_>,
    contract: Uuid,
    policy: &Policy,
    horizon: Option<Horizon>,
) -> Result<DebitCalendar, ProjectionError> {
    let q = input.query();
    let known_world = input.known();
    let c = known_world
        .contract(contract)
        .ok_or(ProjectionError::UnknownContract(contract))?;
    let c_at = input.at().contract(contract);
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
    let (decisions, forecast_world) = forecast(known_world, contract, horizon, q.at, policy);
    let forecast = debits_forecast(&decisions);
    let fc = forecast_world.contract(contract).unwrap_or(c);
    let own = input.stream(StreamId::contract(contract));
    let months = Months {
        world: known_world,
        c,
        c_at,
        fc,
        at: q.at,
        recorded: debits_recorded(own.iter().copied()),
        first: first_payment_lines(own.iter().copied()),
        forecast,
    };
    let mut rows = Vec::with_capacity(usize::try_from(months_shown.max(0)).unwrap_or(0));
    let mut m = first_month;
    while m <= horizon {
        rows.push(months.row(m));
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

/// What the billing clock would decide for the contract through the horizon,
/// on a scratch copy, and the scratch world after it: the contract alone
/// ([`billing::forecast_contract`]), whatever else the input holds. The instant
/// only stamps the scratch ids.
fn forecast(
    known_world: &World,
    contract: Uuid,
    horizon: YearMonth,
    at: NaiveDate,
    policy: &Policy,
) -> (Vec<Decision>, World) {
    let stamp: DateTime<Utc> = paris_start_of_day(at);
    let mut ids = IdGen::new(0);
    let mut ctx = Context {
        policy,
        ids: &mut ids,
    };
    billing::forecast_contract(known_world, contract, horizon.last_day(), stamp, &mut ctx)
}

/// The debits of a forecast, with their dates.
fn debits_forecast(decisions: &[Decision]) -> Vec<(NaiveDate, &DebitPresented)> {
    decisions
        .iter()
        .flat_map(|dec| &dec.events)
        .filter_map(|e| match &e.event {
            Event::DebitPresented(d) => Some((e.effective_date, d)),
            _ => None,
        })
        .collect()
}

/// What every row of a calendar reads: the contract as known (`c`), as
/// effective by `at` (`c_at`) and after the forecast (`fc`), its recorded
/// debits, its first payment's lines and the forecast debits.
struct Months<'a> {
    world: &'a World,
    c: &'a ContractState,
    c_at: Option<&'a ContractState>,
    fc: &'a ContractState,
    at: NaiveDate,
    recorded: Vec<(NaiveDate, &'a DebitPresented)>,
    first: Vec<(NaiveDate, ChargeLine)>,
    forecast: Vec<(NaiveDate, &'a DebitPresented)>,
}

impl Months<'_> {
    /// The row of month `m`: its recorded debit, else its first payment, else
    /// its forecast debit, else why it has none.
    fn row(&self, m: YearMonth) -> CalendarRow {
        self.recorded_row(m)
            .or_else(|| self.first_payment_row(m))
            .or_else(|| self.forecast_row(m))
            .unwrap_or_else(|| self.row_without_debit(m))
    }

    /// The month's last recorded debit.
    fn recorded_row(&self, m: YearMonth) -> Option<CalendarRow> {
        let (date, d) = self.recorded.iter().rev().find(|(_, d)| d.month == m)?;
        Some(CalendarRow {
            month: m,
            debit_date: Some(*date),
            amount: d.amount,
            lines: d.lines.clone(),
            status: recorded_status(*date, d, self.c, self.c_at, self.at),
            recorded: true,
        })
    }

    /// `SUB-FIRST-PAYMENT`: the first month paid at the agency (or in cash).
    fn first_payment_row(&self, m: YearMonth) -> Option<CalendarRow> {
        let paid: Vec<&(NaiveDate, ChargeLine)> =
            self.first.iter().filter(|(_, l)| l.month == m).collect();
        let (date, _) = paid.first()?;
        Some(CalendarRow {
            month: m,
            debit_date: Some(*date),
            amount: paid.iter().map(|(_, l)| l.amount).sum(),
            lines: paid.iter().map(|(_, l)| l.clone()).collect(),
            status: dated(*date, self.at),
            recorded: true,
        })
    }

    /// The month's debit as the billing clock would present it.
    fn forecast_row(&self, m: YearMonth) -> Option<CalendarRow> {
        let (date, d) = self.forecast.iter().find(|(_, d)| d.month == m)?;
        Some(CalendarRow {
            month: m,
            debit_date: Some(*date),
            amount: d.amount,
            lines: d.lines.clone(),
            status: DebitStatus::Scheduled,
            recorded: false,
        })
    }

    /// A month with no debit of its own: not in force, paid in cash, free,
    /// billed no more, carried by a later debit (`PAY-CUTOFF`), or in force but
    /// not debited by the clock within the horizon.
    fn row_without_debit(&self, m: YearMonth) -> CalendarRow {
        let fc = self.fc;
        let Some(period) = fc.period_covering(m) else {
            return none(m, status_none(fc.status_on(m.last_day())));
        };
        if matches!(fc.payment_at(m), Some(PaymentSetup::Cash)) {
            // PAY-CASH: a month covered by a cash payment has no debit. Decision: it
            // shows as collected once begun, scheduled before.
            return none(m, dated(m.first_day(), self.at));
        }
        if let Some(charge) = owed_month(self.world, fc, m) {
            if charge.kind == ChargeKind::FreeMonth {
                return self.free_month_row(m);
            }
        }
        if period.billing_stops_from.is_some_and(|s| m >= s) {
            return none(m, status_none(fc.status_on(m.last_day())));
        }
        // In force and not debited by the clock within the horizon (no mandate, no
        // tariff for the date): scheduled, with nothing composed.
        self.carried_row(m)
            .unwrap_or_else(|| none(m, DebitStatus::Scheduled))
    }

    /// `PAY-FREE-MONTH`: nothing is debited. Decision: the row shows the free
    /// line, collected once its debit date is past, scheduled before.
    fn free_month_row(&self, m: YearMonth) -> CalendarRow {
        let date = self.fc.debit_date(m);
        CalendarRow {
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
            status: dated(date, self.at),
            recorded: false,
        }
    }

    /// `PAY-CUTOFF`: no debit of the month's own, its installment a line of a
    /// later debit (recorded, or forecast): the row names that debit's date.
    fn carried_row(&self, m: YearMonth) -> Option<CalendarRow> {
        let (date, _, recorded) = self
            .recorded
            .iter()
            .map(|(date, d)| (date, d, true))
            .chain(self.forecast.iter().map(|(date, d)| (date, d, false)))
            .find(|(_, d, _)| d.month > m && d.lines.iter().any(|l| l.month == m))?;
        Some(CalendarRow {
            month: m,
            debit_date: Some(*date),
            amount: Money::ZERO,
            lines: Vec::new(),
            status: DebitStatus::Carried,
            recorded,
        })
    }
}

/// A row with no debit.
fn none(month: YearMonth, status: DebitStatus) -> CalendarRow {
    CalendarRow {
        month,
        debit_date: None,
        amount: Money::ZERO,
        lines: Vec::new(),
        status,
        recorded: false,
    }
}

/// The status of a month the contract is not in force, or no longer billed.
fn status_none(s: Option<Status>) -> DebitStatus {
    match s {
        Some(Status::Terminated { .. }) => DebitStatus::NoneTerminated,
        Some(Status::Suspended { .. }) => DebitStatus::NoneSuspended,
        // Active again later in the month but not billed: shown as suspended.
        _ => DebitStatus::NoneSuspended,
    }
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
