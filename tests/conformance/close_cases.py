"""Group 7: the closing handshake (RFC 6455 5.5.1, 7.1, 7.4)."""

import socket
import struct
from functools import partial

from suite import Builder, binary_payload, text_payload
from wire import (BINARY, CLOSE, PING, TEXT, CaseFailure, PeerClosed, check_close_payload,
                  close_payload, is_sendable_close_code)


def close_and_reply(peer, code, reason=b""):
    # RFC 6455 5.5.1: the endpoint answers a close with a close, typically
    # echoing the code; then a server closes the TCP connection (7.1.1).
    peer.send_frame(TEXT, b"before the close")
    peer.expect_text("before the close")
    peer.send_frame(CLOSE, close_payload(code, reason))
    peer.expect_close({code})


def message_then_close(peer, payload=b"last words"):
    # The echo was due before the close arrived, so it goes out first and the
    # close reply follows it (RFC 6455 5.5.1: no data after a close).
    peer.send(peer.frame(BINARY, payload) + peer.frame(CLOSE, close_payload(1000)))
    peer.expect_message(BINARY, payload)
    peer.expect_close({1000})


def data_after_close(peer, after):
    # RFC 6455 5.5.1: after sending a close, an endpoint sends no more data;
    # whatever the other side still gets is ignored (1.4: "discard"). Here
    # the frames after our close must not be echoed or answered.
    frames = {"text": peer.frame(TEXT, b"must not be echoed"),
              "ping": peer.frame(PING, b"must not be answered"),
              "close": peer.frame(CLOSE, close_payload(1001)),
              "garbage": b"\xff\xff\x00\x01 not even a frame"}
    peer.send(peer.frame(CLOSE, close_payload(1000)) + frames[after])
    peer.expect_close({1000})


def close_in_open_message(peer):
    # A close between fragments ends the connection; the unfinished message
    # is dropped, not echoed.
    peer.send(peer.frame(TEXT, b"unfinished", fin=False) + peer.frame(CLOSE, close_payload(1000)))
    peer.expect_close({1000})


def close_in_pieces(peer):
    peer.send_in_pieces(peer.frame(CLOSE, close_payload(1000, b"bye")), 1, pause=0.002)
    peer.expect_close({1000})


def close_then_half_close(peer):
    # Our write side ends right after our close: the other side still
    # answers the close (the stream is only half closed) and then ends.
    peer.send_frame(CLOSE, close_payload(1000))
    peer.sock.shutdown(socket.SHUT_WR)
    peer.expect_close({1000}, reply=False)


def stream_ends_without_close(peer, data):
    """The TCP stream ends with no close frame (RFC 6455 7.1.5: code 1006,
    which is never sent, 7.4.1). The other side ends the connection too;
    if it still sends a close, the code must be one that may be sent."""
    peer.send_frame(TEXT, b"before")
    peer.expect_text("before")
    peer.send(data(peer))
    peer.sock.shutdown(socket.SHUT_WR)
    try:
        frame = peer.read_frame()
    except PeerClosed:
        return
    except socket.timeout:
        raise CaseFailure("the connection stayed open after the stream ended")
    if frame.opcode != CLOSE:
        raise CaseFailure("got %s after the stream ended" % frame.describe())
    check_close_payload(frame.payload)
    peer.expect_end()


def empty_close(peer):
    # RFC 6455 5.5.1: a close may have no body; the answer then has no code
    # either (7.1.5: the received code is 1005, which is never sent) or 1000.
    peer.send_frame(CLOSE, b"")
    peer.expect_close({None, 1000})


def bad_close(peer, payload, codes=frozenset({1002}), length_form=None):
    peer.send_frame(TEXT, b"before")
    peer.expect_text("before")
    peer.send_frame(CLOSE, payload, length_form=length_form)
    peer.expect_close(set(codes))


def cases(scale):
    b = Builder(7)
    b.add(1, "close 1000: same code back, then the server ends TCP",
          partial(close_and_reply, code=1000))
    b.add(1, "message and close in one write: echo, then close", message_then_close)
    b.add(1, "4 MiB message and close in one write: whole echo, then close",
          partial(message_then_close, payload=binary_payload(4 << 20)))
    for after in ("text", "ping", "close", "garbage"):
        b.add(1, "%s after the close is ignored" % after, partial(data_after_close, after=after))
    b.add(1, "close inside an open fragmented message", close_in_open_message)
    b.add(1, "close one byte per write", close_in_pieces)
    b.add(1, "close, then our TCP half-close: the close is still answered",
          close_then_half_close)
    b.add(5, "stream ends between frames, no close",
          partial(stream_ends_without_close, data=lambda peer: b""))
    b.add(5, "stream ends inside a frame header",
          partial(stream_ends_without_close, data=lambda peer: peer.frame(TEXT, b"x" * 300)[:3]))
    b.add(5, "stream ends inside a frame payload",
          partial(stream_ends_without_close, data=lambda peer: peer.frame(TEXT, b"x" * 300)[:50]))
    b.add(5, "stream ends inside a fragmented message",
          partial(stream_ends_without_close, data=lambda peer: peer.frame(TEXT, b"part",
                                                                          fin=False)))

    b.add(2, "empty close: empty or 1000 back", empty_close)
    b.add(2, "1-byte close payload: fail 1002", partial(bad_close, payload=b"\x03"))
    b.add(2, "close 1000 with a 123-byte reason (125-byte payload)",
          partial(close_and_reply, code=1000, reason=text_payload(123)))
    b.add(2, "close with a 124-byte reason (126-byte payload): fail 1002",
          partial(bad_close, payload=close_payload(1000, text_payload(124))))
    b.add(2, "close 1000 with a UTF-8 reason",
          partial(close_and_reply, code=1000,
                  reason="\u03ba\u1f79\u03c3\u03bc\u03b5 \u20ac".encode()))
    # RFC 6455 5.5.1 requires a UTF-8 reason but names no code for a bad
    # one; 1007 (7.4.1, data inconsistent with its type) and 1002 both fit.
    b.add(2, "close reason that is not UTF-8: fail 1002 or 1007",
          partial(bad_close, payload=close_payload(1000, b"bad \xff\xfe reason"),
                  codes={1002, 1007}))
    b.add(2, "close reason with a surrogate: fail 1002 or 1007",
          partial(bad_close, payload=close_payload(1000, b"\xed\xa0\x80"), codes={1002, 1007}))
    b.add(2, "close reason cut in a code point: fail 1002 or 1007",
          partial(bad_close, payload=close_payload(1000, b"ok \xe2\x82"), codes={1002, 1007}))

    # 7.3 every code the registry defines and each boundary of the ranges of
    # RFC 6455 7.4.2; sendable codes are echoed, the others fail with 1002.
    codes = sorted(set(list(range(995, 1021)) + [0, 1, 500, 1100, 1999, 2000, 2500, 2999,
                                                  3000, 3001, 3500, 3999, 4000, 4001, 4500,
                                                  4998, 4999, 5000, 5001, 10000, 65535]))
    for code in codes:
        if is_sendable_close_code(code):
            b.add(3, "close code %d is echoed" % code, partial(close_and_reply, code=code))
    for code in codes:
        if not is_sendable_close_code(code):
            b.add(4, "close code %d: fail 1002" % code,
                  partial(bad_close, payload=struct.pack("!H", code)))
    return b.cases
