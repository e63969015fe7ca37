"""Run a command and measure it: wall time, CPU time and max RSS of that command alone.

`os.wait4` on a child of the benchmark reports a max RSS of at least the
benchmark's own: Linux keeps the high-water mark of the memory the child had
before `exec`, and a forked (or vforked) child had the parent's. So the
command is started by a small launcher (``python -S``, ~10 MiB: figures below
that are the launcher's) whose own wait4 of the command is the figure,
written to a pipe of its own so the command's output stays as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

_LAUNCHER = (
    "import os, sys, json, time\n"
    "out = int(sys.argv[1])\n"
    "os.set_inheritable(out, False)\n"
    "t = time.perf_counter()\n"
    "pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_, status, u = os.wait4(pid, 0)\n"
    "os.write(out, json.dumps({'code': os.waitstatus_to_exitcode(status), 'seconds': time.perf_counter() - t,\n"
    "                          'cpu': u.ru_utime + u.ru_stime, 'max_rss_mb': u.ru_maxrss / 1024}).encode())\n"
)


def run_measured(cmd: list[str], *, check: bool = True, **popen) -> dict:
    """{"code", "seconds", "cpu", "max_rss_mb", "out", "err"} of `cmd` (its stdout and stderr as text);
    with `check`, a non-zero exit of `cmd` raises, showing its output."""
    read, write = os.pipe()
    t = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(write), *cmd], pass_fds=(write,),
                              capture_output=True, text=True, **popen)
        os.close(write)
        write = -1
        with os.fdopen(read, "rb") as pipe:
            usage = pipe.read()
    finally:
        if write >= 0:
            os.close(write)
    if done.returncode != 0 or not usage:
        raise RuntimeError(f"launcher failed: {done.stdout}{done.stderr}")
    result = json.loads(usage)
    result.update(out=done.stdout, err=done.stderr, wall_with_launcher=time.perf_counter() - t)
    if check and result["code"] != 0:
        raise RuntimeError(f"{cmd[0]} exited {result['code']}: {done.stdout}{done.stderr}")
    return result
