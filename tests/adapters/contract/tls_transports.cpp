// The TLS variant of any transport under the contract suite: the same
// transport with ws::tls between it and the driver on both sides.
#include "tls/test_layers.hpp"
#include "transport_under_test.hpp"

namespace ws::contract {
namespace {

class TlsTransport final : public TransportUnderTest {
 public:
  explicit TlsTransport(std::unique_ptr<TransportUnderTest> inner)
      : inner_(std::move(inner)),
        server_(test::tls::test_server_layer()),
        client_(test::tls::test_client_layer()) {}

  std::unique_ptr<ServerUnderTest> serve(const ServerOptions& options, Handler handler) override {
    ServerOptions secured = options;
    secured.stream_layer = server_;
    return inner_->serve(secured, std::move(handler));
  }
  void connect(const std::string& url, const ClientOptions& options, Handler handler) override {
    ClientOptions secured = options;
    secured.stream_layer = client_;
    // The suite's ws:// URLs, as wss:// (the port is the TLS server's).
    const std::string secure_url = url.rfind("ws://", 0) == 0 ? "wss://" + url.substr(5) : url;
    inner_->connect(secure_url, secured, std::move(handler));
  }
  std::shared_ptr<const StreamLayerFactory> client_tls() const override { return client_; }

 private:
  std::unique_ptr<TransportUnderTest> inner_;
  std::shared_ptr<const StreamLayerFactory> server_;
  std::shared_ptr<const StreamLayerFactory> client_;
};

}  // namespace

std::unique_ptr<TransportUnderTest> with_tls(std::unique_ptr<TransportUnderTest> inner) {
  return std::make_unique<TlsTransport>(std::move(inner));
}

}  // namespace ws::contract
