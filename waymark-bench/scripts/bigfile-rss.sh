#!/usr/bin/env bash
# Peak memory of one big file: writes a JSON array of distinct ~2 KB records (as IngestBigFileIT does) of SIZE_MB
# megabytes, ingests it into SQLite with `waymark ingest` under -Xmx256m, and prints the wall time, the row count
# and the process's peak resident set size (/usr/bin/time -v).
#
#   waymark-bench/scripts/bigfile-rss.sh [SIZE_MB]      default 1024
#
# Needs the CLI jar (mvn -B -DskipTests -pl waymark-cli -am package), /usr/bin/python3, /usr/bin/time, sqlite3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SIZE_MB="${1:-1024}"
WORK="${WORK:-/tmp/waymark-bigfile}"
JAR="${JAR:-$root/waymark-cli/target/waymark.jar}"
JAVA="${JAVA:-java}"
rm -rf "$WORK"; mkdir -p "$WORK/feed"
/usr/bin/python3 - "$WORK/feed/skus_big.json" "$SIZE_MB" <<'PY'
import sys
path, limit = sys.argv[1], int(sys.argv[2]) << 20
note = "x" * 1900
n = size = 0
with open(path, "w", buffering=1 << 20) as out:
    out.write("[")
    while size < limit:
        rec = ("\n" if n == 0 else ",\n") + '{"id":%d,"sku":"SKU-%d","price":%d.25,"active":%s,"note":"%s"}' % (
            n, n * 7919 % 1000000007, n % 10000, "true" if n % 3 == 0 else "false", note)
        out.write(rec); size += len(rec); n += 1
    out.write("\n]\n")
print(f"wrote {size:,} bytes, {n:,} records", file=sys.stderr)
PY
t0=$(date +%s%3N)
/usr/bin/time -v -o "$WORK/time" "$JAVA" -Xmx256m -XX:+ExitOnOutOfMemoryError -jar "$JAR" ingest --input "$WORK/feed" \
  --db "jdbc:sqlite:$WORK/big.db" --state "$WORK/state" --job big > "$WORK/ingest.log"
t1=$(date +%s%3N)
tail -2 "$WORK/ingest.log"
echo "file $(stat -c %s "$WORK/feed/skus_big.json") bytes; rows in table: $(sqlite3 "$WORK/big.db" 'SELECT count(*) FROM skus_staging');" \
  "wall $((t1 - t0)) ms; peak RSS $(awk -F': ' '/Maximum resident/{printf "%.0f MiB", $2/1024}' "$WORK/time") under -Xmx256m"
rm -rf "$WORK"
