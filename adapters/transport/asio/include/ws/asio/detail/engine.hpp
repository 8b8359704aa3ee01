// The transport-independent heart of a ws::asio::Stream: the Asio-style
// operations (accept, handshake, read, write, ping, close) on top of the one
// ws::Driver every transport runs on. The driver owns the Connection, the
// Session and its outbox, backpressure, the write-stall timeout, idle
// release, the fairness budget and the slow-subscriber policy; the engine is
// its Handler and turns its callbacks into completions. The TCP and TLS
// transports (transport.hpp, tls.hpp) only move bytes. No Asio here, so the
// logic compiles once, in src/engine.cpp.
//
// Every member except prepare_*() runs on the stream's executor.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ws/asio/options.hpp"
#include "ws/asio/session.hpp"
#include "ws/connection.hpp"
#include "ws/driver/driver.hpp"

namespace ws::asio::detail {

/// A pending operation's handler with its type erased (completion.hpp makes
/// them). invoke() hands the result to the handler on the handler's own
/// executor; `kind` matters to reads only.
class Completion {
 public:
  virtual ~Completion() = default;
  virtual void invoke(std::error_code error, MessageKind kind) = 0;
  /// As invoke(), for a caller that runs on the I/O executor the handler
  /// was made with: a handler without an executor of its own is called
  /// directly (dispatch would call it inline anyway).
  virtual void invoke_on_io_executor(std::error_code error, MessageKind kind) = 0;
};
using CompletionPtr = std::unique_ptr<Completion>;

class Engine : public std::enable_shared_from_this<Engine> {
 public:
  virtual ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- Preparing: the thread that starts the operation ----
  // They make the driver (and so the Session) at once, so that session() is
  // valid as soon as async_accept or async_handshake returns. An error is
  // reported by the operation's completion.
  std::error_code prepare_accept(AcceptHandler decide, HttpHandler http);
  std::error_code prepare_accept_upgrade(std::string_view request_head, ByteView after,
                                         const AcceptOptions& options);
  std::error_code prepare_handshake(std::string_view url, const ClientHandshakeOptions& options);

  // ---- Operations: on the executor ----
  /// True while this engine runs its completion handlers (on the executor,
  /// inside turn()): an operation started there skips the post, since the
  /// turn runs it after the handler returns.
  bool in_own_handlers() const noexcept;
  /// Starts the transport and the opening handshake prepared before.
  void start_opening(std::error_code prepared, CompletionPtr done);
  void start_read(std::string* out, CompletionPtr done);
  void start_write(MessageKind kind, ByteView payload, CompletionPtr done);
  void start_ping(const std::vector<std::byte>& payload, CompletionPtr done);
  void start_close(CloseCode code, const std::string& reason, CompletionPtr done);
  /// The Stream is gone (the thread that owned it): the session leaves its
  /// channels now, and the connection is dropped on the executor (pending
  /// operations fail with std::errc::operation_canceled).
  void abandon();

  // ---- Accessors: on the executor ----
  /// The driver's session; null before prepare_*().
  SessionPtr session() const;
  bool is_open() const noexcept;
  const CloseInfo& close_info() const noexcept { return close_info_; }
  const UpgradeRequest* request() const noexcept;
  std::string_view subprotocol() const noexcept;
  int rejection_status() const noexcept { return rejection_status_; }
  void set_control_callback(ControlCallback callback) { control_ = std::move(callback); }

  /// What an engine still holds of the application when its execution
  /// context shuts down: handlers of pending operations and callbacks.
  /// Destroyed outside the engine, they break the cycles handlers make
  /// (a handler that owns the Stream that owns the handler).
  struct Orphans {
    std::vector<CompletionPtr> completions;
    AcceptHandler decide;
    HttpHandler http;
    ControlCallback control;
  };
  void orphan_operations(Orphans& into);

 protected:
  explicit Engine(StreamOptions options);

  /// Why transport_read() stopped.
  enum class ReadStop : std::uint8_t {
    waiting,  // a wait (or read) for the socket is pending: it runs a turn
    budget,   // the driver wants no more now (turn budget, pause): maybe more
    full,     // the Connection's input is full
    ended,    // end of stream or an error, told to the driver
  };

  // ---- For the transport: on the executor ----
  Driver& driver() noexcept { return *driver_; }
  /// The peer ended its side of the stream.
  void read_eof();
  /// A read or write failed: the stream is unusable.
  void transport_failed(std::error_code error);
  /// The first n pending bytes went to the layer below.
  void output_written(std::size_t n);
  /// transport_start() ended (TLS handshake done, or failed).
  void transport_ready(std::error_code error);
  /// The socket is closed (after transport_shutdown() or transport_abort()).
  void transport_closed();
  /// The deadline of the last schedule_timer() call was reached.
  void timer_fired();
  /// Runs the driver until nothing more can be done now, then calls the
  /// completed operations' handlers.
  void turn();
  bool shutting_down() const noexcept { return phase_ == Phase::shutting_down; }

 private:
  enum class Phase : std::uint8_t {
    idle,           // not started
    starting,       // transport_start() in progress (TLS handshake)
    running,        // bytes flow
    shutting_down,  // transport_shutdown()/abort() in progress
    closed,         // the socket is closed
  };
  struct PendingWrite {
    std::uint64_t end = 0;  // written_ once its bytes are out
    CompletionPtr done;
  };

  // ---- Transport hooks ----
  virtual void transport_start(Role role, const std::string& host) = 0;
  /// Reads what the driver wants now without blocking (or starts a read).
  virtual ReadStop transport_read() = 0;
  /// Writes the driver's pending output without blocking (or starts a write).
  virtual void transport_write() = 0;
  virtual void transport_shutdown(bool peer_ended) = 0;
  virtual void transport_abort() = 0;
  virtual void schedule_timer(std::optional<TimePoint> when) = 0;
  /// Any thread: run turn() on the executor soon.
  virtual void post_turn() = 0;

  std::error_code make_driver(Connection connection);
  std::shared_ptr<const Handler> make_handler();
  class Waker;
  class Membership;

  void run_once();
  void post_yield();
  void update_hold() noexcept;
  bool wants_events() const noexcept;
  void start_shutdown();
  void finish();
  void complete(CompletionPtr& done, std::error_code error, MessageKind kind = {});
  void invoke_inline(CompletionPtr done, std::error_code error, MessageKind kind);
  void invoke_ready();
  std::error_code end_error() const;

  // ---- Driver callbacks ----
  void on_open();
  void on_message(const Message& message);
  void on_closed(const Closed& closed);

  StreamOptions options_;
  // Stands between the driver and StreamOptions::registry, which must
  // outlive the Stream but may die before the engine (handlers still
  // queued on the executor hold it): the Stream's end takes the session out
  // of its channels and detaches it. Declared before the driver, which uses
  // it until it is destroyed.
  std::unique_ptr<Membership> membership_;
  std::optional<Driver> driver_;
  Phase phase_ = Phase::idle;
  bool in_turn_ = false;
  bool again_ = false;         // run the driver once more before returning
  bool yield_posted_ = false;  // a turn cut short waits on the executor
  bool held_ = false;          // the driver holds events (no read pending)
  bool closed_seen_ = false;   // on_close came
  bool finished_ = false;
  bool peer_ended_ = false;
  std::error_code handshake_error_;  // why our own answer to the upgrade failed
  std::error_code transport_error_;
  std::optional<TimePoint> shutdown_deadline_;
  std::uint64_t written_ = 0;
  int rejection_status_ = 0;
  std::string host_;  // client: the URL's host, for TLS SNI
  CloseInfo close_info_;
  std::atomic<bool> abandoned_{false};  // the Stream is gone (any thread)

  AcceptHandler decide_;
  HttpHandler http_;
  ControlCallback control_;
  CompletionPtr handshake_done_;
  CompletionPtr read_done_;
  std::string* read_out_ = nullptr;
  std::deque<PendingWrite> writes_;
  CompletionPtr close_done_;

  struct Ready {
    CompletionPtr done;
    std::error_code error;
    MessageKind kind;
  };
  std::vector<Ready> ready_;
  std::vector<Ready> invoking_;  // ready_ while its handlers run (keeps the capacity)
};

}  // namespace ws::asio::detail
