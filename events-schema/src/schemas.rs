//! The JSON Schemas the ledger publishes (`events-schema/schemas/`), generated
//! from the types of this crate and checked against the committed files by the
//! tests.

use crate::command::CommandEnvelope;
use crate::envelope::{Envelope, RawEventLine};
use crate::event::Event;
use crate::{upcast, views};

/// One committed JSON Schema file: its path under `events-schema/schemas/` and content.
pub struct SchemaFile {
    /// Path relative to `events-schema/schemas/`.
    pub path: String,
    /// The schema.
    pub schema: schemars::Schema,
}

/// Every schema the ledger publishes: one per event type and version (current
/// versions from the types, older ones from their upcast structs), the command
/// envelope, the raw event line of `navigo-ledger append`, and every JSON
/// output of the CLI and of the HTTP service (`views/`).
pub fn schema_files() -> Vec<SchemaFile> {
    let mut out: Vec<SchemaFile> = Event::schemas()
        .into_iter()
        .map(|(name, v, schema)| SchemaFile {
            path: format!("events/{name}.v{v}.json"),
            schema,
        })
        .collect();
    out.extend(
        upcast::old_schemas()
            .into_iter()
            .map(|(name, v, schema)| SchemaFile {
                path: format!("events/{name}.v{v}.json"),
                schema,
            }),
    );
    out.push(SchemaFile {
        path: "command.json".into(),
        schema: schemars::schema_for!(CommandEnvelope),
    });
    out.push(SchemaFile {
        path: "raw-event-line.json".into(),
        schema: schemars::schema_for!(RawEventLine),
    });
    // The views of the projections (`navigo-projections`): their public API.
    let views: [(&str, schemars::Schema); 6] = [
        ("balance", schemars::schema_for!(views::PayerBalance)),
        (
            "contract-balance",
            schemars::schema_for!(views::ContractBalance),
        ),
        ("calendar", schemars::schema_for!(views::DebitCalendar)),
        ("bans", schemars::schema_for!(views::PersonBans)),
        ("refunds", schemars::schema_for!(views::PersonRefunds)),
        ("state", schemars::schema_for!(views::ContractStateView)),
    ];
    out.extend(views.into_iter().map(|(name, schema)| SchemaFile {
        path: format!("views/{name}.json"),
        schema,
    }));
    out.extend(
        output_schemas()
            .into_iter()
            .map(|(name, schema)| SchemaFile {
                path: format!("views/{name}.json"),
                schema,
            }),
    );
    out.extend(
        proof_schemas()
            .into_iter()
            .map(|(name, schema)| SchemaFile {
                path: format!("views/{name}.json"),
                schema,
            }),
    );
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The schema of every other JSON output of the binary, by file name: the CLI's
/// (`--json` of each command, and the lines of `apply` and `advance`) and the
/// HTTP service's answers.
fn output_schemas() -> Vec<(&'static str, schemars::Schema)> {
    use schemars::schema_for;
    vec![
        ("validity", schema_for!(views::ValidityView)),
        ("state-validity", schema_for!(views::StateAndValidity)),
        ("envelope", schema_for!(Envelope)),
        ("stored-event", schema_for!(views::StoredEvent)),
        ("apply-outcome", schema_for!(views::ApplyOutcome)),
        ("command-accepted", schema_for!(views::CommandAccepted)),
        ("batch-outcomes", schema_for!(views::BatchOutcomes)),
        ("audit-entries", schema_for!(Vec<views::AuditEntryView>)),
        ("audit", schema_for!(views::AuditTrail)),
        ("diff", schema_for!(views::DiffView)),
        ("what-if", schema_for!(views::WhatIfView)),
        ("verify", schema_for!(views::VerifyView)),
        ("verify-answer", schema_for!(views::VerifyAnswer)),
        ("stats", schema_for!(views::StatsView)),
        ("migrate", schema_for!(views::MigrateView)),
        ("reseal", schema_for!(views::ResealView)),
        ("rebuild", schema_for!(views::RebuildSummary)),
        ("follow", schema_for!(views::FollowProgress)),
        ("check-projections", schema_for!(views::ProjectionCheck)),
        ("demo", schema_for!(views::DemoSummary)),
        ("error", schema_for!(views::ErrorBody)),
        ("health", schema_for!(views::Health)),
        ("ready", schema_for!(views::Ready)),
        ("feed-page", schema_for!(views::FeedPage)),
        ("list-page", schema_for!(views::ListPage)),
        ("partner-answer", schema_for!(views::PartnerAnswer)),
        ("account-created", schema_for!(views::AccountCreated)),
        ("session", schema_for!(views::SessionOpened)),
        ("my-contracts", schema_for!(views::MyContracts)),
        ("online-renewal", schema_for!(views::OnlineRenewal)),
        ("attestation", schema_for!(views::Attestation)),
        ("retention", schema_for!(views::RetentionView)),
        ("subject-export", schema_for!(views::SubjectExport)),
        ("bank-creditor", schema_for!(views::CreditorView)),
        ("bank-collect", schema_for!(views::CollectionFileView)),
        ("bank-refunds", schema_for!(views::RefundFileView)),
        ("bank-import", schema_for!(views::BankImportView)),
    ]
}

/// The schemas of the auditors' tamper evidence: the signing key, checkpoints,
/// proofs and the check of a log against a checkpoint.
fn proof_schemas() -> Vec<(&'static str, schemars::Schema)> {
    use schemars::schema_for;
    vec![
        ("key-created", schema_for!(views::KeyCreated)),
        ("checkpoint", schema_for!(views::CheckpointView)),
        ("checkpoint-list", schema_for!(views::CheckpointList)),
        ("inclusion-proof", schema_for!(views::InclusionProofView)),
        (
            "consistency-proof",
            schema_for!(views::ConsistencyProofView),
        ),
        ("stream-proof", schema_for!(views::StreamProofView)),
        ("verify-against", schema_for!(views::AgainstView)),
        ("dispute-bundle", schema_for!(views::DisputeBundle)),
        ("bundle-check", schema_for!(views::BundleCheck)),
    ]
}
