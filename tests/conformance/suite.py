"""Cases, their names (group.sub.n, as the Autobahn suite numbers them) and
the results table."""

import json
import time

from wire import Peer

GROUP_TITLES = {
    1: "framing",
    2: "ping and pong",
    3: "reserved bits",
    4: "reserved opcodes",
    5: "fragmentation",
    6: "UTF-8",
    7: "close",
    9: "limits",
    10: "auto-fragmentation",
    12: "compression",
    13: "compression parameters",
}

# Groups that need permessage-deflate (ws-echo and ws-client --deflate):
# run only when asked for (run_conformance.py --deflate, or --cases 12,...).
DEFLATE_GROUPS = (12, 13)

BOTH = ("server", "client")
SERVER_ONLY = ("server",)
CLIENT_ONLY = ("client",)


class Scale:
    """Sizes of the heavy cases. `full` is what the issue asks for. `reduced`
    (sanitizer trees) sends 100,000 small messages instead of 1,000,000:
    under ASan that case alone takes minutes with --io asio, while the
    16 MiB frames still take under a second (docs/conformance.md)."""

    def __init__(self, name):
        if name not in ("full", "reduced"):
            raise ValueError("scale is full or reduced")
        self.name = name
        self.largest_frame = 16 << 20
        self.largest_fragmented = 4 << 20
        self.small_messages = 1000000 if name == "full" else 100000


class Case:
    """One check: `run(peer)` raises CaseFailure when the other side breaks a
    rule. `targets` says whether it applies to a server (ws-echo), a client
    (ws-client --autobahn) or both; `server_args` are extra ws-echo options
    the case needs (it then runs on an ws-echo started with them),
    `client_args` the ws-client options it needs (one ws-client runs every
    case, with the options of all of them). `offer` is the
    Sec-WebSocket-Extensions value the peer offers as a client;
    `answer(offered)` gives the one it answers as a server (None: none)."""

    def __init__(self, id, title, run, targets=BOTH, server_args=(), early=(), offer=None,
                 answer=None, client_args=()):
        self.id = id
        self.title = title
        self.run = run
        self.targets = targets
        self.server_args = tuple(server_args)
        # (opcode, payload) frames written in the same write as the end of
        # the handshake (the request, or the 101 response).
        self.early = tuple(early)
        self.offer = offer
        self.answer = answer
        self.client_args = tuple(client_args)

    def early_bytes(self, role):
        peer = Peer(None, role, None)
        return b"".join(peer.frame(opcode, payload) for opcode, payload in self.early)

    @property
    def group(self):
        return int(self.id.split(".")[0])


class Builder:
    """Hands out group.sub.n names in order."""

    def __init__(self, group):
        self.group = group
        self.counts = {}
        self.cases = []

    def add(self, sub, title, run, targets=BOTH, server_args=(), early=(), **handshake):
        n = self.counts.get(sub, 0) + 1
        self.counts[sub] = n
        self.cases.append(Case("%d.%d.%d" % (self.group, sub, n), title, run, targets,
                               server_args, early, **handshake))


def text_payload(n, seed=0):
    """`n` bytes of printable ASCII (valid UTF-8 of every length)."""
    alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    rotated = alphabet[seed % 64:] + alphabet[:seed % 64]
    return (rotated * (n // 64 + 1))[:n]


def binary_payload(n, seed=0):
    """`n` bytes running through every byte value."""
    block = bytes((i + seed) & 0xFF for i in range(256))
    return (block * (n // 256 + 1))[:n]


def size_name(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return "%d MiB" % (n >> 20)
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


class Result:
    def __init__(self, case, passed, detail, seconds):
        self.case, self.passed, self.detail, self.seconds = case, passed, detail, seconds


class Report:
    """The results of one run against one target (`ws-echo --io X` or
    `ws-client`), with per-group counts."""

    def __init__(self, target):
        self.target = target
        self.results = []
        self.problems = []  # failures outside any case (a crash, a bad exit)
        self.started = time.monotonic()
        self.seconds = 0.0

    def add(self, case, passed, detail, seconds):
        self.results.append(Result(case, passed, detail, seconds))

    def groups(self):
        table = {}
        for r in self.results:
            counts = table.setdefault(r.case.group, [0, 0])
            counts[0 if r.passed else 1] += 1
        return dict(sorted(table.items()))

    @property
    def failed(self):
        return sum(1 for r in self.results if not r.passed) + len(self.problems)

    def print_summary(self, out):
        out.write("conformance: %s\n" % self.target)
        for group, (passed, failed) in self.groups().items():
            out.write("  group %-2d %-20s %4d passed %4d failed\n" % (
                group, GROUP_TITLES[group], passed, failed))
        for problem in self.problems:
            out.write("  problem: %s\n" % problem)
        total = len(self.results)
        out.write("  total: %d cases, %d passed, %d failed, %.1f s\n" % (
            total, total - sum(1 for r in self.results if not r.passed),
            sum(1 for r in self.results if not r.passed), self.seconds))

    def to_json(self):
        return {
            "target": self.target,
            "seconds": round(self.seconds, 2),
            "groups": {str(g): {"title": GROUP_TITLES[g], "passed": p, "failed": f}
                       for g, (p, f) in self.groups().items()},
            "problems": self.problems,
            "cases": [{"id": r.case.id, "title": r.case.title,
                       "result": "pass" if r.passed else "fail",
                       "detail": r.detail, "seconds": round(r.seconds, 3)}
                      for r in self.results],
        }


def write_json(reports, path):
    with open(path, "w") as out:
        json.dump([r.to_json() for r in reports], out, indent=1)
        out.write("\n")


def write_markdown(reports, path):
    with open(path, "w") as out:
        out.write(markdown_table([r.to_json() for r in reports]))


def markdown_table(results):
    """One table from the JSON form of reports: a row per group, a column
    per target (passed/total), then the failures."""
    groups = sorted({int(g) for r in results for g in r["groups"]})
    lines = ["| group | " + " | ".join("`%s`" % r["target"] for r in results) + " |",
             "|---|" + "---|" * len(results)]
    for g in groups:
        cells = []
        for r in results:
            counts = r["groups"].get(str(g))
            cells.append("%d/%d" % (counts["passed"], counts["passed"] + counts["failed"])
                         if counts else "-")
        lines.append("| %d %s | %s |" % (g, GROUP_TITLES[g], " | ".join(cells)))
    totals = []
    for r in results:
        passed = sum(1 for c in r["cases"] if c["result"] == "pass")
        totals.append("**%d/%d**" % (passed, len(r["cases"])))
    lines.append("| **total** | " + " | ".join(totals) + " |")
    lines.append("| seconds | " + " | ".join("%.0f" % r["seconds"] for r in results) + " |")
    failures = ["- `%s` %s (%s): %s" % (r["target"], c["id"], c["title"], c["detail"])
                for r in results for c in r["cases"] if c["result"] != "pass"]
    failures += ["- `%s`: %s" % (r["target"], p) for r in results for p in r["problems"]]
    if failures:
        lines += ["", "Failures:", ""] + failures
    return "\n".join(lines) + "\n"
