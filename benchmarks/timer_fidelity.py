"""Does archcalc's timer agree with torch.utils.benchmark.Timer? And what does it cost per call?

Runs the same module, in one process, through ``archcalc.torch.timing.time_forward``
(one perf_counter pair, or one CUDA event pair, around each call) and through
``torch.utils.benchmark.Timer.blocked_autorange`` (calls in blocks, one clock read per
block), alternating the two in many short rounds. Prints, per spec, the median of
each and the median of the per-round ratios (target: within 5 %), and the
harness overhead: the median archcalc reports for a call that does nothing, minus
Timer's figure for the same call.

    python benchmarks/timer_fidelity.py                      # default specs, CPU
    python benchmarks/timer_fidelity.py --specs vgg16 --device cuda --min-time 3
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch
from torch.utils.benchmark import Timer

import archcalc
from archcalc.torch.build import build_module, inference_module, input_tensor
from archcalc.torch.timing import time_forward


def timer_median(fn, x, min_time: float, threads: int) -> float:
    """Median seconds per call from torch's Timer, under inference mode like archcalc's."""
    timer = Timer(stmt="fn(x)", globals={"fn": fn, "x": x}, num_threads=threads)
    with torch.inference_mode():
        return timer.blocked_autorange(min_run_time=min_time).median


def archcalc_median(fn, x, min_time: float) -> float:
    return statistics.median(time_forward(fn, x, warmup=3, repeat=10, min_time=min_time))


def compare(fn, x, rounds: int, min_time: float, threads: int) -> tuple[float, float, float]:
    """(archcalc median, Timer median, ratio) over ``rounds`` back-to-back pairs.

    The two timers alternate (archcalc first in even rounds), and the ratio is the
    median of the per-round ratios: the two halves of a round run seconds apart under
    the same machine load, so load that drifts between rounds cancels out.
    """
    ours, theirs = [], []
    for r in range(rounds):
        pair = [lambda: ours.append(archcalc_median(fn, x, min_time)),
                lambda: theirs.append(timer_median(fn, x, min_time, threads))]
        for run in pair if r % 2 == 0 else reversed(pair):
            run()
    ratio = statistics.median(a / b for a, b in zip(ours, theirs))
    return statistics.median(ours), statistics.median(theirs), ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--specs", nargs="+", default=["lenet5", "resnet18", "googlenet", "vgg16"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--min-time", type=float, default=0.3, help="seconds of timed calls per measurement")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    print(f"torch {torch.__version__}, device {args.device}, threads {args.threads}, batch {args.batch}, "
          f"min-time {args.min_time}s x {args.rounds} rounds")
    noop_x = torch.zeros(1, device=device)
    ours, theirs, _ = compare(lambda x: x, noop_x, args.rounds, args.min_time, args.threads)
    print(f"no-op call: archcalc {ours * 1e9:,.0f} ns, Timer {theirs * 1e9:,.0f} ns, "
          f"harness overhead {(ours - theirs) * 1e9:,.0f} ns per call")
    print(f"{'spec':<20} {'archcalc ms':>12} {'Timer ms':>10} {'ratio':>7}")
    worst = 0.0
    for name in args.specs:
        graph = archcalc.load(name)
        module = inference_module(build_module(graph, device=device, batch=args.batch), graph)
        x = input_tensor(graph, args.batch, device, "float32")
        ours, theirs, ratio = compare(module, x, args.rounds, args.min_time, args.threads)
        worst = max(worst, abs(ratio - 1))
        print(f"{name:<20} {ours * 1e3:>12.3f} {theirs * 1e3:>10.3f} {ratio:>7.3f}")
        del module, x
    print(f"largest deviation {worst:.1%} (target <= 5%)")
    return 0 if worst <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
