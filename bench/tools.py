"""The sync tools under test: their configuration files and command lines.

Every tool syncs the same accounts (one IMAP user each on the private
Dovecot) into a local Maildir tree per account, <local>/<account>/, with its
state under <state>:

* oimap and OfflineIMAP read the same OfflineIMAP-format file: Maildir
  local repository, IMAP remote (ssl = no, starttls = no), maxconnections,
  maxsyncaccounts and fsync as given; run with -o -u quiet.
* mbsync (isync 1.4) gets a normal user's setup: one channel per account
  with Patterns *, Create Near, Sync All, Expunge Both; a MaildirStore
  with SubFolders Verbatim and the INBOX under the store's Path; SSLType
  None with AuthMechs LOGIN (plaintext on 127.0.0.1); FSync as given; its
  SyncState under <state> (like the default ~/.mbsync/); run as mbsync -a.
"""

import os


class Tool:
    """A tool variant: name ("oimap"), fsync on/off, and how to run it."""

    def __init__(self, kind, fsync, binary):
        self.kind = kind
        self.fsync = fsync
        self.binary = binary
        self.strip_tuid = kind == "mbsync"

    def label(self, show_fsync):
        return f"{self.kind} fsync={'on' if self.fsync else 'off'}" if show_fsync else self.kind

    def write_config(self, path, accounts, port, local, state, maxconnections, maxsyncaccounts):
        """accounts: list of (name, user, password). Returns the argv to run."""
        if self.kind == "mbsync":
            text = mbsync_config(accounts, port, local, state, self.fsync)
        else:
            text = offlineimap_config(accounts, port, local, state, self.fsync,
                                      maxconnections, maxsyncaccounts)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        if self.kind == "mbsync":
            return [self.binary, "-c", path, "-a", "-q"]
        return [self.binary, "-c", path, "-o", "-u", "quiet"]


def offlineimap_config(accounts, port, local, state, fsync, maxconnections, maxsyncaccounts):
    lines = [
        "# Written by bench/: one OfflineIMAP-format file for oimap and OfflineIMAP.",
        "[general]",
        "accounts = " + ", ".join(a[0] for a in accounts),
        f"metadata = {state}",
        f"maxsyncaccounts = {maxsyncaccounts}",
        f"fsync = {'true' if fsync else 'false'}",
        "",
    ]
    for name, user, password in accounts:
        lines += [
            f"[Account {name}]",
            f"localrepository = {name}-local",
            f"remoterepository = {name}-remote",
            "",
            f"[Repository {name}-local]",
            "type = Maildir",
            f"localfolders = {os.path.join(local, name)}",
            "",
            f"[Repository {name}-remote]",
            "type = IMAP",
            "remotehost = 127.0.0.1",
            f"remoteport = {port}",
            f"remoteuser = {user}",
            f"remotepass = {password}",
            "ssl = no",
            "starttls = no",
            f"maxconnections = {maxconnections}",
            "",
        ]
    return "\n".join(lines)


def mbsync_config(accounts, port, local, state, fsync):
    lines = [
        "# Written by bench/: a normal mbsync setup, one channel per account.",
        f"FSync {'yes' if fsync else 'no'}",
        f"SyncState {state}/",
        "",
    ]
    for name, user, password in accounts:
        root = os.path.join(local, name)
        lines += [
            f"IMAPAccount {name}",
            "Host 127.0.0.1",
            f"Port {port}",
            f"User {user}",
            f"Pass {password}",
            "SSLType None",
            "AuthMechs LOGIN",
            "",
            f"IMAPStore {name}-far",
            f"Account {name}",
            "",
            f"MaildirStore {name}-near",
            f"Path {root}/",
            f"Inbox {root}/INBOX",
            "SubFolders Verbatim",
            "",
            f"Channel {name}",
            f"Far :{name}-far:",
            f"Near :{name}-near:",
            "Patterns *",
            "Create Near",
            "Sync All",
            "Expunge Both",
            "",
        ]
    return "\n".join(lines)
