-- Derived data and key prefix reads, version 2.

-- Derived data (snapshots of the ledger's folded state), apart from the log:
-- no row here is in the hash chain, `verify` never reads this table, and the
-- ledger verifies what it reads back and rebuilds it from the log when it does
-- not verify. A blob is cut into chunks numbered from 0 so that no value is
-- larger than a few megabytes; a blob is replaced in one transaction (its old
-- chunks deleted, the new ones inserted), so a reader sees one blob whole.
CREATE TABLE derived (
    name  text    NOT NULL,
    chunk integer NOT NULL CHECK (chunk >= 0),
    bytes bytea   NOT NULL,
    PRIMARY KEY (name, chunk)
);

-- The ledger reads the idempotency keys that start with a prefix (the keys of
-- one command), in byte order as every backend orders them. The primary key's
-- index follows the database's collation, in which a prefix is not a range;
-- this one orders keys by their bytes, so a prefix is one.
CREATE INDEX idempotency_key_bytes ON idempotency (key COLLATE "C");
