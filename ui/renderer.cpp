// The text renderers: what a person sees on the terminal or in a cron mail.
#include "ui/renderer.hpp"

#include <chrono>
#include <cstdarg>
#include <map>
#include <unistd.h>

namespace oimap::ui {
namespace {

std::string folder_summary(const sync::folder_counts& c) {
  std::string s;
  auto add = [&](std::uint64_t n, const char* what) {
    if (!n)
      return;
    if (!s.empty())
      s += ", ";
    s += std::to_string(n) + " " + what;
  };
  add(c.downloaded, "copied here");
  add(c.uploaded, "copied to server");
  add(c.deleted_local, "deleted here");
  add(c.deleted_remote, "deleted on server");
  add(c.flags_local, "flag changes here");
  add(c.flags_remote, "flag changes on server");
  if (s.empty())
    return "no changes";
  if (c.bytes)
    s += " (" + human_bytes(c.bytes) + ")";
  return s;
}

class text_renderer : public renderer {
public:
  text_renderer(output out, bool verbose, bool live) : out_(out), verbose_(verbose), live_(live) {}

  void handle(const ui_event& e) override {
    using k = ui_event::kind;
    switch (e.type) {
    case k::account_start:
      say("*** Processing account " + e.account);
      break;
    case k::account_done:
      end_live();
      say("*** Finished account " + e.account + ": " + e.text);
      break;
    case k::folder_start:
      if (verbose_ && !live_)
        say("Syncing " + e.account + ":" + e.folder);
      break;
    case k::folder_progress:
      if (live_ && e.counts.to_copy) {
        std::fprintf(out_.out, "\r\033[K%s:%s: %llu/%llu messages copied", e.account.c_str(),
                     e.folder.c_str(),
                     static_cast<unsigned long long>(e.counts.downloaded + e.counts.uploaded),
                     static_cast<unsigned long long>(e.counts.to_copy));
        std::fflush(out_.out);
        live_line_ = true;
      }
      break;
    case k::folder_done: {
      end_live();
      const auto outcome = static_cast<sync::folder_outcome>(e.outcome);
      if (outcome == sync::folder_outcome::ok) {
        if (verbose_)
          say(e.account + ":" + e.folder + ": " + folder_summary(e.counts));
      } else if (outcome == sync::folder_outcome::canceled) {
        say(e.account + ":" + e.folder + ": stopped (" + folder_summary(e.counts) + ")");
      } else {
        complain("ERROR: " + e.account + ":" + e.folder + ": " + e.text);
      }
      break;
    }
    case k::info:
      if (verbose_)
        say(e.text);
      break;
    case k::warning:
      end_live();
      complain("WARNING: " + prefix(e) + e.text);
      break;
    case k::error:
      end_live();
      complain("ERROR: " + prefix(e) + e.text);
      break;
    case k::debug:
      // With -l, debug output goes to the log file only (as OfflineIMAP does).
      if (out_.log)
        log_line(e.text);
      else
        std::fprintf(out_.err, "%s\n", e.text.c_str());
      break;
    }
  }

private:
  static std::string prefix(const ui_event& e) {
    if (e.account.empty())
      return {};
    return e.folder.empty() ? e.account + ": " : e.account + ":" + e.folder + ": ";
  }
  void end_live() {
    if (live_line_) {
      std::fputs("\r\033[K", out_.out);
      live_line_ = false;
    }
  }
  void say(const std::string& line) {
    std::fprintf(out_.out, "%s\n", line.c_str());
    std::fflush(out_.out);
    log_line(line);
  }
  void complain(const std::string& line) {
    std::fflush(out_.out);
    std::fprintf(out_.err, "%s\n", line.c_str());
    std::fflush(out_.err);
    log_line(line);
  }
  void log_line(const std::string& line) {
    if (out_.log) {
      std::fprintf(out_.log, "%s\n", line.c_str());
      std::fflush(out_.log);
    }
  }

  output out_;
  bool verbose_;
  bool live_;
  bool live_line_ = false;
};

class quiet_renderer : public text_renderer {
public:
  explicit quiet_renderer(output out) : text_renderer(out, false, false) {}
  void handle(const ui_event& e) override {
    using k = ui_event::kind;
    if (e.type == k::warning || e.type == k::error || e.type == k::debug
        || (e.type == k::folder_done
            && static_cast<sync::folder_outcome>(e.outcome) != sync::folder_outcome::ok
            && static_cast<sync::folder_outcome>(e.outcome) != sync::folder_outcome::canceled))
      text_renderer::handle(e);
  }
};

} // namespace

std::string human_bytes(std::uint64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::unique_ptr<renderer> make_renderer(config::ui_kind kind, output out) {
  switch (kind) {
  case config::ui_kind::quiet:
    return std::make_unique<quiet_renderer>(out);
  case config::ui_kind::basic:
  case config::ui_kind::syslog:
  case config::ui_kind::machineui:
    return std::make_unique<text_renderer>(out, true, false);
  case config::ui_kind::ttyui:
  case config::ui_kind::blinkenlights:
    break;
  }
  // ttyui: a live progress line when talking to a terminal.
  return std::make_unique<text_renderer>(out, true, ::isatty(::fileno(out.out)) != 0);
}

} // namespace oimap::ui
