-- The Merkle tree's nodes in runs, and the check of a one-round-trip append, version 5.

-- The stored hash indexes of the tree are dense and written in order (each
-- append stores the nodes after those of the records before it), so the
-- nodes one transaction writes are one run of consecutive indexes. A row
-- holds such a run: the index of its first node and the nodes' SHA-256
-- hashes concatenated. One row per append transaction instead of one per node
-- (about two per record) keeps the append's inserts and index entries to the
-- records' own. A node is read as a slice of the run whose first index is the
-- largest not above it; the runs are never rewritten.
CREATE TABLE tree_runs (
    first_idx bigint PRIMARY KEY CHECK (first_idx >= 0),
    hashes    bytea  NOT NULL CHECK (length(hashes) > 0 AND length(hashes) % 32 = 0)
);
-- Stored out of line uncompressed (hashes do not compress), so that a slice
-- of a long run is read without reading the whole run.
ALTER TABLE tree_runs ALTER COLUMN hashes SET STORAGE EXTERNAL;

-- A ledger of version 4 keeps a row per node: its nodes are moved, byte for
-- byte, into runs of at most 256 consecutive indexes. A gap (a node missing)
-- ends a run, so that every node keeps its index; `verify`, which recomputes
-- every node from the records, names a node missing or altered as it did.
INSERT INTO tree_runs (first_idx, hashes)
SELECT min(idx), string_agg(hash, ''::bytea ORDER BY idx)
FROM (SELECT idx, hash, idx - row_number() OVER (ORDER BY idx) AS island FROM tree_nodes) n
GROUP BY island, idx / 256;
DROP TABLE tree_nodes;

-- An append judged against what the writer's last commit left (the head,
-- the streams' versions, the keys' absence) is sent whole in one round trip;
-- this check, run under the head lock, rolls it back when that state is no
-- longer the database's (another process appended), and the writer judges it
-- again against the state it then reads.
CREATE FUNCTION append_check(holds boolean) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF holds IS NOT TRUE THEN
        RAISE EXCEPTION 'the state this append was judged against has moved'
            USING ERRCODE = 'NV001';
    END IF;
    RETURN true;
END $$;
