// Throughput of payload masking (RFC 6455 5.3) for each implementation this
// CPU can run, next to memcpy of the same size as a ceiling. Sizes: a tiny
// frame, the largest control frame (125 B), a typical large message, 1 MiB.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ws/frame/masking.hpp"

namespace {

constexpr ws::MaskKey bench_key{std::byte{0x37}, std::byte{0xfa}, std::byte{0x21}, std::byte{0x3d}};

void add_sizes(benchmark::internal::Benchmark* bench) {
  bench->Arg(16)->Arg(125)->Arg(4096)->Arg(64 << 10)->Arg(1 << 20);
}

void set_throughput(benchmark::State& state, std::size_t size) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(size));
}

void apply_with(benchmark::State& state, const ws::detail::MaskingImplementation* impl) {
  const auto size = static_cast<std::size_t>(state.range(0));
  std::vector<std::byte> data(size, std::byte{0x5a});
  std::size_t offset = 0;
  for (auto _ : state) {
    offset = impl->apply(data.data(), size, bench_key, offset);
    benchmark::DoNotOptimize(data.data());
    benchmark::ClobberMemory();
  }
  set_throughput(state, size);
}

void copy_with(benchmark::State& state, const ws::detail::MaskingImplementation* impl) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const std::vector<std::byte> src(size, std::byte{0x5a});
  std::vector<std::byte> dst(size);
  for (auto _ : state) {
    impl->copy(dst.data(), src.data(), size, bench_key, 0);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  set_throughput(state, size);
}

// The public entry point, to show what the one-time dispatch costs.
void apply_mask_dispatched(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  std::vector<std::byte> data(size, std::byte{0x5a});
  std::size_t offset = 0;
  for (auto _ : state) {
    offset = ws::apply_mask(data, bench_key, offset);
    benchmark::DoNotOptimize(data.data());
    benchmark::ClobberMemory();
  }
  set_throughput(state, size);
}

void memcpy_baseline(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const std::vector<std::byte> src(size, std::byte{0x5a});
  std::vector<std::byte> dst(size);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), size);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  set_throughput(state, size);
}

// Registered at start-up: the implementations depend on the CPU.
[[maybe_unused]] const bool registered = [] {
  for (const auto& impl : ws::detail::masking_implementations()) {
    add_sizes(benchmark::RegisterBenchmark(("apply_mask/" + std::string(impl.name)).c_str(),
                                           apply_with, &impl));
  }
  add_sizes(benchmark::RegisterBenchmark("apply_mask/dispatched", apply_mask_dispatched));
  for (const auto& impl : ws::detail::masking_implementations()) {
    add_sizes(benchmark::RegisterBenchmark(("copy_masked/" + std::string(impl.name)).c_str(),
                                           copy_with, &impl));
  }
  add_sizes(benchmark::RegisterBenchmark("memcpy", memcpy_baseline));
  return true;
}();

}  // namespace
