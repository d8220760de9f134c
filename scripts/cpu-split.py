#!/usr/bin/env python3
"""Where a benchmark's CPU went, by process: `cpu-split.py snap > before.json`, run the
load, then `cpu-split.py diff before.json` prints the CPU seconds each process used since
(utime + stime from /proc, per pid, summed by name: every `postgres: …` backend counts as
`postgres`, every kernel worker as `kworker`), and its share of all the CPU the machine
spent (/proc/stat). CPU of processes that ended during the run (the load generator) is not
in /proc any more: it shows as `exited`. Used by `BENCH_CPU=1 scripts/bench.sh`."""

import json
import os
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def name_of(comm):
    if comm.startswith("postgres"):
        return "postgres"
    if comm.startswith("kworker"):
        return "kworker"
    return comm


def snapshot():
    pids = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pids[pid] = [name_of(comm), (int(fields[11]) + int(fields[12])) / TICKS]
    with open("/proc/stat") as f:
        cpu = [int(v) for v in f.readline().split()[1:]]
    # Busy: everything but idle and iowait.
    busy = (sum(cpu) - cpu[3] - cpu[4]) / TICKS
    return {"pids": pids, "busy": busy}


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "snap":
        json.dump(snapshot(), sys.stdout)
    elif len(sys.argv) == 3 and sys.argv[1] == "diff":
        with open(sys.argv[2]) as f:
            before = json.load(f)
        after = snapshot()
        if "pids" not in before:
            print("cpu: the snapshot before is of an older format")
            return
        spent = {}
        for pid, (name, used) in after["pids"].items():
            was = before["pids"].get(pid)
            delta = used - was[1] if was and was[0] == name else used
            spent[name] = spent.get(name, 0.0) + delta
        busy = after["busy"] - before["busy"]
        spent["exited"] = max(busy - sum(spent.values()), 0.0)
        shown = sorted(((k, v) for k, v in spent.items() if v >= 0.05), key=lambda kv: -kv[1])
        parts = [f"{k} {v:.1f}s ({100 * v / (busy or 1.0):.0f}%)" for k, v in shown[:7]]
        print(f"cpu busy {busy:.1f}s: " + ", ".join(parts))
    else:
        sys.exit("usage: cpu-split.py snap | diff BEFORE.json")


if __name__ == "__main__":
    main()
