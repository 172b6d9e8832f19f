"""A 100-point sweep of ResNet-50 as one whole `archcalc sweep` process, against computing each point afresh.

The grid: 10 batch sizes x 5 input sides x 2 dtypes. The command analyses the spec once
per input and dtype and reads every batch off it (archcalc/sweep.py); the peer, in the
same run and the same (child) interpreter, loads, analyses and simulates a training step
for every point from scratch, as a loop over `summary` and `memory` would. Target: the
whole process under 2 s. Standard library only here; archcalc runs in child processes.
"""

from __future__ import annotations

import argparse
import json
import sys

from _measure import archcalc_command, bytecode_env, load, machine, median, run

PEER = """
import sys, time
import archcalc
from archcalc.devices import get_device
from archcalc.memory import estimate_memory
from archcalc.roofline import roofline
batches, sides, dtypes = eval(sys.argv[1])
device = get_device("a100")
start = time.perf_counter()
for side in sides:
    for dtype in dtypes:
        for batch in batches:
            graph = archcalc.load("resnet50", input_shape=(3, side, side))
            a = archcalc.analyze(graph, batch=batch, dtype=dtype)
            estimate_memory(graph, batch=batch, dtype=dtype).peak()
            roofline(a, device).seconds
print(time.perf_counter() - start)
"""

REUSE = """
import sys, time
from archcalc.devices import get_device
from archcalc.sweep import run_sweep
batches, sides, dtypes = eval(sys.argv[1])
start = time.perf_counter()
result = run_sweep("resnet50", batches=batches, inputs=[(3, s, s) for s in sides], dtypes=dtypes,
                   device=get_device("a100"))
assert len(result.points) == len(batches) * len(sides) * len(dtypes)
print(time.perf_counter() - start)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
    parser.add_argument("--sides", type=int, nargs="+", default=[128, 160, 192, 224, 256])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float16"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    points = len(args.batches) * len(args.sides) * len(args.dtypes)
    grid = repr((args.batches, args.sides, args.dtypes))
    command = [*archcalc_command(), "sweep", "resnet50", "--batch", ",".join(map(str, args.batches)),
               "--input", ",".join(map(str, args.sides)), "--dtype", ",".join(args.dtypes), "--format", "json"]
    print(f"machine: {machine()}; load {load()}")
    print(f"grid: {points} points ({len(args.batches)} batches x {len(args.sides)} inputs x {len(args.dtypes)} dtypes)")
    with bytecode_env() as (env, bytecode):
        print(f"bytecode: {bytecode}")
        run(command, env=env)  # warm-up: writes the bytecode
        walls, reuse, fresh = [], [], []
        for _ in range(args.repeats):
            result = run(command, env=env)
            assert result.returncode == 0, result.stderr
            assert len(json.loads(result.stdout)["points"]) == points
            walls.append(result.wall_s)
            reuse.append(float(run([sys.executable, "-c", REUSE, grid], env=env).stdout))
            fresh.append(float(run([sys.executable, "-c", PEER, grid], env=env).stdout))
    whole, inner, peer = median(walls), median(reuse), median(fresh)
    print(f"archcalc sweep, whole process: median {whole:.3f} s over {args.repeats} runs "
          f"(target < 2 s: {'met' if whole < 2 else 'NOT met'})")
    print(f"in process: the sweep {inner:.3f} s; every point afresh {peer:.3f} s; reuse is {peer / inner:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
