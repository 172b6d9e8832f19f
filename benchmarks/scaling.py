"""Does `archcalc summary` scale linearly with the number of layers?

Writes specs of 1,000, 10,000 and 100,000 layers, each a plain chain of
``conv: {out: 16, kernel: 3, padding: 1}`` and ``relu`` items written out one by one
(no ``repeat:``, so the YAML reader, the builder, the analysis and the renderer all see
every layer), and times `archcalc summary` on each as a whole process, as the table
(stdout to a file) and with ``--format json``: one warm-up, then the median of
``--repeats`` runs (``--large-repeats`` for 100,000 layers and more).

A 2-layer spec gives the fixed cost of a run (interpreter start-up and imports).
Linearity is judged in CPU time (user + system of the child), which a busy machine
disturbs far less than wall time (time spent waiting for a core is not counted): the
log-log slope of (CPU time - fixed cost) against layers, from each size of at least
10,000 layers to the next, must be at most 1.05 (1 = linear), counting only steps that
add at least 0.3 s. The incremental cost per layer, (t(n1) - t(n0)) / (n1 - n0), is
printed too, in wall and CPU time.

Targets: 10,000 layers under 2 s (wall); slope at most 1.05 from 10,000 layers up (CPU).

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
MAX_SLOPE = 1.05  # log-log slope of CPU time - fixed cost, from 10,000 layers up
LARGE = 10_000


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
        small = {fmt: timed(2, fmt, args.repeats) for fmt in formats}
        fixed = {fmt: median(r.wall_s for r in small[fmt]) for fmt in formats}
        fixed_cpu = {fmt: median(r.cpu_s for r in small[fmt]) for fmt in formats}
        fixed_rss = {fmt: median(r.peak_rss for r in timed(2, fmt, 3)) for fmt in formats}
        print(f"fixed cost (2-layer spec): table {fixed['table']:.3f} s ({fixed_cpu['table']:.3f} s CPU), "
              f"json {fixed['json']:.3f} s ({fixed_cpu['json']:.3f} s CPU); peak RSS {mib(int(fixed_rss['table']))} MiB")
        print()
        print(f"{'layers':>8} {'format':6} {'runs':>4} {'median s':>9} {'min s':>8} {'CPU s':>7} {'us/layer':>9} "
              f"{'incremental us/layer':>21} {'peak RSS MiB':>13} {'KiB/layer':>10} {'output MiB':>11}")
        points: dict[str, list[tuple[int, float]]] = {fmt: [(2, fixed[fmt])] for fmt in formats}
        cpu_points: dict[str, list[tuple[int, float]]] = {fmt: [(2, fixed_cpu[fmt])] for fmt in formats}
        ten_k = {}
        ok = True
        for n in sizes:
            for fmt in formats:
                repeats = args.large_repeats if n >= 100_000 else args.repeats
                results = timed(n, fmt, repeats)
                wall = median(r.wall_s for r in results)
                cpu = median(r.cpu_s for r in results)
                cpu_points[fmt].append((n, cpu))
                peak = median(r.peak_rss for r in results)
                out = results[0]
                check = str(f"{expected_params(n):,}") if fmt == "table" else f'"params": {expected_params(n)},'
                if check not in out.stdout_tail and check not in out.stdout:
                    print(f"  wrong output for {n} layers ({fmt}): expected params {expected_params(n):,}")
                    ok = False
                n0, t0 = points[fmt][-1]
                extra = (wall - t0) / (n - n0)
                points[fmt].append((n, wall))
                print(f"{n:>8,} {fmt:6} {repeats:>4} {wall:9.3f} {min(r.wall_s for r in results):8.3f} {cpu:7.3f} "
                      f"{wall / n * 1e6:9.1f} {extra * 1e6:21.1f} {mib(int(peak)):>13} "
                      f"{(peak - fixed_rss[fmt]) / n / 1024:10.2f} {mib(out.stdout_bytes):>11}")
                if n == 10_000:
                    ten_k[fmt] = wall
        print()
        for fmt in formats:
            steps = []
            for label, seen in (("wall", points[fmt]), ("CPU", cpu_points[fmt])):
                # (size, extra seconds per extra layer since the size before), for each step that
                # adds enough time to measure on a shared machine
                increments = [(n1, (t1 - t0) / (n1 - n0)) for (n0, t0), (n1, t1) in zip(seen, seen[1:])
                              if t1 - t0 >= MEASURABLE_S]
                steps += [f"{label} cost per extra layer x{c1 / c0:.2f} from the step to {n0:,} to the step to {n1:,}"
                          for (n0, c0), (n1, c1) in zip(increments, increments[1:]) if c0 > 0]
            marginal = [(n, t - fixed_cpu[fmt]) for n, t in cpu_points[fmt][1:]]
            slopes = []
            for (n0, t0), (n1, t1) in zip(marginal, marginal[1:]):
                if t0 <= 0 or t1 <= 0:
                    continue
                slope = math.log(t1 / t0) / math.log(n1 / n0)
                judged = n0 >= LARGE and t1 - t0 >= MEASURABLE_S
                ok = ok and (slope <= MAX_SLOPE or not judged)
                slopes.append(f"{n0:,}->{n1:,} {slope:.2f}"
                              + (f" (target <= {MAX_SLOPE}: {'met' if slope <= MAX_SLOPE else 'MISSED'})" if judged else ""))
            print(f"{fmt}: " + ("; ".join(steps) if steps else f"no steps of {MEASURABLE_S} s or more, too small to judge")
                  + (f"; log-log slope of CPU time - fixed cost: {', '.join(slopes)}" if slopes else ""))
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
