"""Group 1: framing. Text and binary messages of every length form (RFC 6455
5.2: 7-bit, 16-bit and 64-bit lengths) sent whole and in tiny pieces, and the
masking rule of 5.1."""

from functools import partial

from suite import Builder, binary_payload, size_name, text_payload
from wire import BINARY, PING, TEXT


def echo_once(peer, opcode, payload, piece=None, pause=0.0):
    data = peer.frame(opcode, payload)
    if piece is None:
        peer.send(data)
    else:
        peer.send_in_pieces(data, piece, pause)
    peer.expect_message(opcode, payload)
    peer.finish()


def header_byte_by_byte(peer, opcode, payload):
    # The header (with its extended length and masking key) arrives one byte
    # per read, so the receiver must keep a partial header across reads.
    data = peer.frame(opcode, payload)
    header = len(data) - len(payload)
    peer.send_in_pieces(data[:header], 1, pause=0.003)
    peer.send(data[header:])
    peer.expect_message(opcode, payload)
    peer.finish()


def many_in_one_write(peer, count):
    messages = [(TEXT if i % 2 == 0 else BINARY,
                 text_payload(i % 130, i) if i % 2 == 0 else binary_payload(i % 130, i))
                for i in range(count)]
    peer.send(b"".join(peer.frame(opcode, payload) for opcode, payload in messages))
    for opcode, payload in messages:
        peer.expect_message(opcode, payload)
    peer.finish()


def wrong_masking(peer):
    # RFC 6455 5.1: a server fails the connection on an unmasked frame from a
    # client, a client on a masked frame from a server (7.4.1: 1002).
    peer.send_frame(TEXT, b"before")
    peer.expect_text("before")
    peer.send_frame(TEXT, b"wrongly masked", masked=not peer.masks)
    peer.fail_expected(1002)


def early_frames_echoed(peer, expected_messages, expected_pongs):
    # Frames that arrived with the end of the handshake (in the bytes after
    # the request, or after the 101 response) belong to the connection
    # (RFC 6455 4.1, 4.2.2: the data framing starts right after the head).
    peer.expect_unordered(expected_messages, expected_pongs)
    peer.finish()


def piece_size(n):
    return 1 if n <= 128 else 7 if n <= 65536 else 997


def cases(scale):
    b = Builder(1)
    sizes = [0, 125, 126, 127, 128, 65535, 65536, 1 << 20]
    for sub, opcode, pieces in ((1, TEXT, False), (2, BINARY, False), (3, TEXT, True),
                                (4, BINARY, True)):
        for n in sizes:
            payload = text_payload(n) if opcode == TEXT else binary_payload(n)
            kind = "text" if opcode == TEXT else "binary"
            if pieces:
                b.add(sub, "%s of %s in pieces of %d bytes" % (kind, size_name(n), piece_size(n)),
                      partial(echo_once, opcode=opcode, payload=payload, piece=piece_size(n)))
            else:
                b.add(sub, "%s of %s in one write" % (kind, size_name(n)),
                      partial(echo_once, opcode=opcode, payload=payload))
    for n in (0, 125, 126, 65535, 65536):
        b.add(5, "text of %s, header one byte per read" % size_name(n),
              partial(header_byte_by_byte, opcode=TEXT, payload=text_payload(n)))
    b.add(5, "binary of 200 B, every byte in a read of its own",
          partial(echo_once, opcode=BINARY, payload=binary_payload(200), piece=1, pause=0.002))
    b.add(6, "100 text and binary messages in one write, echoed in order",
          partial(many_in_one_write, count=100))
    b.add(7, "frame masked the wrong way for the role: fail 1002", wrong_masking)
    b.add(8, "text frame in the same write as the end of the handshake",
          partial(early_frames_echoed, expected_messages=[(TEXT, b"early")], expected_pongs=[]),
          early=[(TEXT, b"early")])
    b.add(8, "text, ping and binary in the same write as the end of the handshake",
          partial(early_frames_echoed,
                  expected_messages=[(TEXT, b"early"), (BINARY, b"\x00\xff")],
                  expected_pongs=[b"early ping"]),
          early=[(TEXT, b"early"), (PING, b"early ping"), (BINARY, b"\x00\xff")])
    b.add(8, "ping in the same write as the end of the handshake",
          partial(early_frames_echoed, expected_messages=[], expected_pongs=[b"early ping"]),
          early=[(PING, b"early ping")])
    return b.cases
