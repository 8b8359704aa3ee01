#!/usr/bin/python3
"""Three ws-demo nodes sharing channels through a real redis-server, with
Python websockets clients on every node: cross-node delivery exactly once and
in each sender's order, channels that never mix, and Redis killed and
started again mid-run with every node staying up, publishes refused visibly
meanwhile, and delivery resuming.

usage: redis_nodes.py WS_DEMO IO_MODE [REDIS_SERVER]   prints 'N passed, M failed'
Fails when redis-server is not installed (scripts/test installs it).
"""
import asyncio
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import websockets

DEMO, IO = sys.argv[1], sys.argv[2]
REDIS = sys.argv[3] if len(sys.argv) > 3 else (shutil.which("redis-server") or "/usr/bin/redis-server")
NODES = 3
ROOM_CLIENTS = 2  # per node
results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)


def die_with_parent():
    """In the child: SIGKILL when this script dies (a timeout kills it), so
    no redis-server is left behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    """redis-server on a loopback port, persistence off, in a temp folder."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ws-redis-nodes-")
        self.port = free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log"), "--daemonize", "no"],
            preexec_fn=die_with_parent)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                time.sleep(0.02)
        return False

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """One WebSocket client that keeps what it received, in order."""

    def __init__(self, ws, label):
        self.ws, self.label, self.inbox = ws, label, []
        self.task = asyncio.create_task(self.reader())

    async def reader(self):
        try:
            async for message in self.ws:
                self.inbox.append(message)
        except websockets.ConnectionClosed:
            pass

    def take(self):
        taken, self.inbox = self.inbox, []
        return taken


async def eventually(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def settle(channel_clients, sender, label, timeout):
    """Probes until one probe reaches every client (every node subscribed),
    then drops everything received so far."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        probe = f"probe {label} {attempt}"
        await sender.ws.send(probe)
        if await eventually(lambda: all(probe in c.inbox for c in channel_clients), 1.0):
            await asyncio.sleep(0.1)
            for c in channel_clients:
                c.take()
            sender.take()
            return True
        attempt += 1
    return False


def check_exactly_once_in_order(clients, senders, per_sender, what):
    for c in clients:
        got = c.take()
        by_sender = {}
        for m in got:
            name, number = m.rsplit(" ", 1)
            by_sender.setdefault(name, []).append(int(number))
        expected = {s: list(per_sender) for s in senders}
        if by_sender != expected:
            check(f"{what}: {c.label} hears every message once, in each sender's order", False,
                  {k: (len(v), v[:5]) for k, v in by_sender.items()})
            return
    check(f"{what}: every client on every node hears every message once, in each sender's order", True)


async def scenario(bases, redis, procs):
    room, other = [], []
    for n, base in enumerate(bases):
        ws_base = base.replace("http://", "ws://")
        for k in range(ROOM_CLIENTS):
            room.append(Client(await websockets.connect(ws_base + "channel/room"), f"n{n}r{k}"))
        other.append(Client(await websockets.connect(ws_base + "channel/other"), f"n{n}o"))
    check("every node is subscribed (a probe reaches every room client)",
          await settle(room, room[0], "room", 20))
    check("every node is subscribed (a probe reaches every other client)",
          await settle(other, other[0], "other", 20))

    # Everyone talks at once; each sender's messages carry its label.
    count = 30

    async def talk(client, n):
        for i in range(n):
            await client.ws.send(f"{client.label} {i}")

    await asyncio.gather(*(talk(c, count) for c in room), *(talk(c, 10) for c in other))
    total_room = len(room) * count
    await eventually(lambda: all(len(c.inbox) >= total_room for c in room) and
                     all(len(c.inbox) >= len(other) * 10 for c in other), 20)
    await asyncio.sleep(0.5)  # a duplicate or a stray would have arrived by now
    check_exactly_once_in_order(room, [c.label for c in room], range(count), "room")
    check_exactly_once_in_order(other, [c.label for c in other], range(10), "other (channels never mix)")

    # Redis dies: every node stays up and serves its own connections; a
    # publish is refused visibly (the sender is told), never lost silently.
    redis.kill()
    await asyncio.sleep(0.5)
    check("every node stays up while Redis is down", all(p.poll() is None for p in procs))
    sender = room[2]  # on node 1
    await sender.ws.send(f"{sender.label} during-outage")
    got_notice = await eventually(
        lambda: any(isinstance(m, str) and m.startswith("ws-demo: not delivered") for m in sender.inbox), 5)
    check("a publish during the outage is reported to its sender", got_notice, sender.inbox[-3:])
    echo = await websockets.connect(bases[2].replace("http://", "ws://") + "echo")
    await echo.send("still here")
    check("local serving continues (a new /echo connection works)",
          await asyncio.wait_for(echo.recv(), 5) == "still here")
    await echo.close()
    leaked = [m for c in room if c is not sender for m in c.inbox if "during-outage" in m]
    check("nothing published during the outage reaches anyone", not leaked, leaked[:3])

    check("redis-server starts again on the same port", redis.start())
    check("every node resubscribes after the restart (room)", await settle(room, room[5], "room-again", 30))
    check("every node resubscribes after the restart (other)", await settle(other, other[2], "other-again", 30))
    await asyncio.gather(*(talk(c, count) for c in room))
    await eventually(lambda: all(len(c.inbox) >= total_room for c in room), 20)
    await asyncio.sleep(0.5)
    check_exactly_once_in_order(room, [c.label for c in room], range(count), "after the restart")
    check("every node is still up", all(p.poll() is None for p in procs))
    for c in room + other:
        await c.ws.close()


def main():
    if not os.access(REDIS, os.X_OK):
        print(f"FAIL: redis-server not found ({REDIS}); install the Debian package redis-server")
        sys.exit(1)
    redis = Redis()
    procs = []
    try:
        check("redis-server starts on a free loopback port", redis.start())
        url = f"redis://127.0.0.1:{redis.port}"
        bases = []
        for _ in range(NODES):
            proc = subprocess.Popen([DEMO, "--port", "0", "--io", IO, "--backplane", url],
                                    stdout=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
            procs.append(proc)
            bases.append(proc.stdout.readline().strip())
        check("three nodes print their URLs", all(b.startswith("http://127.0.0.1:") for b in bases), bases)
        asyncio.run(asyncio.wait_for(scenario(bases, redis, procs), 100))
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        check("every node exits 0 on SIGTERM", [p.wait(15) for p in procs] == [0] * NODES)
    except Exception as error:
        check("run completed", False, repr(error))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        redis.close()
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) and results else 1)


main()
