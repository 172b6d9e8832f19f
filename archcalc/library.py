"""The built-in specs: finding them by name, and listing them.

In a wheel the specs live in ``archcalc/specs``; in a source checkout they are the
top-level ``specs/`` folder. Names match case-insensitively and ignoring
punctuation, so ``VGG-16``, ``vgg_16`` and ``vgg16`` are the same spec.
"""

from __future__ import annotations

import re
from pathlib import Path

_PACKAGED = Path(__file__).parent / "specs"
_CHECKOUT = Path(__file__).parent.parent / "specs"


def specs_dir() -> Path:
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def builtin_paths() -> dict[str, Path]:
    """Built-in spec name (file stem) to path, sorted by name."""
    folder = specs_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def find_builtin(name: str) -> Path | None:
    wanted = normalise(name)
    for stem, path in builtin_paths().items():
        if normalise(stem) == wanted:
            return path
    return None


def resolve_spec(spec: str | Path) -> Path:
    """A path for a built-in name or an existing file; SpecError otherwise."""
    from archcalc.errors import SpecError
    from archcalc.suggest import did_you_mean

    path = Path(spec)
    if path.is_file():
        return path
    found = find_builtin(str(spec))
    if found is not None:
        return found
    if path.is_dir():
        raise SpecError(f"{spec} is a folder, not a spec file", hint="`archcalc check` takes folders")
    if path.exists():
        raise SpecError(f"{spec} is not a regular file, so not a spec file")
    if path.suffix in (".yaml", ".yml") or path.parent != Path("."):
        raise SpecError(f"no such spec file: {spec}")
    names = list(builtin_paths())
    raise SpecError(
        f"'{spec}' is neither a built-in spec nor a file" + did_you_mean(str(spec), names),
        hint="`archcalc list` shows the built-in specs",
    )


def catalogue(substring: str = "") -> list[dict]:
    """Name, title, source, input, params and MACs of the built-ins matching ``substring``."""
    from archcalc.api import analyze

    wanted = substring.lower()
    entries = []
    for name, path in builtin_paths().items():
        analysis = analyze(path)
        g = analysis.graph
        if wanted and wanted not in name.lower() and wanted not in g.title.lower():
            continue
        entries.append(
            {
                "name": name,
                "title": g.title,
                "source": g.source,
                "input": list(g.input.shape),
                "params": analysis.totals["params"],
                "macs": analysis.totals["macs"],
            }
        )
    return entries


# A SPEC argument may name a torch model (archcalc import); told apart by its text alone, so
# the analytic path decides without importing archcalc.torch.
MODEL_FILE = re.compile(r"(?P<file>.+\.py):(?P<name>[A-Za-z_][A-Za-z0-9_]*)\Z")


def is_model_source(text) -> bool:
    """A SPEC argument that names a torch model (``torchvision:NAME``, ``timm:NAME``, ``file.py:NAME``)."""
    text = str(text)
    return text.startswith(("torchvision:", "timm:")) or bool(MODEL_FILE.match(text))
