#include "uring_connection.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>

namespace ws::uring::detail {

namespace {
// iovecs per sendmsg: a burst of small frames in the arena is one buffer
// anyway (OutputQueue joins contiguous frames); prepared messages are one
// each. The rest goes with the next send.
constexpr std::size_t max_iovecs = 64;
// The least a connection keeps of received bytes before it stops receiving.
constexpr std::size_t min_held_limit = 64 * 1024;

std::error_code system_error(int error) { return {error, std::system_category()}; }
}  // namespace

/// Wakes the connection on the loop thread (the loop drops the wake if the
/// connection is gone).
class UringConnection::Waker final : public ws::Waker {
 public:
  explicit Waker(std::shared_ptr<UringLoopCore> loop) : loop_(std::move(loop)) {}
  void wake() noexcept override { loop_->wake(owner_); }
  void attach(std::weak_ptr<UringOwner> owner) { owner_ = std::move(owner); }

 private:
  std::shared_ptr<UringLoopCore> loop_;
  std::weak_ptr<UringOwner> owner_;  // set once, before any session use
};

std::shared_ptr<UringConnection> UringConnection::create(
    std::shared_ptr<UringLoopCore> loop, posix::FileDescriptor socket, Connection connection,
    std::unique_ptr<StreamLayer> layer, std::shared_ptr<const UringEndpoint> endpoint,
    std::shared_ptr<UringConnectionTracker> tracker, std::unique_ptr<ConnectAddress> connect_to) {
  auto result = std::make_shared<UringConnection>(
      std::move(loop), std::move(socket), std::move(connection), std::move(layer),
      std::move(endpoint), std::move(tracker), std::move(connect_to));
  result->waker_->attach(result->weak_from_this());
  return result;
}

UringConnection::UringConnection(std::shared_ptr<UringLoopCore> loop, posix::FileDescriptor socket,
                                 Connection connection, std::unique_ptr<StreamLayer> layer,
                                 std::shared_ptr<const UringEndpoint> endpoint,
                                 std::shared_ptr<UringConnectionTracker> tracker,
                                 std::unique_ptr<ConnectAddress> connect_to)
    : loop_(std::move(loop)),
      socket_(std::move(socket)),
      waker_(std::make_shared<Waker>(loop_)),
      tracker_(std::move(tracker)),
      connect_to_(std::move(connect_to)),
      held_limit_(std::max(endpoint->driver.fairness.bytes_per_turn, min_held_limit)),
      zero_copy_(endpoint->zero_copy_send && loop_->zero_copy_send_supported()) {
  // The options are the endpoint's, shared by its connections.
  driver_.emplace(std::move(connection), endpoint->handler,
                  std::shared_ptr<const DriverOptions>(endpoint, &endpoint->driver), waker_,
                  std::move(layer));
  session_ = driver_->session();
}

// The loop lets go of a connection only after its last completion: nothing
// in the ring reads its output or its msghdr any more. An unfinished driver
// ends its session quietly; the socket closes here.
UringConnection::~UringConnection() = default;

void UringConnection::start() {
  loop_->attach(shared_from_this());
  if (connect_to_) {
    connecting_ = true;
    io_uring_sqe* sqe = loop_->prepare(*this, op_connect);
    io_uring_prep_connect(sqe, socket_.get(), reinterpret_cast<sockaddr*>(&connect_to_->address),
                          connect_to_->length);
  }
  turn();  // starts the clock: the handshake timeout also covers a connect
}

void UringConnection::close_going_away() {
  if (ended_) return;
  driver_->close_going_away();
  turn();
}

void UringConnection::abort(std::error_code why) {
  if (ended_) return;
  driver_->abort(why);
  finish();
}

void UringConnection::on_completion(std::uint8_t op, const io_uring_cqe& cqe) {
  switch (op) {
    case op_receive:
      on_receive(cqe);
      break;
    case op_send:
      on_send(cqe);
      break;
    case op_connect:
      on_connect(cqe);
      break;
    default:  // a cancel's own completion
      break;
  }
}

void UringConnection::on_timer() {
  if (!ended_) loop_->request_turn(*this);
}

void UringConnection::on_wake() {
  if (!ended_) loop_->request_turn(*this);
}

void UringConnection::on_turn() { turn(); }

void UringConnection::on_loop_destroyed() {
  // Every operation came back (the loop waited): no callbacks, the driver
  // ends its session quietly.
  ended_ = true;
  driver_.reset();
  socket_.reset();
  tracker_.reset();
}

// ---- Input ---------------------------------------------------------------------

void UringConnection::on_receive(const io_uring_cqe& cqe) {
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) receive_ = Receive::idle;  // its last completion
  if ((cqe.flags & IORING_CQE_F_BUFFER) != 0) {
    const auto id = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    if (cqe.res > 0 && !ended_) {
      const auto length = static_cast<std::size_t>(cqe.res);
      UringCounters::add(loop_->counters().bytes_received, length);
      take(loop_->buffers().bytes(id, length));
    }
    loop_->buffers().recycle(id);  // the bytes are in the driver or held: back to the kernel
  }
  if (ended_) return;
  if (cqe.res == 0) {
    input_ended_ = true;
    held_eof_ = true;  // handed over once the held bytes are
  } else if (cqe.res < 0) {
    switch (-cqe.res) {
      case ENOBUFS:  // the ring ran dry: the bytes wait in the socket, received again below
        UringCounters::add(loop_->counters().receives_out_of_buffers);
        break;
      case ECANCELED:  // we stopped it
      case EINTR:
      case EAGAIN:
        break;
      default:
        input_ended_ = true;
        held_error_ = system_error(-cqe.res);
        break;
    }
  }
  if (held_eof_ || held_error_) feed_held();
  loop_->request_turn(*this);
}

void UringConnection::take(ByteView bytes) {
  if (held_size() == 0 && driver_->wants_read()) {
    bytes = bytes.subspan(driver_->receive(bytes));
    if (bytes.empty()) return;
  }
  // Kept, behind what is kept already.
  if (held_begin_ > 0) {
    held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(held_begin_));
    held_begin_ = 0;
  }
  held_.insert(held_.end(), bytes.begin(), bytes.end());
  UringCounters::add(loop_->counters().bytes_held, bytes.size());
}

void UringConnection::feed_held() {
  while (held_size() > 0 && driver_->wants_read()) {
    const std::size_t taken = driver_->receive(ByteView(held_.data() + held_begin_, held_size()));
    if (taken == 0) break;
    held_begin_ += taken;
  }
  if (held_size() > 0) return;
  held_.clear();
  held_begin_ = 0;
  // What ended the stream comes after its last byte.
  if (held_error_) {
    driver_->transport_failed(std::exchange(held_error_, {}));
  } else if (held_eof_) {
    held_eof_ = false;
    driver_->receive_eof();
  }
}

void UringConnection::update_receive() {
  if (connecting_ || ended_) return;
  const bool wanted = !input_ended_ && driver_->wants_read() && held_size() < held_limit_;
  if (wanted && receive_ == Receive::idle) {
    arm_receive();
  } else if (!wanted && receive_ == Receive::armed) {
    cancel_receive();
  }
}

void UringConnection::arm_receive() {
  io_uring_sqe* sqe = loop_->prepare(*this, op_receive);
  io_uring_prep_recv_multishot(sqe, socket_.get(), nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = loop_->buffers().group();
  receive_ = Receive::armed;
  UringCounters::add(loop_->counters().receives_armed);
}

void UringConnection::cancel_receive() {
  // Bytes may still complete before the cancel lands; they are held. A new
  // receive starts only after this one's last completion.
  io_uring_sqe* sqe = loop_->prepare(*this, op_cancel);
  io_uring_prep_cancel64(sqe, loop_->user_data(*this, op_receive), 0);
  receive_ = Receive::cancelling;
}

// ---- Output --------------------------------------------------------------------

void UringConnection::send_out() {
  if (send_in_flight_ > 0 || connecting_ || ended_) return;
  if (driver_->pending_output_size() == 0) return;
  const std::span<const OutputBuffer> output = driver_->pending_output();
  const std::size_t count = std::min(output.size(), max_iovecs);
  if (!iovecs_) iovecs_ = std::make_unique<iovec[]>(max_iovecs);
  std::size_t offered = 0;
  for (std::size_t i = 0; i < count; ++i) {
    iovecs_[i].iov_base = const_cast<std::byte*>(output[i].data);
    iovecs_[i].iov_len = output[i].size;
    offered += output[i].size;
  }
  // The kernel reads these bytes after this turn; the driver keeps them in
  // place, whatever the application queues meanwhile, until consumed.
  driver_->mark_output_in_flight(offered);
  message_ = msghdr{};
  message_.msg_iov = iovecs_.get();
  message_.msg_iovlen = count;
  io_uring_sqe* sqe = loop_->prepare(*this, op_send);
  // MSG_NOSIGNAL: a peer that is gone gives EPIPE, not SIGPIPE.
  if (zero_copy_) {
    io_uring_prep_sendmsg_zc(sqe, socket_.get(), &message_, MSG_NOSIGNAL);
  } else {
    io_uring_prep_sendmsg(sqe, socket_.get(), &message_, MSG_NOSIGNAL);
  }
  send_in_flight_ = offered;
  UringCounters::add(loop_->counters().sends);
}

void UringConnection::on_send(const io_uring_cqe& cqe) {
  if (zero_copy_) {
    if ((cqe.flags & IORING_CQE_F_NOTIF) != 0) {
      // The kernel no longer reads the bytes: now they may go.
      sent(zero_copy_result_);
      return;
    }
    if ((cqe.flags & IORING_CQE_F_MORE) != 0) {
      zero_copy_result_ = cqe.res;  // its notification follows
      return;
    }
  }
  sent(cqe.res);
}

void UringConnection::sent(int result) {
  send_in_flight_ = 0;
  if (ended_) return;
  if (result >= 0) {
    const auto written = static_cast<std::size_t>(result);
    UringCounters::add(loop_->counters().bytes_sent, written);
    driver_->consume_output(written);
  } else if (result != -EINTR && result != -EAGAIN && result != -ENOBUFS && result != -ECANCELED) {
    driver_->transport_failed(system_error(-result));
  }
  loop_->request_turn(*this);  // the rest, or what was queued meanwhile
}

void UringConnection::on_connect(const io_uring_cqe& cqe) {
  if (ended_) return;
  connect_to_.reset();
  if (cqe.res < 0) {
    driver_->abort(system_error(-cqe.res));
    finish();
    return;
  }
  connecting_ = false;
  posix::set_nodelay(socket_.get());
  loop_->request_turn(*this);
}

// ---- Turns and the end -----------------------------------------------------------

void UringConnection::turn() {
  if (ended_) return;
  feed_held();
  const TimePoint now = loop_->now();
  const Driver::Turn result = driver_->step(now);
  if (driver_->take_buffers_released()) {
    loop_->memory_released();
    release_memory();
  }
  send_out();
  if (driver_->should_close_transport()) {
    finish();
    return;
  }
  update_receive();
  // A turn cut short by the fairness budget, or bytes held that the driver
  // now takes: another turn after the other connections had theirs.
  if (result == Driver::Turn::yield ||
      (held_size() > 0 && driver_->wants_read() && driver_->receive_room() > 0)) {
    loop_->request_turn(*this);
  }
  loop_->schedule(*this, driver_->next_deadline());
}

void UringConnection::finish() {
  if (ended_) return;
  ended_ = true;
  loop_->schedule(*this, std::nullopt);
  // Whatever is still in the ring for this socket (the receive, a send
  // stuck on a peer that does not read, a connect) comes back cancelled;
  // the socket closes and the memory goes after the last completion.
  if (loop_->pending(*this) > 0) {
    io_uring_sqe* sqe = loop_->prepare(*this, op_cancel);
    io_uring_prep_cancel_fd(sqe, socket_.get(), IORING_ASYNC_CANCEL_ALL);
  }
  driver_->transport_closed();  // on_close, if due
  held_.clear();
  held_begin_ = 0;
  // What it held (a TLS layer's buffers above all) goes back to the system
  // with the next trim, as on the epoll loop.
  loop_->memory_released();
  if (tracker_) {
    const std::shared_ptr<UringConnectionTracker> tracker = std::move(tracker_);
    tracker->connection_ended(*this);
  }
  loop_->detach(*this);
}

void UringConnection::release_memory() noexcept {
  if (held_size() == 0) {
    std::vector<std::byte>().swap(held_);
    held_begin_ = 0;
  }
  if (send_in_flight_ == 0) iovecs_.reset();
}

}  // namespace ws::uring::detail
