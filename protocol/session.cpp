// The IMAP session: greeting, STARTTLS, authentication, and the commands sync needs.
#include "protocol/session.hpp"

#include "protocol/fetch_items.hpp"
#include "protocol/imap_error.hpp"
#include "protocol/seqset.hpp"
#include "protocol/session_wire.hpp"
#include "protocol/tcp_transport.hpp"
#include "protocol/tls_transport.hpp"
#include "protocol/tunnel_transport.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

namespace oimap::protocol {

namespace {

tls_options tls_options_of(const connect_options& o) {
  return {o.host, o.cafile, o.verify, o.fingerprints, o.client_cert, o.client_key};
}

// Servers accept command lines of at least 8000 bytes (RFC 7162 §4); a uid
// set this long leaves room for the rest of any command we build.
constexpr std::size_t max_set_bytes = 7800;

using storage::flag_set;
using namespace session_detail;

bool iequals(std::string_view a, std::string_view b) {
  return upper(a) == upper(b);
}

// INBOX is case-insensitive (RFC 3501 §5.1); every other name is exact.
bool same_mailbox(std::string_view a, std::string_view b) {
  return a == b || (iequals(a, "INBOX") && iequals(b, "INBOX"));
}

std::uint32_t to_u32(std::uint64_t n) {
  return n <= UINT32_MAX ? static_cast<std::uint32_t>(n) : 0;
}

void add_flags(command& c, flag_set flags) {
  c.begin_list();
  for (auto name : imap_flag_names(flags))
    c.flag(name);
  c.end_list();
}

// (MESSAGES UIDNEXT UIDVALIDITY [HIGHESTMODSEQ]): what sync asks of STATUS,
// alone or with a LIST.
void add_status_items(command& c, bool condstore) {
  c.begin_list().raw("MESSAGES").raw("UIDNEXT").raw("UIDVALIDITY");
  if (condstore)
    c.raw("HIGHESTMODSEQ");
  c.end_list();
}

command status_command(std::string_view mailbox, bool condstore) {
  command c("STATUS");
  c.astring(mailbox);
  add_status_items(c, condstore);
  return c;
}

// mailbox-data =/ "STATUS" SP mailbox SP "(" [status-att-list] ")": the list.
const value* status_items_of(const response& u) {
  if (u.keyword != "STATUS" || u.data.size() < 2 || u.data[1].type != value::kind::list)
    return nullptr;
  return &u.data[1];
}

// status-att-list = status-att-val *(SP status-att-val)
void read_status_items(const value& list, mailbox_info& info) {
  const auto& items = list.items;
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
    const auto n = number_value(items[i + 1]);
    if (items[i].is_atom("MESSAGES"))
      info.exists = to_u32(n);
    else if (items[i].is_atom("UIDNEXT"))
      info.uidnext = to_u32(n);
    else if (items[i].is_atom("UIDVALIDITY"))
      info.uidvalidity = to_u32(n);
    else if (items[i].is_atom("HIGHESTMODSEQ"))
      info.highestmodseq = n;
  }
}

// A server that lost some requested messages while fetching says NO
// [EXPUNGEISSUED] (RFC 9051) but still returns the rest.
bool fetch_succeeded(const response& r) {
  return r.status == "OK" || (r.status == "NO" && code_of(r) == "EXPUNGEISSUED");
}

} // namespace

// Hands bodies to the consumer and remembers whether the last one still
// needs its message() or discard(), so every literal gets exactly one.
struct session::body_sink final : literal_sink {
  explicit body_sink(body_consumer& c) : consumer(c) {}
  void begin(std::uint64_t size) override {
    settle();
    open = true;
    consumer.begin(size);
  }
  void data(std::string_view chunk) override { consumer.data(chunk); }
  void end() override {
    open = false;
    pending = true;
    consumer.end();
  }
  // Drops a body that no complete response claimed.
  void settle() {
    if (pending || open) {
      pending = open = false;
      consumer.discard();
    }
  }

  body_consumer& consumer;
  bool open = false;
  bool pending = false;
};

session::session(std::unique_ptr<transport> t, const connect_options& options)
    : transport_(std::move(t)), options_(options), rbuf_(read_buffer_bytes) {}

session::~session() = default;

std::unique_ptr<transport> session::open_transport(const connect_options& options) {
  if (!options.tunnel.empty())
    return tunnel_transport::start(options.tunnel, options.timeout_seconds);
  // Through a proxy, the connection is to it; TLS is still with the server.
  std::unique_ptr<transport> t =
      options.proxy ? tcp_transport::connect(options.proxy->host, options.proxy->port,
                                             options.timeout_seconds, options.family)
                    : tcp_transport::connect(options.host, options.port, options.timeout_seconds,
                                             options.family);
  if (options.proxy)
    proxy_handshake(*t, *options.proxy, options.host, options.port);
  if (options.ssl)
    t = tls_transport::handshake(std::move(t), tls_options_of(options));
  return t;
}

std::unique_ptr<session> session::connect(const connect_options& options,
                                          std::unique_ptr<transport> connected) {
  if (!connected)
    connected = open_transport(options);
  std::unique_ptr<session> s(new session(std::move(connected), options));
  s->open();
  return s;
}

const std::string& session::peer() const {
  return transport_->peer();
}

bool session::server_on_this_host() const {
  return transport_->on_this_host();
}

bool session::has_capability(std::string_view name) const {
  return capabilities_.count(upper(name)) != 0;
}

void session::shutdown() {
  transport_->shutdown();
}

// ---------------------------------------------------------------- setup

void session::open() {
  read_greeting();
  if (options_.expect_preauth && !preauth_)
    throw imap_error(error_kind::auth, peer()
                                           + " greeted without PREAUTH: a preauthtunnel must "
                                             "log in itself (or use transporttunnel)");
  if (capabilities_.empty())
    refresh_capabilities();
  if (options_.starttls && !options_.ssl)
    start_tls();
  if (!preauth_)
    authenticate();
  if (!enabled_)
    enable_extensions();
}

// greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF
void session::read_greeting() {
  response r = read_response("the greeting");
  if (r.type == response::kind::untagged && r.status == "BYE")
    throw imap_error(error_kind::closed,
                     "server " + peer() + " refused the connection: " + reply_text(r));
  if (r.type != response::kind::untagged || (r.status != "OK" && r.status != "PREAUTH"))
    throw imap_error(error_kind::protocol,
                     "unexpected greeting from " + peer() + ": " + to_string(r));
  preauth_ = r.status == "PREAUTH";
  if (auto caps = capabilities_in_code(r))
    capabilities_ = std::move(*caps);
}

void session::refresh_capabilities() {
  expect_ok(run_one(command("CAPABILITY"), "CAPABILITY"), "CAPABILITY");
}

void session::start_tls() {
  // STARTTLS is only valid before authentication; a PREAUTH server cannot
  // give us TLS, and continuing in plaintext is what starttls forbids.
  if (preauth_)
    throw imap_error(error_kind::tls, "server " + peer()
                                          + " greeted with PREAUTH, so STARTTLS is impossible;"
                                            " refusing to continue without TLS");
  if (!has_capability("STARTTLS"))
    throw imap_error(error_kind::tls,
                     "server " + peer()
                         + " does not offer STARTTLS; refusing to continue without TLS");
  response r = run_one(command("STARTTLS"), "STARTTLS");
  if (r.status != "OK")
    throw imap_error(error_kind::tls, "STARTTLS refused by " + peer() + ": " + reply_text(r),
                     code_of(r));
  // Bytes after the OK arrived before the handshake, unprotected: taking
  // them would let a man in the middle inject responses (CVE-2011-0411 kind).
  if (rpos_ != rend_ || parser_.in_response() || literal_left_ != 0)
    throw imap_error(error_kind::tls, "server " + peer()
                                          + " sent data after its STARTTLS reply; refusing it as a"
                                            " possible injection");
  transport_ = tls_transport::handshake(std::move(transport_), tls_options_of(options_));
  // What the server said before TLS is untrusted (RFC 3501 §6.2.1).
  capabilities_.clear();
  refresh_capabilities();
}

void session::authenticate() {
  if (options_.user.empty())
    throw imap_error(error_kind::auth, "no user name configured for " + peer());
  std::vector<std::string> mechanisms = options_.auth_mechanisms;
  if (mechanisms.empty())
    mechanisms = {"PLAIN", "LOGIN"};

  std::string skipped;
  auto skip = [&](const std::string& why) {
    if (!skipped.empty())
      skipped += ", ";
    skipped += why;
  };
  for (const auto& m : mechanisms) {
    const std::string mech = upper(m);
    std::vector<outgoing> cmds;
    if (mech == "PLAIN") {
      if (!has_capability("AUTH=PLAIN")) {
        skip("PLAIN (not offered)");
        continue;
      }
      cmds.push_back(make(command::authenticate_plain(options_.user, options_.password,
                                                      has_capability("SASL-IR"), options_.authzid),
                          "AUTHENTICATE PLAIN"));
    } else if (mech == "LOGIN") {
      if (!options_.authzid.empty()) {
        skip("LOGIN (cannot act for remote_identity)");
        continue;
      }
      if (has_capability("LOGINDISABLED")) {
        skip("LOGIN (LOGINDISABLED)");
        continue;
      }
      cmds.push_back(make(command::login(options_.user, options_.password), "LOGIN"));
    } else {
      skip(mech + " (not supported)");
      continue;
    }
    // ENABLE rides behind the login, saving a round trip: a server ignores
    // the extensions it does not know (RFC 5161), and should it refuse a
    // command sent before the login's answer, ENABLE is simply sent again.
    const bool enable_now = has_capability("ENABLE");
    if (enable_now)
      cmds.push_back(make(enable_command(), "ENABLE"));
    std::set<std::string> enabled;
    auto replies = run(cmds, [&](const response& u) {
      if (u.keyword == "ENABLED")
        for (const auto& v : u.data)
          enabled.insert(upper(v.text));
    });
    response r = std::move(replies.front());
    if (r.status != "OK")
      throw imap_error(error_kind::auth,
                       "login failed for user " + options_.user + " on " + peer() + ": "
                           + reply_text(r),
                       code_of(r));
    // Capabilities change with authentication; the OK usually lists them.
    if (!capabilities_in_code(r))
      refresh_capabilities();
    // An OK that enabled nothing the server has may have come from before
    // the login took effect ("ignored in non-authenticated state"): ask again.
    const bool wants = has_capability("CONDSTORE") || has_capability("QRESYNC");
    if (enable_now && replies.back().status == "OK" && (!enabled.empty() || !wants))
      note_enabled(enabled);
    return;
  }
  std::string msg =
      "no usable authentication mechanism for user " + options_.user + " on " + peer();
  if (!skipped.empty())
    msg += ": " + skipped;
  if (has_capability("LOGINDISABLED") && !options_.ssl && !options_.starttls)
    msg += "; the server wants TLS first (set ssl or starttls)";
  throw imap_error(error_kind::auth, msg);
}

// enable = "ENABLE" 1*(SP capability)   (RFC 5161); QRESYNC implies CONDSTORE.
void session::enable_extensions() {
  const bool condstore = has_capability("CONDSTORE");
  const bool qresync = has_capability("QRESYNC");
  if (!(condstore || qresync))
    return;
  if (!has_capability("ENABLE")) {
    // Asking for MODSEQ in a FETCH enables CONDSTORE implicitly (RFC 7162 §3.1).
    condstore_ = condstore;
    return;
  }
  std::set<std::string> enabled;
  response r = run_one(enable_command(), "ENABLE", [&](const response& u) {
    if (u.keyword == "ENABLED")
      for (const auto& v : u.data)
        enabled.insert(upper(v.text));
  });
  expect_ok(r, "ENABLE");
  note_enabled(enabled);
}

command session::enable_command() {
  command c("ENABLE");
  c.atom("CONDSTORE").atom("QRESYNC");
  return c;
}

void session::note_enabled(const std::set<std::string>& enabled) {
  qresync_ = enabled.count("QRESYNC") != 0;
  condstore_ = qresync_ || enabled.count("CONDSTORE") != 0;
  enabled_ = true;
}

// ---------------------------------------------------------------- commands

namespace {

// mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
std::optional<list_entry> list_entry_of(const response& u, std::string_view keyword = "LIST") {
  if (u.keyword != keyword || u.data.size() < 3 || u.data[0].type != value::kind::list)
    return std::nullopt;
  list_entry e;
  for (const auto& a : u.data[0].items)
    e.attributes.push_back(a.text);
  if (u.data[1].type == value::kind::string && u.data[1].text.size() == 1)
    e.delimiter = u.data[1].text[0];
  e.name = u.data[2].text;
  return e;
}

} // namespace

std::vector<list_entry> session::list(std::string_view reference, std::string_view pattern) {
  command c("LIST");
  c.string(reference).string(pattern);
  std::vector<list_entry> out;
  response r = run_one(c, "LIST", [&](const response& u) {
    if (auto e = list_entry_of(u))
      out.push_back(std::move(*e));
  });
  expect_ok(r, "LIST " + std::string(pattern));
  return out;
}

std::vector<list_entry> session::lsub(std::string_view reference, std::string_view pattern) {
  command c("LSUB");
  c.string(reference).string(pattern);
  std::vector<list_entry> out;
  response r = run_one(c, "LSUB", [&](const response& u) {
    if (auto e = list_entry_of(u, "LSUB"))
      out.push_back(std::move(*e));
  });
  expect_ok(r, "LSUB " + std::string(pattern));
  return out;
}

session::listing session::list_status(std::string_view reference, std::string_view pattern) {
  // list-return-opt =/ "STATUS" SP "(" status-att *(SP status-att) ")"   (RFC 5819)
  command c("LIST");
  c.string(reference).string(pattern).raw("RETURN").begin_list().raw("STATUS");
  add_status_items(c, has_capability("CONDSTORE"));
  c.end_list();
  listing out;
  response r = run_one(c, "LIST", [&](const response& u) {
    if (auto e = list_entry_of(u)) {
      out.entries.push_back(std::move(*e));
    } else if (const value* items = status_items_of(u)) {
      status_result st;
      st.mailbox = u.data[0].text;
      st.ok = true;
      read_status_items(*items, st.info);
      out.statuses.push_back(std::move(st));
    }
  });
  expect_ok(r, "LIST " + std::string(pattern) + " RETURN (STATUS)");
  return out;
}

void session::create(std::string_view mailbox) {
  command c("CREATE");
  c.astring(mailbox);
  response r = run_one(c, "CREATE " + std::string(mailbox));
  if (r.status == "NO" && code_of(r) == "ALREADYEXISTS")
    return;
  expect_ok(r, "CREATE " + std::string(mailbox));
}

mailbox_info session::select(std::string_view mailbox, bool readonly, const prefetch* also) {
  return select_with(mailbox, readonly, std::nullopt, nullptr, also);
}

mailbox_info session::select_qresync(std::string_view mailbox, bool readonly,
                                     std::uint32_t uidvalidity, std::uint64_t modseq, resync& out,
                                     const prefetch* also) {
  out = {};
  auto info = select_with(mailbox, readonly, std::make_pair(uidvalidity, modseq), &out, also);
  std::sort(out.changed.begin(), out.changed.end(),
            [](const message_flags& a, const message_flags& b) { return a.uid < b.uid; });
  std::sort(out.vanished.begin(), out.vanished.end());
  return info;
}

// What a SELECT (EXAMINE) and the FETCH behind it tell of one mailbox, from
// their untagged replies: its numbers, what QRESYNC says changed, and the
// prefetched bodies, each claimed once.
struct session::select_replies {
  mailbox_info info;
  resync* out = nullptr;
  body_sink* sink = nullptr;
  fetch_items items;
  std::set<std::uint32_t> delivered;

  void take(session& s, const response& u) {
    if (u.keyword == "EXISTS" && u.has_number) {
      info.exists = to_u32(u.number);
      return;
    }
    if (u.keyword == "FETCH") {
      if (!decode_fetch(u, items) || items.uid == 0)
        return;
      if (sink && items.body)
        s.deliver_body(items, *sink, [&](std::uint32_t uid) {
          return delivered.insert(uid).second;
        }); // a prefetched body
      else if (out && items.has_flags)
        out->changed.push_back({items.uid, items.flags, items.modseq});
      return;
    }
    if (out && u.keyword == "VANISHED") {
      // expunged-resp = "VANISHED" [SP "(EARLIER)"] SP known-uids
      if (!u.data.empty() && u.data.back().type != value::kind::list) {
        if (auto uids = parse_uids(u.data.back().text))
          out->vanished.insert(out->vanished.end(), uids->begin(), uids->end());
        else
          out->complete = false;
      }
      return;
    }
    if (u.status != "OK" || u.code.empty())
      return;
    const auto code = code_of(u);
    const auto arg = u.code.size() > 1 ? number_value(u.code[1]) : 0;
    if (code == "UIDVALIDITY")
      info.uidvalidity = to_u32(arg);
    else if (code == "UIDNEXT")
      info.uidnext = to_u32(arg);
    else if (code == "HIGHESTMODSEQ")
      info.highestmodseq = arg;
    else if (code == "NOMODSEQ")
      info.highestmodseq = 0;
  }
};

command session::select_command(std::string_view mailbox, bool readonly,
                                std::optional<std::pair<std::uint32_t, std::uint64_t>> qresync) {
  command c(readonly ? "EXAMINE" : "SELECT");
  c.astring(mailbox);
  // select-param = "QRESYNC" SP "(" uidvalidity SP mod-sequence-value ")"
  if (qresync) {
    c.begin_list().raw("QRESYNC").begin_list().number(qresync->first).number(qresync->second);
    c.end_list().end_list();
  }
  return c;
}

mailbox_info session::select_with(std::string_view mailbox, bool readonly,
                                  std::optional<std::pair<std::uint32_t, std::uint64_t>> qresync,
                                  resync* out, const prefetch* also) {
  const std::string what = std::string(readonly ? "EXAMINE" : "SELECT") + " " + std::string(mailbox)
                           + (qresync ? " (QRESYNC)" : "");
  // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
  selected_.clear();
  std::vector<outgoing> cmds;
  cmds.push_back(make(select_command(mailbox, readonly, qresync), what));
  std::optional<body_sink> sink;
  select_replies got;
  got.out = out;
  if (also) {
    cmds.push_back(body_fetch(also->uid_set, false));
    sink.emplace(*also->consumer);
    got.sink = &*sink;
  }
  const auto on_untagged = [&](const response& u) { got.take(*this, u); };
  std::vector<response> replies =
      sink ? run_streaming(cmds, *sink, on_untagged) : run(cmds, on_untagged);
  const response& r = replies.front();
  expect_ok(r, what);
  if (also && !fetch_succeeded(replies.back()))
    fail_reply(replies.back(), cmds.back().what);
  got.info.read_only = readonly || code_of(r) == "READ-ONLY";
  selected_ = mailbox;
  return got.info;
}

void session::examine_many(const std::vector<examine_request>& requests,
                           const std::function<void(std::size_t, examined&&)>& done) {
  if (requests.empty())
    return;
  // Each mailbox's EXAMINE, then its FETCH, all in one stream. A SELECT
  // waits for the commands before it and those after it wait for it (it
  // changes the selected mailbox; RFC 3501 §5.5), so the replies come
  // mailbox by mailbox: an untagged reply belongs to the mailbox of the
  // oldest command still unanswered.
  std::vector<outgoing> cmds;
  std::vector<std::size_t> request_of; // per command
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& q = requests[i];
    cmds.push_back(make(select_command(q.mailbox, true, std::make_pair(q.uidvalidity, q.modseq)),
                        "EXAMINE " + q.mailbox + " (QRESYNC)"));
    request_of.push_back(i);
    if (q.also) {
      cmds.push_back(body_fetch(q.also->uid_set, false));
      request_of.push_back(i);
    }
  }
  // Bodies count only in the reply to a mailbox's FETCH, once its EXAMINE
  // succeeded: any other literal (after a failed EXAMINE it would be
  // another mailbox's) goes nowhere.
  struct nowhere final : body_consumer {
    void begin(std::uint64_t) override {}
    void data(std::string_view) override {}
    void end() override {}
    void message(std::uint32_t, storage::flag_set, std::string) override {}
  } drop;
  body_sink dropped(drop);
  std::optional<body_sink> bodies;
  select_replies got;
  examined result;
  bool examine_ok = false;
  const auto use_sink = [&](body_sink& s) {
    got.sink = &s;
    parser_.set_literal_sink(&s, 0);
  };
  const auto begin = [&] {
    got = select_replies{};
    result = examined{};
    got.out = &result.changes;
    examine_ok = false;
    use_sink(dropped);
  };
  std::size_t expected = 0; // the next command to be answered
  const auto on_answered = [&](std::size_t i, const response& r) {
    if (i != expected)
      throw imap_error(error_kind::protocol, "reply from " + peer() + " to " + cmds[i].what
                                                 + " before the one to " + cmds[expected].what);
    ++expected;
    const std::size_t q = request_of[i];
    const bool is_examine = i == 0 || request_of[i - 1] != q;
    if (is_examine) {
      examine_ok = r.status == "OK";
      selected_ = examine_ok ? requests[q].mailbox : std::string();
      if (!examine_ok)
        result.error = r.status + " " + reply_text(r);
      else if (requests[q].also) {
        bodies.emplace(*requests[q].also->consumer);
        use_sink(*bodies);
      }
    } else if (examine_ok && !fetch_succeeded(r)) {
      result.error = r.status + " " + reply_text(r);
    }
    if (i + 1 < cmds.size() && request_of[i + 1] == q)
      return; // its FETCH is next
    got.sink->settle();
    use_sink(dropped);
    bodies.reset();
    result.ok = examine_ok && result.error.empty();
    result.info = got.info;
    result.info.read_only = true;
    std::sort(result.changes.changed.begin(), result.changes.changed.end(),
              [](const message_flags& a, const message_flags& b) { return a.uid < b.uid; });
    std::sort(result.changes.vanished.begin(), result.changes.vanished.end());
    done(q, std::move(result));
    begin();
  };
  // What went ahead is answered first: its untagged data would mix in.
  settle();
  selected_.clear();
  begin();
  try {
    run_sent(
        cmds, 0, [&](const response& u) { got.take(*this, u); }, on_answered);
  } catch (...) {
    parser_.set_literal_sink(nullptr);
    dropped.settle();
    if (bodies)
      bodies->settle();
    throw;
  }
  parser_.set_literal_sink(nullptr);
}

mailbox_info session::status(std::string_view mailbox) {
  mailbox_info info;
  const std::string what = "STATUS " + std::string(mailbox);
  response r =
      run_one(status_command(mailbox, has_capability("CONDSTORE")), what, [&](const response& u) {
        if (const value* items = status_items_of(u))
          read_status_items(*items, info);
      });
  expect_ok(r, what);
  return info;
}

std::vector<status_result> session::status_many(const std::vector<std::string>& mailboxes) {
  std::vector<outgoing> cmds;
  cmds.reserve(mailboxes.size());
  const bool condstore = has_capability("CONDSTORE");
  for (const auto& m : mailboxes)
    cmds.push_back(make(status_command(m, condstore), "STATUS " + m));
  std::vector<status_result> out(mailboxes.size());
  std::vector<bool> seen(mailboxes.size());
  auto replies = run(cmds, [&](const response& u) {
    const value* items = status_items_of(u);
    if (!items)
      return;
    // By name; a server that spells the name differently still answers in
    // command order, so the first mailbox without data takes it.
    std::size_t i = 0;
    while (i < mailboxes.size() && (seen[i] || !same_mailbox(mailboxes[i], u.data[0].text)))
      ++i;
    if (i == mailboxes.size())
      i = static_cast<std::size_t>(std::find(seen.begin(), seen.end(), false) - seen.begin());
    if (i == mailboxes.size())
      return;
    seen[i] = true;
    read_status_items(*items, out[i].info);
  });
  for (std::size_t i = 0; i < mailboxes.size(); ++i) {
    out[i].mailbox = mailboxes[i];
    out[i].ok = replies[i].status == "OK";
    if (!out[i].ok)
      out[i].error = replies[i].status + " " + reply_text(replies[i]);
  }
  return out;
}

std::vector<std::uint32_t> session::uid_search(std::string_view criteria) {
  // mailbox-data =/ "SEARCH" *(SP nz-number)
  command c("UID SEARCH");
  c.raw(criteria);
  std::vector<std::uint32_t> out;
  const std::string what = "UID SEARCH " + std::string(criteria);
  response r = run_one(c, what, [&](const response& u) {
    if (u.keyword != "SEARCH")
      return;
    for (const auto& v : u.data)
      if (v.type == value::kind::number && v.number > 0 && v.number <= 0xffffffffu)
        out.push_back(static_cast<std::uint32_t>(v.number));
  });
  expect_ok(r, what);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<message_flags> session::fetch_flags(std::string_view uid_set,
                                                std::uint64_t changedsince) {
  // fetch = "UID FETCH" SP sequence-set SP "(" fetch-att *(SP fetch-att) ")" [SP fetch-modifiers]
  command c("UID FETCH");
  c.raw(uid_set).begin_list().raw("UID").raw("FLAGS");
  if (condstore_)
    c.raw("MODSEQ");
  c.end_list();
  if (condstore_ && changedsince > 0)
    c.begin_list().raw("CHANGEDSINCE").number(changedsince).end_list();

  std::vector<message_flags> out;
  fetch_items items;
  const std::string what = "UID FETCH " + std::string(uid_set) + " (FLAGS)";
  response r = run_one(c, what, [&](const response& u) {
    // Unsolicited FETCHes (another client's flag change) may lack UID.
    if (decode_fetch(u, items) && items.uid != 0 && items.has_flags)
      out.push_back({items.uid, items.flags, items.modseq});
  });
  if (!fetch_succeeded(r))
    fail_reply(r, what);
  // One entry per uid, the latest report winning (an unsolicited update may
  // repeat a uid); usually already sorted, so this is linear.
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.uid < b.uid; });
  std::size_t w = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (w > 0 && out[w - 1].uid == out[i].uid)
      out[w - 1] = out[i];
    else
      out[w++] = out[i];
  }
  out.resize(w);
  return out;
}

std::vector<std::uint32_t> session::fetch_bodies(const std::vector<std::uint32_t>& uids,
                                                 body_consumer& consumer, bool with_internaldate) {
  std::vector<std::uint32_t> wanted(uids);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  wanted.erase(std::remove(wanted.begin(), wanted.end(), 0u), wanted.end());
  if (wanted.empty())
    return {};
  auto sets = split_uids(wanted, max_set_bytes);
  std::vector<bool> delivered(wanted.size());
  fetch_bodies_of(
      sets, consumer,
      [&](std::uint32_t uid) {
        auto it = std::lower_bound(wanted.begin(), wanted.end(), uid);
        if (it == wanted.end() || *it != uid || delivered[it - wanted.begin()])
          return false;
        delivered[it - wanted.begin()] = true;
        return true;
      },
      with_internaldate);
  std::vector<std::uint32_t> missing;
  for (std::size_t i = 0; i < wanted.size(); ++i)
    if (!delivered[i])
      missing.push_back(wanted[i]);
  return missing;
}

std::size_t session::fetch_bodies(std::string_view uid_set, body_consumer& consumer) {
  std::set<std::uint32_t> delivered;
  fetch_bodies_of(
      {std::string(uid_set)}, consumer,
      [&](std::uint32_t uid) { return delivered.insert(uid).second; }, false);
  return delivered.size();
}

std::vector<response> session::run_streaming(std::vector<outgoing>& cmds, body_sink& sink,
                                             const untagged_handler& on_untagged) {
  // Every literal goes to the sink while these commands run, and only then:
  // what went ahead is answered first.
  settle();
  parser_.set_literal_sink(&sink, 0);
  auto unhook = [&] {
    parser_.set_literal_sink(nullptr);
    sink.settle();
  };
  std::vector<response> replies;
  try {
    replies = run(cmds, on_untagged);
  } catch (...) {
    unhook();
    throw;
  }
  unhook();
  return replies;
}

session::outgoing session::body_fetch(const std::string& uid_set, bool with_internaldate) {
  // INTERNALDATE only on request: sync does not need it, and it can cost the
  // server a stat per message.
  command c("UID FETCH");
  c.raw(uid_set).begin_list().raw("UID").raw("FLAGS");
  if (with_internaldate)
    c.raw("INTERNALDATE");
  c.raw("BODY.PEEK[]").end_list();
  return make(c, "UID FETCH (BODY.PEEK[])");
}

void session::deliver_body(fetch_items& items, body_sink& sink,
                           const std::function<bool(std::uint32_t)>& claim) {
  body_consumer& consumer = sink.consumer;
  if (items.body->type == value::kind::streamed && sink.pending && items.body_is_last_literal) {
    if (claim(items.uid)) {
      sink.pending = false;
      consumer.message(items.uid, items.flags, std::move(items.internaldate));
    }
  } else if (items.body->type == value::kind::string && claim(items.uid)) {
    // A tiny body may come as a quoted string rather than a literal.
    sink.settle();
    consumer.begin(items.body->text.size());
    consumer.data(items.body->text);
    consumer.end();
    consumer.message(items.uid, items.flags, std::move(items.internaldate));
  }
  sink.settle(); // whatever streamed in this response and was not claimed
}

void session::fetch_bodies_of(const std::vector<std::string>& sets, body_consumer& consumer,
                              const std::function<bool(std::uint32_t)>& claim,
                              bool with_internaldate) {
  std::vector<outgoing> cmds;
  for (const auto& set : sets)
    cmds.push_back(body_fetch(set, with_internaldate));

  body_sink sink(consumer);
  fetch_items items;
  auto replies = run_streaming(cmds, sink, [&](const response& u) {
    if (decode_fetch(u, items) && items.body && items.uid != 0)
      deliver_body(items, sink, claim);
    else
      sink.settle(); // whatever streamed in this response and was not claimed
  });
  for (std::size_t i = 0; i < replies.size(); ++i)
    if (!fetch_succeeded(replies[i]))
      fail_reply(replies[i], cmds[i].what);
}

namespace {

// store = "STORE" SP sequence-set SP store-att-flags
// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
command store_command(std::string_view set, char sign, flag_set flags) {
  command c("UID STORE");
  c.raw(set).raw(std::string(1, sign) + "FLAGS.SILENT");
  add_flags(c, flags);
  return c;
}

} // namespace

void session::store_flags(std::string_view uid_set, flag_set add, flag_set remove) {
  std::vector<outgoing> cmds;
  if (!add.empty())
    cmds.push_back(make(store_command(uid_set, '+', add), "UID STORE +FLAGS"));
  if (!remove.empty())
    cmds.push_back(make(store_command(uid_set, '-', remove), "UID STORE -FLAGS"));
  auto replies = run(cmds);
  for (std::size_t i = 0; i < replies.size(); ++i)
    expect_ok(replies[i], cmds[i].what);
}

std::vector<session::outgoing> session::store_commands(const std::vector<flag_change>& changes) {
  // Uids with the same (add, remove) pair share commands.
  std::map<std::pair<std::uint8_t, std::uint8_t>, std::vector<std::uint32_t>> groups;
  for (const auto& ch : changes) {
    const auto add = ch.add - ch.remove; // a flag both added and removed: the add wins below
    const auto remove = ch.remove - ch.add;
    if (ch.uid != 0 && !(add.empty() && remove.empty()))
      groups[{add.bits(), remove.bits()}].push_back(ch.uid);
  }
  std::vector<outgoing> cmds;
  for (const auto& [key, uids] : groups) {
    for (const auto& set : split_uids(uids, max_set_bytes)) {
      if (key.first)
        cmds.push_back(make(store_command(set, '+', flag_set(key.first)), "UID STORE +FLAGS"));
      if (key.second)
        cmds.push_back(make(store_command(set, '-', flag_set(key.second)), "UID STORE -FLAGS"));
    }
  }
  return cmds;
}

void session::store_flags(const std::vector<flag_change>& changes) {
  auto cmds = store_commands(changes);
  if (cmds.empty())
    return;
  auto replies = run(cmds);
  for (std::size_t i = 0; i < replies.size(); ++i)
    expect_ok(replies[i], cmds[i].what);
}

session::outgoing session::append_command(std::string_view mailbox, const append_request& m,
                                          std::string what, bool non_sync) {
  // append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal
  command c("APPEND");
  c.astring(mailbox);
  if (!m.flags.empty())
    add_flags(c, m.flags);
  if (!m.internaldate.empty())
    c.string(m.internaldate);
  outgoing o = make(c, std::move(what));
  // The body is streamed, not held by the command: the last segment's
  // CRLF becomes the literal header, the body and its CRLF follow.
  std::string& last = o.steps.back();
  last.resize(last.size() - 2);
  last += " {" + std::to_string(m.size) + (non_sync ? "+}\r\n" : "}\r\n");
  o.wire_bytes += 8;
  o.trace += " {" + std::to_string(m.size) + " bytes}";
  o.body = &m;
  o.body_waits = !non_sync;
  return o;
}

std::optional<std::vector<append_result>>
session::append_together(std::string_view mailbox, const std::vector<append_request>& messages) {
  // append         = "APPEND" SP mailbox 1*append-message        (RFC 3502)
  // append-message = append-opts SP append-data
  // append-opts    = [SP flag-list] [SP date-time]
  outgoing o = append_command(mailbox, messages.front(),
                              "APPEND " + std::string(mailbox) + " ("
                                  + std::to_string(messages.size()) + " messages)",
                              true);
  std::string trace;
  for (std::size_t i = 1; i < messages.size(); ++i) {
    const append_request& m = messages[i];
    std::string prefix;
    if (!m.flags.empty()) {
      prefix += " (";
      for (auto name : imap_flag_names(m.flags))
        prefix.append(name).push_back(' ');
      prefix.back() = ')';
    }
    if (!m.internaldate.empty())
      prefix += " \"" + m.internaldate + "\"";
    prefix += " {" + std::to_string(m.size) + "+}\r\n";
    o.wire_bytes += prefix.size();
    // The trace shows each message's options and size, never its bytes.
    trace += prefix.substr(0, prefix.rfind(" {")) + " {" + std::to_string(m.size) + " bytes}";
    o.more_bodies.emplace_back(std::move(prefix), &m);
  }
  o.trace += trace;
  std::vector<outgoing> cmds;
  cmds.push_back(std::move(o));
  const response r = std::move(run(cmds).front());
  if (r.status != "OK")
    return std::nullopt;
  std::vector<append_result> out(messages.size());
  std::vector<std::uint32_t> uids;
  // resp-code-apnd = "APPENDUID" SP nz-number SP append-uid: the new UIDs
  // in the order of the messages. Any other count: no UIDs (the upload
  // journal finds the messages by content next run).
  if (code_of(r) == "APPENDUID" && r.code.size() >= 3)
    if (auto set = parse_uids(r.code[2].text, messages.size());
        set && set->size() == messages.size())
      uids = std::move(*set);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].ok = true;
    if (!uids.empty()) {
      out[i].uidvalidity = to_u32(number_value(r.code[1]));
      out[i].uid = uids[i];
    }
  }
  return out;
}

std::vector<append_result> session::append(std::string_view mailbox,
                                           std::vector<append_request> messages) {
  // append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal
  const literal_support lit{has_capability("LITERAL+"), has_capability("LITERAL-")};
  if (messages.size() > 1 && lit.literal_plus && has_capability("MULTIAPPEND"))
    if (auto together = append_together(mailbox, messages))
      return std::move(*together);
  std::vector<outgoing> cmds;
  cmds.reserve(messages.size());
  const std::string what = "APPEND " + std::string(mailbox);
  for (const auto& m : messages) {
    const bool non_sync = lit.literal_plus || (lit.literal_minus && m.size <= literal_minus_max);
    cmds.push_back(append_command(mailbox, m, what, non_sync));
  }
  auto replies = run(cmds);
  std::vector<append_result> out(messages.size());
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const auto& r = replies[i];
    auto& res = out[i];
    res.ok = r.status == "OK";
    if (!res.ok) {
      res.error = r.status + " " + reply_text(r);
      continue;
    }
    // resp-code-apnd = "APPENDUID" SP nz-number SP append-uid   (RFC 4315)
    if (code_of(r) == "APPENDUID" && r.code.size() >= 3) {
      res.uidvalidity = to_u32(number_value(r.code[1]));
      res.uid = to_u32(number_value(r.code[2]));
      if (res.uid == 0)
        if (auto set = parse_uids(r.code[2].text, 1))
          res.uid = set->empty() ? 0 : set->front();
    }
  }
  return out;
}

void session::store_flags_ahead(const std::vector<flag_change>& changes) {
  check_usable();
  auto cmds = store_commands(changes);
  std::size_t bytes = 0;
  for (const auto& c : cmds)
    bytes += c.wire_bytes;
  if (ahead_.size() + cmds.size() > max_commands_ahead || bytes > max_bytes_ahead) {
    store_flags(changes);
    return;
  }
  for (auto& c : cmds) {
    trace_out(c.trace);
    write(c.steps.front()); // one line each, no literal
    c.next_step = c.step_count();
    ahead_.push_back(std::move(c));
  }
  flush();
}

void session::settle() {
  std::vector<outgoing> none;
  if (!ahead_.empty())
    run(none);
}

void session::uid_expunge(std::string_view uid_set) {
  if (!has_capability("UIDPLUS")) {
    expunge();
    return;
  }
  command c("UID EXPUNGE");
  c.raw(uid_set);
  expect_ok(run_one(c, "UID EXPUNGE"), "UID EXPUNGE");
}

void session::uid_expunge(const std::vector<std::uint32_t>& uids) {
  if (uids.empty())
    return;
  if (!has_capability("UIDPLUS")) {
    expunge();
    return;
  }
  std::vector<outgoing> cmds;
  for (const auto& set : split_uids(uids, max_set_bytes)) {
    command c("UID EXPUNGE");
    c.raw(set);
    cmds.push_back(make(c, "UID EXPUNGE"));
  }
  auto replies = run(cmds);
  for (std::size_t i = 0; i < replies.size(); ++i)
    expect_ok(replies[i], cmds[i].what);
}

void session::expunge() {
  expect_ok(run_one(command("EXPUNGE"), "EXPUNGE"), "EXPUNGE");
}

void session::noop() {
  expect_ok(run_one(command("NOOP"), "NOOP"), "NOOP");
}

void session::logout() {
  if (!closed_reason_.empty())
    return;
  logging_out_ = true;
  try {
    run_one(command("LOGOUT"), "LOGOUT");
  } catch (const imap_error& e) {
    // The server may close right after its BYE, before the tagged OK.
    if (!(e.kind() == error_kind::closed && bye_seen_))
      throw;
  }
  closed_reason_ = "logged out";
}

void session::close() {
  if (!closed_reason_.empty())
    return;
  // LOGOUT without waiting for the server's BYE and OK: at the end of a run
  // nothing more is wanted from it, and the connection's end tells it the rest.
  try {
    logging_out_ = true;
    const std::string line = tags_.next() + " LOGOUT";
    trace_out(line);
    write(line + "\r\n");
    flush();
  } catch (const imap_error&) {
  }
  closed_reason_ = "closed";
  transport_->shutdown();
}

} // namespace oimap::protocol
