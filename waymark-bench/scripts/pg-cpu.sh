#!/usr/bin/env bash
# Wall time and CPU time (the waymark JVM, and the PostgreSQL backends serving it) of `waymark ingest` into
# PostgreSQL at default settings, jar against jar, and of the floor (psql \copy + one INSERT), interleaved.
#
#   waymark-bench/scripts/pg-cpu.sh FILES ROUNDS NAME=JAR [NAME=JAR ...] [floor]
#
# Uses its own database (DB, default waymark_pgcpu) so that only the measured run's backends are counted, and
# WORK (default /tmp/waymark-pgcpu) for the feed (waymark generate --files FILES --rows 100 --seed 1), the
# precomputed rows of the floor (ExportRows; BENCH_CP = the bench class path) and the state. Each round runs every
# variant once, in shuffled order, on a fresh table after a CHECKPOINT. Per run: one line of
# scripts/cpu-run.py (wall_ms, cpu_ms of the process, backend_ms); at the end, medians per variant.
# EXTRA="--flag ..." adds flags to every waymark run, JAVA_OPTS="-D..." options to its JVM. A variant NAME=JAR may
# carry JVM options of its own after a colon: NAME=JAR:-Dkey=value (the same jar twice with two settings).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
FILES="$1"; ROUNDS="$2"; shift 2
DB="${DB:-waymark_pgcpu}"
WORK="${WORK:-/tmp/waymark-pgcpu}"
URL="jdbc:postgresql://127.0.0.1:5432/$DB?user=postgres"
BENCH_CP="${BENCH_CP:-$root/waymark-cli/target/waymark.jar:$root/waymark-bench/target/classes}"
feed="$WORK/feed$FILES"; rows="$WORK/rows$FILES.tsv"; results="$WORK/results-$FILES-$(date +%s).tsv"
pg() { PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
mkdir -p "$WORK"
pg -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 || pg -d postgres -c "CREATE DATABASE $DB"
declare -A jars=() opts=()
variants=()
for v in "$@"; do
  if [ "$v" = floor ]; then variants+=(floor); continue; fi
  name=${v%%=*}; val=${v#*=}; variants+=("$name")
  jars[$name]=${val%%:*}; opts[$name]=""
  if [[ $val == *:* ]]; then opts[$name]=${val#*:}; fi
done
first_jar="$(printf '%s\n' "${jars[@]}" | head -1)"
[ -d "$feed" ] || java -jar "$first_jar" generate --files "$FILES" --rows 100 --seed 1 --out "$feed" > /dev/null
if [[ " ${variants[*]} " == *" floor "* ]] && [ ! -f "$rows" ]; then
  java -cp "$BENCH_CP" dev.waymark.bench.ingest.ExportRows "$feed" "$rows"
fi
echo "# $(date -u +%FT%TZ) $FILES files, $ROUNDS rounds, variants ${variants[*]}; load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$results"

reset() {
  pg -d "$DB" -c "DROP TABLE IF EXISTS wm_e2e, waymark_quarantine, waymark_checkpoint, waymark_checkpoint_history, waymark_job, floor_target, floor_stage"
  pg -d "$DB" -c "CHECKPOINT"
  rm -rf "$WORK/state"
}

run() { # $1 variant, $2 round
  reset
  local out
  if [ "$1" = floor ]; then
    pg -d "$DB" -c "CREATE TABLE floor_target (dedup_key text COLLATE \"C\" PRIMARY KEY, payload jsonb NOT NULL, source_file text NOT NULL, ingested_at timestamptz NOT NULL DEFAULT now())" \
       -c "CREATE UNLOGGED TABLE floor_stage (dedup_key text, payload text, source_file text)"
    python3 "$here/cpu-run.py" "$DB" "$WORK/cpu" -- psql -h 127.0.0.1 -U postgres -d "$DB" -v ON_ERROR_STOP=1 -qAt -1 \
      -c "\\copy floor_stage FROM '$rows'" \
      -c "INSERT INTO floor_target (dedup_key, payload, source_file) SELECT dedup_key, payload::jsonb, source_file FROM floor_stage ON CONFLICT (dedup_key) DO NOTHING" > /dev/null
    out="$(cat "$WORK/cpu") rows=$(pg -d "$DB" -c 'SELECT count(*) FROM floor_target')"
  else
    # shellcheck disable=SC2086
    # shellcheck disable=SC2086
    python3 "$here/cpu-run.py" "$DB" "$WORK/cpu" -- java ${JAVA_OPTS:-} ${opts[$1]} -jar "${jars[$1]}" ingest --input "$feed" --db "$URL" --table wm_e2e \
      --job e2e --state "$WORK/state" --summary-json "$WORK/summary.json" ${EXTRA:-} > "$WORK/$1.log" 2>&1
    out="$(cat "$WORK/cpu") rows=$(pg -d "$DB" -c 'SELECT count(*) FROM wm_e2e') units=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["units"])' "$WORK/summary.json")"
  fi
  printf '%s\t%s\t%s\tload=%s\n' "$1" "$2" "$out" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$results"
}

for round in $(seq 1 "$ROUNDS"); do
  for v in $(printf '%s\n' "${variants[@]}" | shuf --random-source=<(yes "$round")); do run "$v" "$round"; done
done

python3 - "$results" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    if line.startswith("#"): continue
    name, rnd, rest = line.split("\t", 2)
    runs.setdefault(name, []).append({k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", rest)})
def cell(rs, key):
    v = sorted(r[key] for r in rs)
    return f"{statistics.median(v):.0f} [{v[0]:.0f}-{v[-1]:.0f}]"
keys = ["wall_ms", "cpu_ms", "backend_ms", "main_ms", "reader_ms", "jit_ms", "gc_ms"]
print("\nmedian [min-max], ms; cpu = the whole process (wait4), backend = its PostgreSQL backends, then threads")
print(f"{'variant':12s} {'n':>2s} " + " ".join(f"{k[:-3]:>20s}" for k in keys))
for name, rs in runs.items():
    print(f"{name:12s} {len(rs):2d} " + " ".join(f"{cell(rs, k) if all(k in r for r in rs) else '':>20s}" for k in keys))
PY
echo "# results: $results; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
