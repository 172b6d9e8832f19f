"""Resource limits that keep a hostile or mistaken spec from hanging archcalc.

Each limit has its own message and a documented default (docs/spec-format.md,
"Limits"). They are plain module-level settings: a program embedding archcalc sets
``LIMITS.max_nodes = ...``; on the command line, ``archcalc --limit max_nodes=1000000``
(or the ARCHCALC_LIMIT environment variable) does the same through :func:`set_limit`.
"""

from __future__ import annotations


class Limits:
    """The limits in force (see the module docstring); one instance, :data:`LIMITS`.

    The defaults are class attributes and :func:`set_limit` sets one on the instance: a plain
    class rather than a dataclass, which compiles its methods at every start-up (docs/decisions.md).
    """

    max_file_bytes: int = 16 * 1024 * 1024
    max_yaml_values: int = 2_000_000
    max_nesting: int = 100
    # The largest real networks have a few thousand nodes (ResNet-1202: 4,211);
    # building costs about 50 microseconds and 1 KB per node.
    max_nodes: int = 250_000
    # Inputs summed over all nodes: a dense repeat joins every earlier copy, so its
    # edges grow with the square of the count.
    max_edges: int = 1_000_000
    max_repeat: int = 100_000
    max_block_depth: int = 50
    # Layer lists inside layer lists (branches, residuals, repeats, block bodies),
    # counted across block calls; the builder recurses once per level.
    max_layer_depth: int = 100
    max_expression_chars: int = 1_000
    max_expression_nodes: int = 200
    max_integer: int = 10**18
    # Errors `archcalc check` reports from one spec before it stops reading it.
    max_errors: int = 20

    def as_dict(self) -> dict[str, int]:
        """Every limit by name, as now in force (to restore them after changing some)."""
        return {name: getattr(self, name) for name in Limits.__annotations__}


LIMITS = Limits()


def set_limit(name: str, value: int) -> None:
    """Change one limit; a ValueError names the known limits or the expected value."""
    known = list(Limits.__annotations__)
    if name not in known:
        raise ValueError(f"unknown limit '{name}'; the limits are {', '.join(known)}")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"limit {name} expected a positive integer, got {value!r}")
    setattr(LIMITS, name, value)


def raise_hint(name: str) -> str:
    """The hint of a limit's message: how to raise it, on the command line and in Python."""
    return f"to allow more, run `archcalc --limit {name}=N ...` (archcalc.limits.LIMITS.{name} in Python)"
