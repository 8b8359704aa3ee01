#!/usr/bin/python3
"""Resumable channels end to end (docs/resume.md): Python websockets clients
of ws-demo that offer the subprotocol ws.resume.v1, go away, and come back
with ?since=<the last "pos" they saw>.

  single: one node. A client away while 1,000 messages are published gets
          every one of them back, in order, once; away for more than the
          history (1,100) it gets a gap envelope (too_old, missed 100) and
          then the 1,000 kept; after the node restarts it gets a gap
          (other_epoch), never a silent partial stream. Plain clients keep
          raw payloads throughout.
  redis:  three nodes on one redis-server (started here on a free loopback
          port): the client moves from node to node while messages are
          published on another, and resumes on each without loss.

usage: resume_channels.py WS_DEMO IO_MODE single|redis [REDIS_SERVER]
prints 'N passed, M failed'; redis fails without redis-server.
"""
import asyncio
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import websockets

DEMO, IO, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
REDIS = sys.argv[4] if len(sys.argv) > 4 else (shutil.which("redis-server") or "/usr/bin/redis-server")
PROTOCOL = "ws.resume.v1"
WAIT_MS = 10000  # the longest any single wait may take
results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)


def die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(port, backplane=None):
    args = [DEMO, "--port", str(port), "--io", IO]
    if backplane:
        args += ["--backplane", backplane]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
    base = proc.stdout.readline().strip()
    return proc, base.replace("http://", "ws://")


def stop_node(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(WAIT_MS / 1000)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None


class Client:
    """A connection that keeps what it received, in order (JSON decoded for
    resumable clients)."""

    def __init__(self, ws, resumable):
        self.ws, self.resumable, self.inbox = ws, resumable, []
        self.closed_code = None
        self.task = asyncio.create_task(self.reader())

    async def reader(self):
        try:
            async for message in self.ws:
                self.inbox.append(json.loads(message) if self.resumable else message)
        except websockets.ConnectionClosed as closed:
            self.closed_code = closed.rcvd.code if closed.rcvd else None

    def take(self):
        taken, self.inbox = self.inbox, []
        return taken

    async def close(self):
        await self.ws.close()
        await self.task


async def connect(url, resumable, since=None):
    if since is not None:
        url += "?since=" + since
    ws = await websockets.connect(url, subprotocols=[PROTOCOL] if resumable else None,
                                  max_queue=None)
    return Client(ws, resumable)


async def eventually(condition, timeout_ms=WAIT_MS):
    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


def live_seen(client):
    return any(m.get("live") for m in client.inbox)


def last_pos(envelopes, previous=None):
    for m in envelopes:
        previous = m.get("pos", previous)
    return previous


def split(envelopes):
    """(gaps, data, live markers) of a resumable client's inbox."""
    gaps = [m for m in envelopes if "gap" in m]
    data = [m for m in envelopes if "data" in m]
    live = [m for m in envelopes if m.get("live")]
    return gaps, data, live


async def publish(publisher, label, first, count):
    """Sends label i for i in [first, first + count) and waits until the
    publisher heard all of them back (so every one was published)."""
    for i in range(first, first + count):
        await publisher.ws.send(f"{label} {i}")
    want = f"{label} {first + count - 1}"
    return await eventually(lambda: want in publisher.inbox)


def expect_stream(name, envelopes, label, first, count, gap=None):
    gaps, data, live = split(envelopes)
    expected = [f"{label} {i}" for i in range(first, first + count)]
    got = [m["data"] for m in data]
    check(f"{name}: every message once, in order ({count})", got == expected,
          (len(got), got[:3], got[-3:]))
    if gap is None:
        check(f"{name}: no gap", not gaps, gaps)
    else:
        check(f"{name}: a gap envelope first, {gap}",
              len(gaps) == 1 and envelopes[0] is gaps[0] and all(gaps[0]["gap"].get(k) == v
                                                                  for k, v in gap.items()), gaps[:1])
    positions = [m["pos"] for m in data]
    ok = len({p.split("-")[0] for p in positions}) <= 1 if MODE == "single" else True
    check(f"{name}: one live marker, last, at the last position",
          len(live) == 1 and envelopes[-1] is live[0] and (not data or live[0]["pos"] == data[-1]["pos"])
          and ok, (live, envelopes[-1:]))


async def slow_member(channel, publisher):
    """A resumable client that stops reading while 30 MB are published is
    closed with 1013 after an unbroken prefix of the stream (never a hole),
    and resumes from its last position: a gap (the history keeps 1 MiB),
    then every message kept, to the newest."""
    slow = await websockets.connect(channel, subprotocols=[PROTOCOL], max_queue=1, read_limit=2 ** 16)
    blob = "x" * 10000
    count = 3000
    publisher.take()
    for i in range(count):
        await publisher.ws.send(f"s {i} {blob}")
    await eventually(lambda: publisher.inbox and publisher.inbox[-1].startswith(f"s {count - 1} "))
    publisher.take()
    got, code = [], None
    try:
        while True:
            got.append(json.loads(await asyncio.wait_for(slow.recv(), WAIT_MS / 1000)))
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
    except asyncio.TimeoutError:
        code = "timeout"
    numbers = [int(m["data"].split(" ")[1]) for m in got if "data" in m]
    check("a resumable client that does not read is closed with 1013", code == 1013, code)
    check("what it received before is an unbroken prefix",
          numbers == list(range(len(numbers))) and len(numbers) < count, (len(numbers), numbers[-2:]))
    back = await connect(channel, resumable=True, since=last_pos(got))
    await eventually(lambda: live_seen(back))
    again = back.take()
    gaps, data, _ = split(again)
    rest = [int(m["data"].split(" ")[1]) for m in data]
    check("it resumes: a gap (too_old, with the count), then every message kept to the newest",
          len(gaps) == 1 and gaps[0]["gap"]["reason"] == "too_old" and rest and
          rest == list(range(rest[0], count)) and gaps[0]["gap"]["missed"] == rest[0] - len(numbers),
          (gaps, len(rest), rest[:1]))
    await back.close()


async def single_node():
    port = free_port()
    proc, url = start_node(port)
    procs = [proc]
    try:
        channel = url + "channel/resume"
        publisher = await connect(channel, resumable=False)
        reader = await connect(channel, resumable=True)
        check("the subprotocol is agreed", reader.ws.subprotocol == PROTOCOL, reader.ws.subprotocol)
        check("a new resumable client gets a live marker with its position",
              await eventually(lambda: live_seen(reader)), reader.inbox)
        await publish(publisher, "warmup", 0, 5)
        await eventually(lambda: len(reader.inbox) >= 6)
        got = reader.take()
        check("live messages arrive as envelopes with consecutive positions",
              [m.get("data") for m in got[1:]] == [f"warmup {i}" for i in range(5)] and
              [int(m["pos"].split("-")[1]) for m in got[1:]] == list(range(1, 6)), got)
        check("the plain client keeps raw payloads", publisher.take() == [f"warmup {i}" for i in range(5)])
        since = last_pos(got)
        await reader.close()

        # Away while 1,000 messages are published.
        check("1,000 messages published while the client is away", await publish(publisher, "m", 0, 1000))
        started = time.monotonic()
        reader = await connect(channel, resumable=True, since=since)
        await eventually(lambda: live_seen(reader))
        elapsed_ms = (time.monotonic() - started) * 1000
        print(f"     resume of 1,000 messages: {elapsed_ms:.1f} ms (connect to live marker)", flush=True)
        got = reader.take()
        expect_stream("resume after 1,000", got, "m", 0, 1000)
        since = last_pos(got)
        # And then live, with the next position.
        await publish(publisher, "after", 0, 1)
        await eventually(lambda: reader.inbox)
        got = reader.take()
        check("live after the replay, at the next position",
              [m.get("data") for m in got] == ["after 0"] and
              int(got[0]["pos"].split("-")[1]) == int(since.split("-")[1]) + 1, got)
        since = last_pos(got)
        await reader.close()

        # Away for more than the history keeps (1,000 messages).
        await publish(publisher, "n", 0, 1100)
        reader = await connect(channel, resumable=True, since=since)
        await eventually(lambda: live_seen(reader))
        got = reader.take()
        expect_stream("past the history", got, "n", 100, 1000, gap={"reason": "too_old", "missed": 100})
        since = last_pos(got)
        await reader.close()

        # A position that is not one is refused before the upgrade.
        try:
            await connect(channel, resumable=True, since="12-x")
            check("a malformed since is refused with 400", False)
        except websockets.InvalidStatusCode as error:
            check("a malformed since is refused with 400", error.status_code == 400, error.status_code)
        await slow_member(channel, publisher)
        await publisher.close()

        # The node restarts: a new epoch, so the old position is a gap.
        check("the node exits 0", stop_node(proc) == 0)
        proc, url = start_node(port)
        procs.append(proc)
        channel = url + "channel/resume"
        publisher = await connect(channel, resumable=False)
        await publish(publisher, "r", 0, 3)
        reader = await connect(channel, resumable=True, since=since)
        await eventually(lambda: live_seen(reader))
        got = reader.take()
        expect_stream("after a restart", got, "r", 0, 3, gap={"reason": "other_epoch", "missed": None})
        check("the new epoch differs", last_pos(got).split("-")[0] != since.split("-")[0], (since, got))
        await reader.close()
        await publisher.close()
        check("the restarted node exits 0", stop_node(proc) == 0)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


class Redis:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ws-resume-")
        self.port = free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log"), "--daemonize", "no"],
            preexec_fn=die_with_parent)
        deadline = time.monotonic() + WAIT_MS / 1000
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                time.sleep(0.02)
        return False

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


async def settle(publisher, listeners):
    """Probes until a probe reaches every listener (every node subscribed)."""
    for attempt in range(200):
        probe = f"probe {attempt}"
        await publisher.ws.send(probe)
        if await eventually(lambda: all(any(m == probe or (isinstance(m, dict) and m.get("data") == probe)
                                            for m in c.inbox) for c in listeners), 200):
            return True
    return False


async def three_nodes(redis):
    url = f"redis://127.0.0.1:{redis.port}"
    nodes = [start_node(free_port(), url) for _ in range(3)]
    try:
        urls = [u + "channel/moving" for _, u in nodes]
        publisher = await connect(urls[0], resumable=False)
        reader = await connect(urls[1], resumable=True)
        check("redis: every node subscribed", await settle(publisher, [publisher, reader]))
        await eventually(lambda: live_seen(reader))
        await asyncio.sleep(0.2)
        since = last_pos(reader.take())
        publisher.take()
        check("redis: positions are stream entry IDs (ms-seq)",
              since is not None and int(since.split("-")[0]) > 1_000_000_000_000, since)
        total = 0
        # The client hops: away while the publisher (node 0) sends, back on another node.
        for hop, (node, count) in enumerate([(2, 1000), (0, 300), (1, 300), (2, 300)]):
            await reader.close()
            await publish(publisher, f"h{hop}", 0, count)
            started = time.monotonic()
            reader = await connect(urls[node], resumable=True, since=since)
            await eventually(lambda: live_seen(reader))
            if hop == 0:
                print(f"     resume of 1,000 messages from Redis on another node: "
                      f"{(time.monotonic() - started) * 1000:.1f} ms (connect to live marker)", flush=True)
            got = reader.take()
            expect_stream(f"redis: hop {hop} to node {node}", got, f"h{hop}", 0, count)
            since = last_pos(got, since)
            total += count
        # Two resumable clients on different nodes see the same positions.
        other = await connect(urls[2], resumable=True, since=since)
        await eventually(lambda: live_seen(other))
        await publish(publisher, "same", 0, 20)
        await eventually(lambda: sum(1 for m in other.inbox if "data" in m) >= 20 and
                         sum(1 for m in reader.inbox if "data" in m) >= 20)
        mine = [(m["pos"], m["data"]) for m in reader.take() if "data" in m]
        theirs = [(m["pos"], m["data"]) for m in other.take() if "data" in m]
        check("redis: every node gives a message the same position", mine == theirs and len(mine) == 20,
              (mine[:2], theirs[:2]))
        since = mine[-1][0] if mine else since
        await other.close()

        # Away for more than the stream keeps (MAXLEN ~ 1000): a gap, then
        # every message still kept, contiguous up to the newest.
        await reader.close()
        await publish(publisher, "long", 0, 1500)
        reader = await connect(urls[0], resumable=True, since=since)
        await eventually(lambda: live_seen(reader))
        got = reader.take()
        gaps, data, live = split(got)
        numbers = [int(m["data"].split(" ")[1]) for m in data]
        check("redis: past the stream's length, a gap (too_old) first",
              len(gaps) == 1 and got[0] is gaps[0] and gaps[0]["gap"]["reason"] == "too_old", got[:1])
        check("redis: then the kept messages, contiguous to the newest (at least 1,000)",
              len(numbers) >= 1000 and numbers == list(range(numbers[0], 1500)) if numbers else False,
              (len(numbers), numbers[:2], numbers[-2:]))
        since = last_pos(got)

        # Live on the last node, then one more hop while messages flow.
        await reader.close()
        await publish(publisher, "last", 0, 50)
        reader = await connect(urls[1], resumable=True, since=since)
        await publish(publisher, "live", 0, 50)
        await eventually(lambda: sum(1 for m in reader.inbox if m.get("data", "").startswith("live")) >= 50)
        await asyncio.sleep(0.2)
        got = reader.take()
        data = [m["data"] for m in got if "data" in m]
        check("redis: a resume while publishes continue loses and doubles nothing",
              data == [f"last {i}" for i in range(50)] + [f"live {i}" for i in range(50)],
              (len(data), data[:3], data[-3:]))
        await reader.close()
        await publisher.close()
        check("redis: every node exits 0", [stop_node(p) for p, _ in nodes] == [0, 0, 0])
    finally:
        for p, _ in nodes:
            if p.poll() is None:
                p.kill()


def main():
    redis = None
    try:
        if MODE == "single":
            asyncio.run(asyncio.wait_for(single_node(), 25))
        else:
            if not os.access(REDIS, os.X_OK):
                print(f"FAIL: redis-server not found ({REDIS})")
                sys.exit(1)
            redis = Redis()
            check("redis-server starts", redis.start())
            asyncio.run(asyncio.wait_for(three_nodes(redis), 25))
    except Exception as error:
        check("run completed", False, repr(error))
    finally:
        if redis:
            redis.close()
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) and results else 1)


main()
