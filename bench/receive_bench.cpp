// B1-B3 for ws alone: masked client frames fed to a server Connection in
// 64 KiB chunks, every message pulled as an event. Peers (Beast,
// websocketpp) are measured beside these in the comparison benchmark.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "ws/connection.hpp"
#include "ws/frame/frame_header.hpp"
#include "ws/frame/masking.hpp"

namespace {

std::vector<std::byte> masked_stream(ws::Opcode opcode, std::size_t payload_size, std::size_t count,
                                     bool mixed_text) {
  std::vector<std::byte> payload(payload_size, std::byte{'a'});
  if (mixed_text) {
    // 25% of the bytes non-ASCII: U+00E9 (C3 A9) every 8 bytes.
    for (std::size_t i = 0; i + 1 < payload_size; i += 8) {
      payload[i] = std::byte{0xC3};
      payload[i + 1] = std::byte{0xA9};
    }
  }
  std::vector<std::byte> out;
  out.reserve(count * (payload_size + 14));
  std::mt19937 random(42);
  for (std::size_t i = 0; i < count; ++i) {
    ws::FrameHeader header;
    header.opcode = opcode;
    header.masked = true;
    const auto key = static_cast<std::uint32_t>(random());
    std::memcpy(header.mask_key.data(), &key, 4);
    header.payload_length = payload_size;
    std::array<std::byte, ws::max_frame_header_size> head{};
    const std::size_t head_size = ws::encode_frame_header(header, head);
    out.insert(out.end(), head.begin(), head.begin() + static_cast<std::ptrdiff_t>(head_size));
    const std::size_t start = out.size();
    out.insert(out.end(), payload.begin(), payload.end());
    ws::apply_mask(ws::MutableByteView(out).subspan(start), header.mask_key);
  }
  return out;
}

void feed_all(benchmark::State& state, ws::Opcode opcode, std::size_t payload_size,
              std::size_t count, bool mixed_text) {
  const std::vector<std::byte> stream = masked_stream(opcode, payload_size, count, mixed_text);
  std::vector<std::byte> work(stream.size());
  constexpr std::size_t chunk = 64 * 1024;
  std::size_t messages = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::memcpy(work.data(), stream.data(), stream.size());  // unmasking is in place
    ws::Config config;
    config.limits.max_buffered_input = chunk;
    ws::Connection c = ws::Connection::after_handshake(ws::Role::server, config);
    state.ResumeTiming();
    ws::ByteView rest(work);
    std::size_t seen = 0;
    while (!rest.empty()) {
      const ws::MutableByteView space = c.receive_buffer();
      const std::size_t n = std::min({space.size(), rest.size(), chunk});
      std::memcpy(space.data(), rest.data(), n);
      c.commit_received(n);
      rest = rest.subspan(n);
      while (auto event = c.next_event()) {
        benchmark::DoNotOptimize(std::get_if<ws::Message>(&*event));
        ++seen;
      }
    }
    messages += seen;
    if (seen != count) state.SkipWithError("lost messages");
  }
  state.counters["frames/s"] =
      benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(messages * payload_size));
}

void BM_Receive_Binary16(benchmark::State& s) {
  feed_all(s, ws::Opcode::binary, 16, 262144, false);
}
void BM_Receive_Binary125(benchmark::State& s) {
  feed_all(s, ws::Opcode::binary, 125, 262144, false);
}
void BM_Receive_Binary64K(benchmark::State& s) {
  feed_all(s, ws::Opcode::binary, 65536, 512, false);
}
void BM_Receive_Binary1M(benchmark::State& s) {
  feed_all(s, ws::Opcode::binary, 1 << 20, 32, false);
}
void BM_Receive_Text16(benchmark::State& s) { feed_all(s, ws::Opcode::text, 16, 262144, false); }
void BM_Receive_MixedText64K(benchmark::State& s) {
  feed_all(s, ws::Opcode::text, 65536, 512, true);
}

BENCHMARK(BM_Receive_Binary16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Receive_Binary125)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Receive_Binary64K)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Receive_Binary1M)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Receive_Text16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Receive_MixedText64K)->Unit(benchmark::kMillisecond);

}  // namespace
