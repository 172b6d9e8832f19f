"""How fast does archcalc start, and how much faster and leaner is it than torchinfo on VGG-16?

Start-up: `archcalc summary vgg16`, `archcalc list` and `archcalc check specs/` against
the floor of any click + rich + PyYAML tool, ``python -c "import click, rich, yaml"``, in
CPU time (user + system of the child, which waiting for a core on a busy machine does
not inflate), paired: the commands run back to back in each round, and each ratio is
the median over rounds of command / floor of that round. Target: summary within 1.3x.

Both run as whole processes, start-up included, the way a user meets them:

* archcalc: the `archcalc summary vgg16` console script (analytic, no torch);
* torchinfo: a separate Python process that builds VGG-16 in torch (a plain
  ``nn.Sequential`` written here, since torchvision is not assumed) and prints
  ``torchinfo.summary(model, input_size=(1, 3, 224, 224))``.

After one warm-up of each (file cache, .pyc files), the two alternate for ``--rounds``
rounds; the figures are medians and the ratios are ratios of medians (the two run
seconds apart under the same load). Peak memory is each child's maximum RSS
(``os.wait4``). Two reference processes show where torchinfo's time goes: a bare
interpreter (``python -c pass``) and ``python -c "import torch"``.

Targets: archcalc at least 20x faster and at least 10x less peak memory than torchinfo.

It also checks that `archcalc summary` never imports torch, two ways: ``python -X
importtime`` (no module named torch or torch.* in the import log) and a ``sys.modules``
check after running the command in-process; and that both tools count the same
parameters (138,357,544).

    python benchmarks/cli_speed.py                # 7 rounds
    python benchmarks/cli_speed.py --rounds 11
    python benchmarks/cli_speed.py --startup-only # only the start-up ratios (no torch needed)

Bytecode: so that both tools start as they would once installed, the children run with
their bytecode cached in a fresh temporary folder, written by the warm-up
(``_measure.bytecode_env``); otherwise, where PYTHONDONTWRITEBYTECODE=1 is set, archcalc (a
source checkout) would recompile its modules in every process while torch's come
precompiled from its wheel.

Only the standard library is imported here, so this process stays small (see _measure.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from _measure import archcalc_command, bytecode_env, header, load, median, mib, own_peak_rss, run

TORCHINFO = '''
import torch
from torch import nn
from torchinfo import summary


def vgg16(num_classes=1000):
    """VGG-16, configuration D (as torchvision builds it, less its 7x7 adaptive pooling)."""
    layers, channels = [], 3
    for width, convs in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]:
        for _ in range(convs):
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
            channels = width
        layers.append(nn.MaxPool2d(2, 2))
    layers += [
        nn.Flatten(),
        nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(),
        nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(),
        nn.Linear(4096, num_classes),
    ]
    return nn.Sequential(*layers)


summary(vgg16(), input_size=(1, 3, 224, 224))
'''

# Runs `archcalc summary vgg16` inside one interpreter, then lists what it imported.
MODULES = '''
import sys
from archcalc.cli import main
try:
    main(args=["summary", "vgg16"], prog_name="archcalc")
except SystemExit as exc:
    if exc.code:
        raise
torch = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print(f"MODULES {len(sys.modules)} TORCH {len(torch)} NUMPY {int('numpy' in sys.modules)} "
      f"TORCHINFO {int('torchinfo' in sys.modules)}", file=sys.stderr)
'''


def params_of(text: str, pattern: str) -> int | None:
    found = re.search(pattern, text)
    return int(found.group(1).replace(",", "")) if found else None


def import_check(archcalc: list[str], env: dict | None) -> bool:
    """True when neither check sees torch; prints what each found."""
    ok = True
    trace = run([sys.executable, "-X", "importtime", *archcalc, "summary", "vgg16"], keep_stdout=False, env=env)
    rows = []
    for line in trace.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = [p.strip() for p in line[len("import time:"):].split("|")]
            if parts[0].isdigit():
                rows.append((int(parts[0]), int(parts[1]), parts[2]))
    names = [name for _, _, name in rows]
    torch = [n for n in names if n == "torch" or n.startswith("torch.")]
    top = [(cum, name) for _, cum, name in rows if not name.startswith(" ")]
    top.sort(reverse=True)
    print(f"python -X importtime {' '.join(archcalc)} summary vgg16: {len(names)} modules imported, "
          f"{sum(s for s, _, _ in rows) / 1e3:.0f} ms of imports; torch modules: {len(torch)}")
    print("  largest top-level imports (cumulative ms): "
          + ", ".join(f"{name} {cum / 1e3:.0f}" for cum, name in top[:6]))
    if trace.returncode != 0 or torch or not rows:
        ok = False
    modules = run([sys.executable, "-c", MODULES], keep_stdout=False, env=env)
    found = re.search(r"MODULES (\d+) TORCH (\d+) NUMPY (\d) TORCHINFO (\d)", modules.stderr)
    if modules.returncode != 0 or found is None:
        print(f"sys.modules check failed to run: {modules.stderr.strip()[-500:]}")
        return False
    count, torch_count, numpy, torchinfo = map(int, found.groups())
    print(f"sys.modules after `archcalc summary vgg16` in-process: {count} modules, torch modules: {torch_count}, "
          f"numpy loaded: {bool(numpy)}, torchinfo loaded: {bool(torchinfo)}")
    return ok and torch_count == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds after the warm-up (at least 5)")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the `python -c pass` and `import torch` reference processes")
    parser.add_argument("--startup-only", action="store_true", help="measure only the start-up ratios")
    args = parser.parse_args(argv)
    rounds = max(5, args.rounds)
    with bytecode_env() as (env, bytecode):
        started = startup(max(7, rounds), env, bytecode)
        if started is None or args.startup_only:
            return 0 if started else 1
        print()
        return measure(args, rounds, env, bytecode) or (0 if started else 1)


STARTUP_TARGET = 1.3


def startup(rounds: int, env: dict, bytecode: str) -> bool | None:
    """Paired CPU-time ratios of archcalc commands to the click + rich + yaml floor; True when on target."""
    archcalc = archcalc_command()
    specs = str(Path(__file__).resolve().parent.parent / "specs")
    commands = {
        "floor: import click, rich, yaml": [sys.executable, "-c", "import click, rich, yaml"],
        "archcalc summary vgg16": [*archcalc, "summary", "vgg16"],
        "archcalc list": [*archcalc, "list"],
        "archcalc check specs/": [*archcalc, "check", specs],
    }
    header(f"start-up in CPU time (user + system), stdout to a file: 1 warm-up + {rounds} paired rounds")
    print(f"bytecode: {bytecode}")
    for label, cmd in commands.items():
        if run(cmd, env=env, keep_stdout=False).returncode != 0:
            print(f"{label} failed")
            return None
    cpu: dict[str, list[float]] = {label: [] for label in commands}
    labels = list(commands)
    for r in range(rounds):
        for label in labels if r % 2 == 0 else labels[::-1]:
            cpu[label].append(run(commands[label], env=env).cpu_s)
    floor = cpu[labels[0]]
    print(f"{'process':34} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'x floor':>8}")
    ratios = {}
    for label in labels:
        ratios[label] = median([c / f for c, f in zip(cpu[label], floor)])
        print(f"{label:34} {median(cpu[label]) * 1e3:10.1f} {min(cpu[label]) * 1e3:8.1f} "
              f"{max(cpu[label]) * 1e3:8.1f} {ratios[label]:8.2f}")
    met = ratios["archcalc summary vgg16"] <= STARTUP_TARGET
    print(f"summary vgg16 / floor = {ratios['archcalc summary vgg16']:.2f}x (median of per-round ratios)   "
          f"target <= {STARTUP_TARGET}x: {'met' if met else 'MISSED'}")
    print(f"load average at end: {load()}")
    return met


def measure(args, rounds: int, env: dict, bytecode: str) -> int:
    archcalc = archcalc_command()
    commands = {
        "archcalc summary vgg16": [*archcalc, "summary", "vgg16"],
        "torchinfo summary (VGG-16)": [sys.executable, "-c", TORCHINFO],
    }
    if not args.no_reference:
        commands["  ref: python -c pass"] = [sys.executable, "-c", "pass"]
        commands["  ref: python -c 'import torch'"] = [sys.executable, "-c", "import torch"]

    header(f"archcalc vs torchinfo, whole processes: 1 warm-up + {rounds} rounds, medians")
    print(f"archcalc: {' '.join(archcalc)}; python: {sys.executable}; bytecode: {bytecode}")

    warm = {label: run(cmd, env=env) for label, cmd in commands.items()}
    for label, result in warm.items():
        if result.returncode != 0:
            print(f"{label} failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
            return 2
    ours = params_of(warm["archcalc summary vgg16"].stdout, r"Params\s+([\d,]+)")
    theirs = params_of(warm["torchinfo summary (VGG-16)"].stdout, r"Total params: ([\d,]+)")
    print(f"same network: archcalc counts {ours:,} params, torchinfo {theirs:,}"
          + ("" if ours == theirs else "  <-- DIFFERENT"))

    walls: dict[str, list[float]] = {label: [] for label in commands}
    peaks: dict[str, list[int]] = {label: [] for label in commands}
    labels = list(commands)
    for r in range(rounds):
        order = labels if r % 2 == 0 else labels[::-1]
        for label in order:
            result = run(commands[label], keep_stdout=False, env=env)
            if result.returncode != 0:
                print(f"{label} failed in round {r + 1} (exit {result.returncode})")
                return 2
            walls[label].append(result.wall_s)
            peaks[label].append(result.peak_rss)

    print()
    print(f"{'process':34} {'median s':>9} {'min s':>8} {'max s':>8} {'peak RSS MiB':>13}")
    for label in labels:
        print(f"{label:34} {median(walls[label]):9.3f} {min(walls[label]):8.3f} {max(walls[label]):8.3f} "
              f"{mib(int(median(peaks[label]))):>13}")
    print(f"(peak RSS floor, this script's own peak: {mib(own_peak_rss())} MiB)")

    a, t = "archcalc summary vgg16", "torchinfo summary (VGG-16)"
    speed = median(walls[t]) / median(walls[a])
    memory = median(peaks[t]) / median(peaks[a])
    per_round = median([x / y for x, y in zip(walls[t], walls[a])])
    print()
    print(f"wall time:   torchinfo / archcalc = {speed:.1f}x (median of per-round ratios {per_round:.1f}x)"
          f"   target >= 20x: {'met' if speed >= 20 else 'MISSED'}")
    print(f"peak memory: torchinfo / archcalc = {memory:.1f}x   target >= 10x: {'met' if memory >= 10 else 'MISSED'}")
    print()
    clean = import_check(archcalc, env)
    print(f"archcalc summary imports torch: {'no' if clean else 'YES (or the check failed)'}")
    print(f"load average at end: {load()}")
    return 0 if clean and speed >= 20 and memory >= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
