#include "tls/test_certificates.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace ws::test::tls {
namespace {

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct CertificateDeleter {
  void operator()(X509* certificate) const noexcept { X509_free(certificate); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Certificate = std::unique_ptr<X509, CertificateDeleter>;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "test certificates: %s failed\n", what);
  std::abort();
}

Key new_key() {
  // EVP_EC_gen without its macro's C cast.
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) die("EVP_PKEY_Q_keygen");
  return key;
}

void add_extension(X509* certificate, X509V3_CTX& context, int nid, const char* value) {
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr || X509_add_ext(certificate, extension, -1) != 1) die(value);
  X509_EXTENSION_free(extension);
}

struct Subject {
  const char* common_name;
  const char* alt_names = nullptr;  // leaves only
  long valid_from = -3600;          // seconds from now
  long valid_until = 30 * 24 * 3600;
};

// A CA when `issuer` is null (self-signed), else a server leaf it signs.
Certificate new_certificate(const Subject& subject, EVP_PKEY* key, X509* issuer,
                            EVP_PKEY* issuer_key, long serial) {
  Certificate certificate(X509_new());
  if (!certificate) die("X509_new");
  X509* raw = certificate.get();
  X509_set_version(raw, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(raw), serial);
  X509_gmtime_adj(X509_getm_notBefore(raw), subject.valid_from);
  X509_gmtime_adj(X509_getm_notAfter(raw), subject.valid_until);
  X509_set_pubkey(raw, key);
  X509_NAME* name = X509_get_subject_name(raw);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(subject.common_name), -1, -1,
                             0);
  X509_set_issuer_name(raw, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer != nullptr ? issuer : raw, raw, nullptr, nullptr, 0);
  add_extension(raw, context, NID_subject_key_identifier, "hash");
  add_extension(raw, context, NID_authority_key_identifier, "keyid:always");
  if (issuer == nullptr) {
    add_extension(raw, context, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(raw, context, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(raw, context, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(raw, context, NID_key_usage, "critical,digitalSignature");
    add_extension(raw, context, NID_ext_key_usage, "serverAuth");
    add_extension(raw, context, NID_subject_alt_name, subject.alt_names);
  }
  if (X509_sign(raw, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    die("X509_sign");
  }
  return certificate;
}

void write_certificate(const std::string& path, X509* certificate) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr || PEM_write_X509(file, certificate) != 1) die(path.c_str());
  std::fclose(file);
}

void write_key(const std::string& path, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr ||
      PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    die(path.c_str());
  }
  std::fclose(file);
}

// Removes the directory when the process exits.
struct Directory {
  std::string path;
  Directory() {
    char name[] = "/tmp/ws-tls-test-XXXXXX";
    if (mkdtemp(name) == nullptr) die("mkdtemp");
    path = name;
  }
  ~Directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;
};

CertificateFiles write_leaf(const std::string& directory, const char* file_name,
                            const Subject& subject, X509* ca, EVP_PKEY* ca_key, long serial) {
  const Key key = new_key();
  const Certificate leaf = new_certificate(subject, key.get(), ca, ca_key, serial);
  CertificateFiles files{directory + "/" + file_name + ".crt",
                         directory + "/" + file_name + ".key"};
  write_certificate(files.certificate_file, leaf.get());
  write_key(files.private_key_file, key.get());
  return files;
}

TestCertificates make() {
  static Directory directory;
  const std::string& dir = directory.path;
  TestCertificates made;
  made.directory = dir;

  const Key ca_key = new_key();
  const Certificate ca = new_certificate({"ws test CA"}, ca_key.get(), nullptr, nullptr, 1);
  made.ca_file = dir + "/ca.crt";
  write_certificate(made.ca_file, ca.get());

  const char* localhost_names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  made.localhost =
      write_leaf(dir, "localhost", {"localhost", localhost_names}, ca.get(), ca_key.get(), 2);
  made.other = write_leaf(dir, "other", {"other.test", "DNS:other.test,DNS:*.other.test"}, ca.get(),
                          ca_key.get(), 3);
  made.expired =
      write_leaf(dir, "expired", {"localhost", localhost_names, -2 * 24 * 3600, -24 * 3600},
                 ca.get(), ca_key.get(), 4);

  const Key stranger_key = new_key();
  const Certificate stranger =
      new_certificate({"untrusted test CA"}, stranger_key.get(), nullptr, nullptr, 5);
  made.untrusted = write_leaf(dir, "untrusted", {"localhost", localhost_names}, stranger.get(),
                              stranger_key.get(), 6);
  return made;
}

}  // namespace

const TestCertificates& test_certificates() {
  static const TestCertificates certificates = make();
  return certificates;
}

}  // namespace ws::test::tls
