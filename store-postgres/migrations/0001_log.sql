-- The log, version 1. Run by `PgStore::init` inside one transaction, with the
-- ledger's schema first on the search path; the version is recorded in
-- schema_migrations in the same transaction.

-- One row per event, in position order. `record` is the canonical record,
-- byte for byte what every backend stores: `BLAKE3 hash ‖ canonical JSON`
-- (events-schema's encode_record), so a log moves between backends unchanged.
-- The other columns repeat what the record says, for the reads that select by
-- them; `verify` checks that they agree with the record.
CREATE TABLE events (
    position    bigint  PRIMARY KEY CHECK (position >= 1),
    stream_kind text    NOT NULL,
    stream_id   uuid    NOT NULL,
    stream_seq  bigint  NOT NULL CHECK (stream_seq >= 1),
    record      bytea   NOT NULL,
    UNIQUE (stream_kind, stream_id, stream_seq)
);

-- The head of the log: one row, updated in every append transaction. Every
-- writer locks it first (SELECT ... FOR UPDATE), so appends from any number of
-- processes are serialised, positions are assigned from it without a sequence
-- (a sequence hands out numbers that in-flight transactions may never commit,
-- or commit out of order), and a reader never sees position n + 1 before n.
CREATE TABLE head (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position    bigint  NOT NULL CHECK (position >= 0),
    hash        bytea   NOT NULL CHECK (length(hash) = 32),
    -- The last record's recorded-at instant, RFC 3339 to the nanosecond
    -- (timestamptz keeps microseconds only); null while the log is empty.
    recorded_at text
);
INSERT INTO head (position, hash, recorded_at)
VALUES (0, decode(repeat('00', 32), 'hex'), NULL);

-- Idempotency keys: the content digest of the first append under the key and
-- its positions (contiguous: an append's events are assigned consecutive
-- positions in one transaction).
CREATE TABLE idempotency (
    key            text    PRIMARY KEY,
    digest         bytea   NOT NULL CHECK (length(digest) = 32),
    first_position bigint  NOT NULL CHECK (first_position >= 1),
    event_count    integer NOT NULL CHECK (event_count >= 1)
);
