#include "ws/base/random_source.hpp"

#include <array>
#include <cstring>
#include <memory>
#include <random>

namespace ws {
namespace {

// RFC 6455 10.3: masking keys must be unpredictable, so they come from the
// system CSPRNG; drawing 256 bytes at a time keeps that to one call per 64
// client frames.
class BlockRandom {
 public:
  void fill(MutableByteView out) {
    std::size_t written = 0;
    while (written < out.size()) {
      if (used_ == block_.size()) refill();
      const std::size_t n = std::min(out.size() - written, block_.size() - used_);
      std::memcpy(out.data() + written, block_.data() + used_, n);
      used_ += n;
      written += n;
    }
  }

 private:
  void refill() {
    for (std::size_t i = 0; i < block_.size(); i += sizeof(unsigned)) {
      const unsigned value = device_();
      std::memcpy(block_.data() + i, &value, sizeof(value));
    }
    used_ = 0;
  }

  std::random_device device_;
  std::array<std::byte, 256> block_{};
  std::size_t used_ = block_.size();
};

}  // namespace

RandomSource system_random_source() {
  auto random = std::make_shared<BlockRandom>();
  return [random](MutableByteView out) { random->fill(out); };
}

}  // namespace ws
