// A pipelined IMAP client session: connect, STARTTLS, authenticate, and the commands sync needs.
#pragma once

#include "protocol/command.hpp"
#include "protocol/parser.hpp"
#include "protocol/proxy_handshake.hpp"
#include "protocol/transport.hpp"
#include "storage/flags.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oimap::protocol {

struct fetch_items;

struct connect_options {
  std::string host;
  std::uint16_t port = 143;
  bool ssl = false;      // implicit TLS from the first byte (imaps, usually 993)
  bool starttls = false; // upgrade a plain connection; fails closed when not offered
  std::string cafile;    // sslcacertfile (PEM); empty: the system store
  bool verify = true;    // certificate and host name checks; false only by explicit option
  std::vector<std::string> fingerprints; // cert_fingerprint (see tls_options)
  std::string client_cert;               // sslclientcert (see tls_options)
  std::string client_key;                // sslclientkey
  int timeout_seconds = 0;               // socktimeout for connect, reads and writes; 0 = none
  address_family family = address_family::any; // ipv6
  // A command to run instead of connecting (tunnel_transport); nothing is
  // layered on it. With expect_preauth it must greet with PREAUTH.
  std::string tunnel;
  bool expect_preauth = false;
  // The account's proxy: the connection goes to it, and through it to host.
  std::optional<proxy_options> proxy;
  std::string user;
  std::string password;
  // remote_identity: the user to act as (SASL PLAIN authorization id), user
  // and password being a master's; empty: user's own mailbox. LOGIN cannot
  // carry it and is then not tried.
  std::string authzid;
  // Tried in this order, like OfflineIMAP's auth_mechanisms: "PLAIN"
  // (AUTHENTICATE PLAIN, when the server offers AUTH=PLAIN) and "LOGIN" (the
  // LOGIN command, unless LOGINDISABLED). Empty: PLAIN, then LOGIN.
  std::vector<std::string> auth_mechanisms;
  // Every line sent ('>') and received ('<'), without CRLF. Credentials show
  // as <redacted>/<password>, literals as "{N bytes}".
  std::function<void(char dir, std::string_view line)> trace;
};

struct list_entry {
  std::string name;                    // raw mailbox name as on the wire (modified UTF-7)
  char delimiter = 0;                  // hierarchy delimiter, 0 for NIL
  std::vector<std::string> attributes; // \HasNoChildren, \Noselect, ... as sent
};

struct mailbox_info {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 0;
  std::uint32_t exists = 0;        // MESSAGES for STATUS
  std::uint64_t highestmodseq = 0; // 0 without CONDSTORE or with NOMODSEQ
  bool read_only = false;
};

// One mailbox of status_many: a NO for one mailbox does not spoil the others.
struct status_result {
  std::string mailbox;
  bool ok = false;
  mailbox_info info;
  std::string error; // the server's text when !ok
};

struct message_flags {
  std::uint32_t uid = 0;
  storage::flag_set flags;
  std::uint64_t modseq = 0; // 0 unless CONDSTORE is on
};

// Receives message bodies as they stream off the socket. For every literal
// the server sends: begin(size), data(chunk)..., end(), then exactly one of
// message() (the FETCH response it came in is complete, and it is the body
// of a requested uid) or discard() (anything else: drop what was written).
// The uid is only known at message(), since servers may send it after the
// body. An exception thrown from here ends the session.
class body_consumer : public literal_sink {
public:
  virtual void message(std::uint32_t uid, storage::flag_set flags, std::string internaldate) = 0;
  virtual void discard() {}
};

struct flag_change {
  std::uint32_t uid = 0;
  storage::flag_set add;
  storage::flag_set remove;
};

struct append_request {
  storage::flag_set flags;
  std::string internaldate; // IMAP date-time ("17-Jul-1996 02:44:25 -0700"), or empty
  std::uint64_t size = 0;   // exact number of bytes produce() writes
  // Writes the message by calling write() with consecutive pieces.
  std::function<void(const std::function<void(std::string_view)>& write)> produce;
};

struct append_result {
  bool ok = false;
  std::uint32_t uidvalidity = 0; // from APPENDUID (UIDPLUS), else 0
  std::uint32_t uid = 0;         // from APPENDUID, else 0
  std::string error;             // the server's text when !ok, e.g. "[TRYCREATE] ..."
};

// One authenticated connection. Not thread-safe, except shutdown(). Every
// failure throws imap_error; after one that leaves the connection in an
// unknown state (I/O, parse errors, BYE) every later call throws closed.
class session {
public:
  // Connects, reads the greeting, upgrades with STARTTLS if asked (never
  // falling back to plaintext), authenticates and enables CONDSTORE/QRESYNC
  // when offered. connected: open_transport's for these options, made
  // earlier; null to connect here.
  static std::unique_ptr<session> connect(const connect_options& options,
                                          std::unique_ptr<transport> connected = nullptr);
  // The connection alone, before its greeting is read: TCP, then the TLS
  // handshake with options.ssl. Needs no credentials.
  static std::unique_ptr<transport> open_transport(const connect_options& options);

  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  const std::set<std::string>& capabilities() const { return capabilities_; } // upper-cased
  bool has_capability(std::string_view name) const;                           // case-insensitive
  bool has_condstore() const { return condstore_; }                           // MODSEQ is reported
  bool has_qresync() const { return qresync_; } // ENABLE QRESYNC succeeded
  bool server_on_this_host() const;             // see transport::on_this_host
  const std::string& peer() const;
  const std::string& user() const { return options_.user; } // as logged in
  // False once an error left the connection in an unknown state (or it was
  // closed): every later command would throw.
  bool usable() const { return closed_reason_.empty(); }
  // The mailbox the last successful SELECT/EXAMINE opened; empty if none.
  const std::string& selected() const { return selected_; }

  // LIST reference pattern.
  std::vector<list_entry> list(std::string_view reference, std::string_view pattern);
  // LIST reference pattern RETURN (STATUS (...)) (RFC 5819, needs LIST-STATUS):
  // the listing and each selectable mailbox's STATUS in one round trip.
  struct listing {
    std::vector<list_entry> entries;
    std::vector<status_result> statuses; // as the server sent them, each ok
  };
  // LSUB reference pattern: the subscribed mailboxes (subscribedonly).
  std::vector<list_entry> lsub(std::string_view reference, std::string_view pattern);
  listing list_status(std::string_view reference, std::string_view pattern);
  // CREATE; an existing mailbox ([ALREADYEXISTS]) is success.
  void create(std::string_view mailbox);
  struct prefetch;
  // SELECT (or EXAMINE when readonly); with also, bodies follow (see prefetch).
  mailbox_info select(std::string_view mailbox, bool readonly, const prefetch* also = nullptr);
  // What changed in a mailbox since a known state, from one QRESYNC SELECT.
  struct resync {
    std::vector<message_flags> changed;  // new or re-flagged since modseq, sorted by uid
    std::vector<std::uint32_t> vanished; // expunged since modseq (may include older ones)
    bool complete = true; // false: a VANISHED set was too large to list; fetch everything
  };
  // SELECT (or EXAMINE) with QRESYNC (RFC 7162 §3.2.5): the server reports, in
  // the same round trip, what changed and what vanished since modseq. Needs
  // has_qresync(); when uidvalidity no longer matches, the server reports
  // nothing extra (and info.uidvalidity tells).
  // Bodies to fetch in the same round trip as a SELECT: "UID FETCH set
  // (UID FLAGS BODY.PEEK[])" goes out right behind it, and each body the
  // server sends reaches the consumer once.
  struct prefetch {
    std::string uid_set;
    body_consumer* consumer = nullptr;
  };
  mailbox_info select_qresync(std::string_view mailbox, bool readonly, std::uint32_t uidvalidity,
                              std::uint64_t modseq, resync& out, const prefetch* also = nullptr);

  // EXAMINE with QRESYNC (as select_qresync) of many mailboxes, each with its
  // prefetch, all pipelined: one round trip for them all instead of one
  // each. done(i, ...) is called for requests[i] once its replies are in,
  // in order; a refused EXAMINE or FETCH gives ok = false (and the error),
  // and the others go on. Needs has_qresync(). Afterwards the last mailbox
  // whose EXAMINE succeeded is selected (if it was the last one asked).
  struct examine_request {
    std::string mailbox;
    std::uint32_t uidvalidity = 0;
    std::uint64_t modseq = 0;
    std::optional<prefetch> also;
  };
  struct examined {
    bool ok = false;
    mailbox_info info;
    resync changes;
    std::string error; // the server's refusal when !ok
  };
  void examine_many(const std::vector<examine_request>& requests,
                    const std::function<void(std::size_t, examined&&)>& done);

  // STATUS (MESSAGES UIDNEXT UIDVALIDITY [HIGHESTMODSEQ]).
  mailbox_info status(std::string_view mailbox);
  // The same for many mailboxes, pipelined: no command waits for another's
  // reply (only the in-flight bound of session_wire.cpp's sending rule).
  std::vector<status_result> status_many(const std::vector<std::string>& mailboxes);

  // UID SEARCH criteria (protocol text the caller built, e.g. "SINCE
  // 1-Feb-2026" or "LARGER 100000"): the matching uids, sorted.
  std::vector<std::uint32_t> uid_search(std::string_view criteria);

  // UID FETCH set (UID FLAGS [MODSEQ]) [(CHANGEDSINCE n)], sorted by uid.
  // changedsince is ignored (everything is fetched) without CONDSTORE.
  std::vector<message_flags> fetch_flags(std::string_view uid_set, std::uint64_t changedsince = 0);

  // UID FETCH (UID FLAGS BODY.PEEK[]) for uids, in commands of
  // under 8 KB, pipelined (up to 64 KB of them unanswered at a time, which
  // keeps a huge fragmented uid list deadlock-free). Returns the requested
  // uids the server did not return (expunged meanwhile), sorted.
  // with_internaldate adds INTERNALDATE (a stat per message for some servers).
  std::vector<std::uint32_t> fetch_bodies(const std::vector<std::uint32_t>& uids,
                                          body_consumer& consumer, bool with_internaldate = false);
  // The same for every message of a uid set such as "1:*" (one command):
  // each body the server sends is delivered. Returns how many were.
  std::size_t fetch_bodies(std::string_view uid_set, body_consumer& consumer);

  // UID STORE set +FLAGS.SILENT (add) and -FLAGS.SILENT (remove), pipelined.
  void store_flags(std::string_view uid_set, storage::flag_set add, storage::flag_set remove);
  // Many changes at once: uids with identical (add, remove) share commands.
  void store_flags(const std::vector<flag_change>& changes);

  // APPEND each message, pipelined (LITERAL+, else waiting for "+" before
  // each body). Several go as one MULTIAPPEND (RFC 3502) when the server has
  // it and LITERAL+: one transaction for the server instead of one each; if
  // it refuses the lot, they are sent again one by one, so one bad message
  // does not hold back the others (produce() is then called a second time).
  // Results are in request order.
  std::vector<append_result> append(std::string_view mailbox, std::vector<append_request> messages);

  // store_flags(changes), sent now and answered later: the server works on
  // the STORE while the caller prepares its next command. An APPEND then
  // shares the round trip, reading those answers with its own; a command
  // whose untagged data matters (SELECT, FETCH, ...) reads them before it
  // goes. A refused STORE is thrown by that next command, an APPEND's once
  // its own replies are in (then lost: the upload journal covers them).
  // More commands than the pipeline's window allows go as store_flags().
  void store_flags_ahead(const std::vector<flag_change>& changes);
  // Reads the answers to what went ahead, if any; throws a refusal.
  void settle();

  // UID EXPUNGE (UIDPLUS); without UIDPLUS, a plain EXPUNGE, which removes
  // every \Deleted message of the mailbox.
  void uid_expunge(std::string_view uid_set);
  void uid_expunge(const std::vector<std::uint32_t>& uids);
  void expunge();
  void noop();
  // LOGOUT, then closes; the server closing right after BYE is fine.
  void logout();

  // Thread-safe: a call blocked in another thread fails with imap_error(closed).
  void shutdown();
  // Sends LOGOUT and closes without waiting for the reply (end of a run).
  void close();

private:
  struct outgoing;
  struct run_state;
  struct body_sink;
  struct select_replies;
  using untagged_handler = std::function<void(const response&)>;
  // Called as each command's tagged reply arrives, with its index.
  using answered_handler = std::function<void(std::size_t, const response&)>;

  session(std::unique_ptr<transport> t, const connect_options& options);

  void open();
  void read_greeting();
  void refresh_capabilities();
  void start_tls();
  void authenticate();
  void enable_extensions();
  // ENABLE CONDSTORE QRESYNC (the server answers with those it has).
  static command enable_command();
  void note_enabled(const std::set<std::string>& enabled);

  outgoing make(const command& cmd, std::string what);
  // Sends cmds pipelined under the one sending rule, reads until every one
  // is answered, hands untagged data to on_untagged; returns the tagged
  // replies in command order. NO and BAD are returned, not thrown.
  std::vector<response> run(std::vector<outgoing>& cmds, const untagged_handler& on_untagged = {});
  // run() where the first `sent` commands went out already (store_flags_ahead).
  std::vector<response> run_sent(std::vector<outgoing>& cmds, std::size_t sent,
                                 const untagged_handler& on_untagged,
                                 const answered_handler& on_answered = {});
  // run() with every literal streamed to sink, which is settled afterwards.
  std::vector<response> run_streaming(std::vector<outgoing>& cmds, body_sink& sink,
                                      const untagged_handler& on_untagged);
  response run_one(const command& cmd, std::string what, const untagged_handler& on_untagged = {});
  void fetch_bodies_of(const std::vector<std::string>& sets, body_consumer& consumer,
                       const std::function<bool(std::uint32_t)>& claim, bool with_internaldate);
  // SELECT/EXAMINE, with QRESYNC (uidvalidity, modseq) when given; out
  // collects the changes QRESYNC reports.
  static command select_command(std::string_view mailbox, bool readonly,
                                std::optional<std::pair<std::uint32_t, std::uint64_t>> qresync);
  mailbox_info select_with(std::string_view mailbox, bool readonly,
                           std::optional<std::pair<std::uint32_t, std::uint64_t>> qresync,
                           resync* out, const prefetch* also = nullptr);
  outgoing body_fetch(const std::string& uid_set, bool with_internaldate);
  // Hands over the body of a decoded FETCH reply (if claim says so; else
  // it is discarded), and whatever else streamed in that reply.
  void deliver_body(fetch_items& items, body_sink& sink,
                    const std::function<bool(std::uint32_t)>& claim);
  bool sendable(const run_state& st) const;
  void send_ready(run_state& st);
  void send_body(const outgoing& cmd);
  void send_literal(const outgoing& cmd, const append_request& body);
  // APPEND of one message, its body streamed as a literal (non-synchronizing:
  // LITERAL+/-, without waiting for the server's "+").
  outgoing append_command(std::string_view mailbox, const append_request& m, std::string what,
                          bool non_sync);
  // The MULTIAPPEND of append(); nullopt if the server refused it.
  std::optional<std::vector<append_result>>
  append_together(std::string_view mailbox, const std::vector<append_request>& messages);
  // store_flags()'s commands: uids with identical (add, remove) share one.
  std::vector<outgoing> store_commands(const std::vector<flag_change>& changes);
  void handle_common(const response& r, std::string_view what);

  // One complete response; waiting_for names the command, for errors.
  response read_response(std::string_view waiting_for);
  void feed_some();

  void write(std::string_view bytes);
  void flush();
  void trace_out(std::string_view text);
  void check_usable() const;
  void expect_ok(const response& r, std::string_view what);
  [[noreturn]] void fail_reply(const response& r, std::string_view what);

  std::unique_ptr<transport> transport_;
  connect_options options_;
  response_parser parser_;
  tag_generator tags_{"A"};

  std::set<std::string> capabilities_;
  bool preauth_ = false;
  bool condstore_ = false;
  bool qresync_ = false;
  bool enabled_ = false; // ENABLE answered (CONDSTORE/QRESYNC as it said)
  bool logging_out_ = false;
  bool bye_seen_ = false;
  // Why no further command may run ("logged out", ...); empty while usable.
  std::string closed_reason_;
  std::string selected_;

  std::vector<outgoing> ahead_; // sent by store_flags_ahead, not yet answered
  std::string wbuf_;
  std::vector<char> rbuf_;
  std::size_t rpos_ = 0;
  std::size_t rend_ = 0;
  std::uint64_t literal_left_ = 0; // bytes of a server literal still to feed
  std::string line_tail_;          // last bytes of the current line, to spot "{n}"
  std::string trace_line_;         // the response being received, for the trace
};

} // namespace oimap::protocol
