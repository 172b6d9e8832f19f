"""Where does `archcalc summary` spend its time on a large spec, phase by phase?

Times the hot path on a generated chain of conv/relu layers (10,000 by default, the
spec of benchmarks/scaling.py), each phase separately, each repetition in a fresh
process (so no cache carries over): read the YAML (``load_yaml_file``), build the
graph (``Builder.build``), analyse it (``analyze_graph``), make the display rows
(``summary_rows``), print the table (``summary_renderable`` through a rich console,
plain and 200 wide as the CLI prints to a file or pipe), and write the JSON
(``to_json(analysis.to_dict())``). Also the whole `archcalc summary` process, table and
``--format json``. Medians of ``--repeats`` runs.

``--compare DIR`` runs the same against another checkout (for instance a
``git worktree`` of an earlier commit), alternating the two trees run by run so that
load drifting over time hits both alike, and prints the speed-up per phase.
``--profile`` prints cProfile's top functions for one run of the whole pipeline.

    python benchmarks/hot_path.py
    python benchmarks/hot_path.py --compare ../archcalc-before --repeats 9
    python benchmarks/hot_path.py --profile --layers 10000

Children run with their bytecode cached, as once installed (``_measure.bytecode_env``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _measure import bytecode_env, header, load, median, run

from scaling import write_chain

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("yaml", "build", "analyse", "rows", "table", "json")

# Run in a child: time each phase of the pipeline once and print the figures as JSON.
CHILD = r'''
import gc, io, json, sys, time
sys.path.insert(0, sys.argv[1])
path, profile = sys.argv[2], sys.argv[3] == "1"
start = time.perf_counter()
import archcalc
from archcalc.analysis import analyze_graph
from archcalc.report import formats
from archcalc.report.rows import DEFAULT_COLUMNS, summary_rows
from archcalc.report.text import summary_renderable
from archcalc.spec.builder import Builder
from archcalc.spec.yaml_loader import load_yaml_file
from rich.console import Console
imported = time.perf_counter()


def pipeline(times):
    t = time.perf_counter()
    doc = load_yaml_file(path)
    times["yaml"] = time.perf_counter() - t; t = time.perf_counter()
    graph = Builder(doc, path, None, None).build()
    times["build"] = time.perf_counter() - t; t = time.perf_counter()
    analysis = analyze_graph(graph)
    times["analyse"] = time.perf_counter() - t; t = time.perf_counter()
    rows = summary_rows(analysis)
    times["rows"] = time.perf_counter() - t; t = time.perf_counter()
    console = Console(file=io.StringIO(), width=200, no_color=True, highlight=False, force_terminal=False)
    console.print(summary_renderable(analysis, rows, DEFAULT_COLUMNS))
    times["table"] = time.perf_counter() - t; t = time.perf_counter()
    formats.to_json(analysis.to_dict())
    times["json"] = time.perf_counter() - t


times = {"import": imported - start}
if profile:
    import cProfile, pstats
    profiler = cProfile.Profile()
    profiler.runcall(pipeline, times)
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
else:
    pipeline(times)
print(json.dumps(times))
'''


def phases(root: Path, spec: Path, env, profile: bool = False) -> dict[str, float]:
    result = run([sys.executable, "-c", CHILD, str(root), str(spec), "1" if profile else "0"], env=env, timeout=600)
    if result.returncode != 0:
        sys.exit(f"the pipeline failed under {root}:\n{result.stderr[-3000:]}")
    if profile:
        print(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def whole(root: Path, spec: Path, env, fmt: str) -> float:
    code = (f"import sys; sys.path.insert(0, {str(root)!r}); from archcalc.cli import main; "
            f"main(args=['summary', {str(spec)!r}, '--format', {fmt!r}], prog_name='archcalc')")
    result = run([sys.executable, "-c", code], env=env, keep_stdout=False, timeout=600)
    if result.returncode != 0:
        sys.exit(f"archcalc summary failed under {root}:\n{result.stderr[-3000:]}")
    return result.wall_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--compare", type=Path, metavar="DIR",
                        help="another checkout (the folder holding its archcalc package) to compare with")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions for one run")
    args = parser.parse_args(argv)
    trees = {"this tree": ROOT}
    if args.compare is not None:
        if not (args.compare / "archcalc" / "__init__.py").is_file():
            sys.exit(f"{args.compare} holds no archcalc package")
        trees = {"compared": args.compare.resolve(), "this tree": ROOT}

    with tempfile.TemporaryDirectory(prefix="archcalc-hot-") as tmp, \
            bytecode_env() as (env, bytecode):
        spec = Path(tmp) / f"chain{args.layers}.yaml"
        write_chain(spec, args.layers)
        header(f"archcalc's hot path on a chain of {args.layers:,} conv/relu layers, "
               f"medians of {args.repeats} fresh processes")
        print("trees: " + "; ".join(f"{name} = {root}" for name, root in trees.items()) + f"; bytecode: {bytecode}")
        if args.profile:
            phases(ROOT, spec, env, profile=True)
            return 0
        for root in trees.values():  # warm-up: bytecode, file cache
            phases(root, spec, env)
            whole(root, spec, env, "table")
        figures: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
        for r in range(args.repeats):
            order = list(trees.items()) if r % 2 == 0 else list(trees.items())[::-1]
            for name, root in order:
                for key, value in phases(root, spec, env).items():
                    figures[name].setdefault(key, []).append(value)
                for fmt in ("table", "json"):
                    figures[name].setdefault(f"process ({fmt})", []).append(whole(root, spec, env, fmt))
        keys = ["import", *PHASES]
        medians = {name: {k: median(v) for k, v in f.items()} for name, f in figures.items()}
        for name in trees:
            medians[name]["pipeline (sum)"] = sum(medians[name][k] for k in PHASES)
        keys += ["pipeline (sum)", "process (table)", "process (json)"]
        names = list(trees)
        print()
        print(f"{'phase':18}" + "".join(f"{name + ' s':>14}" for name in names)
              + (f"{'speed-up':>10}" if len(names) == 2 else "") + f"{'us/layer':>10}")
        for key in keys:
            cells = "".join(f"{medians[name][key]:14.3f}" for name in names)
            if len(names) == 2:
                before, after = medians[names[0]][key], medians[names[1]][key]
                cells += f"{before / after:9.2f}x" if after else f"{'':>10}"
            print(f"{key:18}{cells}{medians[names[-1]][key] / args.layers * 1e6:10.1f}")
        print(f"load average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
