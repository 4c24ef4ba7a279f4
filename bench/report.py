"""Medians over repeats, and the markdown table bench/run prints."""

import statistics


def summarize(runs, scenarios, show_fsync):
    """One row per (scenario, tool): medians over the repeats. Times of a
    tool that ran on a subset are multiplied by its scale first."""
    order = []
    groups = {}
    for r in runs:
        key = (r["scenario"], r["tool"])
        if key not in groups:
            order.append(key)
            groups[key] = []
        groups[key].append(r)

    def median(values):
        return statistics.median(values) if values else None

    rows = []
    for scen in scenarios:
        keys = [k for k in order if k[0] == scen]
        keys.sort(key=lambda k: 0 if k[1] in ("wire limit", "no-change floor")
                  else 1 if k[1] == "store floor" else 2)
        for key in keys:
            rs = groups[key]
            r0 = rs[0]
            scale = r0["scale"]
            rates = [r["messages"] / r["wall_s"] for r in rs if r["messages"] and r["wall_s"] > 0]
            mbs = [r["bytes"] / 1e6 / r["wall_s"] for r in rs if r["bytes"] and r["wall_s"] > 0]
            rows.append({
                "scenario": scen,
                "tool": key[1],
                "kind": r0["kind"],
                "fsync": r0["fsync"],
                "runs": len(rs),
                "scale": scale,
                "wall_s": median([r["wall_s"] * scale for r in rs]),
                "cpu_s": median([r["cpu_s"] * scale for r in rs]),
                "server_cpu_s": median([r["server_cpu_s"] * scale for r in rs
                                        if r.get("server_cpu_s") is not None]),
                "rss_mb": median([r["max_rss_kb"] / 1024 for r in rs]),
                "msgs_per_s": median(rates),
                "mb_per_s": median(mbs),
                "verified": sum(1 for r in rs if r["verified"]),
                "walls_s": [round(r["wall_s"] * scale, 4) for r in rs],
            })
    wire = {r["scenario"]: r for r in rows if r["kind"] == "wire"}
    mbsync = {(r["scenario"], r["fsync"]): r for r in rows if r["kind"] == "mbsync"}
    for r in rows:
        w = wire.get(r["scenario"])
        r["x_wire"] = r["wall_s"] / w["wall_s"] if w and w["wall_s"] else None
        m = mbsync.get((r["scenario"], r["fsync"]))
        if r["kind"] in ("wire", "floor"):
            m = None
        r["x_mbsync"] = r["wall_s"] / m["wall_s"] if m and m["wall_s"] else None
    return rows


def fmt(v, digits=2):
    if v is None:
        return "—"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def fmt_wall(v):
    if v is None:
        return "—"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def markdown(meta, rows, runs, scenarios):
    c, s = meta["corpus"], meta["settings"]
    out = []
    acct = f"{c['accounts']} accounts × " if c["accounts"] > 1 else ""
    out.append(f"### bench/run {meta['profile']}: {acct}{c['folders']} folders × "
               f"{c['messages_per_folder']} messages = {c['messages']:,} messages, "
               f"{c['wire_bytes'] / 1e6:,.1f} MB")
    out.append("")
    out.append(f"`{meta['command']}` — {meta['started']}, median of {s['repeats']} run(s); "
               f"Maildir on {s['maildir_on']}; fsync {s['fsync']}; maxconnections "
               f"{s['maxconnections']}, maxsyncaccounts {s['maxsyncaccounts']}; wire limit "
               f"over {s['wire_connections']} connection(s); "
               + (f"{s['rtt_ms']:g} ms round trip (bench's latency proxy)." if s.get("rtt_ms")
                  else "loopback."))
    out.append("")
    out.append("| scenario | tool | wall s | CPU s | server CPU s | RSS MB | msgs/s | MB/s "
               "| × wire limit | × mbsync | verified |")
    out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    scaled = False
    for r in rows:
        tool = r["tool"]
        if r["scale"] != 1.0:
            tool += " *"
            scaled = True
        ver = "yes" if r["verified"] == r["runs"] else \
            f"**NO** ({r['runs'] - r['verified']}/{r['runs']} failed)"
        scen = scenarios[r["scenario"]]
        if c["accounts"] > 1:
            scen = f"e ({c['accounts']} accounts): {scen}"
        out.append(f"| {scen} | {tool} | {fmt_wall(r['wall_s'])} | "
                   f"{fmt(r['cpu_s'])} | {fmt(r['server_cpu_s'])} | {fmt(r['rss_mb'], 1)} | "
                   f"{fmt(r['msgs_per_s'], 0)} | "
                   f"{fmt(r['mb_per_s'], 1)} | {fmt(r['x_wire'])} | {fmt(r['x_mbsync'])} | {ver} |")
    out.append("")
    notes = [
        "wall: our clock around the process; CPU (user+sys) and RSS (max resident set) from "
        "/usr/bin/time -v, the tool's own process tree only (Dovecot's work is not counted "
        "there). server CPU: what Dovecot's processes spent on the run (user+sys, from /proc, "
        "to the 10 ms clock tick), read once it has no session left; the two share the "
        "machine's CPUs, so on a local server a tool that makes it work less also leaves "
        "itself more CPU.",
        "msgs/s and MB/s: messages and bytes (as the server counts them, CRLF) the scenario "
        "moves — all of them in (a), the 1% new ones in (c) and (d); none in (b) (—).",
        "× wire limit: the bench's own C++ client streaming UID FETCH 1:* BODY.PEEK[] of every "
        "folder and discarding it, from a fresh copy of the server's user as each tool gets "
        "(the floor of a full download, a); in (b), the same client "
        "right after that download, only logging in, listing the folders and asking one STATUS "
        "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ) each, pipelined, or all with the listing "
        "where the server has LIST-STATUS (the no-change floor). "
        "Store floor (a): that download with each message also written, as it arrives, to a "
        "file of its own (a directory per folder) on the tools' Maildir file system (no "
        "rename, no fsync, no CRLF conversion) — the least any tool must do to have the mail "
        "there.",
        "verified: after every run each account's local Maildir and the server's Maildir are "
        "compared with the expected state message by message (Message-ID, whole message modulo "
        "CRLF/LF, flags D F P R S T); for mbsync the X-TUID header it adds to messages it "
        "uploads is ignored.",
    ]
    if scaled:
        sub = s["offlineimap_subset"]
        sample = next(r for r in rows if r["scale"] != 1.0)
        notes.append(f"\\* ran on a subset: {len(sub)} of {c['folders']} folders "
                     f"({', '.join(sub)}); wall and CPU multiplied by {sample['scale']:.2f} "
                     "(messages ratio), RSS, msgs/s and MB/s as measured on the subset.")
    out += [f"- {n}" for n in notes]
    out.append(f"- machine: {meta['machine']['cpus']} CPUs; before: {meta['machine']['uptime_before']}; "
               f"after: {meta['machine']['uptime_after']}")
    out.append("- versions: " + "; ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    bands = c["size_bands"]
    out.append("- message sizes (per account): " + ", ".join(f"{k}: {v}" for k, v in bands.items()))
    failures = [r for r in runs if not r["verified"]]
    if failures:
        out.append("")
        out.append("Failed runs:")
        for r in failures:
            out.append(f"- {r['tool']} {scenarios[r['scenario']]} (repeat {r['repeat']}, log "
                       f"{r['log']}):")
            for p in r["problems"][:8]:
                out.append(f"  - {p}")
    out.append("")
    return "\n".join(out)
