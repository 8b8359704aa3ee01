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


def spread(sides, value):
    """(median, lowest, highest) per side of value(run), over the runs where
    it exists; None when a side has none."""
    row = {}
    for side, results in sides.items():
        values = [v for v in (value(r) for r in results) if v is not None]
        if not values:
            return None
        row[side] = (statistics.median(values), min(values), max(values))
    return row


def print_row(name, prefix, row, cell, width):
    cells = [cell(*row[side]) for side in ("before", "after")]
    ratio = row["after"][0] / row["before"][0] if row["before"][0] else float("nan")
    print(f"{name:58} {prefix}{cells[0]:{width}} {cells[1]:{width}} {ratio:.3f}")


def main():
    logs, runs = sys.argv[1], int(sys.argv[2])
    sides = {side: [figures(f"{logs}/{side}.{n}.json") for n in range(1, runs + 1)]
             for side in ("before", "after")}
    names = list(sides["after"][0].keys())
    print(f"{'benchmark':58} {'unit':9} {'before median (spread)':28} "
          f"{'after median (spread)':28} after/before")
    for name in names:
        row = spread(sides, lambda r: r[name][0] if name in r else None)
        if row:
            unit = sides["after"][0][name][1]
            print_row(name, f"{unit:9} ", row,
                      lambda m, lo, hi: f"{human(m)} ({human(lo)}-{human(hi)})", 28)

    print()
    print(f"{'benchmark / memcpy of its case, same run':58} {'before median (spread)':26} "
          f"{'after median (spread)':26} after/before")
    for name in names:
        case, _, peer = name.rpartition("/")
        if peer == "memcpy" or not case:
            continue
        base = f"{case}/memcpy"
        row = spread(sides, lambda r: r[name][0] / r[base][0]
                     if name in r and base in r and r[base][0] else None)
        if row:
            print_row(name, "", row, lambda m, lo, hi: f"{m:.4f} ({lo:.4f}-{hi:.4f})", 26)


if __name__ == "__main__":
    main()
