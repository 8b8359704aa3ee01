// A WebSocket client on standalone Asio that hosts a ws::Driver, as the
// epoll, io_uring and blocking clients do: it honours ClientOptions::route
// (an HTTP CONNECT or SOCKS5 proxy, ws/driver/client_route.hpp), speaks TLS
// for wss:// through ClientOptions::stream_layer (ws::tls::client_layer),
// and is what ws::ResilientClient connects with on Asio (start_resilient
// below: redirects and reconnection).
//
// It is callback-driven (a ws::Handler), unlike ws::asio::TcpStream and
// TlsStream (ws/asio/stream.hpp), which wrap a socket the application
// connected and are read with async_read.
//
// Threads: every callback of a connection runs on one strand made from the
// executor given to connect(), so they never run concurrently even when
// several threads run the io_context. The returned Session may be used
// from any thread (send, close, abort); its requests are carried out on
// the strand.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "ws/base/result.hpp"
#include "ws/driver/driver.hpp"
#include "ws/driver/handler.hpp"
#include "ws/driver/resilient_client.hpp"
#include "ws/driver/session.hpp"

namespace ws::asio {

/// Starts a connection to `url` (ws:// or wss://) and returns its session
/// at once; the session opens once the upgrade (and a proxy's tunnel, and
/// TLS) succeeded: handler.on_open. The host of the first hop
/// (client_path(): the proxy with options.route, else the URL's host) is
/// resolved with Asio's resolver, off the strand, and the socket connects
/// to its addresses in turn.
///
/// Errors returned (no callback follows): errc::invalid_url (a bad URL, or
/// wss:// without options.stream_layer), the stream layer's and the
/// route's errors. Every later failure ends in handler.on_close, exactly
/// once: a name that does not resolve (Asio's netdb errors), a refused
/// connect (std::errc::connection_refused), a refused upgrade (after
/// on_rejected), a proxy's refusal (the layer's error, the proxy's answer
/// as Closed::reason), errc::handshake_timeout once options.config's
/// handshake_timeout passed since the connection's first turn on its
/// strand, right after connect() (it bounds the resolve, the connect, the
/// tunnel, TLS and the upgrade together). A Session::close() or abort()
/// before the socket is connected ends it too (on_close,
/// std::errc::operation_canceled for a close).
///
/// Lifetime: the connection keeps itself alive until on_close returned;
/// the io_context must run until then (destroying it first drops the
/// connection without on_close).
Result<SessionPtr> connect(const ::asio::any_io_executor& executor, std::string_view url,
                           Handler handler, ClientOptions options = {});

/// The same on `context`'s executor.
inline Result<SessionPtr> connect(::asio::io_context& context, std::string_view url,
                                  Handler handler, ClientOptions options = {}) {
  return connect(context.get_executor(), url, std::move(handler), std::move(options));
}

/// A ws::ResilientClient on Asio: connects to `url` with connect() and
/// keeps connecting as `resilience` says (redirects, reconnection with
/// backoff). Call it from any thread; the first connect is posted. Every
/// callback, event and wait (a steady_timer) runs on one strand of
/// `context`, the client's owner thread in ResilientClient's terms. Each
/// connection uses `options` with the handshake options of its target (a
/// redirect's, credentials dropped across origins). `context` must outlive
/// the client; stop() ends it and on_gave_up follows on the strand.
std::shared_ptr<ResilientClient> start_resilient(::asio::io_context& context, std::string url,
                                                 Handler handler, ResilienceEvents events,
                                                 ResilientOptions resilience,
                                                 ClientOptions options = {});

}  // namespace ws::asio
