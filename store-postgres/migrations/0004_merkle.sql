-- The Merkle tree over the log and the signed checkpoints, version 4.

-- The nodes of the RFC 6962 tree over the canonical records, as Go's
-- sumdb/tlog stores them: each complete subtree's SHA-256 once, under its
-- stored hash index, written in the transaction that appends the record
-- completing it and never rewritten. Nodes are written in index order, so the
-- largest index says how many records the tree covers. A ledger from before
-- this version gets its nodes computed from its records when a store opens it.
CREATE TABLE tree_nodes (
    idx  bigint PRIMARY KEY CHECK (idx >= 0),
    hash bytea  NOT NULL CHECK (length(hash) = 32)
);

-- Signed checkpoints (C2SP signed notes, byte for byte as signed), numbered
-- from 1 in the order kept. A checkpoint is evidence of what the log held when
-- it was signed: not derived data, not in the chain, never replaced or
-- removed, which the trigger below enforces against the store's own role too.
CREATE TABLE checkpoints (
    number bigint PRIMARY KEY CHECK (number >= 1),
    note   bytea  NOT NULL
);

CREATE FUNCTION checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'checkpoints are kept for good: % refused', TG_OP;
END $$;

CREATE TRIGGER checkpoints_append_only
    BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION checkpoints_append_only();
CREATE TRIGGER checkpoints_no_truncate
    BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_append_only();
