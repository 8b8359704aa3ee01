"""The peer as an Autobahn-style fuzzing server, to test a client.

The client under test (ws-client --autobahn URL) opens, one after another:
  URL/getCaseCount                 -> we send the number of cases as one text
                                      message and close with 1000;
  URL/runCase?case=N&agent=A       -> we play case N as the server: unmasked
                                      frames out, the client's masked echoes
                                      and failure codes checked;
  URL/updateReports?agent=A        -> we close with 1000.
Case N is the N-th case (in suite order) that applies to clients.
"""

import socket
import subprocess
import threading
import time
import traceback
from urllib.parse import parse_qs, urlsplit

from suite import Report
from wire import TEXT, CaseFailure, accept_client


def drain(stream, into):
    for line in stream:
        into.append(line)


def case_for(url, cases):
    if url.path != "/runCase":
        return None
    try:
        number = int(parse_qs(url.query)["case"][0])
    except (KeyError, ValueError):
        return None
    return cases[number - 1] if 1 <= number <= len(cases) else None


def serve_connection(sock, cases, timeouts, state):
    """Handles one connection from the client; returns (case, passed, detail)
    for a runCase connection, None otherwise."""
    def early(path):
        # Frames a case sends in the same write as the 101 response.
        case = case_for(urlsplit(path), cases)
        return case.early_bytes("server") if case else b""

    def answer(path, offered):
        # The Sec-WebSocket-Extensions answer a case gives (groups 12, 13).
        case = case_for(urlsplit(path), cases)
        return case.answer(offered) if case and case.answer else None

    try:
        path, peer = accept_client(sock, timeouts, early, answer)
    except (CaseFailure, OSError) as error:
        state["problems"].append("a handshake failed: %s" % error)
        return None
    url = urlsplit(path)
    query = parse_qs(url.query)
    agent = (query.get("agent") or [None])[0]
    try:
        if url.path == "/getCaseCount":
            peer.send_frame(TEXT, str(len(cases)).encode())
            peer.finish()
            state["counted"] = True
            return None
        if url.path == "/updateReports":
            state["agents"].add(agent)
            peer.finish()
            state["reported"] = True
            return None
        if url.path != "/runCase":
            state["problems"].append("unknown path %r" % path)
            peer.finish(1008)
            return None
        state["agents"].add(agent)
        case = case_for(url, cases)
        if case is None:
            state["problems"].append("runCase with a bad case number: %r" % path)
            peer.finish(1008)
            return None
    except (CaseFailure, OSError) as error:
        state["problems"].append("%s: %s" % (path, error))
        return None
    try:
        case.run(peer)
        return case, True, ""
    except CaseFailure as failure:
        return case, False, str(failure)
    except OSError as error:
        return case, False, "socket error: %s" % error
    except Exception:
        return case, False, "suite error: " + traceback.format_exc(limit=3)


def run_against_client(program, cases, timeouts, verbose):
    options = []
    for case in cases:
        options += [a for a in case.client_args if a not in options]
    report = Report(" ".join(["ws-client"] + options + ["--autobahn"]))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    command = [program] + options + ["--autobahn", "ws://127.0.0.1:%d" % port]
    client = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    output, errors = [], []
    readers = [threading.Thread(target=drain, args=(client.stdout, output), daemon=True),
               threading.Thread(target=drain, args=(client.stderr, errors), daemon=True)]
    for reader in readers:
        reader.start()
    state = {"problems": [], "agents": set(), "counted": False, "reported": False}
    results = {}
    listener.settimeout(0.2)
    idle_since = time.monotonic()
    try:
        while not state["reported"]:
            try:
                sock, _ = listener.accept()
            except socket.timeout:
                if client.poll() is not None:
                    break
                if time.monotonic() - idle_since > timeouts.reply * 3:
                    state["problems"].append("ws-client opened no connection for %.0f s" % (
                        timeouts.reply * 3))
                    break
                continue
            started = time.monotonic()
            try:
                outcome = serve_connection(sock, cases, timeouts, state)
            finally:
                sock.close()
            idle_since = time.monotonic()
            if outcome is None:
                continue
            case, passed, detail = outcome
            if case.id in results:
                state["problems"].append("case %s was run twice" % case.id)
                continue
            seconds = time.monotonic() - started
            results[case.id] = (passed, detail, seconds)
            if verbose or not passed:
                print("%-8s %s  %s (%.2f s)%s" % (case.id, "pass" if passed else "FAIL",
                                                  case.title, seconds,
                                                  "" if passed else "\n         " + detail),
                      flush=True)
    finally:
        listener.close()
        try:
            status = client.wait(timeout=timeouts.reply * 2)
        except subprocess.TimeoutExpired:
            client.kill()
            status = client.wait()
            state["problems"].append("ws-client did not exit after /updateReports")
        for reader in readers:
            reader.join(timeout=5)
    for case in cases:
        passed, detail, seconds = results.get(case.id, (False, "ws-client never ran it", 0.0))
        report.add(case, passed, detail, seconds)
    if not state["counted"]:
        state["problems"].append("ws-client never asked /getCaseCount")
    if not state["reported"]:
        state["problems"].append("ws-client never opened /updateReports")
    if state["agents"] - {"ws"}:
        state["problems"].append("agent names other than 'ws': %s" % sorted(
            str(a) for a in state["agents"]))
    if status != 0:
        state["problems"].append("ws-client exited with status %d: %s" % (
            status, "".join(errors[-20:])))
    report.problems += state["problems"]
    return report
