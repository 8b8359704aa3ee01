// A program outside ws that uses it the way a user would: scripts/test builds
// it against an installed ws (find_package), through add_subdirectory and
// through FetchContent.
#include <iostream>
#include <system_error>

#include "ws/base/bytes.hpp"
#include "ws/base/error.hpp"
#include "ws/base/utf8_validator.hpp"

int main() {
  const std::error_code error = ws::make_error_code(ws::errc::invalid_utf8);
  const bool accepts_valid = ws::is_valid_utf8(ws::as_bytes("caf\xc3\xa9"));
  const bool rejects_overlong = !ws::is_valid_utf8(ws::as_bytes("\xc0\xaf"));
  std::cout << error.category().name() << ": " << error.message() << '\n';
  if (error.message().empty() || !accepts_valid || !rejects_overlong) {
    std::cerr << "ws consumer: unexpected result from the library\n";
    return 1;
  }
  return 0;
}
