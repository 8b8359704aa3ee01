// LoopDriver on an asio::io_context, and the on_asio factory.
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>

#include "engine.hpp"
#include "loop_driver.hpp"
#include "ws/redis/asio_backplane.hpp"

namespace ws::redis {

namespace detail {
namespace {

class AsioIoWatch final : public IoWatch {
 public:
  explicit AsioIoWatch(asio::io_context& io) : io_(io) {}
  ~AsioIoWatch() override { unwatch(); }

  void watch(int fd, std::function<void(bool, bool)> on_ready) override {
    unwatch();
    // A fresh state per descriptor: waits left from an earlier one never
    // touch it.
    state_ = std::make_shared<State>(io_);
    std::error_code error;
    state_->descriptor.assign(fd, error);
    state_->on_ready = std::move(on_ready);
    state_->active = !error;
  }

  void set_interest(bool read, bool write) override {
    if (!state_) return;
    state_->read = read;
    state_->write = write;
    arm(state_);
  }

  void unwatch() override {
    if (!state_) return;
    state_->active = false;
    // The descriptor belongs to hiredis, which closes it: give it back
    // (this also cancels the waits in progress).
    if (state_->descriptor.is_open()) (void)state_->descriptor.release();
    state_.reset();
  }

 private:
  struct State {
    explicit State(asio::io_context& io) : descriptor(io) {}
    asio::posix::stream_descriptor descriptor;
    std::function<void(bool, bool)> on_ready;
    bool active = false;
    bool read = false;
    bool write = false;
    bool read_pending = false;
    bool write_pending = false;
  };

  // Level-triggered like epoll: a wait is renewed while its interest lasts.
  static void arm(const std::shared_ptr<State>& state) {
    if (!state->active) return;
    if (state->read && !state->read_pending) {
      state->read_pending = true;
      state->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                   [state](const std::error_code& error) {
                                     state->read_pending = false;
                                     if (error || !state->active || !state->read) return;
                                     state->on_ready(true, false);
                                     arm(state);
                                   });
    }
    if (state->write && !state->write_pending) {
      state->write_pending = true;
      state->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                   [state](const std::error_code& error) {
                                     state->write_pending = false;
                                     if (error || !state->active || !state->write) return;
                                     state->on_ready(false, true);
                                     arm(state);
                                   });
    }
  }

  asio::io_context& io_;
  std::shared_ptr<State> state_;
};

class AsioTimer final : public LoopTimer {
 public:
  explicit AsioTimer(asio::io_context& io) : state_(std::make_shared<State>(io)) {}
  ~AsioTimer() override { cancel(); }

  void arm(std::chrono::milliseconds after, std::function<void()> on_timer) override {
    const std::uint64_t generation = ++state_->generation;
    state_->on_timer = std::move(on_timer);
    state_->timer.expires_after(after);
    state_->timer.async_wait([state = state_, generation](const std::error_code& error) {
      if (error || generation != state->generation) return;
      // Moved out first: the callback may arm the timer again.
      std::function<void()> fire = std::move(state->on_timer);
      state->on_timer = nullptr;
      if (fire) fire();
    });
  }

  void cancel() override {
    ++state_->generation;
    state_->on_timer = nullptr;
    state_->timer.cancel();
  }

 private:
  struct State {
    explicit State(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;
    std::function<void()> on_timer;
    std::uint64_t generation = 0;
  };
  std::shared_ptr<State> state_;
};

class AsioDriver final : public LoopDriver {
 public:
  explicit AsioDriver(asio::io_context& io) : io_(io) {}
  void post(std::function<void()> task) override { asio::post(io_, std::move(task)); }
  std::unique_ptr<IoWatch> make_watch() override { return std::make_unique<AsioIoWatch>(io_); }
  std::unique_ptr<LoopTimer> make_timer() override { return std::make_unique<AsioTimer>(io_); }

 private:
  asio::io_context& io_;
};

}  // namespace
}  // namespace detail

std::unique_ptr<RedisBackplane> on_asio(asio::io_context& io, channels::Registry& registry,
                                        RedisBackplaneOptions options) {
  auto engine = std::make_shared<detail::Engine>(std::make_unique<detail::AsioDriver>(io), registry,
                                                 std::move(options));
  return std::make_unique<RedisBackplane>(registry, std::move(engine), nullptr);
}

}  // namespace ws::redis
