#!/usr/bin/env python3
"""Prints scripts/bench-core-ab's table.

    core_ab_table.py LOG_DIR RUNS

LOG_DIR holds before.N.json and after.N.json (ws_compare_bench's
--benchmark_out, one per run). For every benchmark: the median over the
runs of each build and its spread (lowest-highest), in frames per second
(or bytes per second where a benchmark reports no frames), and the ratio
after/before of the medians. Then, because a shared or virtual machine can
change speed between runs (and here did, by 2x), the same for each
benchmark divided by the memcpy baseline of its case in the same run: the
ratio that cancels the machine's speed.
"""
import json
import statistics
import sys


def figures(path):
    out = {}
    with open(path) as f:
        for b in json.load(f)["benchmarks"]:
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            name = b.get("run_name", b["name"]).split("/iterations")[0]
            if "frames_per_s" in b:
                out[name] = (b["frames_per_s"], "frames/s")
            elif "bytes_per_second" in b:
                out[name] = (b["bytes_per_second"], "B/s")
    return out


def human(value):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f}{unit}"
    return f"{value:.0f}"


def main():
    logs, runs = sys.argv[1], int(sys.argv[2])
    sides = {side: [figures(f"{logs}/{side}.{n}.json") for n in range(1, runs + 1)]
             for side in ("before", "after")}
    names = list(sides["after"][0].keys())
    print(f"{'benchmark':58} {'unit':9} {'before median (spread)':28} "
          f"{'after median (spread)':28} after/before")
    for name in names:
        row = {}
        unit = ""
        for side, results in sides.items():
            values = [r[name][0] for r in results if name in r]
            if values:
                unit = results[0][name][1] if name in results[0] else unit
                row[side] = (statistics.median(values), min(values), max(values))
        if len(row) != 2:
            continue
        cells = [f"{human(m)} ({human(lo)}-{human(hi)})" for m, lo, hi in (row["before"], row["after"])]
        ratio = row["after"][0] / row["before"][0] if row["before"][0] else float("nan")
        print(f"{name:58} {unit:9} {cells[0]:28} {cells[1]:28} {ratio:.3f}")

    print()
    print(f"{'benchmark / memcpy of its case, same run':58} {'before median (spread)':26} "
          f"{'after median (spread)':26} after/before")
    for name in names:
        case, _, peer = name.rpartition("/")
        if peer == "memcpy" or not case:
            continue
        row = {}
        for side, results in sides.items():
            values = [r[name][0] / r[f"{case}/memcpy"][0] for r in results
                      if name in r and f"{case}/memcpy" in r and r[f"{case}/memcpy"][0]]
            if values:
                row[side] = (statistics.median(values), min(values), max(values))
        if len(row) != 2:
            continue
        cells = [f"{m:.4f} ({lo:.4f}-{hi:.4f})" for m, lo, hi in (row["before"], row["after"])]
        ratio = row["after"][0] / row["before"][0] if row["before"][0] else float("nan")
        print(f"{name:58} {cells[0]:26} {cells[1]:26} {ratio:.3f}")


if __name__ == "__main__":
    main()
