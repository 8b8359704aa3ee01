"""WebSockets over HTTP/2 streams (RFC 8441) for the conformance suite.

With `run_conformance.py echo ... --http2` every case's "socket" is one
stream of an HTTP/2 connection of its own (one connection per case, as over
TCP), opened with an extended CONNECT. The cases keep calling sendall,
recv, settimeout, shutdown, dup and close; this module maps them onto the
stream:

  sendall(data)      DATA frames on the stream, as far as the server's
                     stream and connection windows allow (RFC 9113 6.9);
                     it returns once the bytes went to the kernel, and waits
                     (with the socket's timeout) while the windows are shut,
                     as a TCP send waits on a full buffer.
  recv(n)            the stream's DATA, in order. Bytes are acknowledged
                     (WINDOW_UPDATE) only once the case has read them, so
                     the server sees a reader exactly as slow as the case.
  recv() == b""      the server's END_STREAM: the orderly end of the
                     WebSocket's transport (RFC 8441 5: what a TCP FIN is
                     to RFC 6455).
  ConnectionReset    the server's RST_STREAM, or the whole HTTP/2
                     connection lost (RFC 8441 5: RST_STREAM is the TCP
                     RST).
  shutdown(SHUT_WR)  END_STREAM after what was sent (our half-close).
  shutdown(SHUT_RDWR) RST_STREAM CANCEL: the stream is abandoned.
  dup()              another handle on the same stream with its own
                     timeout (a writer thread beside the reader).

One thread per connection owns the TCP socket: it reads (so WINDOW_UPDATE,
SETTINGS and PING are handled even while a case is blocked in sendall) and
writes what h2 produced, in order. Callers only touch the h2 state under
one lock, so a dup() writer and the reader can work at the same time.

TLS (--tls --http2) runs inside the same thread through an ssl.SSLObject
and memory BIOs, with ALPN "h2" (RFC 9113 3.2).

Needs Debian's python3-h2 (h2 4.1) for /usr/bin/python3; the rest of the
suite stays standard library only.
"""

import collections
import os
import select
import socket
import ssl
import struct
import threading
import time

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions
    import h2.settings
except ImportError:  # reported by available() so the run fails with a reason
    h2 = None

from wire import CaseFailure, Peer

# Flow control we grant the server. The stream window plays the part of a
# TCP receive buffer (RFC 9113 6.9.2 starts it at 65,535; 1 MiB keeps the
# large echoes of group 9 moving without a WINDOW_UPDATE per 64 KiB). The
# connection window is wider than any one stream, so only the stream's own
# reader ever holds the server back.
STREAM_WINDOW = 1 << 20
CONNECTION_WINDOW = 16 << 20

# RFC 9113 6.8: GOAWAY is frame type 7. h2 4.1 moves its whole connection
# to CLOSED on a received GOAWAY and then rejects every later frame
# (python-hyper/h2 issue 1181), although RFC 9113 6.8 lets the streams at or
# below the last stream id finish. ws-echo's SIGTERM sends GOAWAY first and
# then closes each WebSocket with 1001, so GOAWAY frames are taken out of
# the byte stream here and recorded, never given to h2.
GOAWAY = 0x7
FRAME_HEADER = 9


# How each case's stream ended ("END_STREAM", "RST_STREAM CANCEL", ...),
# counted when its connection closes: run_conformance.py prints the tally,
# so a run shows which of RFC 8441 5's two ends the server used.
ENDINGS = collections.Counter()


def available():
    """None when h2 can be used, or what to install."""
    if h2 is None:
        return ("python3-h2 is missing for /usr/bin/python3 (apt-get install python3-h2): "
                "--http2 needs it")
    return None


def error_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return "error %d" % code


class Link:
    """One client HTTP/2 connection carrying one WebSocket stream. All h2
    state is guarded by `cond`; after the TLS handshake the I/O thread is
    the only reader of the socket, and writers take `write_lock`."""

    def __init__(self, host, port, timeouts, tls_context):
        self.timeouts = timeouts
        self.cond = threading.Condition()
        self.write_lock = threading.Lock()
        raw = socket.create_connection((host, port), timeout=timeouts.reply)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.raw = raw
        self.tls = None
        if tls_context is not None:
            try:
                self.tls = self._tls_handshake(raw, tls_context, host)
            except BaseException:
                raw.close()
                raise
        raw.setblocking(False)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=config)
        codes = h2.settings.SettingCodes
        self.conn.local_settings = h2.settings.Settings(
            client=True, initial_values={codes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
                                         codes.ENABLE_PUSH: 0})
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(CONNECTION_WINDOW - 65535)

        self.frames = bytearray()     # plaintext not yet cut into frames
        self.remote_settings = {}
        self.settings_seen = False
        self.goaways = []             # (error code, last stream id) as received
        self.stream_id = None
        self.status = None
        self.headers = {}
        self.inbox = bytearray()      # the stream's DATA the case has not read
        self.inbox_start = 0
        self.ended = False            # END_STREAM received
        self.reset = None             # RST_STREAM error code received
        self.ended_before_reset = False
        self.lost = None              # why the connection is gone (text)
        self.outgoing = bytearray()   # the case's bytes waiting for window
        self.given = 0                # WebSocket bytes handed to h2 so far
        self.end_wanted = False       # END_STREAM once outgoing is empty
        self.end_sent = False
        self.cancel_wanted = False    # RST_STREAM CANCEL (shutdown SHUT_RDWR)
        self.cancelled = False
        self.send_closed = None       # why the stream takes no more DATA
        self.out_raw = bytearray()    # wire bytes for the socket
        self.raw_produced = 0
        self.raw_written = 0
        self.stopping = False
        with self.cond:
            self._produce()  # the preface and our SETTINGS go out first
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    # ---- TLS ------------------------------------------------------------

    @staticmethod
    def _tls_handshake(raw, context, host):
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = context.wrap_bio(incoming, outgoing, server_hostname=host)
        deadline = time.monotonic() + 10
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    raw.sendall(outgoing.read())
                raw.settimeout(max(0.01, deadline - time.monotonic()))
                data = raw.recv(65536)
                if not data:
                    raise CaseFailure("the connection ended during the TLS handshake")
                incoming.write(data)
        if outgoing.pending:
            raw.sendall(outgoing.read())
        if obj.selected_alpn_protocol() != "h2":
            raise CaseFailure("TLS chose ALPN %r, not h2 (RFC 9113 3.2)"
                              % obj.selected_alpn_protocol())
        return {"obj": obj, "in": incoming, "out": outgoing}

    # ---- the I/O thread ---------------------------------------------------

    def wake(self):
        try:
            os.write(self.wake_w, b"x")
        except (BlockingIOError, OSError):
            pass  # already woken, or closing

    def _run(self):
        while True:
            with self.cond:
                if self.stopping:
                    return
                self._produce()
                want_write = bool(self.out_raw) and self.lost is None
                watching = self.lost is None
            readers = [self.wake_r] + ([self.raw] if watching else [])
            try:
                readable, writable, _ = select.select(readers, [self.raw] if want_write else [],
                                                      [], 1.0)
            except (OSError, ValueError):
                return  # closed under us: the case is over
            if self.wake_r in readable:
                try:
                    os.read(self.wake_r, 4096)
                except OSError:
                    pass
            if self.raw in readable:
                self._read()
            if self.raw in writable:
                self._write()

    def _read(self):
        try:
            data = self.raw.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            with self.cond:
                self._lose("the TCP connection failed: %s" % error)
            return
        with self.cond:
            if not data:
                self._lose("the server closed the TCP connection")
                return
            if self.tls is not None:
                data = self._decrypt(data)
            self._take_frames(data)
            self.cond.notify_all()

    def _write(self):
        """Writes the queued wire bytes until the socket is full. Any thread
        may call it: `write_lock` keeps one writer at a time, so the queue
        leaves in order, and a case's send does not wait for the I/O
        thread to wake up (a case writing 1 byte at a time would otherwise
        pay a thread switch per byte)."""
        with self.write_lock:
            while True:
                with self.cond:
                    if not self.out_raw or self.lost is not None or self.stopping:
                        return
                    chunk = bytes(self.out_raw[:1 << 20])
                try:
                    n = self.raw.send(chunk)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as error:
                    with self.cond:
                        self._lose("writing to the TCP connection failed: %s" % error)
                    return
                with self.cond:
                    del self.out_raw[:n]
                    self.raw_written += n
                    self.cond.notify_all()

    def kick(self):
        """After new output was queued: written now where the socket takes
        it, the rest left to the I/O thread (woken to wait for room)."""
        self._write()
        with self.cond:
            pending = bool(self.out_raw)
        if pending:
            self.wake()

    def _decrypt(self, data):
        tls = self.tls
        tls["in"].write(data)
        plain = bytearray()
        while True:
            try:
                piece = tls["obj"].read(1 << 20)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self._lose("the server ended TLS")
                break
            except ssl.SSLError as error:
                self._lose("TLS failed: %s" % error)
                break
            if not piece:
                break
            plain += piece
        if tls["out"].pending:  # TLS 1.3 may answer post-handshake messages
            self._queue_raw(tls["out"].read())
        return bytes(plain)

    def _take_frames(self, data):
        """Passes whole frames to h2, GOAWAY excepted (see GOAWAY above)."""
        self.frames += data
        passed = bytearray()
        offset = 0
        while len(self.frames) - offset >= FRAME_HEADER:
            length = int.from_bytes(self.frames[offset:offset + 3], "big")
            end = offset + FRAME_HEADER + length
            if len(self.frames) < end:
                break
            if self.frames[offset + 3] == GOAWAY:
                body = bytes(self.frames[offset + FRAME_HEADER:end])
                if len(body) >= 8:
                    last, code = struct.unpack("!II", body[:8])
                    self.goaways.append((code, last & 0x7FFFFFFF))
            else:
                passed += self.frames[offset:end]
            offset = end
        del self.frames[:offset]
        if not passed:
            return
        try:
            events = self.conn.receive_data(bytes(passed))
        except h2.exceptions.ProtocolError as error:
            self._lose("h2 found the server's frames invalid: %r" % error)
            return
        for event in events:
            self._handle(event)
        self._produce()

    def _handle(self, event):
        mine = getattr(event, "stream_id", None) == self.stream_id and self.stream_id is not None
        if isinstance(event, h2.events.RemoteSettingsChanged):
            for code, change in event.changed_settings.items():
                self.remote_settings[code] = change.new_value
            self.settings_seen = True
        elif isinstance(event, h2.events.ResponseReceived) and mine:
            self.headers = dict(event.headers)
            try:
                self.status = int(self.headers.get(":status", "0"))
            except ValueError:
                self.status = -1
        elif isinstance(event, h2.events.DataReceived) and mine:
            self.inbox += event.data
            padding = event.flow_controlled_length - len(event.data)
            if padding:
                self.conn.acknowledge_received_data(padding, self.stream_id)
        elif isinstance(event, h2.events.StreamEnded) and mine:
            self.ended = True
        elif isinstance(event, h2.events.StreamReset) and mine:
            self.reset = event.error_code
            self.ended_before_reset = self.ended
            self.send_closed = self.send_closed or "the server reset the stream (RST_STREAM %s)" \
                % error_name(event.error_code)
        elif isinstance(event, h2.events.TrailersReceived) and mine:
            self._lose("the server sent trailers on the WebSocket stream")

    def _lose(self, why):
        if self.lost is None:
            self.lost = why
        self.send_closed = self.send_closed or why
        self.cond.notify_all()

    def _queue_raw(self, data):
        if data:
            self.out_raw += data
            self.raw_produced += len(data)

    def _produce(self):
        """Moves the case's bytes into DATA frames as far as the windows
        allow, then everything h2 has to say into the socket's queue."""
        sid = self.stream_id
        if sid is not None and self.send_closed is None and (self.outgoing or self.end_wanted):
            try:
                while self.outgoing:
                    size = min(len(self.outgoing), self.conn.local_flow_control_window(sid),
                               self.conn.max_outbound_frame_size)
                    if size <= 0:
                        break
                    self.conn.send_data(sid, bytes(self.outgoing[:size]))
                    del self.outgoing[:size]
                    self.given += size
                if self.end_wanted and not self.outgoing and not self.end_sent:
                    self.conn.end_stream(sid)
                    self.end_sent = True
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError) as error:
                self.send_closed = "the stream is closed for sending (%r)" % error
        if sid is not None and self.cancel_wanted and not self.cancelled:
            self.cancelled = True
            try:
                self.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                pass
        data = self.conn.data_to_send()
        if data and self.tls is not None:
            self.tls["obj"].write(data)
            data = self.tls["out"].read()
        self._queue_raw(data)
        if self.send_closed is not None and self.outgoing:
            self.outgoing.clear()
        self.cond.notify_all()

    # ---- used by the handles and the handshake ----------------------------

    def wait(self, predicate, deadline, what):
        """Waits (lock held) until predicate() holds; socket.timeout at the
        deadline (None: none)."""
        while not predicate():
            if deadline is None:
                self.cond.wait(1.0)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out waiting for %s" % what)
            self.cond.wait(left)

    def open_stream(self, path, authority, extensions, early):
        """The extended CONNECT of RFC 8441 4 and 5, with `early` WebSocket
        bytes in the same write (the HTTP/2 form of frames written with the
        end of the handshake)."""
        fields = [(":method", "CONNECT"), (":protocol", "websocket"),
                  (":scheme", "https" if self.tls is not None else "http"), (":path", path),
                  (":authority", authority), ("sec-websocket-version", "13")]
        if extensions is not None:
            fields.append(("sec-websocket-extensions", extensions))
        with self.cond:
            self.stream_id = self.conn.get_next_available_stream_id()
            self.conn.send_headers(self.stream_id, fields)
            self.outgoing += early
            self._produce()
        self.kick()

    def close(self):
        with self.cond:
            self.stopping = True
        self.wake()
        self.thread.join(timeout=5)
        for closing in (lambda: self.raw.close(), lambda: os.close(self.wake_r),
                        lambda: os.close(self.wake_w)):
            try:
                closing()
            except OSError:
                pass


class StreamSocket:
    """The socket a case sees: one handle on the Link's stream. dup() gives
    another handle (its own timeout); closing the first ends the Link."""

    # What the cases' messages call the transport (wire.Peer.expect_end).
    transport_name = "stream (END_STREAM, RFC 8441 5)"

    def __init__(self, link, primary=True):
        self.link = link
        self.primary = primary
        self.timeout = None
        self.closed = False

    def settimeout(self, seconds):
        self.timeout = seconds

    def gettimeout(self):
        return self.timeout

    def setsockopt(self, *args):
        pass  # TCP_NODELAY is set on the connection's socket

    def _deadline(self):
        return None if self.timeout is None else time.monotonic() + self.timeout

    def sendall(self, data):
        link = self.link
        data = bytes(data)
        with link.cond:
            if link.send_closed is not None:
                raise BrokenPipeError(link.send_closed)
            if link.end_wanted or link.cancel_wanted:
                raise BrokenPipeError("our side of the stream is already ended")
            link.outgoing += data
            target = link.given + len(link.outgoing)
            link._produce()
        link.kick()
        deadline = self._deadline()
        with link.cond:
            link.wait(lambda: link.given >= target or link.send_closed is not None, deadline,
                      "room in the server's flow-control windows")
            if link.given < target:
                raise (ConnectionResetError if link.reset is not None or link.lost
                       else BrokenPipeError)(link.send_closed)
            mark = link.raw_produced
            link.wait(lambda: link.raw_written >= mark or link.lost is not None, deadline,
                      "the socket to take our bytes")
            if link.raw_written < mark:
                raise ConnectionResetError(link.lost)

    def send(self, data):
        self.sendall(data)
        return len(data)

    def recv(self, size):
        link = self.link
        deadline = self._deadline()
        with link.cond:
            link.wait(lambda: len(link.inbox) > link.inbox_start or link.ended
                      or link.reset is not None or link.lost is not None or link.cancelled,
                      deadline, "the stream's DATA")
            available = len(link.inbox) - link.inbox_start
            if available > 0:
                n = min(size, available)
                data = bytes(link.inbox[link.inbox_start:link.inbox_start + n])
                link.inbox_start += n
                if link.inbox_start > (1 << 20) and link.inbox_start * 2 > len(link.inbox):
                    del link.inbox[:link.inbox_start]
                    link.inbox_start = 0
                # The server may send as much again: a WINDOW_UPDATE when h2
                # judges it worth one (RFC 9113 6.9).
                wake = link.reset is None and link.lost is None
                if wake:
                    link.conn.acknowledge_received_data(n, link.stream_id)
                    link._produce()
            elif link.ended or link.cancelled:
                return b""
            else:
                raise ConnectionResetError(
                    "the server reset the stream (RST_STREAM %s)" % error_name(link.reset)
                    if link.reset is not None else link.lost)
        if wake:
            link.kick()
        return data

    def shutdown(self, how):
        link = self.link
        with link.cond:
            if how == socket.SHUT_WR:
                link.end_wanted = True
            else:
                link.cancel_wanted = True
            link._produce()
        link.kick()

    def dup(self):
        handle = StreamSocket(self.link, primary=False)
        handle.timeout = self.timeout
        return handle

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.primary:
            ENDINGS[self.transport_end()] += 1
            self.link.close()

    # ---- what only HTTP/2 can tell ----------------------------------------

    def transport_end(self):
        """How the stream ended, for a report: 'END_STREAM',
        'END_STREAM then RST_STREAM NO_ERROR', 'RST_STREAM CANCEL', ..."""
        link = self.link
        with link.cond:
            if link.reset is not None:
                name = "RST_STREAM %s" % error_name(link.reset)
                return "END_STREAM then " + name if link.ended_before_reset else name
            if link.ended:
                return "END_STREAM"
            return link.lost or "open"

    def check_orderly_end(self):
        """After the close handshake the server ends the WebSocket's
        transport in order: END_STREAM (RFC 8441 5: the TCP FIN of RFC 6455
        7.1.1), optionally followed by RST_STREAM NO_ERROR, which RFC 9113
        8.1 allows a server once its response is complete. A reset without
        END_STREAM is the TCP RST of RFC 8441 5, an abort, and a lost
        connection takes the neighbours' streams with it."""
        link = self.link
        with link.cond:
            fine = link.ended and (link.reset is None or (link.ended_before_reset and
                                                          link.reset == 0))
        if not fine:
            raise CaseFailure("after the close handshake the stream ended with %s, not "
                              "END_STREAM (RFC 8441 5: END_STREAM is the orderly end, "
                              "RST_STREAM the abort)" % self.transport_end())

    def goaways(self):
        with self.link.cond:
            return list(self.link.goaways)


def connect_client(host, port, path, timeouts, early=b"", extensions=None, tls_context=None):
    """The HTTP/2 counterpart of wire.connect_client: a new HTTP/2
    connection, the server's SETTINGS (RFC 8441 3: SETTINGS_ENABLE_CONNECT_
    PROTOCOL = 1 before any :protocol), an extended CONNECT with `early`
    WebSocket bytes right behind it, and the answer checked: :status 200
    (RFC 8441 5: not 101), no sec-websocket-accept (there is no key), no
    extension nobody offered (RFC 6455 9.1). Returns a Peer on the stream."""
    try:
        link = Link(host, port, timeouts, tls_context)
    except (OSError, ssl.SSLError) as error:
        raise CaseFailure("could not open the HTTP/2 connection: %s" % error)
    handle = StreamSocket(link)
    try:
        deadline = time.monotonic() + timeouts.reply
        with link.cond:
            try:
                link.wait(lambda: link.settings_seen or link.lost is not None, deadline,
                          "the server's SETTINGS")
            except socket.timeout:
                raise CaseFailure("no SETTINGS from the server within %g s" % timeouts.reply)
            if not link.settings_seen:
                raise CaseFailure("the connection ended before the server's SETTINGS: %s"
                                  % link.lost)
            enabled = link.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
        if enabled != 1:
            raise CaseFailure("the server's SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 "
                              "(RFC 8441 3): %r" % link.remote_settings)
        link.open_stream(path, "%s:%d" % (host, port), extensions, early)
        with link.cond:
            try:
                link.wait(lambda: link.status is not None or link.reset is not None
                          or link.ended or link.lost is not None, deadline,
                          "the answer to the extended CONNECT")
            except socket.timeout:
                raise CaseFailure("no answer to the extended CONNECT within %g s"
                                  % timeouts.reply)
            status, headers = link.status, dict(link.headers)
        if status is None:
            raise CaseFailure("the extended CONNECT got no answer: %s" % handle.transport_end())
        if status != 200:
            raise CaseFailure("extended CONNECT refused: :status %d (RFC 8441 5 wants 200)"
                              % status)
        if "sec-websocket-accept" in headers:
            raise CaseFailure("sec-websocket-accept in the 200 (RFC 8441 5: no key, no accept)")
        answered = headers.get("sec-websocket-extensions")
        if answered and extensions is None:
            raise CaseFailure("the server accepted an extension nobody offered (9.1)")
    except BaseException:
        handle.close()
        raise
    peer = Peer(handle, "client", timeouts)
    peer.offered_extensions = extensions
    peer.extensions_response = answered or None
    return peer
