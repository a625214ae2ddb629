#!/usr/bin/env bash
# The volume benchmarks of issue 9, end to end (`make bench-volume`):
#   PostgreSQL: a database of its own (QINGSU_BENCH_PG_DB, default qingsu_bench) filled by `qingsu seed-volume` with
#   QINGSU_BENCH_PG_PETITIONS petitions (default 1,000,000); the tallies rebuilt and the lights job run twice (first
#   run, then steady state); then the dashboards, the list pages and the API polling measured against it.
#   SQLite: a file of QINGSU_BENCH_SQLITE_PETITIONS petitions (default 155,000), the same steps, the dashboards.
# QINGSU_BENCH_PG_PETITIONS=0 skips PostgreSQL. QINGSU_BENCH_REUSE=1 keeps an already filled database instead of making it anew. Figures: benchmarks/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_DB=${QINGSU_BENCH_PG_DB:-qingsu_bench}
PG_SERVER=${QINGSU_BENCH_PG_SERVER:-postgresql+psycopg://postgres@127.0.0.1:5432}
PG_PETITIONS=${QINGSU_BENCH_PG_PETITIONS:-1000000}
SQLITE_FILE=${QINGSU_BENCH_SQLITE_FILE:-/tmp/qingsu_bench_155k.db}
SQLITE_PETITIONS=${QINGSU_BENCH_SQLITE_PETITIONS:-155000}
LOG=benchmarks/volume.log
: >"$LOG"

step() { # step LABEL COMMAND...: run, time it, keep its last line in the log
    local label=$1 started ended
    shift
    started=$(date +%s.%N)
    "$@" 2>>"$LOG.err" | tail -n 1 | tee -a "$LOG"
    ended=$(date +%s.%N)
    awk -v l="$label" -v a="$started" -v b="$ended" 'BEGIN { printf "%s: %.1f s\n", l, b - a }' | tee -a "$LOG"
}

prepare() { # prepare URL PETITIONS
    export DATABASE_URL=$1
    if [ "${QINGSU_BENCH_REUSE:-0}" != 1 ]; then
        step "db upgrade" "$BIN/qingsu" db upgrade
        step "seed-volume $2" "$BIN/qingsu" seed-volume --petitions "$2" --seed 1
    fi
    step "tallies rebuild" "$BIN/qingsu" tallies rebuild
    step "lights, first run" "$BIN/qingsu" scheduler run-once recompute_lights
    step "lights, steady state" "$BIN/qingsu" scheduler run-once recompute_lights
    step "refresh tallies, steady state" "$BIN/qingsu" scheduler run-once refresh_tallies
    step "close unrated evaluations" "$BIN/qingsu" scheduler run-once close_unrated_evaluations
}

if [ "$PG_PETITIONS" != 0 ]; then
echo "== PostgreSQL, $PG_PETITIONS petitions ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$LOG"
if [ "${QINGSU_BENCH_REUSE:-0}" != 1 ]; then
    $BIN/python - "$PG_SERVER" "$PG_DB" <<'EOF'
import sys
from sqlalchemy import create_engine, text
server, name = sys.argv[1], sys.argv[2]
engine = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    conn.execute(text(f'CREATE DATABASE "{name}"'))
EOF
fi
prepare "$PG_SERVER/$PG_DB" "$PG_PETITIONS"
QINGSU_BENCH_DATABASE_URL="$PG_SERVER/$PG_DB" $BIN/python -m pytest -q -p no:cacheprovider \
    benchmarks/test_dashboard_speed.py benchmarks/test_list_pages.py | tee -a "$LOG"
fi

echo "== SQLite, $SQLITE_PETITIONS petitions (load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$LOG"
[ "${QINGSU_BENCH_REUSE:-0}" = 1 ] || rm -f "$SQLITE_FILE" "$SQLITE_FILE-wal" "$SQLITE_FILE-shm"
prepare "sqlite:///$SQLITE_FILE" "$SQLITE_PETITIONS"
QINGSU_BENCH_DATABASE_URL="sqlite:///$SQLITE_FILE" $BIN/python -m pytest -q -p no:cacheprovider \
    benchmarks/test_dashboard_speed.py | tee -a "$LOG"
