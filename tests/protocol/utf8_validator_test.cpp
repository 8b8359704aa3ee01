// Incremental UTF-8 validation (RFC 3629), as used for text messages
// (RFC 6455 5.6, 8.1): exact acceptance, fail-fast position, chunk
// independence, and agreement of the built-in and accelerated validators.
#include "ws/base/utf8_validator.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Bytes = std::vector<std::byte>;
using ws::detail::Utf8Backend;

Bytes bytes(std::initializer_list<unsigned> values) {
  Bytes out;
  for (const unsigned v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

Bytes text(std::string_view s) {
  const ws::ByteView view = ws::as_bytes(s);
  return {view.begin(), view.end()};
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

std::string show(const Bytes& b) {
  static constexpr std::string_view kDigits = "0123456789ABCDEF";
  std::string out;
  for (const std::byte x : b) {
    const auto v = std::to_integer<unsigned>(x);
    if (!out.empty()) out.push_back(' ');
    out.push_back(kDigits[v >> 4]);
    out.push_back(kDigits[v & 0x0F]);
  }
  return out;
}

// ASCII long enough that a chunk holding it reaches the accelerator.
const Bytes kPad = text(std::string(ws::detail::utf8_accelerator_min_chunk, 'p'));

// ---------------------------------------------------------------------------
// Reference: valid UTF-8 is, by definition (RFC 3629 section 3), a sequence
// of encodings of Unicode scalar values (U+0000..U+10FFFF minus surrogates).
// The reference enumerates those encodings and their proper prefixes and
// parses by lookup, with no lead-byte tables of its own.

std::uint64_t key(const std::byte* p, std::size_t n) {
  std::uint64_t k = n;
  for (std::size_t i = 0; i < n; ++i) k = (k << 8) | std::to_integer<std::uint64_t>(p[i]);
  return k;
}

Bytes encode(std::uint32_t cp) {
  // RFC 3629 section 3, the table of bit patterns.
  if (cp < 0x80) return bytes({cp});
  if (cp < 0x800) return bytes({0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)});
  if (cp < 0x10000) {
    return bytes({0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)});
  }
  return bytes({0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F),
                0x80 | (cp & 0x3F)});
}

struct ReferenceTables {
  std::vector<std::uint64_t> encodings;        // every scalar value's encoding
  std::vector<std::uint64_t> proper_prefixes;  // their prefixes of 1..length-1 bytes
};

const ReferenceTables& reference_tables() {
  static const ReferenceTables tables = [] {
    ReferenceTables t;
    for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      const Bytes e = encode(cp);
      t.encodings.push_back(key(e.data(), e.size()));
      for (std::size_t n = 1; n < e.size(); ++n) t.proper_prefixes.push_back(key(e.data(), n));
    }
    for (auto* v : {&t.encodings, &t.proper_prefixes}) {
      std::sort(v->begin(), v->end());
      v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    return t;
  }();
  return tables;
}

struct Verdict {
  bool valid_prefix;  // some valid UTF-8 text starts with these bytes
  bool complete;      // and these bytes are valid UTF-8 themselves
  bool operator==(const Verdict&) const = default;
};

Verdict reference(const std::byte* data, std::size_t size) {
  const ReferenceTables& t = reference_tables();
  std::size_t i = 0;
  while (i < size) {
    bool matched = false;
    for (std::size_t n = 1; n <= 4 && i + n <= size; ++n) {
      if (std::binary_search(t.encodings.begin(), t.encodings.end(), key(data + i, n))) {
        i += n;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    const std::size_t rest = size - i;
    const bool open = rest <= 3 && std::binary_search(t.proper_prefixes.begin(),
                                                      t.proper_prefixes.end(), key(data + i, rest));
    return {open, false};
  }
  return {true, true};
}

Verdict reference(const Bytes& b) { return reference(b.data(), b.size()); }

// ---------------------------------------------------------------------------
// Feeding helpers.

struct Outcome {
  bool ok;
  bool complete;
};

Outcome feed_all(ws::Utf8Validator& v, const Bytes& b) {
  const bool ok = v.feed(b);
  return {ok, v.is_complete()};
}

Outcome validate(const Bytes& b, Utf8Backend backend) {
  ws::Utf8Validator v(backend);
  return feed_all(v, b);
}

// Checks `b` as one chunk on both backends and on is_valid_utf8.
void expect_valid(const Bytes& b, bool valid) {
  for (const Utf8Backend backend : {Utf8Backend::automatic, Utf8Backend::builtin}) {
    const Outcome run = validate(b, backend);
    EXPECT_EQ(run.ok && run.complete, valid)
        << show(b) << (backend == Utf8Backend::builtin ? " (builtin)" : " (automatic)");
  }
  EXPECT_EQ(ws::is_valid_utf8(b), valid) << show(b);
}

// ---------------------------------------------------------------------------
// Tables.

struct Case {
  std::string_view name;
  Bytes bytes;
};

const std::vector<Case>& valid_sequences() {
  static const std::vector<Case> cases = {
      {"NUL", bytes({0x00})},
      {"ASCII letter", bytes({0x41})},
      {"U+007F, last 1-byte", bytes({0x7F})},
      {"U+0080, first 2-byte", bytes({0xC2, 0x80})},
      {"U+00E9", bytes({0xC3, 0xA9})},
      {"U+07FF, last 2-byte", bytes({0xDF, 0xBF})},
      {"U+0800, first 3-byte", bytes({0xE0, 0xA0, 0x80})},
      {"U+D7FF, before surrogates", bytes({0xED, 0x9F, 0xBF})},
      {"U+E000, after surrogates", bytes({0xEE, 0x80, 0x80})},
      {"U+FFFD", bytes({0xEF, 0xBF, 0xBD})},
      {"U+FFFF, last 3-byte", bytes({0xEF, 0xBF, 0xBF})},
      {"U+10000, first 4-byte", bytes({0xF0, 0x90, 0x80, 0x80})},
      {"U+1F600", bytes({0xF0, 0x9F, 0x98, 0x80})},
      {"U+FFFFF", bytes({0xF3, 0xBF, 0xBF, 0xBF})},
      {"U+10FFFF, last scalar value", bytes({0xF4, 0x8F, 0xBF, 0xBF})},
      {"Greek kosme", text("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5")},
  };
  return cases;
}

const std::vector<Case>& invalid_sequences() {
  static const std::vector<Case> cases = {
      {"overlong 2-byte NUL", bytes({0xC0, 0x80})},
      {"overlong 2-byte U+007F", bytes({0xC1, 0xBF})},
      {"overlong 3-byte NUL", bytes({0xE0, 0x80, 0x80})},
      {"overlong 3-byte U+07FF", bytes({0xE0, 0x9F, 0xBF})},
      {"overlong 4-byte NUL", bytes({0xF0, 0x80, 0x80, 0x80})},
      {"overlong 4-byte U+FFFF", bytes({0xF0, 0x8F, 0xBF, 0xBF})},
      {"surrogate U+D800", bytes({0xED, 0xA0, 0x80})},
      {"surrogate U+DBFF", bytes({0xED, 0xAF, 0xBF})},
      {"surrogate U+DC00", bytes({0xED, 0xB0, 0x80})},
      {"surrogate U+DFFF", bytes({0xED, 0xBF, 0xBF})},
      {"surrogate pair", bytes({0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80})},
      {"U+110000", bytes({0xF4, 0x90, 0x80, 0x80})},
      {"U+1FFFFF in 4 bytes", bytes({0xF7, 0xBF, 0xBF, 0xBF})},
      {"F5 lead", bytes({0xF5, 0x80, 0x80, 0x80})},
      {"5-byte form", bytes({0xF8, 0x88, 0x80, 0x80, 0x80})},
      {"6-byte form", bytes({0xFC, 0x84, 0x80, 0x80, 0x80, 0x80})},
      {"FE", bytes({0xFE})},
      {"FF", bytes({0xFF})},
      {"bare continuation 80", bytes({0x80})},
      {"bare continuation BF", bytes({0xBF})},
      {"continuation after complete 2-byte", bytes({0xC2, 0x80, 0x80})},
      {"continuation after complete 4-byte", bytes({0xF0, 0x90, 0x80, 0x80, 0x80})},
      {"2-byte lead then ASCII", bytes({0xC2, 0x41})},
      {"3-byte lead, one continuation, then ASCII", bytes({0xE1, 0x80, 0x41})},
      {"4-byte lead, two continuations, then lead", bytes({0xF1, 0x80, 0x80, 0xC2, 0x80})},
      {"lone C0", bytes({0xC0})},
  };
  return cases;
}

// Incomplete: invalid at the end of the text only (the next bytes could
// complete them).
const std::vector<Case>& truncated_sequences() {
  static const std::vector<Case> cases = {
      {"2-byte lead", bytes({0xC2})},
      {"3-byte lead", bytes({0xE1})},
      {"3-byte, 2 of 3", bytes({0xE1, 0x80})},
      {"E0, 2 of 3", bytes({0xE0, 0xA0})},
      {"ED, 2 of 3", bytes({0xED, 0x9F})},
      {"4-byte lead", bytes({0xF0})},
      {"4-byte, 3 of 4", bytes({0xF1, 0x80, 0x80})},
      {"F4, 3 of 4", bytes({0xF4, 0x8F, 0xBF})},
  };
  return cases;
}

TEST(Utf8Validator, StateIsTiny) { EXPECT_LE(sizeof(ws::Utf8Validator), 2U); }

TEST(Utf8Validator, EmptyInputIsComplete) {
  ws::Utf8Validator v;
  EXPECT_TRUE(v.is_complete());
  EXPECT_TRUE(v.feed({}));
  EXPECT_TRUE(v.is_complete());
  EXPECT_FALSE(v.has_failed());
  EXPECT_TRUE(ws::is_valid_utf8({}));
}

TEST(Utf8Validator, AcceptsEveryCodePointLengthAtStartMiddleAndEnd) {
  for (const Case& c : valid_sequences()) {
    SCOPED_TRACE(c.name);
    expect_valid(c.bytes, true);
    expect_valid(concat({c.bytes, text("tail")}), true);
    expect_valid(concat({text("head"), c.bytes, text("tail")}), true);
    expect_valid(concat({text("head"), c.bytes}), true);
    expect_valid(concat({kPad, c.bytes, kPad}), true);
    expect_valid(concat({c.bytes, kPad}), true);
    expect_valid(concat({kPad, c.bytes}), true);
  }
}

TEST(Utf8Validator, RejectsInvalidSequencesAtStartMiddleAndEnd) {
  for (const Case& c : invalid_sequences()) {
    SCOPED_TRACE(c.name);
    expect_valid(c.bytes, false);
    expect_valid(concat({c.bytes, text("tail")}), false);
    expect_valid(concat({text("head"), c.bytes, text("tail")}), false);
    expect_valid(concat({text("head"), c.bytes}), false);
    expect_valid(concat({kPad, c.bytes, kPad}), false);
    expect_valid(concat({c.bytes, kPad}), false);
    expect_valid(concat({kPad, c.bytes}), false);
  }
}

TEST(Utf8Validator, TruncatedSequenceIsIncompleteAtTheEndAndInvalidInside) {
  for (const Case& c : truncated_sequences()) {
    SCOPED_TRACE(c.name);
    for (const Bytes& b : {c.bytes, concat({text("head"), c.bytes}), concat({kPad, c.bytes})}) {
      for (const Utf8Backend backend : {Utf8Backend::automatic, Utf8Backend::builtin}) {
        const Outcome run = validate(b, backend);
        EXPECT_TRUE(run.ok) << show(b);  // a valid prefix: more bytes may come
        EXPECT_FALSE(run.complete) << show(b);
      }
      EXPECT_FALSE(ws::is_valid_utf8(b)) << show(b);
    }
    expect_valid(concat({c.bytes, text("tail")}), false);
    expect_valid(concat({kPad, c.bytes, kPad}), false);
  }
}

// ---------------------------------------------------------------------------
// Fail fast: the feed of the first impossible byte is the one that fails.

struct FailCase {
  Bytes bytes;
  std::size_t failing_index;
};

TEST(Utf8Validator, FailsOnTheFirstImpossibleByte) {
  const std::vector<FailCase> cases = {
      {bytes({0xE0, 0x80}), 1},                    // overlong 3-byte
      {bytes({0xE0, 0x9F}), 1},                    // overlong 3-byte
      {bytes({0xED, 0xA0}), 1},                    // surrogate
      {bytes({0xF0, 0x8F}), 1},                    // overlong 4-byte
      {bytes({0xF4, 0x90}), 1},                    // above U+10FFFF
      {bytes({0xF5}), 0},                          // never a lead
      {bytes({0xFF}), 0},                          // never a lead
      {bytes({0xC0}), 0},                          // only overlong forms
      {bytes({0xC1}), 0},                          // only overlong forms
      {bytes({0x80}), 0},                          // bare continuation
      {bytes({0x41, 0x42, 0xBF}), 2},              // bare continuation after ASCII
      {bytes({0xC2, 0x41}), 1},                    // lead cut short
      {bytes({0xE1, 0x80, 0x41}), 2},              // lead cut short
      {bytes({0xF0, 0x90, 0x80, 0xC2}), 3},        // lead cut short by a lead
      {bytes({0xC3, 0xA9, 0xA9}), 2},              // one continuation too many
      {bytes({0x61, 0xF4, 0x8F, 0xBF, 0xC0}), 4},  // C0 after U+10FFFF
  };
  for (const FailCase& c : cases) {
    for (const Utf8Backend backend : {Utf8Backend::automatic, Utf8Backend::builtin}) {
      ws::Utf8Validator v(backend);
      for (std::size_t i = 0; i < c.bytes.size(); ++i) {
        const bool ok = v.feed(ws::ByteView(c.bytes).subspan(i, 1));
        EXPECT_EQ(ok, i < c.failing_index) << show(c.bytes) << " at byte " << i;
        EXPECT_EQ(v.has_failed(), i >= c.failing_index) << show(c.bytes) << " at byte " << i;
      }
    }
  }
}

// The ASCII fast path runs only on a code point boundary: an unfinished
// sequence, then ASCII, then the continuation byte it lacked, fails wherever
// the 16-byte blocks fall.
TEST(Utf8Validator, AsciiInsideASequenceFailsAtEveryOffset) {
  for (const Bytes& open : {bytes({0xC2}), bytes({0xE1, 0x80}), bytes({0xF1, 0x80, 0x80})}) {
    for (std::size_t offset = 0; offset < 32; ++offset) {
      for (std::size_t ascii = 1; ascii <= 40; ++ascii) {
        const Bytes b = concat(
            {text(std::string(offset, 'a')), open, text(std::string(ascii, 'z')), bytes({0x80})});
        expect_valid(b, false);
        expect_valid(concat({kPad, b}), false);
      }
    }
  }
}

TEST(Utf8Validator, LongChunkHoldingTheFirstImpossibleByteFails) {
  for (const Utf8Backend backend : {Utf8Backend::automatic, Utf8Backend::builtin}) {
    ws::Utf8Validator v(backend);
    EXPECT_TRUE(v.feed(concat({kPad, bytes({0xE0})})));  // a valid prefix
    EXPECT_FALSE(v.is_complete());
    EXPECT_FALSE(v.feed(concat({bytes({0x80}), kPad})));  // E0 80: overlong
  }
}

TEST(Utf8Validator, StaysFailedUntilReset) {
  for (const Utf8Backend backend : {Utf8Backend::automatic, Utf8Backend::builtin}) {
    ws::Utf8Validator v(backend);
    EXPECT_FALSE(v.feed(bytes({0xFF})));
    EXPECT_FALSE(v.feed(text("valid")));
    EXPECT_FALSE(v.feed(kPad));
    EXPECT_FALSE(v.feed({}));
    EXPECT_TRUE(v.has_failed());
    EXPECT_FALSE(v.is_complete());
    v.reset();
    EXPECT_FALSE(v.has_failed());
    EXPECT_TRUE(v.is_complete());
    EXPECT_TRUE(v.feed(kPad));
  }
}

TEST(Utf8Validator, ResetDropsAPartialCodePoint) {
  ws::Utf8Validator v;
  EXPECT_TRUE(v.feed(bytes({0xE2, 0x82})));
  v.reset();
  EXPECT_FALSE(v.feed(bytes({0xAC})));  // the rest of U+20AC, now a bare continuation
}

// ---------------------------------------------------------------------------
// Chunking.

TEST(Utf8Validator, AcceptsEverySplitOfValidTextAcrossTwoFeeds) {
  Bytes all;
  for (const Case& c : valid_sequences()) all = concat({all, c.bytes});
  // Short text (built-in path only) and text long enough that either chunk
  // may reach the accelerator.
  for (const Bytes& b : {all, concat({kPad, all, kPad, all, kPad})}) {
    for (std::size_t split = 0; split <= b.size(); ++split) {
      for (const Utf8Backend backend : {Utf8Backend::automatic, Utf8Backend::builtin}) {
        ws::Utf8Validator v(backend);
        const ws::ByteView view(b);
        EXPECT_TRUE(v.feed(view.first(split))) << "split " << split;
        EXPECT_TRUE(v.feed(view.subspan(split))) << "split " << split;
        EXPECT_TRUE(v.is_complete()) << "split " << split;
      }
    }
  }
}

TEST(Utf8Validator, CodePointSplitOverEveryByteIsAccepted) {
  const Bytes b = bytes({0xF0, 0x9F, 0x98, 0x80});
  ws::Utf8Validator v;
  for (std::size_t i = 0; i < b.size(); ++i) {
    EXPECT_TRUE(v.feed(ws::ByteView(b).subspan(i, 1)));
    EXPECT_EQ(v.is_complete(), i + 1 == b.size());
  }
}

// Every string of up to 4 bytes drawn from the bytes at the edges of the
// byte classes, checked against the reference: on its own, byte by byte, and
// inside long chunks that go to the accelerator with a code point left open
// by the previous chunk.
TEST(Utf8Validator, AgreesWithReferenceOnAllShortStringsOfEdgeBytes) {
  const Bytes edges =
      bytes({0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
             0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF});
  const std::size_t n = edges.size();
  std::size_t mismatches = 0;
  for (std::size_t length = 1; length <= 4; ++length) {
    std::size_t count = 1;
    for (std::size_t i = 0; i < length; ++i) count *= n;
    for (std::size_t index = 0; index < count; ++index) {
      Bytes s;
      for (std::size_t i = 0, rest = index; i < length; ++i, rest /= n)
        s.push_back(edges[rest % n]);

      ws::Utf8Validator byte_by_byte(Utf8Backend::builtin);
      for (std::size_t i = 0; i < length; ++i) {
        const bool ok = byte_by_byte.feed(ws::ByteView(s).subspan(i, 1));
        const Verdict expected = reference(s.data(), i + 1);
        if (ok != expected.valid_prefix || byte_by_byte.is_complete() != expected.complete) {
          ADD_FAILURE() << show(s) << " byte by byte, at byte " << i;
          ++mismatches;
        }
      }

      const Bytes padded = concat({kPad, s, kPad});
      const bool expected = reference(s).complete;
      for (const Utf8Backend backend : {Utf8Backend::automatic, Utf8Backend::builtin}) {
        const Outcome whole = validate(padded, backend);
        ws::Utf8Validator split(backend);
        split.feed(ws::ByteView(s).first(1));
        const Outcome rest = feed_all(split, concat({Bytes(s.begin() + 1, s.end()), kPad}));
        if (whole.ok != expected || rest.ok != expected || whole.complete != expected ||
            rest.complete != expected) {
          ADD_FAILURE() << show(s) << " padded";
          ++mismatches;
        }
      }
      if (mismatches > 20) return;
    }
  }
}

// ---------------------------------------------------------------------------
// Properties.

// Mostly valid UTF-8 (code points of every length, biased to the edges of
// the ranges) with a few random corruptions.
rc::Gen<Bytes> gen_mostly_valid_utf8() {
  const auto code_point = rc::gen::oneOf(
      rc::gen::inRange<std::uint32_t>(0x20, 0x7F), rc::gen::inRange<std::uint32_t>(0x80, 0x800),
      rc::gen::inRange<std::uint32_t>(0x800, 0xD800),
      rc::gen::inRange<std::uint32_t>(0xE000, 0x10000),
      rc::gen::inRange<std::uint32_t>(0x10000, 0x110000),
      rc::gen::element<std::uint32_t>(0x00, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD,
                                      0xFFFF, 0x10000, 0x10FFFF));
  return rc::gen::exec([code_point] {
    // Runs of ASCII between code points make long chunks that stay in the
    // accept state and reach the ASCII fast path.
    const auto count = *rc::gen::inRange<std::size_t>(0, 120);
    Bytes out;
    for (std::size_t i = 0; i < count; ++i) {
      const Bytes e = encode(*code_point);
      out.insert(out.end(), e.begin(), e.end());
      if (*rc::gen::inRange(0, 3) == 0) {
        out.insert(out.end(), *rc::gen::inRange<std::size_t>(0, 48), std::byte{'a'});
      }
    }
    const auto corruptions = *rc::gen::weightedOneOf<int>(
        {{4, rc::gen::just(0)}, {3, rc::gen::just(1)}, {2, rc::gen::inRange(2, 5)}});
    const auto bad_byte = rc::gen::oneOf(
        rc::gen::arbitrary<std::uint8_t>(),
        rc::gen::element<std::uint8_t>(0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xE0,
                                       0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x41));
    for (int i = 0; i < corruptions; ++i) {
      const auto at = *rc::gen::inRange<std::size_t>(0, out.size() + 1);
      const auto byte = static_cast<std::byte>(*bad_byte);
      switch (*rc::gen::inRange(0, 4)) {
        case 0:  // replace
          if (at < out.size()) out[at] = byte;
          break;
        case 1:  // insert
          out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), byte);
          break;
        case 2:  // delete
          if (at < out.size()) out.erase(out.begin() + static_cast<std::ptrdiff_t>(at));
          break;
        default:  // truncate
          out.resize(at);
          break;
      }
    }
    return out;
  });
}

// Cut points: a few, so that many chunks are long enough for the
// accelerator, sometimes many small ones.
std::vector<std::size_t> gen_cuts(std::size_t size) {
  auto cuts = *rc::gen::weightedOneOf<std::vector<std::size_t>>(
      {{3, rc::gen::container<std::vector<std::size_t>>(
               *rc::gen::inRange<std::size_t>(0, 5), rc::gen::inRange<std::size_t>(0, size + 1))},
       {1,
        rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, size + 1))}});
  std::sort(cuts.begin(), cuts.end());
  cuts.push_back(size);
  return cuts;
}

RC_GTEST_PROP(Utf8Validator, BuiltinAcceleratedAndReferenceAgreeOnEveryFeed, ()) {
  const Bytes data = *rc::gen::weightedOneOf<Bytes>(
      {{4, gen_mostly_valid_utf8()},
       {1, rc::gen::container<Bytes>(rc::gen::map(rc::gen::arbitrary<std::uint8_t>(),
                                                  [](std::uint8_t v) { return std::byte{v}; }))}});
  const std::vector<std::size_t> cuts = gen_cuts(data.size());
  RC_TAG(ws::detail::utf8_accelerator_available() ? "accelerated" : "builtin only");

  ws::Utf8Validator automatic;
  ws::Utf8Validator builtin(Utf8Backend::builtin);
  std::size_t from = 0;
  bool long_chunk = false;
  for (const std::size_t to : cuts) {
    const ws::ByteView chunk = ws::ByteView(data).subspan(from, to - from);
    long_chunk = long_chunk || chunk.size() >= ws::detail::utf8_accelerator_min_chunk;
    const bool automatic_ok = automatic.feed(chunk);
    const bool builtin_ok = builtin.feed(chunk);
    const Verdict expected = reference(data.data(), to);
    RC_ASSERT(automatic_ok == builtin_ok);
    RC_ASSERT(automatic.is_complete() == builtin.is_complete());
    RC_ASSERT(builtin_ok == expected.valid_prefix);
    RC_ASSERT(builtin.is_complete() == expected.complete);
    RC_ASSERT(builtin.has_failed() == !expected.valid_prefix);
    RC_ASSERT(automatic.has_failed() == !expected.valid_prefix);
    from = to;
  }
  RC_ASSERT(ws::is_valid_utf8(data) == reference(data).complete);
  RC_CLASSIFY(reference(data).complete, "valid");
  RC_CLASSIFY(!reference(data).valid_prefix, "invalid");
  RC_CLASSIFY(long_chunk, "long chunk");
}

RC_GTEST_PROP(Utf8Validator, ValidTextIsAcceptedUnderAnyChunking, ()) {
  const auto code_points = *rc::gen::container<std::vector<std::uint32_t>>(
      rc::gen::oneOf(rc::gen::inRange<std::uint32_t>(0, 0xD800),
                     rc::gen::inRange<std::uint32_t>(0xE000, 0x110000)));
  Bytes data;
  for (const std::uint32_t cp : code_points) data = concat({data, encode(cp)});
  const std::vector<std::size_t> cuts = gen_cuts(data.size());

  ws::Utf8Validator v;
  std::size_t from = 0;
  for (const std::size_t to : cuts) {
    RC_ASSERT(v.feed(ws::ByteView(data).subspan(from, to - from)));
    from = to;
  }
  RC_ASSERT(v.is_complete());
}

}  // namespace
