// --tls CERT KEY for the Asio mode of the example servers, which keeps
// asio::ssl (docs/design.md, "TLS as a stream layer", says why).
#pragma once

#include <asio/ssl/context.hpp>
#include <cstdio>
#include <optional>
#include <system_error>

#include "common/server_options.hpp"

namespace ws::examples {

/// Makes `tls` from options.tls_certificate and tls_key when --tls was
/// given. Returns false after printing why on standard error.
inline bool make_asio_server_tls(const ServerOptions& options, const char* tool,
                                 std::optional<::asio::ssl::context>& tls) {
  if (!options.tls_certificate) return true;
  tls.emplace(::asio::ssl::context::tls_server);
  std::error_code error;
  tls->use_certificate_chain_file(*options.tls_certificate, error);
  if (!error) tls->use_private_key_file(*options.tls_key, ::asio::ssl::context::pem, error);
  if (error) {
    std::fprintf(stderr, "%s: cannot use the TLS certificate or key: %s\n", tool,
                 error.message().c_str());
    return false;
  }
  return true;
}

}  // namespace ws::examples
