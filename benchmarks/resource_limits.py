"""Does a hostile spec stop quickly, with little memory, and with a located message?

Each case below is a spec file written to a temporary folder and run as
`archcalc summary FILE` (or `archcalc profile FILE`) in its own process (timeout 60 s).
For each the script records the wall time, the peak RSS (``os.wait4``), the exit status,
and the first line of the message, and checks that archcalc exits 1 with a located
message (``FILE:LINE:COLUMN: error: ...``, never a traceback) -- except for channel
counts of 10^12, which the analytic path computes with exact integers (exit 0, the exact
parameter count checked) and which `archcalc profile` refuses before importing torch.

Targets: each within 2 s and 200 MB (MiB here).

The cases: a YAML alias bomb (billion laughs); very deep nesting (flow lists, flow
mappings and block lists); a 50 MB spec file; ``repeat: 1000000000``; recursion between
blocks (a -> b -> a) and of a block into itself; expressions that explode
(``10 ** 10 ** 10``, a 10,000-term sum, a 400-term sum within the length limit, 300 nested
parentheses, a float overflow); integers too long to read (a 5,000-digit literal); channel
counts of 10^12 (in a layer and in the input; summary and profile); and two that multiply nodes and connections
rather than values (nested repeats, a dense repeat).

    python benchmarks/resource_limits.py
    python benchmarks/resource_limits.py --cases alias-bomb repeat-billion

Children run with their bytecode cached, as once installed (``_measure.bytecode_env``).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from _measure import archcalc_command, bytecode_env, header, load, mib, own_peak_rss, run

HEAD = "input: [3, 32, 32]\n"
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: ")


def alias_bomb(f) -> None:
    f.write('a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n')
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        f.write(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]\n")
    f.write(HEAD + "layers: [relu]\n")


def deep_flow_lists(f, depth: int = 100_000) -> None:
    f.write(HEAD + "layers: " + "[" * depth + "relu" + "]" * depth + "\n")


def deep_flow_maps(f, depth: int = 100_000) -> None:
    f.write(HEAD + "layers:\n  - conv: " + "{a: " * depth + "1" + "}" * depth + "\n")


def deep_block_lists(f, depth: int = 50_000) -> None:
    f.write(HEAD + "layers:\n  " + "- " * depth + "relu\n")


def big_file(f, megabytes: int = 50) -> None:
    f.write(HEAD + "layers:\n")
    chunk = "  - conv: {out: 16, kernel: 3, padding: 1}\n  - relu\n" * 10_000
    written = 0
    while written < megabytes * 2**20:
        f.write(chunk)
        written += len(chunk)


def repeat_billion(f) -> None:
    f.write(HEAD + "layers:\n  - repeat: 1000000000\n    layers: [relu]\n")


def block_recursion(f) -> None:
    f.write(HEAD + "blocks:\n  ping:\n    layers: [relu, pong]\n  pong:\n    layers: [relu, ping]\n"
            "layers: [ping]\n")


def block_self(f) -> None:
    f.write(HEAD + "blocks:\n  again:\n    params: [n]\n    layers:\n      - relu\n      - again: {n: \"n + 1\"}\n"
            "layers:\n  - again: {n: 0}\n")


def power_tower(f) -> None:
    f.write(HEAD + 'layers:\n  - conv: {out: "10 ** 10 ** 10", kernel: 3}\n')


def long_sum(f) -> None:
    f.write(HEAD + 'layers:\n  - conv: {out: "' + " + ".join(["1"] * 10_000) + '", kernel: 3}\n')


def parts_sum(f) -> None:
    f.write(HEAD + 'layers:\n  - conv: {out: "' + "+".join(["1"] * 400) + '", kernel: 3}\n')


def nested_parens(f) -> None:
    f.write(HEAD + 'layers:\n  - conv: {out: "' + "(" * 300 + "1" + ")" * 300 + '", kernel: 3}\n')


def float_overflow(f) -> None:
    f.write(HEAD + 'layers:\n  - conv: {out: "1e308 * 1e308", kernel: 3}\n')


def long_literal(f) -> None:
    f.write(HEAD + "layers:\n  - conv: {out: " + "7" * 5_000 + ", kernel: 3}\n")


def tera_channels(f) -> None:
    f.write(HEAD + "layers:\n  - conv: {out: 1000000000000, kernel: 3, padding: 1}\n"
            "  - conv: {out: 1000000000000, kernel: 3, padding: 1}\n")


def tera_input(f) -> None:
    f.write("input: [1000000000000, 224, 224]\nlayers:\n  - conv: {out: 1000000000000, kernel: 3}\n")


def nested_repeats(f) -> None:
    f.write(HEAD + "layers:\n  - repeat: 100000\n    layers:\n      - repeat: 100000\n        layers: [relu]\n")


def dense_repeat(f) -> None:
    f.write(HEAD + "layers:\n  - repeat: 100000\n    dense: true\n    layers: [relu]\n")


CASES = {
    "alias-bomb": (alias_bomb, "billion laughs: 9 levels of 10 aliases (10^9 values)"),
    "deep-flow-lists": (deep_flow_lists, "100,000 nested [ ]"),
    "deep-flow-maps": (deep_flow_maps, "100,000 nested { }"),
    "deep-block-lists": (deep_block_lists, "50,000 nested block lists (- - - ...)"),
    "file-50mb": (big_file, "a 50 MB spec of conv/relu lines"),
    "repeat-billion": (repeat_billion, "repeat: 1000000000"),
    "block-recursion": (block_recursion, "blocks ping -> pong -> ping"),
    "block-self": (block_self, "a block that calls itself with n + 1"),
    "power-tower": (power_tower, 'out: "10 ** 10 ** 10"'),
    "long-sum": (long_sum, "out: 1 + 1 + ... (10,000 terms, 40 KB)"),
    "parts-sum": (parts_sum, "out: 1+1+...+1 (400 terms, 799 characters)"),
    "nested-parens": (nested_parens, "out: 300 nested parentheses"),
    "float-overflow": (float_overflow, 'out: "1e308 * 1e308"'),
    "long-literal": (long_literal, "out: a 5,000-digit integer literal"),
    "tera-channels": (tera_channels, "two convs of 10^12 channels"),
    "tera-channels-profile": (tera_channels, "profile: two convs of 10^12 channels"),
    "tera-input": (tera_input, "input of 10^12 channels, conv to 10^12"),
    "nested-repeats": (nested_repeats, "repeat 100,000 inside repeat 100,000 (10^10 nodes)"),
    "dense-repeat": (dense_repeat, "dense repeat of 100,000 (5 x 10^9 connections)"),
}

# Cases the analytic path answers, with a figure of the exact answer; all others must be refused.
EXACT = {
    "tera-channels": "9,000,000,000,029,000,000,000,000",  # 3*9*10^12 + 10^12 + 10^12*9*10^12 + 10^12
    "tera-input": "9,000,000,000,001,000,000,000,000",  # 10^12*9*10^12 + 10^12
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--max-seconds", type=float, default=2.0)
    parser.add_argument("--max-mib", type=float, default=200.0)
    args = parser.parse_args(argv)
    archcalc = archcalc_command()
    failures = []
    with tempfile.TemporaryDirectory(prefix="archcalc-hostile-") as tmp, \
            bytecode_env() as (env, bytecode):
        header(f"archcalc on hostile specs: each refused with a located message (or answered exactly), "
               f"within {args.max_seconds:g} s and {args.max_mib:g} MiB")
        print(f"archcalc: {' '.join(archcalc)}; bytecode: {bytecode}")
        run([*archcalc, "summary", "vgg16"], env=env)  # warm-up: bytecode, file cache
        print()
        print(f"{'case':21} {'spec MiB':>8} {'wall s':>7} {'peak MiB':>8} {'exit':>4}  verdict  "
              "first line of the message (or of the params total)")
        for name in args.cases:
            write, what = CASES[name]
            path = Path(tmp) / f"{name}.yaml"
            with path.open("w") as f:
                write(f)
            command = "profile" if name.endswith("-profile") else "summary"
            result = run([*archcalc, command, str(path)], env=env, timeout=60)
            problems = []
            if name in EXACT:
                first = next((line for line in result.stdout.splitlines() if line.startswith("Params")), "")
                if result.returncode != 0:
                    problems.append(f"exit {result.returncode}")
                if EXACT[name] not in first:
                    problems.append(f"params not {EXACT[name]}")
            else:
                lines = result.stderr.strip().splitlines()
                first = lines[0] if lines else (result.stdout.strip().splitlines() or [""])[0]
                located = LOCATED.match(first)
                if result.returncode != 1:
                    problems.append(f"exit {result.returncode}")
                if not located or located.group("file") != str(path):
                    problems.append("no located message")
            if result.timed_out:
                problems.append("timed out")
            if "Traceback" in result.stderr:
                problems.append("traceback")
            if result.wall_s > args.max_seconds:
                problems.append(f"> {args.max_seconds:g} s")
            if result.peak_rss > args.max_mib * 2**20:
                problems.append(f"> {args.max_mib:g} MiB")
            shown = first.replace(str(path), f"{name}.yaml")
            if len(shown) > 150:
                shown = shown[:147] + "..."
            verdict = "ok" if not problems else "MISS"
            print(f"{name:21} {mib(path.stat().st_size):>8} {result.wall_s:7.2f} {mib(result.peak_rss):>8} "
                  f"{result.returncode:>4}  {verdict:7}  {shown}")
            if problems:
                failures.append(f"{name} ({what}): " + ", ".join(problems))
            path.unlink()
        print()
        print(f"(peak RSS floor, this script's own peak: {mib(own_peak_rss())} MiB)")
        print(f"load average at end: {load()}")
        if failures:
            print(f"{len(failures)} of {len(args.cases)} cases miss a target:")
            for line in failures:
                print(f"  {line}")
        else:
            print(f"all {len(args.cases)} cases met every target")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
