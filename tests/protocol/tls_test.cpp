// TLS transport against a real `openssl s_server` with a throwaway CA: verification outcomes and
// I/O.
#include "protocol/imap_error.hpp"
#include "protocol/tcp_transport.hpp"
#include "protocol/tls_transport.hpp"

#include "support/tcp_listener.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <future>
#include <netinet/in.h>
#include <spawn.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

using namespace oimap::protocol;
namespace fs = std::filesystem;

namespace {

fs::path make_temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "oimap-tls-XXXXXX").string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

void run(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}

// A CA and a server certificate for DNS:localhost and IP:127.0.0.1, made once
// per test run with the openssl CLI.
struct test_pki {
  fs::path dir = make_temp_dir();
  fs::path ca = dir / "ca.pem";
  fs::path cert = dir / "server.pem";
  fs::path key = dir / "server.key";

  test_pki() {
    std::string d = dir.string();
    std::ofstream(dir / "ext.cnf") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                   << "basicConstraints=CA:FALSE\n";
    run("cd " + d
        + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
          " -keyout ca.key -out ca.pem -days 2 -subj '/CN=oimap test CA' 2>/dev/null");
    run("cd " + d
        + " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
          " -keyout server.key -out server.csr -subj '/CN=oimap test server' 2>/dev/null");
    run("cd " + d
        + " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
          " -out server.pem -days 2 -extfile ext.cnf 2>/dev/null");
    // A client certificate from the same CA, for servers that ask for one.
    run("cd " + d
        + " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
          " -keyout client.key -out client.csr -subj '/CN=oimap test client' 2>/dev/null");
    run("cd " + d
        + " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
          " -out client.pem -days 2 2>/dev/null && cat client.pem client.key > client-both.pem");
  }
  ~test_pki() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const test_pki& pki() {
  static test_pki p;
  return p;
}

std::uint16_t free_port() {
  oimap::test::tcp_listener l; // bound, so the kernel reserved it, then released
  return l.port();
}

// A child process killed and reaped when the test ends, pass or fail.
class child_process {
public:
  explicit child_process(std::vector<std::string> argv, const fs::path& log) {
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
  }
  ~child_process() {
    ::kill(pid_, SIGTERM);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  bool running() const {
    int status;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

private:
  pid_t pid_ = -1;
};

// Polls connect() until the server accepts, with a deadline instead of a sleep.
void wait_for_port(std::uint16_t port, const child_process& proc) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!proc.running())
      FAIL("server exited before listening on port " << port);
    try {
      tcp_transport::connect("127.0.0.1", port, 1);
      return;
    } catch (const imap_error&) {
      std::this_thread::yield();
    }
  }
  FAIL("server on port " << port << " did not come up");
}

// `openssl s_server -www` on all interfaces: it answers "GET /" with an HTTP
// status page, which gives the tests real application data over TLS.
struct tls_server {
  std::uint16_t port = free_port();
  child_process proc{{"openssl", "s_server", "-accept", std::to_string(port), "-cert",
                      pki().cert.string(), "-key", pki().key.string(), "-www", "-naccept", "1000"},
                     pki().dir / ("s_server-" + std::to_string(port) + ".log")};
  tls_server() { wait_for_port(port, proc); }
};

tls_server& server() {
  static tls_server s;
  return s;
}

std::unique_ptr<tls_transport> connect_tls(const std::string& addr, tls_options opts) {
  auto tcp = tcp_transport::connect(addr, server().port, 10);
  return tls_transport::handshake(std::move(tcp), opts);
}

std::string get_page(transport& t) {
  t.write_all("GET / HTTP/1.0\r\n\r\n");
  std::string page;
  char buf[4096];
  for (std::size_t n; (n = t.read_some(buf, sizeof buf)) > 0;)
    page.append(buf, n);
  return page;
}

// The same, but it requires a client certificate from the test CA.
struct client_cert_server {
  std::uint16_t port = free_port();
  child_process proc{{"openssl", "s_server", "-accept", std::to_string(port), "-cert",
                      pki().cert.string(), "-key", pki().key.string(), "-www", "-naccept", "1000",
                      "-Verify", "1", "-CAfile", pki().ca.string()},
                     pki().dir / ("s_server-" + std::to_string(port) + ".log")};
  client_cert_server() { wait_for_port(port, proc); }
};

// A page fetched from the client-certificate server, or the error that stopped it.
std::string page_with_client_cert(const tls_options& opts) {
  static client_cert_server s;
  try {
    auto tcp = tcp_transport::connect("localhost", s.port, 10);
    auto t = tls_transport::handshake(std::move(tcp), opts);
    return get_page(*t);
  } catch (const imap_error& e) {
    return std::string("error: ") + e.what();
  }
}

std::string tls_failure(const std::string& addr, const tls_options& opts) {
  try {
    connect_tls(addr, opts);
  } catch (const imap_error& e) {
    CHECK(e.kind() == error_kind::tls);
    return e.what();
  }
  return "no error";
}

// The server certificate's fingerprint as the openssl CLI computes it (the
// independent answer): lower-case hex without colons.
std::string cli_fingerprint(const std::string& digest) {
  const std::string cmd =
      "openssl x509 -in " + pki().cert.string() + " -noout -fingerprint -" + digest;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char line[512] = {};
  const bool got = std::fgets(line, sizeof line, p) != nullptr;
  ::pclose(p);
  REQUIRE(got);
  std::string text = line;
  std::string hex;
  for (char c : text.substr(text.find('=') + 1))
    if (std::isxdigit(static_cast<unsigned char>(c)))
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return hex;
}

} // namespace

TEST_CASE("TLS verifies the certificate against sslcacertfile and the DNS name", "[tls]") {
  auto t = connect_tls("localhost", {"localhost", pki().ca.string(), true});
  CHECK((t->protocol_version() == "TLSv1.3" || t->protocol_version() == "TLSv1.2"));
  CHECK(t->peer_certificate_sha256().size() == 64);
  std::string page = get_page(*t);
  CHECK(page.rfind("HTTP/1.0 200 ok", 0) == 0);
}

TEST_CASE("TLS to an IP literal checks the IP SAN", "[tls]") {
  auto t = connect_tls("127.0.0.1", {"127.0.0.1", pki().ca.string(), true});
  CHECK(get_page(*t).rfind("HTTP/1.0 200 ok", 0) == 0);
}

TEST_CASE("TLS fails for a name or address the certificate does not hold", "[tls]") {
  std::string port = std::to_string(server().port);
  CHECK(tls_failure("127.0.0.1", {"mail.example.com", pki().ca.string(), true})
        == "TLS certificate verify failed for 127.0.0.1:" + port + ": hostname mismatch");
  // 127.0.0.2 is loopback on Linux, but not in the certificate.
  CHECK(tls_failure("127.0.0.2", {"127.0.0.2", pki().ca.string(), true})
        == "TLS certificate verify failed for 127.0.0.2:" + port + ": IP address mismatch");
}

TEST_CASE("TLS fails against the system store for a private CA", "[tls]") {
  std::string msg = tls_failure("localhost", {"localhost", "", true});
  CHECK_THAT(msg, Catch::StartsWith("TLS certificate verify failed for localhost:"
                                    + std::to_string(server().port)));
  CHECK_THAT(msg, Catch::Contains("local issuer") || Catch::Contains("self-signed"));
}

TEST_CASE("TLS with verify=false accepts any certificate and name", "[tls]") {
  auto t = connect_tls("127.0.0.1", {"mail.example.com", "", false});
  CHECK(get_page(*t).rfind("HTTP/1.0 200 ok", 0) == 0);
}

TEST_CASE("a pinned fingerprint is trusted for itself, in any of the digests", "[tls]") {
  const auto sha256 = cli_fingerprint("sha256");
  REQUIRE(sha256.size() == 64);
  // Neither the private CA nor this name would pass the usual checks.
  {
    auto t = connect_tls("127.0.0.1", {"mail.example.com", "", true, {sha256}});
    CHECK(get_page(*t).rfind("HTTP/1.0 200 ok", 0) == 0);
  } // s_server serves one connection at a time, this one until it closes
  for (const char* digest : {"sha1", "sha224", "sha384", "sha512"})
    CHECK_NOTHROW(connect_tls("localhost", {"localhost", "", true, {cli_fingerprint(digest)}}));
  // One of several is enough.
  CHECK_NOTHROW(connect_tls("localhost", {"localhost", "", true, {std::string(40, '0'), sha256}}));
}

TEST_CASE("a certificate that matches no pinned fingerprint is refused, showing its own", "[tls]") {
  const std::string port = std::to_string(server().port);
  const std::string wrong(64, 'a');
  CHECK(tls_failure("127.0.0.1", {"127.0.0.1", pki().ca.string(), true, {wrong}})
        == "TLS certificate of 127.0.0.1:" + port
               + " matches no cert_fingerprint; its fingerprint is SHA-256 "
               + cli_fingerprint("sha256"));
  // ssl_verify = no does not turn a pin off.
  CHECK_THAT(tls_failure("127.0.0.1", {"127.0.0.1", "", false, {wrong, std::string(40, 'b')}}),
             Catch::EndsWith("its fingerprint is SHA-256 " + cli_fingerprint("sha256") + ", SHA-1 "
                             + cli_fingerprint("sha1")));
}

TEST_CASE("a pin with sslcacertfile too: the chain and the name are checked as well", "[tls]") {
  const auto pin = cli_fingerprint("sha256");
  CHECK_NOTHROW(connect_tls("localhost", {"localhost", pki().ca.string(), true, {pin}}));
  CHECK_THAT(tls_failure("127.0.0.1", {"mail.example.com", pki().ca.string(), true, {pin}}),
             Catch::Contains("hostname mismatch"));
  // The server's own certificate is no CA: the chain fails despite the pin.
  CHECK_THAT(tls_failure("localhost", {"localhost", pki().cert.string(), true, {pin}}),
             Catch::StartsWith("TLS certificate verify failed"));
}

TEST_CASE("sslclientcert and sslclientkey: the client's certificate is presented", "[tls]") {
  const auto dir = pki().dir;
  tls_options with{"localhost", pki().ca.string(), true};
  with.client_cert = (dir / "client.pem").string();
  with.client_key = (dir / "client.key").string();
  CHECK_THAT(page_with_client_cert(with), Catch::StartsWith("HTTP/1.0 200 ok"));
  // The key in the certificate's own file.
  tls_options both{"localhost", pki().ca.string(), true};
  both.client_cert = (dir / "client-both.pem").string();
  CHECK_THAT(page_with_client_cert(both), Catch::StartsWith("HTTP/1.0 200 ok"));
  // Without one, the server ends the connection.
  CHECK_THAT(page_with_client_cert({"localhost", pki().ca.string(), true}),
             Catch::StartsWith("error: "));
}

TEST_CASE("a client certificate that cannot be used is a clear TLS error", "[tls]") {
  const auto dir = pki().dir;
  tls_options missing{"localhost", pki().ca.string(), true};
  missing.client_cert = (dir / "none.pem").string();
  CHECK_THAT(tls_failure("localhost", missing),
             Catch::Contains("cannot load client certificate " + missing.client_cert));
  tls_options mismatched{"localhost", pki().ca.string(), true};
  mismatched.client_cert = (dir / "client.pem").string();
  mismatched.client_key = pki().key.string(); // the server's
  CHECK_THAT(tls_failure("localhost", mismatched),
             Catch::Contains("cannot load client key") || Catch::Contains("does not belong"));
}

TEST_CASE("a missing CA file is a clear TLS error", "[tls]") {
  std::string msg = tls_failure("localhost", {"localhost", "/nonexistent/ca.pem", true});
  CHECK_THAT(msg, Catch::StartsWith("TLS setup for localhost:" + std::to_string(server().port)
                                    + " failed: cannot load CA file /nonexistent/ca.pem"));
}

TEST_CASE("TLS to a plaintext server fails the handshake with a reason", "[tls]") {
  // A plaintext IMAP-style greeting where a ServerHello should be.
  oimap::test::tcp_listener listener;
  auto srv = std::async(std::launch::async, [&listener] {
    int fd = listener.accept();
    std::string greeting = "* OK IMAP4rev1 ready, plaintext only\r\n";
    (void)::write(fd, greeting.data(), greeting.size());
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
    ::close(fd);
  });
  auto tcp = tcp_transport::connect("127.0.0.1", listener.port(), 10);
  try {
    tls_transport::handshake(std::move(tcp), {"localhost", pki().ca.string(), true});
    FAIL("handshake succeeded");
  } catch (const imap_error& e) {
    CHECK(e.kind() == error_kind::tls);
    CHECK_THAT(e.what(), Catch::StartsWith("TLS handshake with 127.0.0.1:"
                                           + std::to_string(listener.port()) + " failed: "));
  }
  srv.get();
}

TEST_CASE("shutdown unblocks a TLS reader in another thread", "[tls]") {
  auto t = connect_tls("localhost", {"localhost", pki().ca.string(), true});
  // s_server -www waits for a request, so this read blocks until shutdown.
  auto reader = std::async(std::launch::async, [&] {
    char buf[64];
    try {
      t->read_some(buf, sizeof buf);
      return std::string("returned");
    } catch (const imap_error& e) {
      return std::string(to_string(e.kind()));
    }
  });
  CHECK(reader.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  t->shutdown();
  REQUIRE(reader.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK(reader.get() == "closed");
}
