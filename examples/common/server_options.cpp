#include "common/server_options.hpp"

#include <charconv>

namespace ws::examples {

namespace {
template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc{} && end == text.data() + text.size();
}
}  // namespace

bool parse_common_option(std::vector<std::string_view>& args, std::size_t& index,
                         ServerOptions& options, bool& used, std::string& error) {
  const std::string_view flag = args[index];
  if (flag == "--tls") {
    used = true;
    if (index + 2 >= args.size()) {
      error = "--tls needs CERT and KEY";
      return false;
    }
    options.tls_certificate = std::string(args[index + 1]);
    options.tls_key = std::string(args[index + 2]);
    index += 3;
    return true;
  }
  if (flag == "--http2") {
    used = true;
    options.http2 = true;
    ++index;
    return true;
  }
  used = flag == "--host" || flag == "--port" || flag == "--io" || flag == "--max-message";
  if (!used) return true;
  if (index + 1 >= args.size()) {
    error = std::string(flag) + " needs a value";
    return false;
  }
  const std::string_view value = args[index + 1];
  index += 2;
  if (flag == "--host") {
    if (value.empty()) {
      error = "--host needs a value";
      return false;
    }
    options.host = std::string(value);
  } else if (flag == "--port") {
    if (!parse_number(value, options.port)) {
      error = "--port takes a number from 0 to 65535";
      return false;
    }
  } else if (flag == "--io") {
    if (value == "threads") {
      options.io = Io::threads;
    } else if (value == "epoll") {
      options.io = Io::epoll;
    } else if (value == "uring") {
      options.io = Io::uring;
    } else if (value == "asio") {
      options.io = Io::asio;
    } else {
      error = "--io takes threads, epoll, uring or asio";
      return false;
    }
  } else {
    if (!parse_number(value, options.max_message) || options.max_message == 0) {
      error = "--max-message takes a positive number of bytes";
      return false;
    }
  }
  return true;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  const bool ipv6 = host.find(':') != std::string_view::npos;
  std::string out = ipv6 ? "[" + std::string(host) + "]" : std::string(host);
  return out + ":" + std::to_string(port);
}

}  // namespace ws::examples
