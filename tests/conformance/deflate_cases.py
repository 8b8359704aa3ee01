"""Groups 12 and 13: permessage-deflate (RFC 7692).

Group 12 uses the default parameters: against ws-echo --deflate the peer
offers `permessage-deflate; client_max_window_bits` (what browsers send),
against ws-client --deflate it answers `permessage-deflate`. It sends the
RFC's own examples, compressed messages of 0 B to 1 MiB + 1 that are
random, text or highly repetitive, in one frame and in fragments, long runs
of small messages (context takeover), uncompressed messages and control
frames among compressed ones, and the failures: RSV1 where it may not be,
RSV2/RSV3, corrupt compressed data, invalid UTF-8 after inflating, and a
message that inflates past the maximum size (1009).

Group 13 goes through every parameter combination: against ws-echo, offers
with server_no_context_takeover, client_no_context_takeover,
server_max_window_bits 8..15 or absent and client_max_window_bits 8..15,
without a value or absent; against ws-client, answers with every
combination a server may give. Each case checks the agreement and runs a
workload whose echo is inflated with exactly the agreed window and context
rule, so a side that keeps its context or uses a larger window than agreed
fails. Then negotiation edge cases: a server declines
server_max_window_bits=8 (zlib cannot compress with it, docs/compression.md)
and invalid offers, and a client fails the handshake on a response it must
not accept.

Every message ws sends once compression is agreed comes compressed (RSV1),
which the cases require.
"""

import random
import socket
import time
from functools import lru_cache, partial

from deflate_wire import (RSV1, TAIL, Codec, expect_echo, expect_pong_and_echo, message_frames,
                          negotiate, offered_elements, read_echo, send_and_expect)
from suite import CLIENT_ONLY, SERVER_ONLY, Builder, size_name
from wire import BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT, CaseFailure, PeerClosed, \
    close_payload

DEFLATE_ECHO = ("--deflate",)
DEFLATE_CLIENT = ("--deflate",)
DEFAULT_OFFER = "permessage-deflate; client_max_window_bits"

# ---- payloads ---------------------------------------------------------------------

WORDS = ("the of and to in is was that for it with as his on be at by had are but from or "
         "have an they which one you were all her she there would their we him been has when "
         "who will no more if out so said what up its about than into them can only other "
         "time new some could these two may first then do any like my now over such our man "
         "me even most made after also did many before must through back years where much "
         "your way well down should because each just those people how too little state "
         "Straße naïve café über façade résumé ĸόσμε 世界 😀").split()


WORD_BYTES = [w.encode() for w in WORDS] + [b"."] * 6


@lru_cache(maxsize=None)
def natural_text(n, seed=1):
    """`n` bytes of word salad (ASCII with some 2- to 4-byte UTF-8), cut at
    a character boundary and padded with spaces: compresses like prose."""
    rng = random.Random(seed)
    data = b""
    while len(data) < n:
        data += b" ".join(rng.choices(WORD_BYTES, k=n // 4 + 8)) + b" "
    data = data[:n]
    while data:  # do not end inside a character
        try:
            data.decode("utf-8")
            break
        except UnicodeDecodeError:
            data = data[:-1]
    return data + b" " * (n - len(data))


@lru_cache(maxsize=None)
def payload(kind, n, opcode, seed=0):
    """`n` bytes of a kind: "random" (random bytes for binary, random
    letters for text), "text" (prose-like) or "repetitive" (a short pattern
    repeated)."""
    rng = random.Random(1000 * seed + n)
    if kind == "random":
        if opcode == BINARY:
            return rng.randbytes(n)
        alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
        return bytes(alphabet[b & 63] for b in rng.randbytes(n))
    if kind == "text":
        return natural_text(n, seed + 1)
    pattern = b"ws! " if opcode == TEXT else b"\x00\x01\x02\x00"
    return (pattern * (n // 4 + 1))[:n]


def window_probe(seed=7):
    """Random blocks, each sent twice in a row: block sizes just above
    2^9 .. 2^14 bytes (plus the inflate step) and one near 2^15, so a
    compressor whose window is larger than agreed back-references a copy
    further away than the agreed window allows (RFC 7692 7.1.2)."""
    rng = random.Random(seed)
    out = []
    for size in (700, 1300, 2400, 4500, 8500, 16600, 30000):
        block = rng.randbytes(size)
        out += [block, block]
    return b"".join(out)


PROBE = window_probe()
RANDOM_2K = random.Random(5).randbytes(2000)

# ---- building blocks ----------------------------------------------------------------


def with_codec(run, must_accept=True):
    """Negotiation first (checked), then run(peer, codec)."""
    def case(peer):
        codec = negotiate(peer, must_accept)
        run(peer, codec)
    return case


def default_answer(offered, response="permessage-deflate"):
    """As a server: accept the client's permessage-deflate offer."""
    return response if offered_elements(offered) else None


def add_both(b, sub, title, run, server_args=DEFLATE_ECHO, targets=("server", "client")):
    """A case for ws-echo (we offer the default) and for ws-client (we answer
    the default)."""
    b.add(sub, title, with_codec(run), targets, server_args, offer=DEFAULT_OFFER,
          answer=default_answer, client_args=DEFLATE_CLIENT)


def echo_all(items):
    """items: (opcode, payload, options for send_and_expect)."""
    def run(peer, codec):
        for opcode, data, options in items:
            send_and_expect(peer, codec, opcode, data, **options)
        peer.finish()
    return run


def raw_compressed(frames_data, expected):
    """Frames given as (opcode, fin, rsv, data) with exact compressed bytes
    (RFC 7692 7.2.3), each message's echo checked against `expected`."""
    def run(peer, codec):
        peer.send(b"".join(peer.frame(opcode, data, fin=fin, rsv=rsv)
                           for opcode, fin, rsv, data in frames_data))
        for text in expected:
            expect_echo(peer, codec, TEXT, text)
        peer.finish()
    return run


def fails_after_good(bad, codes, trailing=True):
    """One write: a good compressed message, the bad frames, then a message
    that must not be echoed. The good one is echoed, then the connection
    fails with one of `codes` (RFC 6455 7.1.7)."""
    def run(peer, codec):
        data = message_frames(peer, TEXT, b"before", codec) + bad(peer, codec)
        if trailing:
            data += message_frames(peer, TEXT, b"must not be echoed", None)
            data += peer.frame(PING, b"nor answered")
        peer.send(data)
        expect_echo(peer, codec, TEXT, b"before")
        peer.expect_close(set(codes))
    return run


# ---- group 12 -----------------------------------------------------------------------


def rfc_examples(b):
    """12.1: the examples of RFC 7692 7.2.3, byte for byte."""
    hello = b"Hello"
    first = bytes.fromhex("f248cdc9c90700")
    add_both(b, 1, "RFC 7692 7.2.3.1: 'Hello' compressed in one frame",
             raw_compressed([(TEXT, True, RSV1, first)], [hello]))
    add_both(b, 1, "RFC 7692 7.2.3.2: 'Hello' twice, the second using the shared window",
             raw_compressed([(TEXT, True, RSV1, first),
                             (TEXT, True, RSV1, bytes.fromhex("f200110000"))], [hello, hello]))
    add_both(b, 1, "RFC 7692 7.2.3.1: 'Hello' compressed in two fragments",
             raw_compressed([(TEXT, False, RSV1, bytes.fromhex("f248cd")),
                             (CONTINUATION, True, 0, bytes.fromhex("c9c90700"))], [hello]))
    add_both(b, 1, "RFC 7692 7.2.3.3: a stored (uncompressed) DEFLATE block",
             raw_compressed([(TEXT, True, RSV1, bytes.fromhex("000500faff48656c6c6f00"))],
                            [hello]))
    add_both(b, 1, "RFC 7692 7.2.3.4: a DEFLATE block with BFINAL set",
             raw_compressed([(TEXT, True, RSV1, bytes.fromhex("f348cdc9c9070000"))], [hello]))
    add_both(b, 1, "a message after one that ended with BFINAL (a new stream, no "
             "back-references)",
             raw_compressed([(TEXT, True, RSV1, bytes.fromhex("f348cdc9c9070000")),
                             (TEXT, True, RSV1, bytes.fromhex("0acf2fca490100"))],
                            [hello, b"World"]))
    add_both(b, 1, "'Hello' with its trailing 00 00 ff ff left in",
             raw_compressed([(TEXT, True, RSV1, bytes.fromhex("f248cdc9c907000000ffff"))],
                            [hello]))
    add_both(b, 1, "RFC 7692 7.2.3.6: an empty message as one 00 byte",
             raw_compressed([(TEXT, True, RSV1, b"\x00")], [b""]))
    add_both(b, 1, "an empty compressed message with its 00 00 ff ff left in",
             raw_compressed([(TEXT, True, RSV1, b"\x00" + TAIL)], [b""]))
    add_both(b, 1, "a message with RSV1 clear on a compressing connection is taken as is",
             raw_compressed([(TEXT, True, 0, hello)], [hello]))


SIZES = (0, 1, 16, 64, 125, 126, 127, 256, 1024, 4096, 16384, 65535, 65536, 131072, 1 << 20,
         (1 << 20) + 1)
KINDS = ("random", "text", "repetitive")


def single_frames(b):
    """12.2 text, 12.3 binary: every size and kind in one compressed frame."""
    for sub, opcode in ((2, TEXT), (3, BINARY)):
        for kind in KINDS:
            for n in SIZES:
                data = payload(kind, n, opcode)
                add_both(b, sub, "%s %s of %s compressed in one frame" % (
                    kind, "text" if opcode == TEXT else "binary", size_name(n)),
                    echo_all([(opcode, data, {})]))


def fragmented(b):
    """12.4: the compressed data cut into fragments, and messages whose
    fragments are each compressed and flushed (a streaming sender)."""
    for kind in KINDS:
        for n in (1000, 65536, 1 << 20):
            for size in (1, 7, 1000, 16384):
                opcode = TEXT if kind != "random" else BINARY
                data = payload(kind, n, opcode, seed=2)
                frames = len(Codec("client", _plain()).compress(data)) // size
                if frames > 20000:
                    continue
                add_both(b, 4, "%s %s of %s compressed, in %d-byte fragments" % (
                    kind, "text" if opcode == TEXT else "binary", size_name(n), size),
                    echo_all([(opcode, data, {"fragment": size})]))
    text = natural_text(100000, 3)
    for count in (2, 10, 100):
        step = len(text) // count
        pieces = [text[i * step:(i + 1) * step] for i in range(count - 1)]
        pieces.append(text[(count - 1) * step:])
        add_both(b, 4, "text of %d bytes in %d fragments, each compressed and flushed" % (
            len(text), count), echo_all([(TEXT, text, {"pieces": pieces})]))
    add_both(b, 4, "compressed message with empty fragments between",
             _empty_fragments)
    add_both(b, 4, "compressed message whose first frame is empty (RSV1, no data)",
             _empty_first_fragment)


def _plain():
    from deflate_wire import Agreed
    return Agreed({})


def _empty_fragments(peer, codec):
    data = natural_text(5000, 4)
    whole = codec.compress(data)
    half = len(whole) // 2
    peer.send(peer.frame(TEXT, whole[:half], fin=False, rsv=RSV1) +
              peer.frame(CONTINUATION, b"", fin=False) +
              peer.frame(CONTINUATION, whole[half:], fin=False) +
              peer.frame(CONTINUATION, b"", fin=True))
    expect_echo(peer, codec, TEXT, data)
    peer.finish()


def _empty_first_fragment(peer, codec):
    data = payload("repetitive", 3000, BINARY)
    whole = codec.compress(data)
    peer.send(peer.frame(BINARY, b"", fin=False, rsv=RSV1) +
              peer.frame(CONTINUATION, whole, fin=True))
    expect_echo(peer, codec, BINARY, data)
    peer.finish()


def sequences(b):
    """12.5: many messages on one connection (context takeover in both
    directions), sent back to back and checked in order."""
    def pipelined(messages):
        def run(peer, codec):
            peer.send(b"".join(message_frames(peer, op, data, codec) for op, data in messages))
            for op, data in messages:
                expect_echo(peer, codec, op, data)
            peer.finish()
        return run

    rng = random.Random(11)
    chat = [(TEXT, natural_text(rng.randint(20, 300), i)) for i in range(1000)]
    add_both(b, 5, "1000 small chat-like text messages back to back", pipelined(chat))
    add_both(b, 5, "200 identical 2000-byte random messages back to back",
             pipelined([(BINARY, RANDOM_2K)] * 200))
    add_both(b, 5, "500 one-byte messages back to back",
             pipelined([(BINARY, bytes([i & 0xFF])) for i in range(500)]))
    mixed = [(TEXT if i % 2 else BINARY, payload(KINDS[i % 3], (i * 7919) % 70000,
                                                 TEXT if i % 2 else BINARY, i))
             for i in range(60)]
    add_both(b, 5, "60 messages of mixed kinds and sizes up to 70 KB back to back",
             pipelined(mixed))


def mixed(b):
    """12.6: uncompressed messages and control frames among compressed ones."""
    def alternate(peer, codec):
        for i in range(20):
            data = natural_text(500 + 97 * i, i)
            send_and_expect(peer, codec, TEXT, data, send_compressed=bool(i % 2))
        peer.finish()
    add_both(b, 6, "compressed and uncompressed (RSV1 clear) messages alternating", alternate)

    def uncompressed_fragments(peer, codec):
        data = natural_text(3000, 9)
        send_and_expect(peer, codec, TEXT, data, send_compressed=False, fragment=500)
        send_and_expect(peer, codec, TEXT, data, fragment=100)
        peer.finish()
    add_both(b, 6, "an uncompressed fragmented message, then a compressed one",
             uncompressed_fragments)

    def ping_between(peer, codec):
        data = natural_text(20000, 10)
        whole = codec.compress(data)
        third = len(whole) // 3
        peer.send(peer.frame(TEXT, whole[:third], fin=False, rsv=RSV1) +
                  peer.frame(PING, b"between fragments") +
                  peer.frame(CONTINUATION, whole[third:2 * third], fin=False) +
                  peer.frame(PONG, b"unsolicited") +
                  peer.frame(CONTINUATION, whole[2 * third:], fin=True))
        expect_pong_and_echo(peer, codec, b"between fragments", TEXT, data)
        peer.finish()
    add_both(b, 6, "a ping and a pong between the fragments of a compressed message", ping_between)

    def auto_fragmented_echo(peer, codec):
        # ws-echo --fragment 1000: the compressed echo goes out in frames of
        # at most 1000 bytes, RSV1 on the first only (RFC 7692 6).
        for opcode, data in ((TEXT, natural_text(100000, 13)),
                             (BINARY, payload("random", 5000, BINARY))):
            peer.send(message_frames(peer, opcode, data, codec))
            frames = expect_echo(peer, codec, opcode, data)
            if len(frames) < 2 or any(len(f.payload) > 1000 for f in frames):
                raise CaseFailure("the echo came in %d frames of %s bytes, expected frames of at "
                                  "most 1000" % (len(frames), [len(f.payload) for f in frames]))
        peer.finish()
    b.add(6, "ws-echo --fragment 1000: compressed echoes in frames of at most 1000 bytes",
          with_codec(auto_fragmented_echo), SERVER_ONLY, DEFLATE_ECHO + ("--fragment", "1000"),
          offer=DEFAULT_OFFER)

    def ping_payload_not_compressed(peer, codec):
        peer.send_frame(PING, b"\xf2\x48\xcd\xc9\xc9\x07\x00")
        peer.expect_pong(b"\xf2\x48\xcd\xc9\xc9\x07\x00")
        send_and_expect(peer, codec, TEXT, b"after the ping")
        peer.finish()
    add_both(b, 6, "control frames are not inflated: a ping's payload comes back as is",
             ping_payload_not_compressed)

    def close_reason_plain(peer, codec):
        send_and_expect(peer, codec, TEXT, b"before the close")
        peer.finish(4321)
    add_both(b, 6, "a close with code 4321 is echoed plain after compressed messages",
             close_reason_plain)


def failures(b):
    """12.7: what must fail the connection."""
    def rsv_on(opcode, rsv, open_message):
        def bad(peer, codec):
            if opcode == CONTINUATION:
                if open_message == "compressed":
                    first = peer.frame(TEXT, codec.compress(b"open "), fin=False, rsv=RSV1)
                else:
                    first = peer.frame(TEXT, b"open ", fin=False)
                return first + peer.frame(CONTINUATION, b"\x00", fin=True, rsv=rsv)
            body = close_payload(1000) if opcode == CLOSE else b"control"
            return peer.frame(opcode, body, rsv=rsv)
        return bad

    for opcode, name, state in ((CONTINUATION, "continuation of a compressed message",
                                 "compressed"),
                                (CONTINUATION, "continuation of an uncompressed message",
                                 "plain"),
                                (PING, "ping", None), (PONG, "pong", None),
                                (CLOSE, "close", None)):
        add_both(b, 7, "RSV1 on a %s: fail 1002" % name,
                 fails_after_good(rsv_on(opcode, RSV1, state), {1002}))
    for rsv, bits in ((0x2, "RSV2"), (0x1, "RSV3"), (0x6, "RSV1+RSV2"), (0x5, "RSV1+RSV3")):
        def bad(peer, codec, rsv=rsv):
            return peer.frame(TEXT, codec.compress(b"reserved") if rsv & RSV1 else b"reserved",
                              rsv=rsv)
        add_both(b, 7, "%s on a data frame with permessage-deflate agreed: fail 1002" % bits,
                 fails_after_good(bad, {1002}))

    # Corrupt data: RFC 7692 says to fail the connection without naming a
    # code; 1002 (protocol error) and 1007 (invalid data) are both taken.
    corrupt = {
        "a reserved block type (BTYPE 11)": bytes.fromhex("07ffff"),
        "a stored block whose LEN and NLEN disagree": bytes.fromhex("000500000048656c6c6f"),
        "a back-reference before the start of the stream": None,
        "random bytes": bytes(random.Random(3).randbytes(64)),
    }
    for name, data in corrupt.items():
        def bad(peer, codec, data=data):
            if data is None:
                # The second of two equal messages from a fresh compressor
                # refers back into the first, which the receiver never got.
                from deflate_wire import Agreed
                other = Codec(peer.role, Agreed({}))
                other.compress(b"0123456789abcdef" * 8)
                data = other.compress(b"0123456789abcdef" * 8)
            return peer.frame(TEXT, data, rsv=RSV1)
        add_both(b, 7, "corrupt compressed data, %s: fail 1002 or 1007" % name,
                 fails_after_good(bad, {1002, 1007}))

    def invalid_utf8(fragmented):
        def bad(peer, codec):
            text = b"valid start " * 100 + b"\xc0\xaf" + b" more" * 100
            whole = codec.compress(text)
            if not fragmented:
                return peer.frame(TEXT, whole, rsv=RSV1)
            half = len(whole) // 2
            return peer.frame(TEXT, whole[:half], fin=False, rsv=RSV1) + \
                peer.frame(CONTINUATION, whole[half:])
        return bad
    def utf8_fail_fast(peer, codec):
        # RFC 6455 8.1 and group 6: the 1007 comes as soon as the invalid
        # byte is inflated, while the rest of the message is still unsent.
        send_and_expect(peer, codec, TEXT, b"before")
        first = codec.compress_pieces([b"valid start " * 100 + b"\xed\xa0\x80", b"rest"])[0]
        peer.send(peer.frame(TEXT, first, fin=False, rsv=RSV1))
        peer.expect_close({1007}, timeout=peer.timeouts.fail_fast,
                          what="the 1007 close before the rest of the message")
    add_both(b, 7, "compressed text with a surrogate in its first fragment: fail 1007 at once "
             "(fail fast)", utf8_fail_fast)
    add_both(b, 7, "compressed text that inflates to invalid UTF-8: fail 1007",
             fails_after_good(invalid_utf8(False), {1007}))
    add_both(b, 7, "fragmented compressed text that inflates to invalid UTF-8: fail 1007",
             fails_after_good(invalid_utf8(True), {1007}))


def limits(b):
    """12.8: the inflated size counts against the maximum message size
    (ws-echo --max-message 65536; ws-client keeps 16 MiB)."""
    limit = 65536
    args = DEFLATE_ECHO + ("--max-message", str(limit))

    def at_limit(n, fragment=None):
        def run(peer, codec):
            data = b"\x00" * n
            send_and_expect(peer, codec, BINARY, data, fragment=fragment)
            peer.finish()
        return run

    def bomb(n, fragment=None, opcode=BINARY):
        def run(peer, codec):
            send_and_expect(peer, codec, TEXT, b"before")
            data = (b"\x00" if opcode == BINARY else b"a") * n
            peer.send(message_frames(peer, opcode, data, codec, fragment=fragment))
            peer.expect_close({1009}, timeout=peer.timeouts.reply * 2)
        return run

    def server(title, run):
        b.add(8, title, with_codec(run), SERVER_ONLY, args, offer=DEFAULT_OFFER)

    server("64 KiB of zeros (exactly --max-message) compressed: echoed", at_limit(limit))
    server("64 KiB of zeros compressed, in 4-byte fragments: echoed", at_limit(limit, 4))
    server("64 KiB + 1 of zeros compressed (65 bytes on the wire): fail 1009",
           bomb(limit + 1))
    server("16 MiB of zeros compressed (16 KB on the wire): fail 1009", bomb(16 << 20))

    def bomb_fail_fast(peer, codec):
        # The first fragment alone inflates past the limit: the 1009 comes
        # without waiting for the rest of the message.
        send_and_expect(peer, codec, TEXT, b"before")
        first = codec.compress_pieces([b"\x00" * (1 << 20), b"rest"])[0]
        peer.send(peer.frame(BINARY, first, fin=False, rsv=RSV1))
        peer.expect_close({1009}, timeout=peer.timeouts.fail_fast,
                          what="the 1009 close before the rest of the message")
    server("a first fragment inflating to 1 MiB of zeros: fail 1009 before the rest",
           bomb_fail_fast)
    server("16 MiB of 'a' as text, compressed, in 64-byte fragments: fail 1009",
           bomb(16 << 20, 64, TEXT))
    b.add(8, "16 MiB + 1 of zeros compressed (the default limit): fail 1009",
          with_codec(bomb((16 << 20) + 1)), CLIENT_ONLY, offer=DEFAULT_OFFER,
          answer=default_answer, client_args=DEFLATE_CLIENT)
    b.add(8, "16 MiB of zeros compressed (the default limit): echoed",
          with_codec(at_limit(16 << 20)), CLIENT_ONLY, offer=DEFAULT_OFFER,
          answer=default_answer, client_args=DEFLATE_CLIENT)


def mutations(b, count=40):
    """12.9: a valid compressed message with one to three bits flipped. The
    other side may inflate it to something (then it echoes that) or find
    it corrupt (then it fails with 1002 or 1007); it must do one of the two,
    promptly, and never crash or hang."""
    def run(peer, codec, seed):
        rng = random.Random(seed)
        opcode = BINARY if seed % 2 else TEXT
        data = natural_text(rng.randint(10, 5000), seed)
        bad = bytearray(codec.compress(data))
        for _ in range(rng.randint(1, 3)):
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        peer.send(peer.frame(opcode, bytes(bad), rsv=RSV1))
        try:
            peer._need(2, time.monotonic() + peer.timeouts.reply)
        except socket.timeout:
            raise CaseFailure("neither an echo nor a close after a corrupted message")
        except PeerClosed as closed:
            raise CaseFailure("%s without a close frame after a corrupted message" % closed)
        if peer.buffer[peer.start] & 0x0F == CLOSE:
            peer.expect_close({1002, 1007})
            return
        got_opcode, _, _ = read_echo(peer, codec, "the echo of a corrupted message")
        if got_opcode != opcode:
            raise CaseFailure("the echo of a corrupted message changed its opcode")
        peer.finish()
    for seed in range(count):
        add_both(b, 9, "compressed %s message with bits flipped (seed %d): echoed as inflated, "
                 "or 1002/1007" % ("binary" if seed % 2 else "text", seed),
                 partial(run, seed=seed))


# ---- group 13 -----------------------------------------------------------------------


def parameter_workload(peer, codec):
    """Messages that show whether both sides keep to the agreed window and
    context rule: repeats within and across messages, a window probe
    inflated strictly, fragments, an empty and an uncompressed message."""
    send_and_expect(peer, codec, TEXT, b"Hello")
    send_and_expect(peer, codec, TEXT, b"Hello")
    send_and_expect(peer, codec, BINARY, RANDOM_2K)
    send_and_expect(peer, codec, BINARY, RANDOM_2K)  # a copy of the last message
    send_and_expect(peer, codec, BINARY, PROBE, strict=True)
    send_and_expect(peer, codec, TEXT, natural_text(10000, 12), fragment=1000)
    send_and_expect(peer, codec, TEXT, b"")
    send_and_expect(peer, codec, BINARY, RANDOM_2K, send_compressed=False)
    send_and_expect(peer, codec, TEXT, payload("repetitive", 65536, TEXT))
    send_and_expect(peer, codec, BINARY, PROBE, strict=True)
    peer.finish()


def offer_text(params):
    parts = ["permessage-deflate"]
    for name, value in params:
        parts.append(name if value is None else "%s=%s" % (name, value))
    return "; ".join(parts)


def server_combinations(b):
    """13.1-13.4 (ws-echo): every offer. ws-echo accepts each valid offer
    except server_max_window_bits=8 (zlib cannot compress with a 256-byte
    window; docs/compression.md), which it declines: the connection then
    runs uncompressed."""
    subs = ((1, False, False), (2, False, True), (3, True, False), (4, True, True))
    for sub, server_nct, client_nct in subs:
        for server_bits in (None, 8, 9, 10, 11, 12, 13, 14, 15):
            for client_bits in (None, 0, 8, 9, 10, 11, 12, 13, 14, 15):
                params = []
                if server_nct:
                    params.append(("server_no_context_takeover", None))
                if client_nct:
                    params.append(("client_no_context_takeover", None))
                if server_bits:
                    params.append(("server_max_window_bits", server_bits))
                if client_bits is not None:
                    params.append(("client_max_window_bits", client_bits or None))
                offer = offer_text(params)
                declined = server_bits == 8
                b.add(sub, "offer '%s': %s" % (offer, "declined, runs uncompressed" if declined
                                                 else "agreed, workload echoed"),
                      with_codec(_declined_workload if declined else parameter_workload,
                                 must_accept=not declined),
                      SERVER_ONLY, DEFLATE_ECHO, offer=offer)


def _declined_workload(peer, codec):
    if codec is not None:
        raise CaseFailure("the server agreed %r, expected it to decline" %
                          peer.extensions_response)
    send_and_expect(peer, None, TEXT, b"uncompressed")
    send_and_expect(peer, None, BINARY, RANDOM_2K)
    peer.finish()


def server_negotiation(b):
    """13.5 (ws-echo): several offers, invalid offers (RFC 7692 5: declined,
    the next offer is tried; none left: no compression)."""
    accepted = (
        ("permessage-deflate; server_max_window_bits=8, permessage-deflate",
         "the second offer after one with server_max_window_bits=8"),
        ("permessage-deflate; server_max_window_bits=8, "
         "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
         "the second offer with small windows"),
        ("x-unknown-extension, permessage-deflate",
         "permessage-deflate after an unknown extension"),
        ("permessage-deflate; unknown_parameter, permessage-deflate; client_no_context_takeover",
         "the second offer after one with an unknown parameter"),
        ('permessage-deflate; server_max_window_bits="10"', "a quoted window value"),
    )
    for offer, title in accepted:
        b.add(5, "offer '%s' agreed: %s" % (offer, title), with_codec(parameter_workload),
              SERVER_ONLY, DEFLATE_ECHO, offer=offer)
    declined = (
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; unknown_parameter",
        "permessage-deflate; server_max_window_bits=8",
        "x-webkit-deflate-frame",
    )
    for offer in declined:
        b.add(5, "offer '%s': declined, runs uncompressed" % offer,
              with_codec(_declined_workload, must_accept=False), SERVER_ONLY, DEFLATE_ECHO,
              offer=offer)


def client_combinations(b):
    """13.6-13.9 (ws-client): every answer a server may give to ws-client's
    offer (permessage-deflate; client_max_window_bits). server_max_window_bits
    may be answered unasked (RFC 7692 7.1.2.1); with 8 the peer sends
    stored blocks only."""
    subs = ((6, False, False), (7, False, True), (8, True, False), (9, True, True))
    for sub, server_nct, client_nct in subs:
        for server_bits in (None, 8, 9, 10, 11, 12, 13, 14, 15):
            for client_bits in (None, 9, 10, 11, 12, 13, 14, 15):
                params = []
                if server_nct:
                    params.append(("server_no_context_takeover", None))
                if client_nct:
                    params.append(("client_no_context_takeover", None))
                if server_bits:
                    params.append(("server_max_window_bits", server_bits))
                if client_bits:
                    params.append(("client_max_window_bits", client_bits))
                response = offer_text(params)
                b.add(sub, "answer '%s': workload echoed" % response,
                      with_codec(parameter_workload), CLIENT_ONLY,
                      answer=partial(_answer_if_offered, response=response,
                                     needs_client_bits=bool(client_bits)),
                      client_args=DEFLATE_CLIENT)


def _answer_if_offered(offered, response, needs_client_bits):
    offers = offered_elements(offered)
    if not offers:
        return None
    if needs_client_bits and not any("client_max_window_bits" in o for o in offers):
        return None  # the case then fails: the client did not offer it
    return response


def _handshake_fails(peer):
    """RFC 6455 4.1 / RFC 7692 5: the client must _Fail the WebSocket
    Connection_ before it is open: it closes TCP, sending no frame."""
    try:
        frame = peer.read_frame()
    except PeerClosed:
        return
    except OSError:
        return
    raise CaseFailure("the client took the response and sent %s" % frame.describe())


def client_negotiation(b):
    """13.10 (ws-client): responses a client must refuse."""
    bad = (
        ("permessage-deflate; client_max_window_bits=8",
         "client_max_window_bits=8 (zlib cannot compress with it)"),
        ("permessage-deflate; client_max_window_bits", "client_max_window_bits without a value"),
        ("permessage-deflate; server_max_window_bits", "server_max_window_bits without a value"),
        ("permessage-deflate; server_max_window_bits=16", "server_max_window_bits=16"),
        ("permessage-deflate; server_max_window_bits=7", "server_max_window_bits=7"),
        ("permessage-deflate; server_max_window_bits=09", "a leading zero"),
        ("permessage-deflate; server_no_context_takeover=1", "a value on a no_context_takeover"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover",
         "a repeated parameter"),
        ("permessage-deflate; unknown_parameter", "an unknown parameter"),
        ("permessage-deflate, permessage-deflate", "permessage-deflate twice"),
        ("x-not-offered", "an extension that was not offered"),
    )
    for response, title in bad:
        b.add(10, "answer '%s' (%s): the client fails the handshake" % (response, title),
              _handshake_fails, CLIENT_ONLY,
              answer=partial(_answer_if_offered, response=response, needs_client_bits=False),
              client_args=DEFLATE_CLIENT)
    def beyond_window(peer, codec):
        # server_max_window_bits=9 agreed, then a message whose compressor
        # used 15 bits: a back-reference 3000 bytes back (RFC 7692 7.1.2.1).
        # docs/compression.md: ws's inflater catches it and fails.
        import zlib
        send_and_expect(peer, codec, TEXT, b"before")
        block = random.Random(4).randbytes(3000)
        wide = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = wide.compress(block + block) + wide.flush(zlib.Z_SYNC_FLUSH)
        peer.send(peer.frame(BINARY, data[:-4], rsv=RSV1))
        peer.expect_close({1002, 1007})
    b.add(10, "answer server_max_window_bits=9, then a back-reference 3000 bytes back: "
          "fail 1002 or 1007", with_codec(beyond_window), CLIENT_ONLY,
          answer=partial(_answer_if_offered, response="permessage-deflate; "
                         "server_max_window_bits=9; server_no_context_takeover",
                         needs_client_bits=False), client_args=DEFLATE_CLIENT)
    b.add(10, "no answer to the offer: the connection runs uncompressed",
          with_codec(_declined_workload, must_accept=False), CLIENT_ONLY,
          answer=lambda offered: None, client_args=DEFLATE_CLIENT)


def cases(scale):
    b12 = Builder(12)
    rfc_examples(b12)
    single_frames(b12)
    fragmented(b12)
    sequences(b12)
    mixed(b12)
    failures(b12)
    limits(b12)
    mutations(b12)
    b13 = Builder(13)
    server_combinations(b13)
    server_negotiation(b13)
    client_combinations(b13)
    client_negotiation(b13)
    return b12.cases + b13.cases
