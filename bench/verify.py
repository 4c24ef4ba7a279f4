"""Message-by-message snapshots of Maildir trees and their comparison.

A snapshot maps folder name -> Message-ID -> list of (digest, flags, size,
path). The digest is an MD5 of the whole message (headers and body) with CRLF
turned into LF; the server's Maildir++ and a tool's local tree are read the
same way, so "verified" means: same folders, same Message-IDs, each once,
same bytes modulo line ends, same standard flags (D F P R S T, taken from
the ":2," part of the file name, in new/ too since OfflineIMAP writes them
there; keywords are ignored).

strip_tuid drops mbsync's "X-TUID:" header line before hashing: mbsync adds
it to the copies it uploads (scenario d), so it is ignored for mbsync only.
"""

import hashlib
import os
import re

STANDARD_FLAGS = frozenset("DFPRST")
MSGID_RE = re.compile(rb"(?im)^message-id:[ \t]*((?:.*)(?:\n[ \t].*)*)")
TUID_RE = re.compile(rb"(?im)^x-tuid:.*\n")


def parse_name(filename):
    """Returns (base name, sorted standard flags) of a Maildir file name."""
    for sep in (":2,", "!2,"):
        if sep in filename:
            base, flags = filename.rsplit(sep, 1)
            return base, "".join(sorted(c for c in flags if c in STANDARD_FLAGS))
    return filename, ""


def normalize(data, strip_tuid=False):
    """The bytes that are compared: LF line ends (and no X-TUID if asked)."""
    data = data.replace(b"\r\n", b"\n")
    if strip_tuid:
        end = data.find(b"\n\n")
        head = data if end < 0 else data[:end + 1]
        stripped = TUID_RE.sub(b"", head)
        if len(stripped) != len(head):
            data = stripped + data[len(head):]
    return data


def message_id(data):
    end = data.find(b"\n\n")
    head = data if end < 0 else data[:end + 1]
    m = MSGID_RE.search(head)
    if not m:
        return None
    return b" ".join(m.group(1).split()).decode("utf-8", "replace")


def wire_size(data):
    """RFC822.SIZE of LF-normalised bytes (the server counts CRLF)."""
    return len(data) + data.count(b"\n")


def digest_message(data):
    """(Message-ID, digest, wire size, digest without X-TUID or None) of raw
    message bytes; the last is None when the header has no X-TUID line."""
    data = normalize(data)
    plain = hashlib.md5(data).hexdigest()
    stripped = normalize(data, strip_tuid=True)
    tuid = hashlib.md5(stripped).hexdigest() if len(stripped) != len(data) else None
    return message_id(data), plain, wire_size(data), tuid


class DigestCache:
    """Remembers digests by inode so unchanged files are read once.

    Keyed by (device, inode, size, mtime, ctime): any write, rename or
    chown makes a miss, so a file rewritten in place of another is always
    read again. The harness keeps one cache for the corpus and one per run.
    """

    def __init__(self, parent=None):
        self.entries = {}
        self.parent = parent

    def get(self, key):
        hit = self.entries.get(key)
        if hit is None and self.parent is not None:
            hit = self.parent.get(key)
        return hit

    def put(self, key, value):
        self.entries[key] = value


def server_folders(user_dir):
    """Folder name -> directory of a Dovecot Maildir++ user (INBOX is the root)."""
    folders = {}
    if os.path.isdir(os.path.join(user_dir, "cur")):
        folders["INBOX"] = user_dir
    for entry in os.scandir(user_dir):
        if entry.is_dir() and entry.name.startswith(".") and entry.name not in (".", ".."):
            if os.path.isdir(os.path.join(entry.path, "cur")):
                folders[entry.name[1:]] = entry.path
    return folders


def local_folders(root):
    """Folder name -> directory of a local tree (OfflineIMAP's flat "a.b"
    directories or mbsync's nested "a/b" ones; both become "a.b")."""
    folders = {}
    if not os.path.isdir(root):
        return folders
    for dirpath, dirnames, _ in os.walk(root):
        if "cur" in dirnames and "new" in dirnames:
            rel = os.path.relpath(dirpath, root)
            if rel != ".":
                folders[rel.replace(os.sep, ".")] = dirpath
        dirnames[:] = sorted(d for d in dirnames if d not in ("cur", "new", "tmp"))
    return folders


def snapshot(folders, strip_tuid=False, cache=None, only=None):
    """Reads every message of the given folders (name -> directory)."""
    snap = {}
    for name, path in folders.items():
        if only is not None and name not in only:
            continue
        msgs = {}
        for sub in ("cur", "new"):
            d = os.path.join(path, sub)
            try:
                entries = list(os.scandir(d))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                st = entry.stat(follow_symlinks=False)
                key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                hit = cache.get(key) if cache is not None else None
                if hit is None:
                    with open(entry.path, "rb") as f:
                        hit = digest_message(f.read())
                    if cache is not None:
                        cache.put(key, hit)
                msgid, digest, size, tuid_digest = hit
                if strip_tuid and tuid_digest is not None:
                    digest = tuid_digest
                flags = parse_name(entry.name)[1]
                msgs.setdefault(msgid, []).append((digest, flags, size, entry.path))
        snap[name] = msgs
    return snap


def model_of(snap):
    """The expected-state form of a snapshot: folder -> msgid -> [digest, flags, size]."""
    model = {}
    for folder, msgs in snap.items():
        model[folder] = {mid: [v[0][0], v[0][1], v[0][2]] for mid, v in msgs.items()}
    return model


def compare(expected, snap, where, limit=8):
    """Differences between an expected model and a snapshot, as sentences."""
    problems = []
    counts = {"missing": 0, "extra": 0, "duplicate": 0, "body": 0, "flags": 0}
    examples = []

    def note(kind, text):
        counts[kind] += 1
        if len(examples) < limit:
            examples.append(f"{where}: {text}")

    for folder in sorted(set(expected) | set(snap)):
        want = expected.get(folder)
        have = snap.get(folder)
        if want is None:
            if have:
                problems.append(f"{where}: unexpected folder {folder} with {len(have)} messages")
            continue
        if have is None:
            problems.append(f"{where}: folder {folder} missing ({len(want)} messages expected)")
            continue
        for mid, (digest, flags, _) in want.items():
            got = have.get(mid)
            if not got:
                note("missing", f"{folder}: {mid} missing")
                continue
            if len(got) > 1:
                note("duplicate", f"{folder}: {mid} present {len(got)} times")
            if got[0][0] != digest:
                note("body", f"{folder}: {mid} content differs ({got[0][3]})")
            if got[0][1] != flags:
                note("flags", f"{folder}: {mid} flags '{got[0][1]}', expected '{flags}'")
        for mid, got in have.items():
            if mid not in want:
                note("extra", f"{folder}: unexpected message {mid} ({got[0][3]})")
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    if summary:
        problems.insert(0, f"{where}: {summary}")
        problems.extend(examples)
    return problems


def totals(model):
    """(messages, wire bytes) of an expected model."""
    msgs = sum(len(m) for m in model.values())
    size = sum(v[2] for m in model.values() for v in m.values())
    return msgs, size
