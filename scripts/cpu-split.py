#!/usr/bin/env python3
"""Where a benchmark's CPU went, by process: `cpu-split.py snap > before.json`, run the
load, then `cpu-split.py diff before.json` prints the CPU seconds each process name used
since (utime + stime from /proc; every `postgres: …` backend counts as `postgres`), and
its share of the total. Used by `BENCH_CPU=1 scripts/bench.sh`."""

import json
import os
import sys


def snapshot():
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if name.startswith("postgres"):
            name = "postgres"
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return used


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "snap":
        json.dump(snapshot(), sys.stdout)
    elif len(sys.argv) == 3 and sys.argv[1] == "diff":
        with open(sys.argv[2]) as f:
            before = json.load(f)
        after = snapshot()
        spent = {k: v - before.get(k, 0.0) for k, v in after.items()}
        spent = {k: v for k, v in spent.items() if v >= 0.05}
        total = sum(spent.values()) or 1.0
        parts = [f"{k} {v:.1f}s ({100 * v / total:.0f}%)" for k, v in sorted(spent.items(), key=lambda kv: -kv[1])[:6]]
        print(f"cpu {total:.1f}s: " + ", ".join(parts))
    else:
        sys.exit("usage: cpu-split.py snap | diff BEFORE.json")


if __name__ == "__main__":
    main()
