"""The raw-frame peer: exact bytes out, exact frames in (RFC 6455).

A Peer owns one TCP connection after the opening handshake. It plays either
role: as a client (testing a server) it masks what it sends and requires
unmasked frames back; as a server (testing a client) the other way round
(RFC 6455 5.1, 5.3). Every frame that arrives is checked against the rules a
sender must follow (5.2, 5.5) before a case looks at it.
"""

import base64
import hashlib
import os
import socket
import struct
import time

import tls_socket

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
OPCODE_NAMES = {CONTINUATION: "continuation", TEXT: "text", BINARY: "binary",
                CLOSE: "close", PING: "ping", PONG: "pong"}

# RFC 6455 1.3: the GUID appended to Sec-WebSocket-Key before hashing.
ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class CaseFailure(Exception):
    """A case saw something other than what the RFC requires."""


class Timeouts:
    """How long the peer waits. `scale` stretches all of them (sanitizers)."""

    def __init__(self, scale=1.0):
        self.reply = 10.0 * scale  # an expected frame or the end of the stream
        # RFC 6455 8.1 (fail fast): the close that answers an invalid byte must
        # come while the rest of the message is still unsent.
        self.fail_fast = 3.0 * scale


def mask(data, key):
    """XORs `data` with the 4-byte `key` repeated (RFC 6455 5.3)."""
    n = len(data)
    if n == 0:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        n, "little")


def encode_length(n, length_form=None):
    """The 7-bit length and its extension (RFC 6455 5.2), minimal by default;
    `length_form` 126 or 127 forces a longer form."""
    form = length_form or (n if n < 126 else 126 if n < 65536 else 127)
    if form < 126:
        return form, b""
    if form == 126:
        return 126, struct.pack("!H", n)
    return 127, struct.pack("!Q", n)


def accept_value(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2 step 5.4)."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + ACCEPT_GUID).digest()).decode()


def close_payload(code=None, reason=b""):
    """A close frame body: nothing, or a 2-byte code and a reason (5.5.1)."""
    if code is None:
        return b""
    return struct.pack("!H", code) + reason


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "payload")

    def __init__(self, fin, rsv, opcode, payload):
        self.fin, self.rsv, self.opcode, self.payload = fin, rsv, opcode, payload

    def describe(self):
        name = OPCODE_NAMES.get(self.opcode, "opcode %d" % self.opcode)
        body = bytes(self.payload[:24])
        more = "..." if len(self.payload) > 24 else ""
        return "%s fin=%d rsv=%d len=%d %r%s" % (name, self.fin, self.rsv,
                                                 len(self.payload), body, more)


class PeerClosed(CaseFailure):
    """The stream ended (EOF or reset) while a frame was expected."""


class Peer:
    """One connection, after the handshake, seen from the testing side.

    `role` is "client" when the tester is the client (it masks) and "server"
    when the tester is the server. Reads are buffered; `leftover` holds bytes
    that arrived with the handshake response.
    """

    def __init__(self, sock, role, timeouts, leftover=b""):
        self.sock = sock
        self.role = role
        self.timeouts = timeouts
        self.buffer = bytearray(leftover)
        self.start = 0
        self.eof = False
        self.reset = False
        self.key = b"\x5a\x3c\x96\xe1"  # a fixed masking key keeps runs reproducible
        self.sync_count = 0
        self.log = []
        # RSV bits an agreed extension allows on the first frame of a data
        # message (0x4: RSV1, permessage-deflate, RFC 7692 6); set by the
        # compression cases (deflate_wire.py).
        self.rsv_allowed = 0
        # Sec-WebSocket-Extensions as offered by the client and as answered
        # by the server in the opening handshake (None when absent).
        self.offered_extensions = None
        self.extensions_response = None

    # ---- sending -------------------------------------------------------

    @property
    def masks(self):
        return self.role == "client"

    def header(self, opcode, length, fin=True, rsv=0, length_form=None, masked=None):
        """A frame header (RFC 6455 5.2) announcing `length` payload bytes,
        with this peer's masking key when it masks."""
        masked = self.masks if masked is None else masked
        first = (0x80 if fin else 0) | (rsv << 4) | opcode
        seven, extended = encode_length(length, length_form)
        head = bytes([first, (0x80 if masked else 0) | seven]) + extended
        return head + self.key if masked else head

    def frame(self, opcode, payload=b"", fin=True, rsv=0, length_form=None, masked=None):
        """The bytes of one frame as this peer's role sends it (RFC 6455 5.2)."""
        masked = self.masks if masked is None else masked
        head = self.header(opcode, len(payload), fin, rsv, length_form, masked)
        return head + (mask(payload, self.key) if masked else payload)

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as error:
            raise CaseFailure("the other side closed while we were sending (%s)" % error)

    def send_frame(self, opcode, payload=b"", **options):
        self.send(self.frame(opcode, payload, **options))

    def send_in_pieces(self, data, size, pause=0.0):
        """Writes `data` in pieces of `size` bytes, optionally pausing so that
        each piece reaches the other side in a read of its own."""
        view = memoryview(data)
        for offset in range(0, len(data), size):
            self.send(view[offset:offset + size])
            if pause:
                time.sleep(pause)

    def send_quietly(self, data):
        """Sends and ignores a closed stream: for replies at the very end."""
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    # ---- receiving -----------------------------------------------------

    def _fill(self, deadline):
        if self.eof:
            raise PeerClosed("the connection ended (%s)" % ("reset" if self.reset else "EOF"))
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 20)
        except ConnectionResetError:
            chunk = b""
            self.reset = True
        if not chunk:
            self.eof = True
            raise PeerClosed("the connection ended (%s)" % ("reset" if self.reset else "EOF"))
        if self.start > (1 << 20) and self.start * 2 > len(self.buffer):
            del self.buffer[:self.start]
            self.start = 0
        self.buffer += chunk

    def _need(self, n, deadline):
        while len(self.buffer) - self.start < n:
            self._fill(deadline)

    def _take(self, n):
        data = bytes(self.buffer[self.start:self.start + n])
        self.start += n
        return data

    def read_frame(self, timeout=None):
        """The next frame, checked against the sender's rules of RFC 6455 5.2,
        5.5 (control frames) and 5.1 (masking by role). Raises socket.timeout
        when nothing complete arrives in time, PeerClosed at end of stream."""
        deadline = time.monotonic() + (self.timeouts.reply if timeout is None else timeout)
        self._need(2, deadline)
        b0, b1 = self.buffer[self.start], self.buffer[self.start + 1]
        fin, rsv, opcode = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F
        masked, seven = bool(b1 & 0x80), b1 & 0x7F
        header = 2 + (2 if seven == 126 else 8 if seven == 127 else 0) + (4 if masked else 0)
        self._need(header, deadline)
        head = self._take(header)
        if seven == 126:
            length = struct.unpack("!H", head[2:4])[0]
            if length < 126:
                raise CaseFailure("frame length %d not in the minimal form (RFC 6455 5.2)" % length)
        elif seven == 127:
            length = struct.unpack("!Q", head[2:10])[0]
            if length < 65536 or length >> 63:
                raise CaseFailure("frame length %d not in the minimal form (RFC 6455 5.2)" % length)
        else:
            length = seven
        self._need(length, deadline)
        payload = self._take(length)
        if masked:
            payload = mask(payload, head[-4:])
        frame = Frame(fin, rsv, opcode, payload)
        self.log.append(frame.describe())
        # RFC 6455 5.1: a server never masks, a client always does.
        if masked != (self.role == "server"):
            raise CaseFailure("received a frame %s (RFC 6455 5.1): %s" % (
                "masked by the server" if masked else "unmasked from the client", frame.describe()))
        if rsv and (rsv & ~self.rsv_allowed or opcode not in (TEXT, BINARY)):
            if self.rsv_allowed:
                # RFC 7692 6: RSV1 on the first frame of a message only.
                raise CaseFailure("received reserved bits on a continuation or control frame, "
                                  "or bits no extension defines (RFC 7692 6, RFC 6455 5.2): "
                                  + frame.describe())
            raise CaseFailure("received reserved bits without an extension (5.2): "
                              + frame.describe())
        if opcode not in OPCODE_NAMES:
            raise CaseFailure("received a reserved opcode (5.2): " + frame.describe())
        if opcode >= CLOSE and (not fin or length > 125):
            raise CaseFailure("received an invalid control frame (5.5): " + frame.describe())
        return frame

    def next_frame(self, what, timeout=None):
        try:
            return self.read_frame(timeout)
        except socket.timeout:
            raise CaseFailure("timed out waiting for %s" % what)
        except PeerClosed as closed:
            raise CaseFailure("%s while waiting for %s" % (closed, what))

    def read_message(self, what="a message", allow_pongs=True, timeout=None):
        """Reads one whole data message (joining fragments, RFC 6455 5.4).
        Pongs between frames are skipped when `allow_pongs`; pings are
        answered. Returns (opcode, payload, frames) or raises CaseFailure."""
        frames = []
        opcode = None
        parts = []
        while True:
            frame = self.next_frame(what, timeout)
            if frame.opcode == PONG and allow_pongs:
                continue
            if frame.opcode == PING:
                self.send_frame(PONG, frame.payload)
                continue
            if frame.opcode == CLOSE:
                raise CaseFailure("got close %s instead of %s" % (
                    describe_close(frame.payload), what))
            if frame.opcode == PONG:
                raise CaseFailure("got an unexpected pong %r instead of %s" % (
                    bytes(frame.payload[:32]), what))
            if opcode is None:
                if frame.opcode == CONTINUATION:
                    raise CaseFailure("message started with a continuation frame (5.4)")
                opcode = frame.opcode
            elif frame.opcode != CONTINUATION:
                raise CaseFailure("new %s frame inside a fragmented message (5.4)"
                                  % OPCODE_NAMES[frame.opcode])
            frames.append(frame)
            parts.append(frame.payload)
            if frame.fin:
                return opcode, b"".join(parts), frames

    def expect_message(self, opcode, payload, allow_pongs=False):
        """The next message must be exactly `opcode` with `payload`."""
        got_opcode, got, frames = self.read_message(
            "the echo of a %s message of %d bytes" % (OPCODE_NAMES[opcode], len(payload)),
            allow_pongs)
        if got_opcode != opcode:
            raise CaseFailure("expected a %s message, got %s" % (
                OPCODE_NAMES[opcode], OPCODE_NAMES[got_opcode]))
        if got != payload:
            raise CaseFailure("message differs: %s" % difference(payload, got))
        return frames

    def expect_text(self, text):
        return self.expect_message(TEXT, text.encode() if isinstance(text, str) else text)

    def expect_pong(self, payload):
        frame = self.next_frame("a pong")
        if frame.opcode != PONG:
            raise CaseFailure("expected a pong %r, got %s" % (bytes(payload[:32]),
                                                              frame.describe()))
        if frame.payload != payload:
            raise CaseFailure("pong payload differs: %s" % difference(payload, frame.payload))

    def expect_unordered(self, messages, pongs):
        """Reads until every message (opcode, payload) and every pong payload
        has come, each list in its order, the two lists interleaved in any
        way: RFC 6455 5.5.2 asks for a pong "as soon as practical", so it may
        overtake an echo that was queued before it."""
        messages, pongs = list(messages), list(pongs)
        while messages or pongs:
            frame = self.next_frame("%d message(s) and %d pong(s)" % (len(messages), len(pongs)))
            if frame.opcode == PONG:
                if not pongs:
                    raise CaseFailure("unexpected pong %r" % bytes(frame.payload[:32]))
                if frame.payload != pongs[0]:
                    raise CaseFailure("pong payload differs: %s" % difference(
                        pongs[0], frame.payload))
                pongs.pop(0)
                continue
            if not messages:
                raise CaseFailure("unexpected frame %s" % frame.describe())
            opcode, payload = messages.pop(0)
            got_opcode, got = self._rest_of_message(frame, pongs)
            if got_opcode != opcode:
                raise CaseFailure("expected a %s message, got %s" % (
                    OPCODE_NAMES[opcode], OPCODE_NAMES.get(got_opcode, got_opcode)))
            if got != payload:
                raise CaseFailure("message differs: %s" % difference(payload, got))

    def _rest_of_message(self, first, pongs):
        if first.opcode == CONTINUATION:
            raise CaseFailure("message started with a continuation frame (5.4)")
        if first.opcode == CLOSE:
            raise CaseFailure("got close %s instead of a message" % describe_close(first.payload))
        parts = [first.payload]
        frame = first
        while not frame.fin:
            frame = self.next_frame("the rest of a fragmented message")
            if frame.opcode == PONG and pongs and frame.payload == pongs[0]:
                pongs.pop(0)
                continue
            if frame.opcode != CONTINUATION:
                raise CaseFailure("expected a continuation, got %s" % frame.describe())
            parts.append(frame.payload)
        return first.opcode, b"".join(parts)

    def sync(self):
        """Proves that nothing else is on its way: a ping with a fresh payload
        must be answered by a pong, and that pong must be the next frame."""
        self.sync_count += 1
        payload = b"sync-%d" % self.sync_count
        self.send_frame(PING, payload)
        self.expect_pong(payload)

    def expect_close(self, codes, reply=True, timeout=None, what=None):
        """The next frame must be a close whose code is in `codes` (None
        stands for an empty close). Then the close is answered (RFC 6455
        5.5.1) and the end of the connection is checked (7.1.1)."""
        frame = self.next_frame(what or "a close with code %s" % format_codes(codes), timeout)
        if frame.opcode != CLOSE:
            raise CaseFailure("expected a close with code %s, got %s" % (
                format_codes(codes), frame.describe()))
        code = check_close_payload(frame.payload)
        if code not in codes:
            raise CaseFailure("expected close code %s, got %s" % (
                format_codes(codes), describe_close(frame.payload)))
        if reply:
            self.send_quietly(self.frame(CLOSE, frame.payload[:2]))
        self.expect_end()
        return code

    def expect_end(self):
        """After the close handshake: a server closes the TCP connection
        first (RFC 6455 7.1.1, 5.5.1); a client waits for the server to do
        so and then closes too. Nothing may arrive after the close frame."""
        if self.role == "server":
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        deadline = time.monotonic() + self.timeouts.reply
        while True:
            try:
                self._fill(deadline)
            except PeerClosed:
                # Over HTTP/2 the transport's end has two forms, and only
                # END_STREAM is the orderly one (RFC 8441 5).
                orderly = getattr(self.sock, "check_orderly_end", None)
                if orderly is not None:
                    orderly()
                return
            except socket.timeout:
                raise CaseFailure("the %s did not close the %s after the close "
                                  "handshake (RFC 6455 7.1.1)" % (
                                      other_side(self.role),
                                      getattr(self.sock, "transport_name", "TCP connection")))
            if len(self.buffer) > self.start:
                data = bytes(self.buffer[self.start:self.start + 32])
                raise CaseFailure("bytes arrived after the close frame (RFC 6455 5.5.1): %r"
                                  % data)

    def finish(self, code=1000):
        """Starts a clean close handshake and checks the reply echoes `code`
        (RFC 6455 5.5.1) and that the connection then ends."""
        self.send_frame(CLOSE, close_payload(code))
        frame = self.next_frame("the reply to our close %d" % code)
        if frame.opcode != CLOSE:
            raise CaseFailure("expected the close reply, got %s" % frame.describe())
        got = check_close_payload(frame.payload)
        if got != code:
            raise CaseFailure("close reply carries %s, expected %d" % (
                describe_close(frame.payload), code))
        self.expect_end()

    def fail_expected(self, code, timeout=None, what=None):
        """The connection must now be failed with `code` (RFC 6455 7.1.7)."""
        return self.expect_close({code}, timeout=timeout, what=what)


def other_side(role):
    return "server" if role == "client" else "client"


def format_codes(codes):
    return "/".join("none" if c is None else str(c) for c in sorted(
        codes, key=lambda c: -1 if c is None else c))


def describe_close(payload):
    if len(payload) == 0:
        return "(empty close)"
    if len(payload) == 1:
        return "(1-byte close payload %r)" % bytes(payload)
    code = struct.unpack("!H", payload[:2])[0]
    return "%d %r" % (code, bytes(payload[2:]))


def check_close_payload(payload):
    """The code of a close the other side sent; the payload must follow
    RFC 6455 5.5.1 and 7.4 (a sendable code, a UTF-8 reason)."""
    if len(payload) == 0:
        return None
    if len(payload) == 1:
        raise CaseFailure("received a 1-byte close payload (RFC 6455 5.5.1)")
    code = struct.unpack("!H", payload[:2])[0]
    if not is_sendable_close_code(code):
        raise CaseFailure("received close code %d, which may not be sent (RFC 6455 7.4)" % code)
    try:
        bytes(payload[2:]).decode("utf-8")
    except UnicodeDecodeError:
        raise CaseFailure("received a close reason that is not UTF-8 (RFC 6455 5.5.1)")
    return code


def is_sendable_close_code(code):
    """RFC 6455 7.4.1/7.4.2 and the IANA registry (11.7): 1000-1003 and
    1007-1014 are defined; 3000-4999 belong to libraries and applications."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def difference(expected, got):
    if len(expected) != len(got):
        return "expected %d bytes, got %d" % (len(expected), len(got))
    for i in range(len(expected)):
        if expected[i] != got[i]:
            return "first difference at byte %d (expected %#04x, got %#04x)" % (
                i, expected[i], got[i])
    return "no difference"


# ---- opening handshake ---------------------------------------------------


def read_head(sock, deadline):
    """Reads an HTTP head (up to the blank line); returns (head, leftover)."""
    data = b""
    while b"\r\n\r\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CaseFailure("timed out reading the HTTP head")
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            raise CaseFailure("the connection ended during the handshake")
        data += chunk
        if len(data) > 65536:
            raise CaseFailure("HTTP head too long")
    end = data.index(b"\r\n\r\n") + 4
    return data[:end].decode("latin-1"), data[end:]


def parse_head(head):
    lines = head.split("\r\n")
    fields = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], fields


def has_token(fields, name, token):
    values = ",".join(fields.get(name, []))
    return token in [t.strip().lower() for t in values.split(",")]


# wss://: an ssl.SSLContext that trusts the server's certificate; every
# connection connect_client opens then runs inside TLS (the cases see the
# same WebSocket bytes).
TLS_CONTEXT = None

# HTTP/2 (run_conformance.py --http2): a function that stands in for
# connect_client and carries each case's WebSocket on a stream of an HTTP/2
# connection of its own (h2_stream.connect_client, RFC 8441).
CONNECTOR = None


def connect_client(host, port, path, timeouts, early=b"", extensions=None):
    """Opens a connection and performs the client's opening handshake
    (RFC 6455 4.1), checking the server's answer (4.2.2). `early` bytes go
    out in the same write as the request; `extensions` is a
    Sec-WebSocket-Extensions value to offer (RFC 6455 9.1). Returns a Peer
    whose `extensions_response` is the server's answer to it."""
    if CONNECTOR is not None:
        return CONNECTOR(host, port, path, timeouts, early, extensions)
    sock = socket.create_connection((host, port), timeout=timeouts.reply)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if TLS_CONTEXT is not None:
        sock = tls_socket.wrap(sock, TLS_CONTEXT, host)
    key = base64.b64encode(os.urandom(16)).decode()
    request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n%s\r\n" % (
                   path, host, port, key,
                   "" if extensions is None else "Sec-WebSocket-Extensions: %s\r\n" % extensions))
    sock.sendall(request.encode() + early)
    head, leftover = read_head(sock, time.monotonic() + timeouts.reply)
    if not head.startswith("HTTP/"):
        raise CaseFailure("the answer to the upgrade request does not start with the HTTP "
                          "response (RFC 6455 4.2.2) but with %r" % head[:48].encode("latin-1"))
    status, fields = parse_head(head)
    if not status.startswith("HTTP/1.1 101"):
        raise CaseFailure("handshake refused: %s" % status)
    if not has_token(fields, "upgrade", "websocket") or not has_token(fields, "connection",
                                                                      "upgrade"):
        raise CaseFailure("101 without Upgrade: websocket / Connection: Upgrade (4.2.2)")
    if fields.get("sec-websocket-accept") != [accept_value(key)]:
        raise CaseFailure("wrong Sec-WebSocket-Accept (RFC 6455 4.2.2)")
    answered = fields.get("sec-websocket-extensions")
    if answered and extensions is None:
        raise CaseFailure("the server accepted an extension nobody offered (9.1)")
    peer = Peer(sock, "client", timeouts, leftover)
    peer.offered_extensions = extensions
    peer.extensions_response = ", ".join(answered) if answered else None
    return peer


def accept_client(sock, timeouts, early=lambda path: b"", answer=lambda path, offered: None):
    """Reads a client's opening handshake on an accepted socket and answers
    101 (RFC 6455 4.2), followed in the same write by early(path).
    answer(path, offered) gives the Sec-WebSocket-Extensions value of the
    response (None: none) for the client's offer (None when it offered
    nothing). Returns (path, Peer); raises CaseFailure for a request that
    does not follow 4.1."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head, leftover = read_head(sock, time.monotonic() + timeouts.reply)
    request_line, fields = parse_head(head)
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
        raise CaseFailure("not a GET ... HTTP/1.1 request: %r" % request_line)
    key = (fields.get("sec-websocket-key") or [""])[0]
    try:
        key_ok = len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        key_ok = False
    problems = []
    if not has_token(fields, "upgrade", "websocket"):
        problems.append("Upgrade: websocket")
    if not has_token(fields, "connection", "upgrade"):
        problems.append("Connection: Upgrade")
    if fields.get("sec-websocket-version") != ["13"]:
        problems.append("Sec-WebSocket-Version: 13")
    if not key_ok:
        problems.append("a 16-byte Sec-WebSocket-Key")
    if "host" not in fields:
        problems.append("Host")
    if problems:
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        raise CaseFailure("request lacks %s (RFC 6455 4.1)" % ", ".join(problems))
    offered = ", ".join(fields["sec-websocket-extensions"]) \
        if "sec-websocket-extensions" in fields else None
    extensions = answer(parts[1], offered)
    response = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n" % (
                    accept_value(key),
                    "" if extensions is None else "Sec-WebSocket-Extensions: %s\r\n" % extensions))
    sock.sendall(response.encode() + early(parts[1]))
    peer = Peer(sock, "server", timeouts, leftover)
    peer.offered_extensions = offered
    peer.extensions_response = extensions
    return parts[1], peer
