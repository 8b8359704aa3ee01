#!/usr/bin/python3
"""WebSockets over HTTP/2 (RFC 8441) against a third-party HTTP/2 client:
Python `h2` for the HTTP/2 connection and wsproto's FrameProtocol for the
WebSocket frames inside each stream (Debian python3-h2, python3-wsproto).

usage: http2_peers.py WS_ECHO [tls] [--io epoll|asio]
Starts one `ws-echo --http2 --subprotocol chat` (--io epoll unless told). Without `tls` the
client speaks HTTP/2 with prior knowledge (h2c, RFC 9113 3.3); with `tls`
the server gets a certificate made at start and the client asks for "h2" by
ALPN (RFC 9113 3.2). Every read has a deadline: a hang is a failure with a
message, never a stuck test. Prints one line per check, then
'N passed, M failed', and exits non-zero on any failure.

Hostile peers (after rapid reset): PING, SETTINGS and CONTINUATION floods
written by hand with hyperframe and hpack (python3-h2 brings both), more
streams than SETTINGS_MAX_CONCURRENT_STREAMS, a header list past
SETTINGS_MAX_HEADER_LIST_SIZE, and a client that never reads 50 busy
WebSockets (on a second ws-echo with --max-message 1 MiB and
--memory-report). Each prints the server's CPU time and memory growth,
bounds them, and ends with a new connection's WebSocket echoing promptly.
"""
import os
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import traceback

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions
    import h2.settings
    import hpack
    import hyperframe.exceptions
    import wsproto
    import wsproto.events as wse
    from hyperframe.frame import (ContinuationFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                                  RstStreamFrame, SettingsFrame)
    from wsproto.frame_protocol import FrameProtocol, Opcode, ParseFailed
except ImportError as missing:
    # The full run installs Debian's python3-h2 and python3-wsproto: without
    # them this suite did not run, which is a failure, not a skip.
    print(f"FAIL {missing}: install python3-h2 and python3-wsproto (Debian) for /usr/bin/python3",
          flush=True)
    sys.exit(1)

ECHO = sys.argv[1]
TLS = "tls" in sys.argv[2:]
IO = sys.argv[sys.argv.index("--io") + 1] if "--io" in sys.argv else "epoll"
SCHEME = "https" if TLS else "http"
# Every wait on the server has this deadline unless a check says otherwise.
WAIT = 5.0
# The client's own connection window (RFC 9113 6.9.2 starts it at 65,535):
# opened wide so that a stream whose data the client deliberately leaves
# unread (the slow reader) holds back only its own stream window, the way
# a real client with one slow consumer behaves.
CLIENT_CONNECTION_WINDOW = (1 << 30) - 65535
# RFC 9113 3.4: the client connection preface.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

results = []
CERT_FOLDER = tempfile.TemporaryDirectory()
CERT = os.path.join(CERT_FOLDER.name, "cert.pem")
KEY = os.path.join(CERT_FOLDER.name, "key.pem")
if TLS:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", KEY,
                    "-out", CERT, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)


class Failure(Exception):
    """A wait that did not end as it should (deadline, closed connection)."""


def check(name, condition, detail=""):
    results.append((name, bool(condition)))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)


def client_context(alpn):
    context = ssl.create_default_context(cafile=CERT)
    if alpn is not None:
        context.set_alpn_protocols(list(alpn))
    return context


def connect_tcp(port):
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT)


class Stream:
    """One request stream as the client sees it: the response, and for a
    WebSocket its frames parsed by wsproto, messages joined whole."""

    def __init__(self, stream_id, websocket):
        self.id = stream_id
        self.websocket = websocket
        self.status = None
        self.headers = {}
        self.ended = False          # END_STREAM from the server
        self.reset = None           # RST_STREAM error code from the server
        self.body = bytearray()     # DATA of a plain (non-WebSocket) answer
        self.frames = FrameProtocol(client=True, extensions=[])
        self.parts = []
        self.messages = []          # str for text, bytes for binary
        self.pongs = []
        self.close = None           # (code, reason) of the server's close frame
        self.error = None           # wsproto could not parse what came
        self.outgoing = bytearray()  # WebSocket bytes waiting for window
        self.end_after_outgoing = False
        self.paused = False         # leave received DATA unacknowledged
        self.held = 0               # flow-controlled bytes left unacknowledged
        self.window_updates = 0     # WINDOW_UPDATE frames the server sent for it

    def finished(self):
        """Nothing more will come: ended, reset, or unparseable."""
        return self.ended or self.reset is not None or self.error is not None


class H2Peer:
    """A blocking HTTP/2 client connection driven by h2, one socket."""

    def __init__(self, port, alpn=("h2",), strict=True):
        self.port = port
        self.authority = f"127.0.0.1:{port}"
        sock = connect_tcp(port)
        self.alpn = None
        if TLS:
            sock = client_context(alpn).wrap_socket(sock, server_hostname="127.0.0.1")
            self.alpn = sock.selected_alpn_protocol()
        self.sock = sock
        # strict=False lets the client send requests h2 would refuse to
        # send (a plain CONNECT without :scheme and :path, RFC 9113 8.5).
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_outbound_headers=strict,
                                           normalize_outbound_headers=strict)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(CLIENT_CONNECTION_WINDOW)
        self.streams = {}
        self.remote_settings = {}
        self.settings_seen = False
        self.goaway = None
        self.goaway_last_stream = None
        self.eof = False
        self.ping_acks = []
        self.flush()
        # RFC 8441 3: no :protocol before the server's SETTINGS allowed it.
        self.pump(lambda: self.settings_seen, "the server's SETTINGS")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- output ----
    def write(self):
        data = self.conn.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except (OSError, ssl.SSLError) as error:
                raise Failure(f"writing {len(data)} bytes: {error!r}") from error

    def flush(self):
        """Sends each stream's pending WebSocket bytes as far as the
        server's windows and the frame size allow (RFC 9113 5.2, 6.5.2)."""
        self.frame_outgoing()
        self.write()

    def frame_outgoing(self):
        """Hands each stream's pending WebSocket bytes to h2 as DATA, as far
        as the windows and the frame size allow; writes nothing."""
        for stream in self.streams.values():
            while stream.outgoing or stream.end_after_outgoing:
                try:
                    window = self.conn.local_flow_control_window(stream.id)
                except h2.exceptions.StreamClosedError:
                    stream.outgoing.clear()
                    stream.end_after_outgoing = False
                    break
                size = min(len(stream.outgoing), window, self.conn.max_outbound_frame_size)
                if size == 0 and stream.outgoing:
                    break
                chunk = bytes(stream.outgoing[:size])
                del stream.outgoing[:size]
                end = stream.end_after_outgoing and not stream.outgoing
                self.conn.send_data(stream.id, chunk, end_stream=end)
                if end:
                    stream.end_after_outgoing = False

    # ---- input ----
    def pump(self, until, what, timeout=WAIT):
        """Reads and handles frames until until() holds; a deadline or the
        end of the connection first is a Failure naming what was awaited."""
        deadline = time.monotonic() + timeout
        while not until():
            if self.eof:
                raise Failure(f"the connection ended (GOAWAY {self.goaway}) before {what}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"no {what} within {timeout:g} s")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 20)
            except (socket.timeout, TimeoutError):
                raise Failure(f"no {what} within {timeout:g} s") from None
            except (OSError, ssl.SSLError) as error:
                self.eof = True
                raise Failure(f"reading while waiting for {what}: {error!r}") from error
            if not data:
                self.eof = True
                continue
            self.feed(data)

    def feed(self, data):
        for event in self.conn.receive_data(data):
            self.handle(event)
        self.flush()

    def handle(self, event):
        stream = self.streams.get(getattr(event, "stream_id", None))
        if isinstance(event, h2.events.RemoteSettingsChanged):
            for code, change in event.changed_settings.items():
                self.remote_settings[code] = change.new_value
            self.settings_seen = True
        elif isinstance(event, h2.events.ResponseReceived) and stream:
            stream.headers = dict(event.headers)
            stream.status = int(stream.headers[":status"])
        elif isinstance(event, h2.events.DataReceived) and stream:
            if stream.websocket and stream.status == 200:
                self.take_frames(stream, event.data)
            else:
                stream.body += event.data
            if stream.paused:
                stream.held += event.flow_controlled_length
            else:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded) and stream:
            stream.ended = True
        elif isinstance(event, h2.events.StreamReset) and stream:
            stream.reset = event.error_code
        elif isinstance(event, h2.events.WindowUpdated) and stream:
            stream.window_updates += 1
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event.error_code
            self.goaway_last_stream = event.last_stream_id
        elif isinstance(event, h2.events.PingAckReceived):
            self.ping_acks.append(event.ping_data)

    @staticmethod
    def take_frames(stream, data):
        stream.frames.receive_bytes(data)
        try:
            for frame in stream.frames.received_frames():
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONTINUATION):
                    stream.parts.append(frame.payload)
                    if frame.message_finished:
                        joiner = "" if frame.opcode is Opcode.TEXT else b""
                        stream.messages.append(joiner.join(stream.parts))
                        stream.parts = []
                elif frame.opcode is Opcode.PING:
                    stream.outgoing += stream.frames.pong(frame.payload)
                elif frame.opcode is Opcode.PONG:
                    stream.pongs.append(frame.payload)
                elif frame.opcode is Opcode.CLOSE:
                    stream.close = frame.payload
        except ParseFailed as error:
            stream.error = repr(error)

    # ---- requests ----
    def request(self, headers, end_stream=False, websocket=False):
        stream_id = self.conn.get_next_available_stream_id()
        stream = Stream(stream_id, websocket)
        self.streams[stream_id] = stream
        self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        self.write()
        return stream

    def connect_fields(self, protocol="websocket", version="13", extra=()):
        """An extended CONNECT (RFC 8441 4, 5): :protocol names the
        WebSocket; sec-websocket-key and -accept have no place here."""
        fields = [(":method", "CONNECT")]
        if protocol is not None:
            fields.append((":protocol", protocol))
        fields += [(":scheme", SCHEME), (":path", "/echo"), (":authority", self.authority)]
        if version is not None:
            fields.append(("sec-websocket-version", version))
        return fields + list(extra)

    def open_websocket(self, extra=(), wait=True):
        stream = self.request(self.connect_fields(extra=extra), websocket=True)
        if wait:
            self.answered(stream)
        return stream

    def answered(self, stream, what="the answer to an extended CONNECT"):
        self.pump(lambda: stream.status is not None or stream.finished(), what)

    def send(self, stream, payload):
        stream.outgoing += stream.frames.send_data(payload)
        self.flush()

    def messages(self, stream, count, what, timeout=WAIT):
        """Waits for stream to hold count messages; returns them."""
        self.pump(lambda: len(stream.messages) >= count or stream.finished(), what, timeout)
        return stream.messages

    def echo(self, stream, payload, timeout=WAIT):
        before = len(stream.messages)
        self.send(stream, payload)
        got = self.messages(stream, before + 1, f"the echo on stream {stream.id}", timeout)
        return got[before] if len(got) > before else None

    def ping(self):
        """An HTTP/2 PING (RFC 9113 6.7) and its acknowledgement: the
        connection as a whole still answers."""
        data = os.urandom(8)
        self.conn.ping(data)
        self.write()
        self.pump(lambda: data in self.ping_acks, "a PING acknowledgement")
        return True


def same_kind(a, b):
    return type(a) is type(b) or (isinstance(a, (bytes, bytearray)) and isinstance(b, (bytes, bytearray)))


def echoes(peer, stream, payload):
    got = peer.echo(stream, payload)
    return got == payload and same_kind(got, payload)


# ---------------------------------------------------------------- checks --

def settings_and_echo(port):
    peer = H2Peer(port)
    try:
        if TLS:
            check("TLS: ALPN h2 offered, h2 selected (RFC 9113 3.2)", peer.alpn == "h2", peer.alpn)
        announced = peer.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
        check("SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 announced (RFC 8441 3)", announced == 1,
              peer.remote_settings)
        stream = peer.open_websocket()
        check("extended CONNECT :protocol websocket answered :status 200 (RFC 8441 5)",
              stream.status == 200, (stream.status, stream.headers, stream.reset))
        check("no sec-websocket-accept in the 200 (RFC 8441 5: no key, no accept)",
              "sec-websocket-accept" not in stream.headers, stream.headers)
        text = "héllo wörld ✓ 𝄞 " * 100
        check("text message echoed intact, as text", echoes(peer, stream, text))
        binary = bytes(range(256)) * 64
        check("binary message echoed intact, as binary", echoes(peer, stream, binary))
        check("empty binary message echoed", echoes(peer, stream, b""))
        # RFC 6455 5.4: a message in fragments comes back as one message.
        stream.outgoing += stream.frames.send_data("frag", fin=False)
        stream.outgoing += stream.frames.send_data("men", fin=False)
        stream.outgoing += stream.frames.send_data("ted", fin=True)
        peer.flush()
        got = peer.messages(stream, 4, "the fragmented message's echo")
        check("fragmented text message echoed whole", got[3:4] == ["fragmented"], got[3:4])
        stream.outgoing += stream.frames.ping(b"inside h2")
        peer.flush()
        peer.pump(lambda: stream.pongs or stream.finished(), "a pong")
        check("WebSocket ping inside the stream answered with its pong (RFC 6455 5.5.3)",
              stream.pongs == [b"inside h2"], stream.pongs)
        check("no WebSocket parse error, stream still open",
              stream.error is None and not stream.finished(), (stream.error, stream.reset))
    finally:
        peer.close()


def many_streams(port):
    """50 WebSockets on one connection (RFC 8441 streams are independent):
    all CONNECTs sent before any answer, then 20 messages each, round-robin,
    every message distinct, text and binary alternating."""
    peer = H2Peer(port)
    try:
        streams = [peer.open_websocket(wait=False) for _ in range(50)]
        peer.pump(lambda: all(s.status is not None or s.finished() for s in streams),
                  "the answers to 50 extended CONNECTs")
        statuses = [s.status for s in streams]
        check("50 WebSockets on one connection: all answered 200", statuses == [200] * 50, statuses)
        expected = {s.id: [] for s in streams}
        for round_number in range(20):
            for index, stream in enumerate(streams):
                if round_number % 2:
                    payload = f"stream {index} message {round_number} ✓".encode() + os.urandom(32)
                else:
                    payload = f"stream {index} message {round_number} ✓ " + os.urandom(16).hex()
                expected[stream.id].append(payload)
                stream.outgoing += stream.frames.send_data(payload)
            peer.flush()
        peer.pump(lambda: all(len(s.messages) >= 20 or s.finished() for s in streams),
                  "1,000 echoes on 50 streams", 15)
        wrong = [s.id for s in streams
                 if s.messages != expected[s.id]
                 or not all(same_kind(a, b) for a, b in zip(s.messages, expected[s.id]))]
        check("50 WebSockets x 20 interleaved messages: each echo on its own stream, in order",
              not wrong, f"streams {wrong[:5]} differ")
        check("50 WebSockets: still open afterwards",
              not any(s.finished() for s in streams), [(s.id, s.reset) for s in streams if s.finished()])
    finally:
        peer.close()


def large_message(port):
    """4 MiB through a 256 KiB stream window one way and the client's
    65,535 the other: passes only if WINDOW_UPDATE frames flow both ways
    (RFC 9113 6.9)."""
    peer = H2Peer(port)
    try:
        window = peer.remote_settings.get(h2.settings.SettingCodes.INITIAL_WINDOW_SIZE)
        print(f"     the server's SETTINGS_INITIAL_WINDOW_SIZE: {window}", flush=True)
        stream = peer.open_websocket()
        payload = os.urandom(4 << 20)
        started = time.monotonic()
        got = peer.echo(stream, payload, timeout=30)
        took = time.monotonic() - started
        check(f"4 MiB binary message echoed byte-exact through flow control ({took:.2f} s)",
              got == payload and isinstance(got, (bytes, bytearray)),
              f"got {None if got is None else len(got)} bytes, reset={stream.reset}")
        check("the server reopened the stream's window (WINDOW_UPDATE frames on the stream)",
              stream.window_updates > 0, stream.window_updates)
    finally:
        peer.close()


def slow_reader(port):
    """Stream A's reader stops (the client leaves its DATA unacknowledged,
    so the server's send window on A closes) while the client keeps sending
    on A; B and C on the same connection must keep echoing promptly. Then A
    reads again and gets every echo."""
    peer = H2Peer(port)
    try:
        a, b, c = (peer.open_websocket() for _ in range(3))
        check("slow reader: three WebSockets open", [a.status, b.status, c.status] == [200] * 3,
              [a.status, b.status, c.status])
        a.paused = True
        chunk = 64 * 1024
        sent = []

        def backed_up():
            # The server stopped taking A's input: its window for A is
            # closed and the client has bytes it cannot send.
            return bool(a.outgoing) and peer.conn.local_flow_control_window(a.id) == 0

        # Keep A fed (up to 32 MiB) until its window stays closed for half a
        # second: the server no longer takes A's input. ws-echo lets a
        # WebSocket's unsent output grow to halfway to its high-water mark
        # (2 x --max-message + 1 MiB) before it stops reading it, so about
        # 17 MiB at the defaults; then the 256 KiB stream window fills.
        stuck = False
        deadline = time.monotonic() + 15
        while not stuck and len(sent) < 512 and time.monotonic() < deadline and not a.finished():
            if len(a.outgoing) < chunk:
                payload = len(sent).to_bytes(4, "big") * (chunk // 4)
                sent.append(payload)
                peer.send(a, payload)
            try:
                peer.pump(lambda: len(a.outgoing) < chunk, "room on stream A", 0.5)
            except Failure:
                stuck = backed_up()
        held_mib = len(sent) * chunk / (1 << 20)
        print(f"     stream A: {len(sent)} messages of 64 KiB queued ({held_mib:.1f} MiB), "
              f"{len(a.messages)} echoes read, {a.held} bytes left unacknowledged", flush=True)
        check("slow reader: the server stops taking A's input once A's echoes back up "
              "(A's window stays closed)", stuck and a.held > 0,
              f"after {held_mib:.1f} MiB the window on A is "
              f"{peer.conn.local_flow_control_window(a.id)}")
        started = time.monotonic()
        good = 0
        try:
            for number in range(100):
                stream = (b, c)[number % 2]
                payload = f"prompt {number} on stream {stream.id}"
                if echoes(peer, stream, payload):
                    good += 1
        except Failure as failure:
            print(f"     {failure}", flush=True)
        took = time.monotonic() - started
        check(f"slow reader: B and C echo 100 messages meanwhile in {took:.2f} s (< 5 s)",
              good == 100 and took < 5, f"{good} echoed in {took:.2f} s")
        a.paused = False
        if a.held:
            peer.conn.acknowledge_received_data(a.held, a.id)
            a.held = 0
        peer.flush()
        peer.messages(a, len(sent), f"{len(sent)} echoes on stream A once it reads", 30)
        check(f"slow reader: A reads again and gets all {len(sent)} echoes, in order, intact",
              a.messages == sent, f"{len(a.messages)} of {len(sent)}, reset={a.reset}")
        check("slow reader: B and C still echo", echoes(peer, b, "after") and echoes(peer, c, b"after"))
    finally:
        peer.close()


def close_handshake(port):
    """RFC 8441 5 keeps RFC 6455's close handshake inside the stream; the
    server then ends the stream (END_STREAM; a following RST_STREAM
    NO_ERROR is allowed by RFC 9113 8.1)."""
    peer = H2Peer(port)
    try:
        x, y, z = (peer.open_websocket() for _ in range(3))
        check("close: three WebSockets open", [x.status, y.status, z.status] == [200] * 3)
        x.outgoing += x.frames.close(1000, "done here")
        peer.flush()
        peer.pump(lambda: (x.close is not None and x.ended) or x.reset is not None or x.error,
                  "the close reply and END_STREAM")
        check("close: the server answers close 1000", x.close is not None and x.close[0] == 1000,
              x.close)
        check("close: the server ends the stream with END_STREAM (no error reset)",
              x.ended and x.reset in (None, h2.errors.ErrorCodes.NO_ERROR), (x.ended, x.reset))
        try:
            peer.conn.end_stream(x.id)  # the client's half, if the stream is still open
            peer.write()
        except h2.exceptions.StreamClosedError:
            pass
        # A close frame and END_STREAM in one DATA frame: the client is done
        # sending, the server still owes its close reply (RFC 6455 5.5.1).
        y.outgoing += y.frames.close(1000, "and goodbye")
        y.end_after_outgoing = True
        peer.flush()
        peer.pump(lambda: (y.close is not None and y.ended) or y.reset is not None or y.error,
                  "the close reply to a close sent with END_STREAM")
        check("close sent with END_STREAM: answered close 1000 and END_STREAM",
              y.close is not None and y.close[0] == 1000 and y.ended
              and y.reset in (None, h2.errors.ErrorCodes.NO_ERROR), (y.close, y.ended, y.reset))
        check("close: the other WebSocket on the connection still echoes", echoes(peer, z, "still here"))
        check("close: no GOAWAY", peer.goaway is None, peer.goaway)
    finally:
        peer.close()


def subprotocols(port):
    peer = H2Peer(port)
    try:
        chosen = peer.open_websocket(extra=[("sec-websocket-protocol", "other, chat")])
        check("subprotocol: offered 'other, chat', 200 with sec-websocket-protocol: chat",
              chosen.status == 200 and chosen.headers.get("sec-websocket-protocol") == "chat",
              (chosen.status, chosen.headers))
        none = peer.open_websocket(extra=[("sec-websocket-protocol", "other")])
        check("subprotocol: offered only 'other', 200 without sec-websocket-protocol",
              none.status == 200 and "sec-websocket-protocol" not in none.headers,
              (none.status, none.headers))
        check("subprotocol: both WebSockets echo",
              echoes(peer, chosen, "chat?") and echoes(peer, none, b"none"))
    finally:
        peer.close()


def refusals(port):
    """Requests that are not a WebSocket we serve get an HTTP answer on
    their own stream; the connection and its open WebSocket go on."""
    peer = H2Peer(port, strict=False)
    try:
        ws = peer.open_websocket()
        check("refusals: the WebSocket beside them is open", ws.status == 200, ws.status)
        cases = [
            # RFC 9113 8.5: a plain CONNECT has only :method and :authority.
            ("plain CONNECT", "plain CONNECT (no :protocol) is refused with 4xx/5xx",
             [(":method", "CONNECT"), (":authority", peer.authority)],
             lambda s: s.status is not None and 400 <= s.status <= 599),
            (":protocol foo", ":protocol foo is refused with 4xx",
             peer.connect_fields(protocol="foo"),
             lambda s: s.status is not None and 400 <= s.status <= 499),
            # RFC 8441 5 keeps RFC 6455 4.2.2's version check: 426 names 13.
            ("no version", "no sec-websocket-version: 426 with sec-websocket-version: 13",
             peer.connect_fields(version=None),
             lambda s: s.status == 426 and s.headers.get("sec-websocket-version") == "13"),
            ("version 8", "sec-websocket-version 8: 426 with sec-websocket-version: 13",
             peer.connect_fields(version="8"),
             lambda s: s.status == 426 and s.headers.get("sec-websocket-version") == "13"),
        ]
        for label, name, fields, good in cases:
            stream = peer.request(fields)
            try:
                peer.pump(lambda: stream.status is not None and stream.ended or stream.reset is not None,
                          "an answer to the refused request")
            except Failure as failure:
                check(f"refusals: {name}", False, failure)
                continue
            print(f"     {label}: {stream.status} {bytes(stream.body)[:60]!r}", flush=True)
            check(f"refusals: {name}", good(stream) and stream.ended,
                  (stream.status, stream.headers, bytes(stream.body), stream.reset))
            check(f"refusals: after the {label} refusal, the WebSocket still echoes",
                  echoes(peer, ws, f"after {name}"))
        check("refusals: the connection survives (PING answered, no GOAWAY)",
              peer.ping() and peer.goaway is None, peer.goaway)
    finally:
        peer.close()


def stream_reset(port):
    """RST_STREAM(CANCEL) on one WebSocket (RFC 9113 6.4) ends that
    WebSocket only."""
    peer = H2Peer(port)
    try:
        doomed, kept = peer.open_websocket(), peer.open_websocket()
        check("reset: two WebSockets open and echoing",
              echoes(peer, doomed, "before") and echoes(peer, kept, "before"))
        peer.send(doomed, b"in flight when reset" * 100)
        peer.conn.reset_stream(doomed.id, h2.errors.ErrorCodes.CANCEL)
        peer.write()
        check("reset: the other WebSocket still echoes", echoes(peer, kept, "after the reset"))
        fresh = peer.open_websocket()
        check("reset: a new WebSocket on the same connection echoes",
              fresh.status == 200 and echoes(peer, fresh, b"fresh"))
        check("reset: connection alive (PING answered, no GOAWAY)", peer.ping() and peer.goaway is None,
              peer.goaway)
    finally:
        peer.close()


def plain_get(port):
    """A GET on the HTTP/2 connection is an HTTP request like any other
    (RFC 9113 8.1): a complete response, and the WebSocket beside it goes
    on."""
    peer = H2Peer(port)
    try:
        ws = peer.open_websocket()
        get = peer.request([(":method", "GET"), (":scheme", SCHEME), (":path", "/"),
                            (":authority", peer.authority)], end_stream=True)
        peer.pump(lambda: get.ended or get.reset is not None, "the answer to GET /")
        check("GET / on the h2 connection: an HTTP/2 response ended with END_STREAM",
              get.status is not None and 200 <= get.status <= 599 and get.ended and get.reset is None,
              (get.status, get.ended, get.reset))
        print(f"     GET / answered {get.status}: {bytes(get.body)[:60]!r}", flush=True)
        head = peer.request([(":method", "HEAD"), (":scheme", SCHEME), (":path", "/nothing"),
                             (":authority", peer.authority)], end_stream=True)
        peer.pump(lambda: head.ended or head.reset is not None, "the answer to HEAD")
        check("HEAD on the h2 connection: a response without a body",
              head.status is not None and head.ended and not head.body, (head.status, bytes(head.body)))
        check("GET: the WebSocket beside it still echoes", echoes(peer, ws, "after the GET"))
    finally:
        peer.close()


def http1_upgrade(port, alpn, label):
    """HTTP/1.1 on the same port: RFC 6455's Upgrade handshake through
    wsproto's own client."""
    sock = connect_tcp(port)
    try:
        if TLS:
            sock = client_context(alpn).wrap_socket(sock, server_hostname="127.0.0.1")
            chosen = sock.selected_alpn_protocol()
            expect = "http/1.1" if alpn else None
            check(f"{label}: ALPN {chosen!r} chosen", chosen == expect, chosen)
        sock.settimeout(WAIT)
        conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        events = []

        def until(predicate):
            while True:
                events.extend(conn.events())
                if predicate():
                    return
                data = sock.recv(65536)
                if not data:
                    raise Failure("the server closed the HTTP/1.1 connection")
                conn.receive_data(data)

        sock.sendall(conn.send(wse.Request(host=f"127.0.0.1:{port}", target="/echo",
                                           subprotocols=["chat"])))
        until(lambda: any(isinstance(e, (wse.AcceptConnection, wse.RejectConnection)) for e in events))
        accept = [e for e in events if isinstance(e, wse.AcceptConnection)]
        check(f"{label}: Upgrade accepted with subprotocol chat",
              accept and accept[0].subprotocol == "chat", events)
        events.clear()
        sock.sendall(conn.send(wse.TextMessage(data="over HTTP/1.1 ✓")))
        until(lambda: any(isinstance(e, wse.TextMessage) and e.message_finished for e in events))
        text = "".join(e.data for e in events if isinstance(e, wse.TextMessage))
        check(f"{label}: text echoed", text == "over HTTP/1.1 ✓", text)
        events.clear()
        sock.sendall(conn.send(wse.CloseConnection(code=1000, reason="bye")))
        until(lambda: any(isinstance(e, wse.CloseConnection) for e in events))
        close = [e for e in events if isinstance(e, wse.CloseConnection)]
        check(f"{label}: close answered with 1000", close and close[0].code == 1000, close)
    finally:
        sock.close()


def stalled_preface(port):
    """A client that stops halfway through the connection preface (RFC
    9113 3.4), and one that sends nothing, hold only their own sockets."""
    stalled = connect_tcp(port)
    silent = connect_tcp(port)
    try:
        if TLS:
            stalled = client_context(("h2",)).wrap_socket(stalled, server_hostname="127.0.0.1")
        stalled.sendall(PREFACE[:len(PREFACE) // 2])
        time.sleep(0.2)  # the server has read the half preface by now
        started = time.monotonic()
        peer = H2Peer(port)
        try:
            ws = peer.open_websocket()
            ok = ws.status == 200 and echoes(peer, ws, "not blocked")
        finally:
            peer.close()
        took = time.monotonic() - started
        check(f"half a preface and a silent socket pending: a new h2 WebSocket echoes ({took:.2f} s)",
              ok and took < 2, took)
        stalled.settimeout(0.1)
        try:
            answer = stalled.recv(4096)
            still = "open" if answer else "closed"
        except (socket.timeout, TimeoutError):
            still = "open, silent"
        except (OSError, ssl.SSLError) as error:
            still = repr(error)
        print(f"     the stalled connection: {still}", flush=True)
    finally:
        stalled.close()
        silent.close()


def limits_and_disconnects(port):
    """A message past --max-message ends only its own WebSocket (RFC 6455
    7.4.1: 1009); a client that vanishes with busy WebSockets (TCP closed,
    no GOAWAY) costs the server nothing that others notice."""
    peer = H2Peer(port)
    try:
        big, kept = peer.open_websocket(), peer.open_websocket()
        peer.send(big, b"x" * ((16 << 20) + 1))  # ws-echo's default limit is 16 MiB
        peer.pump(lambda: big.close is not None or big.finished(), "close 1009", 20)
        peer.pump(lambda: big.finished(), "the end of the stream after close 1009")
        check("a message over --max-message: close 1009, then the stream ends",
              big.close is not None and big.close[0] == 1009 and big.ended
              and big.reset in (None, h2.errors.ErrorCodes.NO_ERROR), (big.close, big.ended, big.reset))
        check("after the 1009: the other WebSocket still echoes", echoes(peer, kept, "next door"))
    finally:
        peer.close()
    gone = H2Peer(port)
    busy = [gone.open_websocket() for _ in range(10)]
    for stream in busy:
        stream.paused = True  # the echoes back up in the server
        gone.send(stream, os.urandom(200 * 1024))
    gone.close()
    peer = H2Peer(port)
    try:
        ws = peer.open_websocket()
        check("a client gone with 10 busy WebSockets: a new connection echoes",
              ws.status == 200 and echoes(peer, ws, "still serving"))
    finally:
        peer.close()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # utime and stime, fields 14 and 15 of proc(5), counted from the state (3rd).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rapid_reset(port, pid):
    """CVE-2023-44487: 2,000 streams opened (extended CONNECT) and reset
    (RST_STREAM CANCEL) at once, written in a few large writes. Ending the
    connection is the intended defence (nghttp2's reset rate limit, burst
    1000 then 33/s, sends GOAWAY; nghttp2 names it INTERNAL_ERROR), so the
    GOAWAY is reported, not required; what is required is that the server
    spends little CPU and memory on it and stays available to others."""
    peer = H2Peer(port)
    count = 2000
    batches = []
    for first in range(0, count, 500):
        for _ in range(first, min(first + 500, count)):
            stream_id = peer.conn.get_next_available_stream_id()
            peer.conn.send_headers(stream_id, peer.connect_fields())
            peer.conn.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        batches.append(peer.conn.data_to_send())
    ping = b"rapid!!!"
    peer.conn.ping(ping)
    batches.append(peer.conn.data_to_send())
    cpu_before, rss_before = cpu_seconds(pid), rss_kib(pid)
    started = time.monotonic()
    written = 0
    write_error = None
    for batch in batches:
        try:
            peer.sock.sendall(batch)
            written += len(batch)
        except (OSError, ssl.SSLError) as error:
            write_error = repr(error)  # the server may have ended the connection
            break
    # Until the server answered the PING behind the resets, or ended the
    # connection.
    deadline = time.monotonic() + 10
    ended = None
    while ended is None:
        if ping in peer.ping_acks:
            ended = "PING acknowledged"
            break
        if peer.eof:
            ended = "connection closed"
            break
        left = deadline - time.monotonic()
        if left <= 0:
            ended = "timeout"
            break
        peer.sock.settimeout(left)
        try:
            data = peer.sock.recv(1 << 20)
        except (socket.timeout, TimeoutError):
            continue
        except (OSError, ssl.SSLError) as error:
            ended = f"read error {error!r}"
            break
        if not data:
            peer.eof = True
            continue
        try:
            for event in peer.conn.receive_data(data):
                peer.handle(event)
        except h2.exceptions.ProtocolError:
            pass  # answers to streams the client already reset
    took = time.monotonic() - started
    cpu_used = cpu_seconds(pid) - cpu_before
    rss_after = rss_kib(pid)
    peer.close()
    goaway = "none" if peer.goaway is None else getattr(peer.goaway, "name", peer.goaway)
    print(f"     rapid reset: {count} streams, {written} bytes in {len(batches)} writes"
          f"{'' if write_error is None else ' (write stopped: ' + write_error + ')'}; "
          f"GOAWAY {goaway} (last stream {peer.goaway_last_stream}); "
          f"ended by: {ended} after {took:.2f} s", flush=True)
    print(f"     rapid reset: server CPU {cpu_used:.3f} s, VmRSS {rss_before} -> {rss_after} KiB "
          f"({rss_after - rss_before:+d} KiB)", flush=True)
    check("rapid reset: the server answered or ended the connection (no hang)",
          ended != "timeout", ended)
    check(f"rapid reset: server CPU {cpu_used:.3f} s (< 3 s)", cpu_used < 3, cpu_used)
    growth = (rss_after - rss_before) / 1024
    check(f"rapid reset: server RSS growth {growth:.1f} MiB (< 64 MiB)", growth < 64, growth)
    started = time.monotonic()
    fresh = H2Peer(port)
    try:
        ws = fresh.open_websocket()
        ok = ws.status == 200 and echoes(fresh, ws, "after the storm")
    finally:
        fresh.close()
    took = time.monotonic() - started
    check(f"rapid reset: a new connection's WebSocket echoes in {took:.2f} s (< 2 s)",
          ok and took < 2, took)


# ---------------------------------------------------- hostile peers --
# Each flood below is written by hand (hyperframe frames, hpack blocks):
# h2 would refuse to send most of it. Each ends with the server's CPU time
# and RSS growth printed and bounded, and a new connection's WebSocket
# echoing promptly: the flood cost its sender, not the other clients.

def usage(pid):
    return cpu_seconds(pid), rss_kib(pid)


def fresh_echo(label, port, limit=2.0):
    """A new HTTP/2 connection's WebSocket echoes within `limit` seconds."""
    started = time.monotonic()
    ok, detail = False, ""
    try:
        fresh = H2Peer(port)
        try:
            ws = fresh.open_websocket()
            ok = ws.status == 200 and echoes(fresh, ws, f"after the {label}")
        finally:
            fresh.close()
    except Failure as failure:
        detail = str(failure)
    took = time.monotonic() - started
    check(f"{label}: a new connection's WebSocket echoes in {took:.2f} s (< {limit:g} s)",
          ok and took < limit, detail or took)


def aftermath(label, port, pid, before, cpu_limit=3.0, rss_limit_mib=16):
    cpu_used = cpu_seconds(pid) - before[0]
    rss_after = rss_kib(pid)
    growth = (rss_after - before[1]) / 1024
    print(f"     {label}: server CPU {cpu_used:.3f} s, VmRSS {before[1]} -> {rss_after} KiB "
          f"({rss_after - before[1]:+d} KiB)", flush=True)
    check(f"{label}: server CPU {cpu_used:.3f} s (< {cpu_limit:g} s)", cpu_used < cpu_limit,
          cpu_used)
    check(f"{label}: server RSS growth {growth:.1f} MiB (< {rss_limit_mib:g} MiB)",
          growth < rss_limit_mib, growth)
    fresh_echo(label, port)


def raw_h2(port, small_receive_buffer=False):
    """A client socket that has sent the connection preface and an empty
    SETTINGS (RFC 9113 3.4) and nothing else. `small_receive_buffer`: a
    flooder's, so that what the server writes back stays in the server
    (loopback buffers otherwise absorb megabytes of acknowledgements, and
    the server would never owe more than it can write)."""
    if small_receive_buffer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window
        sock.settimeout(WAIT)
        sock.connect(("127.0.0.1", port))
    else:
        sock = connect_tcp(port)
    if TLS:
        sock = client_context(("h2",)).wrap_socket(sock, server_hostname="127.0.0.1")
    sock.sendall(PREFACE + SettingsFrame(0).serialize())
    return sock


def write_flood(sock, batch, per_batch, total, timeout=5.0):
    """Writes `batch` (per_batch frames) until `total` frames are out, the
    server ends the connection, or its reading stops for `timeout`. Never
    reads. Returns (frames written, how the writing stopped)."""
    written = 0
    sock.settimeout(timeout)
    while written < total:
        try:
            sock.sendall(batch)
        except (socket.timeout, TimeoutError):
            return written, f"writes blocked for {timeout:g} s"
        except (OSError, ssl.SSLError) as error:
            return written, f"write failed: {type(error).__name__}"
        written += per_batch
    return written, "all written"


def parse_frames(data):
    frames = []
    offset = 0
    view = memoryview(bytes(data))
    while len(view) - offset >= 9:
        try:
            frame, length = Frame.parse_frame_header(view[offset:offset + 9])
        except hyperframe.exceptions.UnknownFrameError as unknown:
            offset += 9 + unknown.length
            continue
        if len(view) - offset - 9 < length:
            break
        frame.parse_body(view[offset + 9:offset + 9 + length])
        frames.append(frame)
        offset += 9 + length
    return frames


def read_frames(sock, timeout, until=lambda frames: False):
    """Reads until until(frames) holds, the server ends the connection or
    `timeout` passes. Returns (frames, 'stopped' | 'closed' | 'reset' |
    'still open')."""
    data = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        frames = parse_frames(data)
        if until(frames):
            return frames, "stopped"
        left = deadline - time.monotonic()
        if left <= 0:
            return frames, "still open"
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 20)
        except (socket.timeout, TimeoutError):
            return parse_frames(data), "still open"
        except (OSError, ssl.SSLError):
            return parse_frames(data), "reset"
        if not chunk:
            return parse_frames(data), "closed"
        data += chunk


def goaway_text(frames):
    for frame in frames:
        if isinstance(frame, GoAwayFrame):
            try:
                name = h2.errors.ErrorCodes(frame.error_code).name
            except ValueError:
                name = str(frame.error_code)
            return f"GOAWAY {name} (last stream {frame.last_stream_id}) {bytes(frame.additional_data)!r}"
    return "no GOAWAY"


def flood_ended(sock, label, frame_name, batch, per_batch, total):
    """Writes the flood without reading, then reads what the server said
    before it ended the connection. Returns (ended, seconds, frames)."""
    started = time.monotonic()
    written, how = write_flood(sock, batch, per_batch, total)
    frames, end = read_frames(sock, 5)
    took = time.monotonic() - started
    acks = sum(1 for f in frames if "ACK" in f.flags and isinstance(f, (PingFrame, SettingsFrame)))
    print(f"     {label}: {written:,} {frame_name} written ({how}), then the connection was "
          f"{end} after {took:.2f} s; {acks} ACKs and {goaway_text(frames)} read back",
          flush=True)
    return end in ("closed", "reset"), took, frames


def ping_flood(port, pid):
    """RFC 9113 6.7: every PING owes an ACK. A client that writes PINGs and
    never reads makes the server queue ACKs; nghttp2 queues at most
    max_outbound_ack (1000 in ws::http2) and then ends the connection
    (NGHTTP2_ERR_FLOODED) instead of holding ACKs for a peer that does not
    read. A burst from a client that reads is not a flood."""
    before = usage(pid)
    sock = raw_h2(port, small_receive_buffer=True)
    try:
        per_batch = 10000
        batch = b"".join(PingFrame(0, opaque_data=i.to_bytes(8, "big")).serialize()
                         for i in range(per_batch))
        # A million, so that the ACKs outgrow the server's socket buffer.
        ended, took, _ = flood_ended(sock, "PING flood", "PINGs", batch, per_batch, 1000000)
    finally:
        sock.close()
    check(f"PING flood: 1,000,000 PINGs never read: the server ends the connection "
          f"({took:.2f} s, < 5 s)", ended and took < 5, took)
    aftermath("PING flood", port, pid, before)

    # A client that reads may send a burst larger than that limit in one
    # write: the server moves the ACKs to its output as it reads the burst
    # (in slices), so nghttp2's queue never reaches the limit.
    sock = raw_h2(port)
    try:
        burst = 1100
        sock.sendall(b"".join(PingFrame(0, opaque_data=i.to_bytes(8, "big")).serialize()
                              for i in range(burst)))
        frames, end = read_frames(
            sock, 5, until=lambda got: sum(1 for f in got if isinstance(f, PingFrame)
                                           and "ACK" in f.flags) >= burst)
        acks = [f for f in frames if isinstance(f, PingFrame) and "ACK" in f.flags]
    finally:
        sock.close()
    check(f"PING burst: {burst} PINGs in one write from a client that reads: every ACK, in "
          f"order, and the connection kept ({len(acks)} ACKs, {goaway_text(frames)})",
          [int.from_bytes(f.opaque_data, "big") for f in acks] == list(range(burst))
          and end not in ("closed", "reset") and not any(isinstance(f, GoAwayFrame) for f in frames),
          (len(acks), end))


def settings_frame(entries):
    """A SETTINGS frame (RFC 9113 6.5) with `entries` entries, built by
    hand: h2's SettingsFrame keeps one value per identifier."""
    body = b"".join(struct.pack("!HI", h2.settings.SettingCodes.INITIAL_WINDOW_SIZE, 65535)
                    for _ in range(entries))
    return struct.pack("!I", len(body))[1:] + b"\x04\x00\x00\x00\x00\x00" + body


def settings_flood(port, pid):
    """SETTINGS frames owe ACKs as PINGs do (RFC 9113 6.5.3): a million of
    them never read end the connection (max_outbound_ack). One SETTINGS
    frame with more entries than max_settings_entries (32) is refused
    outright (nghttp2: GOAWAY ENHANCE_YOUR_CALM), while 32 entries are
    taken and acknowledged."""
    before = usage(pid)
    sock = raw_h2(port, small_receive_buffer=True)
    try:
        # A million: their 9-byte ACKs must outgrow the server's socket
        # buffer (several MiB on loopback) before it owes more than it
        # can write.
        per_batch = 50000
        ended, took, _ = flood_ended(sock, "SETTINGS flood", "SETTINGS frames",
                                     settings_frame(1) * per_batch, per_batch, 1000000)
    finally:
        sock.close()
    check(f"SETTINGS flood: 1,000,000 SETTINGS frames never read: the server ends the connection "
          f"({took:.2f} s, < 5 s)", ended and took < 5, took)
    for entries in (33, 2000):
        sock = raw_h2(port)
        try:
            started = time.monotonic()
            sock.sendall(settings_frame(entries))
            frames, end = read_frames(sock, 5)
            took = time.monotonic() - started
        finally:
            sock.close()
        print(f"     SETTINGS with {entries} entries: {goaway_text(frames)}, connection {end} "
              f"after {took:.2f} s", flush=True)
        check(f"SETTINGS with {entries} entries (> 32): connection ended ({took:.2f} s, < 2 s)",
              end in ("closed", "reset") and took < 2, (end, goaway_text(frames)))
    sock = raw_h2(port)
    try:
        # Our empty SETTINGS and the 32-entry one are both acknowledged, and
        # the PING behind them answered: the connection goes on.
        sock.sendall(settings_frame(32) + PingFrame(0, opaque_data=b"32 ok!!!").serialize())
        frames, end = read_frames(sock, 5, lambda frames: any(
            isinstance(f, PingFrame) and "ACK" in f.flags for f in frames))
    finally:
        sock.close()
    acks = sum(1 for f in frames if isinstance(f, SettingsFrame) and "ACK" in f.flags)
    check("SETTINGS with 32 entries: acknowledged, and a PING behind it answered",
          end == "stopped" and acks == 2 and goaway_text(frames) == "no GOAWAY",
          (end, acks, goaway_text(frames)))
    aftermath("SETTINGS flood", port, pid, before)


def connect_block(authority):
    """An extended CONNECT's header block from a fresh HPACK encoder: the
    raw-frame connections below use no other, so the server's decoder and
    this encoder agree."""
    encoder = hpack.Encoder()
    scheme = "https" if TLS else "http"
    block = encoder.encode([(":method", "CONNECT"), (":protocol", "websocket"),
                            (":scheme", scheme), (":path", "/echo"), (":authority", authority),
                            ("sec-websocket-version", "13")])
    return encoder, block


def continuation_flood(port, pid):
    """CONTINUATION flood (the 2024 "CONTINUATION flood" class): HEADERS
    without END_HEADERS and then CONTINUATION frames that never end the
    block (RFC 9113 6.10). nghttp2 allows max_continuations (8 in ws::http2)
    per block and ends the connection past it; 8 are still a request."""
    before = usage(pid)
    authority = f"127.0.0.1:{port}"
    sock = raw_h2(port)
    try:
        encoder, block = connect_block(authority)
        flood = bytearray(HeadersFrame(1, data=block).serialize())
        per_batch = 10000
        for i in range(per_batch):
            flood += ContinuationFrame(1, data=encoder.encode([(f"x-filler-{i}", "v")])).serialize()
        ended, took, _ = flood_ended(sock, "CONTINUATION flood", "CONTINUATION frames",
                                     bytes(flood), per_batch, per_batch)
    finally:
        sock.close()
    check(f"CONTINUATION flood: HEADERS + 10,000 CONTINUATION without END_HEADERS: the server "
          f"ends the connection ({took:.2f} s, < 2 s)", ended and took < 2, took)

    def block_in(continuations):
        encoder, block = connect_block(authority)
        frames = HeadersFrame(1, data=block).serialize()
        for i in range(continuations):
            last = i == continuations - 1
            frames += ContinuationFrame(1, data=encoder.encode([(f"x-part-{i}", "v")]),
                                        flags=["END_HEADERS"] if last else []).serialize()
        return frames

    # The boundary: 8 CONTINUATION frames (the last with END_HEADERS) are a
    # request like any other; 9 are one too many.
    sock = raw_h2(port)
    try:
        sock.sendall(block_in(8))
        frames, end = read_frames(sock, 5, lambda frames: any(
            isinstance(f, (HeadersFrame, RstStreamFrame, GoAwayFrame)) for f in frames))
    finally:
        sock.close()
    status = None
    for frame in frames:
        if isinstance(frame, HeadersFrame) and frame.stream_id == 1:
            status = dict(hpack.Decoder().decode(bytes(frame.data))).get(":status")
    check("CONTINUATION: a header block in HEADERS + 8 CONTINUATION is served (:status 200)",
          status == "200", (status, end, goaway_text(frames)))
    sock = raw_h2(port)
    try:
        sock.sendall(block_in(9))
        frames, end = read_frames(sock, 5)
    finally:
        sock.close()
    print(f"     HEADERS + 9 CONTINUATION: {goaway_text(frames)}, connection {end}", flush=True)
    check("CONTINUATION: HEADERS + 9 CONTINUATION (> 8): the connection is ended",
          end in ("closed", "reset") and not any(isinstance(f, HeadersFrame) for f in frames),
          (end, goaway_text(frames)))
    aftermath("CONTINUATION flood", port, pid, before)


def too_many_streams(port, pid):
    """SETTINGS_MAX_CONCURRENT_STREAMS is 100 (RFC 9113 5.1.2). It counts
    open streams: with 100 WebSockets open, closing 5 makes room for 5.
    A client that opens more than the 100 it acknowledged gets none of the
    extra streams served, and loses its connection (nghttp2's choice, kept:
    RFC 9113 5.4 lets a stream error become a connection error; the offender
    harms only itself)."""
    before = usage(pid)
    peer = H2Peer(port)
    try:
        limit = peer.remote_settings.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS)
        check("streams: SETTINGS_MAX_CONCURRENT_STREAMS = 100 announced", limit == 100, limit)
        first = [peer.open_websocket(wait=False) for _ in range(100)]
        peer.pump(lambda: all(s.status is not None or s.finished() for s in first),
                  "the answers to 100 extended CONNECTs")
        check("streams: 100 WebSockets open (200 each)", [s.status for s in first] == [200] * 100,
              [s.status for s in first if s.status != 200][:5])
        for stream in first[:5]:
            stream.outgoing += stream.frames.close(1000, "making room")
        peer.flush()
        peer.pump(lambda: all(s.finished() for s in first[:5]), "5 closes")
        later = [peer.open_websocket() for _ in range(5)]
        check("streams: after 5 of the 100 closed, 5 new WebSockets open and echo",
              all(s.status == 200 and echoes(peer, s, "room again") for s in later),
              [(s.status, s.reset) for s in later])
        open_now = first[5:] + later
        # h2 keeps to the server's limit itself; this client believes it
        # may open 1000, as a hostile one would.
        peer.conn.remote_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = 1000
        peer.conn.remote_settings.acknowledge()
        extra = []
        try:
            # All ten in one write, so that the server's answer is read
            # whole even if it ends the connection at the first.
            for _ in range(10):
                stream = Stream(peer.conn.get_next_available_stream_id(), True)
                peer.streams[stream.id] = stream
                peer.conn.send_headers(stream.id, peer.connect_fields())
                extra.append(stream)
            peer.write()
            peer.pump(lambda: all(s.status is not None or s.finished() for s in extra)
                      or peer.goaway is not None, "the server's answer to 10 streams past its limit")
        except Failure as failure:
            print(f"     {failure}", flush=True)
        codes = sorted({h2.errors.ErrorCodes(s.reset).name if s.reset is not None
                        else f"status {s.status}" for s in extra})
        goaway = None if peer.goaway is None else getattr(peer.goaway, "name", peer.goaway)
        print(f"     streams past the limit: {len(extra)} sent, answers {codes}; GOAWAY {goaway} "
              f"(last stream {peer.goaway_last_stream})", flush=True)
        check("streams: none of the streams past the limit is served (no 200)",
              not any(s.status == 200 for s in extra), codes)
        # The policy (docs/http2.md): a client that opens streams past a
        # limit it has acknowledged breaks the protocol on purpose or by a
        # bug; nghttp2 ends that client's connection (GOAWAY PROTOCOL_ERROR
        # naming the last stream it served), which RFC 9113 5.4 allows for
        # any stream error. Only the offender's own WebSockets are lost;
        # other connections go on (aftermath below checks a new one).
        last_served = max(s.id for s in open_now)
        check("streams: past the acknowledged limit the offender's connection ends with "
              "GOAWAY PROTOCOL_ERROR naming the last stream served",
              goaway == "PROTOCOL_ERROR" and peer.goaway_last_stream is not None
              and last_served <= peer.goaway_last_stream < min(s.id for s in extra),
              (goaway, peer.goaway_last_stream, last_served))
    finally:
        peer.close()
    aftermath("too many streams", port, pid, before)


def large_header_list(port, pid):
    """An extended CONNECT whose header list is past SETTINGS_MAX_HEADER_
    LIST_SIZE (64 KiB; RFC 9113 6.5.2, 10.5.1), as 96 fields of 1 KiB
    and as one field of 70 KiB. The server answers 431 (or resets the
    stream); the WebSocket beside it and the connection go on, HPACK still
    in step (RFC 7541 4: the whole block is decoded even when refused)."""
    before = usage(pid)
    peer = H2Peer(port)
    try:
        limit = peer.remote_settings.get(h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE)
        check("header list: SETTINGS_MAX_HEADER_LIST_SIZE = 65536 announced", limit == 65536,
              limit)
        ws = peer.open_websocket()
        forms = [("96 fields of 1 KiB", [(f"x-padding-{i}", os.urandom(512).hex())
                                          for i in range(96)]),
                 ("one field of 70 KiB", [("x-padding", os.urandom(35 * 1024).hex())])]
        for name, padding in forms:
            big = peer.request(peer.connect_fields(extra=padding), websocket=True)
            peer.pump(lambda: big.status is not None or big.finished(),
                      f"the answer to a CONNECT with {name}")
            size = sum(len(n) + len(v) + 32 for n, v in padding) // 1024
            print(f"     header list of {name} (about {size} KiB): status {big.status}, "
                  f"reset {big.reset}", flush=True)
            check(f"header list past 64 KiB ({name}): 431, or the stream reset, and no WebSocket",
                  big.status == 431 or (big.status is None and big.reset is not None),
                  (big.status, big.reset))
            check(f"header list ({name}): the WebSocket beside it still echoes",
                  echoes(peer, ws, f"next to {name}"))
        fresh = peer.open_websocket()
        check("header list: a new WebSocket on the same connection echoes (HPACK in step)",
              fresh.status == 200 and echoes(peer, fresh, b"hpack ok"), fresh.status)
        check("header list: connection alive (PING answered, no GOAWAY)",
              peer.ping() and peer.goaway is None, peer.goaway)
    finally:
        peer.close()
    aftermath("large header list", port, pid, before)


def data_with_connect(port):
    """WebSocket bytes in the same write as the extended CONNECT, before
    the 200 (the HTTP/2 form of frames sent with the opening handshake):
    the server keeps them for the WebSocket (server_connection.cpp feeds
    them in after the answer) and the echo should come as promptly as any
    other."""
    peer = H2Peer(port)
    try:
        stream = peer.request(peer.connect_fields(), websocket=True)
        stream.outgoing += stream.frames.send_data("sent with the CONNECT")
        started = time.monotonic()
        peer.flush()
        got = peer.messages(stream, 1, "the echo of DATA sent with the CONNECT")
        took = time.monotonic() - started
        # Fed to the WebSocket right after the answer, in the same turn
        # (server_connection.cpp steps the Driver again): not at the next
        # wake-up, which came about 1 s later before that.
        check(f"DATA in the same write as the extended CONNECT: echoed in {took:.2f} s (< 0.5 s)",
              stream.status == 200 and got == ["sent with the CONNECT"] and took < 0.5,
              (stream.status, got, took))
    finally:
        peer.close()


def memory_report(proc):
    """ws-echo --memory-report: SIGUSR2 prints 'memory: heap_in_use=B
    mmapped=B rss_kib=K' (mallinfo2 and VmRSS). Returns (bytes malloc holds
    for the program, RSS KiB)."""
    proc.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = proc.stdout.readline()
        if line.startswith("memory:"):
            fields = dict(item.split("=") for item in line.split()[1:])
            return int(fields["heap_in_use"]) + int(fields["mmapped"]), int(fields["rss_kib"])
    raise Failure("no memory report from ws-echo within 5 s of SIGUSR2")


def drive(peer, seconds, pending):
    """Writes what h2 has to send and reads (handling every frame) for
    `seconds`, never blocking on either: a client that writes a lot must
    keep reading, or both sides' socket buffers fill and neither moves.
    `pending` holds wire bytes not yet written. Returns False once the
    server ended the connection."""
    sock = peer.sock
    sock.setblocking(False)
    deadline = time.monotonic() + seconds
    try:
        while True:
            peer.frame_outgoing()
            pending += peer.conn.data_to_send()
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            readable = TLS and sock.pending() > 0
            if not readable:
                ready, writable, _ = select.select([sock], [sock] if pending else [], [],
                                                   min(left, 0.1))
                readable = bool(ready)
            else:
                writable = [sock] if pending else []
            if writable:
                try:
                    sent = sock.send(pending[:1 << 20])
                    del pending[:sent]
                except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    pass
                except (OSError, ssl.SSLError):
                    peer.eof = True
                    return False
            if readable:
                try:
                    data = sock.recv(1 << 20)
                except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    continue
                except (OSError, ssl.SSLError):
                    peer.eof = True
                    return False
                if not data:
                    peer.eof = True
                    return False
                for event in peer.conn.receive_data(data):
                    peer.handle(event)
    finally:
        sock.setblocking(True)


def never_reading_client():
    """50 WebSockets on one connection whose client never reads them: it
    handles HTTP/2 control frames (so WINDOW_UPDATEs let it keep sending)
    but acknowledges no byte of the echoes, so every stream's window to it
    shuts after 64 KiB and the echoes of its 512 KiB messages stay in the
    server. The server must stop taking each WebSocket's input once that
    WebSocket's unsent output is at its mark (half of 2 x --max-message +
    1 MiB), so what one such client costs is bounded by the settings; other
    connections echo meanwhile; closing the connection frees it all, and a
    second round costs no more than the first.

    A ws-echo of its own with --max-message 1 MiB keeps the bound near
    50 x 3 MiB (at the default 16 MiB it is 50 x 17 MiB, about 1 GiB, too
    slow to fill from Python in a test); --memory-report gives the heap."""
    max_message = 1 << 20
    proc, port = start_echo(["--max-message", str(max_message), "--memory-report"])
    try:
        heap_base, rss_base = memory_report(proc)
        cpu_base = cpu_seconds(proc.pid)
        # What the settings let one WebSocket hold: its output up to the
        # high-water mark (2 x --max-message + 1 MiB), a message being
        # assembled (--max-message) and a stream window of input (256 KiB,
        # ws::http2::ServerSettings::stream_window). The bound allows half
        # again for buffer capacity and the allocator.
        high_water = 2 * max_message + (1 << 20)
        per_stream = high_water + max_message + 256 * 1024
        bound_mib = 1.5 * 50 * per_stream / (1 << 20)
        print(f"     never-reading client: ws-echo --max-message {max_message}; per WebSocket "
              f"at most {per_stream / (1 << 20):.2f} MiB by the settings, bound 1.5 x 50 x that "
              f"= {bound_mib:.0f} MiB; heap {heap_base // 1024} KiB, VmRSS {rss_base} KiB at "
              f"start", flush=True)
        after_rounds = []
        peaks = []
        for round_number in (1, 2):
            label = f"never-reading client, round {round_number}"
            hog = H2Peer(port)
            try:
                streams = [hog.open_websocket(wait=False) for _ in range(50)]
                hog.pump(lambda: all(s.status is not None or s.finished() for s in streams),
                         "the answers to 50 extended CONNECTs")
                check(f"{label}: 50 WebSockets open", [s.status for s in streams] == [200] * 50,
                      [s.status for s in streams if s.status != 200][:5])
                for stream in streams:
                    stream.paused = True
                message = os.urandom(512 * 1024)
                queued = {s.id: 0 for s in streams}
                cap = 16 << 20  # far past the bound: reaching it means no backpressure
                pending = bytearray()
                started = time.monotonic()
                last_progress = started

                def taken_total():
                    # What the server accepted: queued minus what still
                    # waits for window (in h2's hands it counts as sent).
                    return sum(queued[s.id] - len(s.outgoing) for s in streams) - len(pending)

                alive = True
                while alive and time.monotonic() - started < 60:
                    for stream in streams:
                        if len(stream.outgoing) < len(message) and queued[stream.id] < cap:
                            framed = stream.frames.send_data(message)
                            stream.outgoing += framed
                            queued[stream.id] += len(framed)
                    before_drive = taken_total()
                    alive = drive(hog, 0.3, pending)
                    if taken_total() != before_drive:
                        last_progress = time.monotonic()
                    elif time.monotonic() - last_progress > 1.5:
                        break  # nothing taken for 1.5 s: every window stays shut
                took = time.monotonic() - started
                shut = [s for s in streams if s.outgoing and not s.finished()
                        and hog.conn.local_flow_control_window(s.id) == 0]
                taken = taken_total()
                heap_peak, rss_peak = memory_report(proc)
                # Still offering input for another 1.5 s: nothing more is
                # taken and nothing more held (a plateau, not a slow climb).
                alive = alive and drive(hog, 1.5, pending)
                heap_later, rss_later = memory_report(proc)
                check(f"{label}: the server keeps the connection (it is slow, not broken)",
                      alive, "the server ended it")
                print(f"     {label}: the server took {taken / (1 << 20):.1f} MiB "
                      f"({taken / 50 / (1 << 20):.2f} MiB per WebSocket) in {took:.1f} s, then "
                      f"shut {len(shut)} of 50 windows; {sum(s.held for s in streams) // 1024} "
                      f"KiB of echoes sent to us unread; heap {heap_peak // 1024} KiB "
                      f"({(heap_peak - heap_base) / (1 << 20):+.1f} MiB, "
                      f"{(heap_peak - heap_base) / 50 / (1 << 20):.2f} MiB per WebSocket), "
                      f"VmRSS {rss_peak} KiB ({(rss_peak - rss_base) / 1024:+.1f} MiB); "
                      f"1.5 s later: heap {(heap_later - heap_peak) / (1 << 20):+.2f} MiB, "
                      f"taken {(taken_total() - taken) // 1024} KiB more", flush=True)
                check(f"{label}: the server stops taking input on all 50 (windows shut after "
                      f"{taken / 50 / (1 << 20):.2f} MiB each, < 16 MiB)",
                      len(shut) == 50 and all(queued[s.id] < cap for s in streams),
                      f"{len(shut)} shut")
                check(f"{label}: held memory is flat while input is still offered "
                      f"({(heap_later - heap_peak) / (1 << 20):+.2f} MiB heap in 1.5 s, < 1 MiB)",
                      heap_later - heap_peak < (1 << 20), heap_later - heap_peak)
                heap_growth = (heap_peak - heap_base) / (1 << 20)
                growth = (max(rss_peak, rss_later) - rss_base) / 1024
                peaks.append((heap_peak, max(rss_peak, rss_later)))
                check(f"{label}: server heap growth {heap_growth:.1f} MiB and RSS growth "
                      f"{growth:.1f} MiB (< {bound_mib:.0f} MiB)",
                      heap_growth < bound_mib and growth < bound_mib, (heap_growth, growth))
                fresh_echo(f"{label}, while it holds its WebSockets", port)
            finally:
                hog.close()
            # The server sees the socket close and frees the 50 WebSockets.
            deadline = time.monotonic() + 5
            while True:
                heap_after, rss_after = memory_report(proc)
                if heap_after - heap_base < (8 << 20) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            after_rounds.append((heap_after, rss_after))
            print(f"     {label}: after the client closed: heap {heap_after // 1024} KiB "
                  f"({(heap_after - heap_base) / (1 << 20):+.1f} MiB), VmRSS {rss_after} KiB "
                  f"({(rss_after - rss_base) / 1024:+.1f} MiB)", flush=True)
            check(f"{label}: once the client closed, the server's heap is back within 8 MiB of "
                  f"the start ({(heap_after - heap_base) / (1 << 20):+.1f} MiB)",
                  heap_after - heap_base < (8 << 20), heap_after - heap_base)
        # Across rounds: the same client costs the same, and what round 1
        # left with the allocator is reused by round 2, not added to it
        # (round 2's RSS stays under the bound). The RSS after a close is
        # printed, not checked: glibc keeps a varying share of the freed
        # pages (4 to 140 MiB after identical rounds here), while the heap
        # in use, checked above, comes back to the start every time.
        (peak_1, rss_1), (peak_2, rss_2) = peaks
        check(f"never-reading client: round 2 holds what round 1 held (heap "
              f"{(peak_2 - heap_base) / (1 << 20):+.1f} vs {(peak_1 - heap_base) / (1 << 20):+.1f} "
              f"MiB, within 10%), and its RSS ({(rss_2 - rss_base) / 1024:+.1f} MiB) stays under "
              f"the bound with {(after_rounds[0][1] - rss_base) / 1024:.1f} MiB left from round 1",
              abs(peak_2 - peak_1) <= 0.1 * (peak_1 - heap_base)
              and (rss_2 - rss_base) / 1024 < bound_mib, (peaks, after_rounds))
        cpu_used = cpu_seconds(proc.pid) - cpu_base
        print(f"     never-reading client: server CPU {cpu_used:.2f} s for both rounds", flush=True)
        check(f"never-reading client: server CPU {cpu_used:.2f} s (< 20 s)", cpu_used < 20,
              cpu_used)
        fresh_echo("never-reading client", port)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def start_echo(extra=()):
    tls = ["--tls", CERT, KEY] if TLS else []
    proc = subprocess.Popen([ECHO, "--port", "0", "--io", IO, "--http2", "--subprotocol", "chat",
                             *tls, *extra], stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 10)
    line = proc.stdout.readline().strip() if ready else "nothing within 10 s"
    if not line.startswith("listening on 127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"FAIL ws-echo did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


def run(name, function, *args):
    """A check group that raises (a deadline, a closed connection) is a
    failure with the reason, and the next group still runs."""
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        check(f"{name}: completed", False, f"{type(error).__name__}: {error}")
        traceback.print_exc(limit=3)


def main():
    started = time.monotonic()
    proc, port = start_echo()
    try:
        run("settings and echo", settings_and_echo, port)
        run("50 streams", many_streams, port)
        run("4 MiB", large_message, port)
        run("slow reader", slow_reader, port)
        run("close", close_handshake, port)
        run("subprotocols", subprotocols, port)
        run("refusals", refusals, port)
        run("stream reset", stream_reset, port)
        run("plain GET", plain_get, port)
        run("HTTP/1.1", http1_upgrade, port, ("http/1.1",),
            "HTTP/1.1 on the same port" + (" (TLS, ALPN http/1.1 only)" if TLS else ""))
        if TLS:
            run("HTTP/1.1 without ALPN", http1_upgrade, port, None, "HTTP/1.1 over TLS without ALPN")
        run("stalled preface", stalled_preface, port)
        run("limits and disconnects", limits_and_disconnects, port)
        run("rapid reset", rapid_reset, port, proc.pid)
        run("PING flood", ping_flood, port, proc.pid)
        run("SETTINGS flood", settings_flood, port, proc.pid)
        run("CONTINUATION flood", continuation_flood, port, proc.pid)
        run("too many streams", too_many_streams, port, proc.pid)
        run("large header list", large_header_list, port, proc.pid)
        run("DATA with the CONNECT", data_with_connect, port)
        run("never-reading client", never_reading_client)
        check("ws-echo still running", proc.poll() is None, proc.returncode)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "no exit within 10 s of SIGTERM"
        check("ws-echo exits 0 on SIGTERM", code == 0, code)
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed ({time.monotonic() - started:.1f} s)")
    sys.exit(1 if failed else 0)


main()
