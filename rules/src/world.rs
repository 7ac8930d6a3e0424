//! The world: the in-memory view the rules read. [`World::apply`] folds any stored
//! event; it cannot fail and holds no rule.
//!
//! Annulment (`EventAnnulled`): an annulled event no longer counts. The world keeps
//! each stream's envelopes and, on an annulment, rebuilds that stream's state from
//! its remaining events (the annulment itself stays in the history).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::event::{CampaignPublished, PersonRegistered};
use navigo_events_schema::types::{Address, ClientNumber, PlaceKind};
use navigo_events_schema::{Envelope, Event, Hash, NewEvent, StreamId, StreamKind};
use uuid::Uuid;

use navigo_events_schema::event::TerminationReason;

use crate::bans::{BanFact, BanWindow, FraudRole};
use crate::catalogue::Catalogue;
use crate::contract::state::ContractState;
use crate::idset::IdSet;

/// The person's personal data was erased (`TERM-RETENTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased(pub Uuid);

/// A declared place of work or study.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkStudyPlace {
    /// Work or study.
    pub kind: PlaceKind,
    /// Municipality.
    pub municipality: String,
    /// Proof reference.
    pub proof_ref: String,
    /// From when.
    pub since: NaiveDate,
}

/// A refund claim filed for a holder, with its decision once made.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClaimRecord {
    /// The `RefundClaimFiled` event id.
    pub event_id: Uuid,
    /// Date filed.
    pub date: NaiveDate,
    /// The claim.
    pub filed: navigo_events_schema::event::RefundClaimFiled,
    /// Its decision.
    pub decided: Option<navigo_events_schema::event::RefundClaimDecided>,
}

/// A person (holder and/or payer).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PersonState {
    /// Person id.
    pub id: Uuid,
    /// Client number.
    pub client_number: ClientNumber,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Emancipation proof.
    pub emancipation_proof: Option<String>,
    /// Residences by effective date.
    pub addresses: Vec<(NaiveDate, Address)>,
    /// Declared places of work or study.
    pub places: Vec<WorkStudyPlace>,
    /// Refund claims filed for this person as holder.
    pub claims: Vec<ClaimRecord>,
    /// Refunds due on the person stream (punctuality), by `RefundDue` event id, with
    /// whether they are paid.
    pub refunds: BTreeMap<Uuid, (navigo_events_schema::event::RefundDue, bool)>,
    /// The latest date of an event of the person's own stream, each counted
    /// at the later of its effective date and the Paris date it was recorded
    /// (a registration takes effect on the date the address is held since,
    /// often years before the person came): how long the person dealt with
    /// the operator outside any contract (`TERM-RETENTION`).
    pub last_event_date: NaiveDate,
    /// The person's personal data was erased (`TERM-RETENTION`): the names, the
    /// birth date, the residences and the places are empty and no rule may read
    /// them ([`PersonState::personal_data`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erased: bool,
}

/// The birth date an erased person's state holds, which no rule reads: a rule
/// that needs the birth date asks [`PersonState::personal_data`] first.
pub const ERASED_BIRTH_DATE: NaiveDate = NaiveDate::MIN;

impl PersonState {
    /// Whether a refund due to the person is not yet paid: the back office's
    /// work on the person ([`OpenItems`]).
    pub fn has_open_items(&self) -> bool {
        self.refunds.values().any(|(_, paid)| !paid)
    }

    /// The residence on a date.
    pub fn address_on(&self, date: NaiveDate) -> Option<&Address> {
        self.addresses
            .iter()
            .rev()
            .find(|(d, _)| *d <= date)
            .or(self.addresses.first())
            .map(|(_, a)| a)
    }

    /// Whether the person's personal data can be read: `Err` with the erasure
    /// when it was erased (`TERM-RETENTION`).
    ///
    /// # Errors
    /// The person was erased.
    pub fn personal_data(&self) -> Result<(), Erased> {
        if self.erased {
            Err(Erased(self.id))
        } else {
            Ok(())
        }
    }

    /// A registered person's state; an erased one's (its sealed data unopened)
    /// holds no personal data.
    fn registered(env: &Envelope, r: &PersonRegistered) -> PersonState {
        let since = env.effective_date;
        let mut p = PersonState {
            id: env.stream.id,
            client_number: r.client_number.clone(),
            first_name: String::new(),
            last_name: String::new(),
            birth_date: ERASED_BIRTH_DATE,
            emancipation_proof: None,
            addresses: Vec::new(),
            places: Vec::new(),
            claims: Vec::new(),
            refunds: BTreeMap::new(),
            last_event_date: dealt_on(env),
            erased: true,
        };
        if let Some(d) = r.personal.value() {
            p.first_name = d.first_name.clone();
            p.last_name = d.last_name.clone();
            p.birth_date = d.birth_date;
            p.emancipation_proof = d.emancipation_proof.clone();
            p.addresses = vec![(since, d.address.clone())];
            p.erased = false;
        }
        p
    }

    /// Forgets the personal data (`PersonalDataErased`), also what this process
    /// opened before the key was destroyed.
    fn erase(&mut self) {
        self.first_name.clear();
        self.last_name.clear();
        self.birth_date = ERASED_BIRTH_DATE;
        self.emancipation_proof = None;
        self.addresses.clear();
        self.places.clear();
        self.erased = true;
    }

    fn apply(&mut self, env: &Envelope) {
        self.last_event_date = self.last_event_date.max(dealt_on(env));
        match &env.event {
            Event::AddressChanged(a) => {
                if let Some(address) = a.address.value() {
                    self.addresses.push((env.effective_date, address.clone()));
                    self.addresses.sort_by_key(|(d, _)| *d);
                }
            }
            Event::WorkStudyPlaceDeclared(w) => {
                if let Some(place) = w.place.value() {
                    self.places.push(WorkStudyPlace {
                        kind: w.kind,
                        municipality: place.municipality.clone(),
                        proof_ref: place.proof_ref.clone(),
                        since: env.effective_date,
                    });
                }
            }
            Event::PersonalDataErased(_) => self.erase(),
            Event::RefundClaimFiled(c) => self.claims.push(ClaimRecord {
                event_id: env.event_id,
                date: env.effective_date,
                filed: c.clone(),
                decided: None,
            }),
            Event::RefundClaimDecided(d) => {
                if let Some(c) = self
                    .claims
                    .iter_mut()
                    .find(|c| c.event_id == d.claim_event_id)
                {
                    c.decided = Some(d.clone());
                }
            }
            Event::RefundDue(r) => {
                self.refunds.insert(env.event_id, (r.clone(), false));
            }
            Event::RefundPaid(p) => {
                if let Some(r) = self.refunds.get_mut(&p.refund_event_id) {
                    r.1 = true;
                }
            }
            _ => {}
        }
    }
}

/// The day an event of a person's stream counts for in
/// [`PersonState::last_event_date`].
fn dealt_on(env: &Envelope) -> NaiveDate {
    env.effective_date
        .max(crate::calendar::paris_date(env.recorded_at))
}

/// Which index of the world an edge belongs to ([`Residency::new_edges`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IndexKind {
    /// [`World::by_holder`].
    Holder,
    /// [`World::by_payer`].
    Payer,
    /// [`World::by_fraud_party`].
    FraudParty,
    /// [`World::by_client_number`] (the key is the client number's bytes).
    ClientNumber,
}

/// One edge added to an index: the index, its key's bytes (a person id, or a
/// client number), the contract or person it names.
pub type IndexEdge = (IndexKind, Vec<u8>, Uuid);

/// What a paged world (the ledger's) knows beyond its resident states: which
/// states exist but are not resident, which were asked for while not resident
/// (misses), and what changed since the derived store was last written.
///
/// Decision (memory bounded by a cache, not by the contracts): the ledger's
/// world keeps every stream's version and every index, but only some states;
/// the rules stay pure and synchronous, so a rule that asks for a state that
/// exists but is not resident gets `None` and the ask is recorded as a miss;
/// the ledger pages the missed states in and judges again (the rules are
/// deterministic), and appends only a judgment without misses. A world that is
/// not paged (projections, look-aheads, tests) holds every state and records
/// nothing.
#[derive(Debug, Default)]
pub struct Residency {
    /// Whether states may be absent from the maps while their stream exists.
    pub paged: bool,
    /// Streams asked for while not resident, since [`World::take_misses`].
    misses: std::sync::Mutex<BTreeSet<StreamId>>,
    /// Contract and person streams whose state changed (or was removed) since
    /// the derived store was last written: never dropped before written.
    pub dirty: BTreeSet<StreamId>,
    /// Streams whose version changed since the derived store was last written.
    pub dirty_versions: BTreeSet<StreamId>,
    /// Index edges added since the derived store was last written.
    pub new_edges: Vec<IndexEdge>,
    /// Contract and person streams that exist but hold no state (a subscription
    /// or registration annulled), known resident like a state.
    pub stateless: BTreeSet<StreamId>,
    /// When each resident stream was last paged in or changed (a tick of
    /// [`Residency::clock`]): the eviction drops the oldest first.
    pub last_used: std::collections::HashMap<StreamId, u64>,
    /// The tick of the last use.
    pub clock: u64,
    /// Where the derived store's chunks of versions and index edges start
    /// (each a chunk's entry key): the layout the ledger's states module
    /// keeps, so that a flush rewrites only the chunks its changes fall in.
    pub chunk_starts: BTreeSet<Vec<u8>>,
}

impl Clone for Residency {
    fn clone(&self) -> Residency {
        Residency {
            paged: self.paged,
            misses: std::sync::Mutex::new(self.misses_guard().clone()),
            dirty: self.dirty.clone(),
            dirty_versions: self.dirty_versions.clone(),
            new_edges: self.new_edges.clone(),
            stateless: self.stateless.clone(),
            last_used: self.last_used.clone(),
            clock: self.clock,
            chunk_starts: self.chunk_starts.clone(),
        }
    }
}

impl Residency {
    fn misses_guard(&self) -> std::sync::MutexGuard<'_, BTreeSet<StreamId>> {
        // A poisoned lock only means a reader panicked while recording a miss;
        // the set inside is still a set of stream ids.
        self.misses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a use of `stream` now.
    pub fn touch(&mut self, stream: StreamId) {
        self.clock += 1;
        self.last_used.insert(stream, self.clock);
    }
}

/// The contracts and persons with an open item: a refund not yet paid, or a
/// treasury notice not yet delivered or settled ([`ContractState::has_open_items`],
/// [`PersonState::has_open_items`]). The back office's monthly round reads
/// these states only, instead of paging in every state of a region.
///
/// The set is kept as states change ([`World::apply_live`] and the refold of a
/// state), which is when they are resident; it is not stored with the paged
/// states. A world opened from stored states therefore starts with the set
/// unknown, and one walk of every state rebuilds it ([`OpenItems::rebuilt`]).
///
/// Decision: not storing the set costs one walk of every state per process
/// that runs the back office (the first round), not a wrong round; storing it
/// would add entries and a version to the derived data for a saving of one
/// walk per opening.
#[derive(Debug, Clone, Default)]
pub struct OpenItems {
    /// Whether `streams` holds every state with an open item.
    known: bool,
    /// The streams whose state has an open item (those known).
    streams: BTreeSet<StreamId>,
}

impl OpenItems {
    /// The streams with an open item, in stream order (contracts first), when
    /// the set is known; `None` when only a walk of every state can tell.
    pub fn streams(&self) -> Option<&BTreeSet<StreamId>> {
        self.known.then_some(&self.streams)
    }

    /// Records whether `stream` has an open item.
    pub fn set(&mut self, stream: StreamId, open: bool) {
        if open {
            self.streams.insert(stream);
        } else {
            self.streams.remove(&stream);
        }
    }

    /// The set as a walk of every state found it: known from now on.
    pub fn rebuilt(&mut self, streams: BTreeSet<StreamId>) {
        self.streams = streams;
        self.known = true;
    }

    /// Marks the set complete: for a world folded from the start of the log,
    /// where every state changed through [`World::apply_live`].
    pub fn mark_known(&mut self) {
        self.known = true;
    }
}

/// Each contract's wake date: the date of the earliest step the billing clock
/// would take for it with no upper bound (`billing::wake_date`), so that an
/// advance through a date pages in only the contracts due by then.
///
/// A contract is in one of three cases: a date (its earliest step), no date
/// (no step at all: it is left out of every advance until its state or the
/// catalogue changes), or unknown (absent from the index: its state changed
/// and the date was not computed yet, the catalogue changed, or the derived
/// data it was opened from holds no date for it). An unknown contract is due:
/// the clock pages it in, decides for it as a whole walk would, and computes
/// its date. The world only forgets dates (it holds no policy and no rule);
/// the ledger computes them (`billing::refresh_wakes`).
#[derive(Debug, Clone, Default)]
pub struct WakeIndex {
    /// The known dates, by contract (`None`: no step).
    dates: BTreeMap<Uuid, Option<NaiveDate>>,
    /// Contracts whose date was forgotten since the last refresh (they were
    /// resident when it was: their state had just changed).
    stale: BTreeSet<Uuid>,
    /// Contracts whose date changed (or was forgotten) since the derived store
    /// was last written.
    dirty: BTreeSet<Uuid>,
    /// The fingerprint of the policy the dates were computed under (set by the
    /// ledger; the dates depend on the policy's delays).
    pub policy: u64,
}

impl WakeIndex {
    /// The date of a contract: `None` when unknown, `Some(None)` when it has no
    /// step.
    pub fn get(&self, id: Uuid) -> Option<Option<NaiveDate>> {
        self.dates.get(&id).copied()
    }

    /// Whether the clock must page a contract in for an advance through
    /// `through`: its date is on or before it, or unknown.
    pub fn is_due(&self, id: Uuid, through: NaiveDate) -> bool {
        match self.get(id) {
            None => true,
            Some(wake) => wake.is_some_and(|d| d <= through),
        }
    }

    /// Records a computed date (`None`: no step).
    pub fn set(&mut self, id: Uuid, wake: Option<NaiveDate>) {
        self.stale.remove(&id);
        if self.dates.insert(id, wake) != Some(wake) {
            self.dirty.insert(id);
        }
    }

    /// Records a date read from the derived store (it is stored already).
    pub fn load(&mut self, id: Uuid, wake: Option<NaiveDate>) {
        self.dates.insert(id, wake);
    }

    /// Forgets a contract's date: its state changed.
    pub fn forget(&mut self, id: Uuid) {
        self.dates.remove(&id);
        self.stale.insert(id);
        self.dirty.insert(id);
    }

    /// Forgets every date (the catalogue changed, or a caller wants the next
    /// advance to walk every contract); `resident` are the contracts whose
    /// date the next refresh can compute at once.
    pub fn forget_all(&mut self, resident: impl Iterator<Item = Uuid>) {
        self.dates.clear();
        self.stale.extend(resident);
    }

    /// Takes the contracts forgotten since the last call.
    pub fn take_stale(&mut self) -> BTreeSet<Uuid> {
        std::mem::take(&mut self.stale)
    }

    /// Takes the contracts whose stored date is to be written again.
    pub fn take_dirty(&mut self) -> BTreeSet<Uuid> {
        std::mem::take(&mut self.dirty)
    }

    /// Whether some date is to be written to the derived store.
    pub fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// The contracts with a known date or known to have no step.
    pub fn known(&self) -> usize {
        self.dates.len()
    }

    /// The contracts with a step, with its date, in id order.
    pub fn with_step(&self) -> impl Iterator<Item = (Uuid, NaiveDate)> + '_ {
        self.dates.iter().filter_map(|(id, d)| d.map(|d| (*id, d)))
    }
}

/// A state read from the derived store ([`World::insert_paged`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum PagedState {
    /// A contract's.
    Contract(Box<ContractState>),
    /// A person's.
    Person(Box<PersonState>),
}

/// The in-memory view of the whole ledger.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// Persons by id.
    pub persons: BTreeMap<Uuid, PersonState>,
    /// Contracts by id.
    pub contracts: BTreeMap<Uuid, ContractState>,
    /// The tariff catalogue and reference data.
    pub catalogue: Catalogue,
    /// Campaigns by id.
    pub campaigns: BTreeMap<Uuid, CampaignPublished>,
    /// Contracts of each holder.
    pub by_holder: BTreeMap<Uuid, IdSet>,
    /// Contracts each person pays or paid.
    pub by_payer: BTreeMap<Uuid, IdSet>,
    /// Contracts whose fraud finding names the person, as fraudster or
    /// accomplice (`BAN-FRAUD-3Y`), findings later annulled included: a superset
    /// that [`World::ban_facts`] filters, so that it reads a person's contracts
    /// instead of scanning every contract.
    pub by_fraud_party: BTreeMap<Uuid, IdSet>,
    /// Persons registered under each client number, registrations later
    /// annulled included: a superset that [`World::person_by_client_number`]
    /// filters, so that a client number is found without scanning every person.
    pub by_client_number: BTreeMap<String, IdSet>,
    /// Version (last stream sequence) of each stream.
    pub versions: BTreeMap<StreamId, u64>,
    /// Every envelope of each stream, for annulments and audits.
    pub history: BTreeMap<StreamId, Vec<Envelope>>,
    /// Idempotency keys already used, with the positions they produced.
    pub idempotency_keys: BTreeMap<String, Vec<u64>>,
    /// Last global position folded.
    pub position: u64,
    /// Hash of the last record folded.
    pub head_hash: Hash,
    /// The latest instant recorded on a folded event (the head's, as positions and
    /// recorded instants both grow in import mode); `None` for an empty ledger.
    pub head_recorded_at: Option<DateTime<Utc>>,
    /// What a paged world knows of the states it does not hold.
    pub residency: Residency,
    /// Each contract's wake date (a paged world's; see [`WakeIndex`]).
    pub wakes: WakeIndex,
    /// The states with an open item (see [`OpenItems`]).
    pub open_items: OpenItems,
}

impl World {
    /// An empty world.
    pub fn new() -> World {
        World::default()
    }

    /// The version of a stream (0 when it does not exist).
    pub fn version(&self, stream: StreamId) -> u64 {
        self.versions.get(&stream).copied().unwrap_or(0)
    }

    /// A contract (`None` when it does not exist, or, in a paged world, when it
    /// is not resident: the ask is then recorded as a miss).
    pub fn contract(&self, id: Uuid) -> Option<&ContractState> {
        let found = self.contracts.get(&id);
        if found.is_none() {
            self.note_miss(StreamId::contract(id));
        }
        found
    }

    /// A person (`None` when absent; a miss recorded as for [`World::contract`]).
    pub fn person(&self, id: Uuid) -> Option<&PersonState> {
        let found = self.persons.get(&id);
        if found.is_none() {
            self.note_miss(StreamId::person(id));
        }
        found
    }

    /// Whether a contract or person stream exists with a state that is not
    /// resident (a paged world only).
    pub fn is_missing(&self, stream: StreamId) -> bool {
        let resident = match stream.kind {
            StreamKind::Contract => self.contracts.contains_key(&stream.id),
            StreamKind::Person => self.persons.contains_key(&stream.id),
            // The bank stream, like the catalogue, holds no paged state.
            StreamKind::Catalogue
            | StreamKind::Campaign
            | StreamKind::Ledger
            | StreamKind::Bank => return false,
        };
        self.residency.paged
            && !resident
            && self.versions.contains_key(&stream)
            && !self.residency.stateless.contains(&stream)
    }

    fn note_miss(&self, stream: StreamId) {
        if self.is_missing(stream) {
            self.residency.misses_guard().insert(stream);
        }
    }

    /// The streams asked for while not resident since the last call (a paged
    /// world's judgment is complete only when this is empty).
    pub fn take_misses(&self) -> BTreeSet<StreamId> {
        std::mem::take(&mut *self.residency.misses_guard())
    }

    /// The states held: resident contracts and persons, and the streams known
    /// to hold none.
    pub fn resident_states(&self) -> usize {
        self.contracts.len() + self.persons.len() + self.residency.stateless.len()
    }

    /// Puts a state read from the derived store in the world (a paged world's
    /// page-in); `None` records that the stream holds no state.
    pub fn insert_paged(&mut self, stream: StreamId, state: Option<PagedState>) {
        match state {
            Some(PagedState::Contract(c)) => {
                self.contracts.insert(stream.id, *c);
            }
            Some(PagedState::Person(p)) => {
                self.persons.insert(stream.id, *p);
            }
            None => {
                self.residency.stateless.insert(stream);
            }
        }
        self.residency.touch(stream);
    }

    /// Drops a clean state from a paged world (the eviction): it stays in the
    /// derived store, and a rule that asks for it records a miss.
    pub fn evict(&mut self, stream: StreamId) {
        debug_assert!(!self.residency.dirty.contains(&stream));
        match stream.kind {
            StreamKind::Contract => {
                self.contracts.remove(&stream.id);
            }
            StreamKind::Person => {
                self.persons.remove(&stream.id);
            }
            StreamKind::Catalogue
            | StreamKind::Campaign
            | StreamKind::Ledger
            | StreamKind::Bank => {}
        }
        self.residency.stateless.remove(&stream);
        self.residency.last_used.remove(&stream);
    }

    /// Refolds one contract's or person's state from its stream's events
    /// (annulled ones skipped), replacing what was resident: the state of a
    /// derived entry that did not verify. A state depends on its own stream
    /// only, so this is exact; the indexes it adds to already hold its edges.
    pub fn refold_state(&mut self, stream: StreamId, events: &[Envelope]) {
        let annulled = World::annulled_ids(events);
        match stream.kind {
            StreamKind::Contract => {
                self.contracts.remove(&stream.id);
            }
            StreamKind::Person => {
                self.persons.remove(&stream.id);
            }
            StreamKind::Catalogue
            | StreamKind::Campaign
            | StreamKind::Ledger
            | StreamKind::Bank => return,
        }
        for e in events.iter().filter(|e| !annulled.contains(&e.event_id)) {
            self.fold(e);
        }
        let has_state = match stream.kind {
            StreamKind::Contract => self.contracts.contains_key(&stream.id),
            _ => self.persons.contains_key(&stream.id),
        };
        if !has_state {
            self.residency.stateless.insert(stream);
        }
        self.residency.touch(stream);
        self.note_open_items(stream);
    }

    /// The person registered under a client number: the first in id order when
    /// raw imports registered several (as a scan of `persons` would find).
    ///
    /// Decision (the command path was super-linear in the number of persons):
    /// `PERSON-REGISTER`'s uniqueness check and the customer actor's
    /// lookup read the `by_client_number` index instead of every person.
    pub fn person_by_client_number<'a>(&'a self, number: &'a str) -> Option<&'a PersonState> {
        self.persons_by_client_number(number).next()
    }

    /// Every person registered under a client number, in id order (one, unless
    /// raw imports registered several).
    pub fn persons_by_client_number<'a>(
        &'a self,
        number: &'a str,
    ) -> impl Iterator<Item = &'a PersonState> + 'a {
        self.by_client_number
            .get(number)
            .into_iter()
            .flatten()
            .filter_map(|id| self.person(*id))
            .filter(move |p| p.client_number.as_str() == number)
    }

    /// Contracts held by a person.
    pub fn contracts_of_holder(&self, holder: Uuid) -> impl Iterator<Item = &ContractState> {
        self.by_holder
            .get(&holder)
            .into_iter()
            .flatten()
            .filter_map(|id| self.contract(*id))
    }

    /// Contracts a person pays or paid.
    pub fn contracts_of_payer(&self, payer: Uuid) -> impl Iterator<Item = &ContractState> {
        self.by_payer
            .get(&payer)
            .into_iter()
            .flatten()
            .filter_map(|id| self.contract(*id))
    }

    /// The ban facts about a person (RULES.md §8), read from the contracts'
    /// remaining (not annulled) events: unpaid terminations of contracts the person
    /// paid and the dates their debt was settled, Trésor Public notices to the
    /// person, fraud terminations naming the person. [`crate::bans`] turns them into
    /// windows.
    ///
    /// Decision (the command path was super-linear in the number of contracts):
    /// only the contracts the person pays or paid (`by_payer`) and
    /// those whose fraud finding names the person (`by_fraud_party`) are read,
    /// in contract id order as before; both indexes may hold more contracts than
    /// concern the person (a payer change or a finding later annulled), never
    /// fewer, and each contract is still checked as the full scan did.
    pub fn ban_facts(&self, person: Uuid) -> Vec<BanFact> {
        let candidates: BTreeSet<Uuid> = self
            .by_payer
            .get(&person)
            .into_iter()
            .chain(self.by_fraud_party.get(&person))
            .flatten()
            .copied()
            .collect();
        self.ban_facts_among(
            person,
            candidates.iter().filter_map(|id| self.contract(*id)),
        )
    }

    /// [`World::ban_facts`] over the given contracts, each checked for whether it
    /// concerns the person (`ban_facts_among(p, world.contracts.values())` is the
    /// full scan the indexes stand for; tests compare the two).
    pub fn ban_facts_among<'a>(
        &'a self,
        person: Uuid,
        contracts: impl Iterator<Item = &'a ContractState>,
    ) -> Vec<BanFact> {
        let mut facts = Vec::new();
        for c in contracts {
            let concerned = c.payers.iter().any(|(_, p)| *p == person)
                || c.fraud
                    .as_ref()
                    .is_some_and(|(f, a)| *f == person || a.contains(&person));
            if !concerned {
                continue;
            }
            let events = self
                .history
                .get(&StreamId::contract(c.id))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let annulled = World::annulled_ids(events);
            // Refold the stream to date the settlements of a terminated
            // contract's debt (BAN-UNPAID-2M lifts on the first one).
            let mut state: Option<ContractState> = None;
            let mut terminated_unpaid = false;
            for e in events.iter().filter(|e| !annulled.contains(&e.event_id)) {
                match &mut state {
                    Some(s) => s.apply(e),
                    None => state = ContractState::from_subscription(e),
                }
                let Some(s) = &state else { continue };
                match &e.event {
                    Event::ContractTerminated(t) => {
                        let payer =
                            s.payer_at(navigo_events_schema::YearMonth::of(e.effective_date));
                        match t.reason {
                            TerminationReason::Unpaid if payer == person => {
                                terminated_unpaid = true;
                                facts.push(BanFact::UnpaidTermination {
                                    date: e.effective_date,
                                    rulebook: t.rulebook.clone(),
                                    contract: c.id,
                                    event_id: e.event_id,
                                });
                            }
                            TerminationReason::SubscriptionFraud
                            | TerminationReason::UsageFraud => {
                                if let Some(fraud) = &s.fraud {
                                    if let Some(role) = FraudRole::of(fraud, person) {
                                        facts.push(BanFact::FraudTermination {
                                            date: e.effective_date,
                                            rulebook: t.rulebook.clone(),
                                            role,
                                            contract: c.id,
                                            event_id: e.event_id,
                                        });
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    Event::TreasuryNoticeIssued(n) if n.payer == person => {
                        facts.push(BanFact::TreasuryNoticeIssued {
                            date: e.effective_date,
                            contract: c.id,
                            notice_ref: n.notice_ref.clone(),
                            event_id: e.event_id,
                        });
                    }
                    Event::TreasuryNoticeDelivered(n) => {
                        facts.push(BanFact::TreasuryNoticeDelivered {
                            date: e.effective_date,
                            contract: c.id,
                            notice_ref: n.notice_ref.clone(),
                        })
                    }
                    Event::TreasuryNoticeSettled(n) => facts.push(BanFact::TreasuryNoticeSettled {
                        date: e.effective_date,
                        contract: c.id,
                        notice_ref: n.notice_ref.clone(),
                    }),
                    _ => {}
                }
                if terminated_unpaid && !s.money.debt().is_positive() {
                    facts.push(BanFact::DebtSettled {
                        date: e.effective_date,
                        contract: c.id,
                    });
                    terminated_unpaid = false;
                }
            }
        }
        facts
    }

    /// The ban windows of a person ([`crate::bans::ban_windows`] of its facts).
    pub fn ban_windows(&self, person: Uuid) -> Vec<BanWindow> {
        crate::bans::ban_windows(&self.ban_facts(person))
    }

    /// Whether an event id was annulled in a stream.
    fn annulled_ids(events: &[Envelope]) -> BTreeSet<Uuid> {
        events
            .iter()
            .filter_map(|e| e.event.annulled_event_id())
            .collect()
    }

    /// Folds one stored event and checks the invariants of the contract it
    /// changed ([`ContractState::assert_invariants`]). Cannot fail.
    pub fn apply(&mut self, env: &Envelope) {
        if let Some(id) = self.record(env.clone()) {
            self.assert_contract(id);
        }
    }

    /// Folds one stored event into the states, the indexes and the head, as
    /// [`World::apply`] does, without keeping the event in its stream's history
    /// or its idempotency key: the ledger's world, whose memory is bounded by the
    /// live states and indexes, not by the log (histories and keys are read from
    /// the store when a command needs them).
    ///
    /// An annulment rebuilds its stream from the history held for it, which the
    /// caller loads first ([`World::needs_history`]); a stream whose history is
    /// held (loaded for the command being judged) keeps it current.
    pub fn apply_live(&mut self, env: &Envelope) {
        self.note_head(env);
        let stream = env.stream;
        if let Event::EventAnnulled(_) = env.event {
            self.history.entry(stream).or_default().push(env.clone());
            self.rebuild_stream(stream);
        } else {
            self.fold(env);
            if let Some(h) = self.history.get_mut(&stream) {
                h.push(env.clone());
            }
        }
        if stream.kind == StreamKind::Contract {
            self.assert_contract(stream.id);
        }
        self.note_open_items(stream);
    }

    /// Whether the resident state of `stream` has an open item (`false` for a
    /// stream without a state, or a state that is not resident).
    pub fn has_open_items(&self, stream: StreamId) -> bool {
        match stream.kind {
            StreamKind::Contract => self
                .contracts
                .get(&stream.id)
                .is_some_and(ContractState::has_open_items),
            StreamKind::Person => self
                .persons
                .get(&stream.id)
                .is_some_and(PersonState::has_open_items),
            StreamKind::Catalogue
            | StreamKind::Campaign
            | StreamKind::Ledger
            | StreamKind::Bank => false,
        }
    }

    /// Records in [`World::open_items`] whether the state of `stream`, just
    /// changed, has an open item.
    fn note_open_items(&mut self, stream: StreamId) {
        if matches!(stream.kind, StreamKind::Contract | StreamKind::Person) {
            let open = self.has_open_items(stream);
            self.open_items.set(stream, open);
        }
    }

    /// The stream whose whole history [`World::apply_live`] needs before
    /// folding `env`: the stream of an annulment, when its history is not held.
    pub fn needs_history(&self, env: &Envelope) -> Option<StreamId> {
        (matches!(env.event, Event::EventAnnulled(_)) && !self.history.contains_key(&env.stream))
            .then_some(env.stream)
    }

    /// Folds stored events in order, as [`World::apply`] does one by one, but
    /// checks the invariants of each contract they changed once, after the last
    /// event, rather than after each (STYLE.md: the balance is checked after every
    /// fold). A projection folds a whole history per query, and summing every
    /// month of a contract after each of its events was a tenth of the query's
    /// time (measured by the calendar benchmark).
    pub fn apply_all<'a>(&mut self, events: impl IntoIterator<Item = &'a Envelope>) {
        let mut changed = BTreeSet::new();
        for env in events {
            if let Some(id) = self.record(env.clone()) {
                changed.insert(id);
            }
        }
        for id in changed {
            self.assert_contract(id);
        }
    }

    /// Folds stored events for a read-only view: as [`World::apply_all`], but
    /// without keeping the per-stream history or the idempotency keys, which a
    /// view that reads only the states does not need (copying every envelope
    /// into the history was a tenth of a debit calendar's fold, as measured by the
    /// calendar benchmark).
    /// The history is what an annulment rebuilds its stream from: a batch that
    /// holds an annulment is folded with [`World::apply_all`] instead.
    pub fn apply_all_states<'a, I>(&mut self, events: I)
    where
        I: IntoIterator<Item = &'a Envelope>,
        I::IntoIter: Clone,
    {
        let events = events.into_iter();
        if events
            .clone()
            .any(|e| matches!(e.event, Event::EventAnnulled(_)))
        {
            self.apply_all(events);
            return;
        }
        let mut changed = BTreeSet::new();
        for env in events {
            changed.extend(self.fold_state(env));
        }
        for id in changed {
            self.assert_contract(id);
        }
    }

    /// Folds a stored event into the states only (no history, no idempotency
    /// key, no invariant check). Returns the contract whose state it may have
    /// changed.
    fn fold_state(&mut self, env: &Envelope) -> Option<Uuid> {
        self.note_head(env);
        self.fold(env);
        (env.stream.kind == StreamKind::Contract).then_some(env.stream.id)
    }

    /// Keeps a stored event in its stream's history and folds it, without
    /// checking invariants. Returns the contract whose state it may have changed.
    fn record(&mut self, env: Envelope) -> Option<Uuid> {
        self.note_head(&env);
        if let Some(k) = &env.idempotency_key {
            self.idempotency_keys
                .entry(k.clone())
                .or_default()
                .push(env.position);
        }
        let stream = env.stream;
        if let Event::EventAnnulled(_) = env.event {
            // The rebuild reads the stream's history, annulment included.
            self.history.entry(stream).or_default().push(env);
            self.rebuild_stream(stream);
        } else {
            self.fold(&env);
            self.history.entry(stream).or_default().push(env);
        }
        (stream.kind == StreamKind::Contract).then_some(stream.id)
    }

    /// The head and the stream version after a stored event.
    fn note_head(&mut self, env: &Envelope) {
        self.position = self.position.max(env.position);
        self.head_hash = env.hash;
        self.head_recorded_at = Some(
            self.head_recorded_at
                .map_or(env.recorded_at, |h| h.max(env.recorded_at)),
        );
        self.versions.insert(env.stream, env.stream_seq);
        if self.residency.paged {
            self.residency.dirty_versions.insert(env.stream);
            if matches!(env.stream.kind, StreamKind::Contract | StreamKind::Person) {
                self.residency.dirty.insert(env.stream);
                self.residency.stateless.remove(&env.stream);
                self.residency.touch(env.stream);
            }
            // The clock's steps read the contract and the catalogue only: a
            // contract's event changes its own date, a catalogue event every
            // contract's.
            match env.stream.kind {
                StreamKind::Contract => self.wakes.forget(env.stream.id),
                StreamKind::Catalogue => self.wakes.forget_all(self.contracts.keys().copied()),
                // The bank stream records files, which no clock step reads.
                StreamKind::Person
                | StreamKind::Campaign
                | StreamKind::Ledger
                | StreamKind::Bank => {}
            }
        }
    }

    /// Checks the invariants of a contract's fold, if the contract exists.
    pub(crate) fn assert_contract(&self, id: Uuid) {
        if let Some(c) = self.contracts.get(&id) {
            c.assert_invariants();
        }
    }

    /// A copy for the billing clock's look-ahead: everything but the per-stream
    /// history and the idempotency keys, which the clock neither reads nor needs
    /// (it emits no annulment).
    pub fn scratch_copy(&self) -> World {
        World {
            persons: self.persons.clone(),
            contracts: self.contracts.clone(),
            catalogue: self.catalogue.clone(),
            campaigns: self.campaigns.clone(),
            by_holder: self.by_holder.clone(),
            by_payer: self.by_payer.clone(),
            by_fraud_party: self.by_fraud_party.clone(),
            by_client_number: self.by_client_number.clone(),
            versions: self.versions.clone(),
            history: BTreeMap::new(),
            idempotency_keys: BTreeMap::new(),
            position: self.position,
            head_hash: self.head_hash,
            head_recorded_at: self.head_recorded_at,
            residency: Residency::default(),
            wakes: WakeIndex::default(),
            open_items: OpenItems::default(),
        }
    }

    /// Folds a decision's events not yet stored, as the store would number them.
    /// The billing clock uses it on a scratch world to see the effect of what it
    /// emits; the positions and hashes are provisional.
    pub fn apply_new(&mut self, stream: StreamId, events: &[NewEvent], at: DateTime<Utc>) {
        if let Some(id) = self.record_new(stream, events, at) {
            self.assert_contract(id);
        }
    }

    /// The envelope the store would give `event` appended next on `stream`,
    /// recorded at `at`, with a provisional hash (nothing is stored: look-aheads
    /// and what-ifs).
    pub fn provisional(&self, stream: StreamId, e: NewEvent, at: DateTime<Utc>) -> Envelope {
        let assigned = navigo_events_schema::Assigned {
            stream,
            stream_seq: self.version(stream) + 1,
            position: self.position + 1,
            recorded_at: at,
            idempotency_key: None,
            prev_hash: self.head_hash,
        };
        Envelope::assemble(&assigned, e, Hash::GENESIS)
    }

    /// Folds and records the events not yet stored, as [`World::apply_new`]
    /// does, without checking the invariants. Returns the contract changed, if
    /// any.
    fn record_new(
        &mut self,
        stream: StreamId,
        events: &[NewEvent],
        at: DateTime<Utc>,
    ) -> Option<Uuid> {
        let mut changed = None;
        for e in events {
            let env = self.provisional(stream, e.clone(), at);
            changed = self.record(env).or(changed);
        }
        changed
    }

    /// [`World::apply_new`] without checking the invariants and without history,
    /// for the billing clock's look-ahead, which checks each contract it changed
    /// once, after its run (the clock emits no annulment, the only event that
    /// reads the history). It takes the events by value and gives them back
    /// unchanged: each is folded as its provisional envelope,
    /// then taken back out of it ([`Envelope::into_new`]), so the billing
    /// clock's look-ahead folds its decisions without copying their events (the
    /// copies were a tenth of a calendar's forecast). Returns the contract
    /// changed, if any, and the events.
    pub(crate) fn record_new_states(
        &mut self,
        stream: StreamId,
        events: Vec<NewEvent>,
        at: DateTime<Utc>,
    ) -> (Option<Uuid>, Vec<NewEvent>) {
        let mut changed = None;
        let mut back = Vec::with_capacity(events.len());
        for e in events {
            let env = self.provisional(stream, e, at);
            let now = if matches!(env.event, Event::EventAnnulled(_)) {
                // An annulment reads the history (the clock emits none).
                self.record(env.clone())
            } else {
                self.fold_state(&env)
            };
            changed = now.or(changed);
            back.push(env.into_new());
        }
        (changed, back)
    }

    /// Rebuilds one stream's state from its events, skipping the annulled ones.
    fn rebuild_stream(&mut self, stream: StreamId) {
        let events = self.history.get(&stream).cloned().unwrap_or_default();
        let annulled = World::annulled_ids(&events);
        match stream.kind {
            StreamKind::Contract => {
                self.contracts.remove(&stream.id);
            }
            StreamKind::Person => {
                self.persons.remove(&stream.id);
            }
            StreamKind::Catalogue => self.catalogue = Catalogue::default(),
            StreamKind::Campaign => {
                self.campaigns.remove(&stream.id);
            }
            StreamKind::Ledger => {}
            StreamKind::Bank => {}
        }
        for e in events.iter().filter(|e| !annulled.contains(&e.event_id)) {
            self.fold(e);
        }
        let has_state = match stream.kind {
            StreamKind::Contract => self.contracts.contains_key(&stream.id),
            StreamKind::Person => self.persons.contains_key(&stream.id),
            StreamKind::Catalogue
            | StreamKind::Campaign
            | StreamKind::Ledger
            | StreamKind::Bank => true,
        };
        if self.residency.paged && !has_state {
            self.residency.stateless.insert(stream);
        }
    }

    /// Adds an edge to an index, and to the edges to write when the world is
    /// paged and the edge is new.
    fn add_edge(&mut self, kind: IndexKind, key: Uuid, id: Uuid) {
        let index = match kind {
            IndexKind::Holder => &mut self.by_holder,
            IndexKind::Payer => &mut self.by_payer,
            IndexKind::FraudParty => &mut self.by_fraud_party,
            IndexKind::ClientNumber => return,
        };
        if index.entry(key).or_default().insert(id) && self.residency.paged {
            self.residency
                .new_edges
                .push((kind, key.as_bytes().to_vec(), id));
        }
    }

    /// Folds one event into the state of its stream.
    fn fold(&mut self, env: &Envelope) {
        match env.stream.kind {
            StreamKind::Contract => {
                if let Some(c) = self.contracts.get_mut(&env.stream.id) {
                    c.fold_event(env);
                    let payer = c.payer;
                    self.add_edge(IndexKind::Payer, payer, env.stream.id);
                    if let Event::FraudEstablished(f) = &env.event {
                        for person in std::iter::once(&f.fraudster).chain(&f.accomplices) {
                            self.add_edge(IndexKind::FraudParty, *person, env.stream.id);
                        }
                    }
                } else if let Some(c) = ContractState::from_subscription(env) {
                    self.add_edge(IndexKind::Holder, c.holder, c.id);
                    self.add_edge(IndexKind::Payer, c.payer, c.id);
                    self.contracts.insert(c.id, c);
                }
            }
            StreamKind::Person => {
                if let Some(p) = self.persons.get_mut(&env.stream.id) {
                    p.apply(env);
                } else if let Event::PersonRegistered(r) = &env.event {
                    let number = r.client_number.as_str();
                    let added = self
                        .by_client_number
                        .entry(number.to_owned())
                        .or_default()
                        .insert(env.stream.id);
                    if added && self.residency.paged {
                        self.residency.new_edges.push((
                            IndexKind::ClientNumber,
                            number.as_bytes().to_vec(),
                            env.stream.id,
                        ));
                    }
                    self.persons
                        .insert(env.stream.id, PersonState::registered(env, r));
                }
            }
            StreamKind::Catalogue => self.catalogue.apply(&env.event),
            StreamKind::Campaign => {
                if let Event::CampaignPublished(c) = &env.event {
                    self.campaigns.insert(env.stream.id, c.clone());
                }
            }
            // The ledger's own records (a reseal's first) hold no state.
            StreamKind::Ledger => {}
            // Decision: the bank stream is evidence of the files exchanged
            // with the bank; the money they move is recorded on the
            // contracts (`DebitPresented`, `DebitRejected`), so no state of
            // the world is folded from it, as none is from the catalogue's
            // history beyond its reference data.
            StreamKind::Bank => {}
        }
    }
}
