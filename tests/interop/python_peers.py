#!/usr/bin/python3
"""Interoperability with third-party peers: Python `websockets` and `wsproto`
(Debian python3-websockets, python3-wsproto) as clients of ws-echo, and
`websockets` as a server for ws-client.

usage: python_peers.py WS_ECHO WS_CLIENT IO_MODE
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile

import websockets
import wsproto
import wsproto.events as wse

ECHO, CLIENT, IO = sys.argv[1], sys.argv[2], sys.argv[3]
results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition)))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)


def start_echo():
    proc = subprocess.Popen([ECHO, "--port", "0", "--io", IO], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on 127.0.0.1:"), line
    return proc, int(line.rsplit(":", 1)[1])


async def websockets_client(port):
    url = f"ws://127.0.0.1:{port}/echo"
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        sizes = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 16 * 1024 * 1024]
        for size in sizes:
            payload = os.urandom(size)
            await ws.send(payload)
            check(f"websockets binary {size} bytes echoed", await ws.recv() == payload)
        text = "héllo wörld ✓ 𝄞" * 1000
        await ws.send(text)
        check("websockets text echoed as text", await ws.recv() == text)
        # A fragmented message: websockets sends an iterable as fragments.
        await ws.send(["frag", "ment", "ed"])
        check("websockets fragmented message joined", await ws.recv() == "fragmented")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        check("websockets ping answered", True)
        await ws.close(4001, "custom")
        check("websockets close code echoed", ws.close_code == 4001, ws.close_code)


def wsproto_client(port):
    """wsproto drives the bytes itself: exact frames, fragments and close."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    sock.sendall(conn.send(wse.Request(host="127.0.0.1", target="/any")))
    events = []

    def pump_until(predicate):
        while True:
            for event in conn.events():
                events.append(event)
                if isinstance(event, wse.Ping):
                    sock.sendall(conn.send(event.response()))
            if predicate():
                return True
            data = sock.recv(65536)
            if not data:
                conn.receive_data(None)
                return predicate()
            conn.receive_data(data)

    pump_until(lambda: any(isinstance(e, wse.AcceptConnection) for e in events))
    check("wsproto handshake accepted", any(isinstance(e, wse.AcceptConnection) for e in events))
    sock.sendall(conn.send(wse.TextMessage(data="one ", message_finished=False)))
    sock.sendall(conn.send(wse.Ping(payload=b"mid")))
    sock.sendall(conn.send(wse.TextMessage(data="two", message_finished=True)))
    pump_until(lambda: any(isinstance(e, wse.TextMessage) and e.message_finished for e in events))
    text = "".join(e.data for e in events if isinstance(e, wse.TextMessage))
    check("wsproto fragmented text with a ping inside echoed", text == "one two", text)
    check("wsproto ping answered", any(isinstance(e, wse.Pong) and e.payload == b"mid" for e in events))
    # A message and the close in one write: the echo comes before the
    # close reply (RFC 6455 5.5.1: data may precede the close).
    events.clear()
    sock.sendall(conn.send(wse.TextMessage(data="last")) +
                 conn.send(wse.CloseConnection(code=1000, reason="done")))
    pump_until(lambda: any(isinstance(e, wse.CloseConnection) for e in events))
    kinds = [type(e).__name__ for e in events]
    check("wsproto message sent with the close is echoed first",
          kinds[:2] == ["TextMessage", "CloseConnection"], kinds)
    close = [e for e in events if isinstance(e, wse.CloseConnection)]
    check("wsproto close answered with 1000", close and close[0].code == 1000)
    sock.settimeout(5)
    check("wsproto: the server closes the TCP connection", sock.recv(1) == b"")
    sock.close()


async def websockets_server_for_client():
    """ws-client against a websockets server: lines out, messages back."""
    received = []

    async def handler(ws):
        async for message in ws:
            received.append(message)
            await ws.send(message)
            await ws.send(b"\x00\xffbin")

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            CLIENT, f"ws://127.0.0.1:{port}/", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        lines = []
        for line in (b"first line\n", b"second\n"):
            # One line at a time: the answers come back before the next line.
            proc.stdin.write(line)
            await proc.stdin.drain()
            for _ in range(2):
                lines.append((await asyncio.wait_for(proc.stdout.readline(), 10)).decode().rstrip("\n"))
        proc.stdin.close()
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        check("ws-client sends lines as text", received == ["first line", "second"], received)
        check("ws-client prints text and binary as hex",
              lines == ["first line", "00ff62696e", "second", "00ff62696e"], lines)
        check("ws-client exits 0 after a 1000 close", proc.returncode == 0, err.decode())

    async def closes_4000(ws):
        await ws.close(4000, "custom")

    async with websockets.serve(closes_4000, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            CLIENT, f"ws://127.0.0.1:{port}/", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(b""), 20)
        check("ws-client exits 1 on close code 4000", proc.returncode == 1, proc.returncode)
        check("ws-client reports the code on stderr", b"4000" in err, err)


def tls_round_trip():
    """wss://: ws-echo --tls (Asio) against Python websockets and ws-client."""
    with tempfile.TemporaryDirectory() as folder:
        cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost"],
                       check=True, capture_output=True)
        proc = subprocess.Popen([ECHO, "--port", "0", "--io", "asio", "--tls", cert, key],
                                stdout=subprocess.PIPE, text=True)
        port = int(proc.stdout.readline().strip().rsplit(":", 1)[1])
        try:
            async def python_client():
                context = ssl.create_default_context(cafile=cert)
                async with websockets.connect(f"wss://localhost:{port}/", ssl=context) as ws:
                    await ws.send("over tls")
                    return await ws.recv()
            check("websockets over wss:// echoed", asyncio.run(python_client()) == "over tls")
            result = subprocess.run([CLIENT, "--ca", cert, f"wss://localhost:{port}/"],
                                    input=b"", capture_output=True, timeout=20)
            check("ws-client --ca connects over wss:// and closes with 1000", result.returncode == 0,
                  result.stderr)
            result = subprocess.run([CLIENT, f"wss://localhost:{port}/"], input=b"",
                                    capture_output=True, timeout=20)
            check("ws-client refuses an untrusted certificate", result.returncode == 1
                  and b"verify failed" in result.stderr, result.stderr)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)


def main():
    proc, port = start_echo()
    try:
        asyncio.run(websockets_client(port))
        wsproto_client(port)
    except Exception as error:  # a crash of the peer run is a failure, not a skip
        check("peer run completed", False, repr(error))
    finally:
        proc.send_signal(signal.SIGTERM)
        check("ws-echo exits 0 on SIGTERM", proc.wait(10) == 0)
    if IO == "epoll":
        asyncio.run(websockets_server_for_client())
    if IO == "asio":
        tls_round_trip()
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
