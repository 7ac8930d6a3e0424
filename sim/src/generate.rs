//! The pure, seeded generator of a population and of everything it asks over a
//! period. See the crate documentation.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use navigo_events_schema::command::{
    AdvanceClock, ChangeAddress, ChangeDebitDay, ChangePayer, ChangeZones, ContractRef,
    DeclareLoss, DeclareWorkStudyPlace, EstablishFraud, FileRefundClaim, RegisterPerson,
    RequestSeniorSwitch, Resume, Subscribe, Suspend, SwitchPaymentMethod,
};
use navigo_events_schema::event::{
    CampaignPublished, ClaimKind, FilerCapacity, FraudKind, LossKind, PaymentMeans,
    SettlementChannel,
};
use navigo_events_schema::types::{
    ActivityDeclaration, Actor, ActorRole, Address, Channel, ClientNumber, DebitDay, MandateInput,
    PaymentRequest, PlaceKind, Product, ReasonCode, Support, YearMonth, Zones,
};
use navigo_events_schema::{Command, CommandEnvelope};
use uuid::Uuid;

use crate::places::{self, Place};
pub use crate::plan::{Intent, PlannedCommand, Step};
use crate::rates::*;
use crate::rng::Rng;
use crate::spill::{Spill, SpillError, SPILL_BUFFERED_BYTES_MAX};
use navigo_events_schema::mandate::{DebtorAccount, Iban};
use navigo_rules::calendar::{date_of_age, paris_date, paris_start_of_day};
use navigo_rules::contract::guards::{PAYER_AGE_MIN, SENIOR_AGE_MIN};
use navigo_rules::ids::splitmix64_mix;

/// A bound on the contracts one plan holds (the demo's `--contracts`).
pub const CONTRACTS_MAX: u32 = 1_000_000;

/// Bank codes of the generated French accounts (large French retail banks).
const FRENCH_BANK_CODES: [u32; 6] = [30004, 30003, 30002, 20041, 10278, 30006];
/// A bound on the simulated period, in months.
pub const PERIOD_MONTHS_MAX: i32 = 240;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PopulationConfig {
    /// The seed: the same seed gives the same plan.
    pub seed: u64,
    /// Number of contracts.
    pub contracts: u32,
    /// First simulated day (Europe/Paris).
    pub from: NaiveDate,
    /// Last simulated day (Europe/Paris), inclusive.
    pub through: NaiveDate,
}

impl PopulationConfig {
    /// The default population: 10,000 contracts from 2024-01-01 to 2026-12-31.
    pub fn default_with_seed(seed: u64) -> PopulationConfig {
        PopulationConfig {
            seed,
            contracts: 10_000,
            from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or(NaiveDate::MIN),
            through: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or(NaiveDate::MIN),
        }
    }
}

/// Everything a population asks over the period, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// What was generated.
    pub config: PopulationConfig,
    /// The requests.
    pub commands: Vec<PlannedCommand>,
    /// Persons registered.
    pub persons: u32,
}

/// A person drawn by the generator.
#[derive(Debug, Clone)]
struct Person {
    id: Uuid,
    client: String,
    birth: NaiveDate,
    /// Given and family names, the holder's name of their bank accounts.
    name: String,
    /// When the registration is requested: the person cannot be named before.
    registered: DateTime<Utc>,
}

/// Who subscribes a contract, and through which channel: the first draws of
/// a contract.
struct Profile {
    /// Part of the stock, subscribed in the first two months.
    stock: bool,
    /// A holder aged 63 or more.
    senior: bool,
    /// A holder aged 17 to 25.
    student: bool,
    /// On the Senior product (`SUB-SENIOR`).
    senior_product: bool,
    /// Financed by a third-party payer (`SUB-THIRD-PARTY`).
    third_party: bool,
    /// The channel of the subscription.
    channel: Channel,
}

/// What the generator knows of a contract as it draws its life.
struct Shadow {
    n: u32,
    contract_id: Uuid,
    holder: Person,
    payer: Person,
    product: Product,
    cash: bool,
    third_party: bool,
    debit_day: u8,
    mandate_version: u32,
}

/// What a cash payer does at the end of the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CashChoice {
    Renew,
    Switch,
    Lapse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Active,
    Suspended { resume: Option<YearMonth> },
    Gone,
}

/// Where the life of a contract stands as the generator walks its months.
struct LifeCursor {
    life: Life,
    /// The month drawn.
    m: YearMonth,
    /// No major change before this month (the month after a change).
    quiet_until: YearMonth,
    /// The month of the last suspension (`SUSP-MAX-12M`).
    suspended_at: YearMonth,
    /// The first month of the current cash period.
    cash_start: YearMonth,
    /// What the cash payer does at the end of the period.
    cash_choice: CashChoice,
    /// Declares losses every quarter.
    serial_loser: bool,
}

/// Whether a month of the life moves on to the next month, or already moved
/// the cursor itself (a planned resumption skips the months suspended, a
/// lapsed cash period ends the life).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    Jumped,
}

/// The major change of a month of an active contract: at most one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Major {
    Suspend,
    Terminate,
    Fraud,
    ChangeZones,
    SeniorSwitch,
    SwitchToCash,
    Reject,
}

/// The major change of a month, from one uniform draw `u`: each change has its
/// monthly rate, stacked in this order, and applies only to the contracts it
/// can (no suspension or switch of a cash contract, zones of an annual product
/// only, the Senior switch from all zones at the Senior age). None in a quiet
/// month.
fn pick_major(sh: &Shadow, u: f64, quiet: bool, m: YearMonth) -> Option<Major> {
    if quiet {
        return None;
    }
    let senior_age = date_of_age(sh.holder.birth, SENIOR_AGE_MIN) <= m.first_day();
    let candidates = [
        (SUSPEND_PER_MONTH, Major::Suspend, !sh.cash),
        (TERMINATE_PER_MONTH, Major::Terminate, true),
        (FRAUD_PER_MONTH, Major::Fraud, true),
        (
            ZONE_CHANGE_PER_MONTH,
            Major::ChangeZones,
            matches!(sh.product, Product::Annual { .. }),
        ),
        (
            SENIOR_SWITCH_PER_MONTH,
            Major::SeniorSwitch,
            !sh.cash && sh.product == (Product::Annual { zones: Zones::ALL }) && senior_age,
        ),
        (
            METHOD_SWITCH_PER_MONTH,
            Major::SwitchToCash,
            !sh.cash && sh.product != Product::Senior,
        ),
        (REJECT_PER_MONTH, Major::Reject, !sh.cash),
    ];
    let mut acc = 0.0;
    for (rate, major, applies) in candidates {
        acc += rate;
        if u < acc && applies {
            return Some(major);
        }
    }
    None
}

/// The generator's working state.
struct Gen<'a, S: Sink> {
    cfg: PopulationConfig,
    rng: Rng,
    sink: S,
    ordinal: u64,
    persons: Vec<Person>,
    campaigns: &'a [(Uuid, CampaignPublished)],
    /// The municipalities of the first campaign's operations, normalized
    /// once: every contract asks whether its holder lives in one.
    claim_places: BTreeSet<String>,
}

fn date_at(d: NaiveDate, seconds: u32) -> DateTime<Utc> {
    paris_start_of_day(d) + Duration::seconds(i64::from(seconds))
}

/// Seconds after midnight of an office-hours request (08:00 to 19:00).
const OFFICE_FROM_SECONDS: u32 = 8 * 3600;
const OFFICE_TO_SECONDS: u32 = 19 * 3600;
/// The last advance runs at 23:00 and the back office at 22:00, after the day's
/// requests; the others at 00:30, before them.
const CLOCK_SECONDS: u32 = 23 * 3600;
const CLOCK_EARLY_SECONDS: u32 = 30 * 60;
/// Days of the month the clock runs: the four debit days and the 20th.
const CLOCK_DAYS: [u32; 5] = [1, 2, 8, 12, 20];
const BACK_OFFICE_SECONDS: u32 = 22 * 3600;
/// Days after a rejection within which a settling payer pays (below the 30 days of
/// `PAY-UNPAID-TERMINATION`).
const SETTLE_DAYS_MAX: u32 = 25;
/// `SENIOR-SWITCH`: 5 working days of processing (CGVU-2026 §3.3); the agent
/// validates the day after.
const SENIOR_PROCESSING_WORKING_DAYS: u32 = 5;

fn customer(p: &Person) -> Actor {
    Actor {
        role: ActorRole::Customer,
        id: p.client.clone(),
    }
}

fn agent(n: u32) -> Actor {
    Actor {
        role: ActorRole::Agent,
        id: format!("agent-{n:03}"),
    }
}

impl<S: Sink> Gen<'_, S> {
    fn uuid(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.rng.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.rng.next_u64().to_le_bytes()[..2]);
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid()
    }

    fn office_time(&mut self, d: NaiveDate) -> DateTime<Utc> {
        let s = self.rng.range(OFFICE_FROM_SECONDS, OFFICE_TO_SECONDS);
        date_at(d, s)
    }

    fn push(&mut self, at: DateTime<Utc>, step: Step) {
        // The ordinal counts every request drawn, kept or not, so that a
        // request's key is the same in every window.
        self.ordinal += 1;
        let day = paris_date(at);
        // Nothing after the last simulated day (a day drawn late in the last month).
        if day > self.cfg.through {
            return;
        }
        self.sink.put(day, self.ordinal, at, step);
    }

    fn send(
        &mut self,
        at: DateTime<Utc>,
        actor: Actor,
        channel: Option<Channel>,
        command: Command,
    ) {
        let cmd = CommandEnvelope {
            request_at: at,
            actor,
            channel,
            idempotency_key: None,
            expected_version: None,
            command,
        };
        self.push(at, Step::Command(Box::new(cmd)));
    }

    fn in_period(&self, d: NaiveDate) -> bool {
        d >= self.cfg.from && d <= self.cfg.through
    }

    fn residence(&mut self) -> Address {
        let street = self
            .rng
            .pick(&places::STREETS)
            .copied()
            .unwrap_or("rue de Paris");
        let number = self.rng.range(1, 180);
        let roll = self.rng.unit();
        let (municipality, postal_code) = if roll < PARIS_SHARE {
            let arr = self.rng.range(1, 20);
            ("Paris".to_owned(), places::paris_postal_code(arr))
        } else if roll < PARIS_SHARE + CAMPAIGN_MUNICIPALITY_SHARE {
            let pl = self
                .rng
                .pick(&places::CAMPAIGN_PLACES)
                .copied()
                .unwrap_or(places::CAMPAIGN_PLACES[0]);
            (pl.name.to_owned(), pl.postal_code.to_owned())
        } else {
            let pl = self
                .rng
                .pick(&places::OTHER_PLACES)
                .copied()
                .unwrap_or(places::OTHER_PLACES[0]);
            (pl.name.to_owned(), pl.postal_code.to_owned())
        };
        Address {
            street: format!("{number} {street}"),
            postal_code,
            municipality,
        }
    }

    /// Registers a person aged `age_lo..=age_hi` on `on`, at `at`.
    fn register(
        &mut self,
        at: DateTime<Utc>,
        on: NaiveDate,
        age_lo: u32,
        age_hi: u32,
        address: Address,
    ) -> Person {
        let age = self.rng.range(age_lo, age_hi);
        let extra_days = self.rng.range(30, 330);
        let birth = navigo_events_schema::types::add_months(
            NaiveDate::from_ymd_opt(on.year() - i32::try_from(age).unwrap_or(30), on.month(), 1)
                .unwrap_or(on),
            0,
        ) - Duration::days(i64::from(extra_days));
        let n = self.persons.len() + 1;
        let client = format!("C{:02}{:09}", self.cfg.seed % 100, n);
        let id = self.uuid(at);
        let first = self
            .rng
            .pick(&places::FIRST_NAMES)
            .copied()
            .unwrap_or("Marie");
        let last = self
            .rng
            .pick(&places::LAST_NAMES)
            .copied()
            .unwrap_or("Martin");
        let person = Person {
            id,
            client,
            birth,
            name: format!("{first} {last}"),
            registered: at,
        };
        let Ok(client_number) = person.client.parse::<ClientNumber>() else {
            // The format above is always a valid client number; a person that
            // cannot be named is not registered.
            return person;
        };
        self.send_by_agent(
            at,
            Command::RegisterPerson(RegisterPerson {
                person_id: id,
                client_number,
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                birth_date: birth,
                emancipation_proof: None,
                address,
                address_since: Some(on),
            }),
        );
        self.persons.push(person.clone());
        person
    }

    /// Mandate `version` of contract `contract_n`, signed by `payer` on
    /// `signed_on`, on a French account derived from the seed, the contract
    /// and the version (no draw of the generator: adding accounts changed no
    /// other draw of a population).
    fn mandate(
        &mut self,
        contract_n: u32,
        payer: &Person,
        version: u32,
        signed_on: NaiveDate,
    ) -> Option<MandateInput> {
        let reference = format!("UMR{}{:08}V{version}", self.cfg.seed % 1000, contract_n);
        let h = splitmix64_mix(self.cfg.seed ^ (u64::from(contract_n) << 20) ^ u64::from(version));
        let bank = FRENCH_BANK_CODES[usize::try_from(h % 6).unwrap_or(0)];
        let branch = u32::try_from((h >> 8) % 100_000).unwrap_or(0);
        Some(MandateInput {
            reference: reference.parse().ok()?,
            signed_on,
            debtor: DebtorAccount {
                iban: Iban::french(bank, branch, h >> 24),
                bic: None,
                holder_name: payer.name.parse().ok()?,
            },
        })
    }

    fn debit_day(&mut self) -> DebitDay {
        let i = self.rng.weighted(&DEBIT_DAY_WEIGHTS);
        DebitDay::new(DebitDay::ALLOWED.get(i).copied().unwrap_or(1)).unwrap_or(DebitDay::DEFAULT)
    }

    fn reason_code(&mut self) -> ReasonCode {
        let weights: Vec<f64> = REJECT_REASONS.iter().map(|(_, w)| *w).collect();
        let i = self.rng.weighted(&weights);
        REJECT_REASONS
            .get(i)
            .and_then(|(c, _)| c.parse().ok())
            .unwrap_or(ReasonCode::AM04)
    }

    /// A contract: its persons, its subscription and its life over the period.
    /// Every draw happens in a fixed order (the plan of a seed depends on it):
    /// the profile, the dates, the persons, the place of work or study, the
    /// product and payment, the subscription, a refund request, then the life.
    fn contract(&mut self, n: u32, last_parent: &mut Option<(Person, Address)>) {
        let profile = self.profile();
        let (request_date, start) = self.start_dates(&profile);
        if start > self.cfg.through {
            return;
        }
        let reg_at = self.office_time(request_date);
        let home = self.residence();
        let (holder, payer) =
            self.parties(&profile, reg_at, request_date, start, &home, last_parent);
        if self.rng.chance(WORK_STUDY_ELSEWHERE_SHARE) {
            self.declare_place(&profile, &holder, reg_at, request_date);
        }
        let product = self.product(&profile);
        let cash = !profile.senior_product && self.rng.chance(CASH_SHARE);
        let payment = match (cash, self.mandate(n, &payer, 1, request_date)) {
            (false, Some(mandate)) => PaymentRequest::DirectDebit {
                debit_day: self.debit_day(),
                mandate,
            },
            _ => PaymentRequest::Cash,
        };
        let debit_day = match &payment {
            PaymentRequest::DirectDebit { debit_day, .. } => debit_day.day(),
            PaymentRequest::Cash => DebitDay::DEFAULT.day(),
        };
        let sub_at = reg_at + Duration::seconds(30);
        let contract_id = self.uuid(sub_at);
        let (actor, first_payment_means) = if profile.channel == Channel::Agency {
            (agent(self.rng.range(1, 40)), Some(PaymentMeans::Card))
        } else {
            (customer(&payer), None)
        };
        self.send(
            sub_at,
            actor,
            Some(profile.channel),
            Command::Subscribe(Subscribe {
                contract_id,
                holder: holder.id,
                payer: payer.id,
                product,
                start_date: start,
                payment,
                third_party_payer: profile.third_party,
                senior_declaration: profile
                    .senior_product
                    .then_some(ActivityDeclaration::NoActivity),
                support: Support::Pass,
                first_payment_means,
            }),
        );
        self.refund_request(start, &home, &holder, &payer);
        let mut sh = Shadow {
            n,
            contract_id,
            holder,
            payer,
            product,
            cash,
            third_party: profile.third_party,
            debit_day,
            mandate_version: 1,
        };
        self.life(&mut sh, start);
    }

    /// Who subscribes, and through which channel.
    fn profile(&mut self) -> Profile {
        let stock = self.rng.chance(STOCK_SHARE);
        let roll = self.rng.unit();
        let senior = roll < SENIOR_SHARE;
        let student = !senior && roll < SENIOR_SHARE + STUDENT_SHARE;
        let senior_product = senior && self.rng.chance(SENIOR_PRODUCT_SHARE);
        let third_party = !student && !senior_product && self.rng.chance(THIRD_PARTY_SHARE);
        let channel = if senior_product {
            Channel::Agency
        } else if third_party {
            if self.rng.chance(0.3) {
                Channel::Mail
            } else {
                Channel::Agency
            }
        } else {
            let r = self.rng.unit();
            if r < ONLINE_SHARE {
                Channel::Online
            } else if r < ONLINE_SHARE + MAIL_SHARE {
                Channel::Mail
            } else {
                Channel::Agency
            }
        };
        Profile {
            stock,
            senior,
            student,
            senior_product,
            third_party,
            channel,
        }
    }

    /// The request date and the start date of a subscription.
    fn start_dates(&mut self, profile: &Profile) -> (NaiveDate, NaiveDate) {
        let cfg = self.cfg;
        let months = YearMonth::of(cfg.from).months_until(YearMonth::of(cfg.through));
        if profile.channel.is_remote() {
            // SUB-WINDOW: a remote subscription starts on the 1st, requested 60 to
            // 15 days before; the stock starts in February or March 2024.
            let offset = if profile.stock {
                self.rng.range(1, 2)
            } else {
                self.rng
                    .range(2, u32::try_from((months - 3).max(2)).unwrap_or(2))
            };
            let start = YearMonth::of(cfg.from)
                .plus(i32::try_from(offset).unwrap_or(1))
                .first_day();
            let before = self.rng.range(16, 58);
            let req = (start - Duration::days(i64::from(before))).max(cfg.from);
            (req, start)
        } else {
            let day = if profile.stock {
                self.rng.range(0, 27)
            } else {
                self.rng
                    .range(0, u32::try_from((months - 3).max(1) * 30).unwrap_or(30))
            };
            let d = cfg.from + Duration::days(i64::from(day));
            (d, d)
        }
    }

    /// The holder, registered, and the payer: a parent for most students
    /// (siblings share one), a partner for a few adults, an employer contact
    /// for third-party contracts, else the holder.
    fn parties(
        &mut self,
        profile: &Profile,
        reg_at: DateTime<Utc>,
        request_date: NaiveDate,
        start: NaiveDate,
        home: &Address,
        last_parent: &mut Option<(Person, Address)>,
    ) -> (Person, Person) {
        let (age_lo, age_hi) = if profile.senior {
            (63, 84)
        } else if profile.student {
            (17, 25)
        } else {
            (26, 60)
        };
        let holder = self.register(reg_at, request_date, age_lo, age_hi, home.clone());
        let minor = date_of_age(holder.birth, PAYER_AGE_MIN) > start;
        let payer = if profile.student && (minor || self.rng.chance(STUDENT_PAID_BY_PARENT)) {
            match last_parent.clone() {
                Some((p, _)) if p.registered < reg_at && self.rng.chance(0.35) => p,
                _ => {
                    let p = self.register(reg_at, request_date, 42, 60, home.clone());
                    *last_parent = Some((p.clone(), home.clone()));
                    p
                }
            }
        } else if profile.third_party {
            let office = self.residence();
            self.register(reg_at, request_date, 30, 60, office)
        } else if !profile.senior && self.rng.chance(ADULT_PAID_BY_PARTNER) {
            self.register(reg_at, request_date, 26, 60, home.clone())
        } else {
            holder.clone()
        };
        (holder, payer)
    }

    /// The holder's declared place of study (a student) or work (`REF-PLACE`).
    fn declare_place(
        &mut self,
        profile: &Profile,
        holder: &Person,
        reg_at: DateTime<Utc>,
        request_date: NaiveDate,
    ) {
        let pl: Place = self
            .rng
            .pick(&places::WORK_STUDY_PLACES)
            .copied()
            .unwrap_or(places::WORK_STUDY_PLACES[0]);
        let kind = if profile.student {
            PlaceKind::Study
        } else {
            PlaceKind::Work
        };
        self.send(
            reg_at,
            customer(holder),
            Some(Channel::Agency),
            Command::DeclareWorkStudyPlace(DeclareWorkStudyPlace {
                person_id: holder.id,
                kind,
                municipality: pl.name.to_owned(),
                proof_ref: format!("ATT-{}", holder.client),
                effective_date: Some(request_date),
            }),
        );
    }

    /// The product: Senior, or an annual zone range by weight.
    fn product(&mut self, profile: &Profile) -> Product {
        if profile.senior_product {
            return Product::Senior;
        }
        let i = self.rng.weighted(&ZONE_WEIGHTS);
        let (a, b) = [(1, 5), (2, 3), (3, 4), (4, 5)]
            .get(i)
            .copied()
            .unwrap_or((1, 5));
        Product::Annual {
            zones: Zones::new(a, b).unwrap_or(Zones::ALL),
        }
    }

    /// PUNCT-2024 refund request in the 2025 filing window, for holders living in
    /// a campaign municipality whose contract ran in 2024.
    fn refund_request(
        &mut self,
        start: NaiveDate,
        home: &Address,
        holder: &Person,
        payer: &Person,
    ) {
        if YearMonth::of(start) > YearMonth::new(2024, 9).unwrap_or(YearMonth::of(start))
            || !self.rng.chance(CLAIM_FILED_SHARE)
        {
            return;
        }
        let Some((campaign_id, c)) = self.campaigns.first() else {
            return;
        };
        let (campaign_id, filing_from, filing_until) =
            (*campaign_id, c.filing_from, c.filing_until);
        let listed =
            self.claim_places
                .contains(&navigo_rules::punctuality::normalize_municipality(
                    &home.municipality,
                ));
        let span = (filing_until - filing_from).num_days().max(0);
        let d = filing_from
            + Duration::days(i64::from(
                self.rng.range(0, u32::try_from(span).unwrap_or(0)),
            ));
        if !listed || !self.in_period(d) {
            return;
        }
        let at = self.office_time(d);
        let (filer, cap) = if payer.id != holder.id && self.rng.chance(0.3) {
            (payer.clone(), FilerCapacity::Payer)
        } else {
            (holder.clone(), FilerCapacity::Holder)
        };
        self.send(
            at,
            customer(&filer),
            Some(Channel::Online),
            Command::FileRefundClaim(FileRefundClaim {
                holder: holder.id,
                campaign_id,
                filer: filer.id,
                filer_capacity: cap,
                kind: ClaimKind::Request,
            }),
        );
    }

    fn cash_choice(&mut self) -> CashChoice {
        let r = self.rng.unit();
        if r < METHOD_SWITCH_AT_RENEWAL {
            CashChoice::Switch
        } else if r < METHOD_SWITCH_AT_RENEWAL + CASH_RENEWED {
            CashChoice::Renew
        } else {
            CashChoice::Lapse
        }
    }

    /// The channel of a request about a contract: online when the rulebook in
    /// force lets the customer act online (`SUSP-ANYTIME`: CGU-2011 asks for an
    /// agency) and the contract is not financed by a third party
    /// (`SUB-THIRD-PARTY`), else the agency.
    fn channel_for(&mut self, sh: &Shadow, d: NaiveDate, online_share: f64) -> Channel {
        let online_ok = matches!(
            navigo_rules::rulebook::in_force(d).suspension,
            navigo_rules::rulebook::SuspensionRule::AnyChannel { .. }
        );
        if online_ok && !sh.third_party && self.rng.chance(online_share) {
            Channel::Online
        } else {
            Channel::Agency
        }
    }

    fn actor_for(&mut self, channel: Channel, p: &Person) -> Actor {
        if channel == Channel::Agency {
            agent(self.rng.range(1, 40))
        } else {
            customer(p)
        }
    }

    /// Sends `command` about the contract of `sh` at `at`, from `person` or an
    /// agent: the channel is [`Self::channel_for`] on the date `d`, then the actor
    /// [`Self::actor_for`] that channel, in that order of draws (the plan of a
    /// seed depends on it).
    fn send_via_channel(
        &mut self,
        sh: &Shadow,
        person: &Person,
        d: NaiveDate,
        at: DateTime<Utc>,
        online_share: f64,
        command: Command,
    ) {
        let channel = self.channel_for(sh, d, online_share);
        let actor = self.actor_for(channel, person);
        self.send(at, actor, Some(channel), command);
    }

    /// Sends `command` at `at` from an agent at the agency: the agent is drawn
    /// when the request is sent, after everything the command carries.
    fn send_by_agent(&mut self, at: DateTime<Utc>, command: Command) {
        let actor = agent(self.rng.range(1, 40));
        self.send(at, actor, Some(Channel::Agency), command);
    }

    /// The month-by-month life of a contract after its start: each month of a
    /// suspended contract may bring its resumption; each month of an active one
    /// its cash renewal, at most one major change ([`pick_major`]) and minor
    /// events.
    fn life(&mut self, sh: &mut Shadow, start: NaiveDate) {
        let serial_loser = self.rng.chance(SERIAL_LOSER_SHARE);
        let first = YearMonth::of(start).plus(1);
        let mut cur = LifeCursor {
            life: Life::Active,
            m: first,
            quiet_until: first,
            suspended_at: first,
            cash_start: YearMonth::of(start),
            cash_choice: self.cash_choice(),
            serial_loser,
        };
        let last = YearMonth::of(self.cfg.through);
        while cur.m <= last && cur.life != Life::Gone {
            let flow = match cur.life {
                Life::Gone => Flow::Next,
                Life::Suspended { resume } => {
                    self.suspended_month(sh, &mut cur, resume);
                    Flow::Next
                }
                Life::Active => self.active_month(sh, &mut cur),
            };
            if flow == Flow::Next {
                cur.m = cur.m.plus(1);
            }
        }
    }

    /// A day of month `m` between `lo` and `hi`.
    fn day_in(&mut self, m: YearMonth, lo: u32, hi: u32) -> NaiveDate {
        m.day_clamped(self.rng.range(lo, hi))
    }

    /// A month of a suspended contract: the resumption asked in the month it
    /// was planned for, or (never resumed) the end a year after the suspension.
    fn suspended_month(&mut self, sh: &Shadow, cur: &mut LifeCursor, resume: Option<YearMonth>) {
        let m = cur.m;
        if resume == Some(m) {
            let d = self.day_in(m, 1, 25);
            let at = self.office_time(d);
            self.send_via_channel(
                sh,
                &sh.payer,
                d,
                at,
                0.7,
                Command::Resume(Resume {
                    contract_id: sh.contract_id,
                    effective_date: None,
                    payment: None,
                }),
            );
            cur.life = Life::Active;
            cur.quiet_until = m.plus(1);
        } else if resume.is_none() && cur.suspended_at.months_until(m) >= 12 {
            // SUSP-MAX-12M: the clock terminates it.
            cur.life = Life::Gone;
        }
    }

    /// A month of an active contract: its cash renewal, at most one major
    /// change (none the month after a change), then its minor events while it
    /// stays active.
    fn active_month(&mut self, sh: &mut Shadow, cur: &mut LifeCursor) -> Flow {
        let quiet = cur.m < cur.quiet_until;
        if sh.cash && self.cash_month(sh, cur) == Flow::Jumped {
            return Flow::Jumped;
        }
        let u = self.rng.unit();
        let flow = match pick_major(sh, u, quiet, cur.m) {
            None => Flow::Next,
            Some(Major::Suspend) => self.suspend(sh, cur),
            Some(Major::Terminate) => {
                let d = self.day_in(cur.m, 1, 28);
                let at = self.office_time(d);
                let c = ContractRef {
                    contract_id: sh.contract_id,
                };
                self.send_via_channel(sh, &sh.payer, d, at, 0.6, Command::TerminateByPayer(c));
                cur.life = Life::Gone;
                Flow::Next
            }
            Some(Major::Fraud) => {
                self.fraud(sh, cur.m);
                cur.life = Life::Gone;
                Flow::Next
            }
            Some(Major::ChangeZones) => {
                self.change_zones(sh, cur.m);
                cur.quiet_until = cur.m.plus(2);
                Flow::Next
            }
            Some(Major::SeniorSwitch) => {
                self.senior_switch(sh, cur.m);
                cur.quiet_until = cur.m.plus(2);
                Flow::Next
            }
            Some(Major::SwitchToCash) => {
                self.switch_to_cash(sh, cur);
                Flow::Next
            }
            Some(Major::Reject) => {
                self.reject(sh, cur);
                Flow::Next
            }
        };
        if flow == Flow::Next && cur.life == Life::Active {
            self.minor_events(sh, cur.serial_loser, cur.m);
        }
        flow
    }

    /// Cash (PAY-CASH): the payer renews, switches to direct debit at renewal
    /// (PAY-SWITCH-TO-DEBIT) or lets the period lapse (the clock suspends it;
    /// SUSP-MAX-12M ends it a year later). The period's end is the ledger's: a
    /// monthly intent resolves to the request only within the renewal window.
    /// [`Flow::Jumped`] when the period lapsed: the life ends.
    fn cash_month(&mut self, sh: &mut Shadow, cur: &mut LifeCursor) -> Flow {
        let m = cur.m;
        let period_over = m > cur.cash_start.plus(12);
        if period_over && cur.cash_choice == CashChoice::Lapse {
            cur.life = Life::Gone;
            cur.m = m.plus(1);
            return Flow::Jumped;
        }
        if period_over && cur.cash_choice == CashChoice::Switch {
            sh.cash = false;
            return Flow::Next;
        }
        if cur.cash_choice == CashChoice::Lapse {
            return Flow::Next;
        }
        let switch_to = if cur.cash_choice == CashChoice::Switch {
            sh.mandate_version += 1;
            let payer = sh.payer.clone();
            let mandate = self.mandate(sh.n, &payer, sh.mandate_version, m.first_day());
            let debit_day = self.debit_day();
            sh.debit_day = debit_day.day();
            mandate.map(|mandate| PaymentRequest::DirectDebit { debit_day, mandate })
        } else {
            None
        };
        // Twice a month, so that one falls in the window.
        for (lo, hi) in [(1, 14), (15, 28)] {
            let d = self.day_in(m, lo, hi);
            let at = self.office_time(d);
            self.push(
                at,
                Step::Intent(Intent::CashRenewal {
                    contract_id: sh.contract_id,
                    switch_to: switch_to.clone(),
                }),
            );
        }
        Flow::Next
    }

    /// `SUSP-ANYTIME`: a suspension, with a planned resumption (the clock
    /// resumes it: [`Flow::Jumped`] to the month after), or resumed later by
    /// request, or never.
    fn suspend(&mut self, sh: &Shadow, cur: &mut LifeCursor) -> Flow {
        let m = cur.m;
        let d = self.day_in(m, 1, 26);
        let at = self.office_time(d);
        let planned = self.rng.chance(SUSPEND_WITH_PLANNED_RESUMPTION);
        let back = i32::try_from(self.rng.range(1, 8)).unwrap_or(1);
        let planned_resumption = planned.then(|| m.plus(2 + back).first_day());
        self.send_via_channel(
            sh,
            &sh.payer,
            d,
            at,
            0.7,
            Command::Suspend(Suspend {
                contract_id: sh.contract_id,
                effective_date: None,
                planned_resumption,
            }),
        );
        cur.suspended_at = m;
        if planned {
            // The clock resumes it on the planned date.
            cur.quiet_until = m.plus(3 + back);
            cur.m = m.plus(2 + back);
            return Flow::Jumped;
        }
        cur.life = if self.rng.chance(SUSPEND_NEVER_RESUMED) {
            Life::Suspended { resume: None }
        } else {
            Life::Suspended {
                resume: Some(m.plus(2 + back)),
            }
        };
        Flow::Next
    }

    /// `FRAUD-TERMINATION`: the holder found a fraudster, with accomplices
    /// sometimes.
    fn fraud(&mut self, sh: &Shadow, m: YearMonth) {
        let d = self.day_in(m, 1, 28);
        let at = self.office_time(d);
        let mut accomplices = Vec::new();
        if self.rng.chance(FRAUD_WITH_ACCOMPLICES) {
            for _ in 0..self.rng.range(1, 2) {
                if let Some(p) = self.rng.pick(&self.persons).cloned() {
                    if p.id != sh.holder.id && p.registered < at && !accomplices.contains(&p.id) {
                        accomplices.push(p.id);
                    }
                }
            }
        }
        let kind = if self.rng.chance(0.7) {
            FraudKind::Usage
        } else {
            FraudKind::Subscription
        };
        self.send_by_agent(
            at,
            Command::EstablishFraud(EstablishFraud {
                contract_id: sh.contract_id,
                kind,
                fraudster: sh.holder.id,
                accomplices,
            }),
        );
    }

    /// `ZONE-UP` / `ZONE-DOWN`: all zones to a smaller range, or back to all.
    fn change_zones(&mut self, sh: &mut Shadow, m: YearMonth) {
        let d = self.day_in(m, 1, 25);
        let at = self.office_time(d);
        let to = if sh.product.zones() == Zones::ALL {
            let i = usize::try_from(self.rng.range(1, 3)).unwrap_or(1);
            [(1, 5), (2, 3), (3, 4), (4, 5)]
                .get(i)
                .copied()
                .unwrap_or((2, 3))
        } else {
            (1, 5)
        };
        let zones = Zones::new(to.0, to.1).unwrap_or(Zones::ALL);
        self.send_via_channel(
            sh,
            &sh.payer,
            d,
            at,
            0.6,
            Command::ChangeZones(ChangeZones {
                contract_id: sh.contract_id,
                zones,
                effective_date: None,
            }),
        );
        sh.product = Product::Annual { zones };
    }

    /// `SENIOR-SWITCH`: requested by the holder, validated by an agent after
    /// the processing days.
    fn senior_switch(&mut self, sh: &mut Shadow, m: YearMonth) {
        let d = self.day_in(m, 1, 18);
        let at = self.office_time(d);
        let holder = sh.holder.clone();
        self.send(
            at,
            customer(&holder),
            Some(Channel::Agency),
            Command::RequestSeniorSwitch(RequestSeniorSwitch {
                contract_id: sh.contract_id,
                declaration: ActivityDeclaration::NoActivity,
                age_proof_ref: format!("CNI-{}", holder.client),
            }),
        );
        let v = navigo_rules::calendar::add_working_days(d, SENIOR_PROCESSING_WORKING_DAYS)
            + Duration::days(1);
        if self.in_period(v) {
            let at = self.office_time(v);
            let c = ContractRef {
                contract_id: sh.contract_id,
            };
            self.send_by_agent(at, Command::ValidateSeniorSwitch(c));
        }
        sh.product = Product::Senior;
    }

    /// PAY-SWITCH-TO-CASH: what the switch makes due is paid at the agency the
    /// same day; a new cash period starts.
    fn switch_to_cash(&mut self, sh: &mut Shadow, cur: &mut LifeCursor) {
        let m = cur.m;
        let d = self.day_in(m, 1, 20);
        let at = self.office_time(d);
        self.send_by_agent(
            at,
            Command::SwitchPaymentMethod(SwitchPaymentMethod {
                contract_id: sh.contract_id,
                to: PaymentRequest::Cash,
            }),
        );
        self.push(
            at + Duration::seconds(60),
            Step::Intent(Intent::PayCash {
                contract_id: sh.contract_id,
            }),
        );
        cur.cash_start = m;
        cur.cash_choice = self.cash_choice();
        sh.cash = true;
        cur.quiet_until = m.plus(2);
    }

    /// `PAY-REJECT`: a debit rejected; the payer settles within the grace
    /// period, or the contract ends (an account closed, `MD07`, or
    /// PAY-UNPAID-TERMINATION after the grace, the notice two months later,
    /// BAN-TREASURY-2Y).
    fn reject(&mut self, sh: &Shadow, cur: &mut LifeCursor) {
        let m = cur.m;
        let contract_id = sh.contract_id;
        let code = self.reason_code();
        let d = self.day_in(m, 14, 27);
        let at = date_at(d, self.rng.range(3600, 6 * 3600));
        self.push(
            at,
            Step::Intent(Intent::RejectDebit {
                contract_id,
                month: m,
                reason_code: code,
            }),
        );
        if code == ReasonCode::MD07 || !self.rng.chance(SETTLE_IN_GRACE) {
            cur.life = Life::Gone;
            return;
        }
        let s = d + Duration::days(i64::from(self.rng.range(2, SETTLE_DAYS_MAX)));
        let i = self.rng.weighted(&SETTLE_CHANNEL_WEIGHTS);
        let via = [
            SettlementChannel::OnlineCard,
            SettlementChannel::Phone,
            SettlementChannel::Agency,
        ]
        .get(i)
        .copied()
        .unwrap_or(SettlementChannel::OnlineCard);
        if self.in_period(s) {
            let at = self.office_time(s);
            self.push(at, Step::Intent(Intent::SettleDebt { contract_id, via }));
        }
        cur.quiet_until = m.plus(2);
    }

    /// Loss, debit day, payer and address changes: they do not change the status.
    fn minor_events(&mut self, sh: &mut Shadow, serial_loser: bool, m: YearMonth) {
        let contract_id = sh.contract_id;
        let losses = if serial_loser && m.month() % 3 == 0 {
            2
        } else {
            u32::from(self.rng.chance(LOSS_PER_MONTH))
        };
        for _ in 0..losses {
            let d = m.day_clamped(self.rng.range(1, 28));
            let at = self.office_time(d);
            let kind = if self.rng.chance(THEFT_SHARE) {
                LossKind::Theft
            } else {
                LossKind::Loss
            };
            self.send_via_channel(
                sh,
                &sh.holder,
                d,
                at,
                0.6,
                Command::DeclareLoss(DeclareLoss {
                    contract_id,
                    kind,
                    support: Support::Pass,
                    replacement_support: None,
                }),
            );
        }
        if !sh.cash && self.rng.chance(DEBIT_DAY_CHANGE_PER_MONTH) {
            let d = m.day_clamped(self.rng.range(13, 28));
            let at = self.office_time(d);
            let others: Vec<u8> = DebitDay::ALLOWED
                .iter()
                .copied()
                .filter(|x| *x != sh.debit_day)
                .collect();
            let day = self.rng.pick(&others).copied().unwrap_or(1);
            if let Ok(debit_day) = DebitDay::new(day) {
                self.send_via_channel(
                    sh,
                    &sh.payer,
                    d,
                    at,
                    0.7,
                    Command::ChangeDebitDay(ChangeDebitDay {
                        contract_id,
                        debit_day,
                    }),
                );
                sh.debit_day = day;
            }
        }
        if !sh.third_party && self.rng.chance(PAYER_CHANGE_PER_MONTH) {
            // A new payer among the adults already registered.
            let d = m.day_clamped(self.rng.range(13, 28));
            let at = self.office_time(d);
            let payer_id = sh.payer.id;
            let candidate = self.rng.pick(&self.persons).cloned().filter(|p| {
                p.id != payer_id && p.registered < at && date_of_age(p.birth, PAYER_AGE_MIN) <= d
            });
            if let Some(new_payer) = candidate {
                sh.mandate_version += 1;
                let mandate = if sh.cash {
                    None
                } else {
                    self.mandate(sh.n, &new_payer, sh.mandate_version, d)
                };
                self.send_by_agent(
                    at,
                    Command::ChangePayer(ChangePayer {
                        contract_id,
                        payer: new_payer.id,
                        mandate,
                    }),
                );
                sh.payer = new_payer;
            }
        }
        if self.rng.chance(MOVE_PER_MONTH) {
            let d = m.day_clamped(self.rng.range(1, 28));
            let at = self.office_time(d);
            let address = self.residence();
            let holder = sh.holder.clone();
            self.send(
                at,
                customer(&holder),
                Some(Channel::Online),
                Command::ChangeAddress(ChangeAddress {
                    person_id: holder.id,
                    address,
                    effective_date: d,
                }),
            );
        }
    }

    /// The billing clock at the start of each debit day (1, 2, 8, 12) and of the
    /// 20th, before that day's requests, so that a request sees the debits already
    /// presented that month; the back office on the last evening of each month;
    /// a last advance at the end of the period.
    fn clock(&mut self) {
        let cfg = self.cfg;
        let mut m = YearMonth::of(cfg.from);
        while m <= YearMonth::of(cfg.through) {
            for day in CLOCK_DAYS {
                let d = m.day_clamped(day);
                if d >= cfg.from && d <= cfg.through {
                    self.send(
                        date_at(d, CLOCK_EARLY_SECONDS),
                        Actor::billing_clock(),
                        None,
                        Command::AdvanceClock(AdvanceClock { to: d }),
                    );
                }
            }
            let last = m.last_day();
            if last >= cfg.from && last <= cfg.through {
                let seed = self.rng.next_u64();
                self.push(
                    date_at(last, BACK_OFFICE_SECONDS),
                    Step::Intent(Intent::BackOffice { seed }),
                );
            }
            m = m.plus(1);
        }
        self.send(
            date_at(cfg.through, CLOCK_SECONDS),
            Actor::billing_clock(),
            None,
            Command::AdvanceClock(AdvanceClock { to: cfg.through }),
        );
    }
}

/// Where the generator puts the requests it draws, each with its day, its
/// draw ordinal and its instant.
trait Sink {
    fn put(&mut self, day: NaiveDate, ordinal: u64, at: DateTime<Utc>, step: Step);
}

/// Counts the requests of each day, keeping none.
#[derive(Default)]
struct Count(BTreeMap<NaiveDate, usize>);

impl Sink for Count {
    fn put(&mut self, day: NaiveDate, _: u64, _: DateTime<Utc>, _: Step) {
        *self.0.entry(day).or_default() += 1;
    }
}

/// Keeps the requests of the days `from..=through`, in the order drawn.
struct Keep {
    seed: u64,
    from: NaiveDate,
    through: NaiveDate,
    out: Vec<PlannedCommand>,
}

impl Sink for Keep {
    fn put(&mut self, day: NaiveDate, ordinal: u64, at: DateTime<Utc>, step: Step) {
        if (self.from..=self.through).contains(&day) {
            let key = request_key(self.seed, ordinal);
            self.out.push(PlannedCommand { at, key, step });
        }
    }
}

impl Sink for Spill {
    fn put(&mut self, day: NaiveDate, ordinal: u64, at: DateTime<Utc>, step: Step) {
        self.push(day, ordinal, at, step);
    }
}

/// The idempotency key of the `ordinal`-th request drawn for `seed`: the
/// ordinal counts every request drawn, kept or not, so that a request has
/// the same key whichever way the plan is made.
fn request_key(seed: u64, ordinal: u64) -> String {
    format!("pop:{seed}:{ordinal}")
}

/// The period and size actually generated: the contracts and the months
/// within their bounds.
fn bounded(cfg: PopulationConfig) -> PopulationConfig {
    let mut cfg = cfg;
    cfg.contracts = cfg.contracts.min(CONTRACTS_MAX);
    if YearMonth::of(cfg.from).months_until(YearMonth::of(cfg.through)) > PERIOD_MONTHS_MAX {
        cfg.through = YearMonth::of(cfg.from)
            .plus(PERIOD_MONTHS_MAX)
            .first_day()
            .pred_opt()
            .unwrap_or(cfg.from);
    }
    cfg
}

/// Runs the whole generator of `cfg` into `sink`: every draw of every contract,
/// whatever the sink keeps. The sink, and the persons registered.
fn run<S: Sink>(
    cfg: PopulationConfig,
    campaigns: &[(Uuid, CampaignPublished)],
    sink: S,
) -> (S, u32) {
    let mut g = Gen {
        cfg,
        rng: Rng::new(cfg.seed),
        sink,
        ordinal: 0,
        persons: Vec::new(),
        campaigns,
        claim_places: claim_places(campaigns),
    };
    g.clock();
    let mut last_parent = None;
    for n in 0..cfg.contracts {
        g.contract(n, &mut last_parent);
    }
    let persons = u32::try_from(g.persons.len()).unwrap_or(u32::MAX);
    (g.sink, persons)
}

/// The municipalities of the first campaign's operations, normalized: the
/// campaign refund claims are filed for (`refund_request`).
fn claim_places(campaigns: &[(Uuid, CampaignPublished)]) -> BTreeSet<String> {
    campaigns
        .first()
        .into_iter()
        .flat_map(|(_, c)| &c.operations)
        .flat_map(|o| &o.municipalities)
        .map(|m| navigo_rules::punctuality::normalize_municipality(m))
        .collect()
}

/// Puts `commands` (drawn in generation order) in request order, the clock and
/// the back office after the day's requests; equal instants are pushed apart by
/// a millisecond so that the order is strict, after `prev`, the last instant of
/// the requests before them.
fn in_request_order(commands: &mut [PlannedCommand], mut prev: Option<DateTime<Utc>>) {
    // A stable sort: equal instants keep the order they were drawn in.
    commands.sort_by_key(|c| c.at);
    for c in commands.iter_mut() {
        if let Some(p) = prev.filter(|p| c.at <= *p) {
            let at = p + Duration::milliseconds(1);
            c.at = at;
            if let Step::Command(cmd) = &mut c.step {
                cmd.request_at = at;
            }
        }
        prev = Some(c.at);
    }
}

/// Generates the plan of a population: pure and deterministic for a given config
/// and campaigns (the campaigns in force, for the refund claims). The whole plan
/// is held at once; [`PlanWindows`] gives the same requests a bounded window
/// at a time.
pub fn generate(cfg: PopulationConfig, campaigns: &[(Uuid, CampaignPublished)]) -> Plan {
    let cfg = bounded(cfg);
    let (keep, persons) = run(cfg, campaigns, keep_days(cfg, NaiveDate::MIN, cfg.through));
    let mut commands = keep.out;
    in_request_order(&mut commands, None);
    Plan {
        config: cfg,
        commands,
        persons,
    }
}

fn keep_days(cfg: PopulationConfig, from: NaiveDate, through: NaiveDate) -> Keep {
    Keep {
        seed: cfg.seed,
        from,
        through,
        out: Vec::new(),
    }
}

/// Planned requests one window of [`PlanWindows`] holds at most (unless a
/// single day asks more): about 1 KiB each (the command, its key and the
/// strings it carries), so a window is a bounded part of the memory budget
/// whatever the region's size (ARCHITECTURE.md, "Memory budget").
pub const PLAN_WINDOW_REQUESTS_MAX: usize = 200_000;

/// The plan of a population a window of days at a time, in request order:
/// the concatenation of the windows is [`generate`]'s plan, request for
/// request (same instants, keys and commands), but at most
/// [`PLAN_WINDOW_REQUESTS_MAX`] requests (or one day's) are held at once.
///
/// Decision: the generator runs once, and spills every request it draws to
/// a temporary file a day at a time ([`Spill`]); each window reads back the
/// days it covers. The generator draws a contract's whole life at once from
/// one sequence shared by every contract, so the requests of a period cannot
/// be drawn without drawing every contract before them, and no state of the
/// generator at a window's end would let the next window resume: the next
/// window's requests belong to every contract already drawn. Running the
/// generator again for each window (as it did before) cost one run a window,
/// a CPU quadratic in the region's size (about 68 runs at 1 M contracts);
/// the spill costs one run, then each request encoded and compressed once
/// and decoded once, whatever the number of windows, and disk: about 50
/// bytes a request (JSON in zstd chunks), in an unnamed file the system
/// removes when the windows are dropped, or the process dies. The encoding
/// and the commands' strict decoding cost more than the run itself
/// (BENCHMARKS.md, Region). Memory stays bounded whatever the region's size:
/// while the generator runs, the spill's buffers hold at most
/// [`crate::spill::SPILL_BUFFERED_BYTES_MAX`] bytes beside the generator's
/// own state (the persons drawn, for the payers and parents it picks among
/// them), and it lists where each day's chunks lie (24 bytes a chunk);
/// afterwards it holds that list and one window.
pub struct PlanWindows {
    config: PopulationConfig,
    spill: Spill,
    /// The windows still to read, as inclusive ranges of days.
    windows: std::vec::IntoIter<(NaiveDate, NaiveDate)>,
    /// The last instant of the previous window.
    prev: Option<DateTime<Utc>>,
    persons: u32,
    requests: usize,
}

impl PlanWindows {
    /// Runs the generator once, spilling its requests a day at a time to a
    /// temporary file in the system's temporary directory (`TMPDIR`), and
    /// cuts the period into windows of at most `requests_max` requests (a
    /// day asking more is a window of its own).
    ///
    /// # Errors
    /// [`SpillError`] when the temporary file cannot be created or written.
    pub fn new(
        cfg: PopulationConfig,
        campaigns: &[(Uuid, CampaignPublished)],
        requests_max: usize,
    ) -> Result<PlanWindows, SpillError> {
        let spill = Spill::new_in(&std::env::temp_dir(), SPILL_BUFFERED_BYTES_MAX)?;
        PlanWindows::with_spill(cfg, campaigns, requests_max, spill)
    }

    /// [`PlanWindows::new`] spilling to `spill`, an empty one (another
    /// directory, another buffer).
    ///
    /// # Errors
    /// [`SpillError`] when the temporary file cannot be written.
    pub fn with_spill(
        cfg: PopulationConfig,
        campaigns: &[(Uuid, CampaignPublished)],
        requests_max: usize,
        spill: Spill,
    ) -> Result<PlanWindows, SpillError> {
        let config = bounded(cfg);
        let (mut spill, persons) = run(config, campaigns, spill);
        let per_day = spill.finish()?;
        let requests = per_day.values().sum();
        Ok(PlanWindows {
            config,
            spill,
            windows: windows_of(&per_day, requests_max.max(1)).into_iter(),
            prev: None,
            persons,
            requests,
        })
    }

    /// What is generated (the config within the generator's bounds).
    pub fn config(&self) -> PopulationConfig {
        self.config
    }

    /// Persons the plan registers.
    pub fn persons(&self) -> u32 {
        self.persons
    }

    /// Requests of the whole plan.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// The windows not read yet.
    pub fn windows_left(&self) -> usize {
        self.windows.len()
    }

    /// Bytes of the temporary file the plan is spilled to.
    pub fn spilled_bytes(&self) -> u64 {
        self.spill.file_bytes()
    }

    /// Chunks of the temporary file (each a day's requests written out at once).
    pub fn spilled_chunks(&self) -> usize {
        self.spill.chunks()
    }

    /// The next window's requests, in request order; `None` after the last.
    ///
    /// # Errors
    /// [`SpillError`] when the temporary file cannot be read, or does not
    /// give back the requests written; the window is then lost, and the
    /// windows after it are still given.
    pub fn next_window(&mut self) -> Result<Option<Vec<PlannedCommand>>, SpillError> {
        let Some((from, through)) = self.windows.next() else {
            return Ok(None);
        };
        let mut commands = Vec::new();
        for day in from.iter_days().take_while(|d| *d <= through) {
            for (ordinal, at, step) in self.spill.read_day(day)? {
                let key = request_key(self.config.seed, ordinal);
                commands.push(PlannedCommand { at, key, step });
            }
        }
        // Each day comes back in the order drawn, and equal instants fall
        // on the same day: the stable sort gives the order `generate` gives.
        in_request_order(&mut commands, self.prev);
        self.prev = commands.last().map(|c| c.at).or(self.prev);
        Ok(Some(commands))
    }
}

/// Consecutive days grouped into windows of at most `max` requests (a day
/// above it alone), as inclusive ranges.
fn windows_of(per_day: &BTreeMap<NaiveDate, usize>, max: usize) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut open: Option<(NaiveDate, NaiveDate, usize)> = None;
    for (&day, &n) in per_day {
        open = match open {
            Some((from, _, held)) if held + n <= max => Some((from, day, held + n)),
            Some((from, through, _)) => {
                out.push((from, through));
                Some((day, day, n))
            }
            None => Some((day, day, n)),
        };
    }
    out.extend(open.map(|(from, through, _)| (from, through)));
    out
}

/// The windowed plan as it was made before the spill: one run of the
/// generator to count the requests of each day, then one whole run for each
/// window, keeping the window's days. Kept only so that the `plan_windows`
/// bench measures the spill against it in the same run; nothing else calls
/// it.
#[doc(hidden)]
pub mod regenerated {
    use super::*;

    /// One run of the generator that keeps nothing: the requests of the plan.
    pub fn generator_run(cfg: PopulationConfig, campaigns: &[(Uuid, CampaignPublished)]) -> usize {
        let (count, _) = run(bounded(cfg), campaigns, Count::default());
        count.0.values().sum()
    }

    /// Every window of at most `requests_max` requests, in order, each
    /// handed to `each`: the windows [`PlanWindows`] gives.
    pub fn windows(
        cfg: PopulationConfig,
        campaigns: &[(Uuid, CampaignPublished)],
        requests_max: usize,
        each: &mut dyn FnMut(Vec<PlannedCommand>),
    ) {
        let cfg = bounded(cfg);
        let (count, _) = run(cfg, campaigns, Count::default());
        let mut prev = None;
        for (from, through) in windows_of(&count.0, requests_max.max(1)) {
            let (keep, _) = run(cfg, campaigns, keep_days(cfg, from, through));
            let mut commands = keep.out;
            in_request_order(&mut commands, prev);
            prev = commands.last().map(|c| c.at).or(prev);
            each(commands);
        }
    }
}
