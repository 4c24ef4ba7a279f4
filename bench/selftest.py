#!/usr/bin/python3
"""Checks that bench's verification catches wrong answers (no server, no timing).

    /usr/bin/python3 bench/selftest.py

Generates a tiny corpus, copies it as a tool would (a local tree), checks
that the copy verifies, then breaks it one way at a time — a message
missing, one duplicated, one extra, one body changed, one flag changed, CRLF
line ends, an X-TUID header — and checks that each is reported (or, for
CRLF and for X-TUID with mbsync's stripping, that it is not). Exit 0 when
all checks pass.
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import server as srv  # noqa: E402
import verify  # noqa: E402


def local_copy(corpus, dst):
    """The corpus (Maildir++) as an OfflineIMAP-style tree under dst."""
    for name, path in verify.server_folders(corpus).items():
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(dst, name, sub), exist_ok=True)
        for sub in ("cur", "new"):
            for f in os.listdir(os.path.join(path, sub)):
                shutil.copy(os.path.join(path, sub, f), os.path.join(dst, name, sub, f))


def first_file(root, folder="INBOX", sub="cur"):
    d = os.path.join(root, folder, sub)
    return os.path.join(d, sorted(os.listdir(d))[0])


def main():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus")
        subprocess.run(["/usr/bin/python3", srv.MAKE_SAMPLE_MAIL, "--folders", "2", "--messages",
                        "20", "--size-mix", "bench", "--layout", "maildir++", "--out", corpus],
                       check=True)
        expected = verify.model_of(verify.snapshot(verify.server_folders(corpus)))

        def check(what, mutate, want_problem, strip_tuid=False):
            local = os.path.join(tmp, "local")
            shutil.rmtree(local, ignore_errors=True)
            local_copy(corpus, local)
            mutate(local)
            snap = verify.snapshot(verify.local_folders(local), strip_tuid)
            problems = verify.compare(expected, snap, "local")
            ok = bool(problems) == want_problem
            print(f"{'ok  ' if ok else 'FAIL'} {what}: "
                  f"{problems[0] if problems else 'verified'}")
            if not ok:
                failures.append(what)

        def rewrite(path, fn):
            with open(path, "rb") as f:
                data = f.read()
            with open(path, "wb") as f:
                f.write(fn(data))

        def dup(local):
            p = first_file(local)
            shutil.copy(p, p.replace(":2,", "-copy:2,"))

        def extra(local):
            p = first_file(local)
            rewrite(shutil.copy(p, p + "x"), lambda d: d.replace(b"Message-ID: <", b"Message-ID: <x", 1))

        def flags(local):
            p = first_file(local)
            base, fl = verify.parse_name(os.path.basename(p))
            os.rename(p, os.path.join(os.path.dirname(p), base + ":2," + ("" if fl else "F")))

        def crlf(local):
            for sub in ("cur", "new"):
                d = os.path.join(local, "INBOX", sub)
                for f in os.listdir(d):
                    rewrite(os.path.join(d, f), lambda b: b.replace(b"\n", b"\r\n"))

        def tuid(local):
            rewrite(first_file(local), lambda d: b"X-TUID: abcdefghijkl\n" + d)

        check("unchanged copy", lambda local: None, False)
        check("a message missing", lambda local: os.unlink(first_file(local)), True)
        check("a message twice", dup, True)
        check("an extra message", extra, True)
        check("a body byte changed", lambda local: rewrite(first_file(local), lambda d: d[:-2] + b"?\n"), True)
        check("a flag changed", flags, True)
        check("a folder missing", lambda local: shutil.rmtree(os.path.join(local, "Sent")), True)
        check("CRLF line ends (allowed)", crlf, False)
        check("X-TUID header, not stripped", tuid, True)
        check("X-TUID header, stripped (mbsync)", tuid, False, strip_tuid=True)
    if failures:
        print(f"{len(failures)} self-check(s) failed: {', '.join(failures)}")
        return 1
    print("bench self-check: verification catches every broken copy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
