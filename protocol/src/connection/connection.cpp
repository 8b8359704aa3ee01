// ws::Connection: construction and the public entry points. The work is in
// connection_receive.cpp, connection_send.cpp and connection_timers.cpp.
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
    : role(role_), config_holder(std::move(config_)), config(*config_holder) {
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
  impl->transition(detail::StateInput::handshake_completed);
  return Connection(std::move(impl));
}

Role Connection::role() const noexcept { return impl_->role; }
State Connection::state() const noexcept { return impl_->state; }
const Config& Connection::config() const noexcept { return impl_->config; }

std::span<const OutputBuffer> Connection::pending_output() { return impl_->output.buffers(); }
std::size_t Connection::pending_output_size() const noexcept { return impl_->output.size(); }
void Connection::consume_output(std::size_t n) noexcept { impl_->output.consume(n); }

void Connection::release_idle_buffers() noexcept {
  Impl& c = *impl_;
  // During the handshake the input may hold a head being parsed or the body
  // of a rejection: nothing is released then.
  if (c.state == State::handshaking) return;
  if (c.input_begin == c.input.size()) {
    c.input.release();
    c.input_begin = 0;
  }
  if (!c.message_open) {  // a message being joined (or decoded) keeps its buffer
    c.message.release();
    c.message_delivered = false;
  }
  if (!c.parked_ready) {
    c.parked.release();
    c.parked_delivered = false;
  }
  c.output.release_if_empty();
  if (c.extension && !c.send_message_open) {
    std::vector<std::byte>().swap(c.extension->encoded);
  }
}

bool Connection::should_close_transport() const noexcept {
  const Impl& c = *impl_;
  if (c.state != State::closed || !c.output.empty()) return false;
  // RFC 6455 7.1.1: after a clean close the server ends the TCP connection
  // first; the client waits for that (or for the close timeout).
  if (c.role == Role::server || c.failed || c.peer_ended) return true;
  return false;
}

}  // namespace ws
