// The frame layer on an arbitrary stream of frames (RFC 6455 5.2-5.5),
// compared with a reference decoder written here from the RFC:
//  - decode_frame_header agrees with the reference on every header (status,
//    fields, size, error), never reads past its input, answers "incomplete"
//    for every shorter prefix, and what it accepts encodes back to the same
//    bytes (it accepts only the shortest length form);
//  - check_frame_header passes exactly the headers that break no rule, and
//    names a rule that is broken otherwise;
//  - every masking implementation, whole or in pieces, unmasks like a plain
//    XOR loop;
//  - parse_close_payload agrees with the reference on close payloads.
// Input: byte 0 is the receiver's context (role, RSV bits an extension
// claims, message in progress), byte 1 where to cut payloads for masking in
// pieces, the rest the frames.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <system_error>
#include <vector>

#include "check.hpp"
#include "reference_utf8.hpp"
#include "ws/base/error.hpp"
#include "ws/frame/close_code.hpp"
#include "ws/frame/frame_header.hpp"
#include "ws/frame/frame_rules.hpp"
#include "ws/frame/masking.hpp"

namespace {

using fuzz::check;

struct ReferenceHeader {
  ws::HeaderStatus status = ws::HeaderStatus::incomplete;
  bool fin = false;
  unsigned rsv = 0;
  unsigned opcode = 0;
  bool masked = false;
  std::array<std::uint8_t, 4> key{};
  std::uint64_t length = 0;
  std::size_t size = 0;
  ws::errc error{};
};

ReferenceHeader reference_header(const std::uint8_t* p, std::size_t n) {
  ReferenceHeader r;
  if (n < 2) return r;
  r.fin = (p[0] & 0x80U) != 0;
  r.rsv = (p[0] >> 4) & 7U;
  r.opcode = p[0] & 0x0FU;
  r.masked = (p[1] & 0x80U) != 0;
  const unsigned len7 = p[1] & 0x7FU;
  const std::size_t extra = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  r.size = 2 + extra + (r.masked ? 4 : 0);
  if (n < r.size) return r;
  r.length = len7;
  if (extra > 0) {
    r.length = 0;
    for (std::size_t i = 0; i < extra; ++i) r.length = r.length * 256 + p[2 + i];
  }
  if (extra == 8 && r.length >= (std::uint64_t{1} << 63)) {
    r.status = ws::HeaderStatus::invalid;
    r.error = ws::errc::length_high_bit_set;
    return r;
  }
  if ((extra == 2 && r.length < 126) || (extra == 8 && r.length < 65536)) {
    r.status = ws::HeaderStatus::invalid;
    r.error = ws::errc::non_minimal_length;
    return r;
  }
  if (r.masked) {
    for (std::size_t i = 0; i < 4; ++i) r.key[i] = p[2 + extra + i];
  }
  r.status = ws::HeaderStatus::complete;
  return r;
}

// The rules of RFC 6455 5.1-5.5 this header breaks for this receiver.
std::vector<ws::errc> broken_rules(const ReferenceHeader& h, const ws::FrameContext& context) {
  std::vector<ws::errc> broken;
  if ((h.rsv & ~unsigned{context.allowed_reserved_bits}) != 0) {
    broken.push_back(ws::errc::reserved_bits_set);
  }
  const bool known = h.opcode <= 2 || (h.opcode >= 8 && h.opcode <= 10);
  if (!known) broken.push_back(ws::errc::reserved_opcode);
  if (context.receiver == ws::Role::server && !h.masked) broken.push_back(ws::errc::mask_required);
  if (context.receiver == ws::Role::client && h.masked) broken.push_back(ws::errc::mask_forbidden);
  if (known && h.opcode >= 8) {
    if (!h.fin) broken.push_back(ws::errc::control_frame_fragmented);
    if (h.length > 125) broken.push_back(ws::errc::control_frame_too_long);
  }
  if (known && h.opcode == 0 && !context.message_in_progress) {
    broken.push_back(ws::errc::unexpected_continuation);
  }
  if (known && (h.opcode == 1 || h.opcode == 2) && context.message_in_progress) {
    broken.push_back(ws::errc::message_not_finished);
  }
  return broken;
}

void check_masking(const std::uint8_t* payload, std::size_t size, const ws::MaskKey& key,
                   std::size_t cut) {
  std::vector<std::byte> expected(size);
  for (std::size_t i = 0; i < size; ++i) {
    expected[i] = static_cast<std::byte>(payload[i]) ^ key[i % 4];
  }
  cut = size == 0 ? 0 : cut % (size + 1);
  const auto* source = reinterpret_cast<const std::byte*>(payload);
  for (const ws::detail::MaskingImplementation& impl : ws::detail::masking_implementations()) {
    std::vector<std::byte> data(source, source + size);
    const std::size_t offset = impl.apply(data.data(), cut, key, 0);
    check(offset == cut % 4);
    check(impl.apply(data.data() + cut, size - cut, key, offset) == size % 4);
    check(data == expected);
    std::vector<std::byte> copy(size);
    impl.copy(copy.data(), source, size, key, 0);
    check(copy == expected);
  }
  std::vector<std::byte> data(source, source + size);
  ws::apply_mask(data, key);
  check(data == expected);
}

void check_close_payload(ws::ByteView payload) {
  const ws::ClosePayload parsed = ws::parse_close_payload(payload);
  if (payload.empty()) {
    check(!parsed.error && parsed.code == ws::CloseCode::no_status && parsed.reason.empty());
    return;
  }
  if (payload.size() == 1) {
    check(parsed.error == ws::errc::invalid_close_payload);
    return;
  }
  const auto code = static_cast<unsigned>(std::to_integer<unsigned>(payload[0]) << 8 |
                                          std::to_integer<unsigned>(payload[1]));
  // RFC 6455 7.4.1/7.4.2 and the IANA registry.
  const bool valid_code = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                          (code >= 3000 && code <= 4999);
  if (!valid_code) {
    check(parsed.error == ws::errc::invalid_close_code);
    return;
  }
  if (!fuzz::reference_utf8(payload.subspan(2)).valid) {
    check(parsed.error == ws::errc::invalid_close_reason);
    return;
  }
  check(!parsed.error);
  check(static_cast<unsigned>(parsed.code) == code);
  check(parsed.reason.size() == payload.size() - 2);
  check(parsed.reason.empty() ||
        reinterpret_cast<const std::byte*>(parsed.reason.data()) == payload.data() + 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  ws::FrameContext context;
  context.receiver = (data[0] & 1U) != 0 ? ws::Role::client : ws::Role::server;
  context.allowed_reserved_bits = static_cast<std::uint8_t>((data[0] >> 1) & 7U);
  context.message_in_progress = (data[0] & 0x10U) != 0;
  const std::size_t cut = data[1];
  std::size_t at = 2;
  while (at < size) {
    const std::uint8_t* p = data + at;
    const std::size_t n = size - at;
    // A copy of exactly the bytes a header may use, so ASan catches any
    // over-read (a header never needs more than 14).
    const std::size_t window = std::min(n, ws::max_frame_header_size);
    const std::vector<std::byte> input(reinterpret_cast<const std::byte*>(p),
                                       reinterpret_cast<const std::byte*>(p) + window);
    const ws::HeaderDecodeResult decoded = ws::decode_frame_header(input);
    const ReferenceHeader expected = reference_header(p, n);
    check(decoded.status == expected.status);
    if (decoded.status == ws::HeaderStatus::invalid) {
      check(decoded.error == expected.error);
      return 0;
    }
    if (decoded.status == ws::HeaderStatus::incomplete) return 0;
    const ws::FrameHeader& h = decoded.header;
    check(decoded.header_size == expected.size && h.fin == expected.fin &&
          h.reserved_bits == expected.rsv && static_cast<unsigned>(h.opcode) == expected.opcode &&
          h.masked == expected.masked && h.payload_length == expected.length);
    if (h.masked) check(std::memcmp(h.mask_key.data(), expected.key.data(), 4) == 0);
    check(decoded.header_size == ws::frame_header_size(h.payload_length, h.masked));
    // Every shorter prefix is incomplete: nothing is decided before the end.
    const std::vector<std::byte> prefix(
        input.begin(), input.begin() + static_cast<std::ptrdiff_t>(expected.size - 1));
    check(ws::decode_frame_header(prefix).status == ws::HeaderStatus::incomplete);
    std::array<std::byte, ws::max_frame_header_size> out{};
    check(ws::encode_frame_header(h, out) == decoded.header_size);
    check(std::memcmp(out.data(), p, decoded.header_size) == 0);

    const std::vector<ws::errc> broken = broken_rules(expected, context);
    const std::error_code rule = ws::check_frame_header(h, context);
    if (broken.empty()) {
      check(!rule);
    } else {
      bool named = false;
      for (ws::errc e : broken) named = named || rule == e;
      check(named);
    }

    at += decoded.header_size;
    const std::size_t available = size - at;
    const std::size_t payload_size =
        h.payload_length < available ? static_cast<std::size_t>(h.payload_length) : available;
    check_masking(data + at, payload_size, h.masked ? h.mask_key : ws::MaskKey{}, cut);
    if (h.opcode == ws::Opcode::close && payload_size == h.payload_length &&
        h.payload_length <= 125) {
      std::vector<std::byte> payload(reinterpret_cast<const std::byte*>(data + at),
                                     reinterpret_cast<const std::byte*>(data + at) + payload_size);
      if (h.masked) ws::apply_mask(payload, h.mask_key);
      check_close_payload(payload);
    }
    at += payload_size;
    if (broken.empty() && !ws::is_control(h.opcode)) context.message_in_progress = !h.fin;
  }
  return 0;
}
