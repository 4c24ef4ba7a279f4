"""bench/run's logic: oimap against OfflineIMAP, mbsync and the wire limit.

See bench/README.md for what is measured and how. Python 3 standard
library only; run by bench/run with /usr/bin/python3.
"""

import argparse
import copy
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import changes  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402
import server as srv  # noqa: E402
import tools as tl  # noqa: E402
import verify  # noqa: E402

ROOT = srv.ROOT

PROFILES = {
    "tiny": dict(folders=3, messages=50, accounts=1, repeats=1, scenarios="abcd", subset=0),
    "small": dict(folders=10, messages=500, accounts=1, repeats=3, scenarios="abcd", subset=0),
    "large": dict(folders=40, messages=2500, accounts=1, repeats=1, scenarios="abcd", subset=4),
    "accounts": dict(folders=2, messages=200, accounts=50, repeats=3, scenarios="ab", subset=0),
}
SCENARIOS = {
    "a": "a initial sync",
    "b": "b no-change resync",
    # Measured with every (b): the second no-change run in a row. The first
    # comes right after (a), where the server still pays for that download
    # (Dovecot rewrites each folder's index at the next STATUS); this one is
    # what a no-change check costs from then on.
    "B": "b again, no-change",
    "c": "c +1% on server",
    "d": "d +1% local",
}
TOOL_KINDS = ("oimap", "mbsync", "offlineimap")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: %.2f, %.2f, %.2f" % os.getloadavg()


def tool_version(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/run",
        description="Benchmarks oimap against OfflineIMAP, mbsync and the wire limit "
                    "on a private Dovecot, verifying every run.")
    ap.add_argument("profile", nargs="?", default="small", choices=sorted(PROFILES))
    ap.add_argument("--tools", default=",".join(TOOL_KINDS),
                    help="comma-separated: oimap,mbsync,offlineimap (default: all)")
    ap.add_argument("--scenarios", help="letters of a,b,c,d (default: the profile's; "
                    "a always runs first, reported only if asked)")
    ap.add_argument("--repeats", type=int, help="runs per tool (median reported)")
    ap.add_argument("--fsync", choices=["on", "off", "both"], default="on",
                    help="the tools' fsync setting (default on, their default)")
    ap.add_argument("--disk", metavar="DIR",
                    help="put the tools' Maildirs and state here (default: tmpfs /dev/shm)")
    ap.add_argument("--base", default="/dev/shm/oimap-bench",
                    help="corpus cache and private Dovecot (default %(default)s)")
    ap.add_argument("--maxconnections", type=int, default=3)
    ap.add_argument("--maxsyncaccounts", type=int,
                    help="default 4 for the accounts profile, else 1")
    ap.add_argument("--wire-connections", type=int,
                    help="wire limit connections (default: maxconnections x maxsyncaccounts, "
                         "at most 4)")
    ap.add_argument("--folders", type=int)
    ap.add_argument("--messages", type=int, help="per folder")
    ap.add_argument("--accounts", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--offlineimap-subset", type=int, metavar="K",
                    help="OfflineIMAP syncs only the first K folders, times scaled up "
                         "(large profile default 4; 0 = all)")
    ap.add_argument("--oimap", default=os.path.join(ROOT, "build", "oimap"))
    ap.add_argument("--offlineimap", default="/usr/bin/offlineimap")
    ap.add_argument("--mbsync", default="/usr/bin/mbsync")
    ap.add_argument("--wire-limit", default=os.path.join(ROOT, "build-bench", "wire_limit"))
    ap.add_argument("--rtt", type=float, default=0, metavar="MS",
                    help="reach Dovecot through bench's latency proxy with this round-trip "
                         "time (default 0: straight over loopback)")
    ap.add_argument("--latency-proxy",
                    default=os.path.join(ROOT, "build-bench", "latency_proxy"))
    ap.add_argument("--timeout", type=float, default=3600, help="per run, seconds")
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the server, Maildirs and users (debugging)")
    ap.add_argument("--keep-corpus", choices=["auto", "yes", "no"], default="auto",
                    help="keep the generated corpus for the next run (auto: if < 1 GB)")
    args = ap.parse_args(argv)
    prof = PROFILES[args.profile]
    args.folders = args.folders or prof["folders"]
    args.messages = args.messages or prof["messages"]
    args.accounts = args.accounts or prof["accounts"]
    args.repeats = args.repeats or prof["repeats"]
    args.scenarios = "".join(sorted(set(args.scenarios or prof["scenarios"])))
    if not set(args.scenarios) <= set("abcd"):
        ap.error("--scenarios takes letters among a, b, c, d")
    if args.offlineimap_subset is None:
        args.offlineimap_subset = prof["subset"]
    if args.maxsyncaccounts is None:
        args.maxsyncaccounts = 4 if args.accounts > 1 else 1
    if args.wire_connections is None:
        args.wire_connections = min(4, args.maxconnections * min(args.maxsyncaccounts,
                                                                 args.accounts))
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for t in args.tools:
        if t not in TOOL_KINDS:
            ap.error(f"unknown tool {t}")
    return args


class Bench:
    def __init__(self, args):
        self.args = args
        self.stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.out = os.path.join(args.results, f"{self.stamp}-{args.profile}")
        self.logs = os.path.join(self.out, "logs")
        os.makedirs(self.logs, exist_ok=True)
        local_base = args.disk or "/dev/shm"
        self.local_base = os.path.join(os.path.abspath(local_base), f"oimap-bench-run-{self.stamp}")
        self.runs = []
        self.gen = srv.sample_mail_module()
        self.digest = lambda data: verify.digest_message(data)[:3]
        fsyncs = {"on": [True], "off": [False], "both": [True, False]}[args.fsync]
        self.oimap_copy = None
        if "oimap" in args.tools:
            self.oimap_copy = self.snapshot_oimap(args.oimap)
        binaries = {"oimap": self.oimap_copy, "mbsync": args.mbsync,
                    "offlineimap": args.offlineimap}
        self.tools = [tl.Tool(kind, fs, binaries[kind]) for kind in TOOL_KINDS
                      if kind in args.tools for fs in fsyncs]
        self.show_fsync = args.fsync == "both"

    # -- setup ------------------------------------------------------------

    def snapshot_oimap(self, path):
        """Copies the oimap binary for this session: others may rebuild
        build/oimap while the bench runs, and every repeat must time the
        same program. Returns the copy's path."""
        bindir = os.path.join(self.args.base, f"bin-{self.stamp}")
        os.makedirs(bindir, exist_ok=True)
        copy_path = os.path.join(bindir, "oimap")
        for attempt in range(30):
            try:
                st = os.stat(path)
                shutil.copy2(path, copy_path)
                unchanged = os.stat(path).st_mtime_ns == st.st_mtime_ns
                ok = subprocess.run([copy_path, "-V"], capture_output=True,
                                    timeout=20).returncode == 0
                if unchanged and ok:
                    with open(copy_path, "rb") as f:
                        digest = hashlib.sha256(f.read()).hexdigest()[:16]
                    mtime = datetime.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="seconds")
                    self.oimap_identity = (f"{tool_version([copy_path, '-V'])} — {path} built "
                                           f"{mtime}, sha256 {digest}")
                    log(f"timing a copy of {self.oimap_identity}")
                    return copy_path
            except (OSError, subprocess.TimeoutExpired):
                pass
            time.sleep(2)  # a build is writing it right now
        raise SystemExit(f"bench: cannot get a working copy of {path}")

    def setup(self):
        a = self.args
        os.makedirs(a.base, exist_ok=True)
        os.chmod(a.base, 0o755)
        self.corpus = srv.ensure_corpus(a.base, a.folders, a.messages, a.seed)
        self.server_dir = os.path.join(a.base, f"server-{self.stamp}")
        log(f"starting a private Dovecot in {self.server_dir}")
        self.server = srv.Server(self.server_dir)
        # The tools and the wire-limit client talk to this port; the harness's
        # own setup and changes go straight to Dovecot.
        self.tool_port = self.server.port
        if a.rtt > 0:
            self.proxy = subprocess.Popen(
                [a.latency_proxy, "--to", str(self.server.port), "--rtt-ms", str(a.rtt)],
                stdout=subprocess.PIPE, text=True)
            line = self.proxy.stdout.readline()
            m = re.match(r"port=(\d+)", line)
            if not m:
                raise SystemExit(f"bench: the latency proxy did not start: {line!r}")
            self.tool_port = int(m.group(1))
            log(f"latency proxy on port {self.tool_port}: {a.rtt:g} ms round trip to Dovecot")
        self.server.add_user("pristine")
        t0 = time.monotonic()
        self.server.fill_link("pristine", self.corpus)
        log(f"Dovecot indexed the corpus in {time.monotonic() - t0:.1f} s")
        self.corpus_cache = verify.DigestCache()
        log("reading the corpus (Message-ID, digest, flags of every message)")
        snap = verify.snapshot(verify.server_folders(self.corpus), cache=self.corpus_cache)
        for folder, msgs in snap.items():
            dups = [m for m, v in msgs.items() if len(v) > 1 or m is None]
            if dups:
                raise SystemExit(f"corpus folder {folder} has duplicate/missing Message-IDs: {dups[:3]}")
        self.pristine = verify.model_of(snap)
        self.corpus_messages, self.corpus_bytes = verify.totals(self.pristine)
        self.folder_order = self.gen.folder_names(a.folders)
        self.subset = None
        if a.offlineimap_subset and a.offlineimap_subset < a.folders:
            self.subset = self.folder_order[:a.offlineimap_subset]
        # Every user of the session is added now: Dovecot notices a changed
        # users file only after a while, so users added just before their run
        # would fail to log in.
        names = [f"wire{k}" for k in range(a.accounts)]
        for rep in range(1, a.repeats + 1):
            for ti, tool in enumerate(self.tools):
                names += [self.user_name(ti, rep, k) for k in range(a.accounts)]
        log(f"adding {len(names)} users")
        for name in names:
            self.server.add_user(name)
        self.server.wait_for_logins(names[-1])
        self.wire_users = []
        for k in range(a.accounts):
            user = f"wire{k}"
            self.wire_users.append((user, self.server.clone("pristine", user)))
        os.makedirs(self.local_base, exist_ok=True)
        log("warm-up: one untimed wire-limit run (Dovecot's processes, page cache)")
        self.wire_limit(0, record=False)

    def cleanup(self):
        if getattr(self, "proxy", None):
            self.proxy.kill()
            self.proxy.wait()
        if getattr(self, "server", None):
            self.server.stop()
        if self.oimap_copy:
            shutil.rmtree(os.path.dirname(self.oimap_copy), ignore_errors=True)
        if self.args.keep:
            log(f"kept: {self.server_dir} and {self.local_base}")
            return
        shutil.rmtree(self.local_base, ignore_errors=True)
        if getattr(self, "server_dir", None):
            shutil.rmtree(self.server_dir, ignore_errors=True)
        keep = self.args.keep_corpus
        if keep == "no" or (keep == "auto" and getattr(self, "corpus_bytes", 0) > 1e9):
            if getattr(self, "corpus", None):
                shutil.rmtree(self.corpus, ignore_errors=True)
                if os.path.exists(self.corpus + ".json"):
                    os.unlink(self.corpus + ".json")

    # -- runs -------------------------------------------------------------

    def record(self, **fields):
        self.runs.append(fields)
        r = fields
        status = "ok" if r["verified"] else "FAILED"
        log(f"  {r['tool']:<22} {r['scenario']}  wall {r['wall_s']:8.3f} s  cpu {r['cpu_s']:7.2f} s"
            f"  server {r.get('server_cpu_s', 0):6.2f} s  rss {r['max_rss_kb'] / 1024:7.1f} MB"
            f"  exit {r['exit']}  {status}")
        for p in r.get("problems", [])[:6]:
            log(f"      {p}")

    def wire_limit(self, rep, record=True, status_only=False, store=False, again=False):
        """The wire limit (a), or with status_only the no-change floor (b):
        the same client asking only LIST and STATUS, right after its full
        download, as a tool's (b) comes right after its (a). With store, the
        store floor (a): the same download, each message also written to a
        file of its own where the tools' Maildirs are. With again, the
        no-change floor's second run in a row (scenario B)."""
        a = self.args
        if not status_only and record:
            # A fresh copy of the corpus's user, as each tool gets: once a
            # user's messages have been served, Dovecot has written its cache
            # for them and serves the next download faster (small: 0.20-0.23 s
            # on a fresh copy, 0.14-0.16 s the run after), which no tool's
            # initial sync sees. The warm-up run keeps Dovecot's processes and
            # the page cache (the copies share the message files) warm.
            self.wire_users = [(user, self.server.clone("pristine", user))
                               for user, _ in self.wire_users]
        argv = [a.wire_limit, "--port", str(self.tool_port),
                "--connections", str(a.wire_connections)]
        if status_only:
            argv.append("--status")
        store_dir = None
        if store:
            store_dir = os.path.join(self.local_base, f"store-floor-r{rep}")
            shutil.rmtree(store_dir, ignore_errors=True)
            os.makedirs(store_dir)
            argv += ["--store", store_dir]
        for user, pw in self.wire_users:
            argv += ["--account", f"{user}:{pw}"]
        name = "no-change floor" if status_only else "store floor" if store else "wire limit"
        logp = os.path.join(self.logs, f"{name.replace(' ', '-')}-r{rep}{'-again' if again else ''}.log")
        self.server.wait_idle()
        res = self.timed_with_server(argv, logp)
        if store_dir:
            stored = sum(len(files) for _, _, files in os.walk(store_dir))
            shutil.rmtree(store_dir, ignore_errors=True)
        problems = []
        reported = {}
        try:
            with open(logp) as f:
                reported = json.loads(f.read().strip().splitlines()[-1])
        except (ValueError, IndexError, OSError):
            problems.append("wire_limit printed no result: " + measure.tail(logp))
        want = 0 if status_only else self.corpus_messages * a.accounts
        if reported and reported.get("messages") != want:
            problems.append(f"wire limit fetched {reported.get('messages')} messages, expected {want}")
        if status_only and reported and reported.get("folders") != len(self.pristine) * a.accounts:
            problems.append(f"no-change floor asked about {reported.get('folders')} folders, "
                            f"expected {len(self.pristine) * a.accounts}")
        if store_dir and stored != want:
            problems.append(f"store floor wrote {stored} files, expected {want}")
        res.update(repeat=rep, tool=name, kind="floor" if store else "wire",
                   fsync=None, scenario=("B" if again else "b") if status_only else "a",
                   messages=reported.get("messages", 0), bytes=reported.get("bytes", 0),
                   scale=1.0, problems=problems,
                   verified=res["exit"] == 0 and not problems, log=os.path.relpath(logp, self.out))
        if record:
            self.record(**res)
        elif not res["verified"]:
            raise SystemExit("bench: the wire-limit client failed: " + "; ".join(problems))

    def timed_with_server(self, argv, logp, **kw):
        """measure.timed, plus the CPU Dovecot spent on the run: read once the
        server is idle again, so what it does after the client left (index
        and cache writes at LOGOUT) counts too."""
        before = self.server.cpu_seconds()
        res = measure.timed(argv, logp, timeout=self.args.timeout, **kw)
        self.server.wait_idle()
        res["server_cpu_s"] = self.server.cpu_seconds() - before
        return res

    def user_name(self, tool_index, rep, account):
        return f"t{tool_index}r{rep}a{account}"

    def chain(self, ti, tool, rep):
        """One tool from scratch: a, then b, c, d as asked; each run verified."""
        a = self.args
        label = tool.label(self.show_fsync)
        slug = label.replace(" ", "-").replace("=", "")
        subset = self.subset if tool.kind == "offlineimap" else None
        accounts, expected = [], {}
        for k in range(a.accounts):
            name = f"acct{k:02d}" if a.accounts > 1 else "bench"
            user = self.user_name(ti, rep, k)
            pw = self.server.clone("pristine", user, subset)
            accounts.append((name, user, pw))
            model = self.pristine if subset is None else \
                {f: m for f, m in self.pristine.items() if f in subset}
            expected[name] = copy.deepcopy(model)
        scale = 1.0
        if subset is not None:
            scale = self.corpus_messages / verify.totals(expected[accounts[0][0]])[0]
        rundir = os.path.join(self.local_base, f"{slug}-r{rep}")
        local, state, home = (os.path.join(rundir, d) for d in ("mail", "state", "home"))
        for d in (state, home, *(os.path.join(local, acct[0]) for acct in accounts)):
            os.makedirs(d, exist_ok=True)  # mbsync wants its store's Path to exist
        cfg = os.path.join(rundir, "config")
        argv = tool.write_config(cfg, accounts, self.tool_port, local, state,
                                 a.maxconnections, a.maxsyncaccounts)
        shutil.copy(cfg, os.path.join(self.logs, f"{slug}.config"))
        env = dict(os.environ, HOME=home)
        cache = verify.DigestCache(parent=self.corpus_cache)
        total_msgs = sum(verify.totals(m)[0] for m in expected.values())
        total_bytes = sum(verify.totals(m)[1] for m in expected.values())

        measured = set(a.scenarios) | ({"B"} if "b" in a.scenarios else set())
        steps = ["a"] + [s for s in "bBcd" if s in measured]
        for scen in steps:
            moved, moved_bytes, prep_problems = 0, 0, []
            if scen == "a":
                moved, moved_bytes = total_msgs, total_bytes
            try:
                if scen == "c":
                    for name, user, pw in accounts:
                        n, b = changes.server_changes(self.server.port, user, pw, expected[name],
                                                      self.gen, a.seed, self.digest)
                        moved, moved_bytes = moved + n, moved_bytes + b
                elif scen == "d":
                    for name, user, pw in accounts:
                        folders = verify.local_folders(os.path.join(local, name))
                        snap = verify.snapshot(folders, tool.strip_tuid, cache)
                        n, b = changes.local_changes(folders, snap, expected[name], self.gen,
                                                     a.seed, self.digest)
                        moved, moved_bytes = moved + n, moved_bytes + b
            except Exception as e:  # a broken earlier sync can leave nothing to change
                prep_problems.append(f"could not prepare scenario {scen}: {e!r}")
            logp = os.path.join(self.logs, f"{slug}-r{rep}-{scen}.log")
            self.server.wait_idle()
            measure.next_second()
            res = self.timed_with_server(argv, logp, env=env, cwd=rundir)
            problems = list(prep_problems)
            if res["exit"] != 0:
                problems.append(f"exit status {res['exit']}"
                                + (" (timed out)" if res["timed_out"] else "")
                                + ": " + measure.tail(logp, 5).replace("\n", " | "))
            for name, user, _ in accounts:
                lsnap = verify.snapshot(verify.local_folders(os.path.join(local, name)),
                                        tool.strip_tuid, cache)
                ssnap = verify.snapshot(verify.server_folders(self.server.user_dir(user)),
                                        tool.strip_tuid, cache)
                problems += verify.compare(expected[name], lsnap, f"{name} local")
                problems += verify.compare(expected[name], ssnap, f"{name} server")
            if scen in measured:
                res.update(repeat=rep, tool=label, kind=tool.kind, fsync=tool.fsync,
                           scenario=scen, messages=moved, bytes=moved_bytes, scale=scale,
                           problems=problems, verified=not problems,
                           log=os.path.relpath(logp, self.out))
                self.record(**res)
            elif problems:
                log(f"  {label} setup run {scen} failed: {problems[0]}")
        if not a.keep:
            shutil.rmtree(rundir, ignore_errors=True)
            for _, user, _ in accounts:
                self.server.remove_user_mail(user)

    def run(self):
        a = self.args
        started = datetime.datetime.now().isoformat(timespec="seconds")
        up_before = uptime()
        log(f"machine: {os.cpu_count()} CPUs; {up_before}")
        try:
            self.setup()
            for rep in range(1, a.repeats + 1):
                log(f"repeat {rep}/{a.repeats}")
                self.wire_limit(rep)
                self.wire_limit(rep, store=True)
                if "b" in a.scenarios:
                    self.wire_limit(rep, status_only=True)
                    self.wire_limit(rep, status_only=True, again=True)
                for ti, tool in enumerate(self.tools):
                    self.chain(ti, tool, rep)
        finally:
            self.cleanup()
        up_after = uptime()
        log(f"machine after: {up_after}")
        meta = {
            "profile": a.profile,
            "command": "bench/run " + " ".join(sys.argv[1:]),
            "started": started,
            "finished": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "uptime_before": up_before,
                        "uptime_after": up_after, "kernel": platform.release()},
            "corpus": {"folders": a.folders, "messages_per_folder": a.messages,
                       "accounts": a.accounts, "seed": a.seed,
                       "messages": self.corpus_messages * a.accounts,
                       "wire_bytes": self.corpus_bytes * a.accounts,
                       "size_bands": self.size_bands()},
            "settings": {"repeats": a.repeats, "scenarios": a.scenarios, "fsync": a.fsync,
                         "maildir_on": a.disk or "/dev/shm (tmpfs)",
                         "maxconnections": a.maxconnections,
                         "maxsyncaccounts": a.maxsyncaccounts,
                         "wire_connections": a.wire_connections,
                         "rtt_ms": a.rtt,
                         "offlineimap_subset": self.subset},
            "versions": {"oimap": self.oimap_identity if self.oimap_copy else "-",
                         "offlineimap": tool_version([a.offlineimap, "--version"]),
                         "mbsync": tool_version([a.mbsync, "--version"]),
                         "dovecot": tool_version(["dovecot", "--version"])},
        }
        rows = report.summarize(self.runs, SCENARIOS, self.show_fsync)
        table = report.markdown(meta, rows, self.runs, SCENARIOS)
        with open(os.path.join(self.out, "results.json"), "w") as f:
            json.dump({**meta, "summary": rows, "runs": self.runs}, f, indent=1)
        with open(os.path.join(self.out, "table.md"), "w") as f:
            f.write(table)
        print(table)
        log(f"results: {self.out}")
        return 0 if all(r["verified"] for r in self.runs) else 1

    def size_bands(self):
        bands = {"<2K": 0, "2-20K": 0, "20-100K": 0, "100K-2M": 0, ">2M": 0}
        for msgs in self.pristine.values():
            for _, _, size in msgs.values():
                if size < 2048:
                    bands["<2K"] += 1
                elif size < 20480:
                    bands["2-20K"] += 1
                elif size < 102400:
                    bands["20-100K"] += 1
                elif size < 2 * 1048576:
                    bands["100K-2M"] += 1
                else:
                    bands[">2M"] += 1
        return bands


def on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv):
    # Ctrl-C or kill: stop the running tool, Dovecot, and remove the run's
    # files (Bench.run's finally); even when started with SIGINT ignored.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    args = parse_args(argv)
    for path, what in ((args.wire_limit, "wire_limit (bench/run builds it)"),
                       (args.oimap, "oimap (bash scripts/build)")):
        if "oimap" in what and "oimap" not in args.tools:
            continue
        if not os.access(path, os.X_OK):
            raise SystemExit(f"bench: {path} missing: {what}")
    try:
        return Bench(args).run()
    except KeyboardInterrupt as e:
        log(f"bench: interrupted ({e or 'Ctrl-C'}); the tool, Dovecot and the run's files are gone")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
