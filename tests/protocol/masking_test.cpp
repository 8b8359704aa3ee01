// Payload masking, RFC 6455 5.3: byte i of the payload is XORed with byte
// (i mod 4) of the masking key. Every implementation must give exactly the
// bytes of that rule for every length, alignment and starting key offset.
#include "ws/frame/masking.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WS_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define WS_TEST_ASAN 1
#endif
#if defined(WS_TEST_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace ws {
namespace detail {

// Names the implementation in GoogleTest's failure messages.
void PrintTo(const MaskingImplementation& impl, std::ostream* out) { *out << impl.name; }

}  // namespace detail
namespace {

using detail::MaskingImplementation;

// The rule of RFC 6455 5.3, written as plainly as possible.
std::vector<std::byte> reference_mask(std::vector<std::byte> data, const MaskKey& key,
                                      std::size_t offset) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] ^= key[(offset + i) % 4];
  }
  return data;
}

std::vector<std::byte> pseudo_random_bytes(std::size_t size, std::uint32_t seed) {
  std::vector<std::byte> bytes(size);
  std::uint32_t state = seed * 2654435761U + 1U;
  for (auto& b : bytes) {
    state = state * 1664525U + 1013904223U;
    b = static_cast<std::byte>(state >> 24);
  }
  return bytes;
}

constexpr MaskKey test_key{std::byte{0x8b}, std::byte{0x17}, std::byte{0xe2}, std::byte{0x5c}};

// A span that starts `alignment` bytes after a 64-byte boundary, with guard
// bytes before and after it. Under AddressSanitizer the guards are poisoned,
// so a kernel that reads or writes outside the span fails at once; without it
// the guards' contents are checked afterwards (catching stray writes).
class GuardedBuffer {
 public:
  static constexpr std::size_t guard_size = 64;
  static constexpr std::byte guard_value{0xa5};

  GuardedBuffer(std::size_t alignment, std::size_t size)
      : alignment_(alignment),
        size_(size),
        storage_(
            static_cast<std::byte*>(::operator new (total_size(), std::align_val_t{guard_size}))) {
    std::memset(storage_, static_cast<int>(guard_value), total_size());
    poison(true);
  }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  ~GuardedBuffer() {
    poison(false);
    ::operator delete (storage_, std::align_val_t{guard_size});
  }

  std::byte* data() const noexcept { return storage_ + guard_size + alignment_; }
  std::size_t size() const noexcept { return size_; }
  MutableByteView span() const noexcept { return {data(), size_}; }
  std::vector<std::byte> contents() const { return {data(), data() + size_}; }
  void fill(const std::vector<std::byte>& bytes) const {
    std::copy(bytes.begin(), bytes.end(), data());
  }

  bool guards_intact() const {
    poison(false);
    const auto is_guard = [](std::byte b) { return b == guard_value; };
    const bool intact = std::all_of(storage_, data(), is_guard) &&
                        std::all_of(data() + size_, storage_ + total_size(), is_guard);
    poison(true);
    return intact;
  }

 private:
  std::size_t total_size() const noexcept { return 2 * guard_size + alignment_ + size_; }

  void poison([[maybe_unused]] bool on) const noexcept {
#if defined(WS_TEST_ASAN)
    // The span start is not always 8-byte aligned, so up to 7 bytes just
    // before it may stay addressable; the guard check covers them.
    std::byte* before = storage_;
    std::byte* after = data() + size_;
    const std::size_t before_size = guard_size + alignment_;
    if (on) {
      ASAN_POISON_MEMORY_REGION(before, before_size);
      ASAN_POISON_MEMORY_REGION(after, guard_size);
    } else {
      ASAN_UNPOISON_MEMORY_REGION(before, before_size);
      ASAN_UNPOISON_MEMORY_REGION(after, guard_size);
    }
#endif
  }

  std::size_t alignment_;
  std::size_t size_;
  std::byte* storage_;
};

std::string describe(const MaskingImplementation& impl, std::size_t size, std::size_t alignment,
                     std::size_t offset) {
  return std::string(impl.name) + " size=" + std::to_string(size) +
         " alignment=" + std::to_string(alignment) + " offset=" + std::to_string(offset);
}

// Runs `impl.apply` on a guarded buffer and compares with the reference.
void expect_apply_matches_reference(const MaskingImplementation& impl, std::size_t size,
                                    std::size_t alignment, std::size_t offset) {
  const auto input = pseudo_random_bytes(size, static_cast<std::uint32_t>(size + alignment));
  GuardedBuffer buffer(alignment, size);
  buffer.fill(input);
  const std::size_t next = impl.apply(buffer.data(), size, test_key, offset);
  ASSERT_EQ(buffer.contents(), reference_mask(input, test_key, offset))
      << describe(impl, size, alignment, offset);
  ASSERT_EQ(next, (offset + size) % 4) << describe(impl, size, alignment, offset);
  ASSERT_TRUE(buffer.guards_intact()) << describe(impl, size, alignment, offset);
}

// Runs `impl.copy` between two guarded buffers whose alignments differ, so
// source and destination are not aligned alike.
void expect_copy_matches_reference(const MaskingImplementation& impl, std::size_t size,
                                   std::size_t alignment, std::size_t offset) {
  const auto input = pseudo_random_bytes(size, static_cast<std::uint32_t>(size * 3 + alignment));
  const std::size_t src_alignment = (alignment * 13 + 5) % 64;
  GuardedBuffer src(src_alignment, size);
  src.fill(input);
  GuardedBuffer dst(alignment, size);
  const std::size_t next = impl.copy(dst.data(), src.data(), size, test_key, offset);
  ASSERT_EQ(dst.contents(), reference_mask(input, test_key, offset))
      << describe(impl, size, alignment, offset);
  ASSERT_EQ(src.contents(), input) << describe(impl, size, alignment, offset);
  ASSERT_EQ(next, (offset + size) % 4) << describe(impl, size, alignment, offset);
  ASSERT_TRUE(dst.guards_intact()) << describe(impl, size, alignment, offset);
  ASSERT_TRUE(src.guards_intact()) << describe(impl, size, alignment, offset);
}

constexpr std::size_t max_small_size = 300;
constexpr std::size_t alignments = 64;
constexpr std::size_t large_sizes[] = {1000, 4096 + 13, 65536 + 3, (1U << 20) + 7};
constexpr std::size_t large_alignments[] = {0, 1, 7, 16, 31, 33, 63};

class MaskingImplementationTest : public testing::TestWithParam<MaskingImplementation> {};

TEST_P(MaskingImplementationTest, ApplyMatchesByteRuleForEverySizeAlignmentAndOffset) {
  for (std::size_t size = 0; size <= max_small_size; ++size) {
    for (std::size_t alignment = 0; alignment < alignments; ++alignment) {
      for (std::size_t offset = 0; offset < 4; ++offset) {
        ASSERT_NO_FATAL_FAILURE(
            expect_apply_matches_reference(GetParam(), size, alignment, offset));
      }
    }
  }
}

TEST_P(MaskingImplementationTest, CopyMatchesByteRuleForEverySizeAlignmentAndOffset) {
  for (std::size_t size = 0; size <= max_small_size; ++size) {
    for (std::size_t alignment = 0; alignment < alignments; ++alignment) {
      for (std::size_t offset = 0; offset < 4; ++offset) {
        ASSERT_NO_FATAL_FAILURE(expect_copy_matches_reference(GetParam(), size, alignment, offset));
      }
    }
  }
}

TEST_P(MaskingImplementationTest, MatchesByteRuleOnLargePayloads) {
  for (const std::size_t size : large_sizes) {
    for (const std::size_t alignment : large_alignments) {
      for (std::size_t offset = 0; offset < 4; ++offset) {
        ASSERT_NO_FATAL_FAILURE(
            expect_apply_matches_reference(GetParam(), size, alignment, offset));
        ASSERT_NO_FATAL_FAILURE(expect_copy_matches_reference(GetParam(), size, alignment, offset));
      }
    }
  }
}

TEST_P(MaskingImplementationTest, CopyOntoItselfEqualsApply) {
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{5}, std::size_t{77}, std::size_t{4099}}) {
    for (std::size_t offset = 0; offset < 4; ++offset) {
      const auto input = pseudo_random_bytes(size, 7);
      auto in_place = input;
      GetParam().copy(in_place.data(), in_place.data(), size, test_key, offset);
      EXPECT_EQ(in_place, reference_mask(input, test_key, offset))
          << describe(GetParam(), size, 0, offset);
    }
  }
}

// Masking and unmasking are the same XOR (RFC 6455 5.3).
TEST_P(MaskingImplementationTest, ApplyingTwiceRestoresInput) {
  for (const std::size_t size :
       {std::size_t{1}, std::size_t{31}, std::size_t{257}, std::size_t{70000}}) {
    const auto input = pseudo_random_bytes(size, 11);
    auto data = input;
    GetParam().apply(data.data(), size, test_key, 3);
    EXPECT_NE(data, input);
    GetParam().apply(data.data(), size, test_key, 3);
    EXPECT_EQ(data, input) << GetParam().name << " size=" << size;
  }
}

TEST_P(MaskingImplementationTest, TakesKeyOffsetModuloFour) {
  const auto input = pseudo_random_bytes(100, 3);
  auto data = input;
  EXPECT_EQ(GetParam().apply(data.data(), data.size(), test_key, 6), (6U + 100U) % 4);
  EXPECT_EQ(data, reference_mask(input, test_key, 2));
}

INSTANTIATE_TEST_SUITE_P(AllImplementations, MaskingImplementationTest,
                         testing::ValuesIn(detail::masking_implementations().begin(),
                                           detail::masking_implementations().end()),
                         [](const testing::TestParamInfo<MaskingImplementation>& param_info) {
                           return std::string(param_info.param.name);
                         });

bool has_implementation(std::string_view name) {
  const auto impls = detail::masking_implementations();
  return std::any_of(impls.begin(), impls.end(),
                     [name](const MaskingImplementation& impl) { return impl.name == name; });
}

TEST(MaskingImplementations, ListsReferenceAndWordVersionsEverywhere) {
  EXPECT_TRUE(has_implementation("bytewise"));
  EXPECT_TRUE(has_implementation("word"));
  EXPECT_STREQ(detail::masking_implementations().front().name, "bytewise");
}

#if defined(__x86_64__)
TEST(MaskingImplementations, ListsSse2AndAvx2WhenTheCpuHasThem) {
  EXPECT_TRUE(has_implementation("sse2"));
  __builtin_cpu_init();
  EXPECT_EQ(has_implementation("avx2"), __builtin_cpu_supports("avx2") != 0);
}
#endif

TEST(MaskingImplementations, SelectsTheLastListedImplementation) {
  EXPECT_EQ(&detail::selected_masking_implementation(), &detail::masking_implementations().back());
}

// RFC 6455 5.7: "A single-frame masked text message" carrying "Hello".
constexpr MaskKey rfc_key{std::byte{0x37}, std::byte{0xfa}, std::byte{0x21}, std::byte{0x3d}};
const std::vector<std::byte> rfc_masked_hello{std::byte{0x7f}, std::byte{0x9f}, std::byte{0x4d},
                                              std::byte{0x51}, std::byte{0x58}};

TEST(ApplyMask, UnmasksRfcHelloExample) {
  auto payload = rfc_masked_hello;
  EXPECT_EQ(apply_mask(payload, rfc_key), 1U);
  EXPECT_EQ(as_text(payload), "Hello");
}

TEST(ApplyMask, MasksHelloAsInRfcExample) {
  std::vector<std::byte> payload(5);
  const ByteView hello = as_bytes("Hello");
  std::copy(hello.begin(), hello.end(), payload.begin());
  apply_mask(payload, rfc_key);
  EXPECT_EQ(payload, rfc_masked_hello);
}

TEST(CopyMasked, UnmasksRfcHelloExampleIntoAnotherBuffer) {
  std::vector<std::byte> text(5);
  EXPECT_EQ(copy_masked(text, rfc_masked_hello, rfc_key), 1U);
  EXPECT_EQ(as_text(text), "Hello");
}

TEST(ApplyMask, MatchesByteRuleForEverySizeAndOffset) {
  for (std::size_t size = 0; size <= max_small_size; ++size) {
    for (std::size_t offset = 0; offset < 4; ++offset) {
      const auto input = pseudo_random_bytes(size, 5);
      auto data = input;
      EXPECT_EQ(apply_mask(data, test_key, offset), (offset + size) % 4);
      ASSERT_EQ(data, reference_mask(input, test_key, offset)) << size << " " << offset;
    }
  }
}

TEST(CopyMasked, WritesOnlySourceSizeIntoLargerDestination) {
  const auto input = pseudo_random_bytes(100, 9);
  std::vector<std::byte> dst(164, std::byte{0xee});
  EXPECT_EQ(copy_masked(dst, input, test_key, 1), (1U + 100U) % 4);
  const auto expected = reference_mask(input, test_key, 1);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), dst.begin()));
  EXPECT_TRUE(
      std::all_of(dst.begin() + 100, dst.end(), [](std::byte b) { return b == std::byte{0xee}; }));
}

TEST(CopyMasked, WritesNoMoreThanDestinationHolds) {
  const auto input = pseudo_random_bytes(100, 9);
  std::vector<std::byte> dst(40);
  EXPECT_EQ(copy_masked(dst, input, test_key, 2), (2U + 40U) % 4);
  const auto expected = reference_mask(input, test_key, 2);
  EXPECT_TRUE(std::equal(dst.begin(), dst.end(), expected.begin()));
}

// A payload may be unmasked as it arrives: the offset returned for one piece
// carries on into the next, and the result equals unmasking all at once.
RC_GTEST_PROP(MaskingPieces, UnmaskingInPiecesEqualsOneShot, ()) {
  // Up to 3000 bytes, so the vector loops and the alignment heads all run.
  const auto size = *rc::gen::inRange<std::size_t>(0, 3001);
  const auto raw =
      *rc::gen::container<std::vector<std::uint8_t>>(size, rc::gen::arbitrary<std::uint8_t>());
  auto cuts =
      *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, size + 1));
  std::sort(cuts.begin(), cuts.end());
  const auto key_bits = *rc::gen::arbitrary<std::uint32_t>();
  const auto offset = *rc::gen::inRange<std::size_t>(0, 4);

  std::vector<std::byte> input(raw.size());
  std::transform(raw.begin(), raw.end(), input.begin(),
                 [](std::uint8_t b) { return static_cast<std::byte>(b); });
  MaskKey key{};
  std::memcpy(key.data(), &key_bits, key.size());
  const auto expected = reference_mask(input, key, offset);

  for (const auto& impl : detail::masking_implementations()) {
    auto applied = input;
    std::vector<std::byte> copied(input.size());
    std::size_t apply_offset = offset;
    std::size_t copy_offset = offset;
    std::size_t begin = 0;
    for (std::size_t i = 0; i <= cuts.size(); ++i) {
      const std::size_t end = i < cuts.size() ? cuts[i] : input.size();
      apply_offset = impl.apply(applied.data() + begin, end - begin, key, apply_offset);
      copy_offset =
          impl.copy(copied.data() + begin, input.data() + begin, end - begin, key, copy_offset);
      begin = end;
    }
    RC_ASSERT(applied == expected);
    RC_ASSERT(copied == expected);
    RC_ASSERT(apply_offset == (offset + input.size()) % 4);
    RC_ASSERT(copy_offset == apply_offset);
  }

  auto public_api = input;
  std::size_t public_offset = offset;
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : input.size();
    public_offset =
        apply_mask(MutableByteView(public_api).subspan(begin, end - begin), key, public_offset);
    begin = end;
  }
  RC_ASSERT(public_api == expected);
}

}  // namespace
}  // namespace ws
