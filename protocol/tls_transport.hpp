// TLS (OpenSSL 3) layered over any transport, so implicit TLS and STARTTLS are the same code.
#pragma once

#include "protocol/transport.hpp"

#include <exception>
#include <memory>
#include <string>
#include <vector>

// OpenSSL's own struct names, so this header does not pull in <openssl/ssl.h>.
struct ssl_st;
struct ssl_ctx_st;

namespace oimap::protocol {

struct tls_options {
  // The name the certificate must match: a DNS name (also sent as SNI) or an
  // IP address literal (checked against the IP SANs, never sent as SNI).
  std::string host;
  // PEM file of trusted CAs (sslcacertfile); empty: the system default store.
  std::string cafile;
  // false turns certificate and host name verification off; only an
  // explicit configuration option may set it.
  bool verify = true;
  // cert_fingerprint: lower-case hex digests (SHA-1, -224, -256, -384 or
  // -512, told apart by length) one of which the server's certificate must
  // have. Checked whatever verify says; without a cafile they replace the
  // CA and host name checks (the pinned certificate is the trust), as in
  // OfflineIMAP.
  std::vector<std::string> fingerprints{};
  // sslclientcert, sslclientkey: a PEM certificate (chain) to present, and
  // its key (empty: in the certificate's file). Empty: none.
  std::string client_cert{};
  std::string client_key{};
};

// The digest a fingerprint of this many hex digits is ("SHA-256"), or empty
// for a length no supported digest has.
std::string fingerprint_digest_name(std::size_t hex_digits);

struct ssl_ctx_deleter {
  void operator()(ssl_ctx_st* p) const; // SSL_CTX_free
};
struct ssl_deleter {
  void operator()(ssl_st* p) const; // SSL_free
};
using ssl_ctx_ptr = std::unique_ptr<ssl_ctx_st, ssl_ctx_deleter>;
using ssl_ptr = std::unique_ptr<ssl_st, ssl_deleter>;

class tls_transport final : public transport {
public:
  // Runs the TLS handshake (TLS 1.2 or later) over inner, which it takes
  // over. Throws imap_error(tls) naming the host and the reason, e.g.
  // "TLS certificate verify failed for localhost:4433: hostname mismatch".
  static std::unique_ptr<tls_transport> handshake(std::unique_ptr<transport> inner,
                                                  const tls_options& options);

  ~tls_transport() override;

  std::size_t read_some(char* buf, std::size_t n) override;
  void write_all(std::string_view data) override;
  // Shuts the inner transport down, which unblocks OpenSSL's pending read.
  void shutdown() override { inner_->shutdown(); }
  const std::string& peer() const override { return inner_->peer(); }
  bool on_this_host() const override { return inner_->on_this_host(); }

  // "TLSv1.3", and the cipher suite name, for logs.
  std::string protocol_version() const;
  std::string cipher() const;
  // SHA-256 of the peer certificate in lowercase hex (for fingerprint pinning).
  std::string peer_certificate_sha256() const;

private:
  explicit tls_transport(std::unique_ptr<transport> inner);

  // The custom BIO calls the inner transport through these; an exception
  // cannot cross OpenSSL's C frames, so it is parked in io_error_ and
  // rethrown once OpenSSL returns.
  friend struct tls_bio_access;
  int bio_read(char* buf, std::size_t n, std::size_t* got);
  int bio_write(const char* buf, std::size_t n, std::size_t* put);
  void rethrow_io_error();

  [[noreturn]] void fail(const char* doing, int ret);

  std::unique_ptr<transport> inner_;
  ssl_ctx_ptr ctx_;
  ssl_ptr ssl_;
  std::exception_ptr io_error_;
  bool eof_ = false;
};

} // namespace oimap::protocol
