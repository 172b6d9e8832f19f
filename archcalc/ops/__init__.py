"""Layer kinds, one class each, registered by name on import."""

from archcalc.ops import activation, conv, linear, merge, norm, pool, reshape, spatial  # noqa: F401
from archcalc.ops.base import REGISTRY, Field, Op, OpError

__all__ = ["REGISTRY", "Field", "Op", "OpError"]
