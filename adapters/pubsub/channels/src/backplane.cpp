#include "ws/channels/backplane.hpp"

#include <string>

namespace ws::channels {

namespace {

class BackplaneCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ws.backplane"; }
  std::string message(int value) const override {
    switch (static_cast<BackplaneErrc>(value)) {
      case BackplaneErrc::unavailable:
        return "the channel backplane is unavailable";
      case BackplaneErrc::buffer_full:
        return "the channel backplane is unavailable and its outage buffer is full";
      case BackplaneErrc::dropped:
        return "the channel backplane is unavailable; the message was dropped";
      case BackplaneErrc::shut_down:
        return "the channel backplane is shut down";
    }
    return "unknown channel backplane error";
  }
};

}  // namespace

const std::error_category& backplane_category() noexcept {
  static const BackplaneCategory category;
  return category;
}

std::error_code make_error_code(BackplaneErrc error) noexcept {
  return {static_cast<int>(error), backplane_category()};
}

}  // namespace ws::channels
