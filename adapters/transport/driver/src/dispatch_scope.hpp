// Which session's handlers this thread is running, so that a send from
// inside them goes straight into the Connection. Internal.
#pragma once

namespace ws {
class Session;
}

namespace ws::detail {

const Session* dispatching_session() noexcept;

/// Marks this thread as running `session`'s handlers for its lifetime.
class DispatchScope {
 public:
  explicit DispatchScope(const Session* session) noexcept;
  ~DispatchScope();
  DispatchScope(const DispatchScope&) = delete;
  DispatchScope& operator=(const DispatchScope&) = delete;

 private:
  const Session* previous_;
};

}  // namespace ws::detail
