// The session's wire machinery: the one sending rule, pipelined runs, response framing and traces.
#include "protocol/session_wire.hpp"

#include "protocol/imap_error.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

namespace oimap::protocol {

namespace {

// Limits of the one sending rule (see session::sendable).
constexpr std::size_t max_in_flight_commands = 1000;
constexpr std::size_t max_in_flight_bytes = 64 * 1024;

constexpr std::size_t write_flush_bytes = 256 * 1024;

char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// "{123}" or "{123+}" (also "~{123}") ending a line: the size of the literal
// that follows. line holds the line's last bytes, LF included.
std::optional<std::uint64_t> literal_at_line_end(std::string_view line) {
  line.remove_suffix(1); // LF
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  if (line.empty() || line.back() != '}')
    return std::nullopt;
  line.remove_suffix(1);
  if (!line.empty() && line.back() == '+')
    line.remove_suffix(1);
  std::size_t digits = 0;
  while (digits < line.size() && line[line.size() - 1 - digits] >= '0'
         && line[line.size() - 1 - digits] <= '9')
    ++digits;
  if (digits == 0 || digits > 19 || digits == line.size() || line[line.size() - 1 - digits] != '{')
    return std::nullopt;
  std::uint64_t n = 0;
  for (char c : line.substr(line.size() - digits))
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  return n;
}

} // namespace

namespace session_detail {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = ascii_upper(c);
  return out;
}

std::string reply_text(const response& r) {
  std::string out;
  if (!r.code.empty()) {
    out += '[';
    for (std::size_t i = 0; i < r.code.size(); ++i) {
      if (i)
        out += ' ';
      out += r.code[i].type == value::kind::list ? to_string(r.code[i]) : r.code[i].text;
    }
    out += "] ";
  }
  out += r.text;
  return out;
}

std::string code_of(const response& r) {
  return r.code.empty() ? std::string() : upper(r.code[0].text);
}

std::optional<std::set<std::string>> capabilities_in_code(const response& r) {
  if (r.code.empty() || !r.code[0].is_atom("CAPABILITY"))
    return std::nullopt;
  std::set<std::string> caps;
  for (std::size_t i = 1; i < r.code.size(); ++i)
    caps.insert(upper(r.code[i].text));
  return caps;
}

} // namespace session_detail

using namespace session_detail;

session::outgoing session::make(const command& cmd, std::string what) {
  outgoing o;
  o.tag = tags_.next();
  o.what = std::move(what);
  auto wire = cmd.encode(o.tag, {has_capability("LITERAL+"), has_capability("LITERAL-")});
  o.steps = std::move(wire.segments);
  for (const auto& s : o.steps)
    o.wire_bytes += s.size();
  o.trace = cmd.redacted_text(o.tag);
  return o;
}

response session::run_one(const command& cmd, std::string what,
                          const untagged_handler& on_untagged) {
  std::vector<outgoing> cmds;
  cmds.push_back(make(cmd, std::move(what)));
  return std::move(run(cmds, on_untagged).front());
}

// The one sending rule (as isync's cmd_sendable): may the next command start
// now? Every reason to hold a command back is here.
bool session::sendable(const run_state& st) const {
  // After "{n}" or an AUTHENTICATE step, nothing may go out until the
  // server's "+": anything we sent would be taken as the literal's bytes.
  if (st.awaiting_continuation)
    return false;
  // An empty pipeline takes any command, however long.
  if (st.in_flight == 0)
    return true;
  // Unanswered command bytes stay well below the socket buffers (1 MB asked
  // for): even if the server stops reading while its replies wait for us,
  // our writes still fit in the kernel and we get back to reading, so
  // pipelining can never deadlock. Bodies do not count: the server reads
  // them as it goes, and the replies to APPENDs are small.
  const auto& next = st.cmds[st.sending];
  if (st.in_flight_bytes + next.wire_bytes > max_in_flight_bytes)
    return false;
  return st.in_flight < max_in_flight_commands;
}

void session::send_ready(run_state& st) {
  while (st.sending < st.cmds.size()) {
    auto& c = st.cmds[st.sending];
    if (c.next_step == 0) {
      if (!sendable(st))
        return;
      ++st.in_flight;
      st.in_flight_bytes += c.wire_bytes;
      trace_out(c.trace);
    }
    while (c.next_step < c.step_count()) {
      const bool is_body = c.next_step == c.steps.size();
      const bool needs_plus = is_body ? c.body_waits : c.next_step > 0;
      if (needs_plus && !c.continued) {
        st.awaiting_continuation = true;
        return;
      }
      c.continued = false;
      if (is_body)
        send_body(c);
      else
        write(c.steps[c.next_step]);
      ++c.next_step;
    }
    ++st.sending;
  }
}

void session::send_body(const outgoing& c) {
  send_literal(c, *c.body);
  for (const auto& [prefix, body] : c.more_bodies) {
    write(prefix);
    send_literal(c, *body);
  }
  write("\r\n");
}

void session::send_literal(const outgoing& c, const append_request& body) {
  const std::uint64_t size = body.size;
  std::uint64_t written = 0;
  // A literal of the wrong length would desynchronise the stream for good:
  // refuse extra bytes before they go out, and a short body afterwards.
  auto put = [&](std::string_view piece) {
    if (piece.size() > size - written)
      throw imap_error(error_kind::protocol,
                       c.what + " on " + peer()
                           + ": the message source wrote more than the announced "
                           + std::to_string(size) + " bytes");
    written += piece.size();
    write(piece);
  };
  if (body.produce)
    body.produce(put);
  if (written != size)
    throw imap_error(error_kind::protocol, c.what + " on " + peer() + ": the message source wrote "
                                               + std::to_string(written) + " of the announced "
                                               + std::to_string(size) + " bytes");
}

std::vector<response> session::run(std::vector<outgoing>& cmds,
                                   const untagged_handler& on_untagged) {
  if (ahead_.empty())
    return run_sent(cmds, 0, on_untagged);
  if (on_untagged) {
    // Untagged data cannot be told from what went ahead (Dovecot runs
    // pipelined commands side by side, and their data interleaves): the
    // answers to that come in first.
    settle();
    return run_sent(cmds, 0, on_untagged);
  }
  // What went ahead is answered in the same run: give cmds back their
  // commands, and the caller only its own replies.
  std::vector<outgoing> all = std::move(ahead_);
  ahead_.clear();
  const std::size_t sent = all.size();
  std::move(cmds.begin(), cmds.end(), std::back_inserter(all));
  auto replies = run_sent(all, sent, on_untagged);
  std::move(all.begin() + static_cast<std::ptrdiff_t>(sent), all.end(), cmds.begin());
  for (std::size_t i = 0; i < sent; ++i)
    expect_ok(replies[i], all[i].what);
  replies.erase(replies.begin(), replies.begin() + static_cast<std::ptrdiff_t>(sent));
  return replies;
}

std::vector<response> session::run_sent(std::vector<outgoing>& cmds, std::size_t sent,
                                        const untagged_handler& on_untagged,
                                        const answered_handler& on_answered) {
  check_usable();
  run_state st{cmds, {}, {}};
  st.replies.resize(cmds.size());
  for (std::size_t i = 0; i < cmds.size(); ++i)
    st.by_tag.emplace(cmds[i].tag, i);
  st.sending = st.in_flight = sent;
  for (std::size_t i = 0; i < sent; ++i)
    st.in_flight_bytes += cmds[i].wire_bytes;
  try {
    send_ready(st);
    while (st.answered < cmds.size()) {
      while (cmds[st.oldest].done)
        ++st.oldest;
      const std::string& what = cmds[st.oldest].what;
      response r = read_response(what);
      switch (r.type) {
      case response::kind::continuation:
        if (!st.awaiting_continuation)
          throw imap_error(error_kind::protocol, "unexpected continuation request from " + peer()
                                                     + " during " + what + ": " + r.text);
        st.awaiting_continuation = false;
        cmds[st.sending].continued = true;
        send_ready(st);
        break;
      case response::kind::tagged: {
        auto it = st.by_tag.find(r.tag);
        if (it == st.by_tag.end() || cmds[it->second].done || it->second > st.sending
            || (it->second == st.sending && !st.awaiting_continuation))
          throw imap_error(error_kind::protocol,
                           "unexpected tagged reply from " + peer() + ": " + to_string(r));
        const std::size_t i = it->second;
        if (i == st.sending) {
          // Refused instead of "+": the rest of this command must not follow.
          st.awaiting_continuation = false;
          ++st.sending;
        }
        if (r.status == "OK")
          if (auto caps = capabilities_in_code(r))
            capabilities_ = std::move(*caps);
        cmds[i].done = true;
        --st.in_flight;
        st.in_flight_bytes -= cmds[i].wire_bytes;
        ++st.answered;
        st.replies[i] = std::move(r);
        if (on_answered)
          on_answered(i, st.replies[i]);
        send_ready(st);
        break;
      }
      case response::kind::untagged:
        handle_common(r, what);
        if (on_untagged)
          on_untagged(r);
        break;
      }
    }
  } catch (const std::exception& e) {
    // Replies may still be on their way: nothing later could tell them
    // from its own. The connection is done for.
    if (closed_reason_.empty())
      closed_reason_ = std::string("unusable after an earlier error: ") + e.what();
    throw;
  }
  return std::move(st.replies);
}

void session::handle_common(const response& r, std::string_view what) {
  if (r.status == "BYE") {
    bye_seen_ = true;
    if (!logging_out_)
      throw imap_error(error_kind::closed, "server " + peer() + " closed the connection during "
                                               + std::string(what) + ": " + reply_text(r));
    return;
  }
  if (r.keyword == "CAPABILITY") {
    capabilities_.clear();
    for (const auto& v : r.data)
      capabilities_.insert(upper(v.text));
    return;
  }
  if (r.status == "OK")
    if (auto caps = capabilities_in_code(r))
      capabilities_ = std::move(*caps);
}

void session::check_usable() const {
  if (!closed_reason_.empty())
    throw imap_error(error_kind::closed, "session with " + peer() + " is " + closed_reason_);
}

void session::expect_ok(const response& r, std::string_view what) {
  if (r.status != "OK")
    fail_reply(r, what);
}

void session::fail_reply(const response& r, std::string_view what) {
  const auto kind = r.status == "BAD" ? error_kind::bad : error_kind::no;
  throw imap_error(
      kind, std::string(what) + " failed on " + peer() + ": " + r.status + " " + reply_text(r),
      code_of(r));
}

// ---------------------------------------------------------------- wire I/O

void session::write(std::string_view bytes) {
  // Many small commands go out in one segment; big bodies go straight through.
  if (wbuf_.empty() && bytes.size() >= write_flush_bytes) {
    transport_->write_all(bytes);
    return;
  }
  wbuf_.append(bytes);
  if (wbuf_.size() >= write_flush_bytes)
    flush();
}

void session::flush() {
  if (wbuf_.empty())
    return;
  transport_->write_all(wbuf_);
  wbuf_.clear();
}

void session::trace_out(std::string_view text) {
  if (!options_.trace)
    return;
  // Literals and AUTHENTICATE steps make a command several lines.
  for (;;) {
    auto crlf = text.find("\r\n");
    options_.trace('>', text.substr(0, crlf));
    if (crlf == std::string_view::npos)
      return;
    text.remove_prefix(crlf + 2);
  }
}

response session::read_response(std::string_view waiting_for) {
  response r;
  for (;;) {
    if (parser_.next(r))
      return r;
    if (rpos_ == rend_) {
      try {
        // Whatever we queued must be on its way before we wait for replies.
        flush();
        rend_ = transport_->read_some(rbuf_.data(), rbuf_.size());
      } catch (const imap_error& e) {
        throw imap_error(e.kind(),
                         std::string(e.what()) + " (waiting for the reply to "
                             + std::string(waiting_for) + ")",
                         e.code());
      }
      rpos_ = 0;
      if (rend_ == 0)
        throw imap_error(error_kind::closed,
                         "connection to " + peer()
                             + " closed by the server while waiting for the reply to "
                             + std::string(waiting_for));
    }
    feed_some();
  }
}

// Feeds the parser from the read buffer, but never past the end of one
// response: the session must see each complete FETCH (and call message())
// before the parser starts streaming the next body into the sink. This scan
// also drives the trace, with literals summarised as "{n bytes}".
void session::feed_some() {
  const char* p = rbuf_.data() + rpos_;
  const std::size_t avail = rend_ - rpos_;
  std::size_t n;
  bool line_end = false;
  if (literal_left_ > 0) {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, avail));
    literal_left_ -= n;
  } else {
    const void* lf = std::memchr(p, '\n', avail);
    n = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - p) + 1 : avail;
    line_end = lf != nullptr;
    // Only the end of a line can hold "{n}"; a line may arrive in pieces.
    if (n >= 32) {
      line_tail_.assign(p + n - 32, 32);
    } else {
      line_tail_.append(p, n);
      if (line_tail_.size() > 32)
        line_tail_.erase(0, line_tail_.size() - 32);
    }
    if (options_.trace)
      trace_line_.append(p, n);
  }
  if (parser_.feed(std::string_view(p, n)) == response_parser::status::error)
    throw imap_error(error_kind::protocol,
                     "cannot parse the response from " + peer() + ": " + parser_.error());
  rpos_ += n;
  if (!line_end)
    return;
  const auto literal = literal_at_line_end(line_tail_);
  line_tail_.clear();
  if (literal)
    literal_left_ = *literal;
  if (!options_.trace)
    return;
  if (literal) {
    trace_line_.resize(trace_line_.rfind('{'));
    if (!trace_line_.empty() && trace_line_.back() == '~')
      trace_line_.pop_back();
    trace_line_ += "{" + std::to_string(*literal) + " bytes}";
    return;
  }
  while (!trace_line_.empty() && (trace_line_.back() == '\n' || trace_line_.back() == '\r'))
    trace_line_.pop_back();
  options_.trace('<', trace_line_);
  trace_line_.clear();
}

} // namespace oimap::protocol
