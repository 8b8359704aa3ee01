// permessage-deflate against the uncompressed path: a client Connection
// sends messages to a server Connection in memory (compress, frame, mask,
// parse, inflate), for three kinds of payload, distinct messages of each
// kind and size sent in turn. Counters: payload bytes per
// second, and wire_ratio = bytes on the wire / payload bytes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "ws/connection.hpp"
#include "ws/deflate/deflate.hpp"

namespace {

enum class Payload { chat_json, log_text, random_bytes };

std::string make_payload(Payload kind, std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string out;
  const char* names[] = {"alice", "bob", "carol", "dave"};
  const char* words[] = {"hello", "meeting", "at",     "noon", "see",
                         "you",   "the",     "report", "is",   "ready"};
  while (out.size() < size) {
    if (kind == Payload::chat_json) {
      out += R"({"type":"message","channel":"general","user":")";
      out += names[random() % 4];
      out += R"(","id":)" + std::to_string(random() % 100000) + R"(,"text":")";
      for (int i = 0; i < 6; ++i) {
        out += words[random() % 10];
        out += ' ';
      }
      out += "\"}";
    } else if (kind == Payload::log_text) {
      out += "2026-11-25T02:" + std::to_string(random() % 60) + " INFO request served path=/api/";
      out += words[random() % 10];
      out += " status=200 ms=" + std::to_string(random() % 500) + "\n";
    } else {
      out.push_back(static_cast<char>(random()));
    }
  }
  out.resize(size);
  return out;
}

struct Pair {
  ws::Connection client;
  ws::Connection server;
};

void move_bytes(ws::Connection& from, ws::Connection& to, std::size_t* wire) {
  for (const ws::OutputBuffer& b : from.pending_output()) {
    ws::ByteView rest(b.data, b.size);
    if (wire != nullptr) *wire += b.size;
    while (!rest.empty()) {
      rest = rest.subspan(to.receive(rest));
      while (auto event = to.next_event()) {
        if (std::get_if<ws::UpgradeRequested>(&*event) != nullptr) (void)to.accept();
        benchmark::DoNotOptimize(event);
      }
    }
  }
  from.consume_output(from.pending_output_size());
}

Pair open_pair(const ws::Config& config) {
  Pair pair{std::move(*ws::Connection::client("ws://localhost/", {}, config)),
            ws::Connection::server(config)};
  for (int i = 0; i < 4; ++i) {
    move_bytes(pair.client, pair.server, nullptr);
    move_bytes(pair.server, pair.client, nullptr);
  }
  return pair;
}

// Arguments: payload kind, size, mode (0 plain, 1 deflate, 2 deflate without
// context takeover).
void BM_ClientToServer(benchmark::State& state) {
  const auto kind = static_cast<Payload>(state.range(0));
  const auto size = static_cast<std::size_t>(state.range(1));
  const auto mode = state.range(2);
  ws::Config config;
  if (mode > 0) {
    ws::deflate::Options options;
    options.no_context_takeover = mode == 2;
    options.peer_no_context_takeover = mode == 2;
    config.extension = ws::deflate::make_extension(options);
  }
  Pair pair = open_pair(config);
  // Distinct messages, more of them than a 32 KiB window holds, so that
  // context takeover cannot simply refer back to an identical message.
  std::vector<std::string> payloads;
  const std::size_t count = std::max<std::size_t>(16, 4 * 32768 / size);
  for (std::size_t seed = 1; seed <= count; ++seed) {
    payloads.push_back(make_payload(kind, size, static_cast<unsigned>(seed)));
  }
  std::size_t wire = 0;
  std::size_t next = 0;
  for (auto _ : state) {
    const std::string& payload = payloads[next++ % payloads.size()];
    if (kind == Payload::random_bytes) {
      (void)pair.client.send_binary(ws::as_bytes(std::string_view(payload)));
    } else {
      (void)pair.client.send_text(payload);
    }
    move_bytes(pair.client, pair.server, &wire);
  }
  if (pair.server.state() != ws::State::open) state.SkipWithError("the connection failed");
  const auto payload_bytes =
      static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(size);
  state.SetBytesProcessed(payload_bytes);
  state.counters["wire_ratio"] = static_cast<double>(wire) / static_cast<double>(payload_bytes);
}

void deflate_arguments(benchmark::internal::Benchmark* b) {
  b->ArgNames({"payload", "size", "mode"});
  for (int kind : {0, 1, 2}) {
    for (int size : {256, 16384, 262144}) {
      for (int mode : {0, 1, 2}) b->Args({kind, size, mode});
    }
  }
}
BENCHMARK(BM_ClientToServer)->Apply(deflate_arguments);

}  // namespace
