// A small tokenizer after Python's netrc.py (3.11): the same entries from the same files.
#include "config/netrc.hpp"

#include "config/config_error.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace oimap::config {
namespace {

class lexer {
public:
  explicit lexer(std::string text) : text_(std::move(text)) {}

  // The next token; empty at the end.
  std::string next() {
    for (;;) {
      while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
        ++pos_;
      if (pos_ >= text_.size())
        return {};
      if (text_[pos_] == '#') { // a comment, to the end of the line
        while (pos_ < text_.size() && text_[pos_] != '\n')
          ++pos_;
        continue;
      }
      std::string token;
      if (text_[pos_] == '"') {
        for (++pos_; pos_ < text_.size() && text_[pos_] != '"'; ++pos_) {
          if (text_[pos_] == '\\' && pos_ + 1 < text_.size())
            ++pos_;
          token += text_[pos_];
        }
        ++pos_; // the closing quote
        return token;
      }
      while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_]))) {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size())
          ++pos_;
        token += text_[pos_++];
      }
      return token;
    }
  }

  // A macdef's body: every line up to an empty one.
  void skip_macro() {
    const auto end = text_.find("\n\n", pos_);
    pos_ = end == std::string::npos ? text_.size() : end + 2;
  }

private:
  std::string text_;
  std::size_t pos_ = 0;
};

} // namespace

std::optional<netrc_entry> netrc_lookup(const std::filesystem::path& file, std::string_view host,
                                        bool owner_only) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (errno == ENOENT)
      return std::nullopt;
    throw config_error("cannot read " + file.string() + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  lexer lex(text.str());

  std::optional<netrc_entry> machine, fallback;
  for (std::string token = lex.next(); !token.empty();) {
    if (token == "macdef") {
      lex.next(); // its name
      lex.skip_macro();
      token = lex.next();
      continue;
    }
    std::string name;
    if (token == "machine")
      name = lex.next();
    else if (token != "default")
      throw config_error(file.string() + ": bad netrc entry: '" + token
                         + "' where 'machine', 'default' or 'macdef' belongs");
    netrc_entry entry;
    for (token = lex.next();
         !token.empty() && token != "machine" && token != "default" && token != "macdef";
         token = lex.next()) {
      const std::string value = lex.next();
      if (token == "login" || token == "user")
        entry.login = value;
      else if (token == "password")
        entry.password = secret(value);
      else if (token != "account")
        throw config_error(file.string() + ": bad netrc entry: unknown token '" + token + "'");
    }
    if (!name.empty() && name == host && !machine)
      machine = std::move(entry);
    else if (name.empty() && !fallback)
      fallback = std::move(entry);
  }
  auto found = machine ? std::move(machine) : std::move(fallback);
  if (found && found->password && owner_only) {
    struct stat st;
    if (::stat(file.c_str(), &st) == 0) {
      if (st.st_uid != ::getuid())
        throw config_error(file.string()
                           + " is not owned by this user: its passwords are "
                             "not used");
      if (st.st_mode & (S_IRWXG | S_IRWXO))
        throw config_error(file.string()
                           + " may be read by others: its passwords are not "
                             "used until it is chmod 600");
    }
  }
  return found;
}

} // namespace oimap::config
