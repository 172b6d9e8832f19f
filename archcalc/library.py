"""The built-in specs: finding them by name, and listing them.

In a wheel the specs live in ``archcalc/specs``; in a source checkout they are the
top-level ``specs/`` folder. Names match case-insensitively and ignoring
punctuation, so ``VGG-16``, ``vgg_16`` and ``vgg16`` are the same spec.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

# os.path rather than pathlib: finding a built-in is on every command's path, and pathlib (with
# urllib.parse and ipaddress, which it imports) would add about 3 ms to each start-up.
_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGED = os.path.join(_HERE, "specs")
_CHECKOUT = os.path.join(os.path.dirname(_HERE), "specs")


def specs_dir() -> str:
    return _PACKAGED if os.path.isdir(_PACKAGED) else _CHECKOUT


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def builtin_files() -> dict[str, str]:
    """Built-in spec name (file stem) to path, sorted by name."""
    folder = specs_dir()
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".yaml") and not n.startswith("."))
    except OSError:
        return {}
    return {name[:-len(".yaml")]: os.path.join(folder, name) for name in names}


def builtin_paths() -> dict[str, Path]:
    """:func:`builtin_files` as :class:`pathlib.Path` s."""
    from pathlib import Path

    return {name: Path(path) for name, path in builtin_files().items()}


def find_builtin(name: str) -> str | None:
    wanted = normalise(name)
    for stem, path in builtin_files().items():
        if normalise(stem) == wanted:
            return path
    return None


def resolve_spec(spec: str | os.PathLike) -> str:
    """A path for a built-in name or an existing file; SpecError otherwise."""
    from archcalc.errors import SpecError
    from archcalc.suggest import did_you_mean

    path = os.fspath(spec)  # errors are located in the path as the user wrote it
    if os.path.isfile(path):
        return path
    found = find_builtin(str(spec))
    if found is not None:
        return found
    if os.path.isdir(path):
        raise SpecError(f"{spec} is a folder, not a spec file", hint="`archcalc check` takes folders")
    if os.path.exists(path):
        raise SpecError(f"{spec} is not a regular file, so not a spec file")
    if os.path.splitext(path)[1] in (".yaml", ".yml") or os.path.dirname(path):
        raise SpecError(f"no such spec file: {spec}")
    names = list(builtin_files())
    raise SpecError(
        f"'{spec}' is neither a built-in spec nor a file" + did_you_mean(str(spec), names),
        hint="`archcalc list` shows the built-in specs",
    )


def catalogue(substring: str = "") -> list[dict]:
    """Name, title, source, input, params and MACs of the built-ins matching ``substring``."""
    from archcalc.analysis import params_and_macs
    from archcalc.api import load

    wanted = substring.lower()
    entries = []
    for name, path in builtin_files().items():
        g = load(path)
        if wanted and wanted not in name.lower() and wanted not in g.title.lower():
            continue
        params, macs = params_and_macs(g)
        entries.append(
            {
                "name": name,
                "title": g.title,
                "source": g.source,
                "input": list(g.input.shape),
                "params": params,
                "macs": macs,
            }
        )
    return entries


# A SPEC argument may name a torch model (archcalc import); told apart by its text alone, so
# the analytic path decides without importing archcalc.torch.
MODEL_FILE = r"(?P<file>.+\.py):(?P<name>[A-Za-z_][A-Za-z0-9_]*)\Z"  # compiled on first use


def is_model_source(text) -> bool:
    """A SPEC argument that names a torch model (``torchvision:NAME``, ``timm:NAME``, ``file.py:NAME``)."""
    text = str(text)
    return text.startswith(("torchvision:", "timm:")) or (".py:" in text and bool(re.match(MODEL_FILE, text)))
