"""Shared helpers of the benchmark scripts: run a child process, measure it, describe the machine.

Wall time is measured around the whole child (start-up included); CPU time is the
child's user + system time and peak memory its maximum resident set size, both from
``os.wait4`` (``ru_utime + ru_stime``, ``ru_maxrss``). CPU time is what a busy
machine disturbs least: time spent waiting for a core is not counted.

One caveat about ``ru_maxrss`` on Linux: ``subprocess`` starts children with ``vfork``,
and the kernel carries the *parent's* high-water mark into the child at ``exec``. A
child's reading is therefore never below the parent's own peak. The benchmark scripts
import only the standard library and write large files in pieces so that their own
peak stays near a bare interpreter's (about 10 MiB); each prints that floor so a
reading close to it can be recognised for what it is.
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MIB = 2**20


@dataclass
class Run:
    cmd: list[str]
    wall_s: float
    peak_rss: int  # bytes
    returncode: int
    stdout: str  # the first stdout_limit bytes
    stderr: str
    timed_out: bool
    stdout_tail: str = ""  # the last 4 KiB
    stdout_bytes: int = 0
    cpu_s: float = 0.0  # user + system


def run(cmd: list[str], *, timeout: float = 120.0, keep_stdout: bool = True, stdout_limit: int = 1_000_000,
        env: dict | None = None) -> Run:
    """Run ``cmd`` to completion; wall time, peak RSS, exit status and (the start of) its output.

    Output goes to temporary files, not pipes, so a child writing megabytes never blocks
    on a full pipe. ``keep_stdout=False`` sends stdout to /dev/null.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        killed = threading.Event()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out if keep_stdout else subprocess.DEVNULL,
                                stderr=err, env=env)

        def kill() -> None:
            killed.set()
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        size = out.seek(0, os.SEEK_END)
        out.seek(max(0, size - 4096))
        tail = out.read().decode("utf-8", "replace")
        out.seek(0)
        err.seek(0)
        return Run(
            cmd=list(cmd),
            wall_s=wall,
            peak_rss=usage.ru_maxrss * 1024,  # kilobytes on Linux
            returncode=proc.returncode,
            stdout=out.read(stdout_limit).decode("utf-8", "replace"),
            stderr=err.read(stdout_limit).decode("utf-8", "replace"),
            timed_out=killed.is_set(),
            stdout_tail=tail,
            stdout_bytes=size,
            cpu_s=usage.ru_utime + usage.ru_stime,
        )


@contextlib.contextmanager
def bytecode_env():
    """An environment for children in which every module's bytecode is cached, as once installed.

    A `pip install` compiles each module to a .pyc file, but a checkout run under
    PYTHONDONTWRITEBYTECODE=1 (as some CI and sandbox environments set) recompiles archcalc's
    modules from source in every process (about 80 ms), while its dependencies come
    precompiled from their wheels. This points PYTHONPYCACHEPREFIX at a fresh temporary
    folder (outside the source tree) and unsets PYTHONDONTWRITEBYTECODE, so a warm-up run
    writes the bytecode.
    """
    with tempfile.TemporaryDirectory(prefix="archcalc-bench-pyc-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        yield env, f"cached in a fresh PYTHONPYCACHEPREFIX ({cache})"


def own_peak_rss() -> int:
    """This process's peak RSS in bytes: the floor under every child's reading (see above)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def median(values) -> float:
    return statistics.median(values)


def archcalc_command() -> list[str]:
    """The `archcalc` console script beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "archcalc"
    if beside.exists():
        return [str(beside)]
    import shutil

    found = shutil.which("archcalc")
    if found is None:
        sys.exit("archcalc is not installed: run `pip install -e .` first")
    return [found]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> str:
    """CPU model, cores, memory, OS and Python, in one line."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 2**20:.0f} GiB RAM"
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} CPUs{memory}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def header(title: str) -> None:
    print(title)
    print(f"machine: {machine()}")
    print(f"load average (1, 5, 15 min) at start: {load()}")


def mib(n: int) -> str:
    return f"{n / MIB:.1f}"
