"""What `archcalc check` questions in a spec that builds: located warnings with stable codes.

A spec can be wrong and still analyse: a layer that feeds nothing is counted, a
stride drops the last row of pixels. :func:`lint` finds such traps in a built graph.
Checks that need the place they were written (`$in` inside a block) are made by the
builder as it goes and kept on the graph; per-kind checks are the ops' own
(:meth:`Op.warnings <archcalc.ops.base.Op.warnings>`). Every code is listed in
:data:`CODES` and documented in docs/warnings.md; a spec silences one with
`ignore: [CODE]` on a layer (or a block call, construct) or at the top level.
"""

from __future__ import annotations

import re
from collections import namedtuple

from archcalc.errors import SpecWarning
from archcalc.graph import Graph
from archcalc.spec.yaml_loader import LList, LMap


class Code(namedtuple("Code", "summary error_in_check", defaults=(False,))):
    __slots__ = ()
    summary: str
    error_in_check: bool  # `check` fails on it even without --strict


CODES = {
    "unconsumed": Code("a node feeds nothing and is not listed in `outputs:`", error_in_check=True),
    "changed-in": Code("`$in` inside a block is not the block's input channels"),
    "dropped-pixels": Code("a conv or pool reads no window over the last rows or columns"),
    "ceil-padding": Code("a ceil_mode window would start in the padding, so torch leaves it out"),
    "tensor-cores": Code("a channel count is not a multiple of 8 (with `tensor_cores: true`)"),
    "unused-var": Code("a variable of `vars:` is used nowhere"),
    "unused-block": Code("a block of `blocks:` is called nowhere"),
}
TENSOR_CORE_MULTIPLE = 8
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEXT_KEYS = ("name", "title", "source", "notes", "reference", "ignore")


def lint(graph: Graph) -> list[SpecWarning]:
    """The warnings of a built graph that the spec does not silence, in the order of the spec text.

    Findings made at one line for several nodes (a block called many times) are
    reported once, with a note naming the other nodes.
    """
    found = [*graph.warnings, *_unconsumed(graph), *_per_kind(graph)]
    if graph.tensor_cores:
        found += _tensor_cores(graph)
    if graph.spec is not None:
        found += _unused(graph.spec)
    kept: list[SpecWarning] = []
    first: dict[tuple, SpecWarning] = {}  # per code and place, the first warning kept
    also: dict[tuple, dict] = {}  # and the other nodes (or calls) it was found for
    for warning in found:
        if warning.code in graph.ignore or warning.code in graph.ignored.get(warning.node, ()):
            continue
        loc = warning.location
        key = (warning.code, loc.file, loc.line, loc.column) if loc else (warning.code, id(warning))
        if key in first and (first[key].node != warning.node or warning.node is None):
            also[key][warning.node or len(also[key])] = None
            continue
        first.setdefault(key, warning)
        also.setdefault(key, {})
        kept.append(warning)
    for key, others in also.items():
        if others:
            named = [n for n in others if isinstance(n, str)]
            shown = ": " + ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
            first[key].notes.append(f"the same {len(others)} more time{'s' if len(others) > 1 else ''} from "
                                    f"this line{shown if named else ''}")
    return sorted(kept, key=lambda w: (w.line or 0, w.column or 0))


def _unconsumed(graph: Graph):
    outputs = set(map(id, graph.outputs))
    for node in graph.nodes:
        if not node.consumers and id(node) not in outputs:
            yield SpecWarning(
                f"{node.kind} '{node.name}' feeds nothing and is not listed in `outputs:`, yet its parameters, "
                "MACs and memory count in the totals",
                node.location, node.name,
                hint="connect it (`from:`), list it in `outputs:`, remove it, or write `ignore: [unconsumed]` on it",
                code="unconsumed",
            )


def _per_kind(graph: Graph):
    for node in graph.nodes:
        for w in node.op.warnings(node):
            yield SpecWarning(w.message, node.location, node.name, w.hint, code=w.code)


def _tensor_cores(graph: Graph):
    start = graph.input
    for node in graph.nodes:
        for what, count in node.op.matmul_channels(node):
            if count % TENSOR_CORE_MULTIPLE and not (what.startswith("input") and node.inputs[0] is start):
                yield SpecWarning(
                    f"{node.kind} '{node.name}': {what} {count} is not a multiple of {TENSOR_CORE_MULTIPLE}, "
                    "so tensor cores run it padded or not at all",
                    node.location, node.name,
                    hint=f"round it to a multiple of {TENSOR_CORE_MULTIPLE} "
                    f"(`make_divisible(x, {TENSOR_CORE_MULTIPLE})`), or `ignore: [tensor-cores]` on the layer",
                    code="tensor-cores",
                )


def _unused(doc: LMap):
    """Variables no expression names and blocks no layer list calls, read from the spec text."""
    variables, blocks = doc.get("vars"), doc.get("blocks")
    if isinstance(variables, LMap) and variables:
        outside = _words((v for k, v in doc.items() if k not in ("vars", *_TEXT_KEYS)))
        used = _closure(outside, {name: _words([value]) for name, value in variables.items()})
        for name in variables:
            if name not in used:
                yield SpecWarning(
                    f"variable '{name}' is used by no expression", variables.key_loc(name),
                    hint="remove it, or write `ignore: [unused-var]` at the top level", code="unused-var",
                )
    if isinstance(blocks, LMap) and blocks:
        used = _closure(_words([doc.get("layers")], keys=True),
                        {name: _words([body], keys=True) for name, body in blocks.items()})
        for name in blocks:
            if name not in used:
                yield SpecWarning(
                    f"block '{name}' is called by no layer list", blocks.key_loc(name),
                    hint="remove it, or write `ignore: [unused-block]` at the top level", code="unused-block",
                )


def _closure(start: set[str], uses: dict[str, set[str]]) -> set[str]:
    """The names of ``uses`` that ``start`` names, directly or through other such names."""
    used, todo = set(), [n for n in uses if n in start]
    while todo:
        name = todo.pop()
        if name not in used:
            used.add(name)
            todo += [n for n in uses if n in uses[name] and n not in used]
    return used


def _words(values, keys: bool = False) -> set[str]:
    """Every identifier written in the string values (and with ``keys``, the mapping keys) below ``values``."""
    found: set[str] = set()
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            found.update(_WORD.findall(value))
        elif isinstance(value, LMap):
            if keys:
                found.update(k for k in value if isinstance(k, str))
            stack.extend(value.values())
        elif isinstance(value, LList):
            stack.extend(value)
    return found
