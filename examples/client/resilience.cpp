#include "resilience.hpp"

#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/resilient_client.hpp"
#if WS_CLIENT_HAVE_URING
#include "ws/uring/resilient_client.hpp"
#include "ws/uring/uring_loop.hpp"
#endif
#if WS_CLIENT_HAVE_ASIO
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "ws/asio/client.hpp"
#endif

namespace ws_client {
namespace {

// Standard-input lines on their way out. A line leaves the queue once a
// session took it (Session::send_text returned no error); while there is
// none, or it refuses (closing, ended), lines wait for the next on_open.
// A line taken by a connection that then broke before writing it is lost
// with that connection: the client cannot know whether the server got it.
class PendingLines {
 public:
  explicit PendingLines(std::function<void()> finish) : finish_(std::move(finish)) {}

  void open(const ws::SessionPtr& session) {
    std::lock_guard lock(mutex_);
    session_ = session;
    waiting_ = false;
    flush_locked();
  }
  void closed(const ws::SessionPtr& session) {
    std::lock_guard lock(mutex_);
    if (session_ == session) session_.reset();
  }
  void add(std::string line) {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::move(line));
    flush_locked();
  }
  /// The connection was lost and the client waits to try again.
  void waiting() {
    std::lock_guard lock(mutex_);
    waiting_ = true;
    if (end_ && lines_.empty() && !finished_) finish_locked();
  }
  /// End of input: close once every line went out. While a connection is
  /// being made, it still is (the first one may be refused, or the server
  /// may close first: that is what the exit status reports), and it closes
  /// once open; only while waiting to reconnect with nothing left to send
  /// does it stop at once.
  void end() {
    std::lock_guard lock(mutex_);
    end_ = true;
    flush_locked();
    if (!finished_ && lines_.empty() && waiting_) finish_locked();
  }

 private:
  void flush_locked() {
    while (session_ && !lines_.empty()) {
      if (session_->send_text(lines_.front())) return;  // closing: the next connection takes it
      lines_.pop_front();
    }
    if (end_ && lines_.empty() && session_ && !finished_) finish_locked();
  }
  void finish_locked() {
    finished_ = true;
    finish_();  // ResilientClient::stop: thread-safe, takes none of our locks
  }

  std::mutex mutex_;
  std::deque<std::string> lines_;
  ws::SessionPtr session_;
  bool end_ = false;
  bool waiting_ = false;  // between a lost connection and the next attempt
  bool finished_ = false;
  std::function<void()> finish_;
};

// The client's stop(), once there is a client.
class Stopper {
 public:
  void set(std::function<void()> stop) {
    std::lock_guard lock(mutex_);
    stop_ = std::move(stop);
  }
  void stop() {
    std::lock_guard lock(mutex_);
    if (stop_) stop_();
  }

 private:
  std::mutex mutex_;
  std::function<void()> stop_;
};

// What the last connection said, for the exit status.
struct LastEnd {
  int rejected_status = 0;
  std::optional<ws::Closed> closed;
  std::string reason;
};

}  // namespace

int run_resilient(const std::string& url, const ws::ClientOptions& options, std::string_view io,
                  const ResilienceArguments& resilience,
                  const std::function<void(const ws::Message&)>& print,
                  const ExitStatus& exit_status) {
  // How the end of input stops the client: set by each branch below before
  // standard input is read. Shared, since the input thread (detached, as
  // it may block in a read forever) can outlive this call.
  const auto stopper = std::make_shared<Stopper>();
  const auto lines = std::make_shared<PendingLines>([stopper] { stopper->stop(); });
  LastEnd last;  // owner thread
  std::optional<ws::GaveUpEvent> gave_up;
  std::function<void()> on_finished;  // the loop's stop, for epoll and uring

  ws::Handler handler;
  handler.on_open = [lines, &last](const ws::SessionPtr& session) {
    last = {};
    lines->open(session);
  };
  handler.on_message = [&print](const ws::SessionPtr&, const ws::Message& message) {
    print(message);
  };
  handler.on_rejected = [&last](const ws::SessionPtr&, const ws::Rejected& rejected) {
    last.rejected_status = rejected.status;
  };
  handler.on_close = [lines, &last](const ws::SessionPtr& session, const ws::Closed& closed) {
    lines->closed(session);
    last.closed = closed;
    last.reason = std::string(closed.reason);
    last.closed->reason = {};  // the view dies with the event
  };
  ws::ResilienceEvents events;
  events.on_redirect = [](std::string_view, std::string_view to, int status) {
    std::fprintf(stderr, "ws-client: following a %d redirect to %.*s\n", status,
                 static_cast<int>(to.size()), to.data());
  };
  events.on_reconnecting = [&last, lines](const ws::ReconnectingEvent& event) {
    std::fprintf(stderr, "ws-client: reconnecting in %.2f s (attempt %u): %s\n",
                 static_cast<double>(event.delay.count()) / 1000.0, event.attempt,
                 ws::describe(event.end).c_str());
    last = {};
    lines->waiting();
  };
  events.on_reconnected = [](const ws::SessionPtr&, std::uint32_t attempt) {
    std::fprintf(stderr, "ws-client: reconnected (attempt %u)\n", attempt);
  };
  events.on_gave_up = [&](const ws::GaveUpEvent& event) {
    gave_up = event;
    if (on_finished) on_finished();
  };

  ws::ResilientOptions settings;
  settings.supervisor.redirects.max_redirects = resilience.max_redirects;
  settings.supervisor.reconnect = resilience.reconnect;

  // Standard input on a thread of its own, as without these options.
  const auto read_input = [lines] {
    std::thread([lines] {
      std::string line;
      while (std::getline(std::cin, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines->add(std::move(line));
      }
      lines->end();
    }).detach();
  };

  if (io == "epoll") {
    ws::posix::EpollLoop loop;
    on_finished = [&loop] { loop.stop(); };
    std::shared_ptr<ws::ResilientClient> client =
        ws::posix::start_resilient(loop, url, handler, events, settings, options);
    stopper->set([client] { client->stop(); });
    read_input();
    const std::error_code run_error = loop.run();
    stopper->set(nullptr);
    client.reset();  // after run(): it owns a timer of the loop
    if (run_error) {
      std::fprintf(stderr, "ws-client: %s\n", run_error.message().c_str());
      return 1;
    }
#if WS_CLIENT_HAVE_URING
  } else if (io == "uring") {
    ws::uring::UringLoop loop;
    if (loop.creation_error()) {
      std::fprintf(stderr, "ws-client: --io uring: %s\n", loop.creation_message().c_str());
      return 1;
    }
    on_finished = [&loop] { loop.stop(); };
    std::shared_ptr<ws::ResilientClient> client =
        ws::uring::start_resilient(loop, url, handler, events, settings, options);
    stopper->set([client] { client->stop(); });
    read_input();
    const std::error_code run_error = loop.run();
    stopper->set(nullptr);
    client.reset();
    if (run_error) {
      std::fprintf(stderr, "ws-client: %s\n", run_error.message().c_str());
      return 1;
    }
#endif
#if WS_CLIENT_HAVE_ASIO
  } else if (io == "asio") {
    ::asio::io_context context;
    // The client keeps work queued while it runs (a connection, a wait);
    // the guard makes that not matter: only on_gave_up stops the context.
    auto work = ::asio::make_work_guard(context);
    on_finished = [&context] { context.stop(); };
    std::shared_ptr<ws::ResilientClient> client =
        ws::asio::start_resilient(context, url, handler, events, settings, options);
    stopper->set([client] { client->stop(); });
    read_input();
    context.run();
    stopper->set(nullptr);
    client.reset();
#endif
  } else {
    ws::posix::BlockingClientOptions blocking;
    static_cast<ws::ClientOptions&>(blocking) = options;
    auto runner = std::make_shared<ws::posix::BlockingResilientClient>(url, handler, events,
                                                                       settings, blocking);
    stopper->set([runner] { runner->stop(); });
    read_input();
    gave_up = runner->run();
    stopper->set(nullptr);
  }
  if (!gave_up) return 1;
  if (gave_up->reason == ws::GiveUpReason::closed_by_application && !last.closed) return 0;
  if (resilience.reconnect && gave_up->reason != ws::GiveUpReason::closed_by_application &&
      gave_up->reason != ws::GiveUpReason::normal_close) {
    std::fprintf(stderr, "ws-client: gave up (%.*s): %s\n",
                 static_cast<int>(ws::describe(gave_up->reason).size()),
                 ws::describe(gave_up->reason).data(), ws::describe(gave_up->end).c_str());
  }
  if (gave_up->error.category() == ws::redirect_category()) {
    std::fprintf(stderr, "ws-client: %s\n", gave_up->error.message().c_str());
    return 1;
  }
  return exit_status(last.rejected_status, last.closed, last.reason,
                     last.closed ? std::error_code{} : gave_up->end.error);
}

}  // namespace ws_client
