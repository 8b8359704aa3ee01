// Boost.Beast's side of the comparison: websocket::stream over an in-memory
// stream that serves the pre-built bytes (64 KiB pieces at most, as a
// socket read would) and discards what is written. The handshake is real:
// the stream serves an upgrade request to accept(), or answers a client's
// request with a 101. Beast's defaults are kept except auto_fragment, which
// is turned off so that a 64 KiB message is one frame, as in ws.
#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "compare/peer_api.hpp"

namespace ws_bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

net::io_context& io() {
  static net::io_context context;
  return context;
}

// A synchronous stream over memory. Input: a handshake head, then a region
// served in pieces that end on multiples of `chunk`. Output: counted, and
// kept only while a client handshake is under way (to answer it).
class MemoryStream {
 public:
  using executor_type = net::io_context::executor_type;

  MemoryStream() : executor_(io().get_executor()) {}

  executor_type get_executor() noexcept { return executor_; }

  void serve_head(std::string head) {
    head_ = std::move(head);
    head_at_ = 0;
  }
  void serve(const unsigned char* data, std::size_t size, std::size_t chunk) {
    data_ = data;
    size_ = size;
    at_ = 0;
    chunk_ = chunk;
  }
  void answer_client_handshake() { answering_ = true; }
  std::size_t written() const noexcept { return written_; }
  void reset_written() noexcept { written_ = 0; }

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    ec = {};
    if (head_at_ < head_.size()) {
      const std::size_t n =
          net::buffer_copy(buffers, net::buffer(head_.data() + head_at_, head_.size() - head_at_));
      head_at_ += n;
      return n;
    }
    if (at_ >= size_) {
      ec = net::error::eof;
      return 0;
    }
    const std::size_t piece_end = std::min(size_, (at_ / chunk_ + 1) * chunk_);
    const std::size_t n = net::buffer_copy(buffers, net::buffer(data_ + at_, piece_end - at_));
    at_ += n;
    return n;
  }
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, beast::error_code& ec) {
    ec = {};
    const std::size_t n = net::buffer_size(buffers);
    written_ += n;
    for (const net::const_buffer buffer : beast::buffers_range_ref(buffers)) {
      copy_to_sink(buffer.data(), buffer.size());
    }
    if (answering_) {
      const std::size_t old = request_.size();
      request_.resize(old + n);
      net::buffer_copy(net::buffer(request_.data() + old, n), buffers);
      if (request_.find("\r\n\r\n") != std::string::npos) {
        serve_head(switching_protocols_for(request_));
        answering_ = false;
      }
    }
    return n;
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers) {
    beast::error_code ec;
    return write_some(buffers, ec);
  }

 private:
  executor_type executor_;
  std::string head_;
  std::size_t head_at_ = 0;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t at_ = 0;
  std::size_t chunk_ = 65536;
  bool answering_ = false;
  std::string request_;
  std::size_t written_ = 0;
};

// Beast closes the next layer through this customisation point.
[[maybe_unused]] void teardown(beast::role_type, MemoryStream&, beast::error_code& ec) { ec = {}; }

using Stream = websocket::stream<MemoryStream>;

bool accept_into(Stream& stream) {
  stream.next_layer().serve_head(upgrade_request);
  beast::error_code ec;
  stream.accept(ec);
  stream.auto_fragment(false);
  stream.binary(true);
  return !ec;
}

std::unique_ptr<Stream> accepted_server() {
  auto stream = std::make_unique<Stream>();
  if (!accept_into(*stream)) return nullptr;
  return stream;
}

std::unique_ptr<Stream> connected_client() {
  auto stream = std::make_unique<Stream>();
  stream->next_layer().answer_client_handshake();
  beast::error_code ec;
  stream->handshake("localhost", "/bench", ec);
  if (ec) return nullptr;
  stream->auto_fragment(false);
  stream->binary(true);
  return stream;
}

struct Receiver {
  std::unique_ptr<Stream> stream = accepted_server();
  beast::flat_buffer buffer;
};

void* receiver_open() {
  auto receiver = std::make_unique<Receiver>();
  if (!receiver->stream) return nullptr;
  return receiver.release();
}

std::size_t receiver_feed(void* handle, const unsigned char* data, std::size_t size,
                          std::size_t chunk, std::size_t messages) {
  auto& receiver = *static_cast<Receiver*>(handle);
  receiver.stream->next_layer().serve(data, size, chunk);
  std::size_t delivered = 0;
  beast::error_code ec;
  while (delivered < messages) {
    receiver.stream->read(receiver.buffer, ec);
    if (ec) break;
    ++delivered;
    // The caller's use of the message: touch its first byte.
    const auto first = static_cast<const unsigned char*>(receiver.buffer.data().data());
    if (receiver.buffer.size() != 0 && *first == 0xFF) ++delivered;
    receiver.buffer.consume(receiver.buffer.size());
  }
  return delivered;
}

void receiver_close(void* handle) { delete static_cast<Receiver*>(handle); }

void* sender_open(bool client_role) {
  std::unique_ptr<Stream> stream = client_role ? connected_client() : accepted_server();
  if (!stream) return nullptr;
  stream->next_layer().reset_written();
  return stream.release();
}

std::size_t sender_send(void* handle, const unsigned char* payload, std::size_t size,
                        std::size_t count) {
  auto& stream = *static_cast<Stream*>(handle);
  stream.next_layer().reset_written();
  beast::error_code ec;
  for (std::size_t i = 0; i < count; ++i) {
    stream.write(net::buffer(payload, size), ec);
    if (ec) return 0;
  }
  return stream.next_layer().written();
}

void sender_close(void* handle) { delete static_cast<Stream*>(handle); }

struct Fanout {
  std::vector<std::unique_ptr<Stream>> members;
};

void* fanout_open(std::size_t subscribers) {
  auto fanout = std::make_unique<Fanout>();
  for (std::size_t i = 0; i < subscribers; ++i) {
    std::unique_ptr<Stream> stream = accepted_server();
    if (!stream) return nullptr;
    fanout->members.push_back(std::move(stream));
  }
  return fanout.release();
}

// Beast has no pre-framed message: each stream writes the message itself
// (its header built per stream, the payload written from the caller's
// buffer without a copy).
std::size_t fanout_publish(void* handle, const unsigned char* payload, std::size_t size) {
  auto& fanout = *static_cast<Fanout*>(handle);
  std::size_t written = 0;
  beast::error_code ec;
  for (const std::unique_ptr<Stream>& stream : fanout.members) {
    stream->next_layer().reset_written();
    stream->write(net::buffer(payload, size), ec);
    if (ec) return 0;
    written += stream->next_layer().written();
  }
  return written;
}

void fanout_close(void* handle) { delete static_cast<Fanout*>(handle); }

struct IdleSet {
  std::vector<Stream> streams;
};

// The streams sit in one vector, so the heap count covers the objects
// themselves and whatever they allocated.
void* idle_open(std::size_t count, std::size_t* object_size) {
  *object_size = sizeof(Stream);
  auto set = std::make_unique<IdleSet>();
  set->streams.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (!accept_into(set->streams.emplace_back())) return nullptr;
  }
  return set.release();
}

void idle_close(void* handle) { delete static_cast<IdleSet*>(handle); }

}  // namespace

const PeerApi& beast_api() {
  static const PeerApi api{"Beast",        receiver_open, receiver_feed, receiver_close,
                           sender_open,    sender_send,   sender_close,  fanout_open,
                           fanout_publish, fanout_close,  idle_open,     idle_close};
  return api;
}

}  // namespace ws_bench
