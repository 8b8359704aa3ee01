// permessage-deflate (RFC 7692) for ws::Connection, with zlib.
//
//   ws::Config config;
//   config.extension = ws::deflate::make_extension();          // both roles
//   auto client = ws::Connection::client("ws://host/", {}, config);
//
// A client offers it; a server accepts a client's offer. Messages are then
// compressed (RSV1 on their first frame) when they are at least
// Options::min_size bytes, and compressed messages from the peer are
// inflated with their size counted against Limits::max_message_size as
// they expand. docs/compression.md gives the memory each setting costs.
//
// Thread safety: the Extension is immutable and may be shared by
// connections on many threads; a session belongs to one connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "ws/connection_state.hpp"
#include "ws/extension/extension.hpp"
#include "ws/message/prepared_message.hpp"

namespace ws::deflate {

/// The extension name in Sec-WebSocket-Extensions.
inline constexpr std::string_view extension_name = "permessage-deflate";

/// What the application wants and allows. Values out of range are clamped.
struct Options {
  /// Largest LZ77 window of this side's compressor, 9..15 (memory: see
  /// docs/compression.md). 8 is raised to 9: zlib cannot make a raw stream
  /// with a 256-byte window, so this side never agrees to compress with 8.
  int max_window_bits = 15;
  /// zlib memLevel of this side's compressor, 1..9.
  int mem_level = 8;
  /// zlib compression level, 0..9.
  int level = 6;
  /// Reset this side's compressor after every message. It saves no memory
  /// (the stream is reset, not freed) and compresses small messages less,
  /// but every message then decodes alone, so a server can share one
  /// compression among subscribers (prepare()). Offered as
  /// client_no_context_takeover by a client, answered as
  /// server_no_context_takeover by a server.
  bool no_context_takeover = false;
  /// Ask the peer to reset its compressor after every message: a client
  /// offers server_no_context_takeover (with a fallback offer without it),
  /// a server answers client_no_context_takeover.
  bool peer_no_context_takeover = false;
  /// Ask the peer to compress with at most this window (8..15; 0: no
  /// request). A client offers server_max_window_bits (with a fallback
  /// offer without it); a server answers client_max_window_bits when the
  /// client offered that parameter.
  int peer_max_window_bits = 0;
  /// Messages shorter than this many bytes (their first piece, for a
  /// streamed message) are sent uncompressed (RSV1 clear).
  std::size_t min_size = 0;
};

/// An agreed parameter set (RFC 7692 7.1), window bits as agreed (15 when
/// the parameter was absent).
struct Parameters {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;

  friend bool operator==(const Parameters&, const Parameters&) = default;
};

/// The extension for Config::extension.
std::shared_ptr<const Extension> make_extension(const Options& options = {});

/// The codec one side uses for an agreed parameter set: it compresses with
/// its own side's window and takeover rule (capped by options) and inflates
/// with the peer's. For tests, fuzzing and benchmarks; a Connection gets
/// its session from the extension. zlib streams are made at first use.
std::unique_ptr<ExtensionSession> make_session(Role role, const Parameters& agreed,
                                               const Options& options = {});

/// A message for many server connections (channels): framed as is, and
/// compressed once without context takeover with options.max_window_bits
/// (level, mem_level as given). A connection that agreed
/// server_no_context_takeover and compresses with that window (its own
/// Options::max_window_bits equal, or both capped by the same agreed
/// server_max_window_bits) sends the compressed bytes, shared by reference;
/// one with context takeover compresses the message for itself; one
/// without permessage-deflate sends the plain frame. If zlib fails, the
/// message has no compressed variant.
std::shared_ptr<const PreparedMessage> prepare(MessageKind kind, ByteView payload,
                                               const Options& options = {});

/// Reads the parameters of one permessage-deflate element (RFC 7692 7):
/// each of the four at most once, no_context_takeover without a value,
/// window bits 8..15 in decimal without leading zeros,
/// server_max_window_bits with a value, client_max_window_bits with a value
/// in a response (`is_response`) and with or without one in an offer.
/// `client_max_window_bits` is set to 0 when present without a value.
/// Errors: errc::invalid_extension_response.
struct ElementParameters {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::optional<int> server_max_window_bits;
  std::optional<int> client_max_window_bits;  // 0: present without a value
};
Result<ElementParameters> parse_parameters(const ExtensionElement& element, bool is_response);

}  // namespace ws::deflate
