// The extension interface of the core (RFC 6455 9): how an extension such
// as permessage-deflate (RFC 7692, target ws::deflate) negotiates in the
// opening handshake and transforms message payloads, without the core
// knowing any compression library.
//
// An application enables an extension by putting an Extension in
// Config::extension. The Connection then
//   - as a client, adds the extension's offers to its request and lets the
//     extension accept or refuse the server's answer (refusal fails the
//     handshake),
//   - as a server, lets the extension pick one of the client's offers and
//     write the response parameters,
// and, when one was agreed, keeps the ExtensionSession it made: frames with
// the session's RSV bit are accepted (on the first frame of a data message
// only) and their messages go through decode(); outgoing messages the
// session chooses go through encode() and carry the bit.
//
// A connection without an agreed extension holds one null pointer for all
// of this and runs exactly the code it ran before.
//
// One extension per connection: the core chains no transforms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/base/result.hpp"
#include "ws/message/message_kind.hpp"

namespace ws {

/// One parameter of an extension element: `name` or `name=value`. The name
/// is lower-cased; a quoted value is unquoted (RFC 6455 9.1 then requires it
/// to be a token).
struct ExtensionParameter {
  std::string name;
  std::optional<std::string> value;

  friend bool operator==(const ExtensionParameter&, const ExtensionParameter&) = default;
};

/// One element of Sec-WebSocket-Extensions: an extension name (lower-cased)
/// and its parameters in the order they were written.
struct ExtensionElement {
  std::string name;
  std::vector<ExtensionParameter> parameters;

  friend bool operator==(const ExtensionElement&, const ExtensionElement&) = default;
};

/// Parses Sec-WebSocket-Extensions field values (one string per field
/// line) into elements, in order (RFC 6455 9.1):
///   extension-list = 1#extension
///   extension      = token *( ";" parameter )
///   parameter      = token [ "=" ( token / quoted-string ) ]
/// Errors: errc::malformed_header for anything else (an empty name, a value
/// that is neither, a quoted value that is not a token once unquoted).
Result<std::vector<ExtensionElement>> parse_extension_list(std::span<const std::string> values);

/// Writes one element back as header text: "name; a; b=10".
std::string format_extension_element(const ExtensionElement& element);

/// What decode() and encode() did with one call.
struct CodecStep {
  std::size_t consumed = 0;  // input bytes used
  std::size_t produced = 0;  // output bytes written
  /// With `last`: the message is complete (all input used, its end
  /// processed, all output written). Otherwise false.
  bool finished = false;
  /// Set when the input cannot be processed: the connection fails with
  /// close_code (1002 for corrupt data unless the extension says otherwise).
  std::error_code error{};
};

/// The per-connection state of an agreed extension: its codec. Made by
/// Extension during the handshake, owned by the Connection, used by its
/// thread only.
class ExtensionSession {
 public:
  virtual ~ExtensionSession() = default;

  /// The RSV bit(s) this extension claims (ReservedBits combination).
  virtual std::uint8_t reserved_bits() const noexcept = 0;

  // ---- receive: messages whose first frame had the bit ----

  /// Transforms the next bytes of a message's payload into `out`. `last`
  /// says that `in` ends the message's payload. The Connection calls again
  /// (with the unused input, or none) until all input is consumed and, with
  /// `last`, until `finished`; every call gets at least one byte of `out`.
  /// A call that neither consumes nor produces must set `error`. The
  /// Connection counts `produced` against Limits::max_message_size as it
  /// goes, so `out` is never larger than what the limit still allows plus
  /// one byte.
  virtual CodecStep decode(ByteView in, MutableByteView out, bool last) = 0;

  // ---- send ----

  /// Whether to transform an outgoing message of this kind whose first
  /// piece is `size` bytes (a threshold, say). Asked once per message.
  virtual bool should_encode(MessageKind kind, std::size_t size) const noexcept = 0;
  /// Appends the transformed form of `in` (the next piece of the message)
  /// to `out`; `last` ends the message. Errors fail the send with the error
  /// (the connection is then unusable for further encoded messages, as the
  /// peer's state can no longer match).
  virtual std::error_code encode(ByteView in, bool last, std::vector<std::byte>& out) = 0;
  /// An upper bound of the bytes encode() may append for `size` input
  /// bytes, so a send can be refused (queue full) before the encoder's
  /// state moves.
  virtual std::size_t max_encoded_size(std::size_t size) const noexcept = 0;
  /// Non-empty when what encode() makes of a whole message depends on that
  /// message alone (no state kept between messages), naming what a peer's
  /// decoder needs: connections whose sessions return the same text can
  /// share one encoding of a message (PreparedMessage::make_with_encoding).
  virtual std::string_view shared_encoding() const noexcept { return {}; }
};

/// What a server agreed to for one offer.
struct ExtensionAgreement {
  /// The response element (name and parameters) for Sec-WebSocket-Extensions.
  ExtensionElement response;
  std::unique_ptr<ExtensionSession> session;
};

/// An extension the application enables: its negotiation in both roles and
/// the session it makes. Shared by all connections made with the same
/// Config; its functions must be safe to call from several threads at once
/// (they read configuration and build new sessions only).
class Extension {
 public:
  virtual ~Extension() = default;

  /// The extension name as it appears in the header, lower case
  /// ("permessage-deflate").
  virtual std::string_view name() const noexcept = 0;

  /// Client: the offers to send, most preferred first (each one element of
  /// this extension). The server takes at most one.
  virtual std::vector<ExtensionElement> client_offers() const = 0;
  /// Client: the server answered with `response` (an element of this
  /// extension). Returns the session, or an error that fails the handshake
  /// (for RFC 7692: an unknown, duplicate or invalid parameter, a value the
  /// offers did not allow).
  virtual Result<std::unique_ptr<ExtensionSession>> client_accept(
      const ExtensionElement& response) const = 0;

  /// Server: the client's offers of this extension, in its order of
  /// preference. Returns the agreement for the first acceptable one, or
  /// nothing to decline them all (the connection opens without it).
  virtual std::optional<ExtensionAgreement> server_accept(
      std::span<const ExtensionElement> offers) const = 0;
};

}  // namespace ws
