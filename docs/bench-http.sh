#!/bin/sh
# Commands over HTTP against PostgreSQL's single-row commits, alternating in
# one run, so that both figures come from the same minutes of this noisy
# machine.
#
#   docs/bench-http.sh [ROUNDS] [REQUESTS]         (defaults: 3 32000)
#
# Environment: NAVIGO_HTTP_BIN, the service binary measured (default: this
# tree's release build, built first); NAVIGO_HTTP_REFERENCE_BIN, another
# binary run alternately with it (optional: e.g. main's); CLIENTS (default
# 64); PG_SECONDS (default 10).
#
# Each round runs, in turn: the HTTP bench (`tests/http_bench.rs`: CLIENTS
# keep-alive clients reading a contract's state, then submitting
# RegisterPerson commands, one event each, with the projection lag sampled)
# of each binary, then `pgbench -c CLIENTS -j 2 -T PG_SECONDS` of one-row
# `INSERT` commits into a table of the PostgreSQL store's `events` layout
# (the same columns and unique indexes, a 690-byte record, the default
# `synchronous_commit = on`) on a throwaway cluster (initdb in a temporary
# directory, a Unix socket only, run as the `postgres` user when root,
# removed at exit). `uptime` is printed beside every figure; the summary
# lists every round, and the ratio of each HTTP figure to the PostgreSQL
# figure of its round.
set -eu
ROUNDS=${1:-3}
REQUESTS=${2:-32000}
CLIENTS=${CLIENTS:-64}
PG_SECONDS=${PG_SECONDS:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/navigo-benchhttp.XXXXXX")
PGDATA_DIR="$WORK/pg"
cleanup() {
    if [ -f "$PGDATA_DIR/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cd "$ROOT"
if [ -z "${NAVIGO_HTTP_BIN:-}" ]; then
    cargo build --release --bin navigo-ledger -p navigo-ledger >&2
    NAVIGO_HTTP_BIN="$TARGET/release/navigo-ledger"
fi
# The load generator, built once (a test build: its clients are plain
# threads writing requests and reading answers, little beside the service).
cargo test --test http_bench --no-run >&2

find_pgbin() {
    for d in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")" \
             "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/pgbench" ]; then echo "$d"; return; fi
    done
}
PGBIN=$(find_pgbin)
if [ -z "$PGBIN" ]; then
    echo "no PostgreSQL with pgbench found (initdb, pg_ctl, pgbench)" >&2
    exit 1
fi
mkdir -p "$PGDATA_DIR"
if [ "$(id -u)" = 0 ]; then chown -R postgres "$WORK"; chmod 755 "$WORK"; fi
as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust -E UTF8 --no-locale >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -w -l "$PGDATA_DIR/log" \
    -o "-k $PGDATA_DIR -c listen_addresses= -c max_connections=$((CLIENTS + 20))" start >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -h $PGDATA_DIR -U postgres"
$PSQL -d postgres -c "CREATE DATABASE bench"
$PSQL -d bench <<'SQL'
CREATE SEQUENCE positions;
CREATE TABLE events (
    position    bigint  PRIMARY KEY CHECK (position >= 1),
    stream_kind text    NOT NULL,
    stream_id   uuid    NOT NULL,
    stream_seq  bigint  NOT NULL CHECK (stream_seq >= 1),
    record      bytea   NOT NULL,
    UNIQUE (stream_kind, stream_id, stream_seq)
);
SQL
# One event a transaction: a new stream's first event with a 690-byte record
# (a RegisterPerson's is about that size), committed on its own.
cat > "$WORK/insert.sql" <<'SQL'
INSERT INTO events (position, stream_kind, stream_id, stream_seq, record)
VALUES (nextval('positions'), 'person', gen_random_uuid(), 1,
        decode(substr(repeat(md5(random()::text), 44), 1, 1380), 'hex'));
SQL
chmod 644 "$WORK/insert.sql"

load() { uptime | sed 's/.*load average: //'; }

http_round() { # binary label
    before=$(load)
    out=$(NAVIGO_HTTP_BIN="$1" NAVIGO_HTTP_BENCH="$REQUESTS" NAVIGO_HTTP_CLIENTS="$CLIENTS" \
        cargo test --test http_bench -- --nocapture 2>/dev/null)
    after=$(load)
    printf '%s\n' "$out" | grep -E '^  (projection read|command submit|projection lag)' >&2
    cmd=$(printf '%s\n' "$out" | sed -n 's/^  command submit *: \([0-9]*\) req\/s, p50 \([^,]*\), p99 \(.*\)$/\1 \2 \3/p')
    lag=$(printf '%s\n' "$out" | sed -n 's/^  projection lag *: p99 \([0-9]*\) events (\([0-9.]*\) s.*/\1 events (\2 s)/p')
    read=$(printf '%s\n' "$out" | sed -n 's/^  projection read *: \([0-9]*\) req\/s.*/\1/p')
    echo "$2|$cmd|$read|$lag|$before -> $after"
}

pg_round() {
    before=$(load)
    tps=$(as_pg "$PGBIN/pgbench" -n -c "$CLIENTS" -j 2 -T "$PG_SECONDS" -f "$WORK/insert.sql" \
        -h "$PGDATA_DIR" -U postgres bench 2>/dev/null | sed -n 's/^tps = \([0-9]*\).*/\1/p')
    after=$(load)
    echo "postgresql|$tps|||$before -> $after"
}

SUMMARY="$WORK/summary"
: > "$SUMMARY"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    echo "round $r" >&2
    line=$(http_round "$NAVIGO_HTTP_BIN" measured); echo "$r|$line" >> "$SUMMARY"; echo "$line" >&2
    pg=$(pg_round); echo "$r|$pg" >> "$SUMMARY"; echo "$pg" >&2
    if [ -n "${NAVIGO_HTTP_REFERENCE_BIN:-}" ]; then
        line=$(http_round "$NAVIGO_HTTP_REFERENCE_BIN" reference); echo "$r|$line" >> "$SUMMARY"; echo "$line" >&2
    fi
    r=$((r + 1))
done

echo "commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (modified)'), $CLIENTS clients, $REQUESTS requests a kind, pgbench -T $PG_SECONDS"
echo "round | binary | command req/s (pgbench: ev/s) | p50 | p99 | read req/s | lag p99 | load (1, 5, 15 min) before -> after | ratio to PostgreSQL of the round"
awk -F'|' '
    { row[NR] = $0; if ($2 == "postgresql") pg[$1] = $3 }
    END {
        for (i = 1; i <= NR; i++) {
            split(row[i], f, "|");
            split(f[3], c, " ");
            ratio = (f[2] != "postgresql" && pg[f[1]] > 0) ? sprintf("%.2f", c[1] / pg[f[1]]) : "";
            printf "%s | %s | %s | %s | %s | %s | %s | %s | %s\n", f[1], f[2], c[1], c[2], c[3], f[4], f[5], f[6], ratio
        }
    }' "$SUMMARY"
