#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <string>

#include "blocking_loop.hpp"
#include "ws/handshake/http_head_parser.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix {

namespace {

// Writes a whole (small) HTTP answer to a socket that may be non-blocking,
// waiting for room at most `timeout` in all (zero: no limit).
void write_answer(int fd, std::string_view text, Duration timeout) {
  const TimePoint deadline = Clock::now() + timeout;
  while (!text.empty()) {
    const ssize_t written = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written >= 0) {
      text.remove_prefix(static_cast<std::size_t>(written));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return;
    int wait = -1;
    if (timeout.count() > 0) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return;
      wait = static_cast<int>(std::min<std::int64_t>(left.count(), INT_MAX));
    }
    pollfd writable{};
    writable.fd = fd;
    writable.events = POLLOUT;
    if (::poll(&writable, 1, wait) < 0 && errno != EINTR) return;
  }
}

std::error_code answer_and_end(int fd, std::string_view answer, std::error_code why,
                               Duration timeout) {
  write_answer(fd, answer, timeout);
  ::shutdown(fd, SHUT_RDWR);
  return why;
}

}  // namespace

std::error_code serve_upgraded(int fd, std::string_view request_head, ByteView bytes_after_head,
                               BlockingHandler& handler, const BlockingOptions& options) {
  // The same steps as Connection::accept_upgrade(head, ...), with the
  // handler's decision in between.
  const Result<HttpHead> head =
      parse_http_head(request_head, HttpHeadKind::request, options.config.http_limits);
  if (!head) {
    return answer_and_end(fd, build_error_response(head.error()), head.error(),
                          options.write_stall_timeout);
  }
  const Result<UpgradeRequest> request = validate_upgrade_request(*head);
  if (!request) {
    return answer_and_end(fd, build_error_response(request.error()), request.error(),
                          options.write_stall_timeout);
  }
  if (options.connections != nullptr && options.connections->shutting_down()) {
    Result<std::string> unavailable = build_rejection_response(503, "shutting down");
    return answer_and_end(fd, *unavailable, errc::rejected_by_application,
                          options.write_stall_timeout);
  }
  const UpgradeDecision decision = handler.on_upgrade(*request, options.accept);
  if (!decision.accept) {
    Result<std::string> rejection =
        build_rejection_response(decision.status, decision.body, decision.headers);
    const std::string answer =
        rejection ? std::move(*rejection) : build_error_response(rejection.error());
    return answer_and_end(fd, answer, errc::rejected_by_application, options.write_stall_timeout);
  }
  Result<Connection> connection =
      Connection::accept_upgrade(*request, bytes_after_head, decision.options, options.config);
  if (!connection) {
    return answer_and_end(fd, build_error_response(connection.error()), connection.error(),
                          options.write_stall_timeout);
  }
  (void)set_nodelay(fd);  // frames are written whole; Nagle would only delay them
  detail::BlockingLoop loop(fd, std::move(*connection), handler, options, options.connections);
  return loop.run();
}

std::error_code serve(int fd, BlockingHandler& handler, const BlockingOptions& options) {
  Result<std::unique_ptr<StreamLayer>> layer = make_stream_layer(options, Role::server, {});
  if (!layer) return layer.error();
  (void)set_nodelay(fd);
  detail::BlockingLoop loop(fd, Connection::server(options.config), handler, options,
                            options.connections, std::move(*layer));
  return loop.run();
}

}  // namespace ws::posix
