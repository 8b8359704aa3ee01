#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/<fuzzer>/ and the dictionary
fuzz/ws.dict. Run it after changing an input layout; the output is
deterministic, so the files in the repository are exactly what it writes.

    /usr/bin/python3 fuzz/make_seeds.py

The layouts are described at the top of each fuzzer (connection_harness.hpp
for the two Connection fuzzers)."""

import base64
import hashlib
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3


def accept_for(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


SERVER_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 1.3
CLIENT_KEY = base64.b64encode(bytes(range(16))).decode()  # the fuzzers' random source
assert accept_for(SERVER_KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
MASK = bytes([0x37, 0xFA, 0x21, 0x3D])  # RFC 6455 5.7


def frame(opcode, payload=b"", fin=True, rsv=0, mask=None, length=None):
    """One frame; `length` overrides the length field (a header alone)."""
    n = len(payload) if length is None else length
    out = bytearray([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask is not None else 0
    if n <= 125:
        out.append(bit | n)
    elif n <= 0xFFFF:
        out.append(bit | 126)
        out += struct.pack(">H", n)
    else:
        out.append(bit | 127)
        out += struct.pack(">Q", n)
    if mask is not None:
        out += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(out + payload)


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


# Frame streams by name, built for a given mask (None: server to client).
def streams(mask):
    def f(*args, **kw):
        return frame(*args, mask=mask, **kw)

    euro = "€".encode()
    return {
        "text_hello": f(1, b"Hello"),
        "binary_empty": f(2),
        "binary_125": f(2, bytes(range(125))),
        "binary_126": f(2, bytes(126)),
        "binary_127": f(2, b"x" * 127),
        "binary_65535_header": f(2, b"abc", length=65535),
        "binary_65536_header": f(2, b"abc", length=65536),
        "text_fragments_with_ping": f(1, b"Hel", fin=False) + f(9, b"p") + f(0, b"lo"),
        "text_split_code_point": f(1, b"a" + euro[:1], fin=False) + f(0, euro[1:] + b"b"),
        "text_invalid_utf8": f(1, b"ok\xed\xa0\x80"),
        "text_overlong": f(1, b"\xc0\xaf"),
        "ping_pong": f(9, b"ping") + f(10, b"pong") + f(9),
        "ping_125": f(9, b"p" * 125),
        "ping_126": f(9, b"p" * 126),
        "ping_fragmented": f(9, b"p", fin=False),
        "close_normal": f(8, close_payload(1000, b"bye")),
        "close_empty": f(8),
        "close_one_byte": f(8, b"\x03"),
        "close_1005": f(8, close_payload(1005)),
        "close_4999": f(8, close_payload(4999, b"app")),
        "close_bad_reason": f(8, close_payload(1000, b"\xff")),
        "close_then_data": f(8, close_payload(1001)) + f(1, b"late"),
        "rsv1": f(1, b"x", rsv=4),
        "rsv3_ping": f(9, b"", rsv=1),
        "opcode_3": f(3, b"x"),
        "opcode_11": f(11),
        "continuation_alone": f(0, b"x"),
        "new_message_inside": f(1, b"a", fin=False) + f(2, b"b"),
        "ten_pings": b"".join(f(9, bytes([i])) for i in range(10)),
        "large_fragments": f(2, b"a" * 300, fin=False) + f(0, b"b" * 300),
    }


# Byte 1 beside the chunk count (connection_harness.hpp).
TIMED, SPECIFIC2, EAGER = 0x20, 0x40, 0x80


def script(flags, stream, chunks=b"", eager=False, extra=0):
    """The Connection fuzzers' layout: flags, chunk count and byte-1 bits,
    stream, chunk sizes."""
    assert len(chunks) < 32
    return bytes([flags, len(chunks) | (EAGER if eager else 0) | extra]) + stream + chunks


# Flags (connection_harness.hpp).
STREAMED, SMALL, NO_PONG, SENDS, CLOSES, PARTIAL, SPECIFIC, FRAGMENT = (1 << i for i in range(8))

VARIANTS = [
    ("", 0, b"", False),
    ("bytewise", 0, b"\x01", False),
    ("streamed_chunks", STREAMED, b"\x03\x07", False),
    ("small_limits", SMALL | STREAMED, b"\x05", False),
    ("app_sends_closes", SENDS | CLOSES | PARTIAL | FRAGMENT, b"\x02\x00", True),
    ("no_pong", NO_PONG, b"", True),
]

# Timed scripts: the clock moves (chunk size % 16) * 3 ms a piece, so these
# cut the stream in pieces of 64, 69, 79 and 5 bytes, 0, 15, 45 and 15 ms
# apart: a handshake in the first pieces completes within its 30 ms, and the
# 45 ms step passes the idle timeout.
TIMED_CHUNKS = b"\x40\x45\x4f\x05"


def timed_seeds(streams_by_name, flags, names=("text_hello", "ping_pong", "close_normal")):
    seeds = {}
    for name in names:
        stream = streams_by_name[name]
        seeds["timed_" + name] = script(flags, stream, TIMED_CHUNKS, extra=TIMED)
        seeds["timed_app_closes_" + name] = script(flags | CLOSES, stream, TIMED_CHUNKS, extra=TIMED)
    return seeds


def connection_seeds(mask, specific_prefix=b""):
    seeds = {}
    for name, stream in streams(mask).items():
        for suffix, flags, chunks, eager in VARIANTS:
            key = name + ("_" + suffix if suffix else "")
            seeds[key] = script(flags, stream, chunks, eager)
    return seeds


def server_connection():
    seeds = connection_seeds(MASK)
    # The upgrade request arrives in the same read as the first frames.
    # (A ping there is written eagerly: see fuzz/regressions/server_connection_fuzzer.)
    for name in ("text_hello", "close_normal", "ping_pong"):
        seeds["with_request_" + name] = script(SPECIFIC, streams(MASK)[name], b"", name == "ping_pong")
        seeds["with_request_bytewise_" + name] = script(SPECIFIC, streams(MASK)[name], b"\x01",
                                                        name == "ping_pong")
    seeds["unmasked_frame"] = script(0, frame(1, b"x"))
    masked = streams(MASK)
    seeds.update(timed_seeds(masked, 0))
    seeds["timed_with_request_text_hello"] = script(SPECIFIC, masked["text_hello"], TIMED_CHUNKS,
                                                    extra=TIMED)
    seeds["timed_with_slow_request"] = script(SPECIFIC, masked["text_hello"], b"\x0f", extra=TIMED)
    # accept_upgrade(): the first piece is what the application read past the head.
    for name in ("text_hello", "ping_pong", "close_normal", "text_fragments_with_ping"):
        if name not in masked:
            continue
        seeds["accept_upgrade_" + name] = script(0, masked[name], b"\x03\x00", extra=SPECIFIC2)
        seeds["accept_upgrade_all_after_head_" + name] = script(0, masked[name], extra=SPECIFIC2)
        seeds["accept_upgrade_timed_" + name] = script(0, masked[name], TIMED_CHUNKS,
                                                       extra=SPECIFIC2 | TIMED)
    return seeds


def response(status="101 Switching Protocols", headers=None, body=b""):
    if headers is None:
        headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                   ("Sec-WebSocket-Accept", accept_for(CLIENT_KEY))]
    text = "HTTP/1.1 " + status + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
    return text.encode() + body


def client_connection():
    seeds = {}
    # With the target_specific flag the fuzzer sends a valid 101 first.
    for name, stream in streams(None).items():
        for suffix, flags, chunks, eager in VARIANTS:
            key = name + ("_" + suffix if suffix else "")
            seeds[key] = script(flags | SPECIFIC, stream, chunks, eager)
    ok = response()
    hello = frame(1, b"Hello")
    seeds["response_then_text"] = script(0, ok + hello)
    seeds["response_then_text_bytewise"] = script(0, ok + hello, b"\x01")
    seeds["response_subprotocol"] = script(0, response(headers=[
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_for(CLIENT_KEY)), ("Sec-WebSocket-Protocol", "chat")]) + hello)
    seeds["response_unoffered_subprotocol"] = script(0, response(headers=[
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_for(CLIENT_KEY)), ("Sec-WebSocket-Protocol", "other")]))
    seeds["response_extension"] = script(0, response(headers=[
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_for(CLIENT_KEY)),
        ("Sec-WebSocket-Extensions", "permessage-deflate")]))
    seeds["response_wrong_accept"] = script(0, response(headers=[
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]))
    seeds["response_no_upgrade"] = script(0, response(headers=[
        ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept_for(CLIENT_KEY))]))
    seeds["response_401_body"] = script(0, response("401 Unauthorized", [
        ("WWW-Authenticate", "Basic realm=\"ws\""), ("Content-Length", "5")], b"nope!"))
    seeds["response_302"] = script(0, response("302 Found", [
        ("Location", "ws://example.org/"), ("Content-Length", "0")]))
    seeds["response_http10"] = script(0, ok.replace(b"HTTP/1.1", b"HTTP/1.0") + hello)
    seeds["response_bare_lf"] = script(0, ok.replace(b"\r\n", b"\n") + hello, b"\x04")
    seeds["response_truncated"] = script(0, ok[:40])
    seeds.update(timed_seeds(streams(None), SPECIFIC))
    seeds["timed_response_then_text"] = script(0, ok + hello, TIMED_CHUNKS, extra=TIMED)
    # The answer comes in pieces of 15 bytes 45 ms apart: past the handshake timeout.
    seeds["timed_response_too_slow"] = script(0, ok + hello, b"\x0f", extra=TIMED)
    return seeds


def frame_decoder():
    # Byte 0: bit 0 client receiver, bits 1-3 RSV bits allowed, bit 4 a
    # message in progress. Byte 1: where payloads are cut for masking.
    seeds = {}
    for name, stream in streams(MASK).items():
        seeds["server_" + name] = bytes([0x00, 3]) + stream
    for name, stream in streams(None).items():
        seeds["client_" + name] = bytes([0x01, 5]) + stream
    seeds["rsv1_allowed"] = bytes([0x08, 1]) + frame(1, b"x", rsv=4, mask=MASK)
    seeds["in_progress"] = bytes([0x10, 2]) + frame(0, b"tail", mask=MASK)
    seeds["non_minimal_16"] = bytes([0x01, 0]) + b"\x82\x7e\x00\x05hello"
    seeds["non_minimal_64"] = bytes([0x01, 0]) + b"\x82\x7f" + struct.pack(">Q", 200)
    seeds["high_bit_64"] = bytes([0x01, 0]) + b"\x82\x7f\x80" + bytes(7)
    return seeds


def requests():
    base = [("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", SERVER_KEY), ("Sec-WebSocket-Version", "13")]

    def req(headers=base, line="GET /chat HTTP/1.1", eol="\r\n"):
        return (line + eol + "".join(f"{n}: {v}{eol}" for n, v in headers) + eol).encode()

    return {
        "valid": req(),
        "valid_then_frame": req() + frame(1, b"Hello", mask=MASK),
        "subprotocols_extensions": req(base + [
            ("Sec-WebSocket-Protocol", "chat, superchat"), ("Origin", "http://example.com"),
            ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")]),
        "connection_list": req([(n, "keep-alive, Upgrade" if n == "Connection" else v)
                                for n, v in base]),
        "bare_lf": req(eol="\n"),
        "leading_empty_lines": b"\r\n\r\n" + req(),
        "missing_key": req(base[:3] + base[4:]),
        "duplicate_key": req(base + [("Sec-WebSocket-Key", SERVER_KEY)]),
        "version_8": req(base[:4] + [("Sec-WebSocket-Version", "8")]),
        "post": req(line="POST /chat HTTP/1.1"),
        "http10": req(line="GET /chat HTTP/1.0"),
        "folded": req().replace(b"Upgrade: websocket\r\n", b"Upgrade:\r\n websocket\r\n"),
        "space_before_colon": req().replace(b"Upgrade:", b"Upgrade :"),
        "plain_get": b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    }


def http_head():
    # Fed to both kinds; byte 0 also chooses where the input is cut.
    seeds = dict(("request_" + k, v) for k, v in requests().items())
    seeds["response_101"] = response()
    seeds["response_401_body"] = response("401 Unauthorized", [("Content-Length", "5")], b"nope!")
    seeds["response_no_reason"] = b"HTTP/1.1 200 \r\nA: b\r\n\r\n"
    seeds["response_bad_status"] = b"HTTP/1.1 20 OK\r\n\r\n"
    seeds["response_bare_lf"] = response().replace(b"\r\n", b"\n")
    seeds["many_headers"] = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(20)) + b"\r\n"
    return seeds


def utf8():
    # Bytes 0 and 1 choose the piece sizes; the rest is the text.
    mixed = ("aé€😀" * 20).encode()
    texts = {
        "ascii": b"Hello, world",
        "two_byte": "é".encode() * 3,
        "three_byte": "€".encode() * 3,
        "four_byte": "😀".encode() * 2,
        "max_code_point": b"\xf4\x8f\xbf\xbf",
        "above_max": b"\xf4\x90\x80\x80",
        "overlong_2": b"\xc0\xaf",
        "overlong_3": b"\xe0\x80\xaf",
        "overlong_4": b"\xf0\x80\x80\xaf",
        "surrogate": b"\xed\xa0\x80",
        "last_before_surrogates": b"\xed\x9f\xbf",
        "truncated": "€".encode()[:2],
        "bare_continuation": b"a\x80b",
        "f5": b"\xf5\x80\x80\x80",
        "long_mixed": mixed,
        "long_mixed_bad_end": mixed + b"\xed\xbf\xbf",
        "long_mixed_bad_middle": mixed[:100] + b"\xff" + mixed[100:],
    }
    seeds = {}
    for name, text in texts.items():
        seeds[name] = bytes([0, 0]) + text
        seeds[name + "_pieces"] = bytes([63, 2]) + text
    return seeds


DICT = [
    # HTTP
    "GET", " HTTP/1.1", "HTTP/1.1 ", "HTTP/1.0", "101", " Switching Protocols", "\r\n", "\r\n\r\n",
    "\n", ": ", ", ", "Host", "Upgrade", "Connection", "websocket", "keep-alive",
    "Sec-WebSocket-Key", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "permessage-deflate",
    "client_max_window_bits", "Origin", "Content-Length", "Transfer-Encoding", "chunked",
    "Location", "chat", "superchat", SERVER_KEY, CLIENT_KEY, accept_for(SERVER_KEY),
    accept_for(CLIENT_KEY),
    # Frame header bytes: FIN + opcode, mask bit + length forms.
    b"\x81", b"\x82", b"\x80", b"\x01", b"\x02", b"\x00", b"\x88", b"\x89", b"\x8a", b"\x83",
    b"\x8b", b"\xc1", b"\xa1", b"\x91", b"\x7e", b"\x7f", b"\xfe", b"\xff", b"\x7e\x00\x7e",
    b"\xfe\x01\x00", b"\x7f\x00\x00\x00\x00\x00\x01\x00\x00", MASK,
    # Close codes 1000, 1002, 1005, 1007, 1009, 1015, 3000, 4999.
    b"\x03\xe8", b"\x03\xea", b"\x03\xed", b"\x03\xef", b"\x03\xf1", b"\x03\xf7", b"\x0b\xb8",
    b"\x13\x87",
    # UTF-8 edges.
    b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xf4\x8f\xbf\xbf",
    b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xc2\x80",
]


def dict_entry(value):
    data = value.encode() if isinstance(value, str) else value
    text = "".join(chr(b) if 0x20 <= b < 0x7F and chr(b) not in '"\\' else "\\x%02x" % b
                   for b in data)
    return '"' + text + '"'


def write_corpus(name, seeds):
    directory = os.path.join(HERE, "corpus", name)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for seed, data in sorted(seeds.items()):
        with open(os.path.join(directory, seed), "wb") as out:
            out.write(data)
    print(f"{name}: {len(seeds)} seeds")


def main():
    write_corpus("server_connection_fuzzer", server_connection())
    write_corpus("client_connection_fuzzer", client_connection())
    write_corpus("frame_decoder_fuzzer", frame_decoder())
    write_corpus("http_head_parser_fuzzer", http_head())
    write_corpus("server_handshake_fuzzer", requests())
    write_corpus("utf8_validator_fuzzer", utf8())
    with open(os.path.join(HERE, "ws.dict"), "w") as out:
        out.write("# libFuzzer dictionary for the ws fuzzers; written by fuzz/make_seeds.py.\n")
        for value in DICT:
            out.write(dict_entry(value) + "\n")
    print(f"ws.dict: {len(DICT)} entries")


if __name__ == "__main__":
    main()
