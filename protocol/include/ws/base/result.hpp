// Result<T>: a value of type T or the std::error_code that says why there is
// none. The return type of every fallible ws function that produces a value.
#pragma once

#include <cassert>
#include <cstdlib>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "ws/base/error.hpp"

namespace ws {

/// Holds either a T or a non-empty std::error_code, never both, never
/// neither. Converts implicitly from T, std::error_code and ws::errc, so a
/// function can `return value;` or `return errc::invalid_url;`.
///
/// Reading the value of a Result that holds an error is a precondition
/// violation (asserted in debug builds); test `has_value()` or `error()`
/// first. Thread-safety: that of T.
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, std::error_code>,
                "Result<std::error_code> would be ambiguous");
  static_assert(!std::is_reference_v<T>, "Result holds values, not references");

 public:
  Result(const T& value) : storage_(std::in_place_index<0>, value) {}
  Result(T&& value) : storage_(std::in_place_index<0>, std::move(value)) {}
  /// `error` must be non-empty.
  Result(std::error_code error) noexcept : storage_(std::in_place_index<1>, error) {
    assert(error && "Result built from an empty error_code");
  }
  Result(errc error) noexcept : Result(make_error_code(error)) {}

  bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  /// The error; an empty error_code when the Result holds a value.
  std::error_code error() const noexcept {
    const auto* error = std::get_if<1>(&storage_);
    return error != nullptr ? *error : std::error_code{};
  }

  /// The value. Calling it on an error is a bug: the program aborts (in
  /// every build, so it never reads a value that is not there).
  T& value() & noexcept { return *checked_value(); }
  const T& value() const& noexcept { return *checked_value(); }
  T&& value() && noexcept { return std::move(*checked_value()); }

  T& operator*() & noexcept { return value(); }
  const T& operator*() const& noexcept { return value(); }
  T&& operator*() && noexcept { return std::move(*this).value(); }
  T* operator->() noexcept { return &value(); }
  const T* operator->() const noexcept { return &value(); }

 private:
  T* checked_value() noexcept {
    T* value = std::get_if<0>(&storage_);
    if (value == nullptr) std::abort();
    return value;
  }
  const T* checked_value() const noexcept {
    const T* value = std::get_if<0>(&storage_);
    if (value == nullptr) std::abort();
    return value;
  }

  std::variant<T, std::error_code> storage_;
};

}  // namespace ws
