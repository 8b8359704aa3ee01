"""Runs the cases against ws-echo: one ws-echo per set of extra options,
one fresh connection per case, the peer playing the client."""

import signal
import subprocess
import sys
import threading
import time
import traceback

from suite import Report
from wire import TEXT, CaseFailure, connect_client


class EchoServer:
    """A ws-echo process on a free port; its output is kept for reports."""

    def __init__(self, program, io, extra):
        self.command = [program, "--port", "0", "--io", io] + list(extra)
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        prefix = "listening on "
        if not line.startswith(prefix):
            self.process.kill()
            raise RuntimeError("%s printed %r, stderr: %s" % (
                " ".join(self.command), line, self.process.stderr.read()[-2000:]))
        host, _, port = line[len(prefix):].rpartition(":")
        self.host, self.port = host, int(port)
        self.stderr = []
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        for line in self.process.stderr:
            self.stderr.append(line)

    def alive(self):
        return self.process.poll() is None

    def stop(self, timeouts):
        """SIGTERM: ws-echo closes every connection with 1001 and exits 0
        (issue 5's contract); checked with one connection left open.
        Returns a problem description, or None."""
        if not self.alive():
            return "%s exited early with status %s: %s" % (
                " ".join(self.command), self.process.returncode, "".join(self.stderr[-20:]))
        problem = None
        peer = None
        try:
            peer = connect_client(self.host, self.port, "/", timeouts)
            peer.send_frame(TEXT, b"open at shutdown")
            peer.expect_text("open at shutdown")
            self.process.send_signal(signal.SIGTERM)
            peer.expect_close({1001}, what="the 1001 close on SIGTERM")
            goaways = getattr(peer.sock, "goaways", None)
            if goaways is not None:
                # Over HTTP/2 the shutdown is announced to the connection
                # too: GOAWAY NO_ERROR, then the streams finish (RFC 9113
                # 6.8, graceful shutdown).
                seen = goaways()
                if not seen or seen[0][0] != 0:
                    problem = "%s on SIGTERM: the 1001 close came, but GOAWAY NO_ERROR did " \
                              "not (GOAWAY frames seen: %r)" % (" ".join(self.command), seen)
        except (CaseFailure, OSError) as error:
            problem = "%s on SIGTERM: %s" % (" ".join(self.command), error)
        finally:
            if peer is not None:
                peer.sock.close()
        if problem:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return "%s did not exit within 20 s of SIGTERM" % " ".join(self.command)
        self.reader.join(timeout=5)
        if status != 0:
            return "%s exited with status %d after SIGTERM: %s" % (
                " ".join(self.command), status, "".join(self.stderr[-40:]))
        return problem


def run_case(server, case, timeouts):
    peer = None
    try:
        peer = connect_client(server.host, server.port, "/", timeouts,
                              case.early_bytes("client"), case.offer)
        case.run(peer)
        return True, ""
    except CaseFailure as failure:
        return False, str(failure)
    except OSError as error:
        return False, "socket error: %s" % error
    except Exception:  # a bug in the suite itself must not hide the others
        return False, "suite error: " + traceback.format_exc(limit=3)
    finally:
        if peer is not None:
            peer.sock.close()


def run_against_echo(program, io, cases, timeouts, verbose, tls=(), http2=False):
    """`tls`: ("--tls", CERT, KEY) to serve wss:// (wire.TLS_CONTEXT set).
    `http2`: ws-echo also serves HTTP/2 and every case runs on a stream of
    an HTTP/2 connection of its own (wire.CONNECTOR set, h2_stream.py)."""
    deflate = all("--deflate" in case.server_args for case in cases)
    report = Report("ws-echo%s%s%s --io %s" % (" --deflate" if deflate else "",
                                               " --tls" if tls else "",
                                               " --http2" if http2 else "", io))
    extra = tuple(tls) + (("--http2",) if http2 else ())
    servers = {}
    refused = {}  # options ws-echo would not start with, and why
    try:
        for case in cases:
            server = servers.get(case.server_args)
            if server is None and case.server_args in refused:
                report.add(case, False, refused[case.server_args], 0.0)
                continue
            if server is None:
                try:
                    server = servers[case.server_args] = EchoServer(program, io,
                                                                    case.server_args + extra)
                except RuntimeError as error:
                    refused[case.server_args] = "ws-echo did not start: %s" % error
                    report.problems.append(refused[case.server_args])
                    report.add(case, False, refused[case.server_args], 0.0)
                    continue
            started = time.monotonic()
            passed, detail = run_case(server, case, timeouts)
            if not server.alive():
                passed = False
                detail = (detail + "; " if detail else "") + "ws-echo died (status %s): %s" % (
                    server.process.returncode, "".join(server.stderr[-20:]))
                report.problems.append("ws-echo %s died during %s" % (
                    " ".join(case.server_args), case.id))
                del servers[case.server_args]
            seconds = time.monotonic() - started
            report.add(case, passed, detail, seconds)
            if verbose or not passed:
                print("%-8s %s  %s (%.2f s)%s" % (case.id, "pass" if passed else "FAIL",
                                                  case.title, seconds,
                                                  "" if passed else "\n         " + detail),
                      flush=True)
    finally:
        for server in servers.values():
            problem = server.stop(timeouts)
            if problem:
                report.problems.append(problem)
                print("problem: " + problem, file=sys.stderr)
    return report
