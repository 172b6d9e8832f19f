"""When to stop timing, and whether the figure can be trusted: blocks of runs until the median settles.

torch.utils.benchmark answers a different question. ``Timer.blocked_autorange``
runs the statement in blocks of ``number`` calls with one clock read per block and
reports the per-block means; ``adaptive_autorange`` adds blocks until the
interquartile range of those means is below ``threshold`` (10 %) of their median, or
``max_run_time`` passes. Both summarise away the spread between single calls, and
``adaptive_autorange`` keeps measuring until the *spread* is small, which on a
shared machine may never happen, and then returns the figure like any other.

archcalc keeps every call's time (the spread between calls is part of the result,
and on CUDA each call is timed with its own event pair) and stops on the
*estimate*, not the spread: it times blocks of runs and stops once the medians of
the last ``window`` blocks agree within ``tolerance`` (and at least ``min_runs``
runs and ``min_time`` seconds are in), or when ``max_time`` is spent. It then judges
the whole sample (:func:`judge`): ``stable``, or not, with the reason in words:

* ``bimodal``: the sorted times split at a gap of at least ``GAP`` x, with at least
  ``MODE_SHARE`` of the runs on each side (a thread descheduled in some calls);
* ``drifting``: the block medians did not settle by ``max_time``;
* ``noisy``: they settled, but p10 to p90 spans more than ``SPREAD_LIMIT`` of the median.

When the median settled, blocks measured before it did (the first, slow ones) are
left out of the figures (:attr:`Measurement.kept`), as a warm-up the block medians
outvoted.

Everything here is plain Python with the clock and the timed call passed in, so the
stopping rule and the verdicts are tested with a fake clock and made-up timings.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

WINDOW = 3  # blocks whose medians must agree
TOLERANCE = 0.05  # largest / smallest of those medians, minus one
BLOCK_MIN_S = 0.02  # a block lasts at least this long (more runs per block for fast calls)
MAX_BLOCK_RUNS = 100
GAP = 1.5  # a jump between neighbouring sorted times that splits two modes
MODE_SHARE = 0.1  # each mode holds at least this share of the runs
SPREAD_LIMIT = 0.5  # (p90 - p10) / median above this: the figure is too noisy to trust


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between order statistics
    (numpy's default), so p10 <= median <= p90 always holds."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Verdict:
    """Whether a latency figure is trustworthy: ``kind`` is stable, bimodal, drifting or noisy."""

    kind: str
    reason: str
    settled: bool  # the last block medians agreed within the tolerance
    agreement: float  # largest / smallest of the last block medians, minus one
    p10_ratio: float  # p10 / median
    p90_ratio: float  # p90 / median
    iqr_ratio: float  # (p75 - p25) / median

    @property
    def stable(self) -> bool:
        return self.kind == "stable"

    def to_dict(self) -> dict:
        return {
            "verdict": "stable" if self.stable else "unstable",
            "kind": self.kind,
            "reason": self.reason,
            "settled": self.settled,
            "block_agreement": self.agreement,
            "p10_over_median": self.p10_ratio,
            "p90_over_median": self.p90_ratio,
            "iqr_over_median": self.iqr_ratio,
        }


def _split(times: list[float]) -> tuple[float, float] | None:
    """(gap ratio, share of runs above the gap) of the widest gap with enough runs on both sides."""
    ordered = sorted(times)
    least = max(2, math.ceil(MODE_SHARE * len(ordered)))
    best = None
    for i in range(least - 1, len(ordered) - least):
        low, high = ordered[i], ordered[i + 1]
        ratio = high / low if low > 0 else math.inf
        if best is None or ratio > best[0]:
            best = (ratio, (len(ordered) - i - 1) / len(ordered))
    return best if best is not None and best[0] >= GAP else None


def agreement(medians: list[float]) -> float:
    """How far apart the last ``WINDOW`` block medians are: largest / smallest - 1 (inf if too few)."""
    last = medians[-WINDOW:]
    if len(last) < WINDOW or min(last) <= 0:
        return math.inf
    return max(last) / min(last) - 1


def judge(times: list[float], block_medians: list[float], tolerance: float = TOLERANCE) -> Verdict:
    """The verdict on a sample of per-call times measured in blocks with these medians."""
    median = percentile(times, 50)
    ratios = {
        "p10_ratio": percentile(times, 10) / median,
        "p90_ratio": percentile(times, 90) / median,
        "iqr_ratio": (percentile(times, 75) - percentile(times, 25)) / median,
    }
    moved = agreement(block_medians)
    settled = moved <= tolerance
    split = _split(times)
    if split is not None:
        gap, share = split
        kind, reason = "bimodal", (f"{share:.0%} of runs took at least {gap:.1f}x longer than the rest "
                                   f"(p90 is {ratios['p90_ratio']:.1f}x the median)")
    elif not settled:
        kind = "drifting"
        reason = (f"the median did not settle: the last {WINDOW} blocks differ by {moved:.0%} "
                  f"(tolerance {tolerance:.0%})" if moved != math.inf else
                  f"too few blocks to tell whether the median settled ({len(block_medians)} of {WINDOW})")
    elif ratios["p90_ratio"] - ratios["p10_ratio"] > SPREAD_LIMIT:
        kind, reason = "noisy", (f"p10-p90 spans {ratios['p90_ratio'] - ratios['p10_ratio']:.0%} of the median "
                                 f"(p90 is {ratios['p90_ratio']:.1f}x the median)")
    else:
        kind, reason = "stable", (f"last {WINDOW} block medians within {moved:.1%}; "
                                  f"p10-p90 is {ratios['p10_ratio']:.2f}-{ratios['p90_ratio']:.2f}x the median")
    return Verdict(kind, reason, settled, moved, **ratios)


@dataclass
class Measurement:
    """Per-call times of a blocked measurement, the block medians, and when it stopped."""

    times: list[float] = field(default_factory=list)
    block_medians: list[float] = field(default_factory=list)
    block_runs: int = 1
    elapsed_s: float = 0.0
    stopped: str = ""  # "settled" or "max_time"
    tolerance: float = TOLERANCE

    @property
    def kept_blocks(self) -> int:
        """Blocks the figures describe: once settled, from the first block whose median agrees
        with the settled one (the median of the last ``WINDOW``); otherwise all of them."""
        if self.stopped != "settled":
            return len(self.block_medians)
        settled = percentile(self.block_medians[-WINDOW:], 50)
        first = next(i for i, m in enumerate(self.block_medians) if abs(m / settled - 1) <= self.tolerance)
        return len(self.block_medians) - first

    @property
    def kept(self) -> list[float]:
        """The per-call times the figures describe (see :attr:`kept_blocks`)."""
        return self.times[len(self.times) - self.kept_blocks * self.block_runs:]

    def verdict(self) -> Verdict:
        """:func:`judge` on the kept times."""
        return judge(self.kept, self.block_medians, self.tolerance)


def measure(
    call: Callable[[], float],
    *,
    min_runs: int,
    min_time: float,
    max_time: float,
    first_call_s: float | None = None,
    tolerance: float = TOLERANCE,
    clock: Callable[[], float] = time.perf_counter,
    progress: Callable[[int], None] | None = None,
) -> Measurement:
    """Time ``call()`` (which returns its own duration in seconds) in blocks until the median settles.

    A block is enough runs to give ``min_runs`` over ``WINDOW`` blocks and to last
    ``BLOCK_MIN_S`` at the duration ``first_call_s`` (a warm-up call), so fast calls
    are not judged on blocks of a few microseconds. Measuring stops after a block
    when the last ``WINDOW`` block medians agree within ``tolerance`` and at least
    ``min_runs`` runs and ``min_time`` seconds (by ``clock``) have passed, or when
    ``max_time`` seconds have passed (after at least ``min_runs`` runs and one block).
    """
    if min_runs < 1 or min_time < 0 or max_time < min_time:
        raise ValueError("need min_runs >= 1 and 0 <= min_time <= max_time")
    result = Measurement(tolerance=tolerance)
    block = math.ceil(min_runs / WINDOW)
    if first_call_s is not None and first_call_s > 0:
        block = max(block, min(MAX_BLOCK_RUNS, math.ceil(BLOCK_MIN_S / first_call_s)))
    result.block_runs = block
    start = clock()
    while True:
        runs = [call() for _ in range(block)]
        result.times += runs
        result.block_medians.append(percentile(runs, 50))
        result.elapsed_s = clock() - start
        if progress is not None:
            progress(len(result.times))
        if len(result.times) < min_runs:
            continue
        if result.elapsed_s >= min_time and agreement(result.block_medians) <= tolerance:
            result.stopped = "settled"
            return result
        if result.elapsed_s >= max_time:
            result.stopped = "max_time"
            return result
