// TLS over a transport through a custom BIO: OpenSSL never touches the socket itself.
#include "protocol/tls_transport.hpp"

#include "protocol/imap_error.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>

namespace oimap::protocol {

void ssl_ctx_deleter::operator()(ssl_ctx_st* p) const {
  SSL_CTX_free(p);
}
void ssl_deleter::operator()(ssl_st* p) const {
  SSL_free(p);
}

// The BIO callbacks are C functions; this gives them the private members.
struct tls_bio_access {
  static tls_transport* self(BIO* b) { return static_cast<tls_transport*>(BIO_get_data(b)); }

  static int read(BIO* b, char* buf, std::size_t n, std::size_t* got) {
    BIO_clear_retry_flags(b);
    return self(b)->bio_read(buf, n, got);
  }
  static int write(BIO* b, const char* buf, std::size_t n, std::size_t* put) {
    BIO_clear_retry_flags(b);
    return self(b)->bio_write(buf, n, put);
  }
};

namespace {

struct bio_method_deleter {
  void operator()(BIO_METHOD* m) const { BIO_meth_free(m); }
};

long bio_ctrl(BIO*, int cmd, long, void*) {
  // OpenSSL flushes after each handshake flight; our writes are unbuffered.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO*) {
  return 1;
}

// One method table for the process, built on first use.
BIO_METHOD* transport_bio_method() {
  static const std::unique_ptr<BIO_METHOD, bio_method_deleter> method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "oimap transport");
    if (!m)
      throw imap_error(error_kind::tls, "cannot create the OpenSSL BIO method");
    BIO_meth_set_read_ex(m, &tls_bio_access::read);
    BIO_meth_set_write_ex(m, &tls_bio_access::write);
    BIO_meth_set_ctrl(m, &bio_ctrl);
    BIO_meth_set_create(m, &bio_create);
    BIO_meth_set_destroy(m, &bio_destroy);
    return std::unique_ptr<BIO_METHOD, bio_method_deleter>(m);
  }();
  return method.get();
}

// The most specific reason OpenSSL queued, e.g. "wrong version number".
std::string openssl_reason() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error())
    last = e;
  if (!last)
    return {};
  const char* reason = ERR_reason_error_string(last);
  if (reason)
    return reason;
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

// The digest of a fingerprint with this many hex digits (OfflineIMAP
// accepts these five); null for any other length.
const EVP_MD* fingerprint_digest(std::size_t hex_digits) {
  switch (hex_digits) {
  case 40:
    return EVP_sha1();
  case 56:
    return EVP_sha224();
  case 64:
    return EVP_sha256();
  case 96:
    return EVP_sha384();
  case 128:
    return EVP_sha512();
  default:
    return nullptr;
  }
}

std::string hex_digest(X509* cert, const EVP_MD* md) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, md, digest, &len) != 1)
    return {};
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

// The server's certificate must have one of the pinned fingerprints; the
// error shows its own, in each digest the configuration uses, to compare.
void check_fingerprint(SSL* ssl, const std::string& peer, const std::vector<std::string>& pins) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert)
    throw imap_error(error_kind::tls, "TLS server " + peer
                                          + " sent no certificate to compare "
                                            "with cert_fingerprint");
  std::string seen;
  std::vector<const EVP_MD*> shown;
  for (const auto& pin : pins) {
    const EVP_MD* md = fingerprint_digest(pin.size());
    if (!md)
      continue;
    const std::string actual = hex_digest(cert, md);
    if (!actual.empty() && actual == pin)
      return;
    if (std::find(shown.begin(), shown.end(), md) == shown.end()) {
      shown.push_back(md);
      seen += (seen.empty() ? "" : ", ") + fingerprint_digest_name(pin.size()) + " " + actual;
    }
  }
  throw imap_error(error_kind::tls, "TLS certificate of " + peer
                                        + " matches no cert_fingerprint; its fingerprint is "
                                        + seen);
}

} // namespace

tls_transport::tls_transport(std::unique_ptr<transport> inner) : inner_(std::move(inner)) {}

tls_transport::~tls_transport() {
  // A polite close_notify; any I/O error is parked in io_error_ and dropped.
  if (ssl_ && !io_error_ && !eof_ && SSL_is_init_finished(ssl_.get())) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
  }
}

std::unique_ptr<tls_transport> tls_transport::handshake(std::unique_ptr<transport> inner,
                                                        const tls_options& options) {
  const std::string peer = inner->peer();
  auto fail_setup = [&](const std::string& what) -> imap_error {
    return imap_error(error_kind::tls, "TLS setup for " + peer + " failed: " + what);
  };

  std::unique_ptr<tls_transport> t(new tls_transport(std::move(inner)));
  ERR_clear_error();
  t->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!t->ctx_)
    throw fail_setup("SSL_CTX_new: " + openssl_reason());
  SSL_CTX* ctx = t->ctx_.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // IMAP is self-delimiting, and many servers close without close_notify
  // after BYE: treat that as a plain end of stream.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);

  const bool ip = is_ip_literal(options.host);
  std::string host = options.host;
  if (ip && host.size() >= 2 && host.front() == '[')
    host = host.substr(1, host.size() - 2);

  // A pinned certificate is trusted for itself unless a CA file is named too.
  const bool checks_chain =
      options.verify && (options.fingerprints.empty() || !options.cafile.empty());
  if (checks_chain) {
    if (host.empty())
      throw fail_setup("no host name to verify the certificate against");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (options.cafile.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        throw fail_setup("cannot load the system CA store: " + openssl_reason());
    } else if (SSL_CTX_load_verify_locations(ctx, options.cafile.c_str(), nullptr) != 1) {
      throw fail_setup("cannot load CA file " + options.cafile + ": " + openssl_reason());
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }

  if (!options.client_cert.empty()) {
    const std::string& key = options.client_key.empty() ? options.client_cert : options.client_key;
    if (SSL_CTX_use_certificate_chain_file(ctx, options.client_cert.c_str()) != 1)
      throw fail_setup("cannot load client certificate " + options.client_cert + ": "
                       + openssl_reason());
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw fail_setup("cannot load client key " + key + ": " + openssl_reason());
    if (SSL_CTX_check_private_key(ctx) != 1)
      throw fail_setup("client key " + key + " does not belong to certificate "
                       + options.client_cert);
  }

  t->ssl_.reset(SSL_new(ctx));
  if (!t->ssl_)
    throw fail_setup("SSL_new: " + openssl_reason());
  SSL* ssl = t->ssl_.get();

  if (checks_chain) {
    if (ip) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1)
        throw fail_setup("bad IP address " + host);
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (SSL_set1_host(ssl, host.c_str()) != 1)
        throw fail_setup("bad host name " + host);
    }
  }
  // RFC 6066 forbids IP literals in SNI.
  if (!ip && !host.empty())
    SSL_set_tlsext_host_name(ssl, host.c_str());

  BIO* bio = BIO_new(transport_bio_method());
  if (!bio)
    throw fail_setup("BIO_new: " + openssl_reason());
  BIO_set_data(bio, t.get());
  SSL_set_bio(ssl, bio, bio); // the SSL owns the BIO from here on

  ERR_clear_error();
  int ret = SSL_connect(ssl);
  if (ret == 1) {
    if (!options.fingerprints.empty())
      check_fingerprint(ssl, peer, options.fingerprints);
    return t;
  }

  if (t->io_error_) {
    try {
      std::rethrow_exception(t->io_error_);
    } catch (const imap_error& e) {
      throw imap_error(e.kind(), std::string("TLS handshake failed: ") + e.what());
    }
  }
  long verify = SSL_get_verify_result(ssl);
  if (checks_chain && verify != X509_V_OK)
    throw imap_error(error_kind::tls, "TLS certificate verify failed for " + peer + ": "
                                          + X509_verify_cert_error_string(verify));
  std::string reason = openssl_reason();
  if (reason.empty() && t->eof_)
    reason = "the server closed the connection (is this a TLS port?)";
  if (reason.empty())
    reason = "SSL_connect error " + std::to_string(SSL_get_error(ssl, ret));
  throw imap_error(error_kind::tls, "TLS handshake with " + peer + " failed: " + reason);
}

int tls_transport::bio_read(char* buf, std::size_t n, std::size_t* got) {
  *got = 0;
  if (io_error_ || eof_)
    return 0;
  try {
    std::size_t r = inner_->read_some(buf, n);
    if (r == 0) {
      eof_ = true;
      return 0;
    }
    *got = r;
    return 1;
  } catch (...) {
    io_error_ = std::current_exception();
    return 0;
  }
}

int tls_transport::bio_write(const char* buf, std::size_t n, std::size_t* put) {
  *put = 0;
  if (io_error_)
    return 0;
  try {
    inner_->write_all(std::string_view(buf, n));
    *put = n;
    return 1;
  } catch (...) {
    io_error_ = std::current_exception();
    return 0;
  }
}

void tls_transport::rethrow_io_error() {
  if (io_error_)
    std::rethrow_exception(io_error_);
}

void tls_transport::fail(const char* doing, int ret) {
  rethrow_io_error();
  int err = SSL_get_error(ssl_.get(), ret);
  std::string reason = openssl_reason();
  if (reason.empty())
    reason = "SSL error " + std::to_string(err);
  throw imap_error(error_kind::tls,
                   std::string("TLS error ") + doing + " " + peer() + ": " + reason);
}

std::size_t tls_transport::read_some(char* buf, std::size_t n) {
  if (n == 0)
    return 0;
  ERR_clear_error();
  std::size_t got = 0;
  int ret = SSL_read_ex(ssl_.get(), buf, n, &got);
  if (ret == 1)
    return got;
  rethrow_io_error();
  int err = SSL_get_error(ssl_.get(), ret);
  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && eof_))
    return 0;
  fail("reading from", ret);
}

void tls_transport::write_all(std::string_view data) {
  while (!data.empty()) {
    ERR_clear_error();
    std::size_t put = 0;
    int ret = SSL_write_ex(ssl_.get(), data.data(), data.size(), &put);
    if (ret != 1)
      fail("writing to", ret);
    data.remove_prefix(put);
  }
}

std::string tls_transport::protocol_version() const {
  return SSL_get_version(ssl_.get());
}

std::string tls_transport::cipher() const {
  const char* name = SSL_get_cipher_name(ssl_.get());
  return name ? name : "";
}

std::string tls_transport::peer_certificate_sha256() const {
  X509* cert = SSL_get0_peer_certificate(ssl_.get());
  return cert ? hex_digest(cert, EVP_sha256()) : std::string();
}

std::string fingerprint_digest_name(std::size_t hex_digits) {
  const EVP_MD* md = fingerprint_digest(hex_digits);
  return md == EVP_sha1()     ? "SHA-1"
         : md == EVP_sha224() ? "SHA-224"
         : md == EVP_sha256() ? "SHA-256"
         : md == EVP_sha384() ? "SHA-384"
         : md == EVP_sha512() ? "SHA-512"
                              : "";
}

} // namespace oimap::protocol
