"""Group 9: limits and volume. Large single frames, large messages in 64-byte
fragments, chopped writes and a long stream of small messages, all echoed
exactly; past the configured maximum the connection fails with 1009 (RFC
6455 7.4.1) as soon as a header announces too much (10.4)."""

import socket
import threading
import time
from functools import partial

from suite import SERVER_ONLY, Builder, binary_payload, size_name, text_payload
from wire import BINARY, CONTINUATION, TEXT, CaseFailure, encode_length, mask

FRAGMENT = 64


def big_frame(peer, opcode, n, piece=None):
    payload = text_payload(n) if opcode == TEXT else binary_payload(n)
    data = peer.frame(opcode, payload)
    if piece:
        peer.send_in_pieces(data, piece)
    else:
        peer.send(data)
    peer.expect_message(opcode, payload)
    peer.finish()


def fragmented_wire(peer, opcode, payload, size):
    """`payload` as frames of `size` bytes, built in one pass. With a size
    that is a multiple of 4 every fragment starts at the same offset in the
    masking key, so the whole payload is masked at once (RFC 6455 5.3)."""
    assert size % 4 == 0
    body = mask(payload, peer.key) if peer.masks else payload
    count = max(1, (len(payload) + size - 1) // size)
    out = bytearray()
    for i in range(count):
        piece = body[i * size:(i + 1) * size]
        first = (0x80 if i == count - 1 else 0) | (opcode if i == 0 else CONTINUATION)
        seven, extended = encode_length(len(piece))
        out += bytes([first, (0x80 if peer.masks else 0) | seven]) + extended
        if peer.masks:
            out += peer.key
        out += piece
    return bytes(out)


def big_fragmented(peer, opcode, n):
    payload = text_payload(n) if opcode == TEXT else binary_payload(n)
    peer.send(fragmented_wire(peer, opcode, payload, FRAGMENT))
    peer.expect_message(opcode, payload)
    peer.finish()


def small_message_batch(peer, first, count, width):
    """`count` text messages of `width` decimal digits (first, first + 1, ...):
    returns (the bytes this peer sends, the payloads joined). Built with
    strided slices, one Python operation per byte column, not per message."""
    plain = b"".join(b"%0*d" % (width, i) for i in range(first, first + count))
    header = 2 + (4 if peer.masks else 0)
    size = header + width
    sent = bytearray(size * count)
    sent[0::size] = b"\x81" * count
    sent[1::size] = bytes([(0x80 if peer.masks else 0) | width]) * count
    if peer.masks:
        for k in range(4):
            sent[2 + k::size] = peer.key[k:k + 1] * count
    for j in range(width):
        column = plain[j::width]
        if peer.masks:
            column = column.translate(XOR_TABLES[peer.key[j % 4]])
        sent[header + j::size] = column
    return bytes(sent), plain


XOR_TABLES = [bytes(b ^ k for b in range(256)) for k in range(256)]


def column(data, start, step):
    return int.from_bytes(data[start::step], "little")


def check_echo_batch(data, plain, count, width, masked, first):
    """Checks `count` echoed frames of the other side in `data`: each one
    unfragmented text frame of `width` bytes (RFC 6455 5.2), masked exactly
    when the other side is a client (5.1), carrying the payloads in order.
    One big-integer XOR per byte column unmasks every frame at once."""
    size = 2 + (4 if masked else 0) + width
    fine = data[0::size] == b"\x81" * count and \
        data[1::size] == bytes([(0x80 if masked else 0) | width]) * count
    if fine:
        for j in range(width):
            got = column(data, (6 if masked else 2) + j, size)
            if masked:
                got ^= column(data, 2 + j % 4, size)
            if got != column(plain, j, width):
                fine = False
                break
    if fine:
        return
    for i in range(count):  # find the first bad frame for the report
        frame = data[i * size:(i + 1) * size]
        payload = frame[-width:]
        if masked:
            payload = mask(payload, frame[2:6])
        if frame[0] != 0x81 or frame[1] != ((0x80 if masked else 0) | width) or \
                payload != plain[i * width:(i + 1) * width]:
            raise CaseFailure("echo %d differs: got frame %r for payload %r (each echo is "
                              "expected as one %smasked text frame)" % (
                                  first + i, frame, plain[i * width:(i + 1) * width],
                                  "" if masked else "un"))


def many_small_messages(peer, total, batch=20000, width=7):
    """`total` small text messages written in large batches by one thread
    while this one reads and checks the echoes batch by batch."""
    plains = []
    errors = []
    # The writer has a socket object of its own: a timeout is per object, and
    # the reader polls with a short one.
    out = peer.sock.dup()
    out.settimeout(peer.timeouts.reply * 3)

    def writer():
        try:
            for first in range(0, total, batch):
                sent, plain = small_message_batch(peer, first, min(batch, total - first), width)
                plains.append(plain)
                out.sendall(sent)
        except OSError as error:
            errors.append("sending stopped: %s" % error)
        finally:
            out.close()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    masked = not peer.masks  # the echo is masked when it comes from a client
    size = 2 + (4 if masked else 0) + width
    pending = bytearray(peer.buffer[peer.start:])
    peer.buffer.clear()
    peer.start = 0
    checked = 0
    last_progress = time.monotonic()
    try:
        while checked < total:
            count = min(batch, total - checked)
            if len(pending) >= count * size:
                while len(plains) <= checked // batch:
                    time.sleep(0.001)
                check_echo_batch(bytes(pending[:count * size]), plains[checked // batch], count,
                                 width, masked, checked)
                del pending[:count * size]
                checked += count
                continue
            peer.sock.settimeout(1.0)
            try:
                chunk = peer.sock.recv(1 << 20)
            except socket.timeout:
                if time.monotonic() - last_progress > peer.timeouts.reply * 3:
                    raise CaseFailure("echo stalled after %d of %d messages%s" % (
                        checked + len(pending) // size, total,
                        "; " + errors[0] if errors else ""))
                continue
            if not chunk:
                raise CaseFailure("connection ended after %d of %d messages" % (
                    checked + len(pending) // size, total))
            pending += chunk
            last_progress = time.monotonic()
    finally:
        if checked < total:
            try:
                peer.sock.shutdown(socket.SHUT_RDWR)  # stops the writer too
            except OSError:
                pass
        thread.join()
    peer.buffer += pending
    if errors:
        raise CaseFailure(errors[0])
    peer.finish()


def announced_too_big(peer, limit, fragmented):
    """A header that announces more than the limit fails the connection with
    1009 before its payload is sent (RFC 6455 7.4.1, 10.4)."""
    peer.send_frame(TEXT, b"before")
    peer.expect_text("before")
    if fragmented:
        # The message reaches the limit, then a 1-byte fragment goes past it.
        peer.send_frame(TEXT, text_payload(limit), fin=False)
        peer.send(peer.header(CONTINUATION, 1, fin=True))
    else:
        peer.send(peer.header(TEXT, limit + 1) + (b"x" if not peer.masks else mask(b"x", peer.key)))
    peer.fail_expected(1009, timeout=peer.timeouts.fail_fast,
                       what="the 1009 close before the rest of the message")


def at_the_limit(peer, limit, fragmented):
    payload = binary_payload(limit)
    if fragmented:
        peer.send(fragmented_wire(peer, BINARY, payload, 1024))
    else:
        peer.send_frame(BINARY, payload)
    peer.expect_message(BINARY, payload)
    peer.finish()


def cases(scale):
    b = Builder(9)
    sizes = [64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20]
    sizes = [n for n in sizes if n <= scale.largest_frame]
    for sub, opcode in ((1, TEXT), (2, BINARY)):
        for n in sizes:
            b.add(sub, "%s of %s in one frame" % ("text" if opcode == TEXT else "binary",
                                                 size_name(n)),
                  partial(big_frame, opcode=opcode, n=n))
    fragmented = [n for n in (64 << 10, 256 << 10, 1 << 20, 4 << 20)
                  if n <= scale.largest_fragmented]
    for sub, opcode in ((3, TEXT), (4, BINARY)):
        for n in fragmented:
            b.add(sub, "%s of %s in %d-byte fragments" % (
                "text" if opcode == TEXT else "binary", size_name(n), FRAGMENT),
                partial(big_fragmented, opcode=opcode, n=n))
    for piece in (64, 256, 1024, 4096):
        b.add(5, "text of 1 MiB in one frame, written %d bytes at a time" % piece,
              partial(big_frame, opcode=TEXT, n=1 << 20, piece=piece))
    b.add(6, "%d small text messages back to back" % scale.small_messages,
          partial(many_small_messages, total=scale.small_messages))
    # 9.7: the maximum message size. ws-echo runs with --max-message 65536
    # for these; ws-client keeps its default of 16 MiB.
    small = 65536
    args = ("--max-message", str(small))
    b.add(7, "binary of exactly --max-message (64 KiB) in one frame is echoed",
          partial(at_the_limit, limit=small, fragmented=False), SERVER_ONLY, args)
    b.add(7, "binary of exactly --max-message (64 KiB) in 1 KiB fragments is echoed",
          partial(at_the_limit, limit=small, fragmented=True), SERVER_ONLY, args)
    b.add(7, "frame announcing --max-message + 1: fail 1009 at its header",
          partial(announced_too_big, limit=small, fragmented=False), SERVER_ONLY, args)
    b.add(7, "fragment taking the message past --max-message: fail 1009",
          partial(announced_too_big, limit=small, fragmented=True), SERVER_ONLY, args)
    default = 16 << 20
    b.add(7, "frame announcing 16 MiB + 1 (the default maximum): fail 1009 at its header",
          partial(announced_too_big, limit=default, fragmented=False))
    return b.cases
