// Tests for one Maildir folder: delivery, scan, flag and uid renames, removal, reading.
#include "storage/maildir_name.hpp"
#include "storage/maildir_store.hpp"
#include "storage/storage_error.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <fstream>
#include <random>

using namespace oimap::storage;
namespace fs = std::filesystem;

namespace {

struct fixture {
  test::temp_dir tmp;
  maildir_store store;
  std::unique_ptr<maildir_folder> folder;

  explicit fixture(maildir_options opts = {true, false}) : store(tmp.path(), '.', opts) {
    store.create_folder("INBOX.Sent");
    folder = store.open("INBOX.Sent");
  }
  fs::path dir(const char* sub) const { return folder->path() / sub; }

  std::string deliver(const std::string& wire, std::uint32_t uid, flag_set flags) {
    message_writer w = folder->begin_message();
    w.write(wire);
    return w.commit(uid, flags);
  }

  const local_entry* find(const std::vector<local_entry>& entries, const std::string& key) {
    for (const auto& e : entries)
      if (e.key == key)
        return &e;
    return nullptr;
  }

  std::string read_wire(const std::string& key) {
    message_reader r = folder->open(key);
    std::string out;
    for (std::string_view chunk = r.next(); !chunk.empty(); chunk = r.next())
      out.append(chunk);
    return out;
  }
};

} // namespace

TEST_CASE("delivery writes LF form, mode 0600, into new/ or cur/", "[maildir_folder]") {
  fixture f;
  const std::string md5 = folder_md5("INBOX.Sent");

  std::string key = f.deliver("Subject: x\r\n\r\nbody\r\nbare\rcr\r\n", 5, flag::flagged);
  auto in_new = test::names_in(f.dir("new"));
  REQUIRE(in_new.size() == 1);
  const std::string& name = in_new[0];
  CHECK(name == key + ":2,F");
  CHECK(key.ends_with(",U=5,FMD5=" + md5));
  CHECK(parse_name(name, md5, false).uid == 5u);
  CHECK(test::read_file(f.dir("new") / name) == "Subject: x\n\nbody\nbare\rcr\n");
  CHECK(test::mode_of(f.dir("new") / name) == 0600);
  CHECK(test::names_in(f.dir("tmp")).empty());
  CHECK(test::names_in(f.dir("cur")).empty());

  std::string seen = f.deliver("a\r\n", 6, (flag_set(flag::seen) | flag::replied));
  CHECK(test::names_in(f.dir("cur")) == std::vector<std::string>{seen + ":2,RS"});
  CHECK(seen != key);
  f.folder->sync_dirs();
}

TEST_CASE("windows-compatible names use '!'", "[maildir_folder]") {
  fixture f({false, true});
  std::string key = f.deliver("x\r\n", 9, flag::seen);
  CHECK(test::names_in(f.dir("cur")) == std::vector<std::string>{key + "!2,S"});
  auto entries = f.folder->scan();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].uid == 9u);
  CHECK(entries[0].flags == flag_set(flag::seen));
}

TEST_CASE("abort and destruction leave nothing behind", "[maildir_folder]") {
  fixture f;
  {
    message_writer w = f.folder->begin_message();
    w.write("partial\r\n");
    CHECK(fs::exists(w.tmp_path()));
    CHECK(test::mode_of(w.tmp_path()) == 0600);
    w.abort();
    CHECK_FALSE(fs::exists(w.tmp_path()));
    CHECK_THROWS_AS(w.write("more"), storage_error);
  }
  {
    message_writer w = f.folder->begin_message();
    w.write("dropped without commit\r\n");
    message_writer moved = std::move(w); // the moved-from writer owns nothing
  }
  CHECK(test::names_in(f.dir("tmp")).empty());
  CHECK(test::names_in(f.dir("new")).empty());
  CHECK(test::names_in(f.dir("cur")).empty());
}

TEST_CASE("scan reports uids only for this folder's FMD5", "[maildir_folder]") {
  fixture f;
  const std::string ours = folder_md5("INBOX.Sent");
  const std::string theirs = folder_md5("INBOX");
  test::write_file(f.dir("cur") / ("1_0.1.h,U=7,FMD5=" + ours + ":2,S"), "a\n");
  test::write_file(f.dir("cur") / ("1_1.1.h,U=8,FMD5=" + theirs + ":2,FS"), "b\n");
  test::write_file(f.dir("new") / "1700000000.M1P2.host", "c\n");
  test::write_file(f.dir("new") / ".hidden", "d\n");
  fs::create_directory(f.dir("cur") / "subdir");

  auto entries = f.folder->scan();
  REQUIRE(entries.size() == 3);
  const local_entry* own = f.find(entries, "1_0.1.h,U=7,FMD5=" + ours);
  const local_entry* foreign = f.find(entries, "1_1.1.h,U=8,FMD5=" + theirs);
  const local_entry* plain = f.find(entries, "1700000000.M1P2.host");
  REQUIRE(own);
  REQUIRE(foreign);
  REQUIRE(plain);
  CHECK(own->uid == 7u);
  CHECK(own->flags == flag_set(flag::seen));
  CHECK_FALSE(own->in_new);
  CHECK_FALSE(foreign->uid);
  CHECK(foreign->flags == (flag_set(flag::flagged) | flag::seen));
  CHECK_FALSE(plain->uid);
  CHECK(plain->flags.empty());
  CHECK(plain->in_new);
  CHECK(plain->filename == "1700000000.M1P2.host");
}

TEST_CASE("set_flags renames and moves between new/ and cur/", "[maildir_folder]") {
  fixture f;
  std::string key = f.deliver("m\r\n", 3, flag_set());
  CHECK(test::names_in(f.dir("new")) == std::vector<std::string>{key + ":2,"});

  f.folder->set_flags(key, flag::seen);
  CHECK(test::names_in(f.dir("new")).empty());
  CHECK(test::names_in(f.dir("cur")) == std::vector<std::string>{key + ":2,S"});

  f.folder->set_flags(key, (flag_set(flag::seen) | flag::trashed));
  CHECK(test::names_in(f.dir("cur")) == std::vector<std::string>{key + ":2,ST"});

  f.folder->set_flags(key, flag::flagged);
  CHECK(test::names_in(f.dir("cur")).empty());
  CHECK(test::names_in(f.dir("new")) == std::vector<std::string>{key + ":2,F"});

  f.folder->set_flags(key, flag::flagged); // unchanged: nothing to do
  CHECK(test::names_in(f.dir("new")) == std::vector<std::string>{key + ":2,F"});

  auto entries = f.folder->scan();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].key == key);
  CHECK(entries[0].flags == flag_set(flag::flagged));
  CHECK(entries[0].uid == 3u);
}

TEST_CASE("set_flags keeps unknown letters and a plain new/ file stays put", "[maildir_folder]") {
  fixture f;
  test::write_file(f.dir("cur") / "foreign:2,PSa", "x\n");
  test::write_file(f.dir("new") / "fresh", "y\n");
  f.folder->scan();
  f.folder->set_flags("foreign", (flag_set(flag::seen) | flag::replied));
  CHECK(test::names_in(f.dir("cur")) == std::vector<std::string>{"foreign:2,PRSa"});
  f.folder->set_flags("fresh", flag_set()); // no flags, already in new/
  CHECK(test::names_in(f.dir("new")) == std::vector<std::string>{"fresh"});
  f.folder->set_flags("fresh", flag::seen);
  CHECK(test::names_in(f.dir("cur")) == std::vector<std::string>{"foreign:2,PRSa", "fresh:2,S"});
}

TEST_CASE("operations follow a file renamed by a mail reader since the scan", "[maildir_folder]") {
  fixture f;
  std::string key = f.deliver("m\r\n", 3, flag_set());
  fs::rename(f.dir("new") / (key + ":2,"), f.dir("cur") / (key + ":2,R"));
  f.folder->set_flags(key, (flag_set(flag::seen) | flag::replied));
  CHECK(test::names_in(f.dir("cur")) == std::vector<std::string>{key + ":2,RS"});
  CHECK(f.read_wire(key) == "m\r\n");
  CHECK(f.folder->path_of(key) == f.dir("cur") / (key + ":2,RS"));

  fs::remove(f.dir("cur") / (key + ":2,RS"));
  CHECK_THROWS_AS(f.folder->set_flags(key, flag_set()), message_not_found);
  CHECK_THROWS_AS(f.folder->open(key), message_not_found);
  CHECK_FALSE(f.folder->path_of(key));
}

TEST_CASE("set_uid gives an uploaded message our U= and FMD5=", "[maildir_folder]") {
  fixture f;
  const std::string ours = folder_md5("INBOX.Sent");
  const std::string foreign_key = "1_1.1.h,U=8,FMD5=" + folder_md5("INBOX");
  test::write_file(f.dir("cur") / (foreign_key + ":2,S"), "b\n");
  test::write_file(f.dir("new") / "1700000000.M1P2.host", "c\n");
  f.folder->scan();

  std::string k1 = f.folder->set_uid(foreign_key, 42);
  CHECK(k1 == "1_1.1.h,U=42,FMD5=" + ours);
  CHECK(test::names_in(f.dir("cur")) == std::vector<std::string>{k1 + ":2,S"});

  std::string k2 = f.folder->set_uid("1700000000.M1P2.host", 43);
  CHECK(k2 == "1700000000.M1P2.host,U=43,FMD5=" + ours);
  CHECK(test::names_in(f.dir("new")) == std::vector<std::string>{k2});

  CHECK(f.folder->set_uid(k1, 42) == k1); // repeating it changes nothing

  auto entries = f.folder->scan();
  REQUIRE(entries.size() == 2);
  CHECK(f.find(entries, k1)->uid == 42u);
  CHECK(f.find(entries, k2)->uid == 43u);
  CHECK(test::read_file(f.dir("cur") / (k1 + ":2,S")) == "b\n");
}

TEST_CASE("remove deletes the file and is idempotent", "[maildir_folder]") {
  fixture f;
  std::string a = f.deliver("a\r\n", 1, flag::seen);
  std::string b = f.deliver("b\r\n", 2, flag_set());
  f.folder->remove(a);
  CHECK(test::names_in(f.dir("cur")).empty());
  f.folder->remove(a);
  f.folder->remove("never-existed");
  auto entries = f.folder->scan();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].key == b);
}

TEST_CASE("a copied file with the same key gets a distinct key", "[maildir_folder]") {
  fixture f;
  test::write_file(f.dir("new") / "dup", "1\n");
  test::write_file(f.dir("cur") / "dup:2,S", "1\n");
  auto entries = f.folder->scan();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].key == "dup");
  CHECK(entries[1].key == "cur/dup:2,S");
  f.folder->set_flags("cur/dup:2,S", (flag_set(flag::seen) | flag::flagged));
  CHECK(test::names_in(f.dir("cur")) == std::vector<std::string>{"dup:2,FS"});
  f.folder->remove("dup");
  CHECK(test::names_in(f.dir("new")).empty());
}

TEST_CASE("reading gives the wire form and its size", "[maildir_folder]") {
  fixture f;
  test::write_file(f.dir("cur") / "m:2,S", "Subject: y\n\nline\nkept\r\nend");
  f.folder->scan();
  message_reader r = f.folder->open("m");
  CHECK(r.wire_size() == std::string("Subject: y\r\n\r\nline\r\nkept\r\nend").size());
  CHECK(f.read_wire("m") == "Subject: y\r\n\r\nline\r\nkept\r\nend");
}

TEST_CASE("a small message is read once: its size, then its chunks from memory",
          "[maildir_folder]") {
  fixture f;
  test::write_file(f.dir("cur") / "m:2,S", "Subject: y\n\nbody\n");
  f.folder->scan();
  message_reader r = f.folder->open("m");
  const std::string wire = "Subject: y\r\n\r\nbody\r\n";
  REQUIRE(r.wire_size() == wire.size());
  // Rewritten in place after the size was taken: what goes out is what was
  // measured, so the file was not read a second time.
  test::write_file(f.dir("cur") / "m:2,S", "Subject: z\n\nbody\n");
  std::string sent;
  for (std::string_view chunk = r.next(); !chunk.empty(); chunk = r.next())
    sent.append(chunk);
  CHECK(sent == wire);
}

TEST_CASE("a 20 MB message streamed in 64 KB chunks is byte-exact", "[maildir_folder]") {
  fixture f;
  // Wire form with CRLF lines, bare CRs (never before CR or LF, so the
  // conversion round-trips exactly) and binary bytes; chunk edges fall
  // everywhere, including between CR and LF.
  std::mt19937 rng(7);
  std::string wire;
  wire.reserve(21 << 20);
  while (wire.size() < (20u << 20)) {
    size_t len = rng() % 200;
    for (size_t i = 0; i < len; ++i) {
      char c = static_cast<char>(rng() % 256);
      if (c == '\r' || c == '\n')
        c = 'x';
      wire.push_back(c);
      if (rng() % 97 == 0)
        wire.append("\rz");
    }
    wire.append("\r\n");
  }
  std::string expected;
  for (size_t i = 0; i < wire.size(); ++i)
    if (!(wire[i] == '\r' && i + 1 < wire.size() && wire[i + 1] == '\n'))
      expected.push_back(wire[i]);

  message_writer w = f.folder->begin_message();
  for (size_t off = 0; off < wire.size(); off += 65536)
    w.write(std::string_view(wire).substr(off, 65536));
  std::string key = w.commit(77, flag::seen);

  auto path = f.folder->path_of(key);
  REQUIRE(path);
  CHECK(test::read_file(*path) == expected);
  CHECK(wire_size_of_file(*path) == wire.size());
  message_reader r = f.folder->open(key);
  CHECK(r.wire_size() == wire.size());
  CHECK(f.read_wire(key) == wire);
  // The same reader after wire_size(): read again, chunk by chunk.
  std::string again;
  for (std::string_view chunk = r.next(); !chunk.empty(); chunk = r.next())
    again.append(chunk);
  CHECK(again == wire);
}

TEST_CASE("a write error names the file and the system's reason", "[maildir_folder]") {
  // /dev/full fails every write with ENOSPC; a writer pointed at it shows
  // the message a full disk would produce.
  if (!fs::exists("/dev/full"))
    return;
  int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  unique_fd owned(fd);
  CHECK_THROWS_WITH(write_all(owned.get(), "data", "/x/INBOX/tmp/m"),
                    "cannot write /x/INBOX/tmp/m: No space left on device");
}

TEST_CASE("seal marks new/ and cur/ so that any later change shows", "[maildir][seal]") {
  fixture f;
  f.deliver("Subject: a\r\n\r\nx\r\n", 1, flag::seen);
  f.folder->scan();
  f.deliver("Subject: b\r\n\r\ny\r\n", 2, {});

  auto sealed = f.folder->seal();
  REQUIRE(sealed);
  CHECK(f.folder->stamp() == *sealed);

  SECTION("a rename by someone else, even at once, moves the stamp") {
    auto entries = f.folder->scan();
    REQUIRE(entries.size() == 2);
    const auto& e = entries[0];
    const auto from = f.dir(e.in_new ? "new" : "cur") / e.filename;
    fs::rename(from, f.dir("cur") / (e.key + ":2,F"));
    CHECK(f.folder->stamp() != *sealed);
  }
  SECTION("a file someone else added before the seal makes it fail") {
    std::ofstream(f.dir("new") / "1700000000.foreign.host") << "Subject: c\n\nz\n";
    CHECK_FALSE(f.folder->seal());
  }
}

TEST_CASE("seal vouches for our own changes from the watch, and catches anyone else's",
          "[maildir][seal]") {
  fixture f;
  std::string gone = f.deliver("Subject: a\r\n\r\nx\r\n", 1, flag::seen);
  std::string renamed = f.deliver("Subject: b\r\n\r\ny\r\n", 2, {});
  std::string upload = f.deliver("Subject: c\r\n\r\nz\r\n", 0, {});
  f.folder->scan(true);
  REQUIRE(f.folder->watching());
  // Every kind of change a sync makes: delivery, staged delivery, flags
  // (new/ to cur/), a UID after upload, removal.
  f.deliver("Subject: d\r\n\r\nw\r\n", 3, {});
  message_writer w = f.folder->begin_message();
  w.write("Subject: e\r\n\r\nv\r\n");
  std::vector<staged_message> staged{w.stage(4, flag::seen)};
  f.folder->commit_staged(staged);
  f.folder->set_flags(renamed, flag_set(flag::seen) | flag::flagged);
  f.folder->set_uid(upload, 5);
  f.folder->remove(gone);

  SECTION("ours only: sealed") {
    auto sealed = f.folder->seal();
    REQUIRE(sealed);
    CHECK(f.folder->stamp() == *sealed);
    CHECK_FALSE(f.folder->watching());
  }
  SECTION("a file someone else added: not sealed") {
    std::ofstream(f.dir("cur") / "1700000000.foreign.host:2,S") << "Subject: f\n\nu\n";
    CHECK_FALSE(f.folder->seal());
  }
  SECTION("a file of ours someone else renamed: not sealed") {
    auto p = f.folder->path_of(renamed);
    REQUIRE(p);
    fs::rename(*p, f.dir("cur") / "moved-by-a-mail-reader:2,S");
    CHECK_FALSE(f.folder->seal());
  }
  SECTION("someone else's file that came and went: still sealed, by listing again") {
    std::ofstream(f.dir("new") / "1700000001.transient.host") << "Subject: g\n\nt\n";
    fs::remove(f.dir("new") / "1700000001.transient.host");
    CHECK(f.folder->seal());
  }
}

TEST_CASE("locate finds a message by key where a sync puts it, without a scan",
          "[maildir][locate]") {
  fixture f;
  std::string seen = f.deliver("Subject: a\r\n\r\nx\r\n", 1, flag_set(flag::seen) | flag::flagged);
  std::string unseen = f.deliver("Subject: b\r\n\r\ny\r\n", 2, flag::replied);
  // A bare name in new/, as a delivery agent leaves it.
  std::ofstream(f.dir("new") / "1700000000.bare.host") << "Subject: c\n\nz\n";
  auto fresh = std::make_unique<maildir_folder>(f.folder->path(), "INBOX.Sent", maildir_options{});

  auto a = fresh->locate(seen, flag_set(flag::seen) | flag::flagged);
  REQUIRE(a);
  CHECK_FALSE(a->in_new);
  CHECK(a->uid == 1u);
  CHECK(a->flags == (flag_set(flag::seen) | flag::flagged));
  auto b = fresh->locate(unseen, flag::replied);
  REQUIRE(b);
  CHECK(b->in_new);
  CHECK(fresh->locate("1700000000.bare.host", {}));
  // Flags other than the file's: not where the key and flags say.
  CHECK_FALSE(fresh->locate(unseen, flag::flagged));
  CHECK_FALSE(fresh->locate("no-such-key", {}));

  // Located files are known to the operations, e.g. a flag change.
  fresh->set_flags(unseen, flag::seen);
  auto c = fresh->locate(unseen, flag::seen);
  REQUIRE(c);
  CHECK_FALSE(c->in_new);
}

TEST_CASE("a folder watched unscanned seals after our own changes", "[maildir][seal]") {
  fixture f;
  std::string a = f.deliver("Subject: a\r\n\r\nx\r\n", 1, flag::seen);
  f.deliver("Subject: b\r\n\r\ny\r\n", 2, {});
  f.folder->scan();
  REQUIRE(f.folder->seal());

  auto fresh = f.store.open("INBOX.Sent");
  REQUIRE(fresh->watch_unscanned());
  REQUIRE(fresh->locate(a, flag::seen));
  fresh->set_flags(a, flag_set(flag::seen) | flag::flagged);
  message_writer w = fresh->begin_message();
  w.write("Subject: c\r\n\r\nz\r\n");
  w.commit(3, {});
  SECTION("ours only") {
    auto sealed = fresh->seal();
    REQUIRE(sealed);
    CHECK(fresh->stamp() == *sealed);
  }
  SECTION("and a file of someone else's") {
    std::ofstream(f.dir("new") / "1700000001.foreign.host") << "Subject: d\n\nw\n";
    CHECK_FALSE(fresh->seal());
  }
}

TEST_CASE("staged messages become durable and placed in one batch", "[maildir][stage]") {
  for (bool fsync : {true, false}) {
    DYNAMIC_SECTION("fsync " << fsync) {
      fixture f(maildir_options{fsync, false});
      std::vector<staged_message> staged;
      for (std::uint32_t uid = 1; uid <= 3; ++uid) {
        message_writer w = f.folder->begin_message();
        w.write("Subject: " + std::to_string(uid) + "\r\n\r\nbody\r\n");
        staged.push_back(w.stage(uid, uid == 2 ? flag_set(flag::seen) : flag_set()));
      }
      // Staged: still in tmp/, not yet visible to a mail reader.
      CHECK(f.folder->scan().empty());
      auto keys = f.folder->commit_staged(staged);
      REQUIRE(keys.size() == 3);
      CHECK(staged.empty());
      auto entries = f.folder->scan();
      REQUIRE(entries.size() == 3);
      for (const auto& e : entries) {
        REQUIRE(e.uid);
        CHECK(e.in_new == (*e.uid != 2));
        CHECK(std::find(keys.begin(), keys.end(), e.key) != keys.end());
      }
      CHECK(fs::is_empty(f.dir("tmp")));
    }
  }
}

TEST_CASE("clean_tmp removes only what is older than the limit", "[maildir][tmp]") {
  fixture f;
  std::ofstream(f.dir("tmp") / "old-leftover") << "x";
  std::ofstream(f.dir("tmp") / "fresh") << "y";
  CHECK(f.folder->clean_tmp(std::chrono::hours(36)) == 0);
  CHECK(f.folder->clean_tmp(std::chrono::seconds(-10)) == 2); // everything counts as old
  CHECK(fs::is_empty(f.dir("tmp")));
}

TEST_CASE("filterheaders: the wire form leaves the fields out, the file keeps them, sizes agree",
          "[maildir_folder]") {
  maildir_options opts{true, false};
  opts.wire_drops_headers = {"x-spam", "x-keywords"};
  fixture f(opts);
  // A header block longer than one read (64 KB), to be gathered across reads.
  const std::string long_field = "X-Long: " + std::string(100000, 'a') + "\n";
  const std::string file = "From: a@b\nX-Spam: yes\n\tcontinued\n" + long_field
                           + "x-keywords: $Junk\nSubject: s\n\nbody\nX-Spam: in the body stays\n";
  test::write_file(f.dir("cur") / "m:2,S", file);
  f.folder->scan();
  const std::string wire = "From: a@b\r\nX-Long: " + std::string(100000, 'a')
                           + "\r\nSubject: s\r\n\r\nbody\r\nX-Spam: in the body stays\r\n";
  message_reader r = f.folder->open("m");
  CHECK(r.wire_size() == wire.size());
  CHECK(f.read_wire("m") == wire);
  CHECK(test::read_file(f.dir("cur") / "m:2,S") == file);
}
