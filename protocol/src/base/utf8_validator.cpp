#include "ws/base/utf8_validator.hpp"

#include <array>
#include <cstring>

#include "base/utf8_kernels.hpp"

namespace ws {
namespace {

// The validator is a DFA over bytes (RFC 3629 section 4 grammar). Each state
// is stored as a bit offset, a multiple of 6, and the table row of a byte
// packs the next state of every state into one 64-bit word: the next state
// is `row[byte] >> state`, low 6 bits. One load and one shift per byte, and
// the shift is the only dependency between bytes.
enum State : std::uint8_t {
  kAccept = 0,    // on a code point boundary
  kError = 6,     // absorbing: the stream cannot be valid any more
  kNeed1 = 12,    // one continuation byte (80..BF) left
  kNeed2 = 18,    // two left
  kNeed3 = 24,    // three left
  kAfterE0 = 30,  // E0: next A0..BF, else the form is overlong
  kAfterED = 36,  // ED: next 80..9F, else it encodes a surrogate
  kAfterF0 = 42,  // F0: next 90..BF, else the form is overlong
  kAfterF4 = 48,  // F4: next 80..8F, else it is above U+10FFFF
};
constexpr std::array<State, 9> kStates = {kAccept,  kError,   kNeed1,   kNeed2,  kNeed3,
                                          kAfterE0, kAfterED, kAfterF0, kAfterF4};
constexpr unsigned kStateMask = 63;

constexpr bool in_range(unsigned byte, unsigned low, unsigned high) {
  return byte >= low && byte <= high;
}

constexpr State next_state(State state, unsigned byte) {
  const bool continuation = in_range(byte, 0x80, 0xBF);
  switch (state) {
    case kAccept:
      if (byte < 0x80) return kAccept;
      if (in_range(byte, 0xC2, 0xDF)) return kNeed1;  // C0, C1: overlong
      if (byte == 0xE0) return kAfterE0;
      if (byte == 0xED) return kAfterED;
      if (in_range(byte, 0xE1, 0xEF)) return kNeed2;
      if (byte == 0xF0) return kAfterF0;
      if (in_range(byte, 0xF1, 0xF3)) return kNeed3;
      if (byte == 0xF4) return kAfterF4;
      return kError;  // continuation without a lead, or F5..FF
    case kError:
      return kError;
    case kNeed1:
      return continuation ? kAccept : kError;
    case kNeed2:
      return continuation ? kNeed1 : kError;
    case kNeed3:
      return continuation ? kNeed2 : kError;
    case kAfterE0:
      return in_range(byte, 0xA0, 0xBF) ? kNeed1 : kError;
    case kAfterED:
      return in_range(byte, 0x80, 0x9F) ? kNeed1 : kError;
    case kAfterF0:
      return in_range(byte, 0x90, 0xBF) ? kNeed2 : kError;
    case kAfterF4:
      return in_range(byte, 0x80, 0x8F) ? kNeed2 : kError;
  }
  return kError;
}

constexpr std::array<std::uint64_t, 256> kTransitions = [] {
  std::array<std::uint64_t, 256> rows{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    std::uint64_t row = 0;
    for (const State state : kStates) {
      row |= std::uint64_t{next_state(state, byte)} << state;
    }
    rows[byte] = row;
  }
  return rows;
}();

static_assert((kTransitions[0xE0] >> kAccept & kStateMask) == kAfterE0);
static_assert((kTransitions[0x80] >> kAfterE0 & kStateMask) == kError);
static_assert((kTransitions[0x41] >> kError & kStateMask) == kError);

// Returns the state after `byte`; only the low 6 bits are meaningful (the
// shift count is masked, which x86 does for free).
inline std::uint64_t step(std::uint64_t state, unsigned char byte) noexcept {
  return kTransitions[byte] >> (state & kStateMask);
}

inline bool all_ascii_16(const unsigned char* p) noexcept {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + 8, 8);
  return ((a | b) & 0x8080808080808080U) == 0;
}

// Runs the DFA over [p, end) from `state`; returns the masked final state.
std::uint64_t run_dfa(std::uint64_t state, const unsigned char* p,
                      const unsigned char* end) noexcept {
  constexpr std::ptrdiff_t kBlock = 16;
  while (end - p >= kBlock) {
    // ASCII fast path: only on a code point boundary, 16 bytes per test.
    if (state == kAccept && all_ascii_16(p)) {
      p += kBlock;
      continue;
    }
#pragma GCC unroll 16
    for (std::ptrdiff_t i = 0; i < kBlock; ++i) state = step(state, p[i]);
    state &= kStateMask;
    p += kBlock;
    if (state == kError) return kError;  // absorbing: the rest cannot help
  }
  while (p < end) state = step(state, *p++);
  return state & kStateMask;
}

// Where the last code point of [p, end) starts if it is incomplete, else
// end. Bytes before the result that are not valid UTF-8 are left for the
// kernel to reject; an invalid tail is left for the DFA.
const unsigned char* incomplete_tail(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char* q = end;
  for (int seen = 0; seen < 3 && q > p; ++seen) {
    --q;
    const unsigned char byte = *q;
    if (byte < 0x80) return end;
    if (byte >= 0xC0) {
      const std::ptrdiff_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2;
      return end - q < length ? q : end;
    }
  }
  return end;
}

// Same result as run_dfa(state, p, end): the DFA completes a code point left
// open by the previous chunk and checks an incomplete one at the end, the
// SIMD kernel checks the complete code points in between. If the whole is a
// valid prefix, both parts are; if both parts are, so is the whole.
std::uint64_t run_accelerated(std::uint64_t state, const unsigned char* p, const unsigned char* end,
                              detail::utf8::ValidateFn kernel) noexcept {
  while (state != kAccept && state != kError && p < end) state = step(state, *p++) & kStateMask;
  if (state == kError) return kError;
  // Leading ASCII: the scalar test beats the accelerator's call overhead on
  // short runs (measured with bench/utf8_bench.cpp: 64-byte ASCII chunks go
  // from 4 to 6.5 GB/s); past kAsciiLead bytes the accelerator is faster.
  constexpr std::ptrdiff_t kAsciiLead = 256;
  constexpr std::ptrdiff_t kShortRest = 16;  // fewer bytes than a call costs
  const unsigned char* const ascii_limit = end - p > kAsciiLead ? p + kAsciiLead : end;
  while (ascii_limit - p >= 16 && all_ascii_16(p)) p += 16;
  if (end - p < kShortRest) return run_dfa(kAccept, p, end);
  const unsigned char* tail = incomplete_tail(p, end);
  if (!kernel(p, static_cast<std::size_t>(tail - p))) return kError;
  return run_dfa(kAccept, tail, end);
}

}  // namespace

namespace detail {
bool utf8::validate_dfa(const unsigned char* data, std::size_t size) noexcept {
  return run_dfa(kAccept, data, data + size) == kAccept;
}

bool utf8_accelerator_available() noexcept {
  return utf8::selected_utf8_kernel().validate != &utf8::validate_dfa;
}
}  // namespace detail

bool Utf8Validator::feed(ByteView bytes) noexcept {
  if (state_ == kError) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  std::uint64_t state = state_;
  if (backend_ == detail::Utf8Backend::automatic &&
      bytes.size() >= detail::utf8_accelerator_min_chunk) {
    state = run_accelerated(state, p, end, detail::utf8::selected_utf8_kernel().validate);
  } else {
    state = run_dfa(state, p, end);
  }
  state_ = static_cast<std::uint8_t>(state);
  return state != kError;
}

bool Utf8Validator::is_complete() const noexcept { return state_ == kAccept; }

bool Utf8Validator::has_failed() const noexcept { return state_ == kError; }

void Utf8Validator::reset() noexcept { state_ = kAccept; }

bool is_valid_utf8(ByteView bytes) noexcept {
  Utf8Validator validator;
  return validator.feed(bytes) && validator.is_complete();
}

}  // namespace ws
