#include <malloc.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>

#include "epoll_loop_core.hpp"
#include "ws/posix/epoll_loop.hpp"

namespace ws::posix {

namespace detail {

namespace {
constexpr std::size_t max_events_per_wait = 1024;
// Even with no timer pending the loop wakes now and then; harmless, and it
// keeps a clock jump from stalling anything for long.
constexpr int max_wait_ms = 60 * 60 * 1000;
}  // namespace

std::span<std::byte> EpollLoopCore::read_buffer() {
  if (!read_buffer_) read_buffer_ = std::make_unique_for_overwrite<std::byte[]>(read_buffer_size);
  return {read_buffer_.get(), read_buffer_size};
}

EpollLoopCore::EpollLoopCore()
    : events_(max_events_per_wait), iovecs_(static_cast<std::size_t>(IOV_MAX)) {
  epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd_) {
    creation_error_ = last_system_error();
    return;
  }
  wake_fd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) {
    creation_error_ = last_system_error();
    return;
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // nullptr marks the wake-up eventfd
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &event) != 0) {
    creation_error_ = last_system_error();
    return;
  }
  work_.set_wake_fd(wake_fd_.get());
}

EpollLoopCore::~EpollLoopCore() = default;

void EpollLoopCore::post(std::function<void()> task) {
  work_.post(std::move(task), in_loop_thread());
}

void EpollLoopCore::dispatch(std::function<void()> task) {
  if (in_loop_thread()) {
    task();
  } else {
    post(std::move(task));
  }
}

void EpollLoopCore::wake(std::weak_ptr<EpollWatcher> watcher) {
  work_.wake(std::move(watcher), in_loop_thread());
}

void EpollLoopCore::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  if (in_loop_thread()) return;
  work_.signal();
}

std::error_code EpollLoopCore::add(const std::shared_ptr<EpollWatcher>& watcher, int fd,
                                   std::uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = watcher.get();
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0) return last_system_error();
  watcher->registered_ = true;
  watchers_.emplace(watcher.get(), watcher);
  return {};
}

std::error_code EpollLoopCore::modify(EpollWatcher& watcher, int fd, std::uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = &watcher;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &event) != 0) return last_system_error();
  return {};
}

void EpollLoopCore::remove(EpollWatcher& watcher, int fd) {
  if (!watcher.registered_) return;
  watcher.registered_ = false;
  if (fd >= 0) ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  const auto it = watchers_.find(&watcher);
  if (it == watchers_.end()) return;
  // Events for it may still be in the current batch: keep it alive until the
  // batch is done (run() skips unregistered watchers).
  graveyard_.push_back(std::move(it->second));
  watchers_.erase(it);
}

void EpollLoopCore::schedule(EpollWatcher& watcher, std::optional<TimePoint> when) {
  timers_.schedule(watcher, when);
}

void EpollLoopCore::memory_released() noexcept { trim_wanted_ = true; }

void EpollLoopCore::trim_memory() {
  if (!trim_wanted_ || now_ - last_trim_ < trim_interval) return;
  trim_wanted_ = false;
  last_trim_ = now_;
#ifdef __GLIBC__
  // glibc keeps freed pieces in its heap; this hands whole free pages back
  // (madvise), which is what makes the memory of released idle buffers
  // leave the process's RSS.
  ::malloc_trim(0);
#endif
}

int EpollLoopCore::wait_timeout_ms() const {
  if (work_.has_local()) return 0;
  if (stop_requested_.load(std::memory_order_acquire)) return 0;
  std::optional<TimePoint> next = timers_.next();
  if (trim_wanted_ && (!next || last_trim_ + trim_interval < *next)) {
    next = last_trim_ + trim_interval;
  }
  if (!next) return max_wait_ms;
  const auto left = *next - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  // Round up: waking a little late is fine, waking early spins.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<std::int64_t>(ms, max_wait_ms));
}

void EpollLoopCore::drain_wake_fd() noexcept {
  std::uint64_t count = 0;
  [[maybe_unused]] const ssize_t got = ::read(wake_fd_.get(), &count, sizeof count);
}

std::error_code EpollLoopCore::run() {
  if (creation_error_) return creation_error_;
  loop_thread_.store(std::this_thread::get_id(), std::memory_order_release);
  now_ = Clock::now();
  std::error_code result;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    const int ready = ::epoll_wait(epoll_fd_.get(), events_.data(),
                                   static_cast<int>(events_.size()), wait_timeout_ms());
    if (ready < 0 && errno != EINTR) {
      result = last_system_error();
      break;
    }
    now_ = Clock::now();
    bool woken = false;
    for (int i = 0; i < ready; ++i) {
      const epoll_event& event = events_[static_cast<std::size_t>(i)];
      auto* watcher = static_cast<EpollWatcher*>(event.data.ptr);
      if (watcher == nullptr) {
        drain_wake_fd();
        woken = true;
      } else if (watcher->registered_) {
        watcher->on_events(event.events);
      }
    }
    timers_.run_due(now_);
    if (woken) work_.run_cross_thread();
    work_.run_local();
    graveyard_.clear();
    trim_memory();
  }
  stop_requested_.store(false, std::memory_order_release);
  loop_thread_.store(std::thread::id{}, std::memory_order_release);
  return result;
}

void EpollLoopCore::destroy() {
  work_.close();  // queued tasks may release connections that were never registered
  std::vector<std::shared_ptr<EpollWatcher>> watchers;
  watchers.reserve(watchers_.size());
  for (auto& [raw, watcher] : watchers_) watchers.push_back(watcher);
  for (const std::shared_ptr<EpollWatcher>& watcher : watchers) watcher->on_loop_destroyed();
  watchers.clear();
  watchers_.clear();
  graveyard_.clear();
  timers_.clear();
  epoll_fd_.reset();
}

}  // namespace detail

EpollLoop::EpollLoop() : core_(std::make_shared<detail::EpollLoopCore>()) {}

EpollLoop::~EpollLoop() { core_->destroy(); }

std::error_code EpollLoop::run() { return core_->run(); }

void EpollLoop::stop() noexcept { core_->stop(); }

void EpollLoop::post(std::function<void()> task) { core_->post(std::move(task)); }

bool EpollLoop::in_loop_thread() const noexcept { return core_->in_loop_thread(); }

}  // namespace ws::posix
