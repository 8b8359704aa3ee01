// The factories: each builds its OpenSSL contexts once (certificates, keys,
// trusted CAs, ALPN, options) and makes one SSL per connection from them.
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tls_layer.hpp"
#include "ws/base/error.hpp"
#include "ws/tls/layer.hpp"

namespace ws::tls {
namespace {

struct ContextDeleter {
  void operator()(SSL_CTX* context) const noexcept { SSL_CTX_free(context); }
};
using ContextPtr = std::unique_ptr<SSL_CTX, ContextDeleter>;

// Sets *detail (when asked for) to `what` and OpenSSL's queued errors, and
// returns `error`.
std::error_code failed(errc error, std::string* detail, std::string_view what) {
  std::string text(what);
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text += text.empty() ? "" : ": ";
    text += buffer;
  }
  if (detail != nullptr) *detail = std::move(text);
  return make_error_code(error);
}

// ALPN's wire format (RFC 7301 3.1): each name prefixed by its length.
bool alpn_wire(const std::vector<std::string>& names, std::vector<unsigned char>& wire) {
  for (const std::string& name : names) {
    if (name.empty() || name.size() > 255) return false;
    wire.push_back(static_cast<unsigned char>(name.size()));
    wire.insert(wire.end(), name.begin(), name.end());
  }
  return true;
}

// A key file that turns out to be encrypted must fail, not prompt on the
// terminal (OpenSSL's default password callback reads from the tty).
int no_password(char*, int, int, void*) { return 0; }

// What every context gets, server or client.
Result<ContextPtr> new_context(Version min_version, std::string* detail) {
  ContextPtr context(SSL_CTX_new(TLS_method()));
  if (!context) return failed(errc::context_failed, detail, "SSL_CTX_new");
  const int version = min_version == Version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(context.get(), version) != 1) {
    return failed(errc::context_failed, detail, "SSL_CTX_set_min_proto_version");
  }
  // IGNORE_UNEXPECTED_EOF: a TCP end without close_notify is an ordinary
  // end of stream (the WebSocket close handshake says whether anything was
  // lost; browsers and proxies often skip close_notify). NO_RENEGOTIATION:
  // a TLS 1.2 peer's renegotiation is refused (a DoS vector and a source of
  // attacks, RFC 5746; TLS 1.3 has none). NO_COMPRESSION: CRIME.
  SSL_CTX_set_options(context.get(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION |
                                         SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_default_passwd_cb(context.get(), no_password);
  return context;
}

// ---- Server -----------------------------------------------------------------

struct NamedContext {
  std::string name;  // lower case; for a wildcard, the suffix with its dot
  bool wildcard = false;
  ContextPtr context;
};

struct ServerContexts {
  ContextPtr fallback;  // the default certificate
  std::vector<NamedContext> named;
  std::vector<unsigned char> alpn;  // wire format, the server's order
};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

const NamedContext* find_named(const ServerContexts& contexts, std::string_view name) {
  for (const NamedContext& named : contexts.named) {
    if (!named.wildcard && equal_ignoring_case(named.name, name)) return &named;
  }
  // "*.example.com" matches one label in front of ".example.com".
  for (const NamedContext& named : contexts.named) {
    if (!named.wildcard || name.size() <= named.name.size()) continue;
    const std::string_view label = name.substr(0, name.size() - named.name.size());
    if (label.find('.') == std::string_view::npos &&
        equal_ignoring_case(named.name, name.substr(label.size()))) {
      return &named;
    }
  }
  return nullptr;
}

// SNI: switches the connection to the named certificate's context.
int on_server_name(SSL* ssl, int*, void* arg) {
  const auto& contexts = *static_cast<const ServerContexts*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_NOACK;
  const NamedContext* named = find_named(contexts, name);
  if (named == nullptr) return SSL_TLSEXT_ERR_NOACK;  // the default certificate
  if (SSL_set_SSL_CTX(ssl, named->context.get()) == nullptr) return SSL_TLSEXT_ERR_ALERT_FATAL;
  return SSL_TLSEXT_ERR_OK;
}

// ALPN: the first of the server's protocols that the client offers. Written
// out rather than SSL_select_next_proto, whose "no overlap" result points
// at a client protocol (and which had an over-read, CVE-2024-5535).
int on_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
            unsigned int in_length, void* arg) {
  const auto& ours = *static_cast<const std::vector<unsigned char>*>(arg);
  for (std::size_t i = 0; i < ours.size(); i += 1u + ours[i]) {
    const unsigned char* name = ours.data() + i + 1;
    const unsigned int length = ours[i];
    for (unsigned int j = 0; j < in_length;) {
      const unsigned int offered = in[j];
      if (j + 1 + offered > in_length) break;  // malformed: stop reading it
      if (offered == length && std::memcmp(in + j + 1, name, length) == 0) {
        *out = in + j + 1;
        *out_length = static_cast<unsigned char>(length);
        return SSL_TLSEXT_ERR_OK;
      }
      j += 1 + offered;
    }
  }
  // Nothing in common: no ALPN in the answer, and the handshake goes on.
  return SSL_TLSEXT_ERR_NOACK;
}

Result<ContextPtr> server_context(const ServerSettings& settings, const std::string& certificate,
                                  const std::string& key, std::string* detail) {
  auto context = new_context(settings.min_version, detail);
  if (!context) return context.error();
  SSL_CTX* raw = context->get();
  if (certificate.empty()) return failed(errc::certificate_file, detail, "no certificate file");
  if (SSL_CTX_use_certificate_chain_file(raw, certificate.c_str()) != 1) {
    return failed(errc::certificate_file, detail, certificate);
  }
  if (SSL_CTX_use_PrivateKey_file(raw, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    // It checks the key against the certificate already loaded.
    const unsigned long first = ERR_peek_error();
    const bool mismatch =
        ERR_GET_LIB(first) == ERR_LIB_X509 && ERR_GET_REASON(first) == X509_R_KEY_VALUES_MISMATCH;
    return failed(mismatch ? errc::key_mismatch : errc::private_key_file, detail,
                  mismatch ? certificate + " and " + key : key);
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return failed(errc::key_mismatch, detail, certificate + " and " + key);
  }
  // No session cache: it would hold every TLS 1.2 session in memory.
  // Resumption still works with stateless tickets.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  return std::move(*context);
}

class ServerFactory final : public StreamLayerFactory {
 public:
  explicit ServerFactory(std::shared_ptr<const ServerContexts> contexts)
      : contexts_(std::move(contexts)) {}

  Result<std::unique_ptr<StreamLayer>> make(Role role, std::string_view) const override {
    if (role != Role::server) return ws::errc::wrong_role;
    SSL* ssl = SSL_new(contexts_->fallback.get());
    if (ssl == nullptr) return make_error_code(errc::context_failed);
    SSL_set_accept_state(ssl);
    return detail::make_layer(contexts_, ssl, Role::server);
  }
  void thread_ending() const noexcept override { OPENSSL_thread_stop(); }

 private:
  std::shared_ptr<const ServerContexts> contexts_;
};

// ---- Client -----------------------------------------------------------------

struct ClientContext {
  ContextPtr context;
  bool insecure = false;
};

class ClientFactory final : public StreamLayerFactory {
 public:
  explicit ClientFactory(std::shared_ptr<const ClientContext> context)
      : context_(std::move(context)) {}

  void thread_ending() const noexcept override { OPENSSL_thread_stop(); }
  Result<std::unique_ptr<StreamLayer>> make(Role role, std::string_view host) const override {
    if (role != Role::client) return ws::errc::wrong_role;
    if (host.empty() && !context_->insecure) return make_error_code(errc::missing_host_name);
    // "[::1]" (a URL's IPv6 literal) is the address ::1.
    std::string name(host.size() > 2 && host.front() == '[' && host.back() == ']'
                         ? host.substr(1, host.size() - 2)
                         : host);
    unsigned char address[16];
    const bool literal = inet_pton(AF_INET, name.c_str(), address) == 1 ||
                         inet_pton(AF_INET6, name.c_str(), address) == 1;
    SSL* ssl = SSL_new(context_->context.get());
    if (ssl == nullptr) return make_error_code(errc::context_failed);
    SSL_set_connect_state(ssl);
    bool ok = true;
    // SNI carries host names only (RFC 6066 3).
    // (SSL_set_tlsext_host_name, without the macro's C cast.)
    if (!name.empty() && !literal) {
      ok = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                    const_cast<char*>(name.c_str())) == 1;
    }
    if (ok && !context_->insecure) {
      if (literal) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
      } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set1_host(ssl, name.c_str()) == 1;
      }
    }
    if (!ok) {
      SSL_free(ssl);
      ERR_clear_error();
      return make_error_code(errc::context_failed);
    }
    return detail::make_layer(context_, ssl, Role::client);
  }

 private:
  std::shared_ptr<const ClientContext> context_;
};

}  // namespace

Result<std::shared_ptr<const StreamLayerFactory>> server_layer(const ServerSettings& settings,
                                                               std::string* detail) {
  ERR_clear_error();
  if (detail != nullptr) detail->clear();
  auto contexts = std::make_shared<ServerContexts>();
  if (!alpn_wire(settings.alpn, contexts->alpn)) {
    return failed(errc::invalid_alpn, detail, "ALPN protocol names are 1 to 255 bytes");
  }
  auto fallback =
      server_context(settings, settings.certificate_file, settings.private_key_file, detail);
  if (!fallback) return fallback.error();
  contexts->fallback = std::move(*fallback);
  for (const NamedCertificate& named : settings.by_server_name) {
    std::string_view name = named.server_name;
    const bool wildcard = name.starts_with("*.");
    if (wildcard) name.remove_prefix(1);  // keep the dot: ".example.com"
    if (name.empty() || name == ".") {
      return failed(errc::invalid_server_name, detail, named.server_name);
    }
    auto context = server_context(settings, named.certificate_file, named.private_key_file, detail);
    if (!context) return context.error();
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
    contexts->named.push_back({std::move(lower), wildcard, std::move(*context)});
  }
  // The ALPN callback on every context: after SNI switched a connection to
  // a named context, that context's callback is the one OpenSSL calls.
  void* alpn = &contexts->alpn;
  if (!contexts->alpn.empty()) {
    SSL_CTX_set_alpn_select_cb(contexts->fallback.get(), on_alpn, alpn);
    for (NamedContext& named : contexts->named) {
      SSL_CTX_set_alpn_select_cb(named.context.get(), on_alpn, alpn);
    }
  }
  if (!contexts->named.empty()) {
    // (SSL_CTX_set_tlsext_servername_callback, without the macro's C cast.)
    SSL_CTX_callback_ctrl(contexts->fallback.get(), SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(on_server_name));
    SSL_CTX_set_tlsext_servername_arg(contexts->fallback.get(), contexts.get());
  }
  return std::shared_ptr<const StreamLayerFactory>(
      std::make_shared<ServerFactory>(std::move(contexts)));
}

Result<std::shared_ptr<const StreamLayerFactory>> client_layer(const ClientSettings& settings,
                                                               std::string* detail) {
  ERR_clear_error();
  if (detail != nullptr) detail->clear();
  auto context = std::make_shared<ClientContext>();
  context->insecure = settings.insecure;
  std::vector<unsigned char> alpn;
  if (!alpn_wire(settings.alpn, alpn)) {
    return failed(errc::invalid_alpn, detail, "ALPN protocol names are 1 to 255 bytes");
  }
  auto made = new_context(settings.min_version, detail);
  if (!made) return made.error();
  context->context = std::move(*made);
  SSL_CTX* raw = context->context.get();
  if (!settings.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(raw, settings.ca_file.c_str(), nullptr) != 1) {
      return failed(errc::ca_file, detail, settings.ca_file);
    }
  } else if (!settings.insecure && SSL_CTX_set_default_verify_paths(raw) != 1) {
    return failed(errc::ca_file, detail, "the system's certificate store");
  }
  SSL_CTX_set_verify(raw, settings.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
  // Unlike the rest of OpenSSL, 0 is success here.
  if (!alpn.empty() &&
      SSL_CTX_set_alpn_protos(raw, alpn.data(), static_cast<unsigned int>(alpn.size())) != 0) {
    return failed(errc::context_failed, detail, "SSL_CTX_set_alpn_protos");
  }
  return std::shared_ptr<const StreamLayerFactory>(
      std::make_shared<ClientFactory>(std::move(context)));
}

}  // namespace ws::tls
