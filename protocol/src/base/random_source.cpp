#include "ws/base/random_source.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>

#include "base/chacha20.hpp"

namespace ws {
namespace {

// RFC 6455 10.3: masking keys must be unpredictable. They come from a
// ChaCha20 keystream keyed from the system CSPRNG (std::random_device) and
// re-keyed every 4 MiB of output: one std::random_device call costs about
// a microsecond here, more than framing a small message, and drawing a key
// per frame from it made a client's 16-byte sends 14 times slower than
// Beast's (bench/compare, B4).
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
  static constexpr std::uint32_t blocks_per_key = 65536;  // 4 MiB of keystream

  void refill() {
    if (counter_ == blocks_per_key) rekey();
    detail::chacha20_block(key_, counter_++, block_);
    used_ = 0;
  }

  // std::random_device is about 5 KiB in libstdc++: made only to re-key,
  // so a connection does not carry one.
  void rekey() {
    std::random_device device;
    for (std::uint32_t& word : key_.key) word = device();
    for (std::uint32_t& word : key_.nonce) word = device();
    counter_ = 0;
  }

  detail::ChaCha20Key key_{};
  std::uint32_t counter_ = blocks_per_key;  // keyed on first use
  std::array<std::uint8_t, 64> block_{};
  std::size_t used_ = block_.size();
};

}  // namespace

// The generator is made on first use: a server never masks, so its
// connections never allocate one.
RandomSource system_random_source() {
  return [random = std::shared_ptr<BlockRandom>()](MutableByteView out) mutable {
    if (!random) random = std::make_shared<BlockRandom>();
    random->fill(out);
  };
}

}  // namespace ws
