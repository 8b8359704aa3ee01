// Differential fuzzer for UTF-8 validation (RFC 3629; RFC 6455 5.6 and 8.1
// let a code point be split across frames). Checks that:
//  - the incremental ws::Utf8Validator, fed whole or in two pieces, agrees
//    with the one-shot ws::is_valid_utf8, on both backends;
//  - it fails fast: the piece that holds the first byte found invalid one byte
//    at a time is the piece whose feed() returns false.
// Any disagreement aborts, which libFuzzer reports as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <optional>

#include "ws/base/bytes.hpp"
#include "ws/base/utf8_validator.hpp"

namespace {

using ws::detail::Utf8Backend;

// Index of the byte at which one-byte-at-a-time validation fails, if any.
std::optional<std::size_t> first_bad_byte(ws::ByteView text) {
  ws::Utf8Validator validator{Utf8Backend::builtin};
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!validator.feed(text.subspan(i, 1))) return i;
  }
  return std::nullopt;
}

void check_two_pieces(ws::ByteView text, std::size_t cut, Utf8Backend backend, bool expected,
                      std::optional<std::size_t> bad) {
  ws::Utf8Validator validator{backend};
  const bool first_ok = validator.feed(text.first(cut));
  if (bad.has_value() && (*bad < cut) == first_ok) std::abort();
  if (!first_ok) {
    if (expected) std::abort();
    return;
  }
  const bool second_ok = validator.feed(text.subspan(cut));
  if (bad.has_value() == second_ok) std::abort();
  if ((second_ok && validator.is_complete()) != expected) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // The first two bytes choose where to cut; the rest is the text.
  const std::size_t cut_seed = std::size_t{data[0]} << 8 | std::size_t{data[1]};
  const ws::ByteView text{reinterpret_cast<const std::byte*>(data + 2), size - 2};
  const std::size_t cut = cut_seed % (text.size() + 1);

  const bool expected = ws::is_valid_utf8(text);
  const std::optional<std::size_t> bad = first_bad_byte(text);
  // Valid text has no bad byte; invalid text has one or ends mid code point.
  if (expected && bad.has_value()) std::abort();

  for (Utf8Backend backend : {Utf8Backend::automatic, Utf8Backend::builtin}) {
    ws::Utf8Validator whole{backend};
    if ((whole.feed(text) && whole.is_complete()) != expected) std::abort();
    check_two_pieces(text, cut, backend, expected, bad);
  }
  return 0;
}
