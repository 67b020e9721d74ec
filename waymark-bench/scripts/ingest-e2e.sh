#!/usr/bin/env bash
# End-to-end ingestion comparison, side by side in interleaved rounds, printed as medians and ratios.
#
#   waymark-bench/scripts/ingest-e2e.sh [FILES] [ROUNDS]      defaults: 1420 files x 100 rows, 3 rounds
#
# Needs: the CLI jar and the bench classes (mvn -B -DskipTests -pl waymark-bench,waymark-cli -am package),
# PostgreSQL on 127.0.0.1:5432 as user postgres (a database waymark_bench is created and used, nothing else is
# touched), psql, /usr/bin/python3 with psycopg2 (apt-get install -y python3-psycopg2), /usr/bin/time.
# Every round runs, in shuffled order:
#   python      the chapter's reference_pipeline.py (row-by-row INSERT, commit + checkpoint per file)
#   wm-pg       waymark ingest into PostgreSQL, default settings (1 s units, file checkpoint store)
#   wm-pg-1     the same with --commit-every 1
#   wm-pg-1-db  --commit-every 1 --checkpoint-store db
#   wm-pg-p2, wm-pg-p4  --partitions 2 / 4 (workers: min(P, cores)); only when named in VARIANTS
#   floor       psql: \copy of the precomputed rows into an unlogged staging table + one INSERT ... SELECT ...
#               ON CONFLICT DO NOTHING, in one transaction, into a table defined as Waymark's (key COLLATE "C")
#   wm-sqlite   waymark ingest into SQLite, default settings
#   sqlite-base plain JDBC batch insert of the precomputed rows, one transaction, same pragmas (WAL, FULL)
#   spring-batch the Spring Batch 6 peer (SpringBatchIngest): chunk-oriented step, JsonItemReader,
#               JdbcBatchItemWriter with ON CONFLICT, reWriteBatchedInserts=true, JDBC job repository;
#               its repository and table (defined as Waymark's) are created fresh before the timed run
# With JAR_OLD=path/to/an/older/waymark.jar, also wm-pg-old, wm-pg-1-old, wm-sqlite-old (before/after a change);
# the old jar runs with the waymark.jsa beside it if that is newer (an archive maps only at the path it was built at),
# and with OLD_JAVA_OPTS (OLD_JAVA_OPTS=-XX:+UseSerialGC for a jar whose launcher chose that collector, session 5 on).
# wm-pg+KEY / wm-sqlite+KEY: the default run with the extra JVM options in the environment variable OPTS_KEY
# (e.g. VARIANTS="wm-pg wm-pg+c1" OPTS_c1="-XX:TieredStopAtLevel=1"), to compare JVM settings side by side.
# JAR, BENCH_CLASSES, BENCH_LIB, WORK, REF override paths; VARIANTS="a b" runs only those; SKIP_ONCE=1 skips resume and cost.
# Then once: resume at the proportional point of file 8,217 of 14,200 (time to first commit, full run time),
# and the per-unit cost of each checkpoint store (CheckpointCost) for the checkpoint share.
# Times are wall times of the whole process (JVM start included for the Java ones).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FILES="${1:-1420}"
ROUNDS="${2:-3}"
WORK="${WORK:-/tmp/waymark-ingest-e2e}"
DB=waymark_bench
URL="jdbc:postgresql://127.0.0.1:5432/$DB?user=postgres"
JAR="${JAR:-$root/waymark-cli/target/waymark.jar}"
BENCH_CLASSES="${BENCH_CLASSES:-$root/waymark-bench/target/classes}"
CP="$JAR:$BENCH_CLASSES"
BENCH_LIB="${BENCH_LIB:-$root/waymark-bench/target/lib}"
SB_CP="$BENCH_CLASSES:$BENCH_LIB/*"   # the Spring Batch peer's own class path
REF="${REF:-/work/shared/reference/reference_pipeline.py}"
JAVA="${JAVA:-java}"
# As ./waymark runs it: with the class-data sharing archive built beside the jar, when it is newer than the jar
# (NO_CDS=1: without). Old jars run without one.
JSA="${JSA:-$(dirname "$JAR")/waymark.jsa}"
cds=()
if [ -z "${NO_CDS:-}" ] && [ -f "$JSA" ] && [ "$JSA" -nt "$JAR" ]; then cds=("-XX:SharedArchiveFile=$JSA" "-Xlog:cds*=off"); fi
# and with the collector ./waymark chooses (GC=G1 for the JVM's default); old jars run as their launcher ran them
# (the Spring Batch peer and the SQLite baseline run with the same collector)
gc=(); if [ "${GC:-}" != G1 ]; then gc=("-XX:+UseSerialGC"); fi
cds+=(${gc[@]+"${gc[@]}"})
# and with the SQLite driver's native library that the build copied out of the jar beside it, as ./waymark names it
# to the driver when it is newer than the jar (the SQLite baseline gets it too)
sqlite=()
for lib in "$(dirname "$JAR")"/native/libsqlitejdbc.*; do
  if [ -z "${NO_CDS:-}" ] && [ -f "$lib" ] && [ "$lib" -nt "$JAR" ]; then
    sqlite=("-Dorg.sqlite.lib.path=${lib%/*}" "-Dorg.sqlite.lib.name=${lib##*/}"); fi
done
cds+=(${sqlite[@]+"${sqlite[@]}"})
feed="$WORK/feed$FILES"
rows="$WORK/rows$FILES.tsv"
log="$WORK/log"
results="$WORK/results-$FILES.tsv"

pg() { PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
now_ms() { date +%s%3N; }
count() { pg -d "$DB" -c "SELECT count(*) FROM $1"; }

mkdir -p "$WORK" "$log"
[ -f "$JAR" ] && [ -d "$BENCH_CLASSES/dev/waymark/bench/ingest" ] && [ -d "$BENCH_LIB" ] || {
  echo "build first: mvn -B -DskipTests -pl waymark-bench,waymark-cli -am package" >&2; exit 1; }
pg -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 || pg -d postgres -c "CREATE DATABASE $DB"
[ -d "$feed" ] || "$JAVA" -jar "$JAR" generate --files "$FILES" --rows 100 --seed 1 --out "$feed"
[ -f "$rows" ] || "$JAVA" -cp "$CP" dev.waymark.bench.ingest.ExportRows "$feed" "$rows"
distinct="$(cut -f1 "$rows" | sort -u | wc -l)"

{
  echo "# $(date -u +%FT%TZ) $(uname -srm), $(nproc) cores, $(free -m | awk '/Mem:/{print $2}') MB"
  echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); $("$JAVA" -version 2>&1 | head -1); $(pg -d "$DB" -c 'SHOW server_version'); JVM options of Waymark runs: ${cds[*]:-none}; of Spring Batch: ${gc[*]:-none}"
  echo "# feed $feed: $FILES files, $(wc -l < "$rows") rows, $distinct distinct; $ROUNDS rounds"
} | tee "$results"

# Pipes a waymark run's output to a log, noting when the first "[i/T]" line (the first commit) appears.
stamp() { # $1 = log file, $2 = start ms, $3 = file for the first-commit delay
  python3 -u -c '
import sys, time
out = open(sys.argv[1], "w"); start = int(sys.argv[2]); first = None
for line in sys.stdin:
    if first is None and line.startswith("["):
        first = int(time.time() * 1000) - start
        open(sys.argv[3], "w").write(str(first))
    out.write(line)
' "$1" "$2" "$3"
}

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$results"; echo "round $2  $1  $3 ms  $4"; }

reset_pg() {
  pg -d "$DB" -c "DROP TABLE IF EXISTS wm_e2e, waymark_quarantine, waymark_checkpoint, waymark_checkpoint_history, waymark_job, skus_staging, floor_target, floor_stage, sb_e2e"
  pg -d "$DB" -c "CHECKPOINT"
}

run_python() {
  reset_pg
  pg -d "$DB" -c "CREATE TABLE skus_staging(sku_id text, dedup_key text PRIMARY KEY, payload jsonb, run_date date)"
  rm -rf "$WORK/ref"; mkdir -p "$WORK/ref"
  local t0 t1; t0=$(now_ms)
  INPUT_DIR="$feed" CKPT="$WORK/ref/ckpt.json" CONN="host=127.0.0.1 dbname=$DB user=postgres" \
    /usr/bin/python3 "$REF" > "$log/python.log"
  t1=$(now_ms)
  record python "$1" $((t1 - t0)) "rows=$(count skus_staging)"
}

run_waymark() { # $1 variant, $2 round, $3 db url, rest: extra flags
  local name=$1 round=$2 url=$3 jar=$JAR opts=("${cds[@]}"); shift 3
  if [[ $name == *+* ]]; then local key="OPTS_${name#*+}"; read -ra extra <<< "${!key:-}"; opts+=(${extra[@]+"${extra[@]}"}); fi
  if [[ $name == *-old ]]; then   # with the old jar's own archive, if one was built beside it
    jar=$JAR_OLD; opts=()
    if [ -z "${NO_CDS:-}" ] && [ -f "${JAR_OLD%.jar}.jsa" ] && [ "${JAR_OLD%.jar}.jsa" -nt "$JAR_OLD" ]; then
      opts=("-XX:SharedArchiveFile=${JAR_OLD%.jar}.jsa" "-Xlog:cds*=off"); fi
    read -ra extra <<< "${OLD_JAVA_OPTS:-}"; opts+=(${extra[@]+"${extra[@]}"})   # e.g. the collector its launcher chose
  fi
  if [[ $url == jdbc:postgresql* ]]; then reset_pg; else rm -f "$WORK/wm.db" "$WORK/wm.db-wal" "$WORK/wm.db-shm"; fi
  rm -rf "$WORK/state"
  local t0 t1; t0=$(now_ms)
  /usr/bin/time -v -o "$log/$name.time" "$JAVA" ${opts[@]+"${opts[@]}"} -jar "$jar" ingest --input "$feed" --db "$url" --table wm_e2e \
    --job e2e --state "$WORK/state" --summary-json "$log/$name.json" "$@" | stamp "$log/$name.log" "$t0" "$log/$name.first"
  t1=$(now_ms)
  local rss cpu units inner n
  rss=$(awk -F': ' '/Maximum resident/{print $2}' "$log/$name.time")
  cpu=$(awk -F': ' '/(User|System) time/{s += $2} END {printf "%d", s * 1000}' "$log/$name.time")
  units=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["units"])' "$log/$name.json")
  inner=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["elapsed_ms"])' "$log/$name.json")
  if [[ $url == jdbc:postgresql* ]]; then n=$(count wm_e2e); else n=$(sqlite3 "$WORK/wm.db" 'SELECT count(*) FROM wm_e2e' 2>/dev/null || echo '?'); fi
  record "$name" "$round" $((t1 - t0)) "rows=$n units=$units inner_ms=$inner first_commit_ms=$(cat "$log/$name.first") rss_kb=$rss jvm_cpu_ms=$cpu"
}

run_floor() {
  reset_pg
  pg -d "$DB" -c "CREATE TABLE floor_target (dedup_key text COLLATE \"C\" PRIMARY KEY, payload jsonb NOT NULL, source_file text NOT NULL, ingested_at timestamptz NOT NULL DEFAULT now())" \
     -c "CREATE UNLOGGED TABLE floor_stage (dedup_key text, payload text, source_file text)"
  local t0 t1; t0=$(now_ms)
  pg -d "$DB" -1 -c "\\copy floor_stage FROM '$rows'" \
     -c "INSERT INTO floor_target (dedup_key, payload, source_file) SELECT dedup_key, payload::jsonb, source_file FROM floor_stage ON CONFLICT (dedup_key) DO NOTHING"
  t1=$(now_ms)
  record floor "$1" $((t1 - t0)) "rows=$(count floor_target)"
}

run_sqlite_base() {
  local t0 t1 out; t0=$(now_ms)
  out=$("$JAVA" ${gc[@]+"${gc[@]}"} ${sqlite[@]+"${sqlite[@]}"} -cp "$CP" dev.waymark.bench.ingest.SqliteBaseline "$rows" "$WORK/base.db")
  t1=$(now_ms)
  record sqlite-base "$1" $((t1 - t0)) "$out"
}

run_spring_batch() {
  reset_pg
  "$JAVA" -cp "$SB_CP" dev.waymark.bench.ingest.SpringBatchIngest setup "$URL" sb_e2e 2> "$log/spring-batch-setup.log"
  local t0 t1 out; t0=$(now_ms)
  out=$(/usr/bin/time -v -o "$log/spring-batch.time" "$JAVA" ${gc[@]+"${gc[@]}"} -cp "$SB_CP" dev.waymark.bench.ingest.SpringBatchIngest run "$feed" "$URL" sb_e2e 2> "$log/spring-batch.log" | tail -1)
  t1=$(now_ms)
  record spring-batch "$1" $((t1 - t0)) "rows=$(count sb_e2e) rss_kb=$(awk -F': ' '/Maximum resident/{print $2}' "$log/spring-batch.time") ${out// /_}"
}

variants=(python wm-pg wm-pg-1 wm-pg-1-db floor wm-sqlite sqlite-base spring-batch)
if [ -n "${JAR_OLD:-}" ]; then variants+=(wm-pg-old wm-pg-1-old wm-sqlite-old); fi
if [ -n "${VARIANTS:-}" ]; then read -ra variants <<< "$VARIANTS"; fi   # e.g. VARIANTS="wm-sqlite sqlite-base"
run_variant() {
  case $1 in
    python) run_python "$2" ;;
    wm-pg) run_waymark wm-pg "$2" "$URL" ;;
    wm-pg-1) run_waymark wm-pg-1 "$2" "$URL" --commit-every 1 ;;
    wm-pg-db) run_waymark wm-pg-db "$2" "$URL" --checkpoint-store db ;;
    wm-pg-p2) run_waymark wm-pg-p2 "$2" "$URL" --partitions 2 ;;
    wm-pg-p4) run_waymark wm-pg-p4 "$2" "$URL" --partitions 4 ;;
    wm-pg-1-db) run_waymark wm-pg-1-db "$2" "$URL" --commit-every 1 --checkpoint-store db ;;
    floor) run_floor "$2" ;;
    wm-sqlite) run_waymark wm-sqlite "$2" "jdbc:sqlite:$WORK/wm.db" ;;
    wm-pg-old) run_waymark wm-pg-old "$2" "$URL" ;;
    wm-pg-1-old) run_waymark wm-pg-1-old "$2" "$URL" --commit-every 1 ;;
    wm-sqlite-old) run_waymark wm-sqlite-old "$2" "jdbc:sqlite:$WORK/wm.db" ;;
    sqlite-base) run_sqlite_base "$2" ;;
    spring-batch) run_spring_batch "$2" ;;
    wm-pg+*) run_waymark "$1" "$2" "$URL" ;;
    wm-sqlite+*) run_waymark "$1" "$2" "jdbc:sqlite:$WORK/wm.db" ;;
    *) echo "unknown variant $1" >&2; exit 2 ;;
  esac
}

for round in $(seq 1 "$ROUNDS"); do
  for v in $(printf '%s\n' "${variants[@]}" | shuf --random-source=<(yes "$round")); do
    run_variant "$v" "$round"
  done
done

if [ -z "${SKIP_ONCE:-}" ]; then   # SKIP_ONCE=1: rounds only
# Resume at the proportional point of "file 8,217 of 14,200": the first K files are committed by a run over a
# folder holding only them (same state, same table), then the full folder is run and resumes at file K+1.
K=$((FILES * 8216 / 14200))
reset_pg
rm -rf "$WORK/state" "$WORK/partial"; mkdir -p "$WORK/partial"
mapfile -t names < <(ls "$feed" | sort)   # (not "| head" in a pipeline: SIGPIPE + pipefail would end the script)
for f in "${names[@]:0:$K}"; do ln -s "$feed/$f" "$WORK/partial/$f"; done
"$JAVA" -jar "$JAR" ingest --input "$WORK/partial" --db "$URL" --table wm_e2e --job e2e --state "$WORK/state" > "$log/resume-prefix.log"
t0=$(now_ms)
/usr/bin/time -v -o "$log/wm-pg-resume.time" "$JAVA" ${cds[@]+"${cds[@]}"} -jar "$JAR" ingest --input "$feed" --db "$URL" --table wm_e2e \
  --job e2e --state "$WORK/state" --summary-json "$log/wm-pg-resume.json" | stamp "$log/wm-pg-resume.log" "$t0" "$log/wm-pg-resume.first"
t1=$(now_ms)
record wm-pg-resume 1 $((t1 - t0)) "rows=$(count wm_e2e) resumed_at=$(head -1 "$log/wm-pg-resume.log" | tr ' ' '_') first_commit_ms=$(cat "$log/wm-pg-resume.first")"

cost=$("$JAVA" -cp "$CP" dev.waymark.bench.ingest.CheckpointCost "$WORK/ckpt-cost-$$" "$URL" 1000 | tail -1)
rm -rf "$WORK/ckpt-cost-$$"
echo "# checkpoint cost per unit: $cost" | tee -a "$results"
fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results"

python3 - "$results" <<'PY'
import sys, statistics, re
rows = {}
meta = {}
cost = {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        m = re.search(r"file_ms=([\d.]+) db_ms=([\d.]+)", line)
        if m: cost = {"file": float(m.group(1)), "db": float(m.group(2))}
        continue
    name, rnd, ms, extra = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append(int(ms))
    meta.setdefault(name, []).append(dict(kv.split("=", 1) for kv in extra.split() if "=" in kv))
med = {k: statistics.median(v) for k, v in rows.items()}
def mx(name, key):
    vals = [float(m[key]) for m in meta.get(name, []) if key in m and m[key] not in ("", "?")]
    return statistics.median(vals) if vals else float("nan")
print("\nvariant          n   median ms    min ms    max ms")
for k in rows:
    print(f"{k:14s} {len(rows[k]):3d} {med[k]:11.0f} {min(rows[k]):9.0f} {max(rows[k]):9.0f}")
def ratio(a, b): return med[a] / med[b] if a in med and b in med else float("nan")
print("\nratios of median wall times (target in brackets)")
print(f"  rows/s  wm-pg   / python      = {ratio('python','wm-pg'):6.2f}x   [>= 10]")
print(f"  rows/s  wm-pg-1 / python      = {ratio('python','wm-pg-1'):6.2f}x   [>= 10]")
print(f"  rows/s  floor / python        = {ratio('python','floor'):6.2f}x   (psql COPY + one INSERT: what the 10x asks of Waymark, set against the floor)")
for v in ("wm-pg-p2", "wm-pg-p4"):
    if v in med: print(f"  rows/s  {v} / python     = {ratio('python',v):6.2f}x   time {v} / floor = {ratio(v,'floor'):6.2f}x")
print(f"  time    wm-pg   / floor       = {ratio('wm-pg','floor'):6.2f}x   [<= 1.5]")
print(f"  time    wm-pg-1 / floor       = {ratio('wm-pg-1','floor'):6.2f}x   [<= 3]")
print(f"  time    wm-sqlite / sqlite-base = {ratio('wm-sqlite','sqlite-base'):6.2f}x [<= 1.3]")
print(f"  rows/s  wm-pg   / spring-batch = {ratio('spring-batch','wm-pg'):6.2f}x  [>= 2]")
print(f"  time    wm-pg / wm-pg-old     = {ratio('wm-pg','wm-pg-old'):6.2f}x   (after / before the change)")
print(f"  time    wm-pg-1 / wm-pg-1-old = {ratio('wm-pg-1','wm-pg-1-old'):6.2f}x")
print(f"  time    wm-sqlite / wm-sqlite-old = {ratio('wm-sqlite','wm-sqlite-old'):6.2f}x")
print(f"  time    wm-pg-old / floor     = {ratio('wm-pg-old','floor'):6.2f}x   wm-pg-1-old / floor = {ratio('wm-pg-1-old','floor'):6.2f}x   wm-sqlite-old / sqlite-base = {ratio('wm-sqlite-old','sqlite-base'):6.2f}x")
print(f"  time    wm-pg-1-db / wm-pg-1  = {ratio('wm-pg-1-db','wm-pg-1'):6.2f}x")
for v in sorted(k for k in med if "+" in k):
    base = v.split("+")[0]
    print(f"  time    {v} / {base} = {ratio(v, base):6.2f}x   rows/s {v} / spring-batch = {ratio('spring-batch', v):6.2f}x")
if "wm-pg-resume" in rows:
    first = mx("wm-pg-resume", "first_commit_ms"); full = med.get("wm-pg", float("nan"))
    print(f"  resume: first commit after {first:.0f} ms = {100*first/full:.1f}% of the full default run ({full:.0f} ms); resumed run {med['wm-pg-resume']:.0f} ms")
print("  first commit of a full run: wm-pg %.0f ms, wm-pg-1 %.0f ms" % (mx("wm-pg", "first_commit_ms"), mx("wm-pg-1", "first_commit_ms")))
if cost:
    for name in ("wm-pg", "wm-pg-1"):
        if name in rows:
            units = mx(name, "units"); inner = mx(name, "inner_ms")
            for store in ("file", "db"):
                print(f"  checkpoint share {name:8s} {store:4s} store: {units:.0f} units x {cost[store]:.3f} ms = {units*cost[store]:.0f} ms of {inner:.0f} ms = {100*units*cost[store]/inner:.1f}%")
for name in ("wm-pg", "wm-pg-1", "wm-sqlite", "wm-pg-resume"):
    if name in rows:
        vals = [float(m["rss_kb"]) for m in meta[name] if "rss_kb" in m] if name != "wm-pg-resume" else []
        if vals: print(f"  peak RSS {name:10s}: median {statistics.median(vals)/1024:.0f} MiB, max {max(vals)/1024:.0f} MiB")
PY
