"""Groups 3 and 4: reserved bits and reserved opcodes (RFC 6455 5.2). With no
extension negotiated, a set RSV bit or an unknown opcode fails the
connection (1002, 7.4.1), and nothing after the bad frame is processed."""

from functools import partial

from suite import Builder
from wire import BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT, close_payload


def bad_frame_after_good(peer, bad, trailing=True):
    # One write: a good message, the bad frame, then a message that must not
    # be echoed (RFC 6455 7.1.7: after failing, no more data is processed).
    data = peer.frame(TEXT, b"before") + bad(peer)
    if trailing:
        data += peer.frame(TEXT, b"must not be echoed") + peer.frame(PING, b"nor answered")
    peer.send(data)
    peer.expect_text("before")
    peer.fail_expected(1002)


def frame_with_rsv(opcode, payload, rsv, open_message=False):
    def build(peer):
        prefix = peer.frame(TEXT, b"open ", fin=False) if open_message else b""
        return prefix + peer.frame(opcode, payload, rsv=rsv)
    return build


def frame_with_opcode(opcode, payload, open_message=False):
    def build(peer):
        prefix = peer.frame(TEXT, b"open ", fin=False) if open_message else b""
        return prefix + peer.frame(opcode, payload)
    return build


def reserved_bits_cases():
    b = Builder(3)
    kinds = (
        ("text", TEXT, b"Hello, world", False),
        ("empty text", TEXT, b"", False),
        ("binary", BINARY, b"\x00\xff\x10", False),
        ("empty binary", BINARY, b"", False),
        ("continuation", CONTINUATION, b" rest", True),
        ("ping", PING, b"ping", False),
        ("empty ping", PING, b"", False),
        ("pong", PONG, b"pong", False),
        ("close", CLOSE, close_payload(1000), False),
    )
    for rsv in range(1, 8):
        bits = "+".join("RSV%d" % (i + 1) for i in range(3) if rsv & (4 >> i))
        for name, opcode, payload, open_message in kinds:
            b.add(rsv, "%s frame with %s: fail 1002" % (name, bits),
                  partial(bad_frame_after_good,
                          bad=frame_with_rsv(opcode, payload, rsv, open_message)))
    return b.cases


def reserved_opcode_cases():
    b = Builder(4)
    for sub, opcodes in ((1, range(3, 8)), (2, range(11, 16))):
        kind = "data" if sub == 1 else "control"
        for opcode in opcodes:
            b.add(sub, "reserved %s opcode %d, empty: fail 1002" % (kind, opcode),
                  partial(bad_frame_after_good, bad=frame_with_opcode(opcode, b"")))
            b.add(sub, "reserved %s opcode %d with payload: fail 1002" % (kind, opcode),
                  partial(bad_frame_after_good, bad=frame_with_opcode(opcode, b"reserved")))
            b.add(sub, "reserved %s opcode %d inside a fragmented message: fail 1002" % (
                kind, opcode),
                  partial(bad_frame_after_good,
                          bad=frame_with_opcode(opcode, b"x", open_message=True)))
    return b.cases


def cases(scale):
    return reserved_bits_cases() + reserved_opcode_cases()
