#!/usr/bin/python3
"""RFC 6455 conformance suite, organised like the Autobahn test suite.

  run_conformance.py echo WS_ECHO --io threads|epoll|asio [options]
      starts ws-echo and plays the client side of every case against it.
  run_conformance.py client WS_CLIENT [options]
      plays the Autobahn fuzzing server (/getCaseCount, /runCase,
      /updateReports) and runs `WS_CLIENT --autobahn ws://127.0.0.1:PORT`.

options:
  --scale full|reduced   reduced: 100,000 instead of 1,000,000 small messages
                         in 9.6.1 (for sanitizer builds)
  --timeout-scale X      stretch every wait (sanitizers are slower)
  --deflate              run the permessage-deflate groups (12, 13) instead of
                         groups 1-10: ws-echo is started with --deflate,
                         ws-client gets --deflate
  --cases PREFIX,...     run only the cases whose id starts with a prefix
                         (any group, 12 and 13 included)
  --json FILE            write the results as JSON
  --markdown FILE        write the per-group table as markdown
  --verbose              print every case, not only failures
  --http2                echo mode: ws-echo --http2, and every case's WebSocket
                         on a stream of an HTTP/2 connection of its own
                         (RFC 8441 extended CONNECT; h2c with prior knowledge,
                         or ALPN h2 with --tls). Needs python3-h2; see
                         h2_stream.py for how sockets map onto streams

  run_conformance.py table RESULT.json... prints one markdown table of the
      per-group results of several runs (as in docs/conformance.md).

Exit status: 0 when every case passed, 1 on any failure, 2 on bad arguments.
Python 3 standard library only, but for --http2 (Debian's python3-h2).
"""

import argparse
import functools
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import autofragment_cases  # noqa: E402
import close_cases  # noqa: E402
import deflate_cases  # noqa: E402
import fragmentation_cases  # noqa: E402
import framing_cases  # noqa: E402
import fuzzing_server  # noqa: E402
import h2_stream  # noqa: E402
import limit_cases  # noqa: E402
import ping_cases  # noqa: E402
import reserved_cases  # noqa: E402
import utf8_cases  # noqa: E402
import wire  # noqa: E402
from echo_target import run_against_echo  # noqa: E402
from suite import (DEFLATE_GROUPS, Scale, markdown_table, write_json,  # noqa: E402
                   write_markdown)
from wire import Timeouts  # noqa: E402

GROUP_MODULES = (framing_cases, ping_cases, reserved_cases, fragmentation_cases, utf8_cases,
                 close_cases, limit_cases, autofragment_cases, deflate_cases)


def all_cases(scale, target, prefixes, deflate=False):
    cases = []
    for module in GROUP_MODULES:
        cases += module.cases(scale)
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise SystemExit("duplicate case ids: %s" % sorted(duplicates))
    cases = [c for c in cases if target in c.targets]
    if prefixes:
        cases = [c for c in cases if any(c.id == p or c.id.startswith(p.rstrip(".") + ".")
                                         for p in prefixes)]
    else:
        cases = [c for c in cases if (c.group in DEFLATE_GROUPS) == deflate]
    return cases


def main(argv):
    if argv[:1] == ["table"]:
        results = []
        for path in argv[1:]:
            with open(path) as f:
                results += json.load(f)
        sys.stdout.write(markdown_table(results))
        return 0
    parser = argparse.ArgumentParser(description="RFC 6455 conformance suite")
    parser.add_argument("mode", choices=("echo", "client"))
    parser.add_argument("program")
    parser.add_argument("--io", default="epoll", choices=("threads", "epoll", "uring", "asio"))
    parser.add_argument("--scale", default="full", choices=("full", "reduced"))
    parser.add_argument("--timeout-scale", type=float, default=1.0)
    parser.add_argument("--cases", default="")
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--tls", action="store_true",
                        help="echo mode: every case over wss:// (a certificate made now)")
    parser.add_argument("--http2", action="store_true",
                        help="echo mode: every case on an HTTP/2 stream (RFC 8441)")
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    parser.add_argument("--verbose", action="store_true")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:
        return 2 if exit.code else 0
    scale = Scale(args.scale)
    timeouts = Timeouts(args.timeout_scale)
    prefixes = [p for p in args.cases.split(",") if p]
    target = "server" if args.mode == "echo" else "client"
    cases = all_cases(scale, target, prefixes, args.deflate)
    if not cases:
        print("no case matches %s" % args.cases, file=sys.stderr)
        return 2
    if args.http2 and args.mode != "echo":
        print("--http2 runs against ws-echo only (echo mode)", file=sys.stderr)
        return 2
    if args.http2:
        missing = h2_stream.available()
        if missing:
            # Asked for and not runnable: a failure that says why, not a skip.
            print("FAIL " + missing, file=sys.stderr)
            return 1
    started = time.monotonic()
    if args.mode == "echo":
        tls = ()
        if args.tls:
            folder = tempfile.mkdtemp()
            cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "1", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"],
                           check=True, capture_output=True)
            wire.TLS_CONTEXT = ssl.create_default_context(cafile=cert)
            tls = ("--tls", cert, key)
        if args.http2:
            context = wire.TLS_CONTEXT
            if context is not None:
                context.set_alpn_protocols(["h2"])  # RFC 9113 3.2
            wire.CONNECTOR = functools.partial(h2_stream.connect_client, tls_context=context)
        report = run_against_echo(args.program, args.io, cases, timeouts, args.verbose, tls,
                                  args.http2)
    else:
        report = fuzzing_server.run_against_client(args.program, cases, timeouts, args.verbose)
    report.seconds = time.monotonic() - started
    report.print_summary(sys.stdout)
    if args.http2:
        print("  HTTP/2 stream ends: " + ", ".join(
            "%s %d" % (end, n) for end, n in h2_stream.ENDINGS.most_common()))
    if args.json:
        write_json([report], args.json)
    if args.markdown:
        write_markdown([report], args.markdown)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
