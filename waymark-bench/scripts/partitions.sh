#!/usr/bin/env bash
# Partitions and workers: rows/s of `waymark ingest --partitions P --workers W` on SQLite and PostgreSQL, of 1 vs 3
# `waymark worker` processes through the PostgreSQL coordinator, and the cost of global checkpoints; all in
# interleaved rounds on one machine, printed as medians and as ratios against P = 1, W = 1 of the same round.
#
#   waymark-bench/scripts/partitions.sh [FILES] [ROUNDS]      defaults: 1420 files x 100 rows, 3 rounds
#
# Needs: Maven and a JDK 17 (the CLI jar is built once, then copied to WORK so a rebuild during the run cannot change
# it; JAR=path/to/waymark.jar uses that jar instead of building), PostgreSQL on 127.0.0.1:5432 as user postgres (the
# database waymark_pbench is dropped and created again before each PostgreSQL run; no other database is touched),
# psql, sqlite3, python3, /usr/bin/time, timeout; PG_PIDFILE (default /var/run/postgresql/15-main.pid) for the server CPU.
# Variants (every round runs each once, in an order shuffled per round):
#   sqlite-pPwW  waymark ingest --db jdbc:sqlite:... --partitions P --workers W, P in 1 2 4, W in 1 2
#   pg-pPwW      the same into PostgreSQL
#   coord-1      one `waymark worker --coordinator jdbc:postgresql://... --partitions 6 --workers 1` process
#   coord-3      three such processes started together (all three must end for the run to end)
#   gc-1s/gc-10s pg-p4w2 with --global-checkpoint-every 1s / 10s (pg-p4w2 is the "no periodic global checkpoint"
#                case: the runner always writes one at the end of a run)
# Defaults as a user would run them: 1 s units, file checkpoint store (workers: the db store, as they must).
# Each run starts from nothing: a new table (SQLite file removed, PostgreSQL database recreated + CHECKPOINT), a new
# state folder. Per run it records the wall time (launch to the last process's exit), the CPU time (user + sys) of the
# waymark process(es), the CPU time of the PostgreSQL server (postmaster, its live children and the children it
# reaped: shared with any other client of the server), the 1-minute load average before and after, and the share of
# the machine's CPU that was busy (from /proc/stat, every process on the machine).
# Env: WORK (default /tmp/waymark-pbench-run), JAR, JAR_COORD (a jar for the worker variants only), JAVA, SETS ("matrix coord global", default all three),
# VARIANTS (explicit list), COORD_WORKERS (threads per worker process, default 1), COORD_LEASE (--lease of the workers), TIMEOUT (per run, default 900s),
# UNTIL (HH:MM UTC: no round starts unless the previous round's duration still fits before it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FILES="${1:-1420}"
ROUNDS="${2:-3}"
WORK="${WORK:-/tmp/waymark-pbench-run}"
DB=waymark_pbench
URL="jdbc:postgresql://127.0.0.1:5432/$DB?user=postgres"
JAVA="${JAVA:-java}"
COORD_WORKERS="${COORD_WORKERS:-1}"
TIMEOUT="${TIMEOUT:-900s}"
feed="$WORK/feed$FILES"
log="$WORK/log"
results="$WORK/results-$FILES-$(date -u +%Y%m%dT%H%M%SZ).tsv"
hz=$(getconf CLK_TCK)
PG_PIDFILE="${PG_PIDFILE:-/var/run/postgresql/15-main.pid}"

pg() { PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
now_ms() { date +%s%3N; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# Busy and total jiffies of the whole machine (all cores), from the first line of /proc/stat.
cpu_stat() { awk '/^cpu /{busy=$2+$3+$4+$7+$8; print busy, busy+$5+$6}' /proc/stat; }
# CPU time in ms of the PostgreSQL server: postmaster (own + reaped children) and its live children.
pg_cpu_ms() {
  local pm pids
  pm=$(head -1 "$PG_PIDFILE" 2>/dev/null || true)
  [ -n "$pm" ] || { echo 0; return; }
  pids=$(pgrep -P "$pm" | tr '\n' ' ')
  # shellcheck disable=SC2086  # one path per pid
  { cat "/proc/$pm/stat" $(for p in $pids; do echo "/proc/$p/stat"; done) 2>/dev/null || true; } |
    awk -v hz="$hz" -v pm="$pm" '{ sub(/^.*\) /, ""); t += $12 + $13; if (NR == 1) t += $14 + $15 } END { printf "%d", t * 1000 / hz }'
}

mkdir -p "$WORK" "$log"
if [ -n "${JAR:-}" ]; then
  cp "$JAR" "$WORK/waymark.jar"
else
  (cd "$root" && mvn -q -B package -DskipTests -Dspotless.check.skip=true -Djacoco.skip=true -pl waymark-cli -am)
  cp "$root/waymark-cli/target/waymark.jar" "$WORK/waymark.jar"
fi
jar="$WORK/waymark.jar"
coord_jar=$jar   # JAR_COORD=path: the worker variants run that jar instead (a branch not merged yet)
if [ -n "${JAR_COORD:-}" ]; then cp "$JAR_COORD" "$WORK/waymark-coord.jar"; coord_jar="$WORK/waymark-coord.jar"; fi
if [ ! -d "$feed" ]; then
  "$JAVA" -jar "$jar" generate --files "$FILES" --rows 100 --seed 1 --out "$feed" | tee "$feed.info"
fi
records=$((FILES * 100))
distinct=$(sed -n 's/.*(\([0-9,]*\) distinct.*/\1/p' "$feed.info" 2>/dev/null | tr -d ,)
cat "$feed"/* > /dev/null   # the feed in the page cache for every run alike, the first included

has_global=$("$JAVA" -jar "$jar" help ingest 2>&1 | grep -c -- --global-checkpoint-every || true)
has_worker=$("$JAVA" -jar "$coord_jar" help worker > /dev/null 2>&1 && echo 1 || echo 0)
read -ra sets <<< "${SETS:-matrix coord global}"
variants=()
for g in "${sets[@]}"; do
  case $g in
    matrix) for db in sqlite pg; do for p in 1 2 4; do for w in 1 2; do variants+=("$db-p${p}w$w"); done; done; done ;;
    coord) if [ "$has_worker" = 1 ]; then variants+=(coord-1 coord-3); else echo "# no 'waymark worker' in this jar: coord skipped"; fi ;;
    global)
      if [ "$has_global" -gt 0 ]; then
        variants+=(gc-1s gc-10s)
        [[ " ${variants[*]} " == *" pg-p4w2 "* ]] || variants+=(pg-p4w2)
      else echo "# no --global-checkpoint-every in this jar: global skipped"; fi ;;
  esac
done
if [ -n "${VARIANTS:-}" ]; then read -ra variants <<< "$VARIANTS"; fi

{
  echo "# $(date -u +%FT%TZ) $(uname -srm), $(nproc) cores, $(free -m | awk '/Mem:/{print $2}') MB; $(uptime)"
  echo "# $("$JAVA" -version 2>&1 | head -1); PostgreSQL $(pg -d postgres -c 'SHOW server_version'); jar $(sha256sum "$jar" | cut -c1-12)$([ "$coord_jar" = "$jar" ] || echo ", workers: $(sha256sum "$coord_jar" | cut -c1-12) from $JAR_COORD") ($(cd "$root" && git rev-parse --short HEAD)$(cd "$root" && git diff --quiet HEAD || echo '+dirty'))"
  echo "# feed $feed: $FILES files, $records records, ${distinct:-?} distinct; $ROUNDS rounds; variants: ${variants[*]}"
} | tee "$results"

reset_pg() {
  pg -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  pg -d postgres -c "CHECKPOINT"
}

# Runs one variant: $1 name, $2 round, $3 number of processes, rest: the waymark arguments of each process.
measure() {
  local name=$1 round=$2 procs=$3 run_jar=$jar; shift 3
  if [[ $name == coord-* ]]; then run_jar=$coord_jar; fi
  local t0 t1 c0 c1 pg0 pg1 l0 l1 status=0 i cpu=0 rss=0 n inner=""
  l0=$(load1); read -r c0 ct0 < <(cpu_stat); pg0=$(pg_cpu_ms); t0=$(now_ms)
  local pids=()
  for i in $(seq 1 "$procs"); do
    timeout "$TIMEOUT" /usr/bin/time -f '%U %S %M' -o "$log/$name.$i.time" \
      "$JAVA" -jar "$run_jar" "$@" > "$log/$name.$i.log" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || status=$?; done
  t1=$(now_ms); sleep 0.2   # lets the postmaster reap the run's backends before its CPU is read
  read -r c1 ct1 < <(cpu_stat); pg1=$(pg_cpu_ms); l1=$(load1)
  for i in $(seq 1 "$procs"); do
    if ! read -r u s m < <(tail -1 "$log/$name.$i.time" 2>/dev/null); then   # no times: the process was killed
      u=0 s=0 m=0; [ "$status" != 0 ] || status=125
    fi
    cpu=$(python3 -c "print(round($cpu + ($u + $s) * 1000))"); rss=$((m > rss ? m : rss))
  done
  if [[ $name == sqlite-* ]]; then n=$(sqlite3 "$WORK/wm.db" 'SELECT count(*) FROM wm_part' 2>/dev/null || echo '?')
  else n=$(pg -d "$DB" -c 'SELECT count(*) FROM wm_part' 2>/dev/null || echo '?'); fi
  [ -f "$log/$name.json" ] && inner=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["elapsed_ms"])' "$log/$name.json" 2>/dev/null || true)
  local busy=$(( (c1 - c0) * 100 / (ct1 - ct0 > 0 ? ct1 - ct0 : 1) )) globals=""
  if [ -d "$WORK/state/pbench/global" ]; then   # the highest complete global checkpoint = how many were written
    globals=$(find "$WORK/state/pbench/global" -name '*.complete' -printf '%f\n' | sort | tail -1 | sed 's/^0*//; s/\.complete$//')
  fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$round" $((t1 - t0)) \
    "status=$status rows=$n cpu_ms=$cpu pg_cpu_ms=$((pg1 - pg0)) load_before=$l0 load_after=$l1 machine_busy_pct=$busy rss_kb=$rss inner_ms=$inner globals=$globals" >> "$results"
  echo "round $round  $name  $((t1 - t0)) ms  status=$status rows=$n cpu=${cpu} ms pg_cpu=$((pg1 - pg0)) ms load $l0 -> $l1 busy $busy%"
}

run_variant() { # $1 variant, $2 round
  local v=$1 round=$2 url common
  rm -rf "$WORK/state" "$WORK/wm.db" "$WORK/wm.db-wal" "$WORK/wm.db-shm" "$log/$v.json"
  common=(--input "$feed" --table wm_part --job pbench)
  case $v in
    sqlite-p*w*|pg-p*w*|gc-*)
      local p w extra=()
      if [[ $v == gc-* ]]; then p=4; w=2; extra=(--global-checkpoint-every "${v#gc-}")
      else p=${v#*-p}; p=${p%w*}; w=${v##*w}; fi
      if [[ $v == sqlite-* ]]; then url="jdbc:sqlite:$WORK/wm.db"; else reset_pg; url=$URL; fi
      measure "$v" "$round" 1 ingest "${common[@]}" --db "$url" --state "$WORK/state" --partitions "$p" --workers "$w" \
        --summary-json "$log/$v.json" "${extra[@]}" ;;
    coord-*)
      reset_pg
      measure "$v" "$round" "${v#coord-}" worker "${common[@]}" --coordinator "$URL" --partitions 6 --workers "$COORD_WORKERS" \
        ${COORD_LEASE:+--lease "$COORD_LEASE"} ;;
    *) echo "unknown variant $v" >&2; exit 2 ;;
  esac
}

until_ms=""
if [ -n "${UNTIL:-}" ]; then until_ms=$(( $(date -u -d "$UNTIL" +%s) * 1000 )); fi
last_round_ms=0
for round in $(seq 1 "$ROUNDS"); do
  if [ -n "$until_ms" ] && [ $(( $(now_ms) + last_round_ms )) -gt "$until_ms" ]; then
    echo "# round $round not started: the last round took $last_round_ms ms and UNTIL=$UNTIL" | tee -a "$results"; break
  fi
  r0=$(now_ms)
  for v in $(printf '%s\n' "${variants[@]}" | shuf --random-source=<(yes "$round")); do
    run_variant "$v" "$round"
  done
  last_round_ms=$(( $(now_ms) - r0 ))
  echo "# round $round: $(date -u +%T), $last_round_ms ms" | tee -a "$results"
done
echo "# end $(date -u +%FT%TZ); $(uptime)" | tee -a "$results"

python3 - "$results" "$records" "${distinct:-}" <<'PY'
import sys, statistics as st
path, records, distinct = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = {}      # variant -> {round: meta}
for line in open(path):
    if line.startswith("#"):
        continue
    name, rnd, ms, extra = line.rstrip("\n").split("\t")
    m = dict(kv.split("=", 1) for kv in extra.split())
    m["ms"] = int(ms)
    if m["status"] != "0" or (distinct and m["rows"] != distinct):
        print(f"EXCLUDED {name} round {rnd}: status={m['status']} rows={m['rows']} (expected {distinct or '?'})")
        continue
    runs.setdefault(name, {})[rnd] = m
def rps(m): return records / (m["ms"] / 1000)
def med(name, f):
    vals = [f(m) for m in runs[name].values()]
    return st.median(vals), min(vals), max(vals)
base_of = lambda v: ("sqlite-p1w1" if v.startswith("sqlite") else "pg-p4w2" if v.startswith("gc-") else "pg-p1w1")
print(f"\n{records:,} records per run; rows/s = records / wall time (JVM start included); cores = CPU time / wall time")
print(f"{'variant':12s} {'n':>2s} {'rows/s med':>10s} {'min-max':>15s} {'wall s':>7s} {'cpu s':>6s} {'cores':>5s} "
      f"{'pg cpu s':>8s} {'busy%':>5s} {'load':>11s}  {'vs base':>7s} {'per-round':>16s}  base")
order = [v for v in ["sqlite-p1w1","sqlite-p1w2","sqlite-p2w1","sqlite-p2w2","sqlite-p4w1","sqlite-p4w2",
                     "pg-p1w1","pg-p1w2","pg-p2w1","pg-p2w2","pg-p4w1","pg-p4w2","coord-1","coord-3","gc-10s","gc-1s"]
         if v in runs] + sorted(v for v in runs if v not in
         {"sqlite-p1w1","sqlite-p1w2","sqlite-p2w1","sqlite-p2w2","sqlite-p4w1","sqlite-p4w2","pg-p1w1","pg-p1w2",
          "pg-p2w1","pg-p2w2","pg-p4w1","pg-p4w2","coord-1","coord-3","gc-10s","gc-1s"})
for v in order:
    r, lo, hi = med(v, rps)
    wall = med(v, lambda m: m["ms"] / 1000)[0]
    cpu = med(v, lambda m: int(m["cpu_ms"]) / 1000)[0]
    cores = med(v, lambda m: int(m["cpu_ms"]) / m["ms"])[0]
    pgc = med(v, lambda m: int(m["pg_cpu_ms"]) / 1000)[0] if not v.startswith("sqlite") else float("nan")
    busy = med(v, lambda m: int(m["machine_busy_pct"]))[0]
    l0 = min(float(m["load_before"]) for m in runs[v].values()); l1 = max(float(m["load_after"]) for m in runs[v].values())
    b = base_of(v)
    ratio = per = ""
    if b in runs:
        ratio = f"{r / med(b, rps)[0]:.2f}x"
        pr = [rps(m) / rps(runs[b][k]) for k, m in runs[v].items() if k in runs[b]]
        if pr:
            per = f"{st.median(pr):.2f} [{min(pr):.2f}-{max(pr):.2f}]"
    print(f"{v:12s} {len(runs[v]):2d} {r:10,.0f} {lo:7,.0f}-{hi:<7,.0f} {wall:7.1f} {cpu:6.1f} {cores:5.2f} "
          f"{'-' if pgc != pgc else f'{pgc:.1f}':>8s} {busy:5.0f} {l0:5.1f}-{l1:<5.1f}  {ratio:>7s} {per:>16s}  {b}")
for v in ("pg-p4w2", "gc-10s", "gc-1s"):
    if v in runs:
        g = [m.get("globals", "") for m in runs[v].values()]
        print(f"{v}: complete global checkpoints written per run: {', '.join(x or '-' for x in g)}")
if "coord-1" in runs and "coord-3" in runs:
    pr = [rps(runs["coord-3"][k]) / rps(runs["coord-1"][k]) for k in runs["coord-3"] if k in runs["coord-1"]]
    print(f"\ncoord-3 / coord-1 rows/s: median {st.median(pr):.2f} [{min(pr):.2f}-{max(pr):.2f}] over {len(pr)} rounds")
PY
echo "results: $results"
