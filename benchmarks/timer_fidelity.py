"""Does archcalc time like torch.utils.benchmark.Timer, and does its module run like torchvision's?

Two comparisons, each in one process, interleaved in many short rounds so that load
drifting between rounds cancels out (the two halves of a round run seconds apart
under the same load; the order alternates), reported as the median of the per-round
ratios:

1. **Timer**: the same module through ``archcalc.torch.timing.time_forward`` (one
   ``perf_counter`` pair, or one CUDA event pair, around each call, blocks until the
   median settles) and through ``Timer.blocked_autorange`` (calls in blocks, one clock
   read per block). Each round also records archcalc's verdict on its measurement;
   the ratio is given over all rounds and over the rounds judged stable. Plus the
   harness overhead: what each reports for a call that does nothing.
2. **Module**: archcalc's ``fx.GraphModule`` of a built-in spec against the torchvision
   model it follows (torchvision comes with the test extra), holding the same weights
   (copied in order, shapes checked, outputs compared), both timed by the same Timer. A
   slower graph (an extra copy, an add that is not in place, a padding module) shows up
   as a ratio above 1. References: ResNet-50, VGG-16 and MobileNetV2.

Target: ratios within 5 % where the verdict is stable.

    python benchmarks/timer_fidelity.py                       # defaults, CPU
    python benchmarks/timer_fidelity.py --batches 1 8 --threads 1 --rounds 11
    python benchmarks/timer_fidelity.py --timer-specs vgg16 --module-specs resnet50 --device cuda
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch
from torch import nn
from torch.utils.benchmark import Timer

import archcalc
from archcalc.torch.build import build_module, inference_module, input_tensor
from archcalc.torch.timing import time_forward


# Built-in specs and the torchvision builders they follow (built with weights=None).
REFERENCES = {"resnet50": "resnet50", "vgg16": "vgg16", "mobilenet-v2": "mobilenet_v2"}


def torchvision_reference(name: str) -> nn.Module:
    import torchvision

    return torchvision.models.get_model(REFERENCES[name], weights=None)



def in_call_order(module: nn.Module, x) -> list[nn.Module]:
    """The modules holding their own parameters or buffers, in the order one forward calls them."""
    called: list[nn.Module] = []
    holders = [m for m in module.modules() if any(True for _ in m.parameters(recurse=False))
               or any(True for _ in m.buffers(recurse=False))]
    hooks = [m.register_forward_pre_hook(lambda m, _: called.append(m)) for m in holders]
    with torch.inference_mode():
        module(x)
    for hook in hooks:
        hook.remove()
    return called


def same_weights(reference: nn.Module, module: nn.Module, x) -> nn.Module:
    """``reference`` holding ``module``'s parameters and buffers: layer by layer in the order
    the two forwards call them (their registration orders and names differ), shapes checked."""
    theirs, ours = in_call_order(reference.eval(), x), in_call_order(module, x)
    if len(theirs) != len(ours):
        sys.exit(f"reference calls {len(theirs)} layers with weights, archcalc's module {len(ours)}")
    for mine, other in zip(theirs, ours):
        state = other.state_dict()
        for key, value in mine.state_dict().items():
            if key not in state or state[key].shape != value.shape:
                sys.exit(f"reference {type(mine).__name__}.{key} {tuple(value.shape)} has no match in "
                         f"archcalc's {type(other).__name__}")
        mine.load_state_dict(state)
    return reference


def timer_median(fn, x, min_time: float, threads: int) -> float:
    """Median seconds per call from torch's Timer, under inference mode like archcalc's."""
    timer = Timer(stmt="fn(x)", globals={"fn": fn, "x": x}, num_threads=threads)
    with torch.inference_mode():
        return timer.blocked_autorange(min_run_time=min_time).median


def archcalc_median(fn, x, min_time: float) -> tuple[float, str]:
    timed = time_forward(fn, x, warmup=3, repeat=10, min_time=min_time, max_time=max(min_time, 3.0))
    return statistics.median(timed.kept), timed.verdict().kind


def interleave(first, second, rounds: int):
    """Per-round results of the two measurements, alternating which goes first."""
    a, b = [], []
    for r in range(rounds):
        pair = [lambda: a.append(first()), lambda: b.append(second())]
        for run in pair if r % 2 == 0 else reversed(pair):
            run()
    return a, b


def load_now() -> str:
    return "{:.1f}".format(os.getloadavg()[0])


def compare_timers(fn, x, args) -> dict:
    ours, theirs = interleave(lambda: archcalc_median(fn, x, args.min_time),
                              lambda: timer_median(fn, x, args.min_time, args.threads), args.rounds)
    ratios = [o / t for (o, _), t in zip(ours, theirs)]
    stable = [r for r, (_, kind) in zip(ratios, ours) if kind == "stable"]
    return {
        "archcalc": statistics.median(o for o, _ in ours),
        "timer": statistics.median(theirs),
        "ratio": statistics.median(ratios),
        "stable_rounds": len(stable),
        "stable_ratio": statistics.median(stable) if stable else None,
        "spread": (min(ratios), max(ratios)),
    }


def built(name: str, device, batches: list[int]):
    """A built-in spec's graph and its inference module, built for the largest batch timed."""
    graph = archcalc.load(name)
    return graph, inference_module(build_module(graph, device=device, batch=max(batches)), graph)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timer-specs", nargs="*", default=["lenet5", "resnet18", "googlenet", "vgg16"])
    parser.add_argument("--module-specs", nargs="*", default=list(REFERENCES), choices=list(REFERENCES))
    parser.add_argument("--batches", type=int, nargs="+", default=[1])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--min-time", type=float, default=0.3, help="seconds of timed calls per measurement")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)

    print(f"torch {torch.__version__}, device {args.device}, threads {args.threads} of {os.cpu_count()} cores, "
          f"batches {args.batches}, min-time {args.min_time}s x {args.rounds} rounds, load at start {load_now()}")
    worst = 0.0
    if args.timer_specs:
        noop = compare_timers(lambda x: x, torch.zeros(1, device=device), args)
        print(f"no-op call: archcalc {noop['archcalc'] * 1e9:,.0f} ns, Timer {noop['timer'] * 1e9:,.0f} ns, "
              f"harness overhead {(noop['archcalc'] - noop['timer']) * 1e9:,.0f} ns per call")
        print()
        print("1. archcalc's timer / torch.utils.benchmark.Timer, same module")
        print(f"{'spec':<14} {'batch':>5} {'archcalc ms':>12} {'Timer ms':>10} {'ratio':>7} {'range':>13} "
              f"{'stable rounds':>14} {'ratio (stable)':>15} {'load':>5}")
        for name in args.timer_specs:
            graph, module = built(name, device, args.batches)
            for batch in args.batches:
                x = input_tensor(graph, batch, device, "float32")
                r = compare_timers(module, x, args)
                if r["stable_ratio"] is not None:
                    worst = max(worst, abs(r["stable_ratio"] - 1))
                stable = "-" if r["stable_ratio"] is None else f"{r['stable_ratio']:.3f}"
                print(f"{name:<14} {batch:>5} {r['archcalc'] * 1e3:>12.3f} {r['timer'] * 1e3:>10.3f} "
                      f"{r['ratio']:>7.3f} {r['spread'][0]:>6.2f}-{r['spread'][1]:<6.2f} "
                      f"{r['stable_rounds']:>8}/{args.rounds:<5} {stable:>15} {load_now():>5}")
            del module
    if args.module_specs:
        print()
        print("2. archcalc's fx module / the torchvision model it follows, same weights, same Timer")
        print(f"{'spec':<14} {'batch':>5} {'archcalc ms':>12} {'reference ms':>13} {'ratio':>7} {'range':>13} "
              f"{'outputs':>8} {'load':>5}")
        for name in args.module_specs:
            graph, module = built(name, device, args.batches)
            reference = same_weights(torchvision_reference(name).to(device), module,
                                     input_tensor(graph, 1, device, "float32"))
            for batch in args.batches:
                x = input_tensor(graph, batch, device, "float32")
                with torch.inference_mode():
                    agree = torch.allclose(module(x), reference(x), rtol=1e-4, atol=1e-4)
                ours, theirs = interleave(lambda: timer_median(module, x, args.min_time, args.threads),
                                          lambda: timer_median(reference, x, args.min_time, args.threads), args.rounds)
                ratios = [o / t for o, t in zip(ours, theirs)]
                ratio = statistics.median(ratios)
                worst = max(worst, abs(ratio - 1))
                print(f"{name:<14} {batch:>5} {statistics.median(ours) * 1e3:>12.3f} "
                      f"{statistics.median(theirs) * 1e3:>13.3f} {ratio:>7.3f} {min(ratios):>6.2f}-{max(ratios):<6.2f} "
                      f"{'same' if agree else 'DIFFER':>8} {load_now():>5}")
            del module, reference
    print()
    print(f"largest deviation {worst:.1%} (target <= 5%; timer rows count their stable rounds only)")
    return 0 if worst <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
