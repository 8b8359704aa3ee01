// Throughput of Utf8Validator::feed on 64 KiB of text, built-in DFA against
// the accelerated path (the widest SIMD kernel the CPU has), fed in chunks
// of the size given as the argument; each whole-buffer kernel alone; and
// unmasking plus validation, in two passes or fused.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/utf8_kernels.hpp"
#include "frame/utf8_unmask.hpp"
#include "ws/base/utf8_validator.hpp"
#include "ws/frame/masking.hpp"

namespace {

constexpr std::size_t kTextSize = 64 * 1024;

void append(std::vector<std::byte>& out, std::initializer_list<unsigned> values) {
  for (const unsigned v : values) out.push_back(static_cast<std::byte>(v));
}

std::vector<std::byte> ascii_text() {
  std::vector<std::byte> out;
  while (out.size() < kTextSize) out.push_back(static_cast<std::byte>('a' + out.size() % 26));
  return out;
}

// About a quarter of the bytes (20 in 76) belong to 2-, 3- and 4-byte code
// points.
// Only complete code points are added, so the text stays valid.
std::vector<std::byte> mixed_text() {
  std::vector<std::byte> out;
  std::uint32_t seed = 12345;
  while (true) {
    seed = seed * 1664525U + 1013904223U;  // fixed LCG: same text every run
    const std::uint32_t pick = (seed >> 24) % 64;
    std::vector<std::byte> next;
    if (pick == 0) {
      append(next, {0xF0, 0x9F, 0x98, 0x80});  // U+1F600
    } else if (pick < 3) {
      append(next, {0xE2, 0x82, 0xAC});  // U+20AC
    } else if (pick < 8) {
      append(next, {0xC3, 0xA9});  // U+00E9
    } else {
      append(next, {'a' + pick % 26});
    }
    if (out.size() + next.size() > kTextSize) break;
    out.insert(out.end(), next.begin(), next.end());
  }
  while (out.size() < kTextSize) out.push_back(std::byte{'a'});
  return out;
}

void feed(benchmark::State& state, const std::vector<std::byte>& text,
          ws::detail::Utf8Backend backend) {
  const auto chunk = static_cast<std::size_t>(state.range(0));
  if (backend == ws::detail::Utf8Backend::automatic && !ws::detail::utf8_accelerator_available()) {
    state.SetLabel("no accelerator built in: same as builtin");
  }
  for (auto _ : state) {
    ws::Utf8Validator validator(backend);
    const ws::ByteView all(text);
    bool ok = true;
    for (std::size_t at = 0; at < all.size(); at += chunk) {
      ok = validator.feed(all.subspan(at, std::min(chunk, all.size() - at))) && ok;
    }
    benchmark::DoNotOptimize(ok);
    if (!ok || !validator.is_complete()) state.SkipWithError("text rejected");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
}

void BM_Utf8Ascii_Builtin(benchmark::State& state) {
  static const std::vector<std::byte> text = ascii_text();
  feed(state, text, ws::detail::Utf8Backend::builtin);
}
void BM_Utf8Ascii_Accelerated(benchmark::State& state) {
  static const std::vector<std::byte> text = ascii_text();
  feed(state, text, ws::detail::Utf8Backend::automatic);
}
void BM_Utf8Mixed_Builtin(benchmark::State& state) {
  static const std::vector<std::byte> text = mixed_text();
  feed(state, text, ws::detail::Utf8Backend::builtin);
}
void BM_Utf8Mixed_Accelerated(benchmark::State& state) {
  static const std::vector<std::byte> text = mixed_text();
  feed(state, text, ws::detail::Utf8Backend::automatic);
}

// Chunk sizes: the whole text in one feed, and the sizes around the
// accelerator threshold (ws::detail::utf8_accelerator_min_chunk).
void chunk_sizes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t size : {std::int64_t{kTextSize}, std::int64_t{4096}, std::int64_t{1024},
                                  std::int64_t{512}, std::int64_t{256}, std::int64_t{128},
                                  std::int64_t{64}, std::int64_t{32}, std::int64_t{16}}) {
    b->Arg(size);
  }
}

// Each whole-buffer kernel this CPU can run (ws::detail::utf8::utf8_kernels(),
// the last one is what Utf8Validator uses) on the 64 KiB mixed text.
void BM_Utf8MixedKernel(benchmark::State& state) {
  static const std::vector<std::byte> text = mixed_text();
  const auto kernels = ws::detail::utf8::utf8_kernels();
  const auto index = static_cast<std::size_t>(state.range(0));
  if (index >= kernels.size()) {
    state.SkipWithError("kernel not available on this CPU");
    return;
  }
  state.SetLabel(kernels[index].name);
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  for (auto _ : state) {
    benchmark::DoNotOptimize(data);
    const bool ok = kernels[index].validate(data, text.size());
    benchmark::DoNotOptimize(ok);
    if (!ok) state.SkipWithError("text rejected");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_Utf8MixedKernel)->DenseRange(0, 4);

// What a text frame costs on receipt: unmask a masked 64 KiB payload into
// the message buffer and validate it, in two passes over the whole payload
// (argument 0) or fused in L1-sized blocks (ws::detail::
// copy_masked_and_validate, argument 1).
void BM_Utf8MixedCopyMaskedAndValidate(benchmark::State& state) {
  static const std::vector<std::byte> text = mixed_text();
  const ws::MaskKey key{std::byte{0x12}, std::byte{0x34}, std::byte{0x56}, std::byte{0x78}};
  std::vector<std::byte> masked = text;
  ws::apply_mask(masked, key);
  std::vector<std::byte> message(text.size());
  const bool fused = state.range(0) != 0;
  state.SetLabel(fused ? "fused" : "two passes");
  for (auto _ : state) {
    ws::Utf8Validator validator;
    if (fused) {
      ws::detail::copy_masked_and_validate(message, masked, key, 0, validator);
    } else {
      ws::copy_masked(message, masked, key);
      (void)validator.feed(message);
    }
    if (!validator.is_complete()) state.SkipWithError("text rejected");
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_Utf8MixedCopyMaskedAndValidate)->Arg(0)->Arg(1);

BENCHMARK(BM_Utf8Ascii_Builtin)->Apply(chunk_sizes);
BENCHMARK(BM_Utf8Ascii_Accelerated)->Apply(chunk_sizes);
BENCHMARK(BM_Utf8Mixed_Builtin)->Apply(chunk_sizes);
BENCHMARK(BM_Utf8Mixed_Accelerated)->Apply(chunk_sizes);

}  // namespace
