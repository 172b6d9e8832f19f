"""What start-up imports and defines (benchmarks/cli_speed.py measures what it costs).

The kind modules are imported on demand: `archcalc summary vgg16` needs 5 of the 13, and the
table archcalc/ops/index.py says which module registers which name. These tests hold the table
to the modules, and check what a process imports: only its spec's kinds with a current table,
every module with a stale one, and the same registry, in the same order, however the modules
came to be imported. And the records made by collections.namedtuple document their fields by
annotations, which nothing else checks.
"""

import importlib
import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import archcalc
from archcalc.ops import index_text

ROOT = Path(__file__).resolve().parents[1]
SPEC_USES = {"activation", "conv", "linear", "pool", "reshape"}
REPORT = """
import json, sys
import archcalc
from archcalc.ops import REGISTRY
graph = archcalc.load(sys.argv[1])
loaded = sorted(m[13:] for m in sys.modules if m.startswith("archcalc.ops.") and m[13:] not in ("base", "index"))
print(json.dumps({"loaded": loaded, "params": archcalc.analyze(graph).totals["params"],
                  "kinds": [op.kind for op in REGISTRY.kinds()], "names": list(REGISTRY.ops)}))
"""


def report(spec: str, path: Path = ROOT) -> dict:
    """What a fresh process that loads ``spec`` with the package at ``path`` imported and counted."""
    out = subprocess.run([sys.executable, "-c", REPORT, spec], capture_output=True, text=True, check=True,
                         cwd=path, env={"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout)


def loaded_by(spec: str) -> set[str]:
    return set(report(spec)["loaded"])


def test_the_kind_table_is_written_from_the_modules():
    written = (ROOT / "archcalc" / "ops" / "index.py").read_text(encoding="utf-8")
    assert written == index_text(), "archcalc/ops/index.py is behind the kind modules: run `python -m archcalc.ops`"


def test_a_spec_loads_only_the_kind_modules_it_uses():
    assert loaded_by("vgg16") == SPEC_USES
    assert loaded_by("dcgan-generator") == {"activation", "norm", "reshape", "transposed"}
    assert loaded_by("vit-b-16") == {"activation", "attention", "conv", "linear", "merge", "norm", "reshape", "tokens"}


def test_a_vgg16_summary_never_loads_fractions_or_attention():
    probe = ("import sys, io, contextlib; from archcalc.cli import main; sys.argv = ['archcalc', 'summary', 'vgg16']\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    try: main()\n"
             "    except SystemExit: pass\n"
             "print('fractions' in sys.modules, 'archcalc.ops.attention' in sys.modules)")
    probed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert probed.stdout.split() == ["False", "False"]


def test_a_stale_table_is_not_used(tmp_path):
    """A kind module whose size is not the table's (an edit since it was written) makes the package
    import every kind module: the spec still builds, with the same figures, and every kind is there."""
    copy = tmp_path / "archcalc"
    shutil.copytree(ROOT / "archcalc", copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "ops" / "norm.py").write_text((ROOT / "archcalc/ops/norm.py").read_text() + "\n# edited\n")
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    fresh, stale = report("vgg16"), report("vgg16", tmp_path)
    assert set(stale["loaded"]) == {p.stem for p in (ROOT / "archcalc/ops").glob("*.py")} - {"__init__", "__main__",
                                                                                            "base", "index"}
    assert stale["params"] == fresh["params"] == 138_357_544
    assert stale["kinds"] == fresh["kinds"] and stale["names"] == fresh["names"]


def test_the_registry_order_is_the_modules_order_whatever_was_loaded_first():
    """A spec of upsampling loads resample before the rest; the registry's order (the kinds table,
    `archcalc kinds`, the schema) is still by module, then by registration."""
    first = report("unet")
    vgg = report("vgg16")
    assert first["kinds"] == vgg["kinds"] and first["names"] == vgg["names"]
    modules = [type(op).__module__ for op in archcalc.ops.REGISTRY.kinds()]
    assert modules == sorted(modules, key=lambda m: (not m.startswith("archcalc.ops."), m))


def test_every_named_tuple_of_the_package_annotates_exactly_its_fields():
    """A record is ``class X(namedtuple("X", "a b")):`` with ``a: ...`` and ``b: ...`` annotated in
    its body, for the reader: the annotations must name the fields, in order."""
    records = []
    for info in pkgutil.walk_packages(archcalc.__path__, "archcalc."):
        if info.name.startswith(("archcalc.torch", "archcalc.plot")) or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == info.name and issubclass(value, tuple) \
                    and hasattr(value, "_fields"):
                records.append(value)
    assert len(records) >= 12
    for record in records:
        assert tuple(record.__dict__.get("__annotations__", {})) == record._fields, record.__qualname__
        assert record.__slots__ == (), record.__qualname__


def test_the_console_script_leaves_what_its_command_built_to_the_process_end():
    """`archcalc.cli.main` freezes once the command is done, so the exit does not traverse and free
    the graph node by node (its nodes point at each other: only the collector could); `cli`, which
    library callers and tests use, leaves the collector alone, and the same graph is garbage there."""
    run_command = ("import gc, sys, io, contextlib\nfrom archcalc.cli import cli, main\n"
                   "with contextlib.redirect_stdout(io.StringIO()):\n"
                   "    try:\n        {call}\n    except SystemExit:\n        pass\n"
                   "print(gc.collect())")
    found = {}
    for name, call in (("main", "main(['summary', 'resnet152'])"), ("cli", "cli.main(['summary', 'resnet152'])")):
        out = subprocess.run([sys.executable, "-c", run_command.format(call=call)], capture_output=True, text=True,
                             cwd=ROOT, check=True)
        found[name] = int(out.stdout.split()[-1])
    assert found["main"] == 0
    assert found["cli"] > 1000  # the cycles of the graph resnet152's summary built
