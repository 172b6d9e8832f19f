"""Does `archcalc summary` scale linearly with the number of layers?

Writes specs of 1,000, 10,000 and 100,000 layers, each a plain chain of
``conv: {out: 16, kernel: 3, padding: 1}`` and ``relu`` items written out one by one
(no ``repeat:``, so the YAML reader, the builder, the analysis and the renderer all see
every layer), and times `archcalc summary` on each as a whole process, as the table
(stdout to a file) and with ``--format json``.

On a shared machine one process may run 30% slower than the next because another one
competes for the cores, so a slope taken from one run of each size says more about the
neighbours than about archcalc. The sizes are therefore interleaved: each of ``--rounds``
rounds runs every size and format once, in an order that alternates from round to round,
so that a busy minute slows every size alike. Linearity is judged in CPU time (user +
system of the child, which time spent waiting for a core does not count) on the
**fastest** run of each size: contention only ever adds time, so the fastest run is the
least disturbed. Medians are printed beside it, and their slope too, for the spread.

A 2-layer spec gives the fixed cost of a run (interpreter start-up and imports). The
log-log slope of (CPU time - fixed cost) against layers, from each size of at least
10,000 layers to the next, must be at most 1.05 (1 = linear), counting only steps that
add at least 0.3 s.

With ``--instructions`` each size is also run once under valgrind's callgrind, whose count
of executed instructions is the same however busy the machine is (about 50 times slower:
20,000 layers take a minute). Its slope shows whether the work grows linearly; the CPU
time's adds what the instructions cannot see (caches and memory growing with the spec).

Targets: 10,000 layers under 2 s (wall, fastest run); slope at most 1.05 from 10,000
layers up (CPU, fastest run).

    python benchmarks/scaling.py
    python benchmarks/scaling.py --sizes 1000 10000 --rounds 7
    python benchmarks/scaling.py --sizes 2000 20000 --rounds 1 --instructions

Children run with their bytecode cached, as once installed (``_measure.bytecode_env``).
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import subprocess
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


def instructions(cmd: list[str], env: dict) -> int | None:
    """Instructions executed by ``cmd`` under callgrind (None without valgrind)."""
    if shutil.which("valgrind") is None:
        return None
    result = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    found = re.search(r"Collected : (\d+)", result.stderr)
    return int(found.group(1)) if found else None


def slopes(points: list[tuple[int, float]], fixed: float, judge: bool) -> tuple[list[str], bool]:
    """The log-log slopes of (value - fixed) between consecutive sizes, and whether the judged ones
    (from LARGE layers up, adding at least MEASURABLE_S) are within MAX_SLOPE."""
    texts, ok = [], True
    marginal = [(n, t - fixed) for n, t in points]
    for (n0, t0), (n1, t1) in zip(marginal, marginal[1:]):
        if t0 <= 0 or t1 <= 0:
            continue
        slope = math.log(t1 / t0) / math.log(n1 / n0)
        judged = judge and n0 >= LARGE and t1 - t0 >= MEASURABLE_S
        ok = ok and (slope <= MAX_SLOPE or not judged)
        texts.append(f"{n0:,}->{n1:,} {slope:.2f}"
                     + (f" (target <= {MAX_SLOPE}: {'met' if slope <= MAX_SLOPE else 'MISSED'})" if judged else ""))
    return texts, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, each running every size once")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each size's instructions once under valgrind's callgrind")
    args = parser.parse_args(argv)
    archcalc = archcalc_command()
    formats = {"table": [], "json": ["--format", "json"]}

    with tempfile.TemporaryDirectory(prefix="archcalc-scaling-") as tmp, \
            bytecode_env() as (env, bytecode):
        folder = Path(tmp)
        header(f"archcalc summary on chains of conv/relu layers, whole processes, {args.rounds} interleaved rounds")
        print(f"archcalc: {' '.join(archcalc)}; bytecode: {bytecode}")
        sizes = sorted(set(args.sizes))
        paths = {}
        for n in [2, *sizes]:
            paths[n] = folder / f"chain{n}.yaml"
            write_chain(paths[n], n)
        print("spec files: " + ", ".join(f"{n:,} layers {mib(paths[n].stat().st_size)} MiB" for n in sizes))

        def command(n: int, fmt: str) -> list[str]:
            return [*archcalc, "summary", str(paths[n]), *formats[fmt]]

        def once(n: int, fmt: str):
            result = run(command(n, fmt), env=env, timeout=600)
            if result.returncode != 0:
                sys.exit(f"archcalc failed on {n} layers ({fmt}): {result.stderr[-2000:]}")
            return result

        cells = [(n, fmt) for n in [2, *sizes] for fmt in formats]
        for fmt in formats:  # warm-up: bytecode, file cache
            once(2, fmt)
        runs: dict[tuple[int, str], list] = {cell: [] for cell in cells}
        for r in range(args.rounds):
            for cell in cells if r % 2 == 0 else cells[::-1]:
                runs[cell].append(once(*cell))
            print(f"round {r + 1} of {args.rounds} done; load average {load()}")

        def fastest(n, fmt, what="cpu_s"):
            return min(getattr(r, what) for r in runs[(n, fmt)])

        fixed = {fmt: fastest(2, fmt) for fmt in formats}
        fixed_rss = {fmt: median(r.peak_rss for r in runs[(2, fmt)]) for fmt in formats}
        print(f"fixed cost (2-layer spec), fastest CPU: table {fixed['table']:.3f} s, json {fixed['json']:.3f} s; "
              f"peak RSS {mib(int(fixed_rss['table']))} MiB")
        print()
        print(f"{'layers':>8} {'format':6} {'fastest s':>9} {'median s':>9} {'fastest CPU s':>13} "
              f"{'median CPU s':>12} {'CPU spread':>10} {'CPU us/layer':>12} {'peak RSS MiB':>13} {'KiB/layer':>10} "
              f"{'output MiB':>11}")
        ok = True
        for n in sizes:
            for fmt in formats:
                results = runs[(n, fmt)]
                cpu, cpu_median = fastest(n, fmt), median(r.cpu_s for r in results)
                peak = median(r.peak_rss for r in results)
                out = results[0]
                check = str(f"{expected_params(n):,}") if fmt == "table" else f'"params": {expected_params(n)},'
                if check not in out.stdout_tail and check not in out.stdout:
                    print(f"  wrong output for {n} layers ({fmt}): expected params {expected_params(n):,}")
                    ok = False
                print(f"{n:>8,} {fmt:6} {fastest(n, fmt, 'wall_s'):9.3f} {median(r.wall_s for r in results):9.3f} "
                      f"{cpu:13.3f} {cpu_median:12.3f} {max(r.cpu_s for r in results) / cpu:9.2f}x "
                      f"{(cpu - fixed[fmt]) / n * 1e6:12.1f} {mib(int(peak)):>13} "
                      f"{(peak - fixed_rss[fmt]) / n / 1024:10.2f} {mib(out.stdout_bytes):>11}")
        print()
        for fmt in formats:
            judged, fmt_ok = slopes([(n, fastest(n, fmt)) for n in sizes], fixed[fmt], judge=True)
            spread, _ = slopes([(n, median(r.cpu_s for r in runs[(n, fmt)])) for n in sizes],
                               median(r.cpu_s for r in runs[(2, fmt)]), judge=False)
            ok = ok and fmt_ok
            print(f"{fmt}: log-log slope of CPU time - fixed cost, fastest runs: {', '.join(judged) or 'too small'}"
                  f"; of the medians: {', '.join(spread) or 'too small'}")
        if 10_000 in sizes:
            for fmt in formats:
                wall = fastest(10_000, fmt, "wall_s")
                ok = ok and wall < 2.0
                print(f"10,000 layers, {fmt}: {wall:.3f} s (fastest)   target < 2 s: {'met' if wall < 2.0 else 'MISSED'}")
        if args.instructions:
            print()
            for fmt in formats:
                counts = {n: instructions(command(n, fmt), env) for n in [2, *sizes]}
                if None in counts.values():
                    print("instructions: valgrind is not installed")
                    break
                shown, _ = slopes([(n, counts[n]) for n in sizes], counts[2], judge=False)
                print(f"{fmt}: instructions " + ", ".join(f"{n:,} layers {counts[n] / 1e6:,.0f}M" for n in counts)
                      + f"; log-log slope of instructions - fixed cost: {', '.join(shown) or 'too small'}")
        print(f"roughly linear and within target: {'yes' if ok else 'NO'}")
        print(f"(peak RSS floor, this script's own peak: {mib(own_peak_rss())} MiB)")
        print(f"load average at end: {load()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
