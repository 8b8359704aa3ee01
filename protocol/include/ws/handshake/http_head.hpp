// A parsed HTTP/1.1 head (start line and header fields, RFC 9112 2-5) and
// the lookups the opening handshake needs: case-insensitive field names,
// repeated field lines, comma-separated lists (RFC 9110 5.3, 5.6.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws {

enum class HttpHeadKind { request, response };

/// One header field line. Both views point into the buffer the head was
/// parsed from. The value has its leading and trailing whitespace removed.
struct HttpHeader {
  std::string_view name;
  std::string_view value;
};

/// An owning header field, for headers the application adds to a request or
/// response, or copies it keeps.
struct HeaderField {
  std::string name;
  std::string value;
};

/// The start line and header fields of an HTTP/1.x message.
///
/// Every view points into the buffer the head was parsed from: the
/// HttpHeadParser that produced it (valid while the parser lives and until
/// its reset()), or the text given to parse_http_head().
struct HttpHead {
  HttpHeadKind kind = HttpHeadKind::request;
  std::string_view method;  // requests only, case-sensitive ("GET")
  std::string_view target;  // requests only, as sent ("/chat?room=1")
  int version_major = 1;
  int version_minor = 1;
  int status_code = 0;              // responses only, 100..999
  std::string_view reason;          // responses only, may be empty
  std::vector<HttpHeader> headers;  // in arrival order, repeated lines kept
  /// Bytes of the head including the empty line that ends it. What follows
  /// in the stream (a body, or the first WebSocket frame) starts here.
  std::size_t size = 0;
};

/// ASCII case-insensitive equality (field names, tokens, schemes).
bool ascii_iequals(std::string_view a, std::string_view b) noexcept;

/// The value of the first field line named `name` (case-insensitive).
std::optional<std::string_view> find_header(const HttpHead& head, std::string_view name) noexcept;

/// How many field lines are named `name` (case-insensitive).
std::size_t count_headers(const HttpHead& head, std::string_view name) noexcept;

/// The values of every field line named `name`, in order, as a forward range
/// of std::string_view: `for (std::string_view v : header_values(head, "a"))`.
/// Valid while `head` is; holds `name` as a view, so `name` must outlive it.
class HeaderValues {
 public:
  class iterator {
   public:
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    std::string_view operator*() const noexcept { return current_->value; }
    iterator& operator++() noexcept {
      ++current_;
      skip();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const iterator& other) const noexcept { return current_ == other.current_; }

   private:
    friend class HeaderValues;
    iterator(const HttpHeader* current, const HttpHeader* end, std::string_view name) noexcept
        : current_(current), end_(end), name_(name) {
      skip();
    }
    void skip() noexcept {
      while (current_ != end_ && !ascii_iequals(current_->name, name_)) ++current_;
    }
    const HttpHeader* current_ = nullptr;
    const HttpHeader* end_ = nullptr;
    std::string_view name_;
  };

  HeaderValues(const HttpHead& head, std::string_view name) noexcept
      : begin_(head.headers.data()), end_(head.headers.data() + head.headers.size()), name_(name) {}
  iterator begin() const noexcept { return {begin_, end_, name_}; }
  iterator end() const noexcept { return {end_, end_, name_}; }

 private:
  const HttpHeader* begin_;
  const HttpHeader* end_;
  std::string_view name_;
};

inline HeaderValues header_values(const HttpHead& head, std::string_view name) noexcept {
  return {head, name};
}

/// Reads the elements of a comma-separated list field value (RFC 9110
/// 5.6.1): elements are trimmed of optional whitespace, empty elements are
/// skipped, and a comma inside a quoted-string does not split.
///
///   HttpListReader reader(value);
///   while (auto element = reader.next()) { ... }
class HttpListReader {
 public:
  explicit HttpListReader(std::string_view list) noexcept : rest_(list) {}
  /// The next non-empty element, or std::nullopt at the end of the list.
  std::optional<std::string_view> next() noexcept;

 private:
  std::string_view rest_;
};

/// Whether the list `list` has an element equal to `token`, case-insensitively.
bool list_has_token(std::string_view list, std::string_view token) noexcept;

/// Whether any field line named `name` carries `token` in its comma-separated
/// list, case-insensitively: has_token(head, "connection", "upgrade") is true
/// for "Connection: keep-alive, Upgrade".
bool has_token(const HttpHead& head, std::string_view name, std::string_view token) noexcept;

/// The Content-Length of the message (RFC 9112 6.3): std::nullopt when the
/// field is absent, or when it is not one decimal number (repeated lines must
/// agree). Lets a caller that received a non-101 response find its body.
std::optional<std::uint64_t> content_length(const HttpHead& head) noexcept;

}  // namespace ws
