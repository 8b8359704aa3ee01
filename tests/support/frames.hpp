// Test doubles shared by the protocol tests: raw frame bytes as a peer would
// send them, and events copied out of a Connection so they can be compared
// after the Connection's views have moved on.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ws/connection.hpp"
#include "ws/frame/frame_header.hpp"

namespace ws::test {

using Bytes = std::vector<std::byte>;

Bytes bytes_of(std::string_view text);
Bytes bytes_of(std::initializer_list<unsigned> values);
std::string text_of(ByteView bytes);

struct FrameSpec {
  Opcode opcode = Opcode::binary;
  bool fin = true;
  std::uint8_t reserved_bits = 0;
  std::optional<MaskKey> mask =
      MaskKey{std::byte{0x12}, std::byte{0x34}, std::byte{0x56}, std::byte{0x78}};
};

/// One frame as a peer puts it on the wire (masked when spec.mask is set).
Bytes frame(const FrameSpec& spec, ByteView payload);
/// The header alone of a frame whose payload would be `payload_length` bytes
/// (masked when spec.mask is set), for tests that announce a length and
/// send no payload.
Bytes frame_header(const FrameSpec& spec, std::uint64_t payload_length);
/// A frame from a client (masked with a fixed key).
Bytes client_frame(Opcode opcode, std::string_view payload, bool fin = true);
/// A frame from a server (unmasked).
Bytes server_frame(Opcode opcode, std::string_view payload, bool fin = true);
/// A close payload: two bytes of code and the reason.
Bytes close_payload(std::uint16_t code, std::string_view reason = {});

Bytes concat(std::initializer_list<Bytes> parts);

/// An event with its payload copied out of the Connection.
struct OwnedEvent {
  enum class Type {
    message,
    ping,
    pong,
    closed,
    upgrade_requested,
    opened,
    rejected,
    http_requested
  } type = Type::message;
  MessageKind kind = MessageKind::binary;  // for messages
  Bytes payload;                           // message/ping/pong payload or close reason
  bool is_first = true;
  bool is_last = true;
  CloseCode code = CloseCode::abnormal;  // for closed
  CloseCode sent_code = CloseCode::abnormal;
  std::error_code error;
  int status = 0;           // rejected: the HTTP status
  std::string subprotocol;  // opened: agreed subprotocol; upgrade_requested: the path
  std::vector<std::pair<std::string, std::string>> headers;  // rejected

  std::string text() const { return text_of(payload); }
  friend bool operator==(const OwnedEvent&, const OwnedEvent&) = default;
};
std::ostream& operator<<(std::ostream& out, const OwnedEvent& event);

OwnedEvent own(const Event& event);
/// Pulls every event the connection has now.
std::vector<OwnedEvent> drain(Connection& connection);
/// Feeds all of `bytes` (draining events whenever the input is full) and
/// returns every event that resulted.
std::vector<OwnedEvent> feed(Connection& connection, ByteView bytes);
/// Takes all pending output as one byte string and consumes it.
Bytes take_output(Connection& connection);

/// Parses a byte stream into frames (header + unmasked payload), as a test
/// peer reading what a Connection wrote.
struct ParsedFrame {
  FrameHeader header;
  Bytes payload;
};
std::vector<ParsedFrame> parse_frames(ByteView bytes);

/// A random source that yields the same bytes every run.
RandomSource counting_random_source();

}  // namespace ws::test
