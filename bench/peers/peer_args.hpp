// The command line both peer echo servers (beast-echo, websocketpp-echo)
// take: [--port N] [--memory-report] [--tls CERT KEY]. Unknown arguments are
// ignored, as before, so scripts may pass options only ws-echo knows.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

namespace ws_bench {

struct PeerArgs {
  unsigned long port = 0;       // 0: a free port, printed as "listening on"
  bool memory_report = false;   // start a MemoryReport (memory_report.hpp)
  std::string tls_certificate;  // --tls CERT KEY (PEM files): wss://; empty: ws://
  std::string tls_key;
};

inline PeerArgs parse_peer_args(int argc, char** argv) {
  PeerArgs args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      args.port = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--memory-report") {
      args.memory_report = true;
    } else if (arg == "--tls" && i + 2 < argc) {
      args.tls_certificate = argv[++i];
      args.tls_key = argv[++i];
    }
  }
  return args;
}

}  // namespace ws_bench
