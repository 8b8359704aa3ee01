// The transport-independent heart of a ws::asio::Stream: it owns the
// Connection, the pending operations and the Session queue, and decides
// when to read, write, time out and close. The TCP and TLS transports
// (tcp_engine, tls_engine) only move bytes for it. No Asio here, so the
// logic compiles once, in src/engine.cpp.
//
// Every member except the Session ones runs on the stream's executor.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "ws/asio/options.hpp"
#include "ws/asio/session.hpp"
#include "ws/channels/subscriber_queue.hpp"
#include "ws/connection.hpp"

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

class Engine : public Session, public std::enable_shared_from_this<Engine> {
 public:
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- Session: any thread ----
  bool deliver(const std::shared_ptr<const PreparedMessage>& message) override;
  bool send_text(std::string_view text) override;
  bool send_binary(ByteView data) override;
  std::error_code close(CloseCode code, std::string_view reason) override;
  void abort() override;
  std::uint64_t dropped_count() const noexcept override;

  // ---- Operations: on the executor ----
  /// True while this engine runs its completion handlers (on the executor,
  /// inside pump()): an operation started there may skip the post, since
  /// pump() runs it after the handlers return, and a Session send goes
  /// straight into the Connection.
  bool in_own_handlers() const noexcept;
  void start_accept(AcceptHandler decide, HttpHandler http, CompletionPtr done);
  void start_accept_upgrade(const std::string& request_head, const std::vector<std::byte>& after,
                            const AcceptOptions& options, CompletionPtr done);
  void start_handshake(const std::string& url, const ClientHandshakeOptions& options,
                       CompletionPtr done);
  void start_read(std::string* out, CompletionPtr done);
  void start_write(MessageKind kind, ByteView payload, CompletionPtr done);
  void start_ping(const std::vector<std::byte>& payload, CompletionPtr done);
  void start_close(CloseCode code, const std::string& reason, CompletionPtr done);

  // ---- Accessors: on the executor ----
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

  // ---- For the transport: on the executor ----
  /// Free space in the Connection's input buffer, read straight into it.
  MutableByteView input_space();
  void input_committed(std::size_t n);
  /// Copies bytes read elsewhere; returns how many were taken.
  std::size_t input_offered(ByteView bytes);
  /// The read started by transport_read() ended: with data (no error), at
  /// the end of the stream, or with a transport error.
  void read_finished(std::error_code error, bool end_of_stream);
  /// The bytes to write; output_sent(n) after the first n went to the
  /// layer below, write_finished() when the write started by
  /// transport_write() ended.
  std::span<const OutputBuffer> output();
  void output_sent(std::size_t n);
  void write_finished(std::error_code error);
  /// transport_start() ended (TLS handshake done, or failed).
  void transport_ready(std::error_code error);
  /// transport_shutdown() or transport_abort() closed the socket.
  void transport_closed();
  /// The deadline of the last schedule_timer() call was reached.
  void timer_fired();
  /// Free room in the input buffer (for a transport that reads elsewhere).
  std::size_t input_room();
  /// Runs the engine until nothing more can be done now, then calls the
  /// completed operations' handlers.
  void pump();

 private:
  enum class Phase : std::uint8_t {
    idle,           // no Connection yet
    starting,       // transport_start() in progress (TLS handshake)
    running,        // bytes flow
    shutting_down,  // transport_shutdown()/abort() in progress
    closed,         // the socket is closed
  };
  struct PendingWrite {
    std::uint64_t end = 0;  // written_ once its bytes are out
    CompletionPtr done;
  };
  struct CloseRequest {
    CloseCode code = CloseCode::normal;
    std::string reason;
  };

  // ---- Transport hooks ----
  virtual void transport_start(Role role, const std::string& host) = 0;
  virtual void transport_read() = 0;
  virtual void transport_write() = 0;
  virtual void transport_shutdown(bool peer_ended) = 0;
  virtual void transport_abort() = 0;
  virtual void schedule_timer(std::optional<TimePoint> when) = 0;
  /// Any thread: run pump() on the executor soon.
  virtual void post_pump() = 0;

  void begin(Connection connection, CompletionPtr done);
  void step();
  void apply_requests();
  void process_events();
  void handle(const Event& event);
  void drain_queue();
  bool wants_input();
  void update_timer();
  bool may_release_buffers() const;
  void note_traffic(TimePoint now) noexcept;
  void start_shutdown();
  void fail_transport(std::error_code error);
  void end_channels();
  void finish();
  void complete(CompletionPtr& done, std::error_code error, MessageKind kind = {});
  std::error_code end_error() const;
  bool queue_for_session(std::shared_ptr<const PreparedMessage> message);
  bool send_direct(MessageKind kind, ByteView payload);
  bool refuse_send(std::error_code error);
  bool may_send_direct() const;
  void send_one(const PreparedMessage& message);
  void invoke_ready();

  StreamOptions options_;
  std::optional<Connection> connection_;
  Phase phase_ = Phase::idle;
  bool reading_ = false;
  bool writing_ = false;
  bool peer_ended_ = false;
  bool closed_seen_ = false;
  bool paused_ = false;
  bool channels_ended_ = false;
  bool over_limit_handled_ = false;
  bool pumping_ = false;
  bool pump_again_ = false;
  bool read_delivered_ = false;  // a read completed in this round: its handler may add output
  // Input taken in this turn on the executor (StreamOptions::fairness), and
  // whether a pump() was posted to go on after other work had its turn.
  std::size_t turn_bytes_ = 0;
  bool yield_posted_ = false;
  std::error_code transport_error_;
  TimePoint last_write_progress_{};
  // Bytes moved since the Connection's buffers were last released, when the
  // last moved, and whether release_idle_buffers_after has passed since.
  bool buffers_in_use_ = false;
  bool release_due_ = false;
  TimePoint last_traffic_{};
  std::optional<TimePoint> shutdown_deadline_;
  std::uint64_t written_ = 0;
  int rejection_status_ = 0;
  std::error_code handshake_error_;  // why our own answer to the upgrade failed
  std::string host_;                 // client: the URL's host, for TLS SNI
  CloseInfo close_info_;

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

  // Shared with other threads.
  channels::SubscriberQueue queue_;
  std::vector<std::shared_ptr<const PreparedMessage>> batch_;
  std::mutex requests_mutex_;
  std::optional<CloseRequest> close_request_;
  bool close_requested_ = false;  // Session::close() was called (it answers not_open next time)
  bool abort_request_ = false;
  std::atomic<bool> ended_{false};  // the connection is closed: Session::close() fails
};

}  // namespace ws::asio::detail
