// The wire format of resumable channels (docs/resume.md): what a client that
// negotiated the subprotocol resume_subprotocol receives, one JSON object per
// text message. Plain clients never see it: they keep the raw payloads.
//
//   {"pos":"E-S","data":"hello"}            a message (text payload)
//   {"pos":"E-S","data":"aGk=","binary":true}   a message (binary payload, base64)
//   {"gap":{"reason":"too_old","missed":12},"pos":"E-S"}   a gap; go on from pos
//   {"pos":"E-S","live":true}               replay done: live messages follow
//
// "pos" is always the position the client has now reached: it keeps the last
// one it saw and reconnects with ?since=<that pos>. Objects may gain fields
// later (the demo page will add the sender's name and the time); clients
// ignore fields they do not know.
//
// Pure functions, no state: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ws/base/bytes.hpp"
#include "ws/channels/history.hpp"
#include "ws/event.hpp"

namespace ws::channels {

/// The subprotocol (Sec-WebSocket-Protocol) a client offers to receive a
/// channel as envelopes and to resume it. Versioned: a later incompatible
/// format gets a new name, and a server may offer both.
inline constexpr std::string_view resume_subprotocol = "ws.resume.v1";

/// The query parameter that carries the position to resume from:
/// /channel/meeting?since=7302915834422-15.
inline constexpr std::string_view resume_query_parameter = "since";

/// {"pos":"E-S","data":...}: a text payload as a JSON string (it is valid
/// UTF-8, as every text message is; control characters, '"' and '\\' are
/// escaped, everything else is copied), a binary one in base64 with
/// "binary":true.
std::string message_envelope(Position position, MessageKind kind, ByteView payload);

/// {"gap":{"reason":"other_epoch|too_old|ahead","missed":N|null},"pos":"E-S"}
/// with pos = gap.resume_from: the messages after it follow.
std::string gap_envelope(const HistoryGap& gap);

/// {"pos":"E-S","live":true}: everything up to pos was delivered; what
/// follows is live.
std::string live_envelope(Position position);

/// The name a gap reason has on the wire.
std::string_view gap_reason_name(GapReason reason) noexcept;

/// The value of `since` in the query of a request target ("/a?x=1&since=7-3"),
/// undecoded; nullopt when absent. A position never needs percent-encoding.
std::optional<std::string_view> since_parameter(std::string_view target) noexcept;

}  // namespace ws::channels
