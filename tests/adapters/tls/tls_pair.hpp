// A client layer and a server layer joined in memory: wire bytes are moved
// by hand (pending_wire of one into receive_wire of the other), decoded
// bytes are read into strings. No sockets, no Driver.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls/test_certificates.hpp"
#include "ws/tls/layer.hpp"

namespace ws::test::tls {

inline ws::tls::ServerSettings localhost_server() {
  const TestCertificates& certificates = test_certificates();
  ws::tls::ServerSettings settings;
  settings.certificate_file = certificates.localhost.certificate_file;
  settings.private_key_file = certificates.localhost.private_key_file;
  return settings;
}

inline ws::tls::ClientSettings trusting_client() {
  ws::tls::ClientSettings settings;
  settings.ca_file = test_certificates().ca_file;
  return settings;
}

inline ws::tls::ClientSettings insecure_client() {
  ws::tls::ClientSettings settings;
  settings.insecure = true;
  return settings;
}

inline std::unique_ptr<StreamLayer> make_layer(const ws::tls::ServerSettings& settings) {
  std::string detail;
  auto factory = ws::tls::server_layer(settings, &detail);
  EXPECT_TRUE(factory.has_value()) << factory.error().message() << ": " << detail;
  if (!factory) return nullptr;
  auto layer = (*factory)->make(Role::server, "");
  EXPECT_TRUE(layer.has_value()) << layer.error().message();
  return layer ? std::move(*layer) : nullptr;
}

inline std::unique_ptr<StreamLayer> make_layer(const ws::tls::ClientSettings& settings,
                                               std::string_view host = "localhost") {
  std::string detail;
  auto factory = ws::tls::client_layer(settings, &detail);
  EXPECT_TRUE(factory.has_value()) << factory.error().message() << ": " << detail;
  if (!factory) return nullptr;
  auto layer = (*factory)->make(Role::client, host);
  EXPECT_TRUE(layer.has_value()) << layer.error().message();
  return layer ? std::move(*layer) : nullptr;
}

/// Moves `from`'s pending wire bytes into `to`, at most `piece` bytes per
/// receive_wire() call, as far as `to` takes them. Returns the bytes moved.
inline std::size_t transfer(StreamLayer& from, StreamLayer& to,
                            std::size_t piece = static_cast<std::size_t>(-1)) {
  std::size_t moved = 0;
  while (from.pending_wire_size() > 0) {
    const OutputBuffer first = from.pending_wire().front();
    const std::size_t n = std::min(first.size, piece);
    const std::size_t taken = to.receive_wire(ByteView(first.data, n));
    from.consume_wire(taken);
    moved += taken;
    if (taken < n) break;
  }
  return moved;
}

/// Reads everything `layer` decodes now into `out`, `chunk` bytes per read().
inline std::size_t read_into(StreamLayer& layer, std::string& out, std::size_t chunk = 16 * 1024) {
  std::vector<std::byte> buffer(chunk);
  std::size_t total = 0;
  while (const std::size_t n = layer.read(buffer)) {
    out.append(reinterpret_cast<const char*>(buffer.data()), n);
    total += n;
  }
  return total;
}

/// Writes `text` as one piece; returns how much the layer took.
inline std::size_t write_text(StreamLayer& layer, std::string_view text) {
  const OutputBuffer piece{reinterpret_cast<const std::byte*>(text.data()), text.size()};
  return layer.write(std::span<const OutputBuffer>(&piece, 1));
}

struct TlsPair {
  std::unique_ptr<StreamLayer> client;
  std::unique_ptr<StreamLayer> server;
  std::string client_received;
  std::string server_received;

  TlsPair(const ws::tls::ClientSettings& client_settings,
          const ws::tls::ServerSettings& server_settings, std::string_view host = "localhost")
      : client(make_layer(client_settings, host)), server(make_layer(server_settings)) {}
  TlsPair() : TlsPair(trusting_client(), localhost_server()) {}

  bool ok() const { return client != nullptr && server != nullptr; }

  /// Moves bytes both ways and reads both sides until nothing moves.
  void pump() {
    for (int round = 0; round < 10000; ++round) {
      std::size_t progress = transfer(*client, *server) + transfer(*server, *client);
      progress += read_into(*server, server_received) + read_into(*client, client_received);
      if (progress == 0) return;
    }
    ADD_FAILURE() << "the pump never settled";
  }

  bool handshake() {
    pump();
    return client->handshake_done() && server->handshake_done();
  }
};

}  // namespace ws::test::tls
