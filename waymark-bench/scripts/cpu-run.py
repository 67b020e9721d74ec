#!/usr/bin/env python3
"""Runs one command and reports its wall time, its own CPU time and the CPU time of the PostgreSQL backends
serving one database while it ran.

    cpu-run.py DBNAME OUT -- COMMAND [ARGS...]

Writes one line to the file OUT (the command keeps stdout and stderr): wall_ms=... cpu_ms=... (user+sys of the command and its children, from wait4) backend_ms=...
(the sum, over every backend process whose title starts with "postgres: <user> DBNAME ", of its on-CPU time
from /proc/PID/schedstat, sampled every 20 ms while the command runs; a backend that exits loses at most its
last 20 ms) backends=N. Then the command's own threads (sampled the same way, so a thread that ends early loses up to 20 ms), grouped
by name: main_ms (the main thread, which writes, and waymark-worker-*), reader_ms (waymark-reader*), jit_ms (C1/C2
compiler threads), gc_ms, other_ms. Needs a local server whose processes this user can read (root, or the postgres user).
Use a database only the measured command uses, or other sessions' backends are counted too.
"""
import os
import sys
import time


def backends(db):
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                title = f.read().split(b"\0")[0].decode("utf-8", "replace")
            if not title.startswith("postgres: ") or f" {db} " not in title:
                continue
            with open(f"/proc/{pid}/schedstat") as f:
                found[int(pid)] = int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return found


def threads(pid):
    """On-CPU ns of each thread of pid, by thread id, with its name."""
    found = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                found[int(tid)] = (name, int(f.read().split()[0]))
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return found


def group(name):
    if name.startswith(("C1 Compiler", "C2 Compiler")):
        return "jit"
    if name.startswith("waymark-reader"):
        return "reader"
    if name in ("java", "main") or name.startswith("waymark-worker"):
        return "main"
    if name.startswith(("GC Thread", "G1 ")):
        return "gc"
    return "other"


def main():
    db, out = sys.argv[1], sys.argv[2]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    before = backends(db)  # idle backends already there count only what they add
    seen = dict(before)
    tseen = {}
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        for p, ns in backends(db).items():
            if ns > seen.get(p, 0):
                seen[p] = ns
        for t, (name, ns) in threads(pid).items():
            if ns > tseen.get(t, ("", 0))[1]:
                tseen[t] = (name, ns)
        if done:
            break
        time.sleep(0.02)
    wall = (time.monotonic() - t0) * 1000
    backend = sum(ns - before.get(p, 0) for p, ns in seen.items()) / 1e6
    cpu = (usage.ru_utime + usage.ru_stime) * 1000
    code = os.waitstatus_to_exitcode(status)
    groups = {}
    for name, ns in tseen.values():
        groups[group(name)] = groups.get(group(name), 0) + ns / 1e6
    per_thread = " ".join(f"{g}_ms={groups.get(g, 0):.0f}" for g in ("main", "reader", "jit", "gc", "other"))
    with open(out, "w") as f:
        print(f"wall_ms={wall:.0f} cpu_ms={cpu:.0f} backend_ms={backend:.0f} backends={len(seen)} exit={code} {per_thread}", file=f)
    sys.exit(code)


main()
