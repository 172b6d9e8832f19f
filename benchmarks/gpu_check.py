"""The CUDA path in one call: CUDA tests, a float16 profile of ResNet-50, and training memory vs torch.

On a machine with a CUDA device this

1. installs the project with its test extra (``pip install -e ".[test]"``), nothing else
   (``--no-install`` skips it where that is done already);
2. runs every CUDA test (``pytest -m cuda``);
3. runs ``archcalc profile resnet50 --device cuda --batch 1,32 --dtype float16`` and
   prints median latency, spread, verdict and peak memory per batch;
4. runs ``archcalc memory resnet50 --batch 32`` (float32, Adam, CUDA) and compares its
   peak with ``torch.cuda.max_memory_allocated`` over a real training step (the second
   one, so Adam's state exists, as in the estimate);

and prints a compact summary, all within ``--budget`` seconds (default 300: each step
gets what the ones before left). Exit status 0 when every step passed.

On a machine without CUDA it says so, installs nothing, runs nothing, and exits 0:
CI runs it that way (tests/test_benchmarks.py) so the script stays runnable until a
GPU is there to run it for real.

    python benchmarks/gpu_check.py
    python benchmarks/gpu_check.py --no-install --budget 240
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _measure import archcalc_command

ROOT = Path(__file__).resolve().parent.parent

TRAINING_STEP = '''
import json, sys
import torch
import archcalc
from archcalc.torch.build import build_module

graph = archcalc.load("resnet50")
batch = int(sys.argv[1])
module = build_module(graph, device="cuda", batch=batch).train()
opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], foreach=True)
x = torch.randn(batch, *graph.input.shape, device="cuda")

def step():
    module(x).sum().backward()
    opt.step()
    opt.zero_grad(set_to_none=True)

step()  # Adam's state is created in the first step; the estimate holds it
torch.cuda.synchronize()
torch.cuda.reset_peak_memory_stats()
step()
torch.cuda.synchronize()
print(json.dumps({"peak": torch.cuda.max_memory_allocated(), "gpu": torch.cuda.get_device_name()}))
'''


def cuda_present() -> tuple[bool, str]:
    """Whether this machine has a CUDA device, asked without installing anything."""
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        return True, f"torch {torch.__version__} sees {torch.cuda.get_device_name()}"
    smi = shutil.which("nvidia-smi")
    if smi:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
        if listed.returncode == 0 and listed.stdout.strip():
            return True, listed.stdout.strip().splitlines()[0]
    where = "torch is not installed" if torch is None else f"torch {torch.__version__} sees no GPU"
    return False, f"{where} and nvidia-smi lists none"


class Budget:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(1.0, self.end - time.monotonic())


def step(title: str, cmd: list[str], budget: Budget, **kwargs) -> subprocess.CompletedProcess | None:
    """Run one step with the time left; None (and a line saying so) when it ran out of time."""
    began = time.monotonic()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=budget.left(), cwd=ROOT, **kwargs)
    except subprocess.TimeoutExpired:
        print(f"{title}: TIMED OUT after {time.monotonic() - began:.0f} s")
        return None
    print(f"{title}: exit {done.returncode} in {time.monotonic() - began:.0f} s")
    return done


def profile_lines(data: dict) -> list[str]:
    lines = [f"  device {data['device']['name']}, torch {data['torch_version']}, {data['dtype']}, "
             f"set-up {data['seconds']['setup']:.1f} s, timing {data['seconds']['timing']:.1f} s"]
    for entry in data["batches"]:
        lat, stab, mem = entry["latency"], entry["stability"], entry.get("memory") or {}
        measured = mem.get("measured_with_input_bytes")
        analytic = mem.get("analytic_peak_activation_bytes")
        memory = (f", memory {measured / 2**20:.0f} MiB measured vs {analytic / 2**20:.0f} MiB analytic"
                  if measured and analytic else "")
        lines.append(f"  batch {entry['batch']:>3}: median {lat['median_s'] * 1e3:.2f} ms, p10-p90 "
                     f"{lat['p10_s'] * 1e3:.2f}-{lat['p90_s'] * 1e3:.2f} ms, {lat['images_per_s']:,.0f} img/s, "
                     f"{stab['verdict']} ({stab['kind']}){memory}")
    params, flops = data["params"]["matches"], (data["flops"] or {}).get("matches")
    lines.append(f"  params match the analysis: {params}; conv/linear MACs match fvcore: {flops}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-install", action="store_true", help="skip pip install -e '.[test]'")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for everything (default 300)")
    parser.add_argument("--batch", type=int, default=32, help="batch of the training-memory check")
    args = parser.parse_args(argv)
    budget = Budget(args.budget)

    present, why = cuda_present()
    if not present:
        print(f"SKIP: no CUDA device ({why}); nothing installed, nothing run")
        return 0
    print(f"CUDA device: {why}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    failures = []
    if not args.no_install:
        done = step("install .[test]", [sys.executable, "-m", "pip", "install", "-q", "-e", ".[test]"], budget, env=env)
        if done is None or done.returncode != 0:
            failures.append("install")
            print((done.stdout + done.stderr)[-1500:] if done else "")

    done = step("CUDA tests (pytest -m cuda)", [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rs",
                                                "-p", "no:cacheprovider"], budget, env=env)
    if done is not None:
        tail = [line for line in done.stdout.splitlines() if line.strip()][-12:]
        print("\n".join(f"  {line}" for line in tail))
        last = tail[-1] if tail else ""
        if done.returncode != 0 or " passed" not in last:  # all skipped: the GPU was not used
            failures.append("cuda tests")
    else:
        failures.append("cuda tests")

    archcalc = archcalc_command()
    done = step("archcalc profile resnet50 --device cuda --batch 1,32 --dtype float16",
                [*archcalc, "profile", "resnet50", "--device", "cuda", "--batch", "1,32", "--dtype", "float16",
                 "--max-time", "5", "--format", "json"], budget, env=env)
    if done is not None and done.returncode == 0:
        print("\n".join(profile_lines(json.loads(done.stdout))))
    else:
        failures.append("profile")
        print((done.stdout + done.stderr)[-1500:] if done else "")

    estimate = step(f"archcalc memory resnet50 --batch {args.batch}",
                    [*archcalc, "memory", "resnet50", "--batch", str(args.batch), "--format", "json"], budget, env=env)
    measured = step(f"training step on the GPU (batch {args.batch}, Adam)",
                    [sys.executable, "-c", TRAINING_STEP, str(args.batch)], budget, env=env)
    if estimate is not None and estimate.returncode == 0 and measured is not None and measured.returncode == 0:
        peak = json.loads(estimate.stdout)["bytes"]["peak"]
        real = json.loads(measured.stdout.strip().splitlines()[-1])["peak"]
        print(f"  estimated peak {peak / 2**30:.2f} GiB, torch.cuda.max_memory_allocated {real / 2**30:.2f} GiB: "
              f"estimate / measured = {peak / real:.3f}")
    else:
        failures.append("memory")
        for done in (estimate, measured):
            if done is not None and done.returncode != 0:
                print((done.stdout + done.stderr)[-1500:])

    print(f"GPU check: {'all steps passed' if not failures else 'FAILED: ' + ', '.join(failures)} "
          f"({args.budget - (budget.end - time.monotonic()):.0f} s of {args.budget:.0f})")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
