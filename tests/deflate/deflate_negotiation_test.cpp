// permessage-deflate negotiation (RFC 7692 5, 7.1) in both roles, as tables.
#include <gtest/gtest.h>

#include "ws/base/error.hpp"
#include "ws/deflate/deflate.hpp"

namespace ws::deflate {
namespace {

ExtensionElement element(std::string_view text) {
  const std::vector<std::string> values{std::string(text)};
  Result<std::vector<ExtensionElement>> parsed = parse_extension_list(values);
  if (!parsed || parsed->size() != 1) return ExtensionElement{"unparsable", {}};
  return (*parsed)[0];
}

std::vector<ExtensionElement> elements(std::string_view text) {
  const std::vector<std::string> values{std::string(text)};
  Result<std::vector<ExtensionElement>> parsed = parse_extension_list(values);
  return parsed ? *parsed : std::vector<ExtensionElement>{};
}

std::string formatted(const std::vector<ExtensionElement>& list) {
  std::string out;
  for (const ExtensionElement& e : list) {
    if (!out.empty()) out += ", ";
    out += format_extension_element(e);
  }
  return out;
}

// ---- parameters (RFC 7692 7) ----

struct ParameterCase {
  const char* text;
  bool is_response;
  bool valid;
};

class DeflateParameters : public ::testing::TestWithParam<ParameterCase> {};

TEST_P(DeflateParameters, AreCheckedAsSection7Says) {
  const ParameterCase& c = GetParam();
  EXPECT_EQ(static_cast<bool>(parse_parameters(element(c.text), c.is_response)), c.valid)
      << c.text << (c.is_response ? " (response)" : " (offer)");
}

INSTANTIATE_TEST_SUITE_P(
    Table, DeflateParameters,
    ::testing::Values(
        ParameterCase{"permessage-deflate", false, true},
        ParameterCase{"permessage-deflate; server_no_context_takeover", false, true},
        ParameterCase{"permessage-deflate; client_no_context_takeover", true, true},
        ParameterCase{"permessage-deflate; server_max_window_bits=8", false, true},
        ParameterCase{"permessage-deflate; server_max_window_bits=15", true, true},
        ParameterCase{"permessage-deflate; server_max_window_bits=\"10\"", false, true},
        ParameterCase{"permessage-deflate; client_max_window_bits", false, true},
        ParameterCase{"permessage-deflate; client_max_window_bits=9", true, true},
        // 7.1.2.2: a response's client_max_window_bits has a value.
        ParameterCase{"permessage-deflate; client_max_window_bits", true, false},
        // 7.1.2.1: server_max_window_bits always has a value.
        ParameterCase{"permessage-deflate; server_max_window_bits", false, false},
        // 7.1.2: 8..15 in decimal, no leading zero.
        ParameterCase{"permessage-deflate; server_max_window_bits=7", false, false},
        ParameterCase{"permessage-deflate; server_max_window_bits=16", false, false},
        ParameterCase{"permessage-deflate; server_max_window_bits=010", false, false},
        ParameterCase{"permessage-deflate; client_max_window_bits=abc", false, false},
        // 7.1.1: the takeover parameters have no value.
        ParameterCase{"permessage-deflate; server_no_context_takeover=1", false, false},
        ParameterCase{"permessage-deflate; client_no_context_takeover=x", true, false},
        // 5: unknown and duplicate parameters.
        ParameterCase{"permessage-deflate; x_unknown", false, false},
        ParameterCase{"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                      false, false},
        ParameterCase{"permessage-deflate; client_max_window_bits; client_max_window_bits=10",
                      false, false}));

// ---- server (RFC 7692 5, 7.1) ----

struct ServerCase {
  const char* offers;
  Options options;
  const char* response;  // nullptr: declined
};

class DeflateServer : public ::testing::TestWithParam<ServerCase> {};

TEST_P(DeflateServer, PicksTheFirstAcceptableOffer) {
  const ServerCase& c = GetParam();
  const auto extension = make_extension(c.options);
  const std::vector<ExtensionElement> offers = elements(c.offers);
  std::optional<ExtensionAgreement> agreement = extension->server_accept(offers);
  if (c.response == nullptr) {
    EXPECT_FALSE(agreement) << c.offers;
    return;
  }
  ASSERT_TRUE(agreement) << c.offers;
  EXPECT_EQ(format_extension_element(agreement->response), c.response) << c.offers;
  EXPECT_TRUE(agreement->session);
}

Options server_wants(bool no_takeover, bool peer_no_takeover, int peer_bits, int own_bits = 15) {
  Options o;
  o.no_context_takeover = no_takeover;
  o.peer_no_context_takeover = peer_no_takeover;
  o.peer_max_window_bits = peer_bits;
  o.max_window_bits = own_bits;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Table, DeflateServer,
    ::testing::Values(
        ServerCase{"permessage-deflate", {}, "permessage-deflate"},
        ServerCase{"permessage-deflate; client_max_window_bits", {}, "permessage-deflate"},
        // 7.1.1.1: server_no_context_takeover accepted by echoing it.
        ServerCase{"permessage-deflate; server_no_context_takeover",
                   {},
                   "permessage-deflate; server_no_context_takeover"},
        // 7.1.1.2: the client's hint is echoed.
        ServerCase{"permessage-deflate; client_no_context_takeover",
                   {},
                   "permessage-deflate; client_no_context_takeover"},
        // The server may reset its own context unasked, and ask the client to.
        ServerCase{"permessage-deflate", server_wants(true, true, 0),
                   "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
        // 7.1.2.1: same or smaller value.
        ServerCase{"permessage-deflate; server_max_window_bits=12",
                   {},
                   "permessage-deflate; server_max_window_bits=12"},
        ServerCase{"permessage-deflate; server_max_window_bits=12",
                   server_wants(false, false, 0, 10),
                   "permessage-deflate; server_max_window_bits=10"},
        // zlib cannot compress with an 8-bit raw window: that offer is declined.
        ServerCase{"permessage-deflate; server_max_window_bits=8", {}, nullptr},
        ServerCase{"permessage-deflate; server_max_window_bits=8, permessage-deflate",
                   {},
                   "permessage-deflate"},
        // 7.1.2.2: client_max_window_bits only when the client offered it.
        ServerCase{"permessage-deflate", server_wants(false, false, 10), "permessage-deflate"},
        ServerCase{"permessage-deflate; client_max_window_bits", server_wants(false, false, 10),
                   "permessage-deflate; client_max_window_bits=10"},
        ServerCase{"permessage-deflate; client_max_window_bits=9", server_wants(false, false, 10),
                   "permessage-deflate; client_max_window_bits=9"},
        ServerCase{"permessage-deflate; client_max_window_bits=8", server_wants(false, false, 12),
                   "permessage-deflate; client_max_window_bits=8"},
        // 5: an invalid offer is declined and the next one tried.
        ServerCase{"permessage-deflate; x_unknown, permessage-deflate; server_no_context_takeover",
                   {},
                   "permessage-deflate; server_no_context_takeover"},
        ServerCase{"permessage-deflate; server_max_window_bits=16, permessage-deflate; "
                   "server_max_window_bits=16",
                   {},
                   nullptr},
        ServerCase{
            "permessage-deflate; client_max_window_bits; client_max_window_bits", {}, nullptr}));

// ---- client (RFC 7692 5, 7.1) ----

TEST(DeflateClient, OffersAClientWindowByDefault) {
  EXPECT_EQ(formatted(make_extension()->client_offers()),
            "permessage-deflate; client_max_window_bits");
}

TEST(DeflateClient, OffersItsWishesThenAPlainFallback) {
  Options o;
  o.no_context_takeover = true;
  o.peer_no_context_takeover = true;
  o.peer_max_window_bits = 10;
  o.max_window_bits = 12;
  EXPECT_EQ(formatted(make_extension(o)->client_offers()),
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover; "
            "server_max_window_bits=10; client_max_window_bits=12, "
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=12");
}

TEST(DeflateClient, NeverOffersAnEightBitWindowForItsOwnCompressor) {
  Options o;
  o.max_window_bits = 8;
  EXPECT_EQ(formatted(make_extension(o)->client_offers()),
            "permessage-deflate; client_max_window_bits=9");
}

struct ClientCase {
  Options options;
  const char* response;
  bool accepted;
};

class DeflateClientResponse : public ::testing::TestWithParam<ClientCase> {};

TEST_P(DeflateClientResponse, IsAcceptedOnlyWhenAnOfferAllowsIt) {
  const ClientCase& c = GetParam();
  const auto result = make_extension(c.options)->client_accept(element(c.response));
  EXPECT_EQ(static_cast<bool>(result), c.accepted) << c.response;
  if (!result) {
    EXPECT_EQ(result.error(), errc::invalid_extension_response);
  }
}

Options client_wants(bool peer_no_takeover, int peer_bits, int own_bits = 15) {
  Options o;
  o.peer_no_context_takeover = peer_no_takeover;
  o.peer_max_window_bits = peer_bits;
  o.max_window_bits = own_bits;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Table, DeflateClientResponse,
    ::testing::Values(
        ClientCase{{}, "permessage-deflate", true},
        // 7.1.1: the server may add either takeover parameter unasked.
        ClientCase{{}, "permessage-deflate; server_no_context_takeover", true},
        ClientCase{{}, "permessage-deflate; client_no_context_takeover", true},
        ClientCase{{}, "permessage-deflate; server_max_window_bits=10", true},
        ClientCase{{}, "permessage-deflate; client_max_window_bits=10", true},
        // This side cannot compress with an 8-bit window.
        ClientCase{{}, "permessage-deflate; client_max_window_bits=8", false},
        // 7.1.2.2: not above the offered value.
        ClientCase{client_wants(false, 0, 11), "permessage-deflate; client_max_window_bits=12",
                   false},
        ClientCase{client_wants(false, 0, 11), "permessage-deflate; client_max_window_bits=11",
                   true},
        // 7.1.2.1: not above what was asked; the fallback offer asked nothing.
        ClientCase{client_wants(false, 10), "permessage-deflate; server_max_window_bits=10", true},
        ClientCase{client_wants(false, 10), "permessage-deflate; server_max_window_bits=9", true},
        ClientCase{client_wants(false, 10), "permessage-deflate; server_max_window_bits=12", true},
        ClientCase{client_wants(false, 10), "permessage-deflate", true},
        // 5: unknown, duplicate and invalid parameters fail.
        ClientCase{{}, "permessage-deflate; x_unknown", false},
        ClientCase{{},
                   "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                   false},
        ClientCase{{}, "permessage-deflate; server_max_window_bits=16", false},
        ClientCase{{}, "permessage-deflate; client_max_window_bits", false},
        ClientCase{{}, "permessage-deflate; server_max_window_bits", false}));

}  // namespace
}  // namespace ws::deflate
