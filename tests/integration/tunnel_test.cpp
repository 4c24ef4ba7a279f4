// preauthtunnel and transporttunnel against the private Dovecot: the command is the connection.
#include <catch2/catch.hpp>

#include "support/sync_harness.hpp"

using namespace oimap::test;

namespace {

// The config with the server reached through a command, not host:port.
void write_tunnel_config(sync_env& env, const std::string& option,
                         const std::string& password = "pw") {
  env.write_config({}, {}, {}, password);
  std::string text = read_file(env.config());
  const auto host = text.find("remotehost = 127.0.0.1\n");
  REQUIRE(host != std::string::npos);
  text.replace(host, std::string("remotehost = 127.0.0.1\n").size(), option + "\n");
  write_file(env.config(), text);
}

} // namespace

TEST_CASE("preauthtunnel: Dovecot's imap on the command's pipes, logged in already",
          "[integration]") {
  sync_env env;
  REQUIRE(env.imap().command("CREATE Work").ok());
  REQUIRE(env.imap().append("Work", make_message("w1", "x\r\n")).ok());
  REQUIRE(env.imap().append("INBOX", make_message("i1", "x\r\n")).ok());
  env.close_imap();
  // Dovecot's own imap process, as `ssh host /usr/lib/dovecot/imap` would run it.
  write_tunnel_config(env,
                      "preauthtunnel = " + (source_dir() / "scripts" / "private-dovecot").string()
                          + " doveadm " + env.server().dir().string() + " exec imap -u alice");
  // No user, no password needed: the tunnel is logged in.
  std::string text = read_file(env.config());
  for (const std::string line : {"remoteuser = alice\n", "remotepass = pw\n"})
    text.erase(text.find(line), line.size());
  write_file(env.config(), text);

  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(maildir_messages(env.local_folder("Work")) == maildir_messages(env.server_folder("Work")));
  CHECK(maildir_messages(env.local_folder("INBOX")).size() == 1);
  // And back: a message written here goes up through the tunnel.
  write_file(env.local_folder("Work") / "new" / "1700000000.M1.here",
             lf(make_message("up", "x\r\n")));
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(maildir_messages(env.server_folder("Work")).size() == 2);

  // A command that greets without PREAUTH is refused, not logged in to.
  write_tunnel_config(env, "preauthtunnel = printf '* OK hello\\r\\n'; exec cat");
  r = env.oimap({"-o"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("greeted without PREAUTH") != std::string::npos);
}

TEST_CASE("transporttunnel: the command carries the bytes, the login happens as usual",
          "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("i1", "x\r\n")).ok());
  env.close_imap();
  const auto relay = env.dir() / "relay.py";
  write_file(relay, "import os, socket, sys, threading\n"
                    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
                    "def up():\n"
                    "    while data := os.read(0, 65536):\n"
                    "        s.sendall(data)\n"
                    "    s.shutdown(socket.SHUT_WR)\n"
                    "threading.Thread(target=up, daemon=True).start()\n"
                    "try:\n"
                    "    while data := s.recv(65536):\n"
                    "        os.write(1, data)\n"
                    "except BrokenPipeError:\n"
                    "    pass\n");
  write_tunnel_config(env, "transporttunnel = python3 " + relay.string() + " "
                               + std::to_string(env.server().port()));
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.out << r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  // The login went through the tunnel.
  CHECK(r.err.find("> A1 AUTHENTICATE PLAIN <redacted>") != std::string::npos);
  CHECK(maildir_messages(env.local_folder("INBOX")).size() == 1);
  // A wrong password is an auth error, as over a socket.
  write_tunnel_config(env,
                      "transporttunnel = python3 " + relay.string() + " "
                          + std::to_string(env.server().port()),
                      "wrong");
  r = env.oimap({"-o"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("alice") != std::string::npos);
}
