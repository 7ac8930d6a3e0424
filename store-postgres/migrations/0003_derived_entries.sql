-- Keyed derived data, version 3.

-- Keyed derived data (the ledger's folded states, one entry each, with their
-- indexes and a meta entry naming the position they cover), apart from the
-- log as `derived` is: never in the hash chain, never read by `verify`,
-- verified by the ledger on load and rebuilt from the log when it does not
-- verify. A batch of entries is written in one transaction, so a reader sees
-- every entry of it or none. Keys are bytea, ordered by their bytes, so that a
-- key prefix is a range of the primary key's index.
CREATE TABLE derived_entries (
    space text  NOT NULL,
    key   bytea NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (space, key)
);
