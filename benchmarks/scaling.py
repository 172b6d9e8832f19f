"""Does `archcalc summary` scale linearly with the number of layers?

Writes specs of 1,000, 10,000 and 100,000 layers, each a plain chain of
``conv: {out: 16, kernel: 3, padding: 1}`` and ``relu`` items written out one by one
(no ``repeat:``, so the YAML reader, the builder, the analysis and the renderer all see
every layer), and times `archcalc summary` on each as a whole process, as the table
(stdout to a file) and with ``--format json``: one warm-up, then the median of
``--repeats`` runs (``--large-repeats`` for 100,000 layers and more).

A 2-layer spec gives the fixed cost of a run (interpreter start-up and imports). The
incremental cost per layer is the extra time per extra layer from the size before
(from the 2-layer spec for the first size): (t(n1) - t(n0)) / (n1 - n0). Roughly linear
means that the incremental cost per layer grows by less than 1.5x from one step to the
next, counting only steps that add at least 0.3 s (smaller ones drown in the noise of a
shared machine: from 2 to 1,000 layers adds about 0.1 s); the log-log slope of
(time - fixed cost) against layers is printed too (1 = linear).

Target: 10,000 layers under 2 s.

    python benchmarks/scaling.py
    python benchmarks/scaling.py --sizes 1000 10000 --repeats 7

Children run with their bytecode cached, as once installed (``_measure.bytecode_env``).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from _measure import archcalc_command, bytecode_env, header, load, median, mib, own_peak_rss, run

CONV = "  - conv: {out: 16, kernel: 3, padding: 1}\n  - relu\n"
MEASURABLE_S = 0.3  # a step between sizes counts for linearity if it adds at least this much


def write_chain(path: Path, layers: int) -> None:
    """A spec of ``layers`` items (conv, relu, conv, relu, ...), written in pieces."""
    pairs, odd = divmod(layers, 2)
    with path.open("w") as f:
        f.write(f"name: chain-{layers}\ntitle: {layers:,} layers, conv and relu\ninput: [16, 32, 32]\nlayers:\n")
        for start in range(0, pairs, 1000):
            f.write(CONV * min(1000, pairs - start))
        if odd:
            f.write("  - conv: {out: 16, kernel: 3, padding: 1}\n")


def expected_params(layers: int) -> int:
    return (layers - layers // 2) * (16 * 16 * 9 + 16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per size and format")
    parser.add_argument("--large-repeats", type=int, default=3, help="timed runs for 100,000 layers and more")
    args = parser.parse_args(argv)
    archcalc = archcalc_command()
    formats = {"table": [], "json": ["--format", "json"]}

    with tempfile.TemporaryDirectory(prefix="archcalc-scaling-") as tmp, \
            bytecode_env() as (env, bytecode):
        folder = Path(tmp)
        header("archcalc summary on chains of conv/relu layers, whole processes, medians")
        print(f"archcalc: {' '.join(archcalc)}; bytecode: {bytecode}")
        sizes = sorted(set(args.sizes))
        paths = {}
        for n in [2, *sizes]:
            paths[n] = folder / f"chain{n}.yaml"
            write_chain(paths[n], n)
        print("spec files: " + ", ".join(f"{n:,} layers {mib(paths[n].stat().st_size)} MiB" for n in sizes))

        def timed(n: int, fmt: str, repeats: int):
            results = []
            for _ in range(repeats):
                result = run([*archcalc, "summary", str(paths[n]), *formats[fmt]], env=env, timeout=600)
                if result.returncode != 0:
                    sys.exit(f"archcalc failed on {n} layers ({fmt}): {result.stderr[-2000:]}")
                results.append(result)
            return results

        for fmt in formats:  # warm-up: bytecode, file cache
            timed(2, fmt, 1)
        fixed = {fmt: median(r.wall_s for r in timed(2, fmt, args.repeats)) for fmt in formats}
        fixed_rss = {fmt: median(r.peak_rss for r in timed(2, fmt, 3)) for fmt in formats}
        print(f"fixed cost (2-layer spec): table {fixed['table']:.3f} s, json {fixed['json']:.3f} s; "
              f"peak RSS {mib(int(fixed_rss['table']))} MiB")
        print()
        print(f"{'layers':>8} {'format':6} {'runs':>4} {'median s':>9} {'min s':>8} {'us/layer':>9} "
              f"{'incremental us/layer':>21} {'peak RSS MiB':>13} {'KiB/layer':>10} {'output MiB':>11}")
        points: dict[str, list[tuple[int, float]]] = {fmt: [(2, fixed[fmt])] for fmt in formats}
        ten_k = {}
        ok = True
        for n in sizes:
            for fmt in formats:
                repeats = args.large_repeats if n >= 100_000 else args.repeats
                results = timed(n, fmt, repeats)
                wall = median(r.wall_s for r in results)
                peak = median(r.peak_rss for r in results)
                out = results[0]
                check = str(f"{expected_params(n):,}") if fmt == "table" else f'"params": {expected_params(n)},'
                if check not in out.stdout_tail and check not in out.stdout:
                    print(f"  wrong output for {n} layers ({fmt}): expected params {expected_params(n):,}")
                    ok = False
                n0, t0 = points[fmt][-1]
                extra = (wall - t0) / (n - n0)
                points[fmt].append((n, wall))
                print(f"{n:>8,} {fmt:6} {repeats:>4} {wall:9.3f} {min(r.wall_s for r in results):8.3f} "
                      f"{wall / n * 1e6:9.1f} {extra * 1e6:21.1f} {mib(int(peak)):>13} "
                      f"{(peak - fixed_rss[fmt]) / n / 1024:10.2f} {mib(out.stdout_bytes):>11}")
                if n == 10_000:
                    ten_k[fmt] = wall
        print()
        for fmt, seen in points.items():
            steps = []
            # (size, extra seconds per extra layer since the size before), for each step that
            # adds enough time to measure on a shared machine (run-to-run noise is ~0.05 s)
            increments = [(n1, (t1 - t0) / (n1 - n0)) for (n0, t0), (n1, t1) in zip(seen, seen[1:])
                          if t1 - t0 >= MEASURABLE_S]
            for (n0, c0), (n1, c1) in zip(increments, increments[1:]):
                growth = c1 / c0 if c0 > 0 else math.inf
                steps.append(f"incremental cost per layer x{growth:.2f} from the step to {n0:,} to the step to {n1:,}")
                ok = ok and growth < 1.5
            marginal = [(n, t - fixed[fmt]) for n, t in seen[1:]]
            slopes = [f"{n0:,}->{n1:,} {math.log(t1 / t0) / math.log(n1 / n0):.2f}"
                      for (n0, t0), (n1, t1) in zip(marginal, marginal[1:]) if t0 > 0 and t1 > 0]
            print(f"{fmt}: " + ("; ".join(steps) if steps else f"fewer than two steps of {MEASURABLE_S} s or more, too small to judge")
                  + (f"; log-log slope of time - fixed cost: {', '.join(slopes)}" if slopes else ""))
        for fmt, wall in ten_k.items():
            met = wall < 2.0
            ok = ok and met
            print(f"10,000 layers, {fmt}: {wall:.3f} s   target < 2 s: {'met' if met else 'MISSED'}")
        print(f"roughly linear and within target: {'yes' if ok else 'NO'}")
        print(f"(peak RSS floor, this script's own peak: {mib(own_peak_rss())} MiB)")
        print(f"load average at end: {load()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
