"""How well the roofline predicts this CPU: `archcalc calibrate`, then `profile --per-layer`.

For each network at batch 8: the Spearman rank correlation between the predicted and the
measured time of each layer (does the roofline order the layers right?), and measured /
predicted for the whole network (the calibration factor: what the roofline misses, such as
kernels below peak, launch overhead and caches). Calibration goes to a temporary
ARCHCALC_CONFIG, so the user's own is never touched. Needs torch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from _measure import archcalc_command, load, machine, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--specs", nargs="+", default=["resnet50", "mobilenet-v2"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per layer (median)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for calibrating and timing alike (1: steady on a shared machine)")
    parser.add_argument("--input", help="replace the specs' input shape (CxHxW), for a quick run")
    parser.add_argument("--calibrate-size", type=int, default=2048, help="`archcalc calibrate --size`")
    parser.add_argument("--calibrate-copy-mib", type=int, default=256, help="`archcalc calibrate --copy-mib`")
    args = parser.parse_args(argv)
    archcalc = archcalc_command()
    print(f"machine: {machine()}; load {load()}")
    with tempfile.TemporaryDirectory(prefix="archcalc-roofline-") as tmp:
        env = {**os.environ, "ARCHCALC_CONFIG": str(Path(tmp) / "calibration.json")}
        calibration = run([*archcalc, "calibrate", "--size", str(args.calibrate_size), "--copy-mib",
                           str(args.calibrate_copy_mib), "--threads", str(args.threads)], env=env, timeout=600)
        assert calibration.returncode == 0, calibration.stderr
        print(calibration.stdout.strip())
        for spec in args.specs:
            command = [*archcalc, "profile", spec, "--per-layer", "--batch", str(args.batch), "--repeat",
                       str(args.repeat), "--threads", str(args.threads), "--format", "json",
                       *(["--input", args.input] if args.input else [])]
            result = run(command, env=env, timeout=1800)
            assert result.returncode == 0, result.stderr
            data = json.loads(result.stdout)
            print(f"{spec} batch {args.batch}: {len(data['layers'])} layers; Spearman {data['spearman']:.2f}; "
                  f"predicted {data['predicted_s'] * 1e3:.1f} ms, measured {data['measured_s'] * 1e3:.1f} ms, "
                  f"predicted / measured {data['predicted_s'] / data['measured_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
