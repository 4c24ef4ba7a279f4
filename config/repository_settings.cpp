// Reading and validating [Repository X] sections, and reading their passwords.
#include "config/paths.hpp"
#include "config/python_str.hpp"
#include "config/section_reader.hpp"
#include "config/settings.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace oimap::config {

namespace {

// OfflineIMAP's supported set; it refuses anything else, so do we.
constexpr std::array<std::string_view, 5> known_mechanisms = {"GSSAPI", "XOAUTH2", "CRAM-MD5",
                                                              "PLAIN", "LOGIN"};

std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

maildir_settings read_maildir(const section_reader& reader) {
  maildir_settings maildir;
  maildir.localfolders = expand_path(reader.required("localfolders"));
  // OfflineIMAP strips the separator; it must then be exactly one character.
  const std::string sep(python_strip(reader.text("sep").value_or(".")));
  if (sep.size() != 1) {
    reader.fail("sep", "'sep' must be a single character such as '.' or '/', not '" + sep + "'");
  }
  maildir.sep = sep[0];
  maildir.restoreatime = reader.boolean("restoreatime", false);
  maildir.utime_from_header = reader.boolean("utime_from_header", false);
  maildir.filename_use_mail_timestamp = reader.boolean("filename_use_mail_timestamp", false);
  return maildir;
}

std::vector<std::string> read_auth_mechanisms(const section_reader& reader) {
  std::vector<std::string> mechanisms;
  for (const std::string& item : reader.list("auth_mechanisms")) {
    std::string mechanism = ascii_upper(item);
    if (std::find(known_mechanisms.begin(), known_mechanisms.end(), mechanism)
        == known_mechanisms.end()) {
      reader.fail("auth_mechanisms", "unknown authentication mechanism '" + item
                                         + "' (known: GSSAPI, XOAUTH2, CRAM-MD5, PLAIN, LOGIN)");
    }
    mechanisms.push_back(std::move(mechanism));
  }
  if (mechanisms.empty()) {
    mechanisms.assign(known_mechanisms.begin(), known_mechanisms.end());
  }
  return mechanisms;
}

imap_settings read_imap(const section_reader& reader) {
  imap_settings imap;
  const auto non_empty = [&](std::string_view option) {
    auto v = reader.text(option);
    return v && !v->empty() ? v : std::nullopt;
  };
  imap.preauthtunnel = non_empty("preauthtunnel");
  imap.remote_identity = non_empty("remote_identity").value_or("");
  imap.transporttunnel = non_empty("transporttunnel");
  if (imap.preauthtunnel && imap.transporttunnel)
    reader.fail("transporttunnel", "preauthtunnel and transporttunnel are both set; keep one");
  // A tunnel is the way to the server: no host to name; a preauthenticated
  // one needs no user either.
  const bool tunnel = imap.preauthtunnel || imap.transporttunnel;
  imap.remotehosteval = reader.text("remotehosteval");
  imap.remotehost = imap.remotehosteval || tunnel ? reader.text("remotehost").value_or("")
                                                  : reader.required("remotehost");
  imap.remoteusereval = reader.text("remoteusereval");
  imap.remoteuser = imap.remoteusereval || imap.preauthtunnel
                        ? reader.text("remoteuser").value_or("")
                        : reader.required("remoteuser");
  imap.remotepasseval = reader.text("remotepasseval");
  // Read as text only: the value never goes into any message below.
  if (auto pass = reader.text("remotepass")) {
    imap.remotepass.emplace(std::move(*pass));
  }
  // OfflineIMAP expands only ~ here; $VAR as well is a harmless superset.
  imap.remotepassfile = reader.path("remotepassfile");
  imap.remotepassfile_where = reader.where("remotepassfile");

  imap.ssl = reader.boolean("ssl", true);
  if (const auto v = reader.text("ipv6"); v && !v->empty())
    imap.ipv6 = reader.boolean("ipv6", false);
  imap.starttls = reader.boolean("starttls", true);
  imap.tls_verify = reader.boolean("ssl_verify", true);
  imap.remoteporteval = reader.text("remoteporteval");
  imap.remoteport = reader.integer("remoteport", imap.ssl ? 993 : 143, 1, 65535);
  if (const auto cafile = reader.text("sslcacertfile"); cafile && *cafile != "OS-DEFAULT") {
    imap.sslcacertfile = expand_path(*cafile);
  }
  imap.sslclientcert = reader.path("sslclientcert");
  imap.sslclientkey = reader.path("sslclientkey");
  for (const std::string& item : reader.list("cert_fingerprint")) {
    std::string hex = ascii_lower(item);
    hex.erase(std::remove(hex.begin(), hex.end(), ':'), hex.end());
    // SHA-1, -224, -256, -384 or -512, as OfflineIMAP accepts: anything
    // else could never match, and every connection would be refused.
    const auto n = hex.size();
    if ((n != 40 && n != 56 && n != 64 && n != 96 && n != 128)
        || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
      reader.fail("cert_fingerprint",
                  "'" + item
                      + "' is not a SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512 fingerprint "
                        "in hex");
    imap.cert_fingerprints.push_back(std::move(hex));
  }
  imap.auth_mechanisms = read_auth_mechanisms(reader);

  imap.maxconnections = reader.integer("maxconnections", 1, 1, 1000);
  imap.expunge = reader.boolean("expunge", true);
  imap.subscribedonly = reader.boolean("subscribedonly", false);
  imap.holdconnectionopen = reader.boolean("holdconnectionopen", false);
  imap.keepalive = reader.integer("keepalive", 0, 0, 24 * 3600);
  return imap;
}

} // namespace

repository_settings load_repository(const config_file& file, std::string_view name) {
  const std::string section = "Repository " + std::string(name);
  const section_reader reader(file, section, "repository '" + std::string(name) + "'");
  if (!file.has_section(section)) {
    reader.fail("type", "there is no [" + section + "] section");
  }
  repository_settings repository;
  repository.name = name;
  repository.where = file.where_section(section);

  const std::string type = std::string(python_strip(reader.required("type")));
  if (type == "Maildir") {
    repository.backend = read_maildir(reader);
  } else if (type == "IMAP") {
    repository.backend = read_imap(reader);
  } else if (type == "Gmail") {
    reader.fail("type", "type 'Gmail' is not supported yet (type = IMAP with remotehost = "
                        "imap.gmail.com works, without label sync)");
  } else if (type == "GmailMaildir") {
    reader.fail("type", "type 'GmailMaildir' is not supported yet (type = Maildir works, "
                        "without label sync)");
  } else {
    // Case matters, as in OfflineIMAP: "maildir" is refused there too.
    reader.fail("type", "unknown type '" + type + "' (expected Maildir or IMAP)");
  }

  repository.readonly = reader.boolean("readonly", false);
  repository.sync_deletes = reader.boolean("sync_deletes", true);
  repository.createfolders = reader.boolean("createfolders", true);
  repository.nametrans = reader.text("nametrans");
  repository.folderfilter = reader.text("folderfilter");
  repository.folderincludes = reader.text("folderincludes");
  repository.newmail_hook = reader.text("newmail_hook");
  return repository;
}

std::optional<secret> read_password(const repository_settings& repository) {
  const imap_settings* imap = repository.imap();
  if (imap == nullptr) {
    return std::nullopt;
  }
  if (imap->remotepass) {
    return imap->remotepass;
  }
  if (!imap->remotepassfile) {
    return std::nullopt;
  }
  auto fail = [&](int error) {
    throw config_error(imap->remotepassfile_where + ": repository '" + repository.name
                       + "': cannot read remotepassfile " + imap->remotepassfile->string() + ": "
                       + std::strerror(error));
  };
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> stream(
      std::fopen(imap->remotepassfile->c_str(), "rb"), &std::fclose);
  if (!stream) {
    fail(errno);
  }
  // Python's readline() in text mode: up to the first "\n", "\r\n" or "\r".
  std::string line;
  for (int c; (c = std::fgetc(stream.get())) != EOF && c != '\n' && c != '\r';) {
    line += static_cast<char>(c);
  }
  if (std::ferror(stream.get())) {
    fail(errno);
  }
  return secret(std::string(python_strip(line)));
}

} // namespace oimap::config
