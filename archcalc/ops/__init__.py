"""Layer kinds, one class each, registered by name on import.

Every module of this package is imported here, so a new kind is one new file: nothing lists it.
The folder is listed with os.listdir rather than pkgutil, which would be one more module to
load on every start-up for the same answer.
"""

import importlib
import os

from archcalc.ops.base import REGISTRY, Field, Op, OpError

for _file in sorted(os.listdir(__path__[0])):  # sorted by name: a stable registry order
    if _file.endswith(".py") and _file != "__init__.py":
        importlib.import_module(f"{__name__}.{_file[:-3]}")

__all__ = ["REGISTRY", "Field", "Op", "OpError"]
