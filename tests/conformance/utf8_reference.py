"""A plain UTF-8 checker (RFC 3629 section 4) that says where a byte string
stops being a possible prefix of valid UTF-8: the byte at which a receiver
that fails fast (RFC 6455 8.1) must fail the connection."""


def _second_byte_range(lead):
    # RFC 3629 4: the ranges that exclude overlong forms (E0, F0), surrogates
    # (ED) and code points above U+10FFFF (F4).
    if lead == 0xE0:
        return 0xA0, 0xBF
    if lead == 0xED:
        return 0x80, 0x9F
    if lead == 0xF0:
        return 0x90, 0xBF
    if lead == 0xF4:
        return 0x80, 0x8F
    return 0x80, 0xBF


def _sequence_length(lead):
    if lead <= 0x7F:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0  # 80-C1 and F5-FF never start a sequence


def first_invalid(data):
    """Index of the first byte that makes `data` impossible as a prefix of
    UTF-8, or None when `data` is valid or merely truncated."""
    i = 0
    n = len(data)
    while i < n:
        length = _sequence_length(data[i])
        if length == 0:
            return i
        for k in range(1, length):
            if i + k >= n:
                return None  # truncated: only the end of the message decides
            low, high = _second_byte_range(data[i]) if k == 1 else (0x80, 0xBF)
            if not low <= data[i + k] <= high:
                return i + k
        i += length
    return None


def is_complete(data):
    """True when `data` is valid UTF-8 with no truncated sequence at the end."""
    if first_invalid(data) is not None:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
