"""Group 5: fragmentation (RFC 6455 5.4). Every legal pattern of fragments,
with control frames between them, is echoed as one message; the illegal
sequences fail the connection with 1002."""

from functools import partial
from itertools import product

from suite import Builder, binary_payload, text_payload
from wire import BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT, close_payload


def split(payload, sizes):
    parts, offset = [], 0
    for size in sizes:
        parts.append(payload[offset:offset + size])
        offset += size
    parts.append(payload[offset:])
    return parts


def fragments_with_controls(peer, opcode, parts, controls):
    """Sends `parts` as one message and, before fragment i + 1, the control
    frame controls[i] ("ping", "pong" or None), all in one write. RFC 6455
    5.4: control frames may be injected between fragments; pings are
    answered at once, the message is echoed whole at its end."""
    data = b""
    pings = []
    for i, part in enumerate(parts):
        data += peer.frame(opcode if i == 0 else CONTINUATION, part, fin=i == len(parts) - 1)
        control = controls[i] if i < len(controls) else None
        if control == "ping":
            pings.append(b"between %d and %d" % (i, i + 1))
            data += peer.frame(PING, pings[-1])
        elif control == "pong":
            data += peer.frame(PONG, b"unsolicited %d" % i)
    peer.send(data)
    for payload in pings:
        peer.expect_pong(payload)
    peer.expect_message(opcode, b"".join(parts))
    peer.finish()


def fragments_one_at_a_time(peer, opcode, parts):
    # A ping between fragments is answered while the message is still open:
    # the pong arrives before the final fragment is even sent (5.4, 5.5.2).
    for i, part in enumerate(parts):
        peer.send_frame(opcode if i == 0 else CONTINUATION, part, fin=i == len(parts) - 1)
        if i < len(parts) - 1:
            peer.send_frame(PING, b"after fragment %d" % i)
            peer.expect_pong(b"after fragment %d" % i)
    peer.expect_message(opcode, b"".join(parts))
    peer.finish()


def fragments_in_pieces(peer, opcode, parts, piece):
    data = b"".join(peer.frame(opcode if i == 0 else CONTINUATION, part,
                               fin=i == len(parts) - 1) + peer.frame(PING, b"p%d" % i)
                    for i, part in enumerate(parts))
    peer.send_in_pieces(data, piece)
    peer.expect_unordered([(opcode, b"".join(parts))], [b"p%d" % i for i in range(len(parts))])
    peer.finish()


def illegal_sequence(peer, frames, echoed=()):
    """Frames that break RFC 6455 5.4 (or 5.5 for fragmented control frames)
    after one good message: the good messages are echoed, then 1002, and
    nothing after the offending frame."""
    data = peer.frame(TEXT, b"before")
    for opcode, payload, fin in frames:
        data += peer.frame(opcode, payload, fin=fin)
    data += peer.frame(TEXT, b"must not be echoed")
    peer.send(data)
    peer.expect_text("before")
    for opcode, payload in echoed:
        peer.expect_message(opcode, payload)
    peer.fail_expected(1002)


def legal_pattern_cases(b):
    # Sub-group 1: fragment counts 1-4 with a ping, a pong or nothing in
    # each gap between fragments, for text and for binary.
    for opcode in (TEXT, BINARY):
        kind = "text" if opcode == TEXT else "binary"
        for count in range(1, 5):
            for controls in product((None, "ping", "pong"), repeat=count - 1):
                if count == 4 and "pong" in controls and "ping" in controls:
                    continue  # the 3-gap mixes add nothing the others miss
                payload = text_payload(20 * count, count) if opcode == TEXT else \
                    binary_payload(20 * count, count)
                parts = split(payload, [20] * (count - 1))
                shown = ",".join(c or "-" for c in controls) or "no gaps"
                b.add(1, "%s in %d fragment(s), between them: %s" % (kind, count, shown),
                      partial(fragments_with_controls, opcode=opcode, parts=parts,
                              controls=list(controls)))
    # Sub-group 2: empty fragments anywhere.
    for shape in ((b"", b"", b""), (b"", b"abc"), (b"abc", b""), (b"a", b"", b"", b"b"),
                  (b"",)):
        for opcode in (TEXT, BINARY):
            b.add(2, "%s from fragments of lengths %s" % (
                "text" if opcode == TEXT else "binary", [len(p) for p in shape]),
                partial(fragments_with_controls, opcode=opcode, parts=list(shape),
                        controls=["ping"] * (len(shape) - 1)))
    # Sub-group 3: pings answered while the message is open.
    b.add(3, "text in 5 fragments, each followed by a ping answered at once",
          partial(fragments_one_at_a_time, opcode=TEXT, parts=split(text_payload(50), [10] * 4)))
    b.add(3, "binary in 3 fragments, each followed by a ping answered at once",
          partial(fragments_one_at_a_time, opcode=BINARY,
                  parts=split(binary_payload(300), [100, 100])))
    b.add(3, "text in 3 fragments with pings, one byte per write",
          partial(fragments_in_pieces, opcode=TEXT, parts=split(text_payload(30), [10, 10]),
                  piece=1))
    b.add(3, "binary of 64 KiB in 4 fragments with pings, 1000 bytes per write",
          partial(fragments_in_pieces, opcode=BINARY,
                  parts=split(binary_payload(65536), [16384] * 3), piece=1000))
    b.add(3, "text in 1000 fragments of 7 bytes",
          partial(fragments_with_controls, opcode=TEXT,
                  parts=split(text_payload(7000), [7] * 999), controls=[]))


def illegal_pattern_cases(b):
    sequences = (
        ("continuation (fin) with no message open", [(CONTINUATION, b"orphan", True)]),
        ("continuation (not fin) with no message open, then its end",
         [(CONTINUATION, b"orphan", False), (CONTINUATION, b"end", True)]),
        ("continuation after a finished text message",
         [(TEXT, b"whole", True), (CONTINUATION, b"late", True)]),
        ("new text message inside an open text message",
         [(TEXT, b"open", False), (TEXT, b"nested", True)]),
        ("new text start (not fin) inside an open text message",
         [(TEXT, b"open", False), (TEXT, b"nested", False), (CONTINUATION, b"end", True)]),
        ("new binary message inside an open text message",
         [(TEXT, b"open", False), (BINARY, b"nested", True)]),
        ("new text message inside an open binary message",
         [(BINARY, b"open", False), (TEXT, b"nested", True)]),
        ("new binary message inside an open binary message",
         [(BINARY, b"open", False), (BINARY, b"\x00", False), (CONTINUATION, b"", True)]),
        ("fragmented ping", [(PING, b"half", False), (CONTINUATION, b"half", True)]),
        ("fragmented pong", [(PONG, b"half", False), (CONTINUATION, b"half", True)]),
        ("fragmented close", [(CLOSE, close_payload(1000), False), (CONTINUATION, b"", True)]),
        ("fragmented ping inside an open text message",
         [(TEXT, b"open", False), (PING, b"half", False), (CONTINUATION, b"end", True)]),
    )
    for title, frames in sequences:
        # A message that was complete before the offending frame is echoed.
        echoed = [(frames[0][0], frames[0][1])] if frames[0][2] and frames[0][0] == TEXT else []
        b.add(4, title + ": fail 1002", partial(illegal_sequence, frames=frames, echoed=echoed))


def cases(scale):
    b = Builder(5)
    legal_pattern_cases(b)
    illegal_pattern_cases(b)
    return b.cases
