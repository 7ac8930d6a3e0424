//! The JSON Schemas the ledger publishes (`events-schema/schemas/`), generated
//! from the types of this crate and checked against the committed files by the
//! tests.

use crate::command::CommandEnvelope;
use crate::envelope::RawEventLine;
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
/// envelope and the raw event line of `navigo-ledger append`.
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
    out.push(SchemaFile {
        path: "views/validity.json".into(),
        schema: schemars::schema_for!(views::ValidityView),
    });
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}
