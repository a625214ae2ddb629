#!/usr/bin/env bash
# The early-warning job and the monthly report against a filled benchmark database (issue 14), without changing it:
# the job's own tables (warning_rule, and staff_alert with the warning columns) are made in a schema of their own,
# searched before the database's, so the job reads the benchmark's petitions and replies and writes only there.
#   QINGSU_BENCH_PG_DB (default qingsu_bench) on QINGSU_BENCH_PG_SERVER; the schema is dropped at the end.
# Runs the four default rules twice (first run: alerts raised; second: the same found again, nothing new) and the
# monthly report of the last full month for the city. Figures: benchmarks/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${QINGSU_BIN:-.venv/bin}
# This checkout's code (the interpreter's current directory comes first on its path).
qingsu() { "$BIN/python" -c "from qingsu.cli import main; main()" "$@"; }
PG_DB=${QINGSU_BENCH_PG_DB:-qingsu_bench}
PG_SERVER=${QINGSU_BENCH_PG_SERVER:-postgresql+psycopg://postgres@127.0.0.1:5432}
OVERLAY=${QINGSU_BENCH_OVERLAY:-bench_warnings}
PSQL_URL=${PG_SERVER/postgresql+psycopg/postgresql}/$PG_DB

psql -q -v ON_ERROR_STOP=1 "$PSQL_URL" <<SQL
DROP SCHEMA IF EXISTS $OVERLAY CASCADE;
CREATE SCHEMA $OVERLAY;
CREATE TABLE $OVERLAY.staff_alert (LIKE public.staff_alert INCLUDING DEFAULTS INCLUDING IDENTITY);
CREATE SEQUENCE $OVERLAY.staff_alert_id_seq OWNED BY $OVERLAY.staff_alert.id;
ALTER TABLE $OVERLAY.staff_alert ALTER COLUMN id SET DEFAULT nextval('$OVERLAY.staff_alert_id_seq'),
  ADD PRIMARY KEY (id), ADD UNIQUE (dedupe_key),
  ADD COLUMN read_by_id integer, ADD COLUMN rule_id integer, ADD COLUMN subject varchar(200),
  ADD COLUMN last_seen_at timestamp, ADD COLUMN resolved_at timestamp;
CREATE INDEX ON $OVERLAY.staff_alert (rule_id, resolved_at);
CREATE TABLE $OVERLAY.warning_rule (
  id serial PRIMARY KEY, kind varchar(20) NOT NULL, name varchar(80) NOT NULL, enabled boolean NOT NULL,
  district_code varchar(20), threshold integer NOT NULL, window_hours integer NOT NULL, min_volume integer NOT NULL,
  created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now());
SQL
export DATABASE_URL="$PG_SERVER/$PG_DB?options=-csearch_path%3D$OVERLAY,public"
"$BIN/python" - <<'PY'
from qingsu import create_app
from models.db import session_scope
from workflow.warnings import ensure_default_rules

app = create_app()
with session_scope(app) as session:
    print("default rules added:", ensure_default_rules(session))
PY
psql -qAt "$PSQL_URL" -c "SELECT count(*) || ' petitions, ' || (SELECT count(*) FROM reply) || ' replies' FROM petition"
for run in first second; do
    echo "evaluate_warnings, $run run:"
    qingsu scheduler run-once evaluate_warnings
done
psql -qAt "$PSQL_URL" -c "SELECT r.kind || ': ' || count(a.id) || ' alerts' FROM $OVERLAY.warning_rule r LEFT JOIN $OVERLAY.staff_alert a ON a.rule_id = r.id GROUP BY r.kind ORDER BY r.kind"
MONTH=$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)
OUT=$(mktemp --suffix=.xlsx)
started=$(date +%s.%N)
qingsu report monthly --month "$MONTH" --out "$OUT"
ended=$(date +%s.%N)
awk -v a="$started" -v b="$ended" -v m="$MONTH" 'BEGIN { printf "report monthly %s (city): %.1f s\n", m, b - a }'
rm -f "$OUT"
psql -q "$PSQL_URL" -c "DROP SCHEMA $OVERLAY CASCADE"
