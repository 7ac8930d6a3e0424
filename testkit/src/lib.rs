//! The test harness: given / when / then over the pure `handle` / `apply` loop,
//! with fixed instants, and builders for the usual commands. A dev-dependency of
//! the rules' tests and of every crate above them; never a dependency of a
//! library.
//!
//! ```text
//! Scenario::new()
//!     .given([tariff_990(), register(holder, birth)])
//!     .when(subscribe_agency(...))
//!     .then_refused(RuleId::SubAge);
//! ```

use chrono::{DateTime, Duration, NaiveDate, Utc};
use navigo_events_schema::command::{RegisterPerson, Subscribe};
use navigo_events_schema::event::{
    ReasonCodeEntry, ReasonCodesPublished, TariffPrice, TariffPublished,
};
use navigo_events_schema::mandate::{DebtorAccount, Iban};
use navigo_events_schema::types::{
    Actor, ActorRole, Address, Channel, DebitDay, MandateInput, Mark, PaymentRequest, Product,
    ProductKey, ReasonCode, Support, Zones,
};
use navigo_events_schema::{Command, CommandEnvelope, Event, Money, NewEvent, RuleId, StreamId};
use uuid::Uuid;

use navigo_rules::decision::{Context, Decision};
use navigo_rules::engine::handle;
use navigo_rules::ids::IdGen;
use navigo_rules::policy::Policy;
use navigo_rules::refusal::{CommandError, Refusal};
use navigo_rules::world::World;

/// A date (tests only: panics on an invalid date).
pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
}

/// An amount from its decimal text, "90.00" (tests only: panics on bad text).
pub fn money(s: &str) -> navigo_events_schema::Money {
    s.parse().expect("valid test amount")
}

/// 10:00 Europe/Paris on a date.
pub fn at(date: NaiveDate) -> DateTime<Utc> {
    navigo_rules::calendar::paris_start_of_day(date) + Duration::hours(10)
}

/// A fixed person id from a small number.
pub fn pid(n: u128) -> Uuid {
    Uuid::from_u128(0x1000_0000_0000_0000_0000_0000_0000_0000 + n)
}

/// A fixed contract id from a small number.
pub fn cid(n: u128) -> Uuid {
    Uuid::from_u128(0x2000_0000_0000_0000_0000_0000_0000_0000 + n)
}

/// An agent actor.
pub fn agent() -> Actor {
    Actor {
        role: ActorRole::Agent,
        id: "agent-1".into(),
    }
}

/// A command requested at 10:00 Paris on `date` through `channel`.
pub fn cmd(date: NaiveDate, channel: Option<Channel>, command: Command) -> CommandEnvelope {
    CommandEnvelope {
        request_at: at(date),
        actor: agent(),
        channel,
        idempotency_key: None,
        expected_version: None,
        command,
    }
}

/// Zones from text ("1-5").
pub fn zones(s: &str) -> Zones {
    s.parse().expect("valid zones")
}

/// The worked examples' tariff (RULES.md): 1-5 at 990.00 € (installment 90.00 €,
/// daily 4.50 €); 4-5 at 880.00 € (80.00 €); 2-3 at 935.00 €; 3-4 at 902.00 €;
/// Senior at 540.00 € (45.00 €), effective 2011-01-01.
pub fn tariff_990() -> CommandEnvelope {
    let price = |k: ProductKey, cents: i64| TariffPrice {
        product: k,
        annual: Money::from_cents(cents),
        mark: Mark::Unverified,
    };
    cmd(
        d(2011, 1, 1),
        None,
        Command::PublishTariff(TariffPublished {
            effective_from: d(2011, 1, 1),
            prices: vec![
                price(ProductKey::Annual(zones("1-5")), 99_000),
                price(ProductKey::Annual(zones("2-3")), 93_500),
                price(ProductKey::Annual(zones("3-4")), 90_200),
                price(ProductKey::Annual(zones("4-5")), 88_000),
                price(ProductKey::Senior, 54_000),
            ],
            source: "RULES.md worked examples (test tariff)".into(),
        }),
    )
}

/// The reason codes of DATA.md, AM04 (payer), MS03 (technical) and MD07.
pub fn reason_codes() -> CommandEnvelope {
    let e = |c: &str, payer: bool| ReasonCodeEntry {
        code: c.parse::<ReasonCode>().expect("valid code"),
        meaning: c.into(),
        attributable_to_payer: payer,
        mark: Mark::Verified,
    };
    cmd(
        d(2011, 1, 1),
        None,
        Command::PublishReasonCodes(ReasonCodesPublished {
            codes: vec![
                e("AM04", true),
                e("MS03", false),
                e("MD07", true),
                e("AC04", true),
            ],
        }),
    )
}

/// Registers person `n` born on `birth`, at the agency on 2011-01-02.
pub fn register(n: u128, birth: NaiveDate) -> CommandEnvelope {
    cmd(
        d(2011, 1, 2),
        Some(Channel::Agency),
        Command::RegisterPerson(RegisterPerson {
            person_id: pid(n),
            client_number: format!("C{n:08}").parse().expect("valid client number"),
            first_name: "Camille".into(),
            last_name: format!("Test{n}"),
            birth_date: birth,
            emancipation_proof: None,
            address: Address {
                street: "1 rue de Rivoli".into(),
                postal_code: "93100".into(),
                municipality: "Montreuil".into(),
            },
            address_since: Some(d(2000, 1, 1)),
        }),
    )
}

/// The mandate `M-n`, signed on 2010-01-01 (before any request of the
/// tests), on the French account `n`.
pub fn mandate(n: u128) -> MandateInput {
    let n64 = u64::try_from(n % u128::from(u64::MAX)).unwrap_or(0);
    MandateInput {
        reference: format!("M-{n}").parse().expect("a valid mandate reference"),
        signed_on: d(2010, 1, 1),
        debtor: DebtorAccount {
            iban: Iban::french(30004, 1, n64),
            bic: None,
            holder_name: format!("Titulaire {n}")
                .parse()
                .expect("a valid holder name"),
        },
    }
}

/// The mandate `reference`, otherwise as [`mandate`]`(n)`.
pub fn mandate_named(reference: impl AsRef<str>, n: u128) -> MandateInput {
    MandateInput {
        reference: reference
            .as_ref()
            .parse()
            .expect("a valid mandate reference"),
        ..mandate(n)
    }
}

/// A direct-debit request on day `day` with mandate `M-n` ([`mandate`]).
pub fn debit(day: u8, n: u128) -> PaymentRequest {
    PaymentRequest::DirectDebit {
        debit_day: DebitDay::new(day).expect("valid debit day"),
        mandate: mandate(n),
    }
}

/// A subscription command of contract `c` for holder = payer = person `p`.
pub fn subscribe(
    request: NaiveDate,
    channel: Channel,
    c: u128,
    p: u128,
    product: Product,
    start: NaiveDate,
    payment: PaymentRequest,
) -> CommandEnvelope {
    cmd(
        request,
        Some(channel),
        Command::Subscribe(Subscribe {
            contract_id: cid(c),
            holder: pid(p),
            payer: pid(p),
            product,
            start_date: start,
            payment,
            third_party_payer: false,
            senior_declaration: None,
            support: Support::Pass,
            first_payment_means: None,
        }),
    )
}

/// Annual 1-5.
pub fn annual_1_5() -> Product {
    Product::Annual {
        zones: zones("1-5"),
    }
}

/// The 990 € tariff and the reason codes, person 1 (born 1990-01-01) and
/// contract 1, Annual 1-5 subscribed at an agency on 2026-07-12 by person 1,
/// paid as `payment`: the commands most one-contract scenarios start from.
pub fn agency_contract(payment: PaymentRequest) -> Vec<CommandEnvelope> {
    vec![
        tariff_990(),
        reason_codes(),
        register(1, d(1990, 1, 1)),
        subscribe(
            d(2026, 7, 12),
            Channel::Agency,
            1,
            1,
            annual_1_5(),
            d(2026, 7, 12),
            payment,
        ),
    ]
}

/// [`agency_contract`] paid by direct debit on day 1, then the billing clock
/// through `through`: the one-contract history of the rebuild bench and of
/// the projection store's tests.
pub fn agency_contract_billed_through(through: NaiveDate) -> Scenario {
    Scenario::new()
        .given(agency_contract(debit(1, 1)))
        .advance(through)
}

/// A scenario: a world, its id generator and policy.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The world so far.
    pub world: World,
    /// Ids.
    pub ids: IdGen,
    /// Policy.
    pub policy: Policy,
    /// Every event appended, with its stream.
    pub log: Vec<(StreamId, NewEvent)>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::new()
    }
}

impl Scenario {
    /// An empty world, seed 42, default policy.
    pub fn new() -> Scenario {
        Scenario {
            world: World::new(),
            ids: IdGen::new(42),
            policy: Policy::default(),
            log: Vec::new(),
        }
    }

    /// Uses another policy.
    pub fn with_policy(mut self, policy: Policy) -> Scenario {
        self.policy = policy;
        self
    }

    /// Handles a command and applies its decisions.
    ///
    /// # Errors
    /// The command's error; nothing is applied then.
    pub fn run(&mut self, c: &CommandEnvelope) -> Result<Vec<Event>, CommandError> {
        let decisions = {
            let mut ctx = Context {
                policy: &self.policy,
                ids: &mut self.ids,
            };
            handle(&self.world, c, &mut ctx)?
        };
        Ok(self.apply(decisions, c.request_at))
    }

    fn apply(&mut self, decisions: Vec<Decision>, at: DateTime<Utc>) -> Vec<Event> {
        let mut out = Vec::new();
        for dec in decisions {
            self.world.apply_new(dec.stream, &dec.events, at);
            for e in dec.events {
                out.push(e.event.clone());
                self.log.push((dec.stream, e));
            }
        }
        out
    }

    /// Applies commands that must be accepted (panics with the refusal otherwise).
    pub fn given(mut self, cmds: impl IntoIterator<Item = CommandEnvelope>) -> Scenario {
        for c in cmds {
            if let Err(e) = self.run(&c) {
                panic!("given command refused: {e}\n{c:?}");
            }
        }
        self
    }

    /// Runs the billing clock through `through`, at 06:00 UTC of that day.
    pub fn advance(mut self, through: NaiveDate) -> Scenario {
        let at = navigo_rules::calendar::paris_start_of_day(through) + Duration::hours(6);
        let decisions = {
            let mut ctx = Context {
                policy: &self.policy,
                ids: &mut self.ids,
            };
            navigo_rules::billing::advance_to(&self.world, through, at, &mut ctx)
        };
        self.apply(decisions, at);
        self
    }

    /// The command under test.
    pub fn when(mut self, c: CommandEnvelope) -> Outcome {
        let result = self.run(&c);
        Outcome {
            scenario: self,
            result,
        }
    }

    /// Events of one contract's stream appended so far.
    pub fn contract_events(&self, c: Uuid) -> Vec<&NewEvent> {
        self.log
            .iter()
            .filter(|(s, _)| *s == StreamId::contract(c))
            .map(|(_, e)| e)
            .collect()
    }
}

/// The outcome of `when`.
#[derive(Debug)]
pub struct Outcome {
    /// The scenario after the command (unchanged when refused).
    pub scenario: Scenario,
    /// Its events, or its error.
    pub result: Result<Vec<Event>, CommandError>,
}

impl Outcome {
    /// Asserts acceptance and checks the events.
    pub fn then_expect(self, check: impl FnOnce(&[Event])) -> Scenario {
        match &self.result {
            Ok(events) => check(events),
            Err(e) => panic!("expected acceptance, got {e}"),
        }
        self.scenario
    }

    /// Asserts a refusal by `rule` and returns it.
    pub fn then_refused(self, rule: RuleId) -> Refusal {
        match self.result {
            Err(CommandError::Refused(r)) => {
                assert_eq!(r.rule, rule, "refused by another rule: {r}");
                assert!(
                    !r.message.is_empty(),
                    "a refusal says what would make it acceptable"
                );
                r
            }
            Err(e) => panic!("expected a refusal by {rule}, got {e}"),
            Ok(ev) => panic!("expected a refusal by {rule}, got events {ev:?}"),
        }
    }

    /// Asserts an invalid-command error on `field`.
    pub fn then_invalid(self, field: &str) {
        match self.result {
            Err(CommandError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected an invalid {field}, got {other:?}"),
        }
    }
}
