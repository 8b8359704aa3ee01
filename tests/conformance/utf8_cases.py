"""Group 6: UTF-8 in text messages (RFC 6455 5.6, 8.1; RFC 3629).

Valid text of every code point length is echoed, also when a code point is
split across fragments. Invalid text fails the connection with 1007 (7.4.1)
as soon as the first impossible byte arrives (8.1, fail fast): each invalid
case sends the bytes up to and including that byte, and the close must come
back before the rest of the message is sent."""

from functools import partial

import utf8_reference
from suite import Builder
from wire import BINARY, CONTINUATION, TEXT

VALID = (
    ("1-byte code points", "Hello, world"),
    ("U+0000 and U+007F", "\u0000\u007f"),
    ("2-byte code points", "\u00e9\u00df\u03ba\u03cc\u03c3\u03bc\u03b5"),
    ("U+0080 and U+07FF", "\u0080\u07ff"),
    ("3-byte code points", "\u20ac\u4e16\u754c"),
    ("U+0800, U+D7FF, U+E000, U+FFFD", "\u0800\ud7ff\ue000\ufffd"),
    ("U+FFFE and U+FFFF (noncharacters are valid)", "\ufffe\uffff"),
    ("4-byte code points", "\U0001F600\U0001D11E"),
    ("U+10000 and U+10FFFF", "\U00010000\U0010ffff"),
    ("mixed lengths", "a\u00e9\u20ac\U0001F600z-\u03ba\u1f79\u03c3\u03bc\u03b5"),
)

# (title, bytes). Truncated sequences are invalid only where the message
# ends or where the next byte is not a continuation.
INVALID = (
    ("bare continuation 0x80", b"\x80"),
    ("bare continuation 0xBF", b"\xbf"),
    ("two bare continuations", b"\x80\xbf"),
    ("lead byte 0xC0", b"\xc0"),
    ("lead byte 0xC1", b"\xc1"),
    ("lead byte 0xF5", b"\xf5"),
    ("lead byte 0xF8 (5-byte form)", b"\xf8\x88\x80\x80\x80"),
    ("lead byte 0xFC (6-byte form)", b"\xfc\x84\x80\x80\x80\x80"),
    ("byte 0xFE", b"\xfe"),
    ("byte 0xFF", b"\xff"),
    ("overlong '/' in 2 bytes", b"\xc0\xaf"),
    ("overlong U+07FF in 3 bytes", b"\xe0\x9f\xbf"),
    ("overlong '/' in 3 bytes", b"\xe0\x80\xaf"),
    ("overlong U+FFFF in 4 bytes", b"\xf0\x8f\xbf\xbf"),
    ("overlong '/' in 4 bytes", b"\xf0\x80\x80\xaf"),
    ("surrogate U+D800", b"\xed\xa0\x80"),
    ("surrogate U+DBFF", b"\xed\xaf\xbf"),
    ("surrogate U+DC00", b"\xed\xb0\x80"),
    ("surrogate U+DFFF", b"\xed\xbf\xbf"),
    ("surrogate pair U+D800 U+DC00", b"\xed\xa0\x80\xed\xb0\x80"),
    ("U+110000", b"\xf4\x90\x80\x80"),
    ("U+1FFFFF", b"\xf7\xbf\xbf\xbf"),
    ("2-byte sequence cut short", b"\xc2"),
    ("3-byte sequence cut short", b"\xe2\x82"),
    ("4-byte sequence cut short", b"\xf0\x9f\x98"),
    ("lead byte then ASCII", b"\xc2A"),
    ("3-byte lead, then a bad second byte", b"\xe2(\xa1"),
    ("4-byte lead, bad third byte", b"\xf0\x90(\xbc"),
)


def echo_text(peer, payload, parts=None, piece=None):
    if parts is None:
        data = peer.frame(TEXT, payload)
    else:
        data = b"".join(peer.frame(TEXT if i == 0 else CONTINUATION, part,
                                   fin=i == len(parts) - 1) for i, part in enumerate(parts))
    if piece:
        peer.send_in_pieces(data, piece, pause=0.001)
    else:
        peer.send(data)
    peer.expect_message(TEXT, payload)
    peer.finish()


def fails_fast(peer, parts):
    """Sends the text message `parts` (one part: one frame) up to and
    including its first invalid byte, checks that a 1007 close comes back,
    and only then would the rest be due. A message that is merely cut short
    is sent whole: its end is where it becomes invalid."""
    payload = b"".join(parts)
    bad = utf8_reference.first_invalid(payload)
    frames = []
    offset = 0  # payload bytes before the current frame
    wire = b""
    cut = None  # wire bytes to send before the close must arrive
    for i, part in enumerate(parts):
        frame = peer.frame(TEXT if i == 0 else CONTINUATION, part, fin=i == len(parts) - 1)
        header = len(frame) - len(part)
        if cut is None and bad is not None and offset <= bad < offset + len(part):
            cut = len(wire) + header + (bad - offset) + 1
        frames.append(frame)
        wire += frame
        offset += len(part)
    if cut is None:
        cut = len(wire)
    peer.send(wire[:cut])
    what = "the 1007 close before the %d unsent bytes of the message" % (len(wire) - cut) \
        if cut < len(wire) else "the 1007 close"
    peer.fail_expected(1007, timeout=peer.timeouts.fail_fast, what=what)


def binary_not_checked(peer, payload):
    # RFC 6455 5.6: only text is UTF-8; binary data is whatever the
    # application says, so it is echoed as it is.
    peer.send(peer.frame(BINARY, payload[:3], fin=False) + peer.frame(CONTINUATION, payload[3:]))
    peer.expect_message(BINARY, payload)
    peer.finish()


def cases(scale):
    b = Builder(6)
    # 6.1: valid text in one frame, in one-byte writes, and split across
    # fragments at every byte.
    for title, text in VALID:
        b.add(1, "valid: " + title, partial(echo_text, payload=text.encode()))
    b.add(1, "valid: empty text", partial(echo_text, payload=b""))
    mixed = VALID[-1][1].encode()
    b.add(1, "valid mixed text, one byte per write", partial(echo_text, payload=mixed, piece=1))
    for cut in range(1, len(mixed)):
        b.add(2, "valid text split into 2 fragments after byte %d" % cut,
              partial(echo_text, payload=mixed, parts=[mixed[:cut], mixed[cut:]]))
    b.add(2, "valid text in one-byte fragments",
          partial(echo_text, payload=mixed, parts=[mixed[i:i + 1] for i in range(len(mixed))]))
    b.add(2, "4-byte code point in 4 fragments with empty ones between",
          partial(echo_text, payload=b"\xf0\x9f\x98\x80",
                  parts=[b"\xf0", b"", b"\x9f", b"\x98", b"", b"\x80"]))

    # 6.3-6.5: each invalid sequence at the start, middle and end of a single
    # frame; 6.6: in the middle fragment of three; 6.7: split across two.
    head, tail = b"valid text \xce\xba ", b" more valid text after it"
    for title, seq in INVALID:
        b.add(3, "invalid at the start: " + title, partial(fails_fast, parts=[seq + tail]))
    for title, seq in INVALID:
        b.add(4, "invalid in the middle: " + title, partial(fails_fast, parts=[head + seq + tail]))
    for title, seq in INVALID:
        b.add(5, "invalid at the end: " + title, partial(fails_fast, parts=[head + seq]))
    for title, seq in INVALID:
        b.add(6, "invalid in fragment 2 of 3: " + title,
              partial(fails_fast, parts=[head, b"x" + seq + b"y", tail]))
    for title, seq in INVALID:
        if len(seq) < 2:
            continue
        b.add(7, "invalid split across fragments: " + title,
              partial(fails_fast, parts=[head + seq[:1], seq[1:] + tail, b"end"]))
    for title, seq in INVALID:
        b.add(8, "invalid at the end of a fragmented message: " + title,
              partial(fails_fast, parts=[head, b"middle", b"z" + seq]))
    b.add(9, "binary message made of the invalid sequences is echoed",
          partial(binary_not_checked, payload=b"".join(seq for _, seq in INVALID)))
    return b.cases
