//! The article each rule id cites under each rulebook (RULES.md gives them).

use navigo_events_schema::RuleId;

/// Articles under CGVU-2026.
pub const CGVU_2026: &[(RuleId, &str)] = &[
    (RuleId::SubWindow, "CGVU-2026 §3.1"),
    (RuleId::PayCutoff, "CGVU-2026 §4.14.1"),
    (RuleId::PayFreeMonth, "CGVU-2026 §4.14.12.2"),
];

/// Articles under CGU-2011.
pub const CGU_2011: &[(RuleId, &str)] = &[
    (RuleId::SubWindow, "CGU-2011 §1.4"),
    (RuleId::PayCutoff, "CGU-2011 §2.9.6"),
    (RuleId::PayFreeMonth, "CGU-2011 §2.9.3"),
];
