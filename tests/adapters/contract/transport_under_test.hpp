// What the adapter contract suite needs of a transport: a server and a
// client built on the one driver, whatever moves their bytes. A new
// transport joins the suite with one line in all_transports().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ws/driver/driver.hpp"

namespace ws::contract {

class ServerUnderTest {
 public:
  virtual ~ServerUnderTest() = default;
  virtual std::uint16_t port() const = 0;
  /// Connections the server still holds (handshaking ones included).
  virtual std::size_t connection_count() const = 0;
  /// Graceful shutdown: 1001 to every connection, drops the rest after
  /// `timeout`; returns once all are gone.
  virtual void shutdown(Duration timeout) = 0;
};

class TransportUnderTest {
 public:
  virtual ~TransportUnderTest() = default;
  /// Listens on 127.0.0.1 (a free port). Callbacks run on the transport's
  /// threads.
  virtual std::unique_ptr<ServerUnderTest> serve(const ServerOptions& options, Handler handler) = 0;
  /// Connects to `url`; the session arrives through handler.on_open, a
  /// failure through handler.on_close.
  virtual void connect(const std::string& url, const ClientOptions& options, Handler handler) = 0;
  /// The TLS variants: the client layer raw test clients go through.
  virtual std::shared_ptr<const StreamLayerFactory> client_tls() const { return nullptr; }
};

struct TransportEntry {
  std::string name;
  std::function<std::unique_ptr<TransportUnderTest>()> make;
};

/// Every transport the suite runs against.
const std::vector<TransportEntry>& all_transports();

std::unique_ptr<TransportUnderTest> make_epoll_transport();
std::unique_ptr<TransportUnderTest> make_threads_transport();
/// `inner` with TLS (ws::tls) on both sides: its servers get a server
/// layer, its clients connect to wss:// with a client layer that trusts the
/// test CA, and raw test clients speak TLS (tls_transports.cpp).
std::unique_ptr<TransportUnderTest> with_tls(std::unique_ptr<TransportUnderTest> inner);
/// Built when ws::asio is (WS_CONTRACT_ASIO).
std::unique_ptr<TransportUnderTest> make_asio_transport();
/// Built when ws::uring is (WS_CONTRACT_URING).
std::unique_ptr<TransportUnderTest> make_uring_transport();

}  // namespace ws::contract
