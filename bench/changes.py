"""The changes scenarios (c) and (d) make between two syncs.

(c) on the server, through an ordinary IMAP client: per folder 1% new
    messages (APPEND, half of them \\Seen) and 1% flag changes (UID STORE on
    UIDs 1, 101, 201, ...: \\Flagged and \\Seen toggled).
(d) in the tool's local Maildir, as a mail reader would: per folder 1% new
    messages (files in new/, or in cur/ with ":2,S") and 1% flag changes
    (renames toggling F and S, every 100th message by Message-ID order).

Both update the expected model (folder -> Message-ID -> [digest, flags,
size]) the verification checks the next sync against.
"""

import datetime
import imaplib
import os
import random
import re
import time

def _quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


FLAG_LETTER = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S",
               "\\Deleted": "T"}
LETTER_FLAG = {v: k for k, v in FLAG_LETTER.items()}


def toggled(flags):
    """The flag change both scenarios apply: \\Flagged and \\Seen toggled."""
    s = set(flags)
    s ^= {"F", "S"}
    return "".join(sorted(s))


def new_messages(gen, seed, folder, fi, count, start, tag):
    """count new bench-mix messages for folder, numbered from start."""
    rng = random.Random(f"{tag}/{seed}/{folder}")
    now = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.timezone.utc)
    out = []
    for k in range(count):
        when = now + datetime.timedelta(minutes=k)
        data = gen.make_bench_message(rng, seed, folder, fi, start + k, when)
        out.append((data, rng.random() < 0.5))  # (bytes, seen?)
    return out


def server_changes(port, user, password, expected, gen, seed, digest):
    """Scenario (c): on the server, 1% new messages and 1% flag changes per
    folder, made by an ordinary IMAP client (APPEND, UID STORE). Updates the
    expected model; returns (messages appended, their wire bytes)."""
    conn = imaplib.IMAP4("127.0.0.1", port, timeout=120)
    conn.login(user, password)
    added = added_bytes = 0
    for fi, folder in enumerate(sorted(expected)):
        model = expected[folder]
        n = len(model)
        typ, data = conn.select(_quote(folder))
        if typ != "OK":
            raise RuntimeError(f"SELECT {folder}: {data}")
        exists = int(data[0])
        if exists:
            uids = ",".join(str(1 + 100 * k) for k in range(max(1, exists // 100)))
            typ, data = conn.uid("FETCH", uids, "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                m = re.search(rb"UID (\d+)", item[0])
                fm = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                mid = gen_message_id(item[1])
                if not (m and fm and mid in model):
                    raise RuntimeError(f"{folder}: cannot map UID reply {item[0]!r}")
                flags = "".join(sorted(FLAG_LETTER[f] for f in fm.group(1).decode().split()
                                       if f in FLAG_LETTER))
                new = toggled(flags)
                names = " ".join(LETTER_FLAG[c] for c in new)
                typ, resp = conn.uid("STORE", m.group(1).decode(), "FLAGS.SILENT", f"({names})")
                if typ != "OK":
                    raise RuntimeError(f"STORE failed: {resp}")
                model[mid][1] = new
        for data, seen in new_messages(gen, seed, folder, fi, max(1, n // 100), 1_000_000, "c"):
            typ, resp = conn.append(_quote(folder), "(\\Seen)" if seen else None, None, data)
            if typ != "OK":
                raise RuntimeError(f"APPEND to {folder} failed: {resp}")
            mid, dig, size = digest(data)
            model[mid] = [dig, "S" if seen else "", size]
            added += 1
            added_bytes += size
        conn.close()
    conn.logout()
    return added, added_bytes


def gen_message_id(header_bytes):
    m = re.search(rb"(?im)^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", header_bytes)
    return b" ".join(m.group(1).split()).decode("utf-8", "replace") if m else None


def local_changes(folders, snap, expected, gen, seed, digest):
    """Scenario (d): 1% new local messages and 1% local flag changes per
    folder of one account's local tree. folders: name -> directory; snap: a
    verify.snapshot of that tree. Returns (messages added, wire bytes)."""
    added = added_bytes = 0
    stamp = int(time.time())
    for fi, folder in enumerate(sorted(expected)):
        model = expected[folder]
        n = len(model)
        fdir = folders[folder]
        ids = sorted(snap[folder])
        for k in range(max(1, n // 100)):
            mid = ids[min(len(ids) - 1, 50 + 100 * k)]
            _, flags, _, path = snap[folder][mid][0]
            name = os.path.basename(path)
            base = name
            for sep in (":2,", "!2,"):
                if sep in name:
                    base = name.rsplit(sep, 1)[0]
            new = toggled(flags)
            os.rename(path, os.path.join(fdir, "cur", base + ":2," + new))
            model[mid][1] = new
        for k, (data, seen) in enumerate(
                new_messages(gen, seed, folder, fi, max(1, n // 100), 2_000_000, "d")):
            name = f"{stamp}.M{fi:03d}{k:05d}P{os.getpid()}.oimap-bench"
            sub, name = ("cur", name + ":2,S") if seen else ("new", name)
            tmp = os.path.join(fdir, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, os.path.join(fdir, sub, name))
            mid, dig, size = digest(data)
            model[mid] = [dig, "S" if seen else "", size]
            added += 1
            added_bytes += size
    return added, added_bytes
