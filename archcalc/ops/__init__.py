"""Layer kinds, one class each, registered by name on import.

Every module of this package is imported here, so a new kind is one new file: nothing lists it.
"""

import importlib
import pkgutil

from archcalc.ops.base import REGISTRY, Field, Op, OpError

for _module in pkgutil.iter_modules(__path__):  # sorted by name: a stable registry order
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "Field", "Op", "OpError"]
