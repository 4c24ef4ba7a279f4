// Building IMAP commands safely: quoting, literal framing, tags, trace redaction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::protocol {

// What the server advertised about non-synchronizing literals (RFC 7888).
struct literal_support {
  bool literal_plus = false;  // LITERAL+: {n+} for any size
  bool literal_minus = false; // LITERAL-: {n+} only up to 4096 bytes
};

// Largest literal LITERAL- lets us send without waiting (RFC 7888 §5).
inline constexpr std::uint64_t literal_minus_max = 4096;

// A command ready for the wire. Write segments[0]; before writing each
// further segment wait for a "+" continuation from the server (a
// synchronizing literal or an AUTHENTICATE step precedes it). A tagged NO or
// BAD instead of "+" means the rest must not be sent. The last segment ends
// with CRLF.
struct encoded_command {
  std::string tag;
  std::vector<std::string> segments;
};

// A command built part by part; parts are separated by one SP, except just
// inside begin_list()/end_list(). Every string-taking method picks a form the
// server cannot misread, so no argument can inject a CRLF or a second command.
//
//   command("LOGIN").astring(user).secret(pass)
//   command("UID FETCH").raw("1:5,7").begin_list().raw("UID").raw("FLAGS").end_list()
class command {
public:
  // name: the command word(s), e.g. "SELECT" or "UID STORE".
  // Throws std::invalid_argument if it contains CR, LF or NUL.
  explicit command(std::string_view name);

  // An atom when s is a valid atom, else sent as string() would send it.
  command& atom(std::string_view s);
  // astring: atom when possible, else quoted, else literal (mailbox names, user names).
  command& astring(std::string_view s);
  // string: quoted when possible (no CR/LF/NUL/8-bit, <= 1000 bytes), else a literal.
  command& string(std::string_view s);
  // Always a literal (message bodies for APPEND).
  command& literal(std::string_view s);
  command& number(std::uint64_t n);
  // Protocol text the caller built (sequence sets, BODY.PEEK[], FLAGS.SILENT).
  // Throws std::invalid_argument on CR, LF or NUL.
  command& raw(std::string_view s);
  // A system flag (\Seen) or a keyword ($Forwarded); throws std::invalid_argument
  // when it is neither, since a flag cannot be quoted.
  command& flag(std::string_view s);
  command& begin_list();
  command& end_list();
  // An astring that must never reach a trace: redacted_text() shows label.
  command& secret(std::string_view s, std::string_view label = "<password>");
  // Protocol text like raw(), but redacted in traces (a SASL initial response).
  command& secret_raw(std::string_view s, std::string_view label = "<redacted>");
  // A line sent on its own after the server's "+" (an AUTHENTICATE response),
  // redacted in traces when sensitive.
  command& continuation(std::string_view line, bool sensitive = true,
                        std::string_view label = "<redacted>");

  encoded_command encode(std::string_view tag, literal_support lit = {}) const;

  // The command as a debug trace should show it, without the final CRLF:
  // sensitive parts replaced by their label (not even their length shows),
  // literals as "{N bytes}" (their contents may be a message, or hold CR/LF),
  // so the only CRLFs are those before continuation lines.
  std::string redacted_text(std::string_view tag) const;

  const std::string& name() const { return name_; }

  // LOGIN user password
  static command login(std::string_view user, std::string_view password);
  // AUTHENTICATE <mechanism> with its client response base64-encoded and
  // redacted; with sasl_ir (RFC 4959) it goes on the command line, else it
  // waits for the server's "+".
  static command authenticate(std::string_view mechanism, std::string_view client_response,
                              bool sasl_ir);
  // AUTHENTICATE PLAIN (RFC 4616): authzid NUL user NUL password.
  static command authenticate_plain(std::string_view user, std::string_view password, bool sasl_ir,
                                    std::string_view authzid = {});

private:
  struct part {
    enum class kind : unsigned char { text, literal, open, close, continuation };
    kind type = kind::text;
    std::string bytes;
    bool sensitive = false;
    std::string label;
  };

  command& add_string(std::string_view s, bool allow_atom, bool sensitive, std::string_view label);

  std::string name_;
  std::vector<part> parts_;
};

// Hands out tags "<prefix>1", "<prefix>2", ...; one per connection.
class tag_generator {
public:
  // Throws std::invalid_argument unless prefix is a non-empty atom without "+".
  explicit tag_generator(std::string prefix = "A");
  std::string next();
  std::uint64_t issued() const { return counter_; }

private:
  std::string prefix_;
  std::uint64_t counter_ = 0;
};

// RFC 4648 base64 with padding, as SASL wants it.
std::string base64_encode(std::string_view bytes);

} // namespace oimap::protocol
