#include <malloc.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "support_detail.hpp"
#include "uring_loop_core.hpp"
#include "ws/uring/support.hpp"
#include "ws/uring/uring_loop.hpp"

namespace ws::uring {

namespace detail {

namespace {

// user_data: slot (32 bits) | generation (24 bits) | operation (8 bits).
// The loop's own operations use the slot below, with a sequence number in
// the generation's place.
constexpr std::uint32_t loop_slot = 0xffffffffU;
constexpr std::uint32_t generation_mask = 0xffffffU;
enum LoopOp : std::uint8_t { loop_wake = 1, loop_timer, loop_timer_remove, loop_cancel_all };

constexpr std::uint64_t encode(std::uint32_t slot, std::uint32_t generation, std::uint8_t op) {
  return (static_cast<std::uint64_t>(slot) << 32) |
         (static_cast<std::uint64_t>(generation & generation_mask) << 8) | op;
}
constexpr std::uint32_t slot_of(std::uint64_t data) {
  return static_cast<std::uint32_t>(data >> 32);
}
constexpr std::uint32_t generation_of(std::uint64_t data) {
  return static_cast<std::uint32_t>(data >> 8) & generation_mask;
}
constexpr std::uint8_t op_of(std::uint64_t data) { return static_cast<std::uint8_t>(data & 0xff); }

// Completions taken from the ring at once (copied out, so handlers may
// submit while the batch is handled).
constexpr unsigned completion_batch = 256;

[[noreturn]] void fatal(const char* what, int error) {
  std::fprintf(stderr, "ws::uring: %s: %s\n", what, std::strerror(error));
  std::abort();
}

}  // namespace

UringStats UringCounters::snapshot() const noexcept {
  UringStats stats;
  stats.enter_calls = enter_calls.load(std::memory_order_relaxed);
  stats.sqes_submitted = sqes_submitted.load(std::memory_order_relaxed);
  stats.cqes_handled = cqes_handled.load(std::memory_order_relaxed);
  stats.iterations = iterations.load(std::memory_order_relaxed);
  stats.receives_armed = receives_armed.load(std::memory_order_relaxed);
  stats.receives_out_of_buffers = receives_out_of_buffers.load(std::memory_order_relaxed);
  stats.sends = sends.load(std::memory_order_relaxed);
  stats.bytes_sent = bytes_sent.load(std::memory_order_relaxed);
  stats.bytes_received = bytes_received.load(std::memory_order_relaxed);
  stats.bytes_held = bytes_held.load(std::memory_order_relaxed);
  stats.stale_completions = stale_completions.load(std::memory_order_relaxed);
  return stats;
}

UringLoopCore::UringLoopCore(const UringLoopOptions& options) {
  const Support support = probe();
  if (!support) {
    creation_error_ = support.error;
    creation_message_ = support.message;
    return;
  }
  zero_copy_send_ = support.zero_copy_send;
  io_uring_params params{};
  // The completion queue is larger than the submission queue: multishot
  // operations post many completions for one entry.
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
  params.cq_entries = std::max(options.queue_entries, 1U) * 4;
  int created = io_uring_queue_init_params(std::max(options.queue_entries, 1U), &ring_, &params);
  if (created == -EINVAL) {
    // A kernel without the optional flags (probe() passed, so it has the rest).
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = std::max(options.queue_entries, 1U) * 4;
    created = io_uring_queue_init_params(std::max(options.queue_entries, 1U), &ring_, &params);
  }
  if (created < 0) {
    const Support failure = setup_failure(-created);
    creation_error_ = failure.error;
    creation_message_ = failure.message;
    return;
  }
  ring_ready_ = true;
  if (const std::error_code error =
          buffers_.setup(ring_, 0, options.buffer_count, options.buffer_size)) {
    creation_error_ = error;
    creation_message_ =
        "io_uring: the provided buffer ring could not be set up: " + error.message();
    return;
  }
  // Blocking on purpose: io_uring reads a non-blocking eventfd with EAGAIN
  // instead of waiting for it.
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC));
  if (!wake_fd_) {
    creation_error_ = posix::last_system_error();
    creation_message_ = "io_uring loop: eventfd: " + creation_error_.message();
    return;
  }
  work_.set_wake_fd(wake_fd_.get());
  completions_.resize(completion_batch);
}

UringLoopCore::~UringLoopCore() {
  if (ring_ready_) {
    buffers_.teardown(ring_);
    io_uring_queue_exit(&ring_);
  }
}

// ---- Any thread ---------------------------------------------------------------

void UringLoopCore::post(std::function<void()> task) {
  work_.post(std::move(task), in_loop_thread());
}

void UringLoopCore::wake(std::weak_ptr<UringOwner> owner) {
  work_.wake(std::move(owner), in_loop_thread());
}

void UringLoopCore::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  if (in_loop_thread()) return;
  work_.signal();
}

// ---- Owners and submissions ------------------------------------------------------

void UringLoopCore::attach(const std::shared_ptr<UringOwner>& owner) {
  std::uint32_t slot = 0;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& entry = slots_[slot];
  entry.owner = owner;
  entry.pending = 0;
  entry.detached = false;
  owner->slot_ = slot;
}

void UringLoopCore::detach(UringOwner& owner) noexcept {
  if (owner.slot_ == UringOwner::no_slot) return;
  Slot& entry = slots_[owner.slot_];
  if (entry.detached) return;
  entry.detached = true;
  finished_.push_back(owner.slot_);
}

std::uint64_t UringLoopCore::user_data(const UringOwner& owner, std::uint8_t op) const noexcept {
  return encode(owner.slot_, slots_[owner.slot_].generation, op);
}

std::uint32_t UringLoopCore::pending(const UringOwner& owner) const noexcept {
  if (owner.slot_ == UringOwner::no_slot) return 0;
  return slots_[owner.slot_].pending;
}

io_uring_sqe* UringLoopCore::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe != nullptr) return sqe;
  // The queue is full within one iteration: submit what is there early.
  const int submitted = submit(0);
  if (submitted < 0 && submitted != -EINTR && submitted != -EBUSY && submitted != -EAGAIN) {
    fatal("submitting a full queue", -submitted);
  }
  sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) fatal("no submission queue entry after submitting", EBUSY);
  return sqe;
}

io_uring_sqe* UringLoopCore::prepare(UringOwner& owner, std::uint8_t op) {
  Slot& entry = slots_[owner.slot_];
  io_uring_sqe* sqe = get_sqe();
  io_uring_sqe_set_data64(sqe, encode(owner.slot_, entry.generation, op));
  ++slots_[owner.slot_].pending;  // get_sqe() may not touch the table, but stay safe
  return sqe;
}

io_uring_sqe* UringLoopCore::prepare_loop(std::uint8_t op, std::uint32_t sequence) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_sqe_set_data64(sqe, encode(loop_slot, sequence, op));
  ++loop_pending_;
  return sqe;
}

int UringLoopCore::submit(unsigned wait_for) {
  const unsigned ready = io_uring_sq_ready(&ring_);
  const int submitted =
      wait_for > 0 ? io_uring_submit_and_wait(&ring_, wait_for) : io_uring_submit(&ring_);
  // liburing enters the kernel when there is something to submit or to
  // wait for (without SQPOLL).
  if (ready > 0 || wait_for > 0) UringCounters::add(counters_.enter_calls);
  if (submitted > 0) {
    UringCounters::add(counters_.sqes_submitted, static_cast<std::uint64_t>(submitted));
  }
  return submitted;
}

void UringLoopCore::request_turn(UringOwner& owner) {
  if (owner.turn_requested_) return;
  owner.turn_requested_ = true;
  turns_.push_back(&owner);
}

void UringLoopCore::schedule(UringOwner& owner, std::optional<TimePoint> when) {
  timers_.schedule(owner, when);
}

// ---- The loop ------------------------------------------------------------------------

void UringLoopCore::arm_wake() {
  io_uring_sqe* sqe = prepare_loop(loop_wake, 0);
  io_uring_prep_read(sqe, wake_fd_.get(), &wake_value_, sizeof wake_value_, 0);
  wake_armed_ = true;
}

std::optional<TimePoint> UringLoopCore::next_timer() const {
  std::optional<TimePoint> next = timers_.next();
  if (trim_wanted_ && (!next || last_trim_ + trim_interval < *next)) {
    next = last_trim_ + trim_interval;
  }
  return next;
}

// One timeout in the ring for the earliest deadline: a later deadline
// leaves it (it fires early and the loop asks again), an earlier one
// replaces it.
void UringLoopCore::arm_timer() {
  const std::optional<TimePoint> next = next_timer();
  if (!next || (timer_armed_ && *timer_armed_ <= *next)) return;
  if (timer_armed_) {
    io_uring_sqe* remove = prepare_loop(loop_timer_remove, 0);
    io_uring_prep_timeout_remove(remove, encode(loop_slot, timer_sequence_, loop_timer), 0);
  }
  timer_sequence_ = (timer_sequence_ + 1) & generation_mask;
  // An absolute CLOCK_MONOTONIC time: steady_clock's clock on Linux.
  const auto since_epoch = next->time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  timer_time_.tv_sec = seconds.count();
  timer_time_.tv_nsec =
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds).count();
  io_uring_sqe* sqe = prepare_loop(loop_timer, timer_sequence_);
  io_uring_prep_timeout(sqe, &timer_time_, 0, IORING_TIMEOUT_ABS);
  timer_armed_ = next;
}

bool UringLoopCore::has_local_work() const {
  if (work_.has_local() || !turns_.empty()) return true;
  if (stop_requested_.load(std::memory_order_acquire)) return true;
  const std::optional<TimePoint> next = next_timer();
  return next && *next <= Clock::now();
}

bool UringLoopCore::handle_loop_completion(const io_uring_cqe& cqe) {
  --loop_pending_;
  switch (op_of(cqe.user_data)) {
    case loop_wake:
      wake_armed_ = false;
      return true;
    case loop_timer:
      if (generation_of(cqe.user_data) == timer_sequence_) timer_armed_.reset();
      return false;
    default:
      return false;
  }
}

void UringLoopCore::handle_owner_completion(const io_uring_cqe& cqe) {
  const std::uint32_t slot = slot_of(cqe.user_data);
  if (slot >= slots_.size() || !slots_[slot].owner ||
      (slots_[slot].generation & generation_mask) != generation_of(cqe.user_data)) {
    UringCounters::add(counters_.stale_completions);
    return;
  }
  // A completion without F_MORE is the operation's last (a multishot that
  // ended, a zero-copy send's notification, any single-shot one).
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) --slots_[slot].pending;
  // The slot keeps the owner alive through the call (the table may grow
  // under it: no reference into it is held).
  UringOwner* owner = slots_[slot].owner.get();
  owner->on_completion(op_of(cqe.user_data), cqe);
}

bool UringLoopCore::handle_completions() {
  bool woken = false;
  // Bounded, so a flood of completions cannot keep the loop from its
  // timers and tasks; the rest are taken next iteration.
  for (unsigned round = 0; round < 16; ++round) {
    std::array<io_uring_cqe*, completion_batch> cqes{};
    const unsigned count = io_uring_peek_batch_cqe(&ring_, cqes.data(), completion_batch);
    if (count == 0) break;
    for (unsigned i = 0; i < count; ++i) completions_[i] = *cqes[i];
    io_uring_cq_advance(&ring_, count);
    UringCounters::add(counters_.cqes_handled, count);
    for (unsigned i = 0; i < count; ++i) {
      const io_uring_cqe& cqe = completions_[i];
      if (slot_of(cqe.user_data) == loop_slot) {
        woken = handle_loop_completion(cqe) || woken;
      } else {
        handle_owner_completion(cqe);
      }
    }
    if (count < completion_batch) break;
  }
  return woken;
}

void UringLoopCore::release_finished() {
  std::vector<std::shared_ptr<UringOwner>> released;
  std::size_t kept = 0;
  for (const std::uint32_t slot : finished_) {
    Slot& entry = slots_[slot];
    // Still in flight, or a turn is due: later.
    if (entry.pending > 0 || (entry.owner && entry.owner->turn_requested_)) {
      finished_[kept++] = slot;
      continue;
    }
    if (!entry.owner) continue;  // released already (listed twice)
    entry.owner->slot_ = UringOwner::no_slot;
    released.push_back(std::move(entry.owner));
    entry.detached = false;
    entry.generation = (entry.generation + 1) & generation_mask;
    free_slots_.push_back(slot);
  }
  finished_.resize(kept);
  released.clear();  // destructors run here, outside the table
}

void UringLoopCore::run_turns() {
  running_turns_.swap(turns_);
  for (UringOwner* owner : running_turns_) {
    owner->turn_requested_ = false;
    owner->on_turn();
  }
  running_turns_.clear();
}

void UringLoopCore::trim_memory() {
  if (!trim_wanted_ || now_ - last_trim_ < trim_interval) return;
  trim_wanted_ = false;
  last_trim_ = now_;
#ifdef __GLIBC__
  // glibc keeps freed pieces in its heap; this hands whole free pages back.
  ::malloc_trim(0);
#endif
}

std::error_code UringLoopCore::run() {
  if (creation_error_) return creation_error_;
  loop_thread_.store(std::this_thread::get_id(), std::memory_order_release);
  now_ = Clock::now();
  std::error_code result;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    if (!wake_armed_) arm_wake();
    const bool busy = has_local_work();
    if (!busy) arm_timer();
    // The iteration's one io_uring_enter: everything prepared since the
    // last one goes in, and it waits for a completion unless work is due.
    const int submitted = submit(busy ? 0 : 1);
    UringCounters::add(counters_.iterations);
    if (submitted < 0 && submitted != -EINTR && submitted != -EBUSY && submitted != -EAGAIN &&
        submitted != -ETIME) {
      result = std::error_code(-submitted, std::system_category());
      break;
    }
    now_ = Clock::now();
    const bool woken = handle_completions();
    timers_.run_due(now_);
    if (woken) work_.run_cross_thread();
    work_.run_local();
    run_turns();
    release_finished();
    trim_memory();
  }
  stop_requested_.store(false, std::memory_order_release);
  loop_thread_.store(std::thread::id{}, std::memory_order_release);
  return result;
}

void UringLoopCore::destroy() {
  work_.close();  // queued tasks may release connections that were never attached
  turns_.clear();
  if (ring_ready_ && !creation_error_) {
    // The kernel may still read a connection's output or fill a buffer:
    // cancel everything and wait for every operation before any owner
    // lets go of its memory. Completions are counted, not delivered.
    bool pending = loop_pending_ > 0;
    for (const Slot& slot : slots_) pending = pending || slot.pending > 0;
    if (pending) {
      io_uring_sqe* cancel = prepare_loop(loop_cancel_all, 0);
      io_uring_prep_cancel64(cancel, 0, IORING_ASYNC_CANCEL_ANY);
    }
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    while (pending && Clock::now() < deadline) {
      __kernel_timespec wait{};
      wait.tv_nsec = 100 * 1000 * 1000;
      io_uring_cqe* first = nullptr;
      UringCounters::add(counters_.enter_calls);
      (void)io_uring_submit_and_wait_timeout(&ring_, &first, 1, &wait, nullptr);
      unsigned head = 0;
      unsigned count = 0;
      io_uring_cqe* cqe = nullptr;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++count;
        const std::uint32_t slot = slot_of(cqe->user_data);
        if (slot == loop_slot) {
          --loop_pending_;
          if (op_of(cqe->user_data) == loop_wake) wake_armed_ = false;
        } else if (slot < slots_.size() && (cqe->flags & IORING_CQE_F_MORE) == 0 &&
                   slots_[slot].pending > 0) {
          // A provided buffer in it goes back with the ring.
          --slots_[slot].pending;
        }
      }
      io_uring_cq_advance(&ring_, count);
      pending = loop_pending_ > 0;
      for (const Slot& slot : slots_) pending = pending || slot.pending > 0;
    }
  }
  std::vector<std::shared_ptr<UringOwner>> owners;
  owners.reserve(slots_.size());
  for (Slot& slot : slots_) {
    if (slot.owner) owners.push_back(std::move(slot.owner));
  }
  for (const std::shared_ptr<UringOwner>& owner : owners) {
    owner->slot_ = UringOwner::no_slot;
    owner->on_loop_destroyed();
  }
  owners.clear();
  slots_.clear();
  free_slots_.clear();
  finished_.clear();
  timers_.clear();
  if (ring_ready_) {
    buffers_.teardown(ring_);
    io_uring_queue_exit(&ring_);
    ring_ready_ = false;
  }
}

}  // namespace detail

UringLoop::UringLoop(UringLoopOptions options)
    : core_(std::make_shared<detail::UringLoopCore>(options)) {}

UringLoop::~UringLoop() { core_->destroy(); }

std::error_code UringLoop::creation_error() const noexcept { return core_->creation_error(); }

const std::string& UringLoop::creation_message() const noexcept {
  return core_->creation_message();
}

std::error_code UringLoop::run() { return core_->run(); }

void UringLoop::stop() noexcept { core_->stop(); }

void UringLoop::post(std::function<void()> task) { core_->post(std::move(task)); }

namespace {

// post_after()'s timer: an owner with no operations, attached so that the
// loop keeps it alive until it fired (the timer heap holds owners weakly)
// and drops it, unfired, when the loop is destroyed.
class DelayedTask final : public detail::UringOwner {
 public:
  DelayedTask(detail::UringLoopCore& core, std::function<void()> task)
      : core_(core), task_(std::move(task)) {}
  void on_completion(std::uint8_t, const io_uring_cqe&) override {}
  void on_timer() override {
    core_.detach(*this);  // released at the end of this iteration
    const std::function<void()> task = std::move(task_);
    task_ = nullptr;
    if (task) task();
  }
  void on_loop_destroyed() override { task_ = nullptr; }

 private:
  detail::UringLoopCore& core_;
  std::function<void()> task_;
};

}  // namespace

void UringLoop::post_after(Duration delay, std::function<void()> task) {
  const TimePoint when = Clock::now() + delay;
  core_->post(
      [weak = std::weak_ptr<detail::UringLoopCore>(core_), when, task = std::move(task)]() mutable {
        const std::shared_ptr<detail::UringLoopCore> core = weak.lock();
        if (!core) return;
        auto owner = std::make_shared<DelayedTask>(*core, std::move(task));
        core->attach(owner);
        core->schedule(*owner, when);
      });
}

bool UringLoop::in_loop_thread() const noexcept { return core_->in_loop_thread(); }

UringStats UringLoop::stats() const noexcept { return core_->stats(); }

}  // namespace ws::uring
