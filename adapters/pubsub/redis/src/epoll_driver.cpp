#include "epoll_driver.hpp"

#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/epoll_watch.hpp"

namespace ws::redis::detail {

namespace {

class EpollIoWatch final : public IoWatch {
 public:
  explicit EpollIoWatch(posix::EpollLoop& loop) : watch_(loop) {}
  void watch(int fd, std::function<void(bool, bool)> on_ready) override {
    watch_.watch(fd, std::move(on_ready));
  }
  void set_interest(bool read, bool write) override {
    // A failure here leaves the descriptor unwatched; hiredis then notices
    // nothing until the connect timeout (or never, once connected), so it
    // cannot really happen for a descriptor epoll accepted before.
    (void)watch_.set_interest(read, write);
  }
  void unwatch() override { watch_.unwatch(); }

 private:
  posix::EpollWatch watch_;
};

class EpollTimer final : public LoopTimer {
 public:
  explicit EpollTimer(posix::EpollLoop& loop) : watch_(loop) {}
  void arm(std::chrono::milliseconds after, std::function<void()> on_timer) override {
    watch_.set_timer(Clock::now() + after, std::move(on_timer));
  }
  void cancel() override { watch_.set_timer(std::nullopt); }

 private:
  posix::EpollWatch watch_;
};

class EpollDriver final : public LoopDriver {
 public:
  explicit EpollDriver(posix::EpollLoop& loop) : loop_(loop) {}
  void post(std::function<void()> task) override { loop_.post(std::move(task)); }
  std::unique_ptr<IoWatch> make_watch() override { return std::make_unique<EpollIoWatch>(loop_); }
  std::unique_ptr<LoopTimer> make_timer() override { return std::make_unique<EpollTimer>(loop_); }

 private:
  posix::EpollLoop& loop_;
};

}  // namespace

std::unique_ptr<LoopDriver> make_epoll_driver(posix::EpollLoop& loop) {
  return std::make_unique<EpollDriver>(loop);
}

}  // namespace ws::redis::detail
