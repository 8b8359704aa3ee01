// ws::memory::DuplexPipe: an in-memory byte transport with two endpoints,
// for tests. Each endpoint writes into the other's inbox and reads from its
// own. Faults can be injected: every read and write can be cut to at most N
// bytes (per direction), and the N-th operation can fail, after which the
// pipe behaves like a broken connection.
//
// Thread safety: none. A pipe and everything driving it belong to one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <system_error>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/output_buffer.hpp"

namespace ws::memory {

/// The two endpoints of a pipe.
enum class Side : std::uint8_t { a, b };

/// The other endpoint.
constexpr Side peer_of(Side side) noexcept { return side == Side::a ? Side::b : Side::a; }

/// What a read or a write did.
///   - bytes: how many bytes moved (0 when nothing was waiting to be read)
///   - end_of_stream: a read found the inbox empty and the peer gone (it
///     shut down its writing, closed, or broke); nothing more will arrive
///   - error: the operation failed (see DuplexPipe for which errors)
struct IoResult {
  std::size_t bytes = 0;
  bool end_of_stream = false;
  std::error_code error{};
};

/// Unlimited chunk size: transfers are not cut.
inline constexpr std::size_t no_cut = std::numeric_limits<std::size_t>::max();

/// The faults a DuplexPipe injects. Cuts of 0 count as 1 (a transfer must
/// move something).
struct PipeFaults {
  /// Every write by A and every read by B moves at most this many bytes.
  std::size_t max_chunk_a_to_b = no_cut;
  /// Every write by B and every read by A moves at most this many bytes.
  std::size_t max_chunk_b_to_a = no_cut;
  /// The 1-based index (counted over reads and writes of both endpoints)
  /// of the operation that fails; 0 means none fails.
  std::size_t fail_operation = 0;
};

class DuplexPipe {
 public:
  using Faults = PipeFaults;

  /// Sets the same cut in both directions and no failure.
  static Faults cut_to(std::size_t max_chunk) noexcept {
    Faults faults;
    faults.max_chunk_a_to_b = max_chunk;
    faults.max_chunk_b_to_a = max_chunk;
    return faults;
  }

  explicit DuplexPipe(const Faults& faults = {});

  /// Appends up to the direction's cut of `bytes` to the peer's inbox and
  /// returns how many it took. One operation. Errors:
  ///   - std::errc::io_error: this is the operation chosen to fail; from now
  ///     on this endpoint is broken and the peer reads end of stream
  ///   - std::errc::not_connected: this endpoint is broken or closed
  ///   - std::errc::broken_pipe: this endpoint shut down its writing
  /// When the peer has closed or broken, the bytes are taken and dropped, as
  /// on a socket whose peer has gone.
  IoResult write(Side from, ByteView bytes);
  /// The same for a scatter-gather list (a Connection's pending_output()):
  /// takes up to the cut from the buffers in order. One operation.
  IoResult write(Side from, std::span<const OutputBuffer> buffers);

  /// Moves up to the direction's cut of waiting bytes into `into`. One
  /// operation. Returns 0 bytes when nothing is waiting, with end_of_stream
  /// set once the peer is gone and the inbox is empty. Errors as write(),
  /// but never broken_pipe.
  IoResult read(Side to, MutableByteView into);

  /// `side` writes no more: the peer reads end of stream after the bytes
  /// already written. Reads on `side` go on. Not an operation.
  void shutdown_write(Side side) noexcept;
  /// `side` is done: it writes no more (as shutdown_write), drops its inbox,
  /// and every later operation on it fails with not_connected. The peer's
  /// writes are dropped from now on. Not an operation.
  void close(Side side) noexcept;

  /// Bytes waiting in `side`'s inbox.
  std::size_t available(Side side) const noexcept;
  /// True when a read on `side` would return bytes, or end of stream that
  /// no read has reported yet. False for a closed or broken endpoint.
  bool has_input(Side side) const noexcept;
  /// True unless `side` was closed or broken.
  bool is_usable(Side side) const noexcept;
  /// True when an injected failure broke `side`.
  bool is_broken(Side side) const noexcept;
  /// True when `side` may still write (not shut down, closed or broken).
  bool can_write(Side side) const noexcept;

  /// How many reads and writes both endpoints made so far (failed ones
  /// included). Run an exchange once to learn its count, then fail each
  /// operation in turn.
  std::size_t operation_count() const noexcept { return operations_; }

  const Faults& faults() const noexcept { return faults_; }
  /// Changes the faults for later operations (the operation count goes on).
  void set_faults(const Faults& faults) noexcept { faults_ = faults; }

 private:
  struct Endpoint {
    std::vector<std::byte> inbox;
    std::size_t inbox_head = 0;  // bytes of inbox already read
    bool write_shut = false;     // no more writes from this endpoint
    bool closed = false;
    bool broken = false;
    bool end_reported = false;  // a read returned end_of_stream
  };

  Endpoint& at(Side side) noexcept { return endpoints_[static_cast<std::size_t>(side)]; }
  const Endpoint& at(Side side) const noexcept {
    return endpoints_[static_cast<std::size_t>(side)];
  }
  std::size_t cut(Side from) const noexcept;
  bool peer_gone(Side side) const noexcept;
  /// Counts one operation; returns the error it must fail with, if any.
  std::error_code begin_operation(Side side) noexcept;

  Faults faults_;
  std::array<Endpoint, 2> endpoints_{};
  std::size_t operations_ = 0;
};

}  // namespace ws::memory
