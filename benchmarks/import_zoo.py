"""Round trip over torchvision's zoo: which models `archcalc import` takes, and exactly.

For every builder in ``torchvision.models.list_models()`` of the classification and
segmentation families (``weights=None``, no backbone weights either), at its default input
size (the crop, or for segmentation the resize, of its default weights' transforms: metadata,
nothing is downloaded; the ``image_size`` a model without weights is built for, where it has
one), import it, then hold the spec to the module
(:func:`archcalc.torch.roundtrip.round_trip`): parameters, buffers and output shape equal,
conv + linear MACs equal fvcore's count, and the spec's module, loaded with the original's
state_dict (strict=True), within 1e-5 of the original's output in float64. For a model that
does not import, the table gives what stops it.

Each model runs in its own process, under a time limit: a crash, or running out of memory,
is a row of the table, not the end of the run. The import is tried first on the meta device
(no memory); a model whose float64 round trip would need more memory than ``--limit-gb``
(by default three quarters of the memory available at the start) is reported with its measured
size instead of being run.

    python benchmarks/import_zoo.py                      # writes docs/import-zoo.md
    python benchmarks/import_zoo.py --only resnet18 vgg11 --input 3x64x64 --table /tmp/zoo.md

The table is rewritten after each model, so an interrupted run leaves the models it checked;
with ``--only`` the other rows of the table are kept.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "docs" / "import-zoo.md"
STATUSES = ("imports", "differs", "stops", "too big", "fails")
# Bytes per parameter a float64 round trip holds at once: the original in float64 and the
# spec's module in float64 (8 + 8), and the original's float32 state while it is converted (4).
BYTES_PER_PARAM = 20


def models(only):
    import torchvision

    names = [(n, "classification") for n in torchvision.models.list_models(module=torchvision.models)]
    names += [(n, "segmentation") for n in torchvision.models.list_models(module=torchvision.models.segmentation)]
    return [(n, family) for n, family in names if not only or n in only]


def default_input(name: str) -> tuple[int, int, int]:
    """The input size of the model's default weights' transforms (their metadata: no download),
    unless the model built without weights is made for one size (a ViT's ``image_size``)."""
    import torch
    import torchvision

    from archcalc.torch.sources import model_from_source

    with torch.device("meta"):
        try:
            fixed = getattr(model_from_source(f"torchvision:{name}")[0], "image_size", None)
        except NotImplementedError:  # an initialisation that reads values: no fixed size either
            fixed = None
    if isinstance(fixed, int):
        return (3, fixed, fixed)
    keywords = getattr(torchvision.models.get_model_weights(name).DEFAULT.transforms, "keywords", {})
    size = keywords.get("crop_size") or keywords.get("resize_size") or 224
    size = size if isinstance(size, (tuple, list)) else (size, size)
    return (3, *size) if len(size) == 2 else (3, size[0], size[0])


def _escaped(text: str, limit: int | None = None) -> str:
    """The first line of a message, cut to ``limit`` characters before it is escaped (a cut escape
    could end the cell), as a Markdown table cell (archcalc.sinks.markdown)."""
    from archcalc.sinks import markdown

    return markdown(text.splitlines()[0][:limit]) if text else ""


def check(name: str, shape: tuple[int, ...], limit_gb: float) -> tuple[str, str]:
    """(status, figures or what stops it) for one model: runs in the child process."""
    from archcalc.errors import SpecError
    from archcalc.torch.importer import trace
    from archcalc.torch.roundtrip import round_trip
    from archcalc.torch.sources import model_from_source, shapes_only_model

    source = f"torchvision:{name}"
    try:
        model, _ = shapes_only_model(source)  # on the meta device where the builder allows: no memory
        trace(model, shape, name)
        params = sum(p.numel() for p in model.parameters())
        need = params * BYTES_PER_PARAM / 2**30
        if need > limit_gb:
            return "too big", (f"imports; params {params:,}: a float64 round trip needs about {need:.1f} GiB, "
                               f"over the {limit_gb:.1f} GiB limit of this run")
        if next(model.parameters()).is_meta:
            model, _ = model_from_source(source)
        result = round_trip(model, shape, name)
    except SpecError as exc:
        return "stops", _escaped(str(exc))
    except RuntimeError as exc:  # the spec's module does not take the state_dict, or does not run
        return "differs", _escaped(str(exc), 300)
    figures = (f"params {result.params[0]:,}; MACs {result.macs[0]:,} (fvcore {result.macs[1]:,}); "
               f"max diff {result.max_abs_difference:.1e}")
    if not result.matches:
        figures += (f"; module: params {result.params[1]:,}, buffers {result.buffers[1]:,} "
                    f"(spec {result.buffers[0]:,}), output {result.output_shape[1]} (spec {result.output_shape[0]})")
    return ("imports" if result.matches else "differs"), figures


def run_one(name: str, shape: tuple[int, ...], timeout: float, limit_gb: float) -> tuple[str, str]:
    """:func:`check` in a child process: a crash or a timeout becomes a row."""
    command = [sys.executable, __file__, "--child", name, "--input", "x".join(map(str, shape)),
               "--limit-gb", str(limit_gb)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "fails", f"not finished within the {timeout:g} s limit of this run (input {'x'.join(map(str, shape))})"
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            row = json.loads(line)
            return row["status"], row["detail"]
    killed = done.returncode < 0 and -done.returncode == 9
    why = "killed (out of memory)" if killed else f"exited with code {done.returncode}"
    last = [line for line in done.stderr.splitlines() if line.strip()][-1:] or [""]
    return "fails", _escaped(f"the check {why}: {last[0]}", 300)


def write(rows, table: Path) -> None:
    import torchvision

    counts = {status: sum(1 for r in rows if r[3] == status) for status in STATUSES}
    summary = ", ".join(f"{counts[s]} {s if s != 'imports' else 'import'}" for s in STATUSES if counts[s] or s in
                        ("imports", "differs", "stops"))
    lines = [
        "# torchvision models through `archcalc import`",
        "",
        "Generated by `python benchmarks/import_zoo.py` (torchvision " + torchvision.__version__ + "), each model "
        "at its default input size. `imports`: the spec's parameters, buffers, output shape and conv + linear MACs "
        "equal the module's (MACs as fvcore counts them), and the spec's module with the original's state_dict "
        "(strict) gives its output within 1e-5 in float64; `differs`: imported, but a figure differs; `stops`: what "
        "stops the import; `too big`: imports, but its float64 round trip does not fit this machine; `fails`: the "
        "check did not finish.",
        "",
        f"Checked {len(rows)}: {summary}.",
        "",
        "| model | family | input | result | figures, or what stops it |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {name} | {family} | {shape} | {status} | {detail} |" for name, family, shape, status, detail in rows]
    table.write_text("\n".join(lines) + "\n")


def _kept(table: Path) -> list[tuple[str, ...]]:
    """The rows of an earlier table, which a run of some models (--only) updates."""
    if not table.is_file():
        return []
    rows = []
    for line in table.read_text().splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 5 and cells[3] in STATUSES:
            rows.append(tuple(cells))
    return rows


def _available_gb() -> float:
    """The memory available now (Linux's MemAvailable), in GiB; 8 where it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 8.0


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(d) for d in text.lower().split("x"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="these models only")
    parser.add_argument("--input", type=_shape, help="one input size for every model (CxHxW), instead of each default")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per model (default 900)")
    parser.add_argument("--limit-gb", type=float, default=_available_gb() * 0.75,
                        help="memory a round trip may need (default three quarters of what is available now)")
    parser.add_argument("--table", type=Path, default=TABLE, help=f"where to write the table (default {TABLE})")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        status, detail = check(args.child, args.input, args.limit_gb)
        print(json.dumps({"status": status, "detail": detail}))
        return 0
    rows = _kept(args.table) if args.only else []
    order = {name: i for i, (name, _) in enumerate(models(None))}
    for name, family in models(args.only):
        shape = args.input or default_input(name)
        start = time.perf_counter()
        status, detail = run_one(name, shape, args.timeout, args.limit_gb)
        rows = [r for r in rows if r[0] != name] + [(name, family, "x".join(map(str, shape)), status, detail)]
        rows.sort(key=lambda row: order.get(row[0], len(order)))
        print(f"{name:32} {status:8} {time.perf_counter() - start:6.1f} s  {detail[:150]}", flush=True)
        write(rows, args.table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
