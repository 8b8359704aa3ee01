// ws::Connection: construction, the public accessors and the memory of an
// idle connection. The routes are in connection_receive.cpp,
// connection_send.cpp, connection_handshake.cpp, connection_extension.cpp
// and connection_timers.cpp.
#include "connection/connection_impl.hpp"

#include <algorithm>
#include <memory>

namespace ws {

namespace {

std::shared_ptr<const Config> own_copy(const Config& config) {
  auto copy = std::make_shared<Config>(config);
  if (!copy->random) copy->random = system_random_source();
  if (copy->limits.max_buffered_input < 256) copy->limits.max_buffered_input = 256;
  return copy;
}

}  // namespace

Connection::Impl::Impl(Role role_, const Config& config_) : Impl(role_, own_copy(config_)) {}

Connection::Impl::Impl(Role role_, std::shared_ptr<const Config> config_)
    : config_holder(std::move(config_)), config(*config_holder) {
  lifecycle.role = role_;
  short_message_limit = static_cast<std::size_t>(std::min<std::uint64_t>(
      {short_message_limit, config.limits.max_frame_size, config.limits.max_message_size}));
}

void Connection::Impl::random_fill(MutableByteView out) {
  if (config.random) {
    config.random(out);
    return;
  }
  if (!own_random) own_random = std::make_unique<RandomSource>(system_random_source());
  (*own_random)(out);
}

CloseCode close_code_for(std::error_code error) noexcept {
  if (error == errc::invalid_utf8) return CloseCode::invalid_payload;
  if (error == condition::limit_exceeded) return CloseCode::message_too_big;
  if (error == errc::idle_timeout) return CloseCode::going_away;
  return CloseCode::protocol_error;
}

Connection::Connection(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Connection Connection::after_handshake(Role role, const Config& config) {
  auto impl = std::make_unique<Impl>(role, config);
  impl->feed(detail::LifecycleInput::handshake_completed);
  return Connection(std::move(impl));
}

Role Connection::role() const noexcept { return impl_->role(); }
State Connection::state() const noexcept { return impl_->lifecycle.state(); }
const Config& Connection::config() const noexcept { return impl_->config; }

std::span<const OutputBuffer> Connection::pending_output() { return impl_->sender.queue.buffers(); }
std::size_t Connection::pending_output_size() const noexcept { return impl_->sender.queue.size(); }
void Connection::mark_output_in_flight(std::size_t n) noexcept {
  impl_->sender.queue.mark_in_flight(n);
}
void Connection::consume_output(std::size_t n) noexcept { impl_->sender.queue.consume(n); }

void Connection::release_idle_buffers() noexcept {
  Impl& c = *impl_;
  // During the handshake the input may hold a head being parsed or the body
  // of a rejection: nothing is released then.
  if (c.phase() == detail::Phase::handshaking) return;
  c.reader.release_if_drained();
  c.assembler.release_idle();
  c.sender.queue.release_if_empty();
  if (c.extension && !c.sender.message_open) {
    std::vector<std::byte>().swap(c.extension->encoded);
  }
}

bool Connection::should_close_transport() const noexcept {
  const Impl& c = *impl_;
  // RFC 6455 7.1.1: after a clean close the server ends the TCP connection
  // first; the client waits for that (or for the close timeout): the
  // lifecycle is finished for it only then.
  // Over HTTP/2 a rejection's answer is sent by the HTTP/2 layer: the
  // stream may end only once it was taken.
  return c.lifecycle.finished() && c.sender.queue.empty() && !c.stream_answer;
}

}  // namespace ws
