"""Measuring this CPU for the roofline: a large matrix product and a large copy, timed with torch.

The figures are the best of a few repetitions (the least disturbed run), stored by
``archcalc calibrate`` in the user's configuration file (archcalc.devices.config_path)
as device "cpu". Imported by `calibrate` only: it needs torch.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from archcalc.atomic import write_atomically
from archcalc.devices import CALIBRATED, Device
from archcalc.torch import require_torch

MATMUL_SIZE = 2048
COPY_BYTES = 256 * 2**20


def _best(run, repeats: int) -> float:
    run()  # warm-up: allocation, thread pool, caches
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def measure(matmul_size: int = MATMUL_SIZE, copy_bytes: int = COPY_BYTES, repeats: int = 5,
            dtypes: tuple[str, ...] = ("float32", "bfloat16", "float16"), threads: int | None = None) -> Device:
    """Peak FLOP/s of an n x n matrix product per dtype, and the bandwidth of a copy (read + write)."""
    torch = require_torch()
    if threads:
        torch.set_num_threads(threads)
    peaks = {}
    for name in dtypes:
        dtype = getattr(torch, name)
        a = torch.randn(matmul_size, matmul_size).to(dtype)
        b = torch.randn(matmul_size, matmul_size).to(dtype)
        out = torch.empty(matmul_size, matmul_size, dtype=dtype)
        seconds = _best(lambda: torch.matmul(a, b, out=out), repeats)
        peaks[name] = 2 * matmul_size**3 / seconds
    source = torch.empty(copy_bytes // 4, dtype=torch.float32)
    target = torch.empty_like(source)
    seconds = _best(lambda: target.copy_(source), repeats)
    threads = torch.get_num_threads()
    title = f"this CPU ({platform.processor() or platform.machine()}, {threads} thread{'s' * (threads != 1)})"
    return Device(CALIBRATED, title, peaks, 2 * copy_bytes / seconds,
                  f"archcalc calibrate: {matmul_size}x{matmul_size} matmul and a {copy_bytes >> 20} MiB copy, "
                  f"best of {repeats}, torch {torch.__version__}")


def store(device: Device, path: Path) -> None:
    data = {"title": device.title, "peak_flops": device.peak_flops, "bandwidth": device.bandwidth,
            "source": device.source}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda handle: handle.write((json.dumps(data, indent=2) + "\n").encode("utf-8")))
