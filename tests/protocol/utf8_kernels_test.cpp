// The SIMD UTF-8 kernels (protocol/src/base/utf8_kernels*.cpp) and the
// unmask-and-validate step (utf8_unmask.cpp) against the portable DFA, the
// reference: every kernel the CPU can run must give the DFA's verdict
// (RFC 3629), and the fused step must give the bytes, key offset (RFC 6455
// 5.3) and validator state of unmasking then feeding, chunk by chunk.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/utf8_kernels.hpp"
#include "frame/utf8_unmask.hpp"
#include "ws/base/utf8_validator.hpp"
#include "ws/frame/masking.hpp"

namespace {

using Bytes = std::vector<std::byte>;
using ws::detail::utf8::utf8_kernels;
using ws::detail::utf8::Utf8Kernel;

bool dfa(const Bytes& b) {
  return ws::detail::utf8::validate_dfa(reinterpret_cast<const unsigned char*>(b.data()), b.size());
}

bool run(const Utf8Kernel& kernel, const Bytes& b) {
  return kernel.validate(reinterpret_cast<const unsigned char*>(b.data()), b.size());
}

std::string show(const Bytes& b) {
  std::string out;
  for (const std::byte x : b) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    const auto v = std::to_integer<unsigned>(x);
    out += kDigits[v >> 4];
    out += kDigits[v & 15];
    out += ' ';
  }
  return out;
}

void append_code_point(Bytes& out, std::uint32_t cp) {
  auto put = [&out](std::uint32_t v) { out.push_back(static_cast<std::byte>(v)); };
  if (cp < 0x80) {
    put(cp);
  } else if (cp < 0x800) {
    put(0xC0 | cp >> 6);
    put(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    put(0xE0 | cp >> 12);
    put(0x80 | (cp >> 6 & 0x3F));
    put(0x80 | (cp & 0x3F));
  } else {
    put(0xF0 | cp >> 18);
    put(0x80 | (cp >> 12 & 0x3F));
    put(0x80 | (cp >> 6 & 0x3F));
    put(0x80 | (cp & 0x3F));
  }
}

// Bytes at and around every boundary of RFC 3629's table.
constexpr std::array<unsigned, 24> kEdgeBytes = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0,
                                                 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC,
                                                 0xED, 0xEE, 0xEF, 0xF0, 0xF3, 0xF4, 0xF5, 0xFF};

TEST(Utf8Kernels, DfaIsFirstAndTheSelectedKernelIsTheLast) {
  const auto kernels = utf8_kernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_STREQ(kernels.front().name, "dfa");
  EXPECT_STREQ(ws::detail::utf8::selected_utf8_kernel().name, kernels.back().name);
}

// Every string of up to three edge bytes, placed so that it straddles each
// position of a 64-byte block (and the boundary between two), after ASCII and
// after a valid 2-, 3- and 4-byte code point, and followed by ASCII or a
// continuation byte: every kernel agrees with the DFA.
TEST(Utf8Kernels, AgreeWithTheDfaOnEdgeBytesAtEveryBlockPosition) {
  std::vector<Bytes> cores;
  for (const unsigned a : kEdgeBytes) {
    cores.push_back({std::byte(a)});
    for (const unsigned b : kEdgeBytes) {
      cores.push_back({std::byte(a), std::byte(b)});
      for (const unsigned c : kEdgeBytes)
        cores.push_back({std::byte(a), std::byte(b), std::byte(c)});
    }
  }
  const std::array<Bytes, 4> befores = {
      Bytes{}, Bytes{std::byte{0xC3}, std::byte{0xA9}},
      Bytes{std::byte{0xE2}, std::byte{0x82}, std::byte{0xAC}},
      Bytes{std::byte{0xF0}, std::byte{0x9F}, std::byte{0x98}, std::byte{0x80}}};
  const std::array<Bytes, 3> afters = {Bytes{}, Bytes{std::byte{'z'}}, Bytes{std::byte{0x80}}};
  const std::array<std::size_t, 4> positions = {1, 31, 62, 63};
  std::size_t mismatches = 0;
  for (const Utf8Kernel& kernel : utf8_kernels()) {
    for (const Bytes& core : cores) {
      for (const std::size_t at : positions) {
        for (const Bytes& before : befores) {
          for (const Bytes& after : afters) {
            Bytes b(at >= before.size() ? at - before.size() : 0, std::byte{'a'});
            b.insert(b.end(), before.begin(), before.end());
            b.insert(b.end(), core.begin(), core.end());
            b.insert(b.end(), after.begin(), after.end());
            // Long enough for one full block and a padded one.
            Bytes longer = b;
            longer.resize(std::max<std::size_t>(longer.size(), 64) + 70, std::byte{'b'});
            for (const Bytes* input : {&b, &longer}) {
              if (run(kernel, *input) != dfa(*input) && ++mismatches < 10) {
                ADD_FAILURE() << kernel.name << " disagrees with the DFA on " << show(*input);
              }
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0U);
}

// Mostly valid text (code points of every length, some ASCII runs of a
// block or more) with a few bytes replaced by arbitrary ones.
rc::Gen<Bytes> gen_text() {
  return rc::gen::exec([] {
    Bytes out;
    const auto pieces = *rc::gen::inRange<std::size_t>(0, 300);
    for (std::size_t i = 0; i < pieces; ++i) {
      switch (*rc::gen::inRange(0, 6)) {
        case 0:
          append_code_point(out, *rc::gen::inRange<std::uint32_t>(0, 0x80));
          break;
        case 1:
          append_code_point(out, *rc::gen::inRange<std::uint32_t>(0x80, 0x800));
          break;
        case 2:
          append_code_point(out, *rc::gen::oneOf(rc::gen::inRange<std::uint32_t>(0x800, 0xD800),
                                                 rc::gen::inRange<std::uint32_t>(0xE000, 0x10000)));
          break;
        case 3:
          append_code_point(out, *rc::gen::inRange<std::uint32_t>(0x10000, 0x110000));
          break;
        case 4:
          out.resize(out.size() + *rc::gen::inRange<std::size_t>(1, 150), std::byte{'x'});
          break;
        default:
          out.push_back(static_cast<std::byte>(*rc::gen::elementOf(kEdgeBytes)));
          break;
      }
    }
    const auto flips = *rc::gen::inRange(0, 3);
    for (int i = 0; i < flips && !out.empty(); ++i) {
      out[*rc::gen::inRange<std::size_t>(0, out.size())] =
          static_cast<std::byte>(*rc::gen::arbitrary<std::uint8_t>());
    }
    return out;
  });
}

rc::Gen<Bytes> gen_input() {
  return rc::gen::weightedOneOf<Bytes>(
      {{4, gen_text()},
       {1, rc::gen::container<Bytes>(rc::gen::map(rc::gen::arbitrary<std::uint8_t>(),
                                                  [](std::uint8_t v) { return std::byte{v}; }))}});
}

RC_GTEST_PROP(Utf8Kernels, EveryKernelAgreesWithTheDfa, ()) {
  const Bytes data = *gen_input();
  const bool expected = dfa(data);
  for (const Utf8Kernel& kernel : utf8_kernels()) {
    RC_ASSERT(run(kernel, data) == expected);
  }
  RC_CLASSIFY(expected, "valid");
}

// Fused unmasking and validation, chunk by chunk, against copy_masked (or
// apply_mask) then feeding the built-in DFA: same bytes, same key offset,
// and the validator fails on the same chunk and ends in the same state.
RC_GTEST_PROP(Utf8Kernels, UnmaskAndValidateMatchesUnmaskThenFeed, ()) {
  const Bytes plain = *gen_input();
  const ws::MaskKey key = {std::byte{*rc::gen::arbitrary<std::uint8_t>()},
                           std::byte{*rc::gen::arbitrary<std::uint8_t>()},
                           std::byte{*rc::gen::arbitrary<std::uint8_t>()},
                           std::byte{*rc::gen::arbitrary<std::uint8_t>()}};
  const auto first_offset = *rc::gen::inRange<std::size_t>(0, 4);
  Bytes masked = plain;
  ws::apply_mask(masked, key, first_offset);
  auto cuts = *rc::gen::container<std::vector<std::size_t>>(
      *rc::gen::inRange<std::size_t>(0, 4), rc::gen::inRange<std::size_t>(0, masked.size() + 1));
  std::sort(cuts.begin(), cuts.end());
  cuts.push_back(masked.size());
  const bool in_place = *rc::gen::arbitrary<bool>();

  Bytes fused_out = in_place ? masked : Bytes(masked.size());
  Bytes expected_out(masked.size());
  ws::Utf8Validator fused;
  ws::Utf8Validator expected(ws::detail::Utf8Backend::builtin);
  std::size_t fused_offset = first_offset;
  std::size_t expected_offset = first_offset;
  std::size_t from = 0;
  for (const std::size_t to : cuts) {
    const std::size_t n = to - from;
    const ws::MutableByteView out = ws::MutableByteView(fused_out).subspan(from, n);
    if (in_place) {
      fused_offset = ws::detail::unmask_and_validate(out, key, fused_offset, fused);
    } else {
      fused_offset = ws::detail::copy_masked_and_validate(
          out, ws::ByteView(masked).subspan(from, n), key, fused_offset, fused);
    }
    const ws::MutableByteView ref = ws::MutableByteView(expected_out).subspan(from, n);
    expected_offset =
        ws::copy_masked(ref, ws::ByteView(masked).subspan(from, n), key, expected_offset);
    (void)expected.feed(ref);
    RC_ASSERT(fused_offset == expected_offset);
    RC_ASSERT(fused.has_failed() == expected.has_failed());
    RC_ASSERT(fused.is_complete() == expected.is_complete());
    from = to;
  }
  RC_ASSERT(fused_out == plain);
  RC_ASSERT(expected_out == plain);
  RC_CLASSIFY(expected.is_complete(), "valid");
  RC_CLASSIFY(masked.size() >= 256, "long");
}

TEST(Utf8Kernels, UnmaskAndValidateFailsOnTheChunkWithTheBadByte) {
  Bytes plain(1000, std::byte{'a'});
  plain[700] = std::byte{0xC0};  // never in UTF-8
  const ws::MaskKey key = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  Bytes data = plain;
  ws::apply_mask(data, key);
  ws::Utf8Validator utf8;
  const ws::MutableByteView all(data);
  std::size_t offset = ws::detail::unmask_and_validate(all.first(600), key, 0, utf8);
  EXPECT_FALSE(utf8.has_failed());
  offset = ws::detail::unmask_and_validate(all.subspan(600), key, offset, utf8);
  EXPECT_TRUE(utf8.has_failed());
  EXPECT_EQ(offset, 1000U % 4);
  EXPECT_EQ(data, plain);  // unmasked to the end all the same
}

}  // namespace
