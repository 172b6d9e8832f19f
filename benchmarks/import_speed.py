"""How long does `archcalc import torchvision:resnet50` take, and is `archcalc summary
torchvision:resnet50` faster than torchinfo's summary of the same model?

Whole processes, start-up included, the way a user meets them, in wall time: after one
warm-up of each, the commands alternate for ``--rounds`` rounds and the figures are medians;
the ratio is torchinfo's median over archcalc's, both measured in this run under the same load.

* import: ``archcalc import torchvision:resnet50 -o FILE --force`` (target: under 5 s), beside
  the floor every importer pays, ``python -c "import torchvision.models"``;
* archcalc: ``archcalc summary torchvision:resnet50`` (imports the model in memory, then the table);
* torchinfo: a Python process printing ``torchinfo.summary(torchvision.models.resnet50(),
  input_size=(1, 3, 224, 224))`` (target: archcalc faster, ratio above 1).

    python benchmarks/import_speed.py             # 5 rounds
    python benchmarks/import_speed.py --rounds 9

Needs torch and torchvision, and torchinfo for the comparison (without it only the import is timed).
Only the standard library is imported here, so this process stays small (see _measure.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

from _measure import archcalc_command, bytecode_env, header, load, median, run

IMPORT_TARGET_S = 5.0
TORCHINFO = ("import torchvision, torchinfo; "
             "torchinfo.summary(torchvision.models.resnet50(), input_size=(1, 3, 224, 224))")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    archcalc = archcalc_command()
    with tempfile.TemporaryDirectory() as folder, bytecode_env() as (env, bytecode):
        out = str(Path(folder) / "resnet50.yaml")
        commands = {
            "archcalc import torchvision:resnet50": [*archcalc, "import", "torchvision:resnet50", "-o", out, "--force"],
            "floor: import torchvision.models": [sys.executable, "-c", "import torchvision.models"],
            "archcalc summary torchvision:resnet50": [*archcalc, "summary", "torchvision:resnet50"],
        }
        if importlib.util.find_spec("torchinfo") is not None:
            commands["torchinfo summary (resnet50)"] = [sys.executable, "-c", TORCHINFO]
        else:
            print("torchinfo is not installed: the summary comparison is skipped")
        header(f"archcalc import and summary of torchvision resnet50: 1 warm-up + {args.rounds} rounds, medians")
        print(f"bytecode: {bytecode}")
        for label, cmd in commands.items():
            warm = run(cmd, env=env, timeout=300)
            if warm.returncode != 0:
                print(f"{label} failed (exit {warm.returncode}):\n{warm.stderr[-2000:]}")
                return 2
        wall: dict[str, list[float]] = {label: [] for label in commands}
        labels = list(commands)
        for r in range(args.rounds):
            for label in labels if r % 2 == 0 else labels[::-1]:
                wall[label].append(run(commands[label], env=env, timeout=300).wall_s)
        print(f"{'process':40} {'median s':>9} {'min s':>7} {'max s':>7}")
        for label in labels:
            print(f"{label:40} {median(wall[label]):9.2f} {min(wall[label]):7.2f} {max(wall[label]):7.2f}")
        took, floor = median(wall[labels[0]]), median(wall[labels[1]])
        print(f"import: {took:.2f} s   target < {IMPORT_TARGET_S} s: {'met' if took < IMPORT_TARGET_S else 'MISSED'}; "
              f"the import minus the floor (importing torchvision, which imports torch and torch._dynamo): {took - floor:+.2f} s")
        if "torchinfo summary (resnet50)" in wall:
            ratio = median(wall["torchinfo summary (resnet50)"]) / median(wall[labels[2]])
            print(f"torchinfo / archcalc summary = {ratio:.2f}x   target > 1: {'met' if ratio > 1 else 'MISSED'}")
        print(f"load average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
