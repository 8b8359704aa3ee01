// Differential fuzzer for UTF-8 validation (RFC 3629; RFC 6455 5.6 and 8.1
// let a code point be split across frames). The reference is the plain
// checker in reference_utf8.hpp. Checks that:
//  - ws::is_valid_utf8 and the incremental ws::Utf8Validator, on both
//    backends, fed whole, one byte at a time, or in pieces whose sizes the
//    input chooses, agree with the reference;
//  - it fails fast: the piece that holds the reference's first bad byte is
//    the piece whose feed() returns false, and every piece before it passes;
//  - once failed it stays failed, and reset() starts afresh.
// Any disagreement aborts, which libFuzzer reports as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <optional>

#include "check.hpp"
#include "reference_utf8.hpp"
#include "ws/base/bytes.hpp"
#include "ws/base/utf8_validator.hpp"

namespace {

using ws::detail::Utf8Backend;

using fuzz::check;

// Feeds `text` in pieces of sizes a, b, a, b, ... and checks each answer
// against the reference verdict.
void check_pieces(ws::ByteView text, std::size_t a, std::size_t b, Utf8Backend backend,
                  const fuzz::Utf8Verdict& expected) {
  ws::Utf8Validator validator{backend};
  std::size_t offset = 0;
  bool use_a = true;
  while (offset < text.size()) {
    const std::size_t n = std::min(use_a ? a : b, text.size() - offset);
    use_a = !use_a;
    const bool ok = validator.feed(text.subspan(offset, n));
    const bool holds_bad = expected.bad_byte && *expected.bad_byte < offset + n;
    check(ok == !holds_bad);
    check(validator.has_failed() == holds_bad);
    if (!ok) {
      // Sticky: more input does not revive it.
      check(!validator.feed(text.subspan(offset + n)));
      check(!validator.is_complete());
      validator.reset();
      check(!validator.has_failed() && validator.is_complete());
      return;
    }
    offset += n;
  }
  check(validator.is_complete() == expected.valid);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // The first two bytes choose the piece sizes; the rest is the text.
  const std::size_t a = std::size_t{data[0]} + 1;
  const std::size_t b = std::size_t{data[1]} % 96 + 1;
  const ws::ByteView text{reinterpret_cast<const std::byte*>(data + 2), size - 2};

  const fuzz::Utf8Verdict expected = fuzz::reference_utf8(text);
  check(!expected.valid || !expected.bad_byte.has_value());
  check(ws::is_valid_utf8(text) == expected.valid);

  for (Utf8Backend backend : {Utf8Backend::automatic, Utf8Backend::builtin}) {
    ws::Utf8Validator whole{backend};
    const bool ok = whole.feed(text);
    check(ok == !expected.bad_byte.has_value());
    check((ok && whole.is_complete()) == expected.valid);
    check_pieces(text, 1, 1, backend, expected);
    check_pieces(text, a, b, backend, expected);
  }
  return 0;
}
