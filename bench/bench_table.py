#!/usr/bin/env python3
"""Prints issue 7's one table from a scripts/bench run.

    bench_table.py COMPARE_JSON RESULTS_TXT

COMPARE_JSON is ws_compare_bench's --benchmark_out (JSON; with repetitions,
the medians are used); RESULTS_TXT holds
"key value" lines written by scripts/bench (B5, system calls, memory).
Ratios are ws against each peer from the same run; the last column is the
issue's target and whether this run met it. A row of ws-echo --io asio
appears when the run measured it.
"""
import json
import sys


def load(compare_path, results_path):
    figures = {}
    with open(compare_path) as f:
        for b in json.load(f)["benchmarks"]:
            # With repetitions, only the median of each case is used.
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            name = b.get("run_name", b["name"]).split("/iterations")[0]
            figures[name] = {
                "frames": b.get("frames_per_s", 0.0),
                "bytes": b.get("bytes_per_second", 0.0),
                "error": b.get("error_occurred", False),
            }
    results = {}
    with open(results_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                try:
                    results[parts[0]] = float(parts[1])
                except ValueError:
                    pass
    return figures, results


def fmt(value, digits=2):
    if value is None:
        return "-"
    if isinstance(value, Cell):
        return value.text
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


class Cell:
    """A figure shown as text (several numbers), compared by one of them."""

    def __init__(self, value, text):
        self.value = value
        self.text = text


def number(value):
    return value.value if isinstance(value, Cell) else value


def ratio(a, b):
    a, b = number(a), number(b)
    if a is None or b is None or b == 0:
        return None
    return a / b


def main():
    figures, results = load(sys.argv[1], sys.argv[2])
    rows = []

    def micro(label, name, unit, target=None):
        scale, key = (1e6, "frames") if unit == "M frames/s" else (1e9, "bytes")

        def get(lib):
            entry = figures.get(f"{name}/{lib}")
            if entry is None or entry["error"]:
                return None
            return entry[key] / scale

        values = [get(lib) for lib in ("ws", "Beast", "websocketpp", "memcpy")]
        rows.append((label, unit, values, target(values) if target else ""))

    def at_least(index, factor, what):
        def check(values):
            r = ratio(values[0], values[index])
            if r is None:
                return f"{what} >= {factor}: n/a"
            return f"{what} >= {factor}: {'met' if r >= factor else 'NOT met'}"
        return check

    micro("B1 binary 16 B", "B1/binary16", "M frames/s", at_least(1, 7, "x Beast"))
    micro("B1 binary 125 B", "B1/binary125", "M frames/s", at_least(1, 5, "x Beast"))
    micro("B2 binary 64 KiB", "B2/binary64K", "GB/s", at_least(3, 0.8, "x memcpy"))
    micro("B2 binary 1 MiB", "B2/binary1M", "GB/s")

    def short_text(values):
        binary = figures.get("B1/binary16/ws")
        if values[0] is None or binary is None:
            return "text >= 0.8 x binary: n/a"
        r = values[0] / (binary["frames"] / 1e6)
        return f"{r:.2f} x ws binary 16 B (>= 0.8): {'met' if r >= 0.8 else 'NOT met'}"

    def mixed(values):
        if values[0] is None:
            return ">= 10 GB/s: n/a"
        return f">= 10 GB/s: {'met' if values[0] >= 10 else 'NOT met'}"

    micro("B3 text 16 B", "B3/text16", "M frames/s", short_text)
    micro("B3 mixed text 64 KiB", "B3/mixedtext64K", "GB/s", mixed)
    micro("B4 send server 16 B", "B4/server16", "M frames/s")
    micro("B4 send server 64 KiB", "B4/server64K", "GB/s")
    micro("B4 send client 16 B", "B4/client16", "M frames/s")
    micro("B4 send client 64 KiB", "B4/client64K", "GB/s")
    micro("B6 fan-out to 10,000", "B6/fanout10000", "M frames/s")

    def r(key):
        return results.get(key)

    def thousands(value):
        return None if value is None else value / 1e3

    def syscalls(prefix):
        total = r(f"{prefix}.total")
        if total is None:
            return None
        parts = [r(f"{prefix}.{kind}") for kind in ("reads", "writes", "waits")]
        return Cell(total, f"{fmt(total)} ({'/'.join(fmt(p) for p in parts)})")

    ios = ["epoll", "threads"]
    if any(key.startswith("b5.") and ".ws-asio." in key for key in results):
        ios.append("asio")
    cases = (("20x100", "20 B x 100 conns"), ("16384x10", "16 KiB x 10 conns"),
             ("16384x100", "16 KiB x 100 conns"))
    for case, label in cases:
        for io in ios:
            ws = f"ws-{io}"
            rows.append((f"B5 echo {label} (ws {io})", "k msg/s",
                         [thousands(r(f"b5.{case}.{ws}.mps")),
                          thousands(r(f"b5.{case}.beast.mps")),
                          thousands(r(f"b5.{case}.websocketpp.mps")), None], ""))
            ws_cpu = r(f"b5.{case}.{ws}.cpu")
            beast_cpu = r(f"b5.{case}.beast.cpu")
            cpu_ratio = ratio(ws_cpu, beast_cpu)
            # Issue 16's goals are for the default transport (epoll): 0.10 x
            # Beast at 20 B, 0.23 x at 16 KiB; the others keep issue 7's 0.5.
            goal = (0.10 if case == "20x100" else 0.23) if io == "epoll" else 0.5
            verdict = "n/a" if cpu_ratio is None else ("met" if cpu_ratio <= goal else "NOT met")
            rows.append((f"B5 server CPU {label} (ws {io})", "s per M msgs",
                         [ws_cpu, beast_cpu, r(f"b5.{case}.websocketpp.cpu"), None],
                         f"<= {goal} x Beast: {verdict}"))
            reads = r(f"sys.{case}.{ws}.reads")
            read_goal = ""
            if io == "epoll" and case.startswith("16384"):
                read_goal = ("<= 1 read per message: n/a" if reads is None else
                             f"<= 1 read per message: {'met' if reads <= 1 else 'NOT met'}")
            rows.append((f"B5 syscalls/msg {label} (ws {io})", "all (reads/writes/waits)",
                         [syscalls(f"sys.{case}.{ws}"), syscalls(f"sys.{case}.beast"),
                          syscalls(f"sys.{case}.websocketpp"), None], read_goal))
    idle = r("memory.ws")
    rows.append(("Idle connection (object + heap)", "bytes",
                 [idle, r("memory.beast"), r("memory.websocketpp"), None],
                 "< 1024: n/a" if idle is None else f"< 1024: {'met' if idle < 1024 else 'NOT met'}"))
    driver = r("memory.ws_driver")
    rows.append(("Idle driver + Connection + session + outbox", "bytes",
                 [driver, None, None, None],
                 "well under 1024: n/a" if driver is None else
                 f"< 1024: {'met' if driver < 1024 else 'NOT met'}"))
    idle_ios = ["epoll"] + (["asio"] if r("rss.ws-asio") is not None else [])
    for io in idle_ios:
        rows.append((f"Server heap per idle conn, 10,000 conns, 3 s idle (ws {io})", "bytes",
                     [r(f"heap.ws-{io}"), r("heap.beast"), r("heap.websocketpp"), None], ""))
    for io in idle_ios:
        rss = r(f"rss.ws-{io}")
        goal = ""
        if io == "epoll":
            goal = ("<= 1 KiB: n/a" if rss is None else
                    f"<= 1 KiB: {'met' if rss <= 1 else 'NOT met'}")
        rows.append((f"Server RSS per idle conn, 10,000 conns, 3 s idle (ws {io})", "KiB",
                     [rss, r("rss.beast"), r("rss.websocketpp"), None], goal))
    for io in idle_ios:
        rows.append((f"Server RSS per idle conn, 10,000 conns, just opened (ws {io})", "KiB",
                     [r(f"rss_open.ws-{io}"), r("rss_open.beast"), r("rss_open.websocketpp"),
                      None], ""))

    header = ("figure", "unit", "ws", "Beast", "wspp", "memcpy", "ws/Beast", "ws/wspp",
              "ws/memcpy", "target (this run)")
    table = []
    for label, unit, values, target in rows:
        ws_value, beast, wspp, copy = values
        lower_is_better = unit in ("s per M msgs", "bytes", "KiB", "all (reads/writes/waits)")
        def rel(other):
            value = ratio(ws_value, other)
            return fmt(value) if value is not None else "-"
        table.append((label, unit, fmt(ws_value), fmt(beast), fmt(wspp), fmt(copy),
                      rel(beast), rel(wspp), rel(copy) if not lower_is_better else "-", target))
    widths = [max(len(str(row[i])) for row in [header] + table) for i in range(len(header))]
    def line(row):
        return "| " + " | ".join(str(v).ljust(widths[i]) for i, v in enumerate(row)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table:
        print(line(row))
    print()
    print("Ratios are ws / peer: above 1 is ws ahead for rates, below 1 is ws ahead")
    print("for CPU per message, system calls and memory. System calls are the")
    print("server's (all threads, strace -c -f, a smaller run of its own) per echoed")
    print("message: all, then reads (read/readv/recv*), writes (write/writev/send*) and")
    print("waits (epoll_wait/epoll_pwait/poll). Heap per idle connection is the growth")
    print("of the server's mallinfo2() uordblks (--memory-report).")
    mmapped = [(name, r(f"heap.{name}_mmapped")) for name in
               ["ws-" + io for io in idle_ios] + ["beast", "websocketpp"]]
    grew = [f"{name} {value:.0f}" for name, value in mmapped if value]
    if grew:
        print("Blocks malloc mmapped also grew, bytes per connection: " + ", ".join(grew) + ".")


if __name__ == "__main__":
    main()
