// Small helpers for driving a StreamLayer by hand in the proxy tests: feed
// wire bytes, take what it wants to send, read what it decoded.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "ws/base/bytes.hpp"
#include "ws/driver/stream_layer.hpp"
#include "ws/proxy/settings.hpp"
#include "ws/proxy/tunnel.hpp"

namespace ws::proxy::test {

/// Everything pending on the wire, as text; consumed.
inline std::string take_wire(StreamLayer& layer) {
  std::string out;
  for (const OutputBuffer& buffer : layer.pending_wire()) {
    out += as_text({buffer.data, buffer.size});
  }
  layer.consume_wire(out.size());
  return out;
}

/// Gives `bytes` as wire input (all of it: the caller keeps within
/// wire_room()) and returns what read() decodes then.
inline std::string give(StreamLayer& layer, std::string_view bytes) {
  EXPECT_EQ(layer.receive_wire(as_bytes(bytes)), bytes.size());
  std::string decoded;
  std::array<std::byte, 4096> buffer{};
  while (const std::size_t n = layer.read(buffer)) decoded += as_text({buffer.data(), n});
  return decoded;
}

/// Gives `bytes` one at a time, reading after each; returns all decoded.
inline std::string give_bytewise(StreamLayer& layer, std::string_view bytes) {
  std::string decoded;
  for (const char c : bytes) decoded += give(layer, std::string_view(&c, 1));
  return decoded;
}

/// What read() decodes now.
inline std::string read_all(StreamLayer& layer) { return give(layer, {}); }

inline std::string write_text(StreamLayer& layer, std::string_view text, std::size_t* taken) {
  const OutputBuffer buffer{as_bytes(text).data(), text.size()};
  *taken = layer.write({&buffer, 1});
  return std::string(text.substr(0, *taken));
}

inline ProxySettings settings(ProxyKind kind, std::optional<std::string> user = std::nullopt,
                              std::string password = {}) {
  ProxySettings result;
  result.kind = kind;
  result.host = "proxy.test";
  result.port = kind == ProxyKind::http ? 3128 : 1080;
  result.username = std::move(user);
  result.password = std::move(password);
  return result;
}

inline std::unique_ptr<StreamLayer> make_tunnel(const ProxySettings& proxy, std::string_view host,
                                                std::uint16_t port) {
  auto layer = tunnel_layer(proxy, host, port);
  EXPECT_TRUE(layer.has_value()) << layer.error().message();
  return layer ? std::move(*layer) : nullptr;
}

/// Bytes from a list of values (for SOCKS messages).
inline std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int value : values) out.push_back(static_cast<char>(value));
  return out;
}

}  // namespace ws::proxy::test
