"""Group 2: pings and pongs (RFC 6455 5.5.2, 5.5.3; control frames 5.5)."""

from functools import partial

from suite import Builder, binary_payload, text_payload
from wire import PING, PONG, TEXT


def ping_answered(peer, payload, piece=None):
    # RFC 6455 5.5.3: the pong carries exactly the ping's application data.
    data = peer.frame(PING, payload)
    if piece is None:
        peer.send(data)
    else:
        peer.send_in_pieces(data, piece, pause=0.001)
    peer.expect_pong(payload)
    peer.finish()


def ping_too_long(peer, length_form):
    # RFC 6455 5.5: control frames carry at most 125 bytes; a longer one is
    # a protocol error (7.4.1: 1002), and no pong may come back.
    peer.send_frame(TEXT, b"before")
    peer.expect_text("before")
    peer.send_frame(PING, binary_payload(126), length_form=length_form)
    peer.fail_expected(1002)


def fragmented_control(peer, opcode):
    # RFC 6455 5.5: control frames MUST NOT be fragmented.
    peer.send_frame(TEXT, b"before")
    peer.expect_text("before")
    peer.send(peer.frame(opcode, b"part one", fin=False) + peer.frame(0, b"part two"))
    peer.fail_expected(1002)


def unsolicited_pong(peer, payload):
    # RFC 6455 5.5.3: an unsolicited pong is allowed and needs no answer.
    peer.send_frame(PONG, payload)
    peer.sync()
    peer.send_frame(TEXT, b"after the pong")
    peer.expect_text("after the pong")
    peer.finish()


def pong_then_ping(peer):
    peer.send(peer.frame(PONG, b"unsolicited") + peer.frame(PING, b"solicited"))
    peer.expect_pong(b"solicited")
    peer.finish()


def pings_in_a_row(peer, count, pause):
    payloads = [b"ping %d" % i for i in range(count)]
    frames = [peer.frame(PING, p) for p in payloads]
    if pause:
        for frame, payload in zip(frames, payloads):
            peer.send(frame)
            peer.expect_pong(payload)
    else:
        peer.send(b"".join(frames))
        for p in payloads:
            peer.expect_pong(p)
    peer.finish()


def ping_between_messages(peer):
    peer.send(peer.frame(TEXT, b"one") + peer.frame(PING, b"middle") + peer.frame(TEXT, b"two"))
    peer.expect_unordered([(TEXT, b"one"), (TEXT, b"two")], [b"middle"])
    peer.finish()


def cases(scale):
    b = Builder(2)
    b.add(1, "ping without payload", partial(ping_answered, payload=b""))
    b.add(1, "ping with 125 bytes of text", partial(ping_answered, payload=text_payload(125)))
    b.add(1, "ping with 125 bytes of binary", partial(ping_answered, payload=binary_payload(125)))
    b.add(1, "ping with bytes that are not UTF-8",
          partial(ping_answered, payload=b"\xff\xfe\xc0\x80\xed\xa0\x80"))
    b.add(1, "ping of 125 bytes, one byte per write",
          partial(ping_answered, payload=binary_payload(125, 7), piece=1))
    b.add(2, "ping of 126 bytes (16-bit length): fail 1002",
          partial(ping_too_long, length_form=None))
    b.add(2, "ping of 126 bytes (64-bit length): fail 1002",
          partial(ping_too_long, length_form=127))
    b.add(3, "fragmented ping: fail 1002", partial(fragmented_control, opcode=PING))
    b.add(3, "fragmented pong: fail 1002", partial(fragmented_control, opcode=PONG))
    b.add(4, "unsolicited empty pong is ignored", partial(unsolicited_pong, payload=b""))
    b.add(4, "unsolicited pong with 125 bytes is ignored",
          partial(unsolicited_pong, payload=binary_payload(125)))
    b.add(4, "unsolicited pong, then a ping: only the ping's pong", pong_then_ping)
    b.add(5, "ten pings in one write answered in order",
          partial(pings_in_a_row, count=10, pause=False))
    b.add(5, "ten pings one at a time answered in order",
          partial(pings_in_a_row, count=10, pause=True))
    b.add(5, "ping between two messages", ping_between_messages)
    return b.cases
