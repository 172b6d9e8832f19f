"""Does archcalc time like torch.utils.benchmark.Timer, and does its module run like a hand-written one?

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
2. **Module**: archcalc's ``fx.GraphModule`` of a spec against the same network
   written by hand as torchvision writes it (``nn.Module`` classes with a plain
   ``forward``; torchvision itself is not assumed to be installed), holding the same
   weights (copied in order, shapes checked, outputs compared), both timed by the same
   Timer. A slower graph (an extra copy, an add that is not in place, a padding module)
   shows up as a ratio above 1. References: ResNet-50 and VGG-16.

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


class Bottleneck(nn.Module):
    """torchvision's ResNet v1.5 bottleneck: stride on the 3x3, residual added in place."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet50(nn.Module):
    """torchvision.models.resnet50's structure and forward."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, inplanes = [], 64
        for planes, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            layers = [Bottleneck(inplanes, planes, stride)]
            inplanes = planes * 4
            layers += [Bottleneck(inplanes, planes) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class VGG16(nn.Module):
    """torchvision.models.vgg16's features and classifier (its 7x7 adaptive pool is a no-op at 224x224)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers, channels = [], 3
        for width, convs in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]:
            for _ in range(convs):
                layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
                channels = width
            layers.append(nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


REFERENCES = {"resnet50": ResNet50, "vgg16": VGG16}


def same_weights(reference: nn.Module, module: nn.Module) -> nn.Module:
    """``reference`` holding ``module``'s parameters and buffers, copied in registration order."""
    theirs, ours = reference.state_dict(), module.state_dict()
    if len(theirs) != len(ours):
        sys.exit(f"reference has {len(theirs)} tensors, archcalc's module {len(ours)}")
    copied = {}
    for (name, mine), (other, value) in zip(theirs.items(), ours.items()):
        if mine.shape != value.shape:
            sys.exit(f"reference {name} {tuple(mine.shape)} != archcalc {other} {tuple(value.shape)}")
        copied[name] = value
    reference.load_state_dict(copied)
    return reference.eval()


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
        print("2. archcalc's fx module / the same network written as torchvision writes it, same weights, same Timer")
        print(f"{'spec':<14} {'batch':>5} {'archcalc ms':>12} {'reference ms':>13} {'ratio':>7} {'range':>13} "
              f"{'outputs':>8} {'load':>5}")
        for name in args.module_specs:
            graph, module = built(name, device, args.batches)
            reference = same_weights(REFERENCES[name](), module).to(device)
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
