#!/usr/bin/python3
"""The Redis backplane benchmark (a benchmark, not a timed test).

Starts redis-server on a free loopback port (persistence off, temporary
folder) and three ws-demo nodes joined through it, then runs
ws-redis-fanout with --subscribers clients on every node's channel: publish
latency (p50, p99; same-node and cross-node) and messages per second. Then
the same on one ws-demo node without a backplane, with the same subscribers
per node, and with all of them (the same client load), for comparison.

usage: run_fanout.py BUILD_DIR [--nodes 3] [--subscribers 1000] [--messages 500]
                     [--interval-ms 10] [--burst 2000] [--io epoll]
BUILD_DIR holds examples/ws-demo and bench/redis/ws-redis-fanout (a Release
tree configured with -DWS_BUILD_BENCHMARKS=ON).
"""
import argparse
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def die_with_parent():
    """In the child: SIGKILL when this script dies (a timeout kills it), so
    no redis-server is left behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(directory):
    port = free_port()
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", directory, "--logfile",
         os.path.join(directory, "redis.log"), "--daemonize", "no"], preexec_fn=die_with_parent)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            time.sleep(0.02)
    proc.kill()
    sys.exit("run_fanout: redis-server did not start")


def start_nodes(demo, count, io, backplane):
    procs, urls = [], []
    for _ in range(count):
        args = [demo, "--port", "0", "--io", io] + (["--backplane", backplane] if backplane else [])
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                preexec_fn=die_with_parent)
        procs.append(proc)
        urls.append(proc.stdout.readline().strip().replace("http://", "ws://") + "channel/bench")
    return procs, urls


def stop(procs):
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def fanout(tool, urls, options):
    args = [tool]
    for url in urls:
        args += ["--node", url]
    args += ["--subscribers", str(options.subscribers), "--messages", str(options.messages),
             "--interval-ms", str(options.interval_ms), "--burst", str(options.burst)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--interval-ms", type=int, default=10)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--io", default="epoll")
    options = parser.parse_args()
    demo = os.path.join(options.build_dir, "examples", "ws-demo")
    tool = os.path.join(options.build_dir, "bench", "redis", "ws-redis-fanout")
    for path in (demo, tool):
        if not os.access(path, os.X_OK):
            sys.exit(f"run_fanout: {path} is missing (configure with -DWS_BUILD_BENCHMARKS=ON and build "
                     "ws-demo and ws-redis-fanout)")
    directory = tempfile.mkdtemp(prefix="ws-redis-bench-")
    redis, port = start_redis(directory)
    status = 0
    try:
        print(f"== {options.nodes} ws-demo nodes (--io {options.io}) through Redis", flush=True)
        procs, urls = start_nodes(demo, options.nodes, options.io, f"redis://127.0.0.1:{port}")
        try:
            status |= fanout(tool, urls, options)
        finally:
            stop(procs)
        # The same per node; then the same client load (every subscriber on
        # one node), so the client's own cost is the same as above.
        for subscribers in (options.subscribers, options.subscribers * options.nodes):
            print(f"== 1 ws-demo node (--io {options.io}), in-process channels, "
                  f"{subscribers} subscribers", flush=True)
            procs, urls = start_nodes(demo, 1, options.io, None)
            try:
                status |= fanout(tool, urls, argparse.Namespace(**{**vars(options), "subscribers": subscribers}))
            finally:
                stop(procs)
    finally:
        redis.kill()
        redis.wait()
        shutil.rmtree(directory, ignore_errors=True)
    sys.exit(status)


main()
