#!/usr/bin/python3
"""Interoperability with third-party peers: Python `websockets` and `wsproto`
(Debian python3-websockets, python3-wsproto) as clients of ws-echo, and
both as servers for ws-client.

usage: python_peers.py WS_ECHO WS_CLIENT IO_MODE [tls]
With `tls`, every exchange runs over TLS (wss://, a certificate made at
start): ws-echo --tls against Python's ssl, ws-client --ca against Python
TLS servers. Without it, one wss:// round trip still checks TLS in the mode.
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
import threading

import websockets
import wsproto
import wsproto.events as wse

ECHO, CLIENT, IO = sys.argv[1], sys.argv[2], sys.argv[3]
TLS = len(sys.argv) > 4 and sys.argv[4] == "tls"
results = []
CERT_FOLDER = tempfile.TemporaryDirectory()
CERT = os.path.join(CERT_FOLDER.name, "cert.pem")
KEY = os.path.join(CERT_FOLDER.name, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", KEY,
                "-out", CERT, "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
               check=True, capture_output=True)
SCHEME = "wss" if TLS else "ws"


def client_context():
    return ssl.create_default_context(cafile=CERT)


def server_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT, KEY)
    return context


def tls_args():
    """What ws-client needs to trust the test certificate."""
    return ["--ca", CERT] if TLS else []


def check(name, condition, detail=""):
    results.append((name, bool(condition)))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)


def start_echo():
    tls = ["--tls", CERT, KEY] if TLS else []
    proc = subprocess.Popen([ECHO, "--port", "0", "--io", IO, *tls], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on 127.0.0.1:"), line
    return proc, int(line.rsplit(":", 1)[1])


async def websockets_client(port):
    url = f"{SCHEME}://127.0.0.1:{port}/echo"
    context = client_context() if TLS else None
    async with websockets.connect(url, max_size=None, compression=None, ssl=context) as ws:
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
    if TLS:
        sock = client_context().wrap_socket(sock, server_hostname="127.0.0.1")
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

    context = server_context() if TLS else None
    async with websockets.serve(handler, "127.0.0.1", 0, ssl=context) as server:
        port = server.sockets[0].getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            CLIENT, "--io", IO, *tls_args(), f"{SCHEME}://127.0.0.1:{port}/", stdin=asyncio.subprocess.PIPE,
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

    async with websockets.serve(closes_4000, "127.0.0.1", 0, ssl=context) as server:
        port = server.sockets[0].getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            CLIENT, "--io", IO, *tls_args(), f"{SCHEME}://127.0.0.1:{port}/", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(b""), 20)
        check("ws-client exits 1 on close code 4000", proc.returncode == 1, proc.returncode)
        check("ws-client reports the code on stderr", b"4000" in err, err)


class WsprotoPeer:
    """One blocking socket driven by a wsproto connection, event by event."""

    def __init__(self, sock, role):
        self.sock = sock
        self.conn = wsproto.WSConnection(role)
        self.pending = []
        self.ended = False

    def send(self, event):
        self.sock.sendall(self.conn.send(event))

    def next(self):
        """The next event; None once the stream ended and nothing is left."""
        while not self.pending:
            self.pending.extend(self.conn.events())
            if self.pending:
                break
            if self.ended:
                return None
            data = self.sock.recv(65536)
            if data:
                self.conn.receive_data(data)
            else:
                self.ended = True
                self.conn.receive_data(None)
        return self.pending.pop(0)


def serve_one_wsproto(behaviour):
    """Listens on 127.0.0.1 and runs behaviour(peer, outcome) for one
    connection on a thread. Returns (port, thread, outcome)."""
    listener = socket.create_server(("127.0.0.1", 0))
    outcome = {}

    def run():
        try:
            sock, _ = listener.accept()
            sock.settimeout(10)
            if TLS:
                sock = server_context().wrap_socket(sock, server_side=True)
            with sock:
                behaviour(WsprotoPeer(sock, wsproto.ConnectionType.SERVER), outcome)
        except Exception as error:  # reported by the checks that read outcome
            outcome["error"] = repr(error)
        finally:
            listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, outcome


def accept_upgrade(peer, outcome):
    request = peer.next()
    outcome["request"] = request
    chosen = "chat" if request and "chat" in request.subprotocols else None
    peer.send(wse.AcceptConnection(subprotocol=chosen))


async def run_client(port, lines=(), answers_per_line=0, args=()):
    """ws-client against 127.0.0.1:port; each stdin line is written after the
    answers to the previous one arrived. Returns (exit code, stdout lines, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        CLIENT, "--io", IO, *tls_args(), *args, f"{SCHEME}://127.0.0.1:{port}/wsproto",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=1 << 20)
    printed = []
    for line in lines:
        proc.stdin.write(line.encode() + b"\n")
        await proc.stdin.drain()
        for _ in range(answers_per_line):
            printed.append((await asyncio.wait_for(proc.stdout.readline(), 10)).decode().rstrip("\n"))
    proc.stdin.close()
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    printed += out.decode().splitlines()
    return proc.returncode, printed, err.decode()


async def wsproto_server_for_client():
    """ws-client against a wsproto server: fragments both ways, pings, and
    the exit status for each way the server can end the connection."""

    def exchange(peer, outcome):
        accept_upgrade(peer, outcome)
        peer.send(wse.Ping(payload=b"wsproto ping"))
        outcome["messages"] = []
        parts = []
        while (event := peer.next()) is not None:
            if isinstance(event, (wse.TextMessage, wse.BytesMessage)):
                parts.append(event.data)
                if not event.message_finished:
                    continue
                whole = "".join(parts) if isinstance(event, wse.TextMessage) else b"".join(parts)
                parts = []
                outcome["messages"].append(whole)
                # The echo goes back in two frames (RFC 6455 5.4), then a binary message.
                kind = wse.TextMessage if isinstance(whole, str) else wse.BytesMessage
                half = len(whole) // 2
                peer.send(kind(data=whole[:half], message_finished=False))
                peer.send(kind(data=whole[half:], message_finished=True))
                peer.send(wse.BytesMessage(data=b"\x00\xffwsproto"))
            elif isinstance(event, wse.Pong):
                outcome["pong"] = event.payload
            elif isinstance(event, wse.CloseConnection):
                outcome["close"] = event.code
                peer.send(event.response())
                break

    port, thread, outcome = serve_one_wsproto(exchange)
    lines = ["from stdin", "", "ünïcödé ✓ 𝄞", "x" * 100000]
    code, printed, err = await run_client(port, lines, 2, ["--subprotocol", "chat"])
    thread.join(10)
    check("wsproto server: ws-client sends stdin lines as text", outcome.get("messages") == lines,
          outcome.get("error", outcome.get("messages", [])[:2]))
    hex_bin = b"\x00\xffwsproto".hex()
    check("wsproto server: fragmented echoes and binary printed",
          printed == [item for line in lines for item in (line, hex_bin)], [p[:20] for p in printed])
    check("wsproto server: the subprotocol is offered",
          outcome.get("request") and outcome["request"].subprotocols == ["chat"])
    check("wsproto server: ws-client answers a ping", outcome.get("pong") == b"wsproto ping",
          outcome.get("pong"))
    check("wsproto server: ws-client closes with 1000", outcome.get("close") == 1000, outcome.get("close"))
    check("wsproto server: ws-client exits 0", code == 0, err)

    def closes_with(code, reason):
        def behaviour(peer, outcome):
            accept_upgrade(peer, outcome)
            peer.send(wse.TextMessage(data="before the close"))
            peer.send(wse.CloseConnection(code=code, reason=reason))
            while (event := peer.next()) is not None:
                if isinstance(event, wse.CloseConnection):
                    outcome["reply"] = event.code
                    break
        return behaviour

    def drops(peer, outcome):
        accept_upgrade(peer, outcome)
        peer.send(wse.TextMessage(data="before the drop"))
        peer.sock.shutdown(socket.SHUT_RDWR)

    for name, behaviour, expected, said in [
            ("closes with 1000", closes_with(1000, "done"), 0, []),
            ("closes with 1001", closes_with(1001, "going away"), 0, []),
            ("closes with 4000 and a reason", closes_with(4000, "custom reason"), 1,
             ["4000", "custom reason"]),
            ("closes with 1008", closes_with(1008, ""), 1, ["1008"]),
            ("drops the connection without a close", drops, 1, [])]:
        port, thread, outcome = serve_one_wsproto(behaviour)
        proc = await asyncio.create_subprocess_exec(
            CLIENT, "--io", IO, *tls_args(), f"{SCHEME}://127.0.0.1:{port}/", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        # Standard input stays open: the server ends the connection.
        out = await asyncio.wait_for(proc.stdout.readline(), 10)
        await asyncio.wait_for(proc.wait(), 20)
        err = (await proc.stderr.read()).decode()
        proc.stdin.close()
        thread.join(10)
        check(f"wsproto server {name}: ws-client prints the message and exits {expected}",
              out.startswith(b"before the") and proc.returncode == expected
              and all(part in err for part in said), (proc.returncode, err))
        if behaviour is not drops:
            check(f"wsproto server {name}: ws-client answers the close", "reply" in outcome,
                  outcome.get("error"))

    def rejects(peer, outcome):
        peer.next()
        # wsproto sends a chunked body; closing ends it for the client.
        peer.send(wse.RejectConnection(status_code=403, has_body=True,
                                       headers=[(b"content-type", b"text/plain")]))
        peer.send(wse.RejectData(data=b"not you"))

    port, thread, outcome = serve_one_wsproto(rejects)
    code, _, err = await run_client(port)
    thread.join(10)
    check("wsproto server rejects: ws-client exits 1 with the status",
          code == 1 and "403" in err, (code, err))


def tls_round_trip():
    """wss://: ws-echo --tls in this mode against Python websockets and
    ws-client in this mode."""
    proc = subprocess.Popen([ECHO, "--port", "0", "--io", IO, "--tls", CERT, KEY],
                            stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline().strip().rsplit(":", 1)[1])
    try:
        async def python_client():
            async with websockets.connect(f"wss://localhost:{port}/", ssl=client_context()) as ws:
                await ws.send("over tls")
                return await ws.recv()
        check("websockets over wss:// echoed", asyncio.run(python_client()) == "over tls")
        result = subprocess.run([CLIENT, "--io", IO, "--ca", CERT, f"wss://localhost:{port}/"],
                                input=b"", capture_output=True, timeout=20)
        check("ws-client --ca connects over wss:// and closes with 1000", result.returncode == 0,
              result.stderr)
        result = subprocess.run([CLIENT, "--io", IO, f"wss://localhost:{port}/"], input=b"",
                                capture_output=True, timeout=20)
        # Asio says "certificate verify failed", ws::tls "certificate was refused".
        check("ws-client refuses an untrusted certificate", result.returncode == 1
              and b"certificate" in result.stderr, result.stderr)
    finally:
        proc.send_signal(signal.SIGTERM)
        check("ws-echo --tls exits 0 on SIGTERM", proc.wait(10) == 0)


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
    # ws-client in the same mode (--io) against third-party servers.
    asyncio.run(websockets_server_for_client())
    try:
        asyncio.run(wsproto_server_for_client())
    except Exception as error:
        check("wsproto server run completed", False, repr(error))
    if not TLS:
        tls_round_trip()
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
