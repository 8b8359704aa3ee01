// Backplane: where a Registry's publishes go. Without one (the default) a
// Registry delivers in-process: nothing to install or start. With a remote
// backplane (ws::redis::RedisBackplane) every publish goes to a broker shared
// by several servers, and each server delivers what the broker hands back to
// its own members, the publishing server included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "ws/base/bytes.hpp"
#include "ws/event.hpp"

namespace ws::channels {

/// Why a publish was not accepted by a backplane.
enum class BackplaneErrc : int {
  unavailable = 1,  // the broker cannot be reached now (policy: reject)
  buffer_full,      // the broker cannot be reached and the outage buffer is full
  dropped,          // the broker cannot be reached; dropped (policy: drop), signalled
  shut_down,        // the backplane is being destroyed
};

const std::error_category& backplane_category() noexcept;
std::error_code make_error_code(BackplaneErrc error) noexcept;

/// What became of one publish.
enum class PublishStatus : std::uint8_t {
  delivered,  // in-process: queued for the local members now
  sent,       // handed to the broker connection; members hear it when it comes back
  buffered,   // the broker is unreachable; kept in the bounded outage buffer
  failed,     // not accepted: see PublishResult::error
};

struct PublishResult {
  PublishStatus status = PublishStatus::failed;
  std::error_code error;             // set exactly when status is failed
  std::size_t local_deliveries = 0;  // members queued now (in-process only)

  bool ok() const noexcept { return status != PublishStatus::failed; }
};

/// A channel transport shared by several Registries (usually in several
/// processes). Implementations are thread-safe: the Registry calls them from
/// any thread.
///
/// subscribe/unsubscribe are called with the Registry's lock held, in the
/// order the channel gains its first member and loses its last one; publish
/// is called with the lock held shared. None may call back into the
/// Registry on the calling thread, and none may block on I/O. Messages the
/// broker hands back go to Registry::deliver_local (from any other thread).
class Backplane {
 public:
  virtual ~Backplane() = default;

  /// Sends `payload` to the members of `channel` on every node, this one
  /// included. Each member hears it once, in the order this node published.
  virtual PublishResult publish(std::string_view channel, MessageKind kind, ByteView payload) = 0;
  /// This node now has members in `channel`: start hearing it.
  virtual void subscribe(std::string_view channel) = 0;
  /// This node no longer has members in `channel`.
  virtual void unsubscribe(std::string_view channel) = 0;
};

}  // namespace ws::channels

template <>
struct std::is_error_code_enum<ws::channels::BackplaneErrc> : std::true_type {};
