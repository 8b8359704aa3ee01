#!/usr/bin/python3
"""ws-client through real proxies on loopback (issue 20): tinyproxy (HTTP
CONNECT) with and without Basic authentication, microsocks (SOCKS5) with and
without RFC 1929 user name and password.

usage: proxy_peers.py WS_ECHO WS_CLIENT [MODE...]
MODE: the ws-client --io modes to run through every proxy (default threads
epoll uring asio; uring is dropped when this machine refuses io_uring, as the
uring tests do, and said so).

Every case that should go through a proxy asserts from the proxy's own log
(tinyproxy's LogFile, microsocks' standard error) that it carried this very
connection; every case that should go direct asserts the logs did not grow.
A missing tinyproxy or microsocks fails the run (scripts/lib/packages.sh
installs both): a real peer is never skipped.
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ECHO, CLIENT = sys.argv[1], sys.argv[2]
MODES = sys.argv[3:] or ["threads", "epoll", "uring", "asio"]
STARTED = time.monotonic()
results = []
processes = []
SCRATCH = tempfile.TemporaryDirectory()
USER, PASSWORD = "alice", "s3cret"


def check(name, condition, detail=""):
    results.append((name, bool(condition)))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"),
          flush=True)


def finish():
    for proc in processes:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    failed = sum(1 for _, ok in results if not ok)
    print(f"{len(results) - failed} passed, {failed} failed "
          f"({time.monotonic() - STARTED:.1f} s)", flush=True)
    sys.exit(1 if failed else 0)


def require(program, package):
    path = shutil.which(program) or (f"/usr/bin/{program}"
                                     if os.path.exists(f"/usr/bin/{program}") else None)
    if path is None:
        check(f"{program} is installed", False, f"apt-get install {package} "
              "(scripts/lib/packages.sh lists it)")
        finish()
    return path


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port, proc, what):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{what} is not listening on {port}")


# ---- Peers --------------------------------------------------------------------

TINYPROXY = require("tinyproxy", "tinyproxy")
MICROSOCKS = require("microsocks", "microsocks")

CERT = os.path.join(SCRATCH.name, "cert.pem")
KEY = os.path.join(SCRATCH.name, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", KEY,
                "-out", CERT, "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
               check=True, capture_output=True)


def start_echo(*extra):
    proc = subprocess.Popen([ECHO, "--port", "0", "--io", "epoll", *extra],
                            stdout=subprocess.PIPE, text=True)
    processes.append(proc)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on 127.0.0.1:"), line
    return int(line.rsplit(":", 1)[1])


ECHO_PORT = start_echo()
# wss://, and HTTP/2 by ALPN h2 on the same port.
TLS_PORT = start_echo("--tls", CERT, KEY, "--http2")
# A port nobody listens on (the proxies' "cannot connect" answers).
CLOSED_PORT = free_port()


class Tinyproxy:
    """tinyproxy in the foreground; its LogFile (LogLevel Info) is the
    evidence: a 'Request ... CONNECT host:port' line per request."""

    def __init__(self, name, auth):
        self.port = free_port()
        folder = os.path.join(SCRATCH.name, name)
        os.mkdir(folder)
        self.log = os.path.join(folder, "tinyproxy.log")
        lines = [f"Port {self.port}", "Listen 127.0.0.1", "Timeout 10", "Allow 127.0.0.1",
                 f'LogFile "{self.log}"', "LogLevel Info", f'PidFile "{folder}/pid"',
                 "MaxClients 20",
                 # CONNECT only to the echo servers: a CONNECT elsewhere is
                 # refused with 403 (a case below).
                 f"ConnectPort {ECHO_PORT}", f"ConnectPort {TLS_PORT}"]
        if auth:
            lines.append(f"BasicAuth {USER} {PASSWORD}")
        config = os.path.join(folder, "tinyproxy.conf")
        with open(config, "w") as out:
            out.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([TINYPROXY, "-d", "-c", config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(self.proc)
        wait_listening(self.port, self.proc, "tinyproxy")
        self.url = (f"http://{USER}:{PASSWORD}@127.0.0.1:{self.port}" if auth
                    else f"http://127.0.0.1:{self.port}")
        self.bare_url = f"http://127.0.0.1:{self.port}"

    def seen(self):
        try:
            with open(self.log, errors="replace") as log:
                text = log.read()
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if "Established connection to host" in line
                or ("Request (" in line and "CONNECT " in line)]

    def tunnels_to(self, port, since):
        """CONNECT requests for 127.0.0.1:port logged after `since` lines."""
        return sum(1 for line in self.seen()[since:]
                   if f"CONNECT 127.0.0.1:{port} " in line)


class Microsocks:
    """microsocks; it writes 'client[N] 127.0.0.1: connected to HOST:PORT'
    on standard error for each tunnel it opened: the evidence."""

    def __init__(self, auth):
        self.port = free_port()
        args = [MICROSOCKS, "-i", "127.0.0.1", "-p", str(self.port)]
        if auth:
            args += ["-u", USER, "-P", PASSWORD]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        processes.append(self.proc)
        self.lines = []
        threading.Thread(target=self._collect, daemon=True).start()
        wait_listening(self.port, self.proc, "microsocks")
        credentials = f"{USER}:{PASSWORD}@" if auth else ""
        self.url = f"socks5://{credentials}127.0.0.1:{self.port}"
        self.hurl = f"socks5h://{credentials}127.0.0.1:{self.port}"
        self.bare_url = f"socks5://127.0.0.1:{self.port}"

    def _collect(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def seen(self):
        return list(self.lines)

    def tunnels_to(self, port, since):
        return sum(1 for line in self.seen()[since:] if f"connected to 127.0.0.1:{port}" in line)


def clean_environment(**variables):
    """The environment without any proxy variable of the caller's, plus
    `variables`."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(variables)
    return env


def run_client(args, env=None, line="through the proxy", timeout=15):
    started = time.monotonic()
    try:
        proc = subprocess.run([CLIENT, *args], input=line + "\n", capture_output=True, text=True,
                              env=env if env is not None else clean_environment(),
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "timed out", time.monotonic() - started
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started


def url(scheme, port=None):
    port = port or (TLS_PORT if scheme == "wss" else ECHO_PORT)
    return f"{scheme}://127.0.0.1:{port}/proxied"


def tls_args(scheme):
    return ["--ca", CERT] if scheme == "wss" else []


def echoed_through(name, proxy, args, scheme, env=None, line="through the proxy"):
    """ws-client echoes one line, and the proxy's log shows the tunnel."""
    port = TLS_PORT if scheme == "wss" else ECHO_PORT
    before = len(proxy.seen())
    code, out, err, _ = run_client([*args, *tls_args(scheme), url(scheme)], env, line)
    check(f"{name}: echoed", code == 0 and out == line + "\n", f"exit {code}, out {out!r}, "
          f"err {err.strip()!r}")
    # The proxy writes its log line as it opens the tunnel, before the echo.
    check(f"{name}: the proxy carried it", proxy.tunnels_to(port, before) == 1,
          f"log since: {proxy.seen()[before:]}")


def went_direct(name, proxies, args, scheme, env):
    before = [len(p.seen()) for p in proxies]
    code, out, err, _ = run_client([*args, *tls_args(scheme), url(scheme)], env)
    check(f"{name}: echoed", code == 0 and out == "through the proxy\n",
          f"exit {code}, err {err.strip()!r}")
    # Give a proxy that did see it the time to log it before looking.
    time.sleep(0.05)
    check(f"{name}: no proxy saw it", all(len(p.seen()) == n for p, n in zip(proxies, before)),
          [p.seen()[n:] for p, n in zip(proxies, before)])


def fails(name, args, expect_in_stderr, env=None, code_expected=1, within=5.0):
    code, out, err, took = run_client(args, env)
    ok = code == code_expected and all(text in err for text in expect_in_stderr)
    check(f"{name}: exit {code_expected} saying {expect_in_stderr}", ok,
          f"exit {code}, stderr {err.strip()!r}")
    check(f"{name}: within {within} s", took < within, f"{took:.2f} s")
    return err


# ---- Cases --------------------------------------------------------------------

try:
    http_open = Tinyproxy("open", auth=False)
    http_auth = Tinyproxy("auth", auth=True)
    socks_open = Microsocks(auth=False)
    socks_auth = Microsocks(auth=True)
except Exception as error:  # a peer that does not start fails the run
    check("the proxies start", False, error)
    finish()

modes = []
for mode in MODES:
    if mode == "uring":
        code, _, err, _ = run_client(["--io", "uring", "--no-proxy", url("ws")])
        if code != 0 and "uring" in err:
            print(f"note: --io uring left out: {err.strip()}", flush=True)
            continue
    modes.append(mode)

# Every mode, both schemes, through each proxy.
for mode in modes:
    io = ["--io", mode]
    for scheme in ("ws", "wss"):
        echoed_through(f"{mode} {scheme}:// via tinyproxy", http_open,
                       [*io, "--proxy", http_open.url], scheme)
        echoed_through(f"{mode} {scheme}:// via tinyproxy with Basic auth", http_auth,
                       [*io, "--proxy", http_auth.url], scheme)
        echoed_through(f"{mode} {scheme}:// via microsocks (socks5)", socks_open,
                       [*io, "--proxy", socks_open.url], scheme)
        echoed_through(f"{mode} {scheme}:// via microsocks with a password (socks5h)",
                       socks_auth, [*io, "--proxy", socks_auth.hurl], scheme)

# HTTP/2 (RFC 8441) inside a tunnel: TLS with ALPN h2 through the proxy.
echoed_through("epoll --http2 wss:// via tinyproxy", http_open,
               ["--http2", "--proxy", http_open.url], "wss")
fails("--http2 ws:// (h2c) through a proxy is refused",
      ["--http2", "--proxy", http_open.url, url("ws")], ["needs wss://"], code_expected=2)

# The environment (issue 20): ws:// uses http_proxy, wss:// https_proxy,
# either falls back to all_proxy; lower case first, then upper case.
dead = f"http://127.0.0.1:{CLOSED_PORT}"
echoed_through("http_proxy for ws://", http_open, [], "ws",
               clean_environment(http_proxy=http_open.url, https_proxy=dead))
echoed_through("https_proxy for wss://", socks_auth, [], "wss",
               clean_environment(https_proxy=socks_auth.hurl, http_proxy=dead))
echoed_through("all_proxy when http_proxy is unset", socks_open, ["--io", "epoll"], "ws",
               clean_environment(all_proxy=socks_open.url, https_proxy=dead))
echoed_through("ALL_PROXY in upper case for wss://", http_auth, [], "wss",
               clean_environment(ALL_PROXY=http_auth.url))
echoed_through("HTTP_PROXY in upper case", http_auth, ["--io", "epoll"], "ws",
               clean_environment(HTTP_PROXY=http_auth.url))
echoed_through("http_proxy wins over HTTP_PROXY", http_open, [], "ws",
               clean_environment(http_proxy=http_open.url, HTTP_PROXY=dead))
echoed_through("--proxy wins over the environment", socks_open, ["--proxy", socks_open.url], "ws",
               clean_environment(http_proxy=dead, all_proxy=dead))
went_direct("no_proxy=127.0.0.1 goes direct", [http_open, socks_open], ["--io", "epoll"], "ws",
            clean_environment(http_proxy=http_open.url, no_proxy="example.com, 127.0.0.1"))
went_direct("NO_PROXY=* goes direct for wss://", [http_open, socks_open], [], "wss",
            clean_environment(https_proxy=socks_open.url, NO_PROXY="*"))
went_direct("--no-proxy ignores the environment", [http_open, socks_open], ["--no-proxy"], "ws",
            clean_environment(http_proxy=http_open.url, all_proxy=socks_open.url))
err = fails("a bad http_proxy is an error, not a direct connect", [url("ws")],
            ["http_proxy", "not a proxy URL"], clean_environment(http_proxy="ftp://127.0.0.1:21"))
fails("a bad --proxy is a bad argument", ["--proxy", "http://127.0.0.1:99999", url("ws")],
      ["--proxy"], code_expected=2)
# --io asio hosts the driver too (ws::asio::connect): it goes through a
# proxy as every other mode does (it refused one before).
echoed_through("--io asio through --proxy", http_open, ["--io", "asio", "--proxy", http_open.url],
               "ws")

# Refusals: exit 1 with the proxy's answer on standard error, in each mode.
for mode in modes:
    io = ["--io", mode]
    fails(f"{mode}: tinyproxy without credentials", [*io, "--proxy", http_auth.bare_url,
                                                      url("ws")], ["407", "127.0.0.1"])
    fails(f"{mode}: tinyproxy with a wrong password",
          [*io, "--proxy", f"http://{USER}:wrong@127.0.0.1:{http_auth.port}", url("wss")],
          ["401", "refused the credentials"])
    fails(f"{mode}: tinyproxy refuses a port it does not allow",
          [*io, "--proxy", http_open.url, url("ws", CLOSED_PORT)], ["403"])
    fails(f"{mode}: microsocks without credentials",
          [*io, "--proxy", socks_auth.bare_url, url("ws")], ["no offered authentication"])
    fails(f"{mode}: microsocks with a wrong password",
          [*io, "--proxy", f"socks5h://{USER}:wrong@127.0.0.1:{socks_auth.port}", url("wss")],
          ["SOCKS5 authentication status"])
    fails(f"{mode}: microsocks cannot reach the server",
          [*io, "--proxy", socks_open.url, url("ws", CLOSED_PORT)], ["SOCKS5 reply"])
    fails(f"{mode}: a proxy that is not listening",
          [*io, "--proxy", dead, url("ws")], ["cannot reach proxy", "refused"], within=2.0)

finish()
