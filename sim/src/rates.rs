//! The rates that drive the simulated population. Each figure says where it comes
//! from. IDFM does not publish per-contract monthly rates of suspension, loss or
//! rejection, so most figures are marked "estimate": an order of magnitude chosen
//! so that three years of 10,000 contracts exercise every rule a few dozen times or
//! more; replace them when a published figure is found.

/// Share of holders who are students aged 16 to 25. Estimate (IDFM reports that
/// young people mostly hold the Imagine R pass; a minority hold the Navigo Annuel).
pub const STUDENT_SHARE: f64 = 0.12;
/// Share of holders aged 62 or more. Estimate, in line with the INSEE share of
/// people aged 62+ among Île-de-France adults (about 22 %), reduced because fewer
/// of them commute.
pub const SENIOR_SHARE: f64 = 0.14;
/// Among holders aged 62+, the share subscribing the Senior product directly.
/// Estimate.
pub const SENIOR_PRODUCT_SHARE: f64 = 0.55;
/// Among students, the share whose contract a parent pays. Estimate.
pub const STUDENT_PAID_BY_PARENT: f64 = 0.75;
/// Among working adults, the share whose partner pays (one payer, several
/// holders). Estimate.
pub const ADULT_PAID_BY_PARTNER: f64 = 0.08;
/// Share of contracts financed by a third-party payer (an employer or a social
/// body). Estimate.
pub const THIRD_PARTY_SHARE: f64 = 0.03;
/// Weights of the Annual zone ranges 1-5, 2-3, 3-4, 4-5. Estimate: since the
/// single price of 2015 almost every Annual covers all zones (IDFM), the two-zone
/// ranges remain for a minority.
pub const ZONE_WEIGHTS: [f64; 4] = [0.88, 0.05, 0.03, 0.04];
/// Share of contracts paid in cash (annual payment). Estimate (CGVU-2026 §4.5:
/// direct debit is the usual method).
pub const CASH_SHARE: f64 = 0.06;
/// Weights of the debit days 1, 2, 8, 12 (CGVU-2026 §4.5: the four allowed days;
/// the 1st is the default). Estimate.
pub const DEBIT_DAY_WEIGHTS: [f64; 4] = [0.55, 0.10, 0.20, 0.15];
/// Share of subscriptions made online (the rest at an agency, a few by mail).
/// Estimate.
pub const ONLINE_SHARE: f64 = 0.60;
/// Share of subscriptions made by mail. Estimate.
pub const MAIL_SHARE: f64 = 0.05;
/// Share of the contracts already subscribed in January 2024 (the stock); the
/// others start evenly over the period (the flow). Estimate.
pub const STOCK_SHARE: f64 = 0.55;
/// Share of holders living in Paris. INSEE: Paris has about 2.1 of the 12.3
/// million inhabitants of Île-de-France (17 %); commuters over-represent it a bit.
pub const PARIS_SHARE: f64 = 0.22;
/// Share of holders living in a municipality of the PUNCT-2024 campaign. Estimate,
/// raised above the population share so that the 2025 refund claims are visible.
pub const CAMPAIGN_MUNICIPALITY_SHARE: f64 = 0.18;
/// Share of holders who declare a place of work or study in another
/// municipality. Estimate.
pub const WORK_STUDY_ELSEWHERE_SHARE: f64 = 0.30;
/// Monthly probability that a person moves. INSEE: about 10 % of Île-de-France
/// inhabitants move each year (under 1 % a month).
pub const MOVE_PER_MONTH: f64 = 0.008;

/// Monthly probability that an active contract is suspended. Estimate.
pub const SUSPEND_PER_MONTH: f64 = 0.010;
/// Share of suspensions requested with a planned resumption. Estimate.
pub const SUSPEND_WITH_PLANNED_RESUMPTION: f64 = 0.30;
/// Share of suspensions never resumed (terminated by the clock after 12 months,
/// `SUSP-MAX-12M`). Estimate.
pub const SUSPEND_NEVER_RESUMED: f64 = 0.15;
/// Monthly probability of a zone change on an Annual contract. Estimate.
pub const ZONE_CHANGE_PER_MONTH: f64 = 0.004;
/// Monthly probability of a loss or theft declaration. Estimate.
pub const LOSS_PER_MONTH: f64 = 0.006;
/// Share of losses that are thefts. Estimate.
pub const THEFT_SHARE: f64 = 0.35;
/// Share of contracts whose holder loses the pass again and again (three to five
/// declarations within a year, past the free replacements and the limit of
/// `LOSS-TERMINATION`). Estimate.
pub const SERIAL_LOSER_SHARE: f64 = 0.003;
/// Monthly probability that a presented debit is rejected. Estimate: SEPA direct
/// debit reject rates are commonly quoted between 0.5 % and 2 %.
pub const REJECT_PER_MONTH: f64 = 0.012;
/// Reason codes of rejections with their weights. Estimate: insufficient funds
/// (AM04) dominates SEPA core rejects; deceased debtors (MD07) are rare.
pub const REJECT_REASONS: [(&str, f64); 8] = [
    ("AM04", 0.68),
    ("MS02", 0.08),
    ("AC04", 0.06),
    ("MS03", 0.05),
    ("AC06", 0.04),
    ("MD01", 0.03),
    ("AG01", 0.03),
    ("MD07", 0.03),
];
/// Share of rejected debts settled before the unpaid grace ends. Estimate.
pub const SETTLE_IN_GRACE: f64 = 0.78;
/// Weights of the settlement channels online card, phone, agency. Estimate.
pub const SETTLE_CHANNEL_WEIGHTS: [f64; 3] = [0.55, 0.15, 0.30];
/// Share of delivered Trésor Public notices settled. Estimate.
pub const TREASURY_SETTLED_SHARE: f64 = 0.45;
/// Monthly probability that the payer terminates. Estimate (about 7 % a year).
pub const TERMINATE_PER_MONTH: f64 = 0.006;
/// Monthly probability that a debit-day change is requested. Estimate.
pub const DEBIT_DAY_CHANGE_PER_MONTH: f64 = 0.003;
/// Monthly probability of a payer change. Estimate.
pub const PAYER_CHANGE_PER_MONTH: f64 = 0.0015;
/// Monthly probability of a switch from direct debit to cash. Estimate.
pub const METHOD_SWITCH_PER_MONTH: f64 = 0.002;
/// Monthly probability that an eligible holder (62+, Annual 1-5, direct debit)
/// requests the Senior switch. Estimate.
pub const SENIOR_SWITCH_PER_MONTH: f64 = 0.02;
/// Monthly probability that fraud is established on a contract. Estimate.
pub const FRAUD_PER_MONTH: f64 = 0.0004;
/// Share of frauds with accomplices named. Estimate.
pub const FRAUD_WITH_ACCOMPLICES: f64 = 0.6;
/// Share of cash contracts switched to direct debit at the end of their period
/// (`PAY-SWITCH-TO-DEBIT`: at renewal). Estimate.
pub const METHOD_SWITCH_AT_RENEWAL: f64 = 0.10;
/// Share of cash contracts renewed at the end of their period. Estimate.
pub const CASH_RENEWED: f64 = 0.75;
/// Share of eligible holders (campaign municipality) who file a PUNCT-2024
/// refund request in the 2025 window. Estimate.
pub const CLAIM_FILED_SHARE: f64 = 0.55;
