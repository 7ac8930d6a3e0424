-- The durable head, version 6.

-- An append transaction commits without waiting for its commit to be flushed
-- (`synchronous_commit = off` for that transaction alone), so that it
-- releases the head lock at once: the transactions after it no longer wait
-- for its flush. Its appends are answered only once a row of this table has
-- been moved past it by a transaction committed durably: the log is written
-- ahead in one sequence, so that flush covers every commit before it. A
-- crash of the server loses a suffix of the commits, never one in the
-- middle, and never one answered.
--
-- The durable head is the row of the largest position. There is a row per
-- slot, a connection moving the row of its slot (its backend's process id
-- modulo the slots), so that connections that settle at the same time do
-- not wait for each other's row lock, which is held until the flush: their
-- flushes are shared, as PostgreSQL shares the flushes of independent
-- commits. Every row is written with a durable commit, so a row visible is
-- flushed, and so is every commit up to its position.
--
-- Readers read the log up to the durable head, never up to `head`: the
-- records between the two are committed but may still be lost by a crash,
-- and a follower that saw one would see another record at its position
-- later. The writer moves a row after each commit; a reader that finds the
-- durable head behind the head (a writer died between its commit and its
-- flush) moves one itself, so that no reader waits for ever.
CREATE TABLE durable (
    slot        integer PRIMARY KEY CHECK (slot >= 0 AND slot < 64),
    position    bigint  NOT NULL CHECK (position >= 0),
    hash        bytea   NOT NULL CHECK (length(hash) = 32),
    recorded_at text
);
INSERT INTO durable (slot, position, hash, recorded_at)
SELECT s, position, hash, recorded_at FROM head, generate_series(0, 63) AS s;
