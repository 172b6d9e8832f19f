"""An imported network (:class:`archcalc.torch.importer.Imported`) as spec text.

The flat form writes every layer with the module hierarchy as named ``layers:`` groups,
so each node's dotted name is the module's qualified name; ``from:`` is written only
where a layer does not take the previous one's output, with the shortest name that
resolves to its source from where it is written.
"""

from __future__ import annotations

import yaml

from archcalc.errors import SpecError
from archcalc.sinks import python_comment
from archcalc.torch.importer import Imported


def _inline(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False).strip().removesuffix("...").strip()


def _reference(target: str, scope: list[str], known: set[str]) -> str:
    """The name that `from:` resolves to ``target`` when written inside ``scope``."""
    parts = target.split(".")
    for k in range(len(scope), -1, -1):
        if parts[:k] != scope[:k] or len(parts) <= k:
            continue
        candidate = ".".join(parts[k:])
        if not any(".".join([*scope[:j], candidate]) in known for j in range(len(scope), k, -1)):
            return candidate
    raise SpecError(f"cannot name '{target}' from inside '{'.'.join(scope)}': a nearer node has that name")


def flat_text(model: Imported, source: str) -> str:
    """The spec of ``model``, every layer written out, modules as named groups."""
    known = {layer.name for layer in model.layers}
    known |= {".".join(layer.name.split(".")[:k]) for layer in model.layers for k in range(1, layer.name.count(".") + 1)}
    lines = [*python_comment(f"Imported by archcalc from {source}."), f"name: {_inline(model.name)}",
             f"source: {_inline(source)}", f"input: {_inline(list(model.input))}", "layers:"]
    open_scopes: list[str] = []
    closed: set[str] = set()
    previous = "input"
    for layer in model.layers:
        *scope, local = layer.name.split(".")
        while open_scopes != scope[:len(open_scopes)]:
            closed.add(".".join(open_scopes))
            open_scopes.pop()
        for part in scope[len(open_scopes):]:
            path = ".".join([*open_scopes, part])
            if path in closed:
                raise SpecError(f"module '{path}' is called again after another module ran in between; "
                                "a spec scope is written once", hint="use --flat is not enough here: export the "
                                "model with that module called in one place")
            lines.append("  " * (len(open_scopes) + 1) + f"- name: {_inline(part)}")
            lines.append("  " * (len(open_scopes) + 2) + "layers:")
            open_scopes.append(part)
        args = dict(layer.args)
        args["name"] = local
        if layer.inputs != [previous]:
            refs = [_reference(src, scope, known) for src in layer.inputs]
            args["from"] = refs[0] if len(refs) == 1 else refs
        lines.append("  " * (len(open_scopes) + 1) + f"- {layer.kind}: {_inline(args)}")
        previous = layer.name
    if model.outputs and model.outputs != [previous]:
        lines.append(f"outputs: {_inline(model.outputs)}")
    return "\n".join(lines) + "\n"
