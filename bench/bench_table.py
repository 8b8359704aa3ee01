#!/usr/bin/env python3
"""Prints issue 7's one table from a scripts/bench run.

    bench_table.py COMPARE_JSON RESULTS_TXT

COMPARE_JSON is ws_compare_bench's --benchmark_out (JSON; with repetitions,
the medians are used); RESULTS_TXT holds
"key value" lines written by scripts/bench (B5, system calls, memory).
Ratios are ws against each peer from the same run; the last column is the
issue's target and whether this run met it. Rows of ws-echo --io asio,
--io uring and --io uring --zero-copy appear when the run measured them, and
B5 over TLS (ws-echo --tls beside beast-echo --tls) likewise. A second
table gives the server CPU per million messages of each ws server relative
to Beast's (over TLS, to Beast's TLS server), the form of the goals. A third,
when the run had the h2 part, puts WebSockets over HTTP/2 beside HTTP/1.1
(issue 19), both against the same ws-echo --http2.
COMPARE_JSON may be missing (WS_BENCH_PARTS without micro).
"""
import json
import os
import sys


def load(compare_path, results_path):
    figures = {}
    benchmarks = []
    if os.path.exists(compare_path):
        with open(compare_path) as f:
            benchmarks = json.load(f)["benchmarks"]
    for b in benchmarks:
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
        text = f"{fmt(total)} ({'/'.join(fmt(p) for p in parts)})"
        enters = r(f"{prefix}.enters")  # io_uring_enter, counted in all only
        if enters is not None:
            text += f" {fmt(enters)} io_uring_enter"
        return Cell(total, text)

    def measured(server):
        return any(key.startswith("b5.") and f".{server}." in key for key in results)

    def uring_work(prefix):
        enters = r(f"{prefix}.enters")
        if enters is None:
            return None
        parts = [r(f"{prefix}.{kind}") for kind in ("submissions", "completions")]
        return Cell(enters, f"{fmt(enters, 3)} ({'/'.join(fmt(p, 3) for p in parts)})")

    # Server CPU per million messages relative to Beast: the form of the
    # goals. (io, cases) -> goal; None: no goal stated.
    def cpu_goal(io, case):
        small = case == "20x100"
        if io == "epoll":  # issue 16
            return 0.10 if small else 0.23
        if io == "uring":  # the io_uring issue
            return 0.08 if small else 0.2
        if io.startswith("tls-"):  # over TLS, against Beast's TLS server
            return 0.5
        if io == "uring-zc":
            return None
        return 0.5  # issue 7

    def b5_rows(case, label, io, beast, wspp):
        ws = f"ws-{io}"
        versus = " vs Beast TLS" if beast == "beast-tls" else ""
        rows.append((f"B5 echo {label} (ws {io}{versus})", "k msg/s",
                     [thousands(r(f"b5.{case}.{ws}.mps")),
                      thousands(r(f"b5.{case}.{beast}.mps")),
                      thousands(r(f"b5.{case}.{wspp}.mps")) if wspp else None, None], ""))
        ws_cpu = r(f"b5.{case}.{ws}.cpu")
        beast_cpu = r(f"b5.{case}.{beast}.cpu")
        cpu_ratio = ratio(ws_cpu, beast_cpu)
        goal = cpu_goal(io, case)
        target = ""
        if goal is not None:
            verdict = "n/a" if cpu_ratio is None else ("met" if cpu_ratio <= goal else "NOT met")
            target = f"<= {goal} x {'Beast TLS' if versus else 'Beast'}: {verdict}"
        rows.append((f"B5 server CPU {label} (ws {io}{versus})", "s per M msgs",
                     [ws_cpu, beast_cpu, r(f"b5.{case}.{wspp}.cpu") if wspp else None, None],
                     target))
        reads = r(f"sys.{case}.{ws}.reads")
        read_goal = ""
        if io == "epoll" and case.startswith("16384"):
            read_goal = ("<= 1 read per message: n/a" if reads is None else
                         f"<= 1 read per message: {'met' if reads <= 1 else 'NOT met'}")
        rows.append((f"B5 syscalls/msg {label} (ws {io}{versus})", "all (reads/writes/waits)",
                     [syscalls(f"sys.{case}.{ws}"), syscalls(f"sys.{case}.{beast}"),
                      syscalls(f"sys.{case}.{wspp}") if wspp else None, None], read_goal))
        if "uring" in io:
            rows.append((f"B5 io_uring work/msg {label} (ws {io})",
                         "enters (submissions/completions)",
                         [uring_work(f"uring.{case}.{ws}"), None, None, None], ""))

    ios = [io for io in ("epoll", "threads", "asio", "uring", "uring-zc")
           if measured(f"ws-{io}")]
    tls_ios = [io for io in ("tls-epoll", "tls-asio", "tls-uring") if measured(f"ws-{io}")]
    cases = (("20x100", "20 B x 100 conns"), ("16384x10", "16 KiB x 10 conns"),
             ("16384x100", "16 KiB x 100 conns"))
    for case, label in cases:
        for io in ios:
            b5_rows(case, label, io, "beast", "websocketpp")
    tls_cases = cases[:2]
    for case, label in tls_cases:
        for io in tls_ios:
            b5_rows(case, f"TLS {label}", io, "beast-tls", None)
    idle = r("memory.ws")
    rows.append(("Idle connection (object + heap)", "bytes",
                 [idle, r("memory.beast"), r("memory.websocketpp"), None],
                 "< 1024: n/a" if idle is None else f"< 1024: {'met' if idle < 1024 else 'NOT met'}"))
    driver = r("memory.ws_driver")
    rows.append(("Idle driver + Connection + session + outbox", "bytes",
                 [driver, None, None, None],
                 "well under 1024: n/a" if driver is None else
                 f"< 1024: {'met' if driver < 1024 else 'NOT met'}"))
    idle_ios = ["epoll"] + [io for io in ("asio", "uring") if r(f"rss.ws-{io}") is not None]
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
    # Rows with no figure at all (a part this run left out) are not shown.
    rows = [row for row in rows if any(value is not None for value in row[2])]
    for label, unit, values, target in rows:
        ws_value, beast, wspp, copy = values
        lower_is_better = unit in ("s per M msgs", "bytes", "KiB", "all (reads/writes/waits)",
                                   "enters (submissions/completions)")
        def rel(other):
            value = ratio(ws_value, other)
            return fmt(value) if value is not None else "-"
        table.append((label, unit, fmt(ws_value), fmt(beast), fmt(wspp), fmt(copy),
                      rel(beast), rel(wspp), rel(copy) if not lower_is_better else "-", target))
    if not table:
        return  # a run of other parts only (h2)
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
    if any(io for io in ios + tls_ios if "uring" in io):
        print("io_uring work per message is ws-echo --io uring's own count (its 'uring:'")
        print("line on SIGUSR1, before and after the timed run): io_uring_enter calls,")
        print("then submissions/completions; strace sees only the io_uring_enter calls.")
    if tls_ios:
        print("Over TLS: ws-load --tls (TLS 1.3, OpenSSL, P-256 certificate) against")
        print("ws-echo --tls and beast-echo --tls; the Beast column is Beast's TLS server.")
    # Runs where ws-load's own loop thread was nearly a whole core: its
    # messages/s may be the load generator's limit, not the server's (the
    # server's CPU per message stays valid, if anything pessimistic).
    busy = sorted((key[3:-len(".load_busy")], value) for key, value in results.items()
                  if key.startswith("b5.") and key.endswith(".load_busy") and value >= 0.9)
    if busy:
        print("ws-load used >= 90% of a core (messages/s may be its limit): " +
              ", ".join(f"{name} {value:.2f}" for name, value in busy) + ".")

    # The goals' form: each ws server's CPU per million messages over
    # Beast's in the same run (over TLS, over Beast's TLS server).
    if not ios and not tls_ios:
        return
    print()
    print("Server CPU per million messages relative to Beast (same run; lower is better)")
    print()
    ratio_header = ("ws server", "against", "20 B x 100", "16 KiB x 10", "16 KiB x 100",
                    "goal (this run)")
    ratio_rows = []
    expected = ["epoll", "threads", "asio", "uring", "uring-zc"]
    for io in expected + ["tls-epoll", "tls-asio", "tls-uring"]:
        tls = io.startswith("tls-")
        beast = "beast-tls" if tls else "beast"
        if io not in (tls_ios if tls else ios):
            continue
        figures_row = []
        verdicts = []
        for case, _ in cases:
            value = ratio(r(f"b5.{case}.ws-{io}.cpu"), r(f"b5.{case}.{beast}.cpu"))
            figures_row.append(f"{value:.3f}" if value is not None else "-")
            goal = cpu_goal(io, case)
            if goal is not None and value is not None:
                verdicts.append(value <= goal)
        goals = [cpu_goal(io, case) for case, _ in (cases[:2] if tls else cases)]
        if goals[0] is None:
            goal_text = ""
        else:
            distinct = sorted(set(goals), key=goals.index)
            goal_text = "<= " + " / ".join(f"{g}" for g in distinct)
            goal_text += (": n/a" if not verdicts else
                          ": met" if all(verdicts) else ": NOT met")
        ratio_rows.append((f"ws-{io}", "Beast TLS" if tls else "Beast", *figures_row, goal_text))
    missing = [f"ws-{io}" for io in expected[2:] + ["tls-epoll", "tls-asio", "tls-uring"]
               if io not in ios + tls_ios]
    ratio_widths = [max(len(str(row[i])) for row in [ratio_header] + ratio_rows)
                    for i in range(len(ratio_header))]
    def ratio_line(row):
        return "| " + " | ".join(str(v).ljust(ratio_widths[i]) for i, v in enumerate(row)) + " |"
    print(ratio_line(ratio_header))
    print("|" + "|".join("-" * (w + 2) for w in ratio_widths) + "|")
    for row in ratio_rows:
        print(ratio_line(row))
    if missing:
        print()
        print("Not measured in this run: " + ", ".join(missing) + ".")


# scripts/bench's h2 cases: name -> what it is.
H2_CASES = (
    ("20x1000", "20 B, 1,000 WebSockets (HTTP/2: 10 conns x 100)"),
    ("1024x1000", "1 KiB, 1,000 WebSockets (HTTP/2: 10 conns x 100)"),
    ("20x10", "20 B, 10 WebSockets, 1 per conn, 100 deep"),
    ("1024x10", "1 KiB, 10 WebSockets, 1 per conn, 100 deep"),
    ("20x1", "20 B, 1 WebSocket, ping-pong"),
)


def h2_table(results):
    """WebSockets over HTTP/2 beside HTTP/1.1; nothing when not measured."""
    def r(key):
        return results.get(key)

    rows = []
    for prefix, over in (("h2", ""), ("h2tls", "TLS, ")):
        for case, label in H2_CASES:
            h1_mps, h2_mps = r(f"{prefix}.{case}.h1.mps"), r(f"{prefix}.{case}.h2.mps")
            h1_cpu, h2_cpu = r(f"{prefix}.{case}.h1.cpu"), r(f"{prefix}.{case}.h2.cpu")
            if all(v is None for v in (h1_mps, h2_mps, h1_cpu, h2_cpu)):
                continue
            k = (lambda v: None if v is None else v / 1e3)
            mps_ratio, cpu_ratio = ratio(h2_mps, h1_mps), ratio(h2_cpu, h1_cpu)
            rows.append((over + label, fmt(k(h1_mps)), fmt(k(h2_mps)),
                         fmt(mps_ratio) if mps_ratio is not None else "-",
                         fmt(h1_cpu), fmt(h2_cpu),
                         fmt(cpu_ratio, 3) if cpu_ratio is not None else "-"))
    if not rows:
        return
    print()
    print("WebSockets over HTTP/2 beside HTTP/1.1 (one ws-echo --http2, epoll; same run)")
    print()
    header = ("case", "HTTP/1.1 k msg/s", "HTTP/2 k msg/s", "h2/h1",
              "HTTP/1.1 us/msg", "HTTP/2 us/msg", "h2/h1 CPU")
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]

    def line(row):
        return "| " + " | ".join(str(v).ljust(widths[i]) for i, v in enumerate(row)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print()
    print("Server CPU in us per echoed message (= s per million), medians of alternating")
    print("runs; HTTP/1.1 is one connection per WebSocket, HTTP/2 ws-load --http2.")
    sys_h1, sys_h2 = r("sys.h2.20x1000.h1.total"), r("sys.h2.20x1000.h2.total")
    if sys_h1 is not None or sys_h2 is not None:
        print(f"Server system calls per message at 20 B x 1,000 (strace): HTTP/1.1 {fmt(sys_h1, 3)},"
              f" HTTP/2 {fmt(sys_h2, 3)}.")
    for suffix, over in (("", ""), ("-tls", " over TLS")):
        rss1, rss2 = r(f"h2mem.rss.h1{suffix}"), r(f"h2mem.rss.h2{suffix}")
        if rss1 is None and rss2 is None:
            continue
        print(f"Server memory per WebSocket{over}, 1,000 held 3 s (a fresh server each): RSS "
              f"{fmt(rss1)} KiB over HTTP/1.1, {fmt(rss2)} KiB over HTTP/2; heap "
              f"{fmt(r(f'h2mem.heap.h1{suffix}'))} and {fmt(r(f'h2mem.heap.h2{suffix}'))} bytes.")
    if any(key.startswith("h2mem.") for key in results):
        print("(Kernel socket buffers are in neither: HTTP/1.1 holds 1,000 sockets, HTTP/2 10.)")
    busy = sorted((key[:-len(".load_busy")], value) for key, value in results.items()
                  if key.startswith(("h2.", "h2tls.")) and key.endswith(".load_busy")
                  and value >= 0.9)
    if busy:
        print("ws-load used >= 90% of a core (messages/s may be its limit): " +
              ", ".join(f"{name} {value:.2f}" for name, value in busy) + ".")


if __name__ == "__main__":
    main()
    h2_table(load(sys.argv[1], sys.argv[2])[1])
