// An incremental IMAP response parser: fed bytes, never reads the socket.
#pragma once

#include "protocol/response.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace oimap::protocol {

// Explicit limits, so a misbehaving server cannot make us allocate without bound.
struct parser_limits {
  std::size_t max_line = 64 * 1024 * 1024;             // bytes of one response outside literals
  std::size_t max_depth = 32;                          // nesting of parenthesised lists
  std::uint64_t max_inline_literal = 64 * 1024 * 1024; // literal kept in memory
};

// Receives literals of at least stream_threshold bytes piece by piece, so a
// 20 MB message body is never held whole in memory.
class literal_sink {
public:
  virtual ~literal_sink() = default;
  virtual void begin(std::uint64_t size) = 0;
  virtual void data(std::string_view chunk) = 0;
  virtual void end() = 0;
};

class response_parser {
public:
  enum class status { ok, error };

  explicit response_parser(parser_limits limits = {});
  ~response_parser();
  response_parser(const response_parser&) = delete;
  response_parser& operator=(const response_parser&) = delete;

  // Literals of at least threshold bytes go to sink (threshold 0: every
  // literal). Without a sink every literal is kept in memory, up to
  // max_inline_literal. The sink applies from the next literal on.
  void set_literal_sink(literal_sink* sink, std::uint64_t threshold = 0);

  // Consumes all of bytes (any split is fine: one byte at a time or a whole
  // buffer). Complete responses queue up for next(). After an error the
  // parser stays in error until reset().
  status feed(std::string_view bytes);

  // Like feed(), but stops right after the first response that completes
  // and sets consumed to the bytes used (all of them when none completed or
  // on error). A caller that must act on a response before the literal sink
  // sees the next one's bytes feeds the rest afterwards.
  status feed_one(std::string_view bytes, std::size_t& consumed);

  // Pops the oldest complete response; false when none is ready.
  bool next(response& out);

  // Describes the first error: what went wrong and at which byte offset of
  // the response (literal bytes included).
  const std::string& error() const;

  // True while part of a response has been fed but not completed, e.g. to
  // tell a clean end of stream from one cut in the middle of a response.
  bool in_response() const;

  // Drops everything (queued responses, partial input, the error); the
  // literal sink setting is kept.
  void reset();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace oimap::protocol
