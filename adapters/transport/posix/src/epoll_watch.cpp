#include "ws/posix/epoll_watch.hpp"

#include <sys/epoll.h>

#include "epoll_loop_core.hpp"
#include "ws/posix/epoll_loop.hpp"

namespace ws::posix {

namespace detail {

class EpollWatchCore final : public EpollWatcher {
 public:
  explicit EpollWatchCore(std::shared_ptr<EpollLoopCore> loop) : loop_(std::move(loop)) {}

  void on_events(std::uint32_t events) override {
    const std::shared_ptr<EpollWatcher> keep = shared_from_this();
    if (fd_ < 0 || !on_ready_) return;
    const bool failed = (events & (EPOLLHUP | EPOLLERR)) != 0;
    const bool readable = read_ && (failed || (events & EPOLLIN) != 0);
    const bool writable = write_ && ((events & EPOLLERR) != 0 || (events & EPOLLOUT) != 0);
    if (readable || writable) on_ready_(readable, writable);
  }

  void on_timer() override {
    // Moved out first: the callback may set a new timer.
    std::function<void()> fire = std::move(on_timer_);
    on_timer_ = nullptr;
    if (fire) fire();
  }

  void on_loop_destroyed() override {
    in_set_ = false;
    loop_alive_ = false;
  }

  void watch(int fd, EpollWatch::ReadyHandler on_ready) {
    unwatch();
    fd_ = fd;
    on_ready_ = std::move(on_ready);
  }

  std::error_code set_interest(bool read, bool write) {
    read_ = read;
    write_ = write;
    if (fd_ < 0 || !loop_alive_) return {};
    if (!read && !write) {
      // Out of the set: epoll would report a hang-up nobody asked about.
      if (in_set_) loop_->remove(*this, fd_);
      in_set_ = false;
      return {};
    }
    const std::uint32_t events = (read ? EPOLLIN : 0U) | (write ? EPOLLOUT : 0U);
    if (in_set_) return loop_->modify(*this, fd_, events);
    const std::error_code error = loop_->add(shared_from_this(), fd_, events);
    in_set_ = !error;
    return error;
  }

  void unwatch() {
    if (in_set_ && loop_alive_) loop_->remove(*this, fd_);
    in_set_ = false;
    read_ = write_ = false;
    fd_ = -1;  // the handler itself stays until this object dies: it may be running
  }

  void set_timer(std::optional<TimePoint> when, std::function<void()> on_timer) {
    on_timer_ = std::move(on_timer);
    if (!loop_alive_) return;
    if (!when) {
      loop_->schedule(*this, std::nullopt);
      return;
    }
    // schedule() keeps an earlier armed time; a later one must replace it.
    loop_->schedule(*this, std::nullopt);
    loop_->schedule(*this, when);
  }

 private:
  std::shared_ptr<EpollLoopCore> loop_;
  int fd_ = -1;
  bool read_ = false;
  bool write_ = false;
  bool in_set_ = false;
  bool loop_alive_ = true;
  EpollWatch::ReadyHandler on_ready_;
  std::function<void()> on_timer_;
};

}  // namespace detail

EpollWatch::EpollWatch(EpollLoop& loop)
    : core_(std::make_shared<detail::EpollWatchCore>(loop.core_)) {}

EpollWatch::~EpollWatch() {
  core_->unwatch();
  core_->set_timer(std::nullopt, {});
}

void EpollWatch::watch(int fd, ReadyHandler on_ready) { core_->watch(fd, std::move(on_ready)); }

std::error_code EpollWatch::set_interest(bool read, bool write) {
  return core_->set_interest(read, write);
}

void EpollWatch::unwatch() { core_->unwatch(); }

void EpollWatch::set_timer(std::optional<TimePoint> when, std::function<void()> on_timer) {
  core_->set_timer(when, std::move(on_timer));
}

}  // namespace ws::posix
