"""How busy the CPUs are just before timing: cores, load average, and cores other processes keep busy.

A latency figure on a shared machine depends on what else runs: a 2-thread OpenMP
region stalls whenever one of its threads is descheduled. The load average lags by
a minute and counts this process too, so the busy cores are also sampled directly,
from ``/proc/stat`` over a short sleep (this process idle meanwhile), which shows
what competes for the cores now.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

SAMPLE_S = 0.25


def cpu_cores() -> int:
    """The cores this process may run on (its affinity mask), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cpu_times(text: str) -> tuple[int, int]:
    """(busy, total) jiffies from the aggregate ``cpu`` line of /proc/stat."""
    fields = [int(v) for v in text.split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user and nice
    return total - idle, total


def busy_fraction(before: str, after: str) -> float:
    """Share of all cores' time spent busy between two readings of /proc/stat (0..1)."""
    busy0, total0 = _cpu_times(before)
    busy1, total1 = _cpu_times(after)
    return 0.0 if total1 <= total0 else max(0.0, min(1.0, (busy1 - busy0) / (total1 - total0)))


def _read_stat() -> str | None:
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            return stat.readline()
    except OSError:
        return None


@dataclass
class CpuLoad:
    """Cores available, the 1-minute load average, and cores busy with other work when sampled."""

    cores: int
    load_1min: float | None
    busy_cores: float | None  # None where /proc/stat cannot be read

    @property
    def idle_cores(self) -> int:
        """Whole cores free of other work (from the sample, else from the load average)."""
        busy = self.busy_cores if self.busy_cores is not None else self.load_1min
        return self.cores if busy is None else max(0, round(self.cores - busy))

    def advice(self, threads: int) -> str | None:
        """A warning and a suggested thread count when ``threads`` exceed the idle cores."""
        idle = self.idle_cores
        if threads <= idle:
            return None
        suggest = max(1, idle)
        return (f"{threads} threads but only {idle} of {self.cores} cores idle (other processes keep "
                f"{self.cores - idle} busy); try --threads {suggest}" if suggest < threads else
                f"{threads} thread, but all {self.cores} cores are busy with other processes; "
                "figures will vary with their load")

    def to_dict(self) -> dict:
        return {"cores": self.cores, "load_1min": self.load_1min, "busy_cores": self.busy_cores,
                "idle_cores": self.idle_cores}


def sample_load(seconds: float = SAMPLE_S) -> CpuLoad:
    """The CPU load now: this process sleeps ``seconds`` while the others' work is counted."""
    cores = cpu_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = None
    before = _read_stat()
    time.sleep(seconds)
    after = _read_stat()
    machine_cores = os.cpu_count() or cores
    busy = None if before is None or after is None else busy_fraction(before, after) * machine_cores
    return CpuLoad(cores, load, None if busy is None else min(busy, cores))
