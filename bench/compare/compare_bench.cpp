// ws beside Boost.Beast, websocketpp and memcpy, in one run (issue 7):
//   B1 small binary frames, B2 large binary frames, B3 text, B4 sending,
//   B6 fan-out to 10,000 subscribers.
// Every receive figure feeds pre-built masked client frames to a server
// connection in 64 KiB pieces, and every message is delivered to the
// caller. memcpy copies the same bytes in the same pieces: the physical
// limit. docs/performance.md says what each figure means.
//
//   ws_compare_bench [--tiny] [Google Benchmark flags]
// --tiny runs each benchmark once on a few frames (the ctest smoke run: it
// checks that everything still works, not how fast).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compare/peer_api.hpp"
#include "ws/channels/registry.hpp"
#include "ws/connection.hpp"
#include "ws/frame/frame_header.hpp"
#include "ws/frame/masking.hpp"

namespace {

using ws_bench::PeerApi;

constexpr std::size_t piece = 64 * 1024;
bool tiny = false;

// Frame counts of the full run; --tiny divides them.
std::size_t count(std::size_t full) { return tiny ? std::max<std::size_t>(full / 4096, 2) : full; }

// 25% of the bytes non-ASCII: a tenth of the code points are 2-, 3- or
// 4-byte sequences (average 3 bytes), the rest ASCII letters. Fixed seed.
std::vector<std::byte> mixed_text(std::size_t size) {
  std::vector<std::byte> out;
  out.reserve(size);
  std::uint32_t seed = 7;
  auto put = [&out](std::initializer_list<unsigned> bytes) {
    for (const unsigned b : bytes) out.push_back(static_cast<std::byte>(b));
  };
  while (out.size() + 4 <= size) {
    seed = seed * 1664525U + 1013904223U;
    const std::uint32_t pick = (seed >> 24) % 30;
    if (pick == 0) {
      put({0xC3, 0xA9});  // U+00E9
    } else if (pick == 1) {
      put({0xE2, 0x82, 0xAC});  // U+20AC
    } else if (pick == 2) {
      put({0xF0, 0x9F, 0x98, 0x80});  // U+1F600
    } else {
      put({'a' + pick % 26});
    }
  }
  while (out.size() < size) out.push_back(std::byte{'a'});
  return out;
}

std::vector<std::byte> payload_of(ws::Opcode opcode, std::size_t size) {
  if (opcode == ws::Opcode::text && size >= 1024) return mixed_text(size);
  std::vector<std::byte> payload(size);
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<std::byte>('a' + i % 26);
  return payload;
}

// `frames` masked client frames (RFC 6455 5.3), a new key each.
std::vector<std::byte> masked_frames(ws::Opcode opcode, std::size_t size, std::size_t frames) {
  const std::vector<std::byte> payload = payload_of(opcode, size);
  std::vector<std::byte> out;
  out.reserve(frames * (size + ws::max_frame_header_size));
  std::uint32_t seed = 42;
  for (std::size_t i = 0; i < frames; ++i) {
    ws::FrameHeader header;
    header.opcode = opcode;
    header.masked = true;
    seed = seed * 1664525U + 1013904223U;
    std::memcpy(header.mask_key.data(), &seed, 4);
    header.payload_length = size;
    std::array<std::byte, ws::max_frame_header_size> head{};
    const std::size_t head_size = ws::encode_frame_header(header, head);
    out.insert(out.end(), head.begin(), head.begin() + static_cast<std::ptrdiff_t>(head_size));
    const std::size_t start = out.size();
    out.insert(out.end(), payload.begin(), payload.end());
    ws::apply_mask(ws::MutableByteView(out).subspan(start), header.mask_key);
  }
  return out;
}

const unsigned char* bytes_of(const std::vector<std::byte>& v) {
  return reinterpret_cast<const unsigned char*>(v.data());
}

void set_rates(benchmark::State& state, std::size_t frames_per_iteration, std::size_t size) {
  const double frames =
      static_cast<double>(state.iterations()) * static_cast<double>(frames_per_iteration);
  state.counters["frames_per_s"] = benchmark::Counter(frames, benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(frames * static_cast<double>(size)));
}

// ---- receiving (B1, B2, B3) ----

struct ReceiveCase {
  ws::Opcode opcode;
  std::size_t size;
  std::size_t frames;
};

// One connection for the whole run: the input is a whole number of frames,
// so it is simply fed again on each iteration.
void receive_ws(benchmark::State& state, ReceiveCase c) {
  const std::vector<std::byte> input = masked_frames(c.opcode, c.size, c.frames);
  ws::Connection connection = ws::Connection::after_handshake(ws::Role::server);
  for (auto _ : state) {
    std::size_t messages = 0;
    for (std::size_t at = 0; at < input.size();) {
      const std::size_t piece_end = std::min(input.size(), (at / piece + 1) * piece);
      at += connection.receive(ws::ByteView(input.data() + at, piece_end - at));
      while (std::optional<ws::Event> event = connection.next_event()) {
        const auto* message = std::get_if<ws::Message>(&*event);
        if (message == nullptr) break;
        ++messages;
        benchmark::DoNotOptimize(message->payload.data());
      }
    }
    if (messages != c.frames) {
      state.SkipWithError("ws lost messages");
      break;
    }
  }
  set_rates(state, c.frames, c.size);
}

void receive_peer(benchmark::State& state, const PeerApi* peer, ReceiveCase c) {
  const std::vector<std::byte> input = masked_frames(c.opcode, c.size, c.frames);
  void* receiver = peer->receiver_open();
  if (receiver == nullptr) {
    state.SkipWithError("handshake failed");
    return;
  }
  for (auto _ : state) {
    const std::size_t messages =
        peer->receiver_feed(receiver, bytes_of(input), input.size(), piece, c.frames);
    if (messages != c.frames) {
      state.SkipWithError("peer lost messages");
      break;
    }
  }
  peer->receiver_close(receiver);
  set_rates(state, c.frames, c.size);
}

void receive_memcpy(benchmark::State& state, ReceiveCase c) {
  const std::vector<std::byte> input = masked_frames(c.opcode, c.size, c.frames);
  std::vector<std::byte> buffer(piece);
  for (auto _ : state) {
    for (std::size_t at = 0; at < input.size(); at += piece) {
      std::memcpy(buffer.data(), input.data() + at, std::min(piece, input.size() - at));
      benchmark::ClobberMemory();
    }
    benchmark::DoNotOptimize(buffer.data());
  }
  set_rates(state, c.frames, c.size);
}

// ---- sending (B4) ----

// Writes everything the connection has queued to the sink, as a socket
// write would; returns the bytes.
std::size_t drain(ws::Connection& connection) {
  std::size_t total = 0;
  for (const ws::OutputBuffer& buffer : connection.pending_output()) {
    ws_bench::copy_to_sink(buffer.data, buffer.size);
    total += buffer.size;
  }
  connection.consume_output(total);
  return total;
}

struct SendCase {
  bool client;
  std::size_t size;
  std::size_t frames;
};

void send_ws(benchmark::State& state, SendCase c) {
  const std::vector<std::byte> payload = payload_of(ws::Opcode::binary, c.size);
  ws::Connection connection =
      ws::Connection::after_handshake(c.client ? ws::Role::client : ws::Role::server);
  std::size_t written = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < c.frames; ++i) {
      if (connection.send_binary(payload)) {
        state.SkipWithError("send failed");
        return;
      }
      // Hand the frame to the "socket" as soon as it is queued.
      written += drain(connection);
    }
  }
  benchmark::DoNotOptimize(written);
  set_rates(state, c.frames, c.size);
}

void send_peer(benchmark::State& state, const PeerApi* peer, SendCase c) {
  const std::vector<std::byte> payload = payload_of(ws::Opcode::binary, c.size);
  void* sender = peer->sender_open(c.client);
  if (sender == nullptr) {
    state.SkipWithError("handshake failed");
    return;
  }
  for (auto _ : state) {
    if (peer->sender_send(sender, bytes_of(payload), c.size, c.frames) < c.frames * c.size) {
      state.SkipWithError("send failed");
      break;
    }
  }
  peer->sender_close(sender);
  set_rates(state, c.frames, c.size);
}

void send_memcpy(benchmark::State& state, SendCase c) {
  const std::vector<std::byte> payload = payload_of(ws::Opcode::binary, c.size);
  for (auto _ : state) {
    for (std::size_t i = 0; i < c.frames; ++i) ws_bench::copy_to_sink(payload.data(), c.size);
    benchmark::ClobberMemory();
  }
  set_rates(state, c.frames, c.size);
}

// ---- fan-out (B6) ----

constexpr std::size_t fanout_message = 128;

// A subscriber that queues the shared frame on its connection and hands it
// to the "socket" at once, as an adapter's write would.
class ConnectionSubscriber final : public ws::channels::Subscriber {
 public:
  ConnectionSubscriber() : connection_(ws::Connection::after_handshake(ws::Role::server)) {}
  bool deliver(const std::shared_ptr<const ws::PreparedMessage>& message) override {
    if (connection_.send_prepared(message)) return false;
    written += drain(connection_);
    return true;
  }
  std::size_t written = 0;

 private:
  ws::Connection connection_;
};

std::size_t subscribers() { return tiny ? 10 : 10000; }

void fanout_ws(benchmark::State& state) {
  const std::vector<std::byte> payload = payload_of(ws::Opcode::binary, fanout_message);
  ws::channels::Registry registry;
  std::vector<std::shared_ptr<ConnectionSubscriber>> members;
  for (std::size_t i = 0; i < subscribers(); ++i) {
    members.push_back(std::make_shared<ConnectionSubscriber>());
    registry.join("room", members.back());
  }
  for (auto _ : state) {
    if (registry.publish("room", ws::MessageKind::binary, payload) != members.size()) {
      state.SkipWithError("not delivered to all");
      break;
    }
  }
  set_rates(state, members.size(), fanout_message);
}

// The same fan-out on a resumable channel (docs/resume.md): each publish is
// numbered, kept in the channel's history and sent as a ws.resume.v1
// envelope. What resumption costs the publisher, beside the plain channel.
void fanout_ws_resumable(benchmark::State& state) {
  const std::vector<std::byte> payload = payload_of(ws::Opcode::binary, fanout_message);
  ws::channels::RegistryOptions options;
  options.resumable = true;
  ws::channels::Registry registry(options);
  std::vector<std::shared_ptr<ConnectionSubscriber>> members;
  for (std::size_t i = 0; i < subscribers(); ++i) {
    members.push_back(std::make_shared<ConnectionSubscriber>());
    (void)registry.join_resumable("room", members.back(), std::nullopt);
  }
  for (auto _ : state) {
    if (registry.publish("room", ws::MessageKind::binary, payload) != members.size()) {
      state.SkipWithError("not delivered to all");
      break;
    }
  }
  set_rates(state, members.size(), fanout_message);
}

void fanout_peer(benchmark::State& state, const PeerApi* peer) {
  const std::vector<std::byte> payload = payload_of(ws::Opcode::binary, fanout_message);
  void* fanout = peer->fanout_open(subscribers());
  if (fanout == nullptr) {
    state.SkipWithError("handshake failed");
    return;
  }
  for (auto _ : state) {
    if (peer->fanout_publish(fanout, bytes_of(payload), fanout_message) <
        subscribers() * fanout_message) {
      state.SkipWithError("not delivered to all");
      break;
    }
  }
  peer->fanout_close(fanout);
  set_rates(state, subscribers(), fanout_message);
}

void fanout_memcpy(benchmark::State& state) {
  const std::vector<std::byte> frame(fanout_message + 2, std::byte{'x'});
  for (auto _ : state) {
    for (std::size_t i = 0; i < subscribers(); ++i)
      ws_bench::copy_to_sink(frame.data(), frame.size());
    benchmark::ClobberMemory();
  }
  set_rates(state, subscribers(), fanout_message);
}

// ---- registration ----

template <class Function, class... Args>
void add(const std::string& name, Function function, Args... args) {
  benchmark::internal::Benchmark* bench = benchmark::RegisterBenchmark(
      name.c_str(), [=](benchmark::State& state) { function(state, args...); });
  // CPU time of the thread: the machine is shared, and every case is
  // single-threaded.
  bench->Unit(benchmark::kMillisecond);
  if (tiny) bench->Iterations(1);
}

void register_all() {
  const std::array<const PeerApi*, 2> peers{&ws_bench::beast_api(), &ws_bench::websocketpp_api()};
  struct NamedReceive {
    const char* name;
    ReceiveCase c;
  };
  const std::array<NamedReceive, 6> receives{{
      {"B1/binary16", {ws::Opcode::binary, 16, count(262144)}},
      {"B1/binary125", {ws::Opcode::binary, 125, count(262144)}},
      {"B2/binary64K", {ws::Opcode::binary, 64 * 1024, count(16)}},
      {"B2/binary1M", {ws::Opcode::binary, 1024 * 1024, count(2)}},
      {"B3/text16", {ws::Opcode::text, 16, count(262144)}},
      {"B3/mixedtext64K", {ws::Opcode::text, 64 * 1024, count(16)}},
  }};
  for (const NamedReceive& r : receives) {
    add(std::string(r.name) + "/ws", receive_ws, r.c);
    for (const PeerApi* peer : peers)
      add(std::string(r.name) + "/" + peer->name, receive_peer, peer, r.c);
    add(std::string(r.name) + "/memcpy", receive_memcpy, r.c);
  }
  struct NamedSend {
    const char* name;
    SendCase c;
  };
  const std::array<NamedSend, 4> sends{{
      {"B4/server16", {false, 16, count(262144)}},
      {"B4/server64K", {false, 64 * 1024, count(512)}},
      {"B4/client16", {true, 16, count(262144)}},
      {"B4/client64K", {true, 64 * 1024, count(512)}},
  }};
  for (const NamedSend& s : sends) {
    add(std::string(s.name) + "/ws", send_ws, s.c);
    for (const PeerApi* peer : peers)
      add(std::string(s.name) + "/" + peer->name, send_peer, peer, s.c);
    add(std::string(s.name) + "/memcpy", send_memcpy, s.c);
  }
  add("B6/fanout10000/ws", fanout_ws);
  add("B6/fanout10000/ws_resumable", fanout_ws_resumable);
  for (const PeerApi* peer : peers)
    add(std::string("B6/fanout10000/") + peer->name, fanout_peer, peer);
  add("B6/fanout10000/memcpy", fanout_memcpy);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--tiny") {
      tiny = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  int count_left = static_cast<int>(args.size());
  register_all();
  benchmark::Initialize(&count_left, args.data());
  if (benchmark::ReportUnrecognizedArguments(count_left, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
