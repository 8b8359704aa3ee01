"""Group 10: auto-fragmentation of outgoing messages. ws-echo --fragment N
splits every message it sends into frames of at most N payload bytes
(RFC 6455 5.4: a sender may fragment any message; the first frame carries
the opcode, the rest are continuations, only the last has FIN)."""

from functools import partial

from suite import SERVER_ONLY, Builder, binary_payload, size_name, text_payload
from wire import BINARY, CONTINUATION, PING, TEXT, CaseFailure


def check_fragments(frames, opcode, payload, size):
    if not frames:
        raise CaseFailure("no frames")
    expected_count = max(1, (len(payload) + size - 1) // size)
    if len(frames) != expected_count:
        raise CaseFailure("%d bytes in %d frames, expected %d frames of at most %d" % (
            len(payload), len(frames), expected_count, size))
    for i, frame in enumerate(frames):
        want = opcode if i == 0 else CONTINUATION
        if frame.opcode != want:
            raise CaseFailure("frame %d has opcode %d, expected %d" % (i, frame.opcode, want))
        if frame.fin != (i == len(frames) - 1):
            raise CaseFailure("frame %d of %d has fin=%d" % (i + 1, len(frames), frame.fin))
        if len(frame.payload) > size:
            raise CaseFailure("frame %d carries %d bytes, more than %d" % (
                i, len(frame.payload), size))
        if i < len(frames) - 1 and len(frame.payload) != size:
            raise CaseFailure("frame %d carries %d bytes, expected full %d-byte fragments" % (
                i, len(frame.payload), size))


def echoed_in_fragments(peer, opcode, payload, size):
    peer.send_frame(opcode, payload)
    frames = peer.expect_message(opcode, payload)
    check_fragments(frames, opcode, payload, size)
    peer.finish()


def ping_during_fragmented_echo(peer, size):
    # Control frames may go out between the fragments of a message (5.4);
    # the pong must arrive either between fragments or after the message.
    payload = binary_payload(64 * size)
    peer.send(peer.frame(BINARY, payload) + peer.frame(PING, b"while echoing"))
    pongs = []
    frames = []
    while True:
        frame = peer.next_frame("the fragmented echo and a pong")
        if frame.opcode == 0xA:
            pongs.append(frame.payload)
            if frames and frames[-1].fin:
                break
            continue
        frames.append(frame)
        if frame.fin and pongs:
            break
    if pongs != [b"while echoing"]:
        raise CaseFailure("expected one pong, got %r" % pongs)
    if b"".join(f.payload for f in frames) != payload:
        raise CaseFailure("the fragmented echo differs from what was sent")
    check_fragments(frames, BINARY, payload, size)
    peer.finish()


def cases(scale):
    b = Builder(10)
    size = 1000
    args = ("--fragment", str(size))
    for opcode in (TEXT, BINARY):
        kind = "text" if opcode == TEXT else "binary"
        for n in (0, 1, 999, 1000, 1001, 2999, 3000, 65536, 1 << 20):
            payload = text_payload(n) if opcode == TEXT else binary_payload(n)
            b.add(1, "%s of %s echoed in frames of at most %d bytes" % (kind, size_name(n), size),
                  partial(echoed_in_fragments, opcode=opcode, payload=payload, size=size),
                  SERVER_ONLY, args)
    b.add(2, "ping while a fragmented echo goes out",
          partial(ping_during_fragmented_echo, size=size), SERVER_ONLY, args)
    text = "\u03ba\u1f79\u03c3\u03bc\u03b5 \U0001F600".encode()
    b.add(3, "UTF-8 text echoed in 1-byte frames (code points split across frames)",
          partial(echoed_in_fragments, opcode=TEXT, payload=text, size=1), SERVER_ONLY,
          ("--fragment", "1"))
    b.add(3, "text of 64 KiB echoed in 125-byte frames",
          partial(echoed_in_fragments, opcode=TEXT, payload=text_payload(65536), size=125),
          SERVER_ONLY, ("--fragment", "125"))
    return b.cases
