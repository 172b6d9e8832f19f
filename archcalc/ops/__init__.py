"""Layer kinds, one class each, registered by name when their module is imported.

Every module of this package but ``base`` and ``index`` holds kinds, so a new kind is one new
file: nothing lists it by hand. The modules are imported on demand (``Registry.defer``): the
table in ``index.py``, written from the modules by ``python -m archcalc.ops``, says which
module registers which names, so that `archcalc summary vgg16` imports 5 of the 13. The table
records each module's size in bytes; when a module's size or the set of modules differs from
it, the table is not used and every module is imported at once, so a table left behind by an
edit costs start-up time, never a wrong answer (and tests/test_startup.py fails until it is
written again). The folder is listed with os.listdir rather than pkgutil, which would be one
more module to load on every start-up for the same answer.
"""

import os

from archcalc.ops.base import REGISTRY, Field, Op, OpError

NOT_KINDS = ("base.py", "index.py")


def kind_files() -> dict[str, int]:
    """The kind modules' file names, sorted (the registry's order), and their sizes in bytes."""
    return {
        entry.name: entry.stat().st_size
        for entry in sorted(os.scandir(__path__[0]), key=lambda entry: entry.name)
        if entry.name.endswith(".py") and not entry.name.startswith("_") and entry.name not in NOT_KINDS
    }


def _defer() -> None:
    from archcalc.ops import index

    files = kind_files()
    fresh = files == index.FILE_BYTES
    REGISTRY.defer([f"{__name__}.{name[:-3]}" for name in files],
                   {name: f"{__name__}.{module}" for name, module in index.NAMES.items()} if fresh else None)


def index_text() -> str:
    """The text of ``index.py`` for the modules as they are now (imports every kind module)."""
    files = kind_files()
    names = {name: type(op).__module__.rpartition(".")[2] for name, op in REGISTRY.ops.items()
             if type(op).__module__.startswith(f"{__name__}.")}
    lines = [
        '"""Which module of archcalc.ops registers which layer kind names, and the size in bytes of each',
        "module when this was written (see archcalc/ops/__init__.py). Written by `python -m archcalc.ops`;",
        'do not edit."""',
        "",
        "FILE_BYTES = {",
        *(f"    {name!r}: {size}," for name, size in files.items()),
        "}",
        "NAMES = {",
        *(f"    {name!r}: {module!r}," for name, module in names.items()),
        "}",
        "",
    ]
    return "\n".join(lines)


_defer()

__all__ = ["REGISTRY", "Field", "Op", "OpError", "index_text", "kind_files"]
