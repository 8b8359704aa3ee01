"""permessage-deflate (RFC 7692) for the raw-frame peer: negotiation checks,
the peer's own compressor and inflater (Python's zlib with raw streams,
wbits=-N), and sending and checking compressed messages.

The peer compresses each message with Z_SYNC_FLUSH and removes the trailing
00 00 ff ff (RFC 7692 7.2.1); it inflates a received message after
appending them again (7.2.2). Context takeover and window sizes follow the
agreed parameters in each direction (7.1.1, 7.1.2): the peer's inflater is
fresh for every message when the other side agreed *_no_context_takeover,
and has exactly the agreed window, so a compressor that keeps its context
or uses a larger window than agreed is caught.
"""

import zlib

from wire import BINARY, CONTINUATION, OPCODE_NAMES, PING, PONG, TEXT, CaseFailure, difference

NAME = "permessage-deflate"
TAIL = b"\x00\x00\xff\xff"
RSV1 = 0x4

# zlib cannot make a raw deflate stream with an 8-bit window: the peer then
# sends stored blocks only (level 0, no back-references at all), which any
# window decodes.
SMALLEST_COMPRESSOR_BITS = 9

# Output room per inflate call when the window is checked exactly: zlib
# lets a back-reference reach into output made in the same call, whatever
# the window; with small calls, a distance beyond the window plus this
# fails ("invalid distance too far back").
STRICT_STEP = 128


def parse_extensions(value):
    """[(name, [(parameter, value or None)])] of a Sec-WebSocket-Extensions
    value (RFC 6455 9.1); quoted values are unquoted. Good enough for the
    values these cases write and the ones ws writes."""
    elements = []
    for element in value.split(","):
        parts = [p.strip() for p in element.split(";")]
        if not parts[0]:
            raise CaseFailure("empty extension element in %r (RFC 6455 9.1)" % value)
        params = []
        for part in parts[1:]:
            name, eq, text = part.partition("=")
            text = text.strip()
            if eq and len(text) >= 2 and text[0] == '"' and text[-1] == '"':
                text = text[1:-1]
            params.append((name.strip(), text if eq else None))
        elements.append((parts[0].lower(), params))
    return elements


def window_value(text):
    """RFC 7692 7.1.2: 8..15 in decimal, no leading zero; None otherwise."""
    if text is None or not text.isdigit() or text[0] == "0" or not 8 <= int(text) <= 15:
        return None
    return int(text)


def read_params(params, is_response):
    """The parameters of one permessage-deflate element as a dict, or None
    when RFC 7692 7 makes the element invalid (unknown or repeated
    parameter, bad value). client_max_window_bits without a value (offers
    only) is 0."""
    out = {}
    for name, value in params:
        if name in out:
            return None
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                return None
            out[name] = True
        elif name == "server_max_window_bits":
            bits = window_value(value)
            if bits is None:
                return None
            out[name] = bits
        elif name == "client_max_window_bits":
            if value is None:
                if is_response:
                    return None
                out[name] = 0
            else:
                bits = window_value(value)
                if bits is None:
                    return None
                out[name] = bits
        else:
            return None
    return out


class Agreed:
    """An agreed parameter set (RFC 7692 7.1); 15 bits when not limited."""

    def __init__(self, params):
        self.server_nct = bool(params.get("server_no_context_takeover"))
        self.client_nct = bool(params.get("client_no_context_takeover"))
        self.server_bits = params.get("server_max_window_bits") or 15
        self.client_bits = params.get("client_max_window_bits") or 15

    def describe(self):
        return "server %d bits%s, client %d bits%s" % (
            self.server_bits, ", no context takeover" if self.server_nct else "",
            self.client_bits, ", no context takeover" if self.client_nct else "")


def offered_elements(value):
    """The valid permessage-deflate offers in a request's header value, as
    parameter dicts, in order."""
    if value is None:
        return []
    offers = []
    for name, params in parse_extensions(value):
        if name == NAME:
            p = read_params(params, is_response=False)
            if p is not None:
                offers.append(p)
    return offers


def fits(offer, p):
    """Whether response parameters `p` answer `offer` (RFC 7692 7.1)."""
    # 7.1.1.1: a server that accepts server_no_context_takeover echoes it.
    if offer.get("server_no_context_takeover") and not p.get("server_no_context_takeover"):
        return False
    # 7.1.2.1: an offered server_max_window_bits comes back, same or smaller.
    if "server_max_window_bits" in offer and \
            p.get("server_max_window_bits", 99) > offer["server_max_window_bits"]:
        return False
    # 7.1.2.2: client_max_window_bits only when offered, not above its value.
    if "client_max_window_bits" in p:
        if "client_max_window_bits" not in offer:
            return False
        if offer["client_max_window_bits"] and \
                p["client_max_window_bits"] > offer["client_max_window_bits"]:
            return False
    return True


def check_response(offered, response):
    """What a server agreed, checked as a client must (RFC 7692 5, 7.1):
    None when it declined (no header), else Agreed."""
    if response is None:
        return None
    elements = parse_extensions(response)
    if len(elements) != 1 or elements[0][0] != NAME:
        raise CaseFailure("the server answered Sec-WebSocket-Extensions: %s to an offer of "
                          "permessage-deflate only (RFC 6455 9.1, RFC 7692 5)" % response)
    p = read_params(elements[0][1], is_response=True)
    if p is None:
        raise CaseFailure("invalid permessage-deflate response %r (RFC 7692 7)" % response)
    offers = offered_elements(offered)
    if not any(fits(o, p) for o in offers):
        raise CaseFailure("the response %r fits none of the offers %r (RFC 7692 7.1)" % (
            response, offered))
    return Agreed(p)


class Codec:
    """The peer's side of an agreed parameter set: it compresses with its
    own role's parameters and inflates with the other side's."""

    def __init__(self, role, agreed, level=6):
        if role == "client":
            self.own_nct, self.own_bits = agreed.client_nct, agreed.client_bits
            self.peer_nct, self.peer_bits = agreed.server_nct, agreed.server_bits
        else:
            self.own_nct, self.own_bits = agreed.server_nct, agreed.server_bits
            self.peer_nct, self.peer_bits = agreed.client_nct, agreed.client_bits
        self.level = level
        self.compressor = None
        self.inflater = None
        self.fresh_inflates = 0  # messages inflated from an empty window

    def _compressor(self):
        if self.compressor is None or self.own_nct:
            bits = max(self.own_bits, SMALLEST_COMPRESSOR_BITS)
            level = self.level if self.own_bits >= SMALLEST_COMPRESSOR_BITS else 0
            self.compressor = zlib.compressobj(level, zlib.DEFLATED, -bits)
        return self.compressor

    def compress(self, payload):
        """One message, flushed once, without the trailing 00 00 ff ff."""
        return self.compress_pieces([payload])[0]

    def compress_pieces(self, pieces):
        """One message given in pieces, each flushed (as a streaming sender
        does): the data of each fragment; only the last loses its tail."""
        c = self._compressor()
        out = [c.compress(p) + c.flush(zlib.Z_SYNC_FLUSH) for p in pieces]
        if not out[-1].endswith(TAIL):
            raise AssertionError("zlib's sync flush did not end with 00 00 ff ff")
        out[-1] = out[-1][:-4]
        return out

    def inflate(self, data, strict=False):
        """A received message's data (frames joined). `strict` inflates in
        small steps so that a back-reference beyond the agreed window fails."""
        if self.inflater is None or self.peer_nct:
            self.inflater = zlib.decompressobj(-self.peer_bits)
            self.fresh_inflates += 1
        d = self.inflater
        try:
            if not strict:
                out = d.decompress(data + TAIL)
            else:
                parts = []
                rest = data + TAIL
                while True:
                    piece = d.decompress(rest, STRICT_STEP)
                    parts.append(piece)
                    rest = d.unconsumed_tail
                    if d.eof or (not rest and len(piece) < STRICT_STEP):
                        break
                out = b"".join(parts)
        except zlib.error as error:
            raise CaseFailure(
                "the compressed message does not inflate with a %d-bit window%s: %s "
                "(RFC 7692 7.1.1, 7.1.2, 7.2.2)" % (
                    self.peer_bits, " from an empty context (no context takeover agreed)"
                    if self.peer_nct else " and the context of the earlier messages", error))
        if d.eof:
            # A final block (BFINAL): the next message starts a new stream.
            self.inflater = None
        return out


def negotiate(peer, must_accept=True):
    """Reads what the handshake agreed, checks it, and sets the peer up for
    RSV1. Returns a Codec, or None when compression was declined."""
    if peer.role == "client":
        agreed = check_response(peer.offered_extensions, peer.extensions_response)
        if agreed is None and must_accept:
            raise CaseFailure("the server declined the offer %r (no Sec-WebSocket-Extensions in "
                              "its 101)" % peer.offered_extensions)
    else:
        if not offered_elements(peer.offered_extensions):
            raise CaseFailure("the client offered no valid permessage-deflate: %r" %
                              peer.offered_extensions)
        agreed = None
        if peer.extensions_response is not None:
            agreed = Agreed(read_params(parse_extensions(peer.extensions_response)[0][1], True))
    if agreed is None:
        return None
    peer.rsv_allowed = RSV1
    codec = Codec(peer.role, agreed)
    if peer.role == "client":
        # 7.1.2.2: a value on client_max_window_bits in the offer the server
        # took says the client compresses with at most that window.
        response = read_params(parse_extensions(peer.extensions_response)[0][1], True)
        taken = next(o for o in offered_elements(peer.offered_extensions) if fits(o, response))
        if taken.get("client_max_window_bits"):
            codec.own_bits = min(codec.own_bits, taken["client_max_window_bits"])
    return codec


def message_frames(peer, opcode, payload, codec=None, fragment=None, pieces=None, rsv=None):
    """The bytes of one message: compressed with `codec` (RSV1 on the first
    frame) or plain when codec is None; in fragments of `fragment` bytes of
    frame data, or one frame per piece of `pieces` (each compressed and
    flushed on its own)."""
    if codec is None:
        data = [payload[i:i + fragment] for i in range(0, len(payload), fragment)] \
            if fragment else [payload]
        data = data or [b""]
        first_rsv = 0
    elif pieces is not None:
        data = codec.compress_pieces(pieces)
        first_rsv = RSV1
    else:
        whole = codec.compress(payload)
        data = [whole[i:i + fragment] for i in range(0, len(whole), fragment)] \
            if fragment else [whole]
        first_rsv = RSV1
    if rsv is not None:
        first_rsv = rsv
    out = []
    for i, chunk in enumerate(data):
        out.append(peer.frame(opcode if i == 0 else CONTINUATION, chunk,
                              fin=(i == len(data) - 1), rsv=first_rsv if i == 0 else 0))
    return b"".join(out)


def read_echo(peer, codec, what, allow_pongs=False, strict=False, compressed=True):
    """The next message, inflated when it has RSV1. `compressed` True
    requires RSV1 (ws compresses every message it sends once compression is
    agreed), False requires it clear, None takes either."""
    opcode, data, frames = peer.read_message(what, allow_pongs=allow_pongs)
    is_compressed = bool(frames[0].rsv & RSV1)
    if compressed and not is_compressed:
        raise CaseFailure("%s came uncompressed (RSV1 clear), expected compressed" % what)
    if compressed is False and is_compressed:
        raise CaseFailure("%s came with RSV1 although no compression was agreed" % what)
    if is_compressed:
        if codec is None:
            raise CaseFailure("RSV1 without an agreed extension (RFC 6455 5.2)")
        data = codec.inflate(data, strict)
    return opcode, data, frames


def expect_echo(peer, codec, opcode, payload, strict=False, allow_pongs=False, compressed=True):
    what = "the echo of a %s message of %d bytes" % (OPCODE_NAMES[opcode], len(payload))
    got_opcode, got, frames = read_echo(peer, codec, what, allow_pongs, strict,
                                        compressed if codec is not None else False)
    if got_opcode != opcode:
        raise CaseFailure("expected a %s message, got %s" % (OPCODE_NAMES[opcode],
                                                             OPCODE_NAMES[got_opcode]))
    if got != payload:
        raise CaseFailure("%s differs after inflating: %s" % (what, difference(payload, got)))
    return frames


def send_and_expect(peer, codec, opcode, payload, send_compressed=True, fragment=None,
                    pieces=None, strict=False):
    peer.send(message_frames(peer, opcode, payload, codec if send_compressed else None,
                             fragment, pieces))
    return expect_echo(peer, codec, opcode, payload, strict)


def expect_pong_and_echo(peer, codec, ping_payload, opcode, payload):
    """A pong and an echo in either order (RFC 6455 5.5.2: a pong as soon as
    practical; it may come between the echo's fragments too)."""
    pongs = []
    frames = []
    while True:
        frame = peer.next_frame("a pong and the echo")
        if frame.opcode == PONG:
            pongs.append(bytes(frame.payload))
        elif frame.opcode == PING:
            peer.send_frame(PONG, frame.payload)
        else:
            if not frames and frame.opcode not in (TEXT, BINARY):
                raise CaseFailure("expected the echo, got %s" % frame.describe())
            if frames and frame.opcode != CONTINUATION:
                raise CaseFailure("expected a continuation, got %s" % frame.describe())
            frames.append(frame)
        if frames and frames[-1].fin and pongs:
            break
    if pongs != [ping_payload]:
        raise CaseFailure("expected one pong %r, got %r" % (ping_payload, pongs))
    data = b"".join(f.payload for f in frames)
    if frames[0].rsv & RSV1:
        data = codec.inflate(data)
    if frames[0].opcode != opcode or data != payload:
        raise CaseFailure("the echo differs: %s" % difference(payload, data))
