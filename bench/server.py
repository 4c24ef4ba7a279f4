"""The server side of a bench run: corpus, private Dovecot, per-run users.

The corpus is generated once per (folders, messages, seed, generator
version) by scripts/make-sample-mail --size-mix bench in Dovecot's Maildir++
layout and kept under the bench base directory. A private Dovecot
(scripts/private-dovecot) gets it hard-linked into user "pristine" and
indexes it; every timed run then gets fresh users cloned from "pristine"
(message files hard-linked, Dovecot's index and uidlist files copied), so
each tool starts from the same server state, UIDs included, in well under a
second even for 100k messages.
"""

import fcntl
import hashlib
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "scripts")
MAKE_SAMPLE_MAIL = os.path.join(SCRIPTS, "make-sample-mail")
PRIVATE_DOVECOT = os.path.join(SCRIPTS, "private-dovecot")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sample_mail_module():
    """scripts/make-sample-mail imported as a module (for new messages)."""
    loader = importlib.machinery.SourceFileLoader("make_sample_mail", MAKE_SAMPLE_MAIL)
    spec = importlib.util.spec_from_loader("make_sample_mail", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def generator_version():
    with open(MAKE_SAMPLE_MAIL, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()[:8]


def ensure_corpus(base, folders, messages, seed, jobs=2):
    """Generates (or reuses) a Maildir++ corpus; returns its directory.
    Two benches sharing a base directory take turns here (a lock file)."""
    with open(os.path.join(base, ".corpus.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_corpus(base, folders, messages, seed, jobs)


def _ensure_corpus(base, folders, messages, seed, jobs):
    version = generator_version()
    key = f"corpus-{folders}x{messages}-s{seed}-{version}"
    path = os.path.join(base, key)
    # Corpora of an older generator can never be used again.
    for entry in os.scandir(base):
        if entry.name.startswith("corpus-") and not entry.name.split(".")[0].endswith(version):
            if entry.is_dir():
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
    if os.path.isfile(os.path.join(path, ".complete")):
        return path
    shutil.rmtree(path, ignore_errors=True)
    tmp = path + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    log(f"generating corpus {folders} folders x {messages} messages (seed {seed}) in {path}")
    t0 = time.monotonic()
    subprocess.run(["/usr/bin/python3", MAKE_SAMPLE_MAIL, "--folders", str(folders),
                    "--messages", str(messages), "--seed", str(seed), "--size-mix", "bench",
                    "--layout", "maildir++", "--jobs", str(jobs), "--out", tmp,
                    "--manifest", os.path.join(base, key + ".json")], check=True)
    os.rename(tmp, path)
    open(os.path.join(path, ".complete"), "w").close()
    log(f"corpus ready in {time.monotonic() - t0:.1f} s")
    return path


class Server:
    """A private Dovecot under <dir> (scripts/private-dovecot)."""

    def __init__(self, dir):
        self.dir = dir
        out = subprocess.run(["bash", PRIVATE_DOVECOT, "start", dir], check=True,
                             capture_output=True, text=True).stdout
        self.port = int(re.search(r"port=(\d+)", out).group(1))
        with open(os.path.join(dir, "mail_owner")) as f:
            uid, gid = f.read().strip().split(":")
        self.uid, self.gid = int(uid), int(gid)
        self.users = {}

    def stop(self):
        subprocess.run(["bash", PRIVATE_DOVECOT, "stop", self.dir], check=False)

    def user_dir(self, user):
        return os.path.join(self.dir, "mail", user)

    def add_user(self, user, password=None):
        password = password or "pw" + hashlib.sha1(os.urandom(8)).hexdigest()[:10]
        subprocess.run(["bash", PRIVATE_DOVECOT, "add-user", self.dir, user, password], check=True)
        self.users[user] = password
        return password

    def fill_link(self, user, corpus):
        subprocess.run(["bash", PRIVATE_DOVECOT, "fill", self.dir, user, corpus, "--link"],
                       check=True)

    def doveadm(self, *args):
        return subprocess.run(["bash", PRIVATE_DOVECOT, "doveadm", self.dir, *args], check=True,
                              capture_output=True, text=True).stdout

    def cpu_seconds(self):
        """CPU time (user + system) Dovecot's processes have used so far: the
        master's, its children's (every service process is one) and what
        children that ended left in the master's account. The difference
        around a run, once the server is idle again, is the run's load on
        the server (to the clock tick, 10 ms here)."""
        with open(os.path.join(self.dir, "run", "master.pid")) as f:
            master = int(f.read().strip())
        ticks = 0

        def add(pid):
            nonlocal ticks
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                return  # ended meanwhile: its time is in the master's account
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime

        add(master)
        try:
            with open(f"/proc/{master}/task/{master}/children") as f:
                children = f.read().split()
        except FileNotFoundError:
            children = []
        for pid in children:
            add(pid)
        return ticks / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, timeout=30):
        """Waits until no IMAP session is left on the server, so every timed
        run starts on an idle Dovecot. A client that closes without waiting
        for its LOGOUT reply leaves the server finishing that session (index
        and cache writes, heavy after a 100k-message sync) while the next run
        starts; the next run would pay for it instead of the one that caused it.
        """
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            out = subprocess.run(["bash", PRIVATE_DOVECOT, "doveadm", self.dir, "who", "-1"],
                                 capture_output=True, text=True).stdout
            sessions = [l for l in out.splitlines() if l.strip() and not l.startswith("username")]
            if not sessions:
                return True
            time.sleep(0.02)
        return False

    def wait_for_logins(self, user, timeout=20):
        """Waits until Dovecot's auth process accepts user's password (it
        rereads the users file only when it notices the change)."""
        end = time.monotonic() + timeout
        while True:
            r = subprocess.run(["bash", PRIVATE_DOVECOT, "doveadm", self.dir, "auth", "test",
                                user, self.users[user]], capture_output=True, text=True)
            if r.returncode == 0:
                return
            if time.monotonic() > end:
                raise RuntimeError(f"Dovecot does not accept user {user}: {r.stdout}{r.stderr}")
            time.sleep(0.2)

    def clone(self, src, dst, folders=None):
        """Makes user dst (added already) a copy of user src (messages
        hard-linked, Dovecot's own files copied). folders limits the copy to
        these folder names (INBOX must be one of them); the mailbox list
        index is then left out and rebuilt by a doveadm call, outside any
        timing."""
        src_dir, dst_dir = self.user_dir(src), self.user_dir(dst)
        shutil.rmtree(dst_dir, ignore_errors=True)
        self._copy_dir(src_dir, dst_dir, folders, top=True)
        if folders is not None:
            self.doveadm("mailbox", "status", "-u", dst, "messages", "*")
        return self.users[dst]

    def _copy_dir(self, src, dst, folders, top=False):
        os.mkdir(dst)
        os.chmod(dst, os.stat(src).st_mode & 0o7777)
        os.chown(dst, self.uid, self.gid)
        in_mail = os.path.basename(src) in ("cur", "new")
        for entry in os.scandir(src):
            s, d = entry.path, os.path.join(dst, entry.name)
            if entry.is_dir(follow_symlinks=False):
                if top and folders is not None and entry.name.startswith(".") \
                        and entry.name[1:] not in folders:
                    continue
                self._copy_dir(s, d, folders)
            elif in_mail:
                os.link(s, d)
            else:
                if top and folders is not None and entry.name.startswith("dovecot.list.index"):
                    continue
                shutil.copyfile(s, d)
                os.chmod(d, entry.stat().st_mode & 0o7777)
                os.chown(d, self.uid, self.gid)

    def remove_user_mail(self, user):
        shutil.rmtree(self.user_dir(user), ignore_errors=True)
