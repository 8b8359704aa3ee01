// Wraps an Asio completion handler (a callback, use_awaitable's handler,
// ...) into a detail::Completion, so the engine can hold any handler
// without templates.
#pragma once

#include <asio/associated_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/executor_work_guard.hpp>
#include <memory>
#include <system_error>
#include <type_traits>
#include <utility>

#include "ws/asio/detail/engine.hpp"

namespace ws::asio::detail {

/// Keeps the handler's executor busy (so io_context::run does not return
/// while the operation is pending) and calls the handler there: as Asio's
/// own operations do, with void(std::error_code) or, for reads,
/// void(std::error_code, MessageKind).
template <class Handler, class IoExecutor, bool WithKind>
class CompletionFor final : public Completion {
 public:
  CompletionFor(Handler handler, const IoExecutor& io_executor)
      : work_(::asio::get_associated_executor(handler, io_executor)),
        handler_(std::move(handler)),
        same_executor_(work_.get_executor() == io_executor) {}

  void invoke_on_io_executor(std::error_code error, MessageKind kind) override {
    if (!same_executor_) {
      invoke(error, kind);
      return;
    }
    Handler handler(std::move(handler_));
    if constexpr (WithKind) {
      std::move(handler)(error, kind);
    } else {
      (void)kind;
      std::move(handler)(error);
    }
    work_.reset();
  }

  void invoke(std::error_code error, MessageKind kind) override {
    auto executor = work_.get_executor();
    if constexpr (WithKind) {
      ::asio::dispatch(executor, [handler = std::move(handler_), error, kind]() mutable {
        std::move(handler)(error, kind);
      });
    } else {
      (void)kind;
      ::asio::dispatch(executor, [handler = std::move(handler_), error]() mutable {
        std::move(handler)(error);
      });
    }
    work_.reset();
  }

 private:
  ::asio::executor_work_guard<::asio::associated_executor_t<Handler, IoExecutor>> work_;
  Handler handler_;
  bool same_executor_;
};

template <bool WithKind, class Handler, class IoExecutor>
CompletionPtr make_completion(Handler&& handler, const IoExecutor& io_executor) {
  return std::make_unique<CompletionFor<std::decay_t<Handler>, IoExecutor, WithKind>>(
      std::forward<Handler>(handler), io_executor);
}

}  // namespace ws::asio::detail
