#!/usr/bin/env python3
"""Time from launch to the first commit of a resumed run ("resume at file 8,217 of 14,200").

  waymark-bench/scripts/first-commit.py --variant before=/path/to/dirA --variant after=/path/to/dirB \
      [--db pg|sqlite ...] [--runs 5] [--files 14200] [--work /tmp/waymark-first-commit] [--full]

Each variant is a directory holding a `waymark` launcher and `waymark-cli/target/waymark.jar` (copy them
there, so that the launcher's staleness check finds no sources to rebuild from); LABEL=DIR:OPTS also sets
WAYMARK_JAVA_OPTS=OPTS for that variant. Once per database: the feed (`waymark generate --files 14200 --rows
100 --seed 1`), a prefix folder linking its first 8,216 files (8,216 x FILES / 14,200), one ingest of the
prefix into a fresh table, and a copy of its state folder. Then per round, each variant once, in shuffled
order: the state folder is restored from the copy, rows of files after the prefix are deleted, and
`DIR/waymark ingest --input FEED` (same --state, --db, --table, --job) is launched; the time from launch to
the first `[i/T]` line (printed after the unit's commit and checkpoint) is recorded and the process is
killed (SIGKILL: the restored state and the dedup key make that harmless). With --full it runs to the end.
With --floor CLASSES (waymark-bench/target/classes) each round also times `jvm-floor`: `ResumeFloor` run
on the first variant's jar and CDS archive, the least a JVM process must do before that commit (connect,
read the file after the prefix, insert its rows, commit, print a line).
Lines `WMTRACE <epoch ms> <stage>` on stderr (a temporary tracing patch) are reported as ms after launch.

PostgreSQL: database waymark_startup on 127.0.0.1:5432 as postgres (created if absent; nothing else is
touched). Prints one line per run and, at the end, the median, min and max per variant and database.
"""
import argparse
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

PG_DB = "waymark_startup"
PG_URL = f"jdbc:postgresql://127.0.0.1:5432/{PG_DB}?user=postgres"
TABLE = "wm_startup"


def psql(sql, db=PG_DB):
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
        check=True, capture_output=True, text=True, env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"),
    ).stdout.strip()


def cpu_ms(pid):
    """User + system CPU of the process so far (all its threads), from /proc, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError):
        return None


def thread_cpu_ms(pid):
    """CPU ms so far of each thread of the process, summed by thread name (JIT and GC threads grouped)."""
    groups = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                head, fields = f.read().rsplit(")", 1)
            name = head.split("(", 1)[1]
            name = ("JIT" if name.startswith(("C1 Comp", "C2 Comp")) else
                    "GC" if name.startswith(("GC Thr", "G1 ")) else name)
            ms = (int(fields.split()[11]) + int(fields.split()[12])) * 1000 / os.sysconf("SC_CLK_TCK")
            groups[name] = groups.get(name, 0) + ms
    except (OSError, IndexError, ValueError):
        pass
    return groups


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", action="append", required=True, help="LABEL=DIR[:WAYMARK_JAVA_OPTS]")
    ap.add_argument("--db", action="append", choices=["pg", "sqlite"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--files", type=int, default=14200)
    ap.add_argument("--work", default="/tmp/waymark-first-commit")
    ap.add_argument("--full", action="store_true", help="let each run finish; also report its wall time")
    ap.add_argument("--threads", action="store_true", help="also print each thread's CPU ms at the first commit")
    ap.add_argument("--floor", metavar="CLASSES", help="also time ResumeFloor from these bench classes")
    ap.add_argument("--setup-jar", help="jar for generate and the prefix run (default: the first variant's)")
    args = ap.parse_args()
    dbs = args.db or ["pg", "sqlite"]
    variants = []
    for v in args.variant:
        label, rest = v.split("=", 1)
        d, _, opts = rest.partition(":")
        variants.append((label, os.path.abspath(d), opts))
    jar = args.setup_jar or os.path.join(variants[0][1], "waymark-cli/target/waymark.jar")
    work = args.work
    os.makedirs(work, exist_ok=True)
    feed = os.path.join(work, f"feed{args.files}")
    k = args.files * 8216 // 14200
    prefix = os.path.join(work, f"prefix{args.files}")
    if not os.path.isdir(feed):
        subprocess.run(["java", "-jar", jar, "generate", "--files", str(args.files), "--rows", "100",
                        "--seed", "1", "--out", feed], check=True, stdout=subprocess.DEVNULL)
    names = sorted(os.listdir(feed))
    last_prefix = names[k - 1]
    if not os.path.isdir(prefix):
        os.makedirs(prefix + ".tmp", exist_ok=True)
        for n in names[:k]:
            os.symlink(os.path.join(feed, n), os.path.join(prefix + ".tmp", n))
        os.rename(prefix + ".tmp", prefix)

    def target(db):
        if db == "pg":
            return PG_URL
        return "jdbc:sqlite:" + os.path.join(work, "startup.db")

    for db in dbs:
        snap = os.path.join(work, f"state-{db}.snap")
        if os.path.isdir(snap):
            continue
        if db == "pg":
            if psql(f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'", "postgres") != "1":
                psql(f"CREATE DATABASE {PG_DB}", "postgres")
            psql(f"DROP TABLE IF EXISTS {TABLE}, waymark_quarantine")
        else:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(os.path.join(work, "startup.db" + suffix)):
                    os.remove(os.path.join(work, "startup.db" + suffix))
        state = os.path.join(work, f"state-{db}")
        shutil.rmtree(state, ignore_errors=True)
        print(f"# prefix run into {db}: {k} files", flush=True)
        subprocess.run(["java", "-jar", jar, "ingest", "--input", prefix, "--db", target(db), "--table", TABLE,
                        "--job", "startup", "--state", state], check=True, stdout=subprocess.DEVNULL)
        shutil.copytree(state, snap + ".tmp", symlinks=True)
        os.rename(snap + ".tmp", snap)

    def reset(db):
        state = os.path.join(work, f"state-{db}")
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(os.path.join(work, f"state-{db}.snap"), state, symlinks=True)
        if db == "pg":
            psql(f"DELETE FROM {TABLE} WHERE source_file > '{last_prefix}'")
            psql(f"VACUUM {TABLE}")
        else:
            c = sqlite3.connect(os.path.join(work, "startup.db"))
            c.execute(f"DELETE FROM {TABLE} WHERE source_file > ?", (last_prefix,))
            c.commit()
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            c.close()
        os.sync()

    def run(label, d, opts, db):
        env = dict(os.environ)
        env.pop("WAYMARK_JAVA_OPTS", None)
        if opts:
            env["WAYMARK_JAVA_OPTS"] = opts
        if d is not None:
            cmd = [os.path.join(d, "waymark"), "ingest", "--input", feed, "--db", target(db), "--table", TABLE,
                   "--job", "startup", "--state", os.path.join(work, f"state-{db}")]
        else:  # the floor, launched as the launcher launches Waymark
            target_dir = os.path.join(variants[0][1], "waymark-cli/target")
            jsa = os.path.join(target_dir, "waymark.jsa")
            cds = [f"-XX:SharedArchiveFile={jsa}", "-Xlog:cds*=off"] if os.path.isfile(jsa) else []
            cmd = (["java"] + cds + ["-XX:+UseSerialGC", "-cp",
                   os.path.join(target_dir, "waymark.jar") + os.pathsep + os.path.abspath(args.floor),
                   "dev.waymark.bench.ResumeFloor", target(db), TABLE, os.path.join(feed, names[k])])
        err_lines = []
        t0 = time.time()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        te = threading.Thread(target=lambda: err_lines.extend(p.stderr), daemon=True)
        te.start()
        first_line = first_commit = cpu = None
        resume_line = ""
        for line in p.stdout:
            now = (time.time() - t0) * 1000
            if first_line is None:
                first_line, resume_line = now, line.strip()
            if line.startswith("["):
                first_commit = now
                cpu = cpu_ms(p.pid)
                if args.threads:
                    busy = sorted(thread_cpu_ms(p.pid).items(), key=lambda kv: -kv[1])
                    err_lines.append("THREADS " + " ".join(f"{k.replace(' ', '_')}={v:.0f}" for k, v in busy if v > 0))
                if not args.full:
                    p.send_signal(signal.SIGKILL)
                    break
        p.stdout.close() if not args.full else None
        rc = p.wait()
        total = (time.time() - t0) * 1000
        te.join(5)
        trace = []
        for e in err_lines:
            parts = e.split(None, 2)
            if len(parts) == 3 and parts[0] == "WMTRACE":
                trace.append((int(parts[1]) - t0 * 1000, parts[2].strip()))
        other = [e.rstrip() for e in err_lines if not e.startswith("WMTRACE")]
        return first_line, first_commit, cpu, total, rc, resume_line, trace, other

    results = {}
    timed = variants + ([("jvm-floor", None, "")] if args.floor else [])
    for r in range(1, args.runs + 1):
        order = [(v, db) for v in timed for db in dbs]
        random.shuffle(order)
        la = loadavg()
        for (label, d, opts), db in order:
            reset(db)
            fl, fc, cpu, total, rc, resume, trace, other = run(label, d, opts, db)
            results.setdefault((label, db), []).append((fc, total, cpu))
            extra = f" total {total:.0f} ms rc {rc}" if args.full else ""
            fcs = f"{fc:.0f}" if fc is not None else "NONE"
            print(f"round {r} load {la} {label:12s} {db:6s} resume line {fl:.0f} ms, first commit {fcs} ms,"
                  f" CPU {cpu} ms{extra}"
                  f"  [{resume}]", flush=True)
            for ms, stage in trace:
                print(f"    {ms:7.0f} {stage}")
            for o in other[:5]:
                print(f"    stderr: {o}")
    print(f"# load after: {loadavg()}")
    print("variant      db      n  median first commit ms   min    max   median CPU ms" + ("   median total ms" if args.full else ""))
    for (label, db), vals in results.items():
        fcs = [v[0] for v in vals if v[0] is not None]
        cpus = [v[2] for v in vals if v[2] is not None]
        line = (f"{label:12s} {db:6s} {len(fcs):2d} {statistics.median(fcs):12.0f} {min(fcs):14.0f} {max(fcs):6.0f}"
                f" {statistics.median(cpus) if cpus else float('nan'):12.0f}")
        if args.full:
            line += f" {statistics.median([v[1] for v in vals]):12.0f}"
        print(line)


if __name__ == "__main__":
    main()
