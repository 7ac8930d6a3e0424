#!/bin/sh
# The rebuild into the SQL projection tables against raw PostgreSQL inserts
# (COPY) of the same rows, on the same server, in one run.
#
#   docs/bench-sql-projections.sh [CONTRACTS] [THROUGH]   (defaults: 2000 2026-12-05)
#
# 1. `navigo-ledger demo --store URL` writes a population into a fresh
#    PostgreSQL database.
# 2. `navigo-ledger rebuild --json --store URL` rebuilds the data directory's
#    projections and the database's projection tables; its second JSON line
#    is the SQL tables' rebuild (events/s: the log's events over its time,
#    reading the log by slices, folding the views, inserting the rows and
#    committing).
# 3. The same rows, copied out of the tables (`\copy ... TO`), are loaded into
#    empty tables of the same layout and indexes (`CREATE TABLE ... (LIKE ...
#    INCLUDING ALL)`) with `\copy ... FROM` in one transaction: the raw
#    inserts of the same rows, timed by psql from its first statement to the
#    commit, as events/s of the same log.
# The cluster (initdb in a temporary directory, a Unix socket only, run as the
# `postgres` user when root) and every scratch file are removed at exit.
set -eu
CONTRACTS=${1:-2000}
THROUGH=${2:-2026-12-05}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/navigo-sqlproj.XXXXXX")
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
BIN="$TARGET/release/navigo-ledger"

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
    -o "-k $PGDATA_DIR -c listen_addresses=" start >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -h $PGDATA_DIR -U postgres"
$PSQL -d postgres -c "CREATE DATABASE bench"
HOST=$(printf '%s' "$PGDATA_DIR" | sed 's|/|%2F|g')
URL="postgres://postgres@$HOST/bench"

mkdir -p "$WORK/data"
"$BIN" demo --contracts "$CONTRACTS" --through "$THROUGH" --data "$WORK/data" --store "$URL" >/dev/null
REBUILD=$("$BIN" rebuild --json --at "$THROUGH" --data "$WORK/data" --store "$URL" | tail -n 1)
EVENTS=$(printf '%s' "$REBUILD" | sed -n 's/.*"events": *\([0-9]*\).*/\1/p')
SQL_EPS=$(printf '%s' "$REBUILD" | sed -n 's/.*"events_per_second": *\([0-9.]*\).*/\1/p')
SQL_S=$(printf '%s' "$REBUILD" | sed -n 's/.*"seconds": *\([0-9.]*\).*/\1/p')

TABLES="contracts debits persons bans refunds"
echo "SQL tables (contracts|persons|checkpoint): $($PSQL -d bench -t -A -c "SELECT (SELECT count(*) FROM navigo_projections.contracts), (SELECT count(*) FROM navigo_projections.persons), (SELECT position FROM navigo_projections.checkpoint)")"
RAW="$PSQL -d bench"
for t in $TABLES; do
    $RAW -c "\\copy navigo_projections.$t TO '$WORK/$t.copy'"
done
{
    echo "CREATE SCHEMA raw;"
    for t in $TABLES; do echo "CREATE TABLE raw.$t (LIKE navigo_projections.$t INCLUDING ALL);"; done
} | $RAW
start=$(date +%s.%N)
{
    echo "BEGIN;"
    # printf, not echo: dash's echo reads `\c` as "stop here".
    for t in $TABLES; do printf '%s\n' "\\copy raw.$t FROM '$WORK/$t.copy'"; done
    echo "COMMIT;"
} | $RAW
end=$(date +%s.%N)
RAW_S=$(echo "$end - $start" | bc)
ROWS=$($RAW -t -A -c "SELECT (SELECT count(*) FROM raw.contracts) + (SELECT count(*) FROM raw.debits) + (SELECT count(*) FROM raw.persons) + (SELECT count(*) FROM raw.bans) + (SELECT count(*) FROM raw.refunds)")
RAW_EPS=$(echo "$EVENTS / $RAW_S" | bc)
echo "events $EVENTS, rows $ROWS"
echo "rebuild into SQL tables: $SQL_S s, $SQL_EPS events/s"
echo "raw COPY of the same rows: $RAW_S s, $RAW_EPS events/s"
echo "ratio: $(echo "scale=3; $SQL_EPS / $RAW_EPS" | bc)"
