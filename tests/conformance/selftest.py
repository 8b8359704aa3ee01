#!/usr/bin/python3
"""Checks the suite's own pieces, with no program under test: the UTF-8
reference against Python's decoder, frame encoding and reading, the batch
checker of group 9 and the case list."""

import os
import random
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import deflate_cases  # noqa: E402
import deflate_wire  # noqa: E402
import limit_cases  # noqa: E402
import run_conformance  # noqa: E402
import utf8_reference  # noqa: E402
from suite import GROUP_TITLES, Scale  # noqa: E402
from wire import (BINARY, PING, TEXT, CaseFailure, Peer, Timeouts, encode_length,  # noqa: E402
                  mask)


def python_says_prefix_ok(data):
    """True when `data` is valid UTF-8 or valid but cut short at its end."""
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError as error:
        return error.reason == "unexpected end of data"


class Utf8Reference(unittest.TestCase):
    def check(self, data):
        self.assertEqual(utf8_reference.first_invalid(data) is None, python_says_prefix_ok(data),
                         data)
        self.assertEqual(utf8_reference.is_complete(data), _decodes(data), data)

    def test_every_two_byte_string(self):
        for a in range(256):
            for b in range(256):
                self.check(bytes([a, b]))

    def test_random_strings_near_the_boundaries(self):
        rng = random.Random(6455)
        interesting = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2,
                       0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5,
                       0xFF]
        for _ in range(50000):
            self.check(bytes(rng.choice(interesting) for _ in range(rng.randint(1, 7))))

    def test_first_invalid_names_the_byte(self):
        self.assertEqual(utf8_reference.first_invalid(b"ab\xed\xa0\x80"), 3)
        self.assertEqual(utf8_reference.first_invalid(b"\xf4\x90\x80\x80"), 1)
        self.assertEqual(utf8_reference.first_invalid(b"\xc2A"), 1)
        self.assertEqual(utf8_reference.first_invalid(b"\x80"), 0)
        self.assertIsNone(utf8_reference.first_invalid(b"\xf0\x9f\x98"))


def _decodes(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class Frames(unittest.TestCase):
    def setUp(self):
        self.a, self.b = socket.socketpair()
        self.client = Peer(self.a, "client", Timeouts(0.2))
        self.server = Peer(self.b, "server", Timeouts(0.2))

    def tearDown(self):
        self.a.close()
        self.b.close()

    def test_mask_is_its_own_inverse(self):
        data = os.urandom(1001)
        self.assertEqual(mask(mask(data, b"\x01\x02\x03\x04"), b"\x01\x02\x03\x04"), data)

    def test_lengths_use_the_minimal_form(self):
        self.assertEqual(encode_length(125), (125, b""))
        self.assertEqual(encode_length(126), (126, b"\x00\x7e"))
        self.assertEqual(encode_length(65536), (127, b"\x00\x00\x00\x00\x00\x01\x00\x00"))

    def test_client_frames_reach_a_server_unmasked(self):
        self.client.send_frame(BINARY, b"\x00\x01\x02" * 100)
        self.server.expect_message(BINARY, b"\x00\x01\x02" * 100)

    def test_server_frames_reach_a_client(self):
        self.server.send_frame(TEXT, b"hello", fin=False)
        self.server.send_frame(PING, b"p")
        self.server.send_frame(0, b" world")
        self.client.read_message()  # answers the ping on the way
        self.server.expect_pong(b"p")

    def test_a_masked_frame_from_a_server_is_reported(self):
        self.server.send_frame(TEXT, b"x", masked=True)
        with self.assertRaises(CaseFailure):
            self.client.read_frame()

    def test_a_long_ping_is_reported(self):
        self.server.send_frame(PING, b"x" * 126)
        with self.assertRaises(CaseFailure):
            self.client.read_frame()

    def test_a_wrong_echo_is_reported(self):
        self.server.send_frame(TEXT, b"abd")
        with self.assertRaises(CaseFailure):
            self.client.expect_text("abc")


class SmallMessageBatches(unittest.TestCase):
    def test_batches_check_both_roles(self):
        for role in ("client", "server"):
            peer = Peer(None, role, Timeouts())
            sent, plain = limit_cases.small_message_batch(peer, 0, 500, 7)
            limit_cases.check_echo_batch(sent, plain, 500, 7, peer.masks, 0)
            bad = bytearray(sent)
            bad[len(bad) // 2] ^= 0x10
            with self.assertRaises(CaseFailure):
                limit_cases.check_echo_batch(bytes(bad), plain, 500, 7, peer.masks, 0)


class CaseList(unittest.TestCase):
    def test_ids_are_unique_and_grouped(self):
        for target in ("server", "client"):
            for deflate in (False, True):
                cases = run_conformance.all_cases(Scale("full"), target, [], deflate)
                ids = [c.id for c in cases]
                self.assertTrue(ids)
                self.assertEqual(len(ids), len(set(ids)))
                for c in cases:
                    self.assertIn(c.group, GROUP_TITLES)
                    self.assertEqual(c.group in (12, 13), deflate)


class DeflatePieces(unittest.TestCase):
    """The compression groups' checks have teeth: a compressor that uses a
    larger window or keeps its context against the agreement is caught."""

    def test_rfc_7692_example(self):
        codec = deflate_wire.Codec("client", deflate_wire.Agreed({}))
        self.assertEqual(codec.compress(b"Hello"), bytes.fromhex("f248cdc9c90700"))
        self.assertEqual(codec.compress(b"Hello"), bytes.fromhex("f200110000"))
        self.assertEqual(codec.compress(b""), b"\x00")

    def test_a_window_larger_than_agreed_is_caught(self):
        for bits in range(9, 16):
            wide = deflate_wire.Codec("server", deflate_wire.Agreed({}))
            narrow = deflate_wire.Codec("client", deflate_wire.Agreed(
                {"server_max_window_bits": bits}))
            data = wide.compress(deflate_cases.PROBE)
            if bits == 15:
                self.assertEqual(narrow.inflate(data, strict=True), deflate_cases.PROBE)
            else:
                with self.assertRaises(CaseFailure):
                    narrow.inflate(data, strict=True)

    def test_context_kept_against_the_agreement_is_caught(self):
        server = deflate_wire.Codec("server", deflate_wire.Agreed({}))
        client = deflate_wire.Codec("client", deflate_wire.Agreed(
            {"server_no_context_takeover": True}))
        client.inflate(server.compress(deflate_cases.RANDOM_2K))
        with self.assertRaises(CaseFailure):
            client.inflate(server.compress(deflate_cases.RANDOM_2K))

    def test_responses_are_checked_against_the_offer(self):
        offer = "permessage-deflate; server_max_window_bits=10; client_max_window_bits"
        agreed = deflate_wire.check_response(
            offer, "permessage-deflate; server_max_window_bits=9; client_max_window_bits=12")
        self.assertEqual((agreed.server_bits, agreed.client_bits), (9, 12))
        for bad in ("permessage-deflate", "permessage-deflate; server_max_window_bits=11",
                    "permessage-deflate; server_max_window_bits=10; client_max_window_bits",
                    "permessage-deflate; server_max_window_bits=10; x=1", "x-other"):
            with self.assertRaises(CaseFailure):
                deflate_wire.check_response(offer, bad)
        self.assertIsNone(deflate_wire.check_response(offer, None))


if __name__ == "__main__":
    unittest.main(verbosity=1)
