"""A TLS connection that behaves like the plain socket the cases use:
sendall, recv, settimeout, shutdown, dup, close, setsockopt.

Python's ssl.SSLSocket cannot do two things the cases need: dup() (a
writer thread with its own timeout) and shutdown(SHUT_WR) while still
reading TLS (an end of stream with no close frame; after shutdown() an
SSLSocket drops TLS and reads raw bytes). This drives an ssl.SSLObject over
memory BIOs instead: shutdown(SHUT_WR) ends the TCP stream without
close_notify, which is exactly the "stream ends" of the cases. One lock
guards the SSL object, so a dup() writer and the reader can run at once."""

import socket
import ssl
import threading


class TlsSocket:
    def __init__(self, sock, context, server_hostname, shared=None):
        self.sock = sock
        if shared is None:
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
            shared = {"in": incoming, "out": outgoing, "obj": obj, "lock": threading.Lock(),
                      "send": threading.Lock(), "eof": False}
            self.shared = shared
            self._handshake()
        self.shared = shared

    def _flush(self):
        # Records leave in the order they were made: one sender at a time.
        # A reader with nothing to send never waits behind a blocked writer.
        with self.shared["lock"]:
            if not self.shared["out"].pending:
                return
        with self.shared["send"]:
            with self.shared["lock"]:
                data = self.shared["out"].read()
            if data:
                self.sock.sendall(data)

    def _feed(self):
        data = self.sock.recv(65536)
        with self.shared["lock"]:
            if data:
                self.shared["in"].write(data)
            else:
                self.shared["in"].write_eof()
                self.shared["eof"] = True
        return bool(data)

    def _handshake(self):
        while True:
            try:
                with self.shared["lock"]:
                    self.shared["obj"].do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                if not self._feed():
                    raise ConnectionResetError("the stream ended during the TLS handshake")

    def sendall(self, data):
        with self.shared["lock"]:
            self.shared["obj"].write(data)
        self._flush()

    def recv(self, size):
        while True:
            try:
                with self.shared["lock"]:
                    data = self.shared["obj"].read(size)
                self._flush()
                return data
            except ssl.SSLWantReadError:
                self._flush()
                if not self._feed():
                    continue  # the BIO's end makes the next read say so
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                return b""

    def settimeout(self, seconds):
        self.sock.settimeout(seconds)

    def setsockopt(self, *args):
        self.sock.setsockopt(*args)

    def shutdown(self, how):
        self.sock.shutdown(how)

    def dup(self):
        return TlsSocket(self.sock.dup(), None, None, self.shared)

    def close(self):
        self.sock.close()


def wrap(sock, context, server_hostname):
    return TlsSocket(sock, context, server_hostname)
