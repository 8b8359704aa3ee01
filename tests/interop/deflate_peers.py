#!/usr/bin/python3
"""permessage-deflate (RFC 7692) against Python `websockets` (Debian
python3-websockets), both roles: websockets clients with several offers
against `ws-echo --deflate`, and a websockets server with several
configurations against `ws-client --deflate`.

usage: deflate_peers.py WS_ECHO WS_CLIENT IO_MODE
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import asyncio
import base64
import os
import signal
import socket
import subprocess
import sys

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory)

ECHO, CLIENT, IO = sys.argv[1], sys.argv[2], sys.argv[3]
results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition)))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)


def start_echo():
    proc = subprocess.Popen([ECHO, "--port", "0", "--io", IO, "--deflate"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on 127.0.0.1:"), line
    return proc, int(line.rsplit(":", 1)[1])


def payloads():
    text = "the quick brown fox jumps over the lazy dog ✓ " * 2000
    return [b"", b"x", os.urandom(10000), b"abc" * 100000, text, text[:500], "é" * 70000]


# name -> (websockets client factory arguments, the response it must get)
CLIENT_OFFERS = {
    "defaults": (dict(client_max_window_bits=True), "permessage-deflate"),
    "no context takeover": (
        dict(server_no_context_takeover=True, client_no_context_takeover=True),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    "small windows": (
        dict(server_max_window_bits=9, client_max_window_bits=9),
        "permessage-deflate; server_max_window_bits=9"),
    "small windows, no takeover": (
        dict(server_max_window_bits=10, client_max_window_bits=9,
             server_no_context_takeover=True, client_no_context_takeover=True),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10"),
}


async def websockets_clients(port):
    url = f"ws://127.0.0.1:{port}/echo"
    for name, (arguments, expected) in CLIENT_OFFERS.items():
        factory = ClientPerMessageDeflateFactory(**arguments)
        async with websockets.connect(url, max_size=None, compression=None,
                                      extensions=[factory]) as ws:
            agreed = ws.response_headers.get("Sec-WebSocket-Extensions")
            check(f"ws-echo agrees ({name})", agreed == expected, agreed)
            ok = True
            for payload in payloads():
                await ws.send(payload)
                ok = ok and await ws.recv() == payload
            check(f"ws-echo echoes compressed messages ({name})", ok)
            await ws.send(["frag", "ment", "ed " * 1000])
            check(f"ws-echo joins a compressed fragmented message ({name})",
                  await ws.recv() == "fragmented " + "ed " * 999)
            await asyncio.wait_for(await ws.ping(b"between"), 5)
            await ws.close()
            check(f"clean close ({name})", ws.close_code == 1000, ws.close_code)

    # A window of 8 bits for the server's compressor cannot be honoured
    # with zlib: the offer is declined and the connection goes uncompressed.
    factory = ClientPerMessageDeflateFactory(server_max_window_bits=8)
    async with websockets.connect(url, max_size=None, compression=None,
                                  extensions=[factory]) as ws:
        agreed = ws.response_headers.get("Sec-WebSocket-Extensions")
        check("ws-echo declines server_max_window_bits=8", agreed is None, agreed)
        await ws.send("plain")
        check("uncompressed echo after a declined offer", await ws.recv() == "plain")

    # websockets' own default (compression="deflate").
    async with websockets.connect(url, max_size=None) as ws:
        check("ws-echo agrees with websockets' default offer", len(ws.extensions) == 1,
              ws.response_headers.get("Sec-WebSocket-Extensions"))
        big = "0123456789" * 100000
        await ws.send(big)
        check("1 MB text round trip with the default offer", await ws.recv() == big)


def raw_client_sees_compressed_echo(port):
    """The echo's first frame has RSV1 and fewer payload bytes than the message
    (RFC 7692 6): checked on the raw bytes, which websockets does not show."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, data = data.split(b"\r\n\r\n", 1)
    check("raw: 101 with permessage-deflate", b"permessage-deflate" in head, head)
    message = b"a" * 10000
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(message))
    sock.sendall(bytes([0x81, 0x80 | 126]) + len(message).to_bytes(2, "big") + mask + masked)
    while len(data) < 2:
        data += sock.recv(4096)
    rsv1 = bool(data[0] & 0x40)
    length = data[1] & 0x7F
    check("raw: ws-echo compresses its echo (RSV1 set, fewer bytes)", rsv1 and length < 126,
          (hex(data[0]), length))
    sock.close()


# name -> websockets server factory arguments
SERVER_CONFIGS = {
    "defaults": dict(),
    "no context takeover": dict(server_no_context_takeover=True,
                                client_no_context_takeover=True),
    "small windows": dict(server_max_window_bits=9, client_max_window_bits=9),
    "small windows, no takeover": dict(server_max_window_bits=11, client_max_window_bits=10,
                                       server_no_context_takeover=True,
                                       client_no_context_takeover=True),
}


async def websockets_servers():
    lines = ["short", "repeat " * 500, "ünïcödé " * 300, "short"]
    for name, arguments in SERVER_CONFIGS.items():
        received = []
        agreed = []

        async def handler(ws):
            agreed.append(ws.response_headers.get("Sec-WebSocket-Extensions"))
            async for message in ws:
                received.append(message)
                await ws.send(message)

        factory = ServerPerMessageDeflateFactory(**arguments)
        async with websockets.serve(handler, "127.0.0.1", 0, compression=None,
                                    extensions=[factory], max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            proc = await asyncio.create_subprocess_exec(
                CLIENT, "--deflate", f"ws://127.0.0.1:{port}/", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out = []
            for line in lines:
                proc.stdin.write(line.encode() + b"\n")
                await proc.stdin.drain()
                out.append((await asyncio.wait_for(proc.stdout.readline(), 10)).decode().rstrip("\n"))
            proc.stdin.close()
            _, err = await asyncio.wait_for(proc.communicate(), 20)
            check(f"ws-client agrees ({name})",
                  agreed and agreed[0] and agreed[0].startswith("permessage-deflate"), agreed)
            check(f"websockets server receives ws-client's messages ({name})",
                  received == lines, [len(m) for m in received])
            check(f"ws-client receives compressed answers ({name})", out == lines,
                  [len(m) for m in out])
            check(f"ws-client exits 0 ({name})", proc.returncode == 0, err.decode())


def main():
    proc, port = start_echo()
    try:
        asyncio.run(websockets_clients(port))
        raw_client_sees_compressed_echo(port)
    except Exception as error:  # a crash of the peer run is a failure, not a skip
        check("websockets client run completed", False, repr(error))
    finally:
        proc.send_signal(signal.SIGTERM)
        check("ws-echo exits 0 on SIGTERM", proc.wait(10) == 0)
    if IO == "epoll":
        try:
            asyncio.run(websockets_servers())
        except Exception as error:
            check("websockets server run completed", False, repr(error))
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
