// BlockingConnectionSet: the live connections of a blocking server, for a
// graceful shutdown (close every connection with 1001 and wait for the close
// handshakes, bounded by a timeout).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "ws/config.hpp"
#include "ws/frame/close_code.hpp"
#include "ws/posix/blocking_session.hpp"

namespace ws::posix {

/// Put a pointer to one in BlockingOptions::connections (it must outlive
/// every connection run with it). A connection is in the set from its
/// on_open until it ends. Thread-safety: every member may be called from
/// any thread.
class BlockingConnectionSet {
 public:
  BlockingConnectionSet() = default;
  BlockingConnectionSet(const BlockingConnectionSet&) = delete;
  BlockingConnectionSet& operator=(const BlockingConnectionSet&) = delete;

  /// Connections open now.
  std::size_t size() const;
  /// True once close_all was called: upgrades are refused with 503 and a
  /// connection that opens anyway is closed at once with 1001.
  bool shutting_down() const;

  /// Starts the close handshake on every open connection with `code` and
  /// `reason`, and waits until they have all ended or `timeout` passed.
  /// Connections still running then are aborted (closed without a
  /// handshake) and waited for, again for at most `timeout`. Returns how
  /// many connections had to be aborted.
  std::size_t close_all(Duration timeout, CloseCode code = CloseCode::going_away,
                        std::string_view reason = {});

  // ---- For the transport running the connections ----
  /// False (and nothing added) once shutting down.
  bool add(const std::shared_ptr<BlockingSession>& session);
  void remove(const BlockingSession* session);

 private:
  bool wait_until_empty(TimePoint deadline);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<const BlockingSession*, std::weak_ptr<BlockingSession>> live_;
  bool shutting_down_ = false;
};

}  // namespace ws::posix
