"""Timing one command: wall clock (our own monotonic clock around the
process), user + system CPU and max RSS (from /usr/bin/time -v)."""

import math
import os
import re
import signal
import subprocess
import threading
import time

TIME = "/usr/bin/time"


def parse_time_v(text):
    def num(pattern, default=0.0):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else default

    exit_status = int(num(r"Exit status: (\d+)", -1))
    signal_m = re.search(r"Command terminated by signal (\d+)", text)
    if signal_m:
        exit_status = -int(signal_m.group(1))
    return {
        "user_s": num(r"User time \(seconds\): ([\d.]+)"),
        "sys_s": num(r"System time \(seconds\): ([\d.]+)"),
        "max_rss_kb": int(num(r"Maximum resident set size \(kbytes\): (\d+)")),
        "exit": exit_status,
    }


def next_second():
    """Sleeps into the next wall-clock second.

    Called before every timed sync, after the previous run and the
    scenario's changes: mbsync sleeps 1 s when a Maildir's cur/ or new/
    changed within the current second (it could not tell later changes in
    that second apart), which back-to-back runs would trigger on every
    resync although a user's syncs are never that close together.
    """
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.01)


def timed(argv, log_path, env=None, cwd=None, timeout=None):
    """Runs argv under /usr/bin/time -v with output to log_path."""
    tfile = log_path + ".time"
    load = os.getloadavg()[0]
    with open(log_path, "wb") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen([TIME, "-v", "-o", tfile, *argv], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd, start_new_session=True)
        # A blocking wait: Popen.wait(timeout=...) polls with sleeps of up
        # to 50 ms, which would round every short run up. The timeout is a
        # timer that kills the process group started above.
        fired = threading.Event()

        def kill():
            fired.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill) if timeout else None
        try:
            if timer:
                timer.daemon = True
                timer.start()
            proc.wait()
            wall = time.monotonic() - t0
        except BaseException:  # e.g. Ctrl-C: do not leave the tool running
            kill()
            proc.wait()
            raise
        finally:
            if timer:
                timer.cancel()
        timed_out = fired.is_set() and proc.returncode != 0
    try:
        with open(tfile) as f:
            result = parse_time_v(f.read())
    except FileNotFoundError:
        result = {"user_s": 0.0, "sys_s": 0.0, "max_rss_kb": 0, "exit": -1}
    result["wall_s"] = wall
    result["cpu_s"] = result["user_s"] + result["sys_s"]
    result["load1_before"] = load
    result["timed_out"] = timed_out
    if timed_out:
        result["exit"] = -9
    elif result["exit"] == -1:
        result["exit"] = proc.returncode
    return result


def tail(path, lines=15):
    try:
        with open(path, "rb") as f:
            data = f.read()[-8000:]
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])
