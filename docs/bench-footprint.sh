#!/bin/sh
# Bytes on disk per event: the sled log of a demo population against
# PostgreSQL storing the same events, in one run.
#
#   docs/bench-footprint.sh [CONTRACTS] [THROUGH]       (defaults: 10000 2026-12-05)
#   NAVIGO_PREVIOUS_BIN=path/to/older/navigo-ledger docs/bench-footprint.sh
#
# 1. `navigo-ledger demo` (the real command path) writes the population into a
#    fresh ledger; `navigo-ledger stats` gives its events and sled's disk bytes.
#    With NAVIGO_PREVIOUS_BIN, the same demo (same seed) is run by that binary
#    too (a build of the previous store format), for the before/after figure.
# 2. The log is exported in COPY format (store-sled example export_for_postgres)
#    as the PostgreSQL backend stores it (store-postgres/migrations/0001_log.sql):
#    events (position primary key, stream kind, stream id, stream seq, the
#    canonical record as bytea, unique (stream kind, id, seq)) and idempotency
#    (key primary key, digest, first position, event count).
# 3. A throwaway PostgreSQL cluster (initdb in a temporary directory, a Unix
#    socket only, run as the `postgres` user when root; the Debian package
#    `postgresql` is installed under flock when initdb is missing) loads them,
#    VACUUM ANALYZE, and pg_total_relation_size of both tables (heap, TOAST,
#    indexes) is read. The cluster and every scratch file are removed at exit.
set -eu
CONTRACTS=${1:-10000}
THROUGH=${2:-2026-12-05}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/navigo-footprint.XXXXXX")
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
cargo build --release --bin navigo-ledger -p navigo-ledger >&2
cargo build --release -p navigo-store-sled --example export_for_postgres >&2
BIN="$TARGET/release/navigo-ledger"

ledger_figures() { # BIN DIR LABEL
    start=$(date +%s.%N)
    "$1" demo --contracts "$CONTRACTS" --through "$THROUGH" --data "$2" >/dev/null
    end=$(date +%s.%N)
    stats=$("$1" stats --json --data "$2")
    events=$(printf '%s' "$stats" | sed -n 's/.*"events": *\([0-9]*\).*/\1/p')
    disk=$(printf '%s' "$stats" | sed -n 's/.*"disk_bytes": *\([0-9]*\).*/\1/p')
    du=$(du -sb "$2" | cut -f1)
    echo "$3: $events events, demo $(echo "$end - $start" | bc) s, sled disk_bytes $disk = $((disk / events)) B/event, du $du = $((du / events)) B/event"
}

if [ -n "${NAVIGO_PREVIOUS_BIN:-}" ]; then
    ledger_figures "$NAVIGO_PREVIOUS_BIN" "$WORK/previous" "previous format"
    rm -rf "$WORK/previous"
fi
ledger_figures "$BIN" "$WORK/ledger" "this version"
EVENTS=$("$BIN" stats --json --data "$WORK/ledger" | sed -n 's/.*"events": *\([0-9]*\).*/\1/p')
"$TARGET/release/examples/export_for_postgres" "$WORK/ledger" "$WORK/copy" >&2

# PostgreSQL: initdb from PATH, pg_config, or the Debian layout; else install.
find_pgbin() {
    for d in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")" \
             "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
    done
}
PGBIN=$(find_pgbin)
if [ -z "$PGBIN" ]; then
    flock /tmp/navigo-postgresql-install.lock sh -c \
        'DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null' >&2
    PGBIN=$(find_pgbin)
fi
mkdir -p "$PGDATA_DIR"
if [ "$(id -u)" = 0 ]; then chown -R postgres "$WORK"; chmod 755 "$WORK"; fi
as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust -E UTF8 --no-locale >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -w -l "$PGDATA_DIR/log" \
    -o "-k $PGDATA_DIR -c listen_addresses= -c fsync=off" start >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -h $PGDATA_DIR -U postgres -d postgres"
$PSQL <<SQL
CREATE TABLE events (
    position    bigint  PRIMARY KEY CHECK (position >= 1),
    stream_kind text    NOT NULL,
    stream_id   uuid    NOT NULL,
    stream_seq  bigint  NOT NULL CHECK (stream_seq >= 1),
    record      bytea   NOT NULL,
    UNIQUE (stream_kind, stream_id, stream_seq)
);
CREATE TABLE idempotency (
    key            text    PRIMARY KEY,
    digest         bytea   NOT NULL CHECK (length(digest) = 32),
    first_position bigint  NOT NULL CHECK (first_position >= 1),
    event_count    integer NOT NULL CHECK (event_count >= 1)
);
\copy events FROM '$WORK/copy/events.copy'
\copy idempotency FROM '$WORK/copy/idempotency.copy'
VACUUM ANALYZE;
SQL
PG=$($PSQL -t -A -c "SELECT pg_total_relation_size('events') + pg_total_relation_size('idempotency')")
ROWS=$($PSQL -t -A -c "SELECT count(*) FROM events")
[ "$ROWS" = "$EVENTS" ] || { echo "PostgreSQL holds $ROWS events, the ledger $EVENTS" >&2; exit 1; }
echo "PostgreSQL $("$PGBIN/pg_ctl" --version | sed 's/^pg_ctl (PostgreSQL) \([^ ]*\).*/\1/'): $ROWS events, tables and indexes $PG = $((PG / ROWS)) B/event"
