"""Run a command and measure it: wall time, CPU time and max RSS of that command alone.

`os.wait4` on a child of the benchmark reports a max RSS of at least the
benchmark's own: Linux keeps the high-water mark of the memory the child had
before `exec`, and a forked (or vforked) child had the parent's. So the
command is started by a small launcher (``python -S``, a few MiB) whose own
wait4 of the command is the figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

_LAUNCHER = (
    "import os, sys, json, time\n"
    "t = time.perf_counter()\n"
    "pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)\n"
    "_, status, u = os.wait4(pid, 0)\n"
    "print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'seconds': time.perf_counter() - t,\n"
    "                  'cpu': u.ru_utime + u.ru_stime, 'max_rss_mb': u.ru_maxrss / 1024}))\n"
)


def run_measured(cmd: list[str], **popen) -> dict:
    """{"code", "seconds", "cpu", "max_rss_mb", "out", "err"} of `cmd` (its stdout and stderr as text)."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, *cmd], capture_output=True, text=True, **popen)
    *out, usage = done.stdout.splitlines() or [""]
    if done.returncode != 0 or not usage.startswith("{"):
        raise RuntimeError(f"launcher failed: {done.stdout}{done.stderr}")
    result = json.loads(usage)
    result.update(out="\n".join(out), err=done.stderr, wall_with_launcher=time.perf_counter() - t)
    return result
