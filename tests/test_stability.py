"""The stopping rule and verdicts of archcalc's timing, driven by a fake clock and made-up timings.

No real time is measured here: each fake call advances the fake clock by the
duration it reports, so the figures and verdicts are exact and repeatable.
"""

import itertools
import random

import pytest

from archcalc.machine import CpuLoad, busy_fraction
from archcalc.torch.stability import TOLERANCE, WINDOW, judge, measure


class FakeClock:
    """A clock that moves only when a fake call says how long it took."""

    def __init__(self, durations):
        self.now = 0.0
        self.durations = iter(durations)
        self.calls = 0

    def __call__(self) -> float:
        return self.now

    def call(self) -> float:
        took = next(self.durations)
        self.now += took
        self.calls += 1
        return took


def run(durations, **options):
    clock = FakeClock(durations)
    settings = {"min_runs": 10, "min_time": 0.0, "max_time": 5.0, **options}
    result = measure(clock.call, clock=clock, **settings)
    return result, result.verdict(), clock


def jitter(base, spread, seed=0):
    rng = random.Random(seed)
    return (base * (1 + rng.uniform(-spread, spread)) for _ in itertools.count())


def test_steady_timings_stop_after_the_first_window_and_are_stable():
    result, verdict, clock = run(jitter(0.040, 0.01))
    # blocks of ceil(10 / 3) = 4 runs; three agreeing blocks are enough
    assert result.block_runs == 4 and len(result.block_medians) == WINDOW and len(result.times) == 12
    assert result.stopped == "settled" and clock.calls == 12
    assert verdict.kind == "stable" and verdict.stable and verdict.settled
    assert verdict.p90_ratio < 1.02 and verdict.to_dict()["verdict"] == "stable"


def test_min_time_keeps_measuring_a_settled_median():
    result, verdict, clock = run(jitter(0.040, 0.01), min_time=2.0)
    assert result.stopped == "settled" and clock.now >= 2.0 and len(result.times) == 52  # 13 blocks of 4
    assert verdict.kind == "stable"


def test_fast_calls_get_longer_blocks():
    result, _, _ = run(jitter(0.001, 0.01), first_call_s=0.001)
    assert result.block_runs == 20  # 20 ms per block at 1 ms a call


def test_a_drifting_median_runs_to_max_time_and_is_drifting():
    # each call 1% slower than the one before: the block medians never agree within 5%
    result, verdict, clock = run((0.010 * 1.01**i for i in itertools.count()), max_time=1.0)
    assert result.stopped == "max_time" and clock.now >= 1.0 and clock.now < 1.0 + 4 * 0.010 * 1.01**200
    assert verdict.kind == "drifting" and not verdict.stable and not verdict.settled
    assert verdict.agreement > TOLERANCE and "did not settle" in verdict.reason
    assert verdict.to_dict()["verdict"] == "unstable"


def test_a_warm_up_that_fades_settles_and_is_stable():
    # the first runs are slow (caches, a neighbour finishing), then the machine is steady
    durations = itertools.chain([0.100, 0.080, 0.060, 0.050], jitter(0.040, 0.01))
    result, verdict, _ = run(durations)
    assert result.stopped == "settled" and len(result.block_medians) == 4
    assert result.kept_blocks == 3 and len(result.kept) == 12  # the slow first block is outvoted
    assert max(result.kept) < 0.041 and verdict.kind == "stable"


def test_bimodal_timings_are_unstable_with_the_reason():
    # a 2-thread region stalls in one call in three when a thread is descheduled: 40x slower
    rng = random.Random(1)
    durations = (0.030 * (40 if rng.random() < 1 / 3 else 1) * rng.uniform(0.99, 1.01) for _ in itertools.count())
    result, verdict, _ = run(durations, max_time=3.0)
    assert verdict.kind == "bimodal" and not verdict.stable
    assert verdict.p90_ratio > 30 and "longer than the rest" in verdict.reason
    assert "of runs took at least" in verdict.reason and f"p90 is {verdict.p90_ratio:.1f}x" in verdict.reason


def test_a_few_outliers_do_not_make_a_sample_bimodal():
    times = [0.030] * 19 + [0.300]  # one stall in twenty
    verdict = judge(times, [0.030, 0.030, 0.030])
    assert verdict.kind == "stable"


def test_wide_unimodal_spread_is_noisy():
    times = [0.010 * (1 + i / 10) for i in range(30)]  # 10 ms .. 39 ms, no gap
    verdict = judge(times, [0.024, 0.024, 0.025])
    assert verdict.settled and verdict.kind == "noisy" and "spans 95% of the median" in verdict.reason


def test_too_few_blocks_cannot_be_stable():
    verdict = judge([0.01] * 4, [0.01])
    assert verdict.kind == "drifting" and "too few blocks" in verdict.reason


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError):
        measure(lambda: 0.1, min_runs=1, min_time=2.0, max_time=1.0)


def test_busy_cores_from_proc_stat_and_the_thread_advice():
    before = "cpu  100 0 100 800 0 0 0 0 0 0\n"
    after = "cpu  250 0 150 1000 0 0 0 0 0 0\n"  # 200 busy of 400 jiffies: half the cores
    assert busy_fraction(before, after) == pytest.approx(0.5)
    load = CpuLoad(cores=2, load_1min=3.1, busy_cores=1.0)
    assert load.idle_cores == 1
    assert load.advice(1) is None
    assert load.advice(2) == "2 threads but only 1 of 2 cores idle (other processes keep 1 busy); try --threads 1"
    assert "all 2 cores are busy" in CpuLoad(cores=2, load_1min=4.0, busy_cores=2.0).advice(1)
    assert CpuLoad(cores=2, load_1min=None, busy_cores=None).idle_cores == 2


def test_an_unstable_verdict_says_what_competes_and_what_to_try():
    from archcalc.profile import _verdict_line

    times = [0.030] * 20 + [1.2] * 10  # a third of the calls stalled 40x
    verdict = judge(times, [0.030, 0.030, 1.2]).to_dict()
    busy = CpuLoad(cores=2, load_1min=3.5, busy_cores=1.6)
    line = _verdict_line(verdict, threads=2, load=busy, on_cpu=True)
    assert line.startswith("unstable (bimodal): 33% of runs took at least 40.0x longer than the rest")
    assert "other processes are competing for the 2 threads (about 1.6 of 2 cores busy)" in line
    assert line.endswith("try --threads 1, a longer --max-time or a quieter machine")
    on_gpu = _verdict_line(verdict, threads=2, load=busy, on_cpu=False)
    assert "competing" not in on_gpu and on_gpu.endswith("try a longer --max-time or a quieter machine")
    assert _verdict_line(judge([0.03] * 12, [0.03] * 3).to_dict(), 2, busy, True).startswith("stable: ")
