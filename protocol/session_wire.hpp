// Session internals shared by session.cpp and session_wire.cpp: commands in flight, reply helpers.
#pragma once

#include "protocol/session.hpp"

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace oimap::protocol {

// One command on its way: the wire segments, what the trace shows, progress.
struct session::outgoing {
  std::string tag;
  std::string what;                     // for error messages: "SELECT INBOX", "LOGIN"
  std::vector<std::string> steps;       // steps[0] at once, each later one after a "+"
  std::string trace;                    // redacted; lines separated by CRLF
  const append_request* body = nullptr; // APPEND: streamed after the last step, then CRLF
  bool body_waits = false;              // the body is a synchronizing literal
  // MULTIAPPEND (non-synchronizing literals only): after body, each further
  // message's " (flags) date {n+}" CRLF and its body; the CRLF comes last.
  std::vector<std::pair<std::string, const append_request*>> more_bodies;
  std::size_t wire_bytes = 0; // command bytes without the body
  std::size_t next_step = 0;
  bool continued = false; // the server's "+" for steps[next_step] has arrived
  bool done = false;

  std::size_t step_count() const { return steps.size() + (body ? 1 : 0); }
};

struct session::run_state {
  std::vector<outgoing>& cmds;
  std::unordered_map<std::string, std::size_t> by_tag;
  std::vector<response> replies;
  std::size_t sending = 0; // first command not yet completely written
  std::size_t answered = 0;
  std::size_t oldest = 0; // first unanswered command, for error context
  std::size_t in_flight = 0;
  std::size_t in_flight_bytes = 0;
  bool awaiting_continuation = false;
};

namespace session_detail {

inline constexpr std::size_t read_buffer_bytes = 256 * 1024;
// What store_flags_ahead may leave unanswered: well inside the pipeline's
// window (session_wire.cpp), as nothing is read while it waits.
inline constexpr std::size_t max_commands_ahead = 100;
inline constexpr std::size_t max_bytes_ahead = 16 * 1024;

std::string upper(std::string_view s);
// "[CODE args] text" as the server sent it, for error messages.
std::string reply_text(const response& r);
// The response code's first atom, upper-cased; empty without a code.
std::string code_of(const response& r);
// resp-text-code = "CAPABILITY" SP capability-data / ...
std::optional<std::set<std::string>> capabilities_in_code(const response& r);

} // namespace session_detail

} // namespace oimap::protocol
