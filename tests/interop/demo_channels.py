#!/usr/bin/python3
"""ws-demo with Python websockets and wsproto clients: the page, channels
that never mix, every message to every member (the sender included) in
order, /echo, 400 for bad channel names, and 1001 on SIGTERM.

usage: demo_channels.py WS_DEMO IO_MODE        prints 'N passed, M failed'
"""
import asyncio
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import websockets
import wsproto
import wsproto.events as wse

DEMO, IO = sys.argv[1], sys.argv[2]
results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def exchange(base):
    ws_base = base.replace("http://", "ws://")
    a1 = await websockets.connect(ws_base + "channel/meeting")
    a2 = await websockets.connect(ws_base + "channel/meeting?ignored=1")
    b1 = await websockets.connect(ws_base + "channel/hub")
    for i in range(20):
        await a1.send(f"a1 says {i}")
    await a2.send(b"\x00\x01 binary stays binary")
    await b1.send("hub reading 17")
    got_a1 = [await asyncio.wait_for(a1.recv(), 5) for _ in range(21)]
    got_a2 = [await asyncio.wait_for(a2.recv(), 5) for _ in range(21)]
    got_b1 = [await asyncio.wait_for(b1.recv(), 5)]
    texts = [m for m in got_a2 if isinstance(m, str)]
    check("meeting members get a1's messages in order", texts == [f"a1 says {i}" for i in range(20)], texts[:3])
    check("the sender gets its own messages", [m for m in got_a1 if isinstance(m, str)] == texts)
    check("binary is published as binary", b"\x00\x01 binary stays binary" in got_a1)
    check("the hub hears only the hub", got_b1 == ["hub reading 17"], got_b1)
    try:
        extra = await asyncio.wait_for(b1.recv(), 0.5)
        check("channels never mix", False, extra)
    except asyncio.TimeoutError:
        check("channels never mix", True)
    echo = await websockets.connect(ws_base + "echo")
    await echo.send("echo me")
    check("/echo echoes", await asyncio.wait_for(echo.recv(), 5) == "echo me")
    for name in ["channel/", "channel/bad%20name", "channel/" + "x" * 65, "channel/%zz"]:
        try:
            await websockets.connect(ws_base + name)
            check(f"{name!r} is refused", False, "upgraded")
        except websockets.InvalidStatusCode as error:
            check(f"{name!r} is refused with 400", error.status_code == 400, error.status_code)
    ok = await websockets.connect(ws_base + "channel/a.b_c-%41")
    check("a percent-encoded valid name is accepted", ok.open)
    return [a1, a2, b1, echo, ok]


def wsproto_member(base):
    """wsproto drives the bytes itself: a member hears its own fragmented
    message (with a ping between the fragments) whole, and a bad name gets
    400."""
    host, port = base[len("http://"):-1].rsplit(":", 1)

    def connect(target):
        sock = socket.create_connection((host, int(port)), timeout=10)
        conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        sock.sendall(conn.send(wse.Request(host=host, target=target)))
        return sock, conn

    def events_until(sock, conn, done, seen):
        while not done(seen):
            data = sock.recv(65536)
            conn.receive_data(data or None)
            seen.extend(conn.events())
            if not data:
                break
        return seen

    sock, conn = connect("/channel/wsproto-room")
    seen = events_until(sock, conn, lambda s: s, [])
    check("wsproto: the channel upgrade is accepted", isinstance(seen[0], wse.AcceptConnection), seen)
    sock.sendall(conn.send(wse.TextMessage(data="one ", message_finished=False)) +
                 conn.send(wse.Ping(payload=b"mid")) +
                 conn.send(wse.TextMessage(data="two ✓", message_finished=True)) +
                 conn.send(wse.BytesMessage(data=b"\x00\x01\x02")))
    seen = events_until(sock, conn, lambda s: any(
        isinstance(e, wse.BytesMessage) and e.message_finished for e in s), [])
    text = "".join(e.data for e in seen if isinstance(e, wse.TextMessage))
    data = b"".join(e.data for e in seen if isinstance(e, wse.BytesMessage))
    check("wsproto: a fragmented text with a ping inside is published whole", text == "one two ✓", text)
    check("wsproto: binary is published as binary", data == b"\x00\x01\x02", data)
    check("wsproto: the ping is answered",
          any(isinstance(e, wse.Pong) and e.payload == b"mid" for e in seen), seen)
    sock.sendall(conn.send(wse.CloseConnection(code=1000, reason="bye")))
    seen = events_until(sock, conn, lambda s: any(isinstance(e, wse.CloseConnection) for e in s), [])
    closes = [e.code for e in seen if isinstance(e, wse.CloseConnection)]
    check("wsproto: close 1000 is answered with 1000", closes[:1] == [1000], closes)
    check("wsproto: the server ends the TCP connection", sock.recv(1) == b"")
    sock.close()

    sock, conn = connect("/channel/bad%20name")
    seen = events_until(sock, conn, lambda s: s, [])
    check("wsproto: a bad channel name is refused with 400",
          isinstance(seen[0], wse.RejectConnection) and seen[0].status_code == 400, seen)
    sock.close()


def main():
    proc = subprocess.Popen([DEMO, "--port", "0", "--io", IO], stdout=subprocess.PIPE, text=True)
    base = proc.stdout.readline().strip()
    check("prints the page URL", base.startswith("http://127.0.0.1:") and base.endswith("/"), base)
    try:
        status, body = http_get(base)
        check("GET / serves the page", status == 200 and "<script>" in body and "WebSocket" in body)
        check("an unknown path is 404", http_get(base + "nothing")[0] == 404)
        wsproto_member(base)

        async def run():
            sockets = await exchange(base)
            proc.send_signal(signal.SIGTERM)
            codes = []
            for ws in sockets:
                try:
                    await asyncio.wait_for(ws.recv(), 10)
                except websockets.ConnectionClosed as closed:
                    codes.append(closed.rcvd.code if closed.rcvd else None)
            check("SIGTERM closes every connection with 1001", codes == [1001] * len(sockets), codes)
        asyncio.run(run())
        check("ws-demo exits 0", proc.wait(15) == 0)
    except Exception as error:
        check("run completed", False, repr(error))
    finally:
        if proc.poll() is None:
            proc.kill()
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)


main()
