// ws-idle-memory: what one idle, open server connection holds, for ws,
// Boost.Beast and websocketpp: the object the application keeps plus the
// heap it still holds after the opening handshake, measured by counting
// every byte of operator new that is not yet deleted (malloc_usable_size,
// so allocator rounding is included). Connections are kept in one vector
// reserved up front, so the vector's slots (the objects themselves) count.
// No socket: each library's in-memory transport stands in for it (the
// socket and the adapter's session are not part of the figure).
//
//   ws-idle-memory [--connections 1000]
// The last line, "RESULT key=value ...", is for scripts (scripts/bench).
#include <malloc.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <string_view>
#include <vector>

#include "compare/peer_api.hpp"
#include "ws/connection.hpp"
#include "ws/driver/driver.hpp"

namespace {

std::size_t live_bytes = 0;  // single-threaded tool

void* counted_allocate(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  live_bytes += malloc_usable_size(p);
  return p;
}

void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  live_bytes -= malloc_usable_size(p);
  std::free(p);
}

}  // namespace

void* operator new(std::size_t size) { return counted_allocate(size); }
void* operator new[](std::size_t size) { return counted_allocate(size); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }

namespace {

// One ws server connection through its handshake: the request is read,
// accepted, the 101 written out; then nothing more arrives. With `release`
// it then does what the epoll adapter does with an idle connection: the
// request is freed (the adapter's session keeps its own copy) and so are the
// empty buffers.
bool open_ws(std::vector<ws::Connection>& connections, bool release) {
  ws::Connection& c = connections.emplace_back(ws::Connection::server());
  const std::string_view request = ws_bench::upgrade_request;
  c.receive(ws::as_bytes(request));
  bool opened = false;
  while (std::optional<ws::Event> event = c.next_event()) {
    if (std::holds_alternative<ws::UpgradeRequested>(*event)) {
      if (c.accept()) return false;
    } else if (std::holds_alternative<ws::Opened>(*event)) {
      opened = true;
    }
  }
  std::size_t total = 0;
  for (const ws::OutputBuffer& b : c.pending_output()) total += b.size;
  c.consume_output(total);
  if (release) {
    c.release_request();
    c.release_idle_buffers();
  }
  return c.state() == ws::State::open || opened;
}

// One ws server connection as every transport holds it: a Driver (with its
// Session and outbox) over a Connection, through a real handshake, then idle
// until the driver's idle release ran. The transport's own object (socket,
// registration in its loop) is not counted.
bool open_driver(ws::Driver* place, const std::shared_ptr<const ws::Handler>& handler,
                 const std::shared_ptr<const ws::DriverOptions>& options,
                 const std::shared_ptr<const ws::Config>& config) {
  ws::Driver* driver =
      std::construct_at(place, ws::Connection::server(config), handler, options, nullptr);
  const std::string_view request = ws_bench::upgrade_request;
  driver->receive(ws::as_bytes(request));
  const ws::TimePoint start = ws::Clock::now();
  driver->step(start);
  std::size_t total = 0;
  for (const ws::OutputBuffer& b : driver->pending_output()) total += b.size;
  driver->consume_output(total);
  driver->step(start + options->release_idle_buffers_after + std::chrono::milliseconds(1));
  return driver->opened() && driver->session()->is_open();
}

double per_connection(std::size_t before, std::size_t count) {
  return static_cast<double>(live_bytes - before) / static_cast<double>(count);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string_view(argv[i]) == "--connections")
      count = std::strtoul(argv[i + 1], nullptr, 10);
  }
  if (count == 0) count = 1;

  double ws_figures[2] = {0, 0};  // buffers and request kept; released
  for (int release = 0; release < 2; ++release) {
    std::vector<ws::Connection> connections;
    const std::size_t before = live_bytes;
    connections.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      if (!open_ws(connections, release == 1)) {
        std::fprintf(stderr, "ws-idle-memory: ws handshake failed\n");
        return 1;
      }
    }
    ws_figures[release] = per_connection(before, count);
  }
  const double ws_bytes = ws_figures[1];
  std::printf(
      "ws           sizeof(ws::Connection) %zu; heap per idle connection %.0f bytes "
      "(%.0f before release_request + release_idle_buffers)\n",
      sizeof(ws::Connection), ws_bytes, ws_figures[0]);

  // The driver figure: sizeof(ws::Driver) per connection (the transport
  // holds it) plus everything it and its Connection keep on the heap.
  double driver_figures[2] = {0, 0};  // request kept (the default); not kept
  for (int keep = 1; keep >= 0; --keep) {
    auto handler = std::make_shared<const ws::Handler>();
    auto shared = std::make_shared<ws::DriverOptions>();
    shared->keep_request = keep == 1;
    const std::shared_ptr<const ws::DriverOptions> options = shared;
    // As the epoll server does: one Config for all its connections.
    const auto config = std::make_shared<const ws::Config>(ws::server_config());
    const std::size_t before = live_bytes;
    std::allocator<ws::Driver> allocator;
    ws::Driver* drivers = allocator.allocate(count);
    for (std::size_t i = 0; i < count; ++i) {
      if (!open_driver(drivers + i, handler, options, config)) {
        std::fprintf(stderr, "ws-idle-memory: ws driver handshake failed\n");
        return 1;
      }
    }
    driver_figures[keep] = per_connection(before, count);
    for (std::size_t i = 0; i < count; ++i) std::destroy_at(drivers + i);
    allocator.deallocate(drivers, count);
  }
  std::printf(
      "ws driver    sizeof(ws::Driver) %zu; with its Connection, session and outbox: %.0f bytes "
      "per idle connection (%.0f with the request kept, the default)\n",
      sizeof(ws::Driver), driver_figures[0], driver_figures[1]);

  double peer_bytes[2] = {0, 0};
  const ws_bench::PeerApi* peers[2] = {&ws_bench::beast_api(), &ws_bench::websocketpp_api()};
  for (int p = 0; p < 2; ++p) {
    const std::size_t before = live_bytes;
    std::size_t object_size = 0;
    void* set = peers[p]->idle_open(count, &object_size);
    if (set == nullptr) {
      std::fprintf(stderr, "ws-idle-memory: %s handshake failed\n", peers[p]->name);
      return 1;
    }
    peer_bytes[p] = per_connection(before, count);
    peers[p]->idle_close(set);
    std::printf("%-12s sizeof(connection object) %zu; heap per idle connection %.0f bytes\n",
                peers[p]->name, object_size, peer_bytes[p]);
  }
  std::printf(
      "RESULT ws=%.0f beast=%.0f websocketpp=%.0f ws_unreleased=%.0f ws_driver=%.0f "
      "ws_driver_with_request=%.0f\n",
      ws_bytes, peer_bytes[0], peer_bytes[1], ws_figures[0], driver_figures[0], driver_figures[1]);
  return 0;
}
