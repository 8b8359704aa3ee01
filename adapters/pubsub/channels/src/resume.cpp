#include "ws/channels/resume.hpp"

#include "ws/base/base64.hpp"

namespace ws::channels {
namespace {

// JSON string contents for a UTF-8 text: only what JSON requires is escaped,
// so non-ASCII text stays as it is (and as short).
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_position(std::string& out, Position position) {
  out += "\"pos\":\"";
  out += to_string(position);
  out += '"';
}

}  // namespace

std::string message_envelope(Position position, MessageKind kind, ByteView payload) {
  std::string out;
  // The worst case of escaping is rare (control characters); this is the usual size.
  out.reserve(payload.size() + position_text_max + 24);
  out += '{';
  append_position(out, position);
  out += ",\"data\":";
  if (kind == MessageKind::binary) {
    out += '"';
    out += base64_encode(payload);
    out += "\",\"binary\":true";
  } else {
    append_json_string(out, as_text(payload));
  }
  out += '}';
  return out;
}

std::string_view gap_reason_name(GapReason reason) noexcept {
  switch (reason) {
    case GapReason::other_epoch:
      return "other_epoch";
    case GapReason::too_old:
      return "too_old";
    case GapReason::ahead:
      return "ahead";
  }
  return "other_epoch";
}

std::string gap_envelope(const HistoryGap& gap) {
  std::string out = "{\"gap\":{\"reason\":\"";
  out += gap_reason_name(gap.reason);
  out += "\",\"missed\":";
  out += gap.missed ? std::to_string(*gap.missed) : std::string("null");
  out += "},";
  append_position(out, gap.resume_from);
  out += '}';
  return out;
}

std::string live_envelope(Position position) {
  std::string out = "{";
  append_position(out, position);
  out += ",\"live\":true}";
  return out;
}

std::optional<std::string_view> since_parameter(std::string_view target) noexcept {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == resume_query_parameter) {
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace ws::channels
