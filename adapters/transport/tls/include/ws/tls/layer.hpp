// ws::tls: TLS as a ws::StreamLayer, driven through OpenSSL 3 memory BIOs,
// so every transport hosting a ws::Driver (blocking threads, epoll,
// io_uring, memory) speaks wss:// without TLS code of its own.
//
//   ws::tls::ServerSettings settings;
//   settings.certificate_file = "fullchain.pem";
//   settings.private_key_file = "key.pem";
//   std::string why;
//   auto layer = ws::tls::server_layer(settings, &why);
//   if (!layer) { log(layer.error().message(), why); return; }
//   options.stream_layer = *layer;  // DriverOptions
//
// Every context gets: TLS 1.2 at least, no compression, no renegotiation
// (SSL_OP_NO_RENEGOTIATION: a TLS 1.2 peer asking for one gets a
// no_renegotiation warning and nothing changes), and a peer that ends the
// TCP stream without close_notify is an ordinary end of stream
// (SSL_OP_IGNORE_UNEXPECTED_EOF): the WebSocket close handshake says
// whether anything was lost. The server keeps no session cache (resumption
// uses stateless tickets, which cost it no memory).
//
// A layer's bounds, whatever the peer does:
//   input   wire_room() takes wire bytes while fewer than two full records
//           (2 x 18437 bytes) wait undecoded; reading them (read()) makes
//           room again. A peer that floods while nobody reads is stopped.
//   output  write() takes no more once 256 KiB of wire bytes are pending;
//           pending_wire_size() stays below that plus one record.
// write() gathers small pieces (a frame's header and payload) into records
// of up to 16 KiB, so a small message is one record, not two.
//
// Thread safety: a factory is immutable once built and make() may run on
// several threads at once; a layer is used by one thread (its Driver's).
// OpenSSL's error queue is per thread; the layer clears it around its calls.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ws/base/result.hpp"
#include "ws/driver/stream_layer.hpp"
#include "ws/tls/error.hpp"
#include "ws/tls/settings.hpp"

// OpenSSL's handle of one connection, for native_handle().
struct ssl_st;

namespace ws::tls {

/// The layer factory of a TLS server: loads the certificates and keys (the
/// default and every NamedCertificate) and builds the OpenSSL contexts once.
/// Errors: errc::certificate_file, private_key_file, key_mismatch,
/// invalid_alpn, invalid_server_name, context_failed. When `detail` is not
/// null it receives OpenSSL's text and the file concerned (empty on
/// success). The factory makes server layers; make() with Role::client
/// fails with ws::errc::wrong_role.
Result<std::shared_ptr<const StreamLayerFactory>> server_layer(const ServerSettings& settings,
                                                               std::string* detail = nullptr);

/// The layer factory of a TLS client: loads the trusted CAs once. Errors:
/// errc::ca_file, invalid_alpn, context_failed (with `detail` as above).
/// Each make(Role::client, host) sends `host` as SNI (not when it is an IP
/// address literal, RFC 6066 3) and, unless `insecure`, checks the server's
/// certificate for it (DNS name, or IP address for a literal; "[::1]" is
/// taken as ::1); an empty host then fails with errc::missing_host_name.
/// make() with Role::server fails with ws::errc::wrong_role. The client's
/// ClientHello is pending_wire() as soon as the layer is made.
Result<std::shared_ptr<const StreamLayerFactory>> client_layer(const ClientSettings& settings,
                                                               std::string* detail = nullptr);

/// OpenSSL's text for `layer`'s error(): the certificate check's verdict
/// ("certificate has expired", "Hostname mismatch") or the reason of the
/// failure ("wrong version number"). Empty when the layer did not fail or
/// is not a ws::tls layer. Valid until the layer is destroyed.
std::string_view error_detail(const StreamLayer& layer) noexcept;

/// The OpenSSL SSL of a ws::tls layer (null for any other layer), to read
/// what this API does not give (the peer's certificate, the version, the
/// cipher). Changing its state is undefined behaviour for the layer.
ssl_st* native_handle(const StreamLayer& layer) noexcept;

}  // namespace ws::tls
