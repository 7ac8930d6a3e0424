-- The materialized projections as SQL tables, layout 1, for projection
-- services that query with SQL (docs/sql-projections.md documents every
-- table). Derived data: never in the hash chain, rebuilt from the log at
-- will. Run with the projection schema first on the search path, inside the
-- transaction that creates it; every statement may run again.

-- The last log position folded into the tables, the effective date their
-- views are read on, and the generation (one more at every rebuild). Written
-- in the same transaction as the rows it covers.
CREATE TABLE IF NOT EXISTS checkpoint (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position   bigint  NOT NULL CHECK (position >= 0),
    at         date    NOT NULL,
    generation bigint  NOT NULL CHECK (generation >= 1),
    layout     integer NOT NULL
);

-- One row per contract: its state's columns for filtering, and the state,
-- balance and debit calendar views whole.
CREATE TABLE IF NOT EXISTS contracts (
    contract      uuid          PRIMARY KEY,
    status        text          NOT NULL,
    product       text          NOT NULL,
    holder        uuid          NOT NULL,
    payer         uuid          NOT NULL,
    balance       numeric(14,2) NOT NULL,
    debt          numeric(14,2) NOT NULL,
    credit        numeric(14,2) NOT NULL,
    next_debit    date,
    state_view    jsonb         NOT NULL,
    balance_view  jsonb         NOT NULL,
    calendar_view jsonb         NOT NULL
);
CREATE INDEX IF NOT EXISTS contracts_status ON contracts (status, contract);
CREATE INDEX IF NOT EXISTS contracts_product ON contracts (product, contract);
CREATE INDEX IF NOT EXISTS contracts_holder ON contracts (holder);
CREATE INDEX IF NOT EXISTS contracts_payer ON contracts (payer);
CREATE INDEX IF NOT EXISTS contracts_debt ON contracts (debt) WHERE debt > 0;
CREATE INDEX IF NOT EXISTS contracts_next_debit ON contracts (next_debit);

-- One row per row of a contract's debit calendar, numbered in the view's
-- order from 0. `debit` says whether money is taken (or to be) on
-- `debit_date`: false for a month suspended, terminated or carried to a later
-- debit.
CREATE TABLE IF NOT EXISTS debits (
    contract   uuid          NOT NULL,
    row_number integer       NOT NULL CHECK (row_number >= 0),
    month      text          NOT NULL,
    debit_date date,
    amount     numeric(14,2) NOT NULL,
    status     text          NOT NULL,
    debit      boolean       NOT NULL,
    recorded   boolean       NOT NULL,
    PRIMARY KEY (contract, row_number)
);
CREATE INDEX IF NOT EXISTS debits_by_date ON debits (debit_date, contract) WHERE debit;

-- One row per person, without their clear personal data (no name: only the
-- id, the client number and whether they were erased), with their bans and
-- refunds views whole.
CREATE TABLE IF NOT EXISTS persons (
    person        uuid    PRIMARY KEY,
    client_number text    NOT NULL,
    erased        boolean NOT NULL,
    bans_view     jsonb   NOT NULL,
    refunds_view  jsonb   NOT NULL
);
CREATE INDEX IF NOT EXISTS persons_client_number ON persons (client_number);

-- One row per ban window of a person, numbered in the view's order from 0:
-- the person may not take `role` from `start_date` until `end_date`
-- (exclusive; a lift moves it earlier than `until_date`).
CREATE TABLE IF NOT EXISTS bans (
    person        uuid    NOT NULL,
    window_number integer NOT NULL CHECK (window_number >= 0),
    contract      uuid    NOT NULL,
    rule          text    NOT NULL,
    role          text    NOT NULL,
    start_date    date    NOT NULL,
    end_date      date    NOT NULL,
    until_date    date    NOT NULL,
    lifted_on     date,
    PRIMARY KEY (person, window_number)
);
CREATE INDEX IF NOT EXISTS bans_dates ON bans (start_date, end_date);
CREATE INDEX IF NOT EXISTS bans_contract ON bans (contract);

-- One row per refund of a person, numbered in the view's order from 0.
CREATE TABLE IF NOT EXISTS refunds (
    person        uuid          NOT NULL,
    refund_number integer       NOT NULL CHECK (refund_number >= 0),
    event_id      uuid          NOT NULL,
    contract      uuid,
    reason        text          NOT NULL,
    amount        numeric(14,2) NOT NULL,
    date          date          NOT NULL,
    due_by        date          NOT NULL,
    method        text          NOT NULL,
    beneficiary   uuid          NOT NULL,
    status        text          NOT NULL,
    PRIMARY KEY (person, refund_number)
);
CREATE INDEX IF NOT EXISTS refunds_due ON refunds (due_by) WHERE status <> 'paid';
