#!/usr/bin/python3
"""ws-client --reconnect against ws-echo killed (SIGKILL) and started again
on the same port mid-stream: the client says on standard error, one line per
attempt, that it is reconnecting; the lines written to its standard input
while the server is gone are sent once it is back, and every line is echoed,
in order, once; at the end of input it closes with 1000 and exits 0.
Then redirects: a plain socket server answers every request with a 301 to
ws-echo; ws-client follows it (default), and with --max-redirects 0 reports
the refusal and exits 1.

usage: client_resilience.py WS_ECHO WS_CLIENT IO_MODE   prints 'N passed, M failed'
"""
import base64
import ctypes
import hashlib
import os
import queue
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ECHO, CLIENT, IO = sys.argv[1], sys.argv[2], sys.argv[3]
TIMEOUT_MS = 5000
results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)


def die_with_parent():
    """In the child: SIGKILL when this script dies (a timeout kills it)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def lines_of(stream, into):
    def pump():
        for raw in iter(stream.readline, b""):
            into.put(raw.decode(errors="replace").rstrip("\n"))
        into.put(None)
    threading.Thread(target=pump, daemon=True).start()


def expect(lines, pattern, timeout_ms=TIMEOUT_MS, seen=None):
    """The next line matching `pattern` (others go to `seen`), or None."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return None
        if line is None:
            return None
        if re.search(pattern, line):
            return line
        if seen is not None:
            seen.append(line)


def start_echo(port):
    """ws-echo on `port` (0: a free one); returns (process, port)."""
    for _ in range(50):  # the old socket may linger a moment after a kill
        proc = subprocess.Popen([ECHO, "--port", str(port), "--io", "epoll"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        first = proc.stdout.readline().decode()
        found = re.search(r"listening on [^:]+:(\d+)", first)
        if found:
            return proc, int(found.group(1))
        proc.wait()
        time.sleep(0.1)
    raise RuntimeError("ws-echo did not start")


def raw_server(respond):
    """A plain socket server on a free loopback port: for each connection it
    reads the request head and calls respond(peer, head). Returns the
    listening socket (close it to stop) and its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve():
        while True:
            try:
                peer, _ = listener.accept()
            except OSError:
                return
            with peer:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = peer.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                respond(peer, head)
    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def main():
    echo, port = start_echo(0)
    client = subprocess.Popen([CLIENT, "--reconnect", "--io", IO, f"ws://127.0.0.1:{port}/resilience"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=die_with_parent)
    out, err = queue.Queue(), queue.Queue()
    lines_of(client.stdout, out)
    lines_of(client.stderr, err)
    errors = []

    def send(line):
        client.stdin.write((line + "\n").encode())
        client.stdin.flush()

    # Before: each line echoed, one at a time (so none is in flight at the kill).
    before = [f"before {i}" for i in range(5)]
    echoed = []
    for line in before:
        send(line)
        echoed.append(expect(out, "."))
    check("lines are echoed before the kill", echoed == before, echoed)

    echo.send_signal(signal.SIGKILL)
    echo.wait()
    first = expect(err, r"reconnecting", seen=errors)
    check("the client says it is reconnecting", first is not None, errors)
    pattern = r"^ws-client: reconnecting in \d+\.\d\d s \(attempt \d+\): closed with 1006"
    check("the line has the delay, the attempt and the reason", first and re.match(pattern, first), first)

    # While the server is gone: these wait in the client.
    during = [f"during {i}" for i in range(20)]
    for line in during:
        send(line)
    time.sleep(0.3)
    echo, again = start_echo(port)
    check("ws-echo is back on the same port", again == port, again)
    back = expect(err, r"reconnected", seen=errors)
    check("the client reconnects", back is not None, errors)
    attempts = [line for line in errors + [first] if "reconnecting" in line]
    check("every attempt line has the format", all(re.match(r"^ws-client: reconnecting in \d+\.\d\d s "
                                                            r"\(attempt \d+\): ", a) for a in attempts), attempts)

    got = [expect(out, ".") for _ in during]
    check("every line written while the server was gone is echoed, in order, once", got == during, got)
    after = [f"after {i}" for i in range(5)]
    for line in after:
        send(line)
    got = [expect(out, ".") for _ in after]
    check("lines after the restart are echoed", got == after, got)

    client.stdin.close()
    try:
        status = client.wait(timeout=TIMEOUT_MS / 1000)
    except subprocess.TimeoutExpired:
        client.kill()
        status = None
    check("at the end of input the client closes and exits 0", status == 0, status)
    extra = expect(out, ".", timeout_ms=100)
    check("nothing is echoed twice", extra is None, extra)
    echo.kill()
    echo.wait()


def redirects():
    echo, port = start_echo(0)
    listener, redirect_port = raw_server(lambda peer, head: peer.sendall(
        f"HTTP/1.1 301 Moved Permanently\r\nLocation: ws://127.0.0.1:{port}/moved\r\n"
        "Content-Length: 0\r\n\r\n".encode()))
    url = f"ws://127.0.0.1:{redirect_port}/old"
    run = subprocess.run([CLIENT, "--io", IO, url], input=b"through the redirect\n", capture_output=True,
                         timeout=TIMEOUT_MS / 1000, preexec_fn=die_with_parent)
    check("a 301 is followed to ws-echo", run.returncode == 0 and run.stdout == b"through the redirect\n",
          (run.returncode, run.stdout, run.stderr))
    check("the redirect is reported", b"following a 301 redirect to ws://127.0.0.1:" in run.stderr, run.stderr)
    run = subprocess.run([CLIENT, "--io", IO, "--max-redirects", "0", url], input=b"x\n", capture_output=True,
                         timeout=TIMEOUT_MS / 1000, preexec_fn=die_with_parent)
    check("--max-redirects 0 reports the 301 and fails", run.returncode == 1 and b"HTTP 301" in run.stderr,
          (run.returncode, run.stderr))
    listener.close()
    echo.kill()
    echo.wait()


def input_ends_before_the_answer():
    """Standard input that ends before the server answered must not stop the
    client quietly: it still reports the refusal (exit 1, the status), as it
    did before it could reconnect. The server waits 300 ms, so the end of
    input (empty) always comes first."""
    def late_403(peer, head):
        time.sleep(0.3)
        peer.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    listener, slow_port = raw_server(late_403)
    for extra in ([], ["--reconnect"]):
        run = subprocess.run([CLIENT, "--io", IO, *extra, f"ws://127.0.0.1:{slow_port}/slow"], input=b"",
                             capture_output=True, timeout=TIMEOUT_MS / 1000, preexec_fn=die_with_parent)
        check(f"empty input, a late 403{' with --reconnect' if extra else ''}: exit 1 naming it",
              run.returncode == 1 and b"HTTP 403" in run.stderr, (run.returncode, run.stderr))
    listener.close()

    # A server that accepts and closes with 4000 at once: the end of an empty
    # input races the connect, and used to stop the client before it began
    # (exit 0, nothing said) in about one run of twenty. RFC 6455 7.1.5: the
    # close code is the one received.
    def accept_and_close(peer, head):
        key = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", head)
        if not key:
            return
        accept = base64.b64encode(hashlib.sha1(key.group(1) + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        reason = struct.pack("!H", 4000) + b"custom"
        peer.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + bytes([0x88, len(reason)]) + reason)
        peer.settimeout(1)
        try:
            peer.recv(4096)  # the client's close reply; then the server closes TCP first
        except OSError:
            pass
    listener, closing_port = raw_server(accept_and_close)
    outcomes = []
    for _ in range(20):
        run = subprocess.run([CLIENT, "--io", IO, f"ws://127.0.0.1:{closing_port}/"], input=b"",
                             capture_output=True, timeout=TIMEOUT_MS / 1000, preexec_fn=die_with_parent)
        outcomes.append((run.returncode, b"4000" in run.stderr))
    check("empty input, the server closes with 4000: exit 1 naming 4000, 20 runs of 20",
          outcomes == [(1, True)] * 20, outcomes)
    listener.close()


def redirect_to_wss():
    """ws:// answered with a 301 to wss:// (an upgrade of security, allowed):
    the client loads TLS then and checks the server's certificate with --ca."""
    scratch = tempfile.mkdtemp()
    cert, key = os.path.join(scratch, "cert.pem"), os.path.join(scratch, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    proc = subprocess.Popen([ECHO, "--port", "0", "--io", "epoll", "--tls", cert, key], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
    found = re.search(r"listening on [^:]+:(\d+)", proc.stdout.readline().decode())
    tls_port = int(found.group(1))
    listener, redirect_port = raw_server(lambda peer, head: peer.sendall(
        f"HTTP/1.1 308 Permanent Redirect\r\nLocation: wss://127.0.0.1:{tls_port}/secure\r\n"
        "Content-Length: 0\r\n\r\n".encode()))
    url = f"ws://127.0.0.1:{redirect_port}/plain"
    run = subprocess.run([CLIENT, "--io", IO, "--ca", cert, url], input=b"now over TLS\n", capture_output=True,
                         timeout=TIMEOUT_MS / 1000, preexec_fn=die_with_parent)
    check("a 308 from ws:// to wss:// is followed, over TLS", run.returncode == 0 and run.stdout == b"now over TLS\n",
          (run.returncode, run.stdout, run.stderr))
    listener.close()
    proc.kill()
    proc.wait()
    shutil.rmtree(scratch, ignore_errors=True)


start = time.monotonic()
try:
    main()
    redirects()
    input_ends_before_the_answer()
    redirect_to_wss()
except Exception as error:  # a failure of the harness is a failed test
    check("harness", False, repr(error))
check("the run takes less than 20 s", time.monotonic() - start < 20, time.monotonic() - start)
failed = results.count(False)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
