// HTTP/1.1 head parsing for the opening handshake (RFC 9112 2-5, RFC 9110
// 5.6.1): bounds, line rules, incremental feeding, lookups.
#include "ws/handshake/http_head_parser.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "support/handshake_text.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace {

using ws::errc;
using ws::HeaderField;
using ws::HttpFeedResult;
using ws::HttpHead;
using ws::HttpHeadKind;
using ws::HttpHeadParser;
using ws::HttpLimits;
using ws::HttpParseState;
using ws::test::head_text;
using ws::test::upgrade_fields;
using ws::test::upgrade_outcome;
using ws::test::valid_upgrade_request;
using ws::test::with;
using ws::test::without;

// A head flattened to text, to compare two parses field by field.
std::string describe(const HttpHead& head) {
  std::string out;
  out.append(head.kind == HttpHeadKind::request ? "request " : "response ");
  out.append(head.method).append("|").append(head.target).append("|");
  out.append(std::to_string(head.version_major)).append(".");
  out.append(std::to_string(head.version_minor)).append("|");
  out.append(std::to_string(head.status_code)).append("|").append(head.reason).append("|");
  for (const ws::HttpHeader& header : head.headers) {
    out.append(header.name).append("=").append(header.value).append(";");
  }
  out.append("size=").append(std::to_string(head.size));
  return out;
}

// What feeding `text` in pieces of `sizes` (cycled) ends in.
struct Outcome {
  HttpParseState state = HttpParseState::need_more;
  std::error_code error;
  std::size_t consumed = 0;
  std::string head;  // describe(head) when complete

  bool operator==(const Outcome&) const = default;
};

Outcome feed_in_chunks(std::string_view text, const std::vector<std::size_t>& sizes,
                       HttpHeadKind kind = HttpHeadKind::request, HttpLimits limits = {}) {
  HttpHeadParser parser(kind, limits);
  Outcome outcome;
  std::size_t position = 0;
  std::size_t turn = 0;
  while (position < text.size()) {
    const std::size_t size = sizes.empty() ? text.size() : std::max<std::size_t>(1, sizes[turn]);
    turn = sizes.empty() ? 0 : (turn + 1) % sizes.size();
    const std::string_view piece = text.substr(position, size);
    const HttpFeedResult fed = parser.feed(piece);
    outcome.consumed += fed.consumed;
    outcome.state = fed.state;
    outcome.error = fed.error;
    if (fed.state != HttpParseState::need_more) break;
    // While the head is incomplete, every byte offered is taken.
    RC_ASSERT(fed.consumed == piece.size());
    position += piece.size();
  }
  if (outcome.state == HttpParseState::complete) outcome.head = describe(parser.head());
  return outcome;
}

std::ostream& operator<<(std::ostream& os, const Outcome& outcome) {
  return os << "state=" << static_cast<int>(outcome.state) << " error=" << outcome.error.message()
            << " consumed=" << outcome.consumed << " head=" << outcome.head;
}

// ---------------------------------------------------------------------------
// Basic parsing

TEST(HttpHeadParser, ParsesUpgradeRequest) {
  HttpHeadParser parser(HttpHeadKind::request);
  const std::string text = valid_upgrade_request();
  const HttpFeedResult fed = parser.feed(text);
  ASSERT_EQ(fed.state, HttpParseState::complete);
  EXPECT_EQ(fed.consumed, text.size());
  const HttpHead& head = parser.head();
  EXPECT_EQ(head.kind, HttpHeadKind::request);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/chat?room=1");
  EXPECT_EQ(head.version_major, 1);
  EXPECT_EQ(head.version_minor, 1);
  EXPECT_EQ(head.size, text.size());
  ASSERT_EQ(head.headers.size(), 6u);
  EXPECT_EQ(head.headers[0].name, "Host");
  EXPECT_EQ(head.headers[0].value, "server.example.com");
  EXPECT_EQ(ws::find_header(head, "sec-websocket-key"), ws::test::kRfcKey);
}

TEST(HttpHeadParser, ParsesStatusLineWithAndWithoutReason) {
  {
    HttpHeadParser parser(HttpHeadKind::response);
    ASSERT_EQ(parser.feed("HTTP/1.1 404 Not  Found\r\nA: b\r\n\r\n").state,
              HttpParseState::complete);
    EXPECT_EQ(parser.head().status_code, 404);
    EXPECT_EQ(parser.head().reason, "Not  Found");
    EXPECT_EQ(parser.head().kind, HttpHeadKind::response);
  }
  {
    // RFC 9112 4: the reason may be empty; the SP before it is often dropped.
    HttpHeadParser parser(HttpHeadKind::response);
    ASSERT_EQ(parser.feed("HTTP/1.1 101\r\n\r\n").state, HttpParseState::complete);
    EXPECT_EQ(parser.head().status_code, 101);
    EXPECT_EQ(parser.head().reason, "");
  }
}

TEST(HttpHeadParser, RejectsMalformedStatusLines) {
  for (const std::string_view line : {"HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 099 X",
                                      "HTTP/1.1  200 OK", "http/1.1 200 OK", "HTTP/1.1 200\tOK",
                                      "HTTP/11 200 OK", "HTTP/1.1 2x0 OK", "GET / HTTP/1.1", ""}) {
    HttpHeadParser parser(HttpHeadKind::response);
    const HttpFeedResult fed = parser.feed(std::string(line) + "\r\n\r\n");
    EXPECT_EQ(fed.error, errc::malformed_status_line) << line;
  }
}

// ---------------------------------------------------------------------------
// The table of hostile and odd requests: exact error and HTTP status of
// parsing followed by upgrade validation.

struct HostileCase {
  const char* what;
  std::string text;
  std::error_code expected;  // empty: accepted
  int status;                // 101 when accepted
};

std::string many_headers(std::size_t count) {
  std::vector<HeaderField> fields = upgrade_fields();
  for (std::size_t i = fields.size(); i < count; ++i) {
    fields.push_back({"X-Filler-" + std::to_string(i), "x"});
  }
  return head_text("GET / HTTP/1.1", fields);
}

std::vector<HostileCase> hostile_cases() {
  const std::string valid = valid_upgrade_request();
  std::string bare_lf = valid;
  for (std::size_t at = bare_lf.find("\r\n"); at != std::string::npos; at = bare_lf.find("\r\n")) {
    bare_lf.erase(at, 1);
  }
  std::vector<HeaderField> two_keys = upgrade_fields();
  two_keys.push_back({"Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA=="});
  std::string folded = valid;
  folded.insert(folded.find("Origin"), "X-Folded: a\r\n b\r\n");
  return {
      {"valid request", valid, {}, 101},
      // RFC 9112 2.2: bare LF line ends are accepted (see the parser header).
      {"bare LF line ends", bare_lf, {}, 101},
      // RFC 9112 2.2: empty lines before the request line are skipped.
      {"empty lines before the request line", "\r\n\r\n" + valid, {}, 101},
      {"missing key", head_text("GET / HTTP/1.1", without(upgrade_fields(), "Sec-WebSocket-Key")),
       errc::missing_key, 400},
      {"duplicate key", head_text("GET / HTTP/1.1", two_keys), errc::duplicate_key, 400},
      {"key of 15 bytes",
       head_text("GET / HTTP/1.1",
                 with(upgrade_fields(), "Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4P")),
       errc::invalid_key, 400},
      {"websocket version 8",
       head_text("GET / HTTP/1.1", with(upgrade_fields(), "Sec-WebSocket-Version", "8")),
       errc::unsupported_websocket_version, 426},
      {"no websocket version",
       head_text("GET / HTTP/1.1", without(upgrade_fields(), "Sec-WebSocket-Version")),
       errc::unsupported_websocket_version, 426},
      {"POST", head_text("POST / HTTP/1.1", upgrade_fields()), errc::method_not_get, 405},
      {"HTTP/1.0", head_text("GET / HTTP/1.0", upgrade_fields()), errc::unsupported_http_version,
       400},
      {"no Host", head_text("GET / HTTP/1.1", without(upgrade_fields(), "Host")),
       errc::missing_host, 400},
      {"no Upgrade", head_text("GET / HTTP/1.1", without(upgrade_fields(), "Upgrade")),
       errc::missing_upgrade_websocket, 400},
      {"no Connection: upgrade",
       head_text("GET / HTTP/1.1", with(upgrade_fields(), "Connection", "keep-alive")),
       errc::missing_connection_upgrade, 400},
      {"huge header",
       head_text("GET / HTTP/1.1", with(upgrade_fields(), "Cookie", std::string(9000, 'c'))),
       errc::head_too_large, 431},
      {"101 header lines", many_headers(101), errc::too_many_headers, 431},
      {"100 header lines", many_headers(100), {}, 101},
      {"TLS ClientHello on a plain port", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\n", 10),
       errc::malformed_request_line, 400},
      {"binary garbage line", std::string("\x00\x01\x02\r\n\r\n", 7), errc::malformed_request_line,
       400},
      {"obsolete line folding", folded, errc::obsolete_line_folding, 400},
      {"whitespace before the first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
       errc::obsolete_line_folding, 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", errc::malformed_header, 400},
      {"header without colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", errc::malformed_header, 400},
      {"empty header name", "GET / HTTP/1.1\r\n: a\r\n\r\n", errc::malformed_header, 400},
      {"NUL in a value", std::string("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 28),
       errc::malformed_header, 400},
      {"bare CR in a value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", errc::malformed_header, 400},
      {"lower-case HTTP name", "GET / http/1.1\r\n\r\n", errc::malformed_request_line, 400},
      {"two spaces in the request line", "GET  / HTTP/1.1\r\n\r\n", errc::malformed_request_line,
       400},
      {"missing version", "GET /\r\n\r\n", errc::malformed_request_line, 400},
      {"space in the target", "GET /a b HTTP/1.1\r\n\r\n", errc::malformed_request_line, 400},
      {"fragment in the target", head_text("GET /a#b HTTP/1.1", upgrade_fields()),
       errc::malformed_request_line, 400},
  };
}

TEST(HttpHeadParser, AnswersHostileAndOddRequestsExactly) {
  for (const HostileCase& c : hostile_cases()) {
    const std::error_code outcome = upgrade_outcome(c.text);
    EXPECT_EQ(outcome, c.expected) << c.what << ": " << outcome.message();
    EXPECT_EQ(outcome ? ws::http_status_for(outcome) : 101, c.status) << c.what;
  }
}

TEST(HttpHeadParser, AnswersHostileRequestsTheSameInOneByteChunks) {
  for (const HostileCase& c : hostile_cases()) {
    EXPECT_EQ(feed_in_chunks(c.text, {1}), feed_in_chunks(c.text, {})) << c.what;
  }
}

// ---------------------------------------------------------------------------
// Incremental feeding and the end of the head

TEST(HttpHeadParser, ParsesHeadFedOneByteAtATime) {
  const std::string text = valid_upgrade_request();
  HttpHeadParser parser(HttpHeadKind::request);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const HttpFeedResult fed = parser.feed(std::string_view(text).substr(i, 1));
    ASSERT_EQ(fed.consumed, 1u);
    ASSERT_EQ(fed.state,
              i + 1 == text.size() ? HttpParseState::complete : HttpParseState::need_more);
  }
  EXPECT_EQ(parser.head().target, "/chat?room=1");
  EXPECT_FALSE(ws::validate_upgrade_request(parser.head()).error());
}

TEST(HttpHeadParser, LeavesFirstFrameBytesUnconsumed) {
  const std::string head = valid_upgrade_request();
  // A masked text frame "Hi" sent right behind the head.
  const std::string frame("\x81\x82\x01\x02\x03\x04\x49\x6b", 8);
  HttpHeadParser parser(HttpHeadKind::request);
  const HttpFeedResult fed = parser.feed(head + frame);
  EXPECT_EQ(fed.state, HttpParseState::complete);
  EXPECT_EQ(fed.consumed, head.size());
  EXPECT_EQ(parser.head().size, head.size());
  EXPECT_EQ(parser.buffered_size(), head.size());
  // Once complete the parser takes nothing more.
  EXPECT_EQ(parser.feed(frame).consumed, 0u);
  EXPECT_EQ(parser.state(), HttpParseState::complete);
}

TEST(HttpHeadParser, StopsAtTheEndOfTheHeadWhenSplitInsideTheFinalEmptyLine) {
  const std::string head = valid_upgrade_request();
  HttpHeadParser parser(HttpHeadKind::request);
  const std::string_view text(head);
  EXPECT_EQ(parser.feed(text.substr(0, head.size() - 1)).state, HttpParseState::need_more);
  const HttpFeedResult fed = parser.feed(std::string("\nBODY"));
  EXPECT_EQ(fed.state, HttpParseState::complete);
  EXPECT_EQ(fed.consumed, 1u);
}

TEST(HttpHeadParser, HeadViewsOutliveTheCallersBuffer) {
  HttpHeadParser parser(HttpHeadKind::request);
  {
    std::string text = valid_upgrade_request();
    ASSERT_EQ(parser.feed(text).state, HttpParseState::complete);
    std::fill(text.begin(), text.end(), 'X');
  }
  EXPECT_EQ(parser.head().method, "GET");
  EXPECT_EQ(ws::find_header(parser.head(), "host"), "server.example.com");
}

TEST(HttpHeadParser, HeadViewsSurviveAMoveOfTheParser) {
  HttpHeadParser parser(HttpHeadKind::request);
  ASSERT_EQ(parser.feed(valid_upgrade_request()).state, HttpParseState::complete);
  const HttpHeadParser moved = std::move(parser);
  EXPECT_EQ(moved.head().target, "/chat?room=1");
  EXPECT_EQ(ws::find_header(moved.head(), "origin"), "http://example.com");
}

TEST(HttpHeadParser, ErrorsAreStickyUntilReset) {
  HttpHeadParser parser(HttpHeadKind::request);
  EXPECT_EQ(parser.feed("BAD\r\n").error, errc::malformed_request_line);
  const HttpFeedResult again = parser.feed(valid_upgrade_request());
  EXPECT_EQ(again.consumed, 0u);
  EXPECT_EQ(again.state, HttpParseState::error);
  EXPECT_EQ(again.error, errc::malformed_request_line);
  parser.reset();
  EXPECT_EQ(parser.feed(valid_upgrade_request()).state, HttpParseState::complete);
}

// ---------------------------------------------------------------------------
// Limits

TEST(HttpHeadParser, AcceptsAHeadOfExactlyTheSizeLimit) {
  const std::string text = valid_upgrade_request();
  const HttpLimits limits{text.size(), 100};
  EXPECT_EQ(feed_in_chunks(text, {}, HttpHeadKind::request, limits).state,
            HttpParseState::complete);
  const HttpLimits smaller{text.size() - 1, 100};
  const Outcome outcome = feed_in_chunks(text, {}, HttpHeadKind::request, smaller);
  EXPECT_EQ(outcome.error, errc::head_too_large);
  EXPECT_EQ(feed_in_chunks(text, {1}, HttpHeadKind::request, smaller).error, errc::head_too_large);
}

TEST(HttpHeadParser, NeverBuffersMoreThanTheSizeLimit) {
  HttpHeadParser parser(HttpHeadKind::request, HttpLimits{64, 100});
  const std::string endless = "GET /" + std::string(1000, 'a');
  std::size_t offered = 0;
  HttpFeedResult fed;
  while (offered < endless.size()) {
    fed = parser.feed(std::string_view(endless).substr(offered, 10));
    EXPECT_LE(parser.buffered_size(), 64u);
    if (fed.state != HttpParseState::need_more) break;
    offered += 10;
  }
  EXPECT_EQ(fed.error, errc::head_too_large);
  EXPECT_EQ(ws::http_status_for(fed.error), 431);
}

TEST(HttpHeadParser, HeaderCountLimitIsConfigurable) {
  const std::string text = head_text("GET / HTTP/1.1", {{"A", "1"}, {"B", "2"}, {"C", "3"}});
  EXPECT_EQ(feed_in_chunks(text, {}, HttpHeadKind::request, HttpLimits{8192, 3}).state,
            HttpParseState::complete);
  EXPECT_EQ(feed_in_chunks(text, {}, HttpHeadKind::request, HttpLimits{8192, 2}).error,
            errc::too_many_headers);
}

// No rescanning: each byte is examined once, so a head fed one byte at a
// time costs O(n). A parser that searched its whole buffer for the line end
// on each call would do ~n^2/2 = 5 * 10^11 steps here and never finish.
TEST(HttpHeadParser, OneByteFeedsOfAHugeLineTakeLinearTime) {
  constexpr std::size_t kSize = 1 << 20;
  HttpHeadParser parser(HttpHeadKind::request, HttpLimits{kSize + 64, 100});
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(parser.feed("GET / HTTP/1.1\r\nX-Long: ").state, HttpParseState::need_more);
  const char byte = 'v';
  for (std::size_t i = 0; i < kSize; ++i) {
    ASSERT_EQ(parser.feed(std::string_view(&byte, 1)).consumed, 1u);
  }
  EXPECT_EQ(parser.feed("\r\n\r\n").state, HttpParseState::complete);
  EXPECT_EQ(ws::find_header(parser.head(), "x-long")->size(), kSize);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST(HttpHeadParser, EightThousandOneByteFeedsParseTheSameHead) {
  const std::string text =
      head_text("GET / HTTP/1.1", with(upgrade_fields(), "Cookie", std::string(7900, 'c')));
  ASSERT_LE(text.size(), 8192u);
  ASSERT_GE(text.size(), 8000u);
  const Outcome whole = feed_in_chunks(text, {});
  EXPECT_EQ(whole.state, HttpParseState::complete);
  EXPECT_EQ(feed_in_chunks(text, {1}), whole);
}

// ---------------------------------------------------------------------------
// One-shot parsing of a head the application already read

TEST(ParseHttpHead, ReturnsViewsIntoTheGivenText) {
  const std::string text = valid_upgrade_request() + "trailing bytes";
  const ws::Result<HttpHead> head = ws::parse_http_head(text);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->target.data(), text.data() + 4);
  EXPECT_EQ(head->size, valid_upgrade_request().size());
}

TEST(ParseHttpHead, AcceptsAHeadWithoutItsFinalEmptyLine) {
  const std::string full = valid_upgrade_request();
  const std::string no_empty_line = full.substr(0, full.size() - 2);
  const std::string no_last_newline = full.substr(0, full.size() - 4);
  for (const std::string& text : {no_empty_line, no_last_newline}) {
    const ws::Result<HttpHead> head = ws::parse_http_head(text);
    ASSERT_TRUE(head.has_value()) << head.error().message();
    EXPECT_EQ(head->headers.size(), 6u);
    EXPECT_EQ(ws::find_header(*head, "origin"), "http://example.com");
  }
}

TEST(ParseHttpHead, ReportsTheSameErrorsAsTheIncrementalParser) {
  for (const HostileCase& c : hostile_cases()) {
    const ws::Result<HttpHead> head = ws::parse_http_head(c.text);
    const Outcome incremental = feed_in_chunks(c.text, {});
    EXPECT_EQ(head.error(), incremental.error) << c.what;
    if (head.has_value()) {
      EXPECT_EQ(describe(*head), incremental.head) << c.what;
    }
  }
}

TEST(ParseHttpHead, RejectsEmptyText) {
  EXPECT_EQ(ws::parse_http_head("").error(), errc::malformed_request_line);
  EXPECT_EQ(ws::parse_http_head("\r\n").error(), errc::malformed_request_line);
  EXPECT_EQ(ws::parse_http_head("", HttpHeadKind::response).error(), errc::malformed_status_line);
}

// ---------------------------------------------------------------------------
// Lookups (RFC 9110 5.3, 5.6.1)

TEST(HttpHeadLookup, FindsHeadersCaseInsensitively) {
  const auto head = ws::parse_http_head("GET / HTTP/1.1\r\nsEc-WebSocket-KEY: k\r\n\r\n");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(ws::find_header(*head, "Sec-WebSocket-Key"), "k");
  EXPECT_EQ(ws::find_header(*head, "Sec-WebSocket-Keys"), std::nullopt);
  EXPECT_EQ(ws::count_headers(*head, "SEC-WEBSOCKET-KEY"), 1u);
}

TEST(HttpHeadLookup, KeepsRepeatedHeaderLinesInOrder) {
  const auto head =
      ws::parse_http_head("GET / HTTP/1.1\r\nSet: a\r\nOther: x\r\nset: b\r\nSET:c\r\n\r\n");
  ASSERT_TRUE(head.has_value());
  std::vector<std::string> values;
  for (const std::string_view value : ws::header_values(*head, "set")) values.emplace_back(value);
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ws::count_headers(*head, "set"), 3u);
}

TEST(HttpHeadLookup, TrimsOptionalWhitespaceAroundValues) {
  const auto head = ws::parse_http_head("GET / HTTP/1.1\r\nA: \t v w \t\r\nB:\r\n\r\n");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(ws::find_header(*head, "a"), "v w");
  EXPECT_EQ(ws::find_header(*head, "b"), "");
}

TEST(HttpHeadLookup, FindsTokensInCommaSeparatedLists) {
  const auto head = ws::parse_http_head(
      "GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: ,  ,Upgrade\t, close\r\n\r\n");
  ASSERT_TRUE(head.has_value());
  EXPECT_TRUE(ws::has_token(*head, "connection", "upgrade"));
  EXPECT_TRUE(ws::has_token(*head, "CONNECTION", "Keep-Alive"));
  EXPECT_TRUE(ws::has_token(*head, "connection", "close"));
  EXPECT_FALSE(ws::has_token(*head, "connection", "upgrad"));
  EXPECT_FALSE(ws::has_token(*head, "upgrade", "websocket"));
}

TEST(HttpHeadLookup, ListReaderSkipsEmptyElementsAndKeepsQuotedCommas) {
  ws::HttpListReader reader(R"( a , ,b;x="1,2" ,, c="\",", )");
  std::vector<std::string> elements;
  while (const auto element = reader.next()) elements.emplace_back(*element);
  EXPECT_EQ(elements, (std::vector<std::string>{"a", R"(b;x="1,2")", R"(c="\",")"}));
  EXPECT_FALSE(ws::list_has_token("websockets", "websocket"));
  EXPECT_TRUE(ws::list_has_token("h2c, WebSocket", "websocket"));
}

TEST(HttpHeadLookup, ReadsContentLength) {
  const auto length = [](std::string_view fields) {
    const std::string text = "HTTP/1.1 401 Unauthorized\r\n" + std::string(fields) + "\r\n";
    const auto head = ws::parse_http_head(text, HttpHeadKind::response);
    return head.has_value() ? ws::content_length(*head) : std::nullopt;
  };
  EXPECT_EQ(length(""), std::nullopt);
  EXPECT_EQ(length("Content-Length: 12\r\n"), 12u);
  EXPECT_EQ(length("Content-Length: 12, 12\r\ncontent-length: 12\r\n"), 12u);
  EXPECT_EQ(length("Content-Length: 12\r\nContent-Length: 13\r\n"), std::nullopt);
  EXPECT_EQ(length("Content-Length: -1\r\n"), std::nullopt);
  EXPECT_EQ(length("Content-Length: 99999999999999999999999\r\n"), std::nullopt);
}

TEST(HttpStatusFor, MapsErrorsToStatuses) {
  EXPECT_EQ(ws::http_status_for(errc::head_too_large), 431);
  EXPECT_EQ(ws::http_status_for(errc::too_many_headers), 431);
  EXPECT_EQ(ws::http_status_for(errc::malformed_header), 400);
  EXPECT_EQ(ws::http_status_for(errc::obsolete_line_folding), 400);
  EXPECT_EQ(ws::http_status_for(errc::unsupported_http_version), 400);
  EXPECT_EQ(ws::http_status_for(errc::method_not_get), 405);
  EXPECT_EQ(ws::http_status_for(errc::unsupported_websocket_version), 426);
  EXPECT_EQ(ws::http_status_for(errc::rejected_by_application), 403);
  EXPECT_EQ(ws::http_status_for(errc::invalid_handshake_option), 500);
  EXPECT_EQ(ws::http_status_for(std::make_error_code(std::errc::io_error)), 500);
}

// ---------------------------------------------------------------------------
// Properties

// A valid upgrade request, a damaged copy of one, or noise.
rc::Gen<std::string> gen_head_text() {
  return rc::gen::oneOf(
      rc::gen::just(valid_upgrade_request()),
      rc::gen::map(rc::gen::pair(rc::gen::inRange<std::size_t>(0, 400),
                                 rc::gen::container<std::string>(rc::gen::arbitrary<char>())),
                   [](const std::pair<std::size_t, std::string>& damage) {
                     std::string text = valid_upgrade_request();
                     const std::size_t at = std::min(damage.first, text.size());
                     text.replace(at, damage.second.size(), damage.second);
                     return text;
                   }),
      rc::gen::container<std::string>(rc::gen::element('G', 'E', 'T', ' ', '/', 'H', ':', 'a', '\r',
                                                       '\n', '\t', '\0', '1', '.')),
      rc::gen::arbitrary<std::string>());
}

RC_GTEST_PROP(HttpHeadParserProperties, AnySplitIntoChunksGivesTheSameResult, ()) {
  const std::string head = *gen_head_text();
  const std::string after = *rc::gen::arbitrary<std::string>();
  const std::string text = head + after;
  const auto sizes = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(1, 40)));
  const Outcome whole = feed_in_chunks(text, {});
  RC_ASSERT(feed_in_chunks(text, sizes) == whole);
  RC_ASSERT(feed_in_chunks(text, {1}) == whole);
}

RC_GTEST_PROP(HttpHeadParserProperties, ArbitraryBytesEndInNeedMoreOrACleanError, ()) {
  const std::string text = *rc::gen::arbitrary<std::string>();
  const auto limits =
      HttpLimits{*rc::gen::inRange<std::size_t>(0, 300), *rc::gen::inRange<std::size_t>(0, 10)};
  const auto kind = *rc::gen::element(HttpHeadKind::request, HttpHeadKind::response);
  HttpHeadParser parser(kind, limits);
  const HttpFeedResult fed = parser.feed(text);
  RC_ASSERT(fed.consumed <= text.size());
  RC_ASSERT(parser.buffered_size() <= limits.max_head_size);
  if (fed.state == HttpParseState::error) {
    RC_ASSERT(fed.error.category() == ws::error_category());
    RC_ASSERT(ws::http_status_for(fed.error) >= 400);
  } else {
    RC_ASSERT(!fed.error);
  }
  // The one-shot parser and the detection never crash either.
  const auto one_shot = ws::parse_http_head(text, kind, limits);
  RC_ASSERT(one_shot.has_value() || one_shot.error().category() == ws::error_category());
  (void)ws::is_upgrade(std::string_view(text));
}

// Header-name case, header order and optional whitespace do not change the
// outcome of parsing and validation, whether the request is valid or lacks
// one mandatory field.
RC_GTEST_PROP(HttpHeadParserProperties, NameCaseOrderAndWhitespaceDoNotChangeTheResult, ()) {
  struct Variant {
    const char* dropped;
    errc expected;
  };
  const Variant variant =
      *rc::gen::element(Variant{nullptr, errc{}}, Variant{"Host", errc::missing_host},
                        Variant{"Upgrade", errc::missing_upgrade_websocket},
                        Variant{"Connection", errc::missing_connection_upgrade},
                        Variant{"Sec-WebSocket-Key", errc::missing_key},
                        Variant{"Sec-WebSocket-Version", errc::unsupported_websocket_version});
  std::vector<HeaderField> fields = upgrade_fields();
  fields.push_back({"Sec-WebSocket-Protocol", "chat, superchat"});
  fields.push_back({"X-Custom", "value"});
  if (variant.dropped != nullptr) fields = without(fields, variant.dropped);

  // Random case in every name, random OWS around every value, random order.
  for (HeaderField& field : fields) {
    for (char& c : field.name) {
      if (*rc::gen::arbitrary<bool>()) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      } else {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
    }
    const auto ows = rc::gen::container<std::string>(rc::gen::element(' ', '\t'));
    field.value = *rc::gen::resize(3, ows) + field.value + *rc::gen::resize(3, ows);
  }
  const auto keys = *rc::gen::container<std::vector<int>>(fields.size(), rc::gen::arbitrary<int>());
  std::vector<std::size_t> order(fields.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&keys](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  std::vector<HeaderField> shuffled;
  for (const std::size_t i : order) shuffled.push_back(fields[i]);

  const std::string text = head_text("GET /chat?room=1 HTTP/1.1", shuffled);
  HttpHeadParser parser(HttpHeadKind::request);
  RC_ASSERT(parser.feed(text).state == HttpParseState::complete);
  const auto request = ws::validate_upgrade_request(parser.head());
  if (variant.dropped != nullptr) {
    RC_ASSERT(request.error() == variant.expected);
    return;
  }
  RC_ASSERT(request.has_value());
  RC_ASSERT(request->host == "server.example.com");
  RC_ASSERT(request->key == ws::test::kRfcKey);
  RC_ASSERT(request->path == "/chat");
  RC_ASSERT(request->query == "room=1");
  RC_ASSERT(request->origin == std::optional<std::string>("http://example.com"));
  RC_ASSERT(request->subprotocols == (std::vector<std::string>{"chat", "superchat"}));
  RC_ASSERT(request->header("x-custom") == std::optional<std::string_view>("value"));
}

}  // namespace
