//! The stream histories a command reads, beyond the folded states: the ledger's
//! world holds states and indexes only, and loads these from the store for the
//! command that needs them, then forgets them.
//!
//! The rules read a stream's history in two places only: an annulment
//! (`correction::annul` finds the annulled event in its stream, and the fold
//! rebuilds the stream without it) and the ban facts of a person
//! (`World::ban_facts` refolds every contract the person pays or paid, or whose
//! fraud finding names them, to date its unpaid termination and settlements),
//! which `SUB-BANNED-PAYER` and `SUB-BANNED-HOLDER` ask at a subscription and a
//! payer change. `tests/slice_judging.rs` judges every command kind the
//! simulation sends against the world with only these histories loaded, and
//! against the whole world, and finds the same decisions.

use std::collections::BTreeSet;

use navigo_events_schema::{Command, CommandEnvelope, StreamId};
use navigo_rules::world::World;
use uuid::Uuid;

/// Streams whose history one command may load (a payer's contracts, for its
/// bans): a named bound on the memory a command's histories take. Beyond it the
/// command is refused as too large to judge, never judged on part of the facts
/// (a person paying more contracts than this is a data error).
pub const COMMAND_HISTORY_STREAMS_MAX: usize = 4_096;

/// The contract streams whose history the ban facts of `person` read.
pub fn ban_streams(world: &World, person: Uuid, out: &mut BTreeSet<StreamId>) {
    let contracts = world
        .by_payer
        .get(&person)
        .into_iter()
        .chain(world.by_fraud_party.get(&person))
        .flatten();
    out.extend(contracts.map(|id| StreamId::contract(*id)));
}

/// The streams whose history judging `cmd` reads.
pub fn of_command(world: &World, cmd: &CommandEnvelope) -> BTreeSet<StreamId> {
    let mut out = BTreeSet::new();
    match &cmd.command {
        Command::AnnulEvent(c) => {
            out.insert(c.stream);
        }
        Command::Subscribe(c) => {
            ban_streams(world, c.payer, &mut out);
            ban_streams(world, c.holder, &mut out);
        }
        Command::ChangePayer(c) => ban_streams(world, c.payer, &mut out),
        _ => {}
    }
    out
}
