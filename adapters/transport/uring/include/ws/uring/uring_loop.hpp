// UringLoop: one thread, one io_uring, any number of WebSocket connections
// (ws/uring/uring_server.hpp, ws/uring/uring_client.hpp). The io_uring
// counterpart of ws::posix::EpollLoop, with the same threading contract:
//   - run() drives everything on the thread that calls it: socket I/O,
//     timers and every application callback (ws::Handler). Callbacks never
//     run concurrently with each other.
//   - stop(), post(), stats() and in_loop_thread() may be called from any
//     thread at any time; so may every member of a ws::Session.
//   - Destroy the loop only when run() is not executing. Connections still
//     open then are dropped without a close handshake and without
//     callbacks (their pending operations are cancelled and waited for
//     first); sessions the application still holds report
//     SessionState::closed.
//
// Every loop iteration submits what it prepared and waits in one
// io_uring_enter (io_uring_submit_and_wait); stats() counts them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "ws/config.hpp"

namespace ws::uring {

namespace detail {
class UringLoopCore;
}
class UringServer;
class UringClient;

struct UringLoopOptions {
  /// Submission queue entries (the completion queue gets four times as
  /// many). A loop that fills the queue within one iteration submits early.
  unsigned queue_entries = 1024;
  /// The provided buffers every connection receives into (a ring the loop
  /// owns, registered with the kernel): a power of two, at most 32768.
  /// A buffer is handed back to the kernel as soon as its bytes went to the
  /// connection, so the ring needs to cover only the data that arrives
  /// within one iteration; when it runs dry a receive stops (ENOBUFS) and is
  /// started again once buffers are back.
  unsigned buffer_count = 64;
  /// Bytes per provided buffer. count * size is the loop's read memory
  /// (256 KiB by default, as the epoll loop's read buffer).
  unsigned buffer_size = 4096;
};

/// What the loop did since it was made. For benchmarks: io_uring_enter
/// calls and submissions per message.
struct UringStats {
  /// io_uring_enter calls the loop made (submit, wait or both; an iteration
  /// that neither submits nor waits makes none).
  std::uint64_t enter_calls = 0;
  /// Submission queue entries handed to the kernel.
  std::uint64_t sqes_submitted = 0;
  /// Completions handled.
  std::uint64_t cqes_handled = 0;
  /// Loop iterations (one submit-and-wait each).
  std::uint64_t iterations = 0;
  /// Multishot receives started (the first for each connection, then again
  /// after backpressure, ENOBUFS or the kernel ending one).
  std::uint64_t receives_armed = 0;
  /// Receives the kernel ended because the buffer ring was empty.
  std::uint64_t receives_out_of_buffers = 0;
  /// Sends submitted (one in flight per connection at a time) and bytes
  /// they wrote.
  std::uint64_t sends = 0;
  std::uint64_t bytes_sent = 0;
  /// Bytes received into provided buffers.
  std::uint64_t bytes_received = 0;
  /// Received bytes a connection could not hand to its driver at once
  /// (paused, fairness budget spent) and kept until it could.
  std::uint64_t bytes_held = 0;
  /// Completions whose owner was already gone. Always 0 unless there is a
  /// bug: the loop keeps every owner until its last completion.
  std::uint64_t stale_completions = 0;
};

class UringLoop {
 public:
  /// Sets up the ring, its provided buffers and the wake-up eventfd, after
  /// the checks of probe(). If any of it fails, creation_error() and
  /// creation_message() say why, run() returns the error, and servers and
  /// clients cannot be created on the loop.
  explicit UringLoop(UringLoopOptions options = {});
  /// Precondition: run() is not executing (see the contract above).
  ~UringLoop();
  UringLoop(const UringLoop&) = delete;
  UringLoop& operator=(const UringLoop&) = delete;

  /// Empty when the loop is usable; else probe()'s error (EPERM when
  /// io_uring is refused, ...) or the system error of the setup.
  std::error_code creation_error() const noexcept;
  /// One line: probe()'s message when creation failed, else empty.
  const std::string& creation_message() const noexcept;

  /// Runs on the calling thread until stop(). Returns an empty error_code
  /// after stop(), the error of io_uring_enter that broke it, or the
  /// creation error. Not re-entrant; may be called again after it returned.
  std::error_code run();

  /// Any thread: makes run() return after the callbacks in progress. If
  /// run() is not executing, the next run() returns at once.
  void stop() noexcept;

  /// Any thread: runs `task` on the loop thread, in posting order. Tasks
  /// posted while the loop is not running wait for run(); tasks still queued
  /// when the loop is destroyed are dropped without running.
  void post(std::function<void()> task);

  /// Any thread: runs `task` on the loop thread once `delay` has passed
  /// (counted from this call; never before, perhaps later by one loop
  /// iteration). No cancel: a task that may be void checks that itself.
  /// Dropped without running when the loop is destroyed first.
  void post_after(Duration delay, std::function<void()> task);

  /// True on the thread inside run().
  bool in_loop_thread() const noexcept;

  /// Any thread: the counters so far (each read on its own, so a snapshot
  /// taken while the loop runs may be off by the work in progress).
  UringStats stats() const noexcept;

 private:
  friend class UringServer;
  friend class UringClient;
  std::shared_ptr<detail::UringLoopCore> core_;
};

}  // namespace ws::uring
