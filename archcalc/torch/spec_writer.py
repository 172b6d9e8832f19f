"""An imported network (:class:`archcalc.torch.importer.Imported`) as spec text.

The flat form writes every layer with the module hierarchy as named ``layers:`` groups,
so each node's dotted name is the module's qualified name; ``from:`` is written only
where a layer does not take the previous one's output, with the shortest name that
resolves to its source from where it is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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


# --- the readable form: repeated module classes as blocks ---------------------------

_ABSTRACT = (bool, int, float)  # values a block parameter may carry (strings and lists stay written)


@dataclass
class _Scope:
    path: str
    children: list = field(default_factory=list)  # Layer or _Scope, in order
    before: str = "input"  # the node the scope's first layer reads (the block input)


def _tree(model: Imported) -> _Scope:
    """The module hierarchy of the layers; a module called in two places is an error."""
    root = _Scope("")
    stack = [root]
    closed: set[str] = set()
    previous = "input"
    for layer in model.layers:
        scope = layer.name.split(".")[:-1]
        while stack[-1].path.split(".")[: len(stack) - 1] != scope[: len(stack) - 1] or len(stack) - 1 > len(scope):
            closed.add(stack.pop().path)
        for k in range(len(stack), len(scope) + 1):
            path = ".".join(scope[:k])
            if path in closed:
                raise SpecError(f"module '{path}' is called again after another module ran in between; "
                                "a spec writes each scope once")
            child = _Scope(path, before=previous)
            stack[-1].children.append(child)
            stack.append(child)
        stack[-1].children.append(layer)
        previous = layer.name
    return root


def _local(path: str, scope: str) -> str:
    return path[len(scope) + 1:] if scope else path


def _param_name(*parts: str) -> str:
    name = "_".join(p.replace(".", "_").replace("-", "_") for p in parts if p)
    return name if name[:1].isalpha() else "m" + name


def readable_text(model: Imported, source: str) -> str:
    """The spec of ``model`` with each module class whose instances repeat one structure as a
    block (the arguments that differ become its parameters), and a module whose children are
    identical calls of one block as a ``repeat``. Node names are those of :func:`flat_text`."""
    root = _tree(model)
    known = {layer.name for layer in model.layers}
    known |= {".".join(n.split(".")[:k]) for n in list(known) for k in range(1, n.count(".") + 1)}
    blocks: dict[str, tuple[dict, list]] = {}  # block name -> (params with None, template items)
    decided: dict[str, tuple[str, dict] | None] = {}  # scope path -> (block name, call args) or None
    by_signature: dict[tuple, str] = {}

    def render(scope: _Scope, relative_to: str, block_input: str | None):
        """Items of ``scope``'s children; ``block_input`` is what `$block_in` stands for (or None
        outside a block); None when a reference leaves the block."""
        items, previous = [], scope.before
        inner_known = {_local(n, relative_to) for n in known if n.startswith(relative_to + ".")} if relative_to \
            else known
        for child in scope.children:
            if isinstance(child, _Scope):
                call = decided.get(child.path)
                local = _local(child.path, scope.path).split(".")[-1]
                if call is not None and child.before == previous:
                    items.append(("call", call[0], local, call[1]))
                else:
                    sub = render(child, relative_to, block_input)
                    if sub is None:
                        return None
                    items.append(("group", local, sub))
                previous = _last(child)
                continue
            args = dict(child.args)
            args["name"] = child.name.split(".")[-1]
            if child.inputs != [previous]:
                refs = []
                for src in child.inputs:
                    if block_input is not None and src == block_input:
                        refs.append("$block_in")
                    elif relative_to and not src.startswith(relative_to + "."):
                        return None
                    else:
                        where = _local(scope.path, relative_to).split(".") if _local(scope.path, relative_to) else []
                        refs.append(_reference(_local(src, relative_to), where, inner_known))
                args["from"] = refs[0] if len(refs) == 1 else refs
            items.append(("layer", child.kind, args))
            previous = child.name
        return items

    for height in range(_height(root)):
        instances: dict[tuple, list[tuple[_Scope, list]]] = {}
        for scope in _scopes(root):
            if not scope.path or _height(scope) != height + 1:
                continue
            items = render(scope, scope.path, scope.before)
            if items is None:
                continue
            template, values = _abstract(items)
            key = (model.classes.get(scope.path, ""), repr(template))
            instances.setdefault(key, []).append((scope, values))
        for key, found in instances.items():
            if len(found) < 2:
                continue
            columns = list(zip(*(v for _, v in found)))
            varying = [i for i, column in enumerate(columns) if len(set(map(repr, column))) > 1]
            name = by_signature.get(key) or _block_name(key[0], blocks)
            by_signature[key] = name
            slots = _slots(render(found[0][0], found[0][0].path, found[0][0].before))
            params = {}
            for i in varying:
                params[_param_name(*slots[i])] = None
            template_items = _fill(_abstract(render(found[0][0], found[0][0].path, found[0][0].before))[0],
                                   columns, varying, list(params))
            blocks[name] = (params, template_items)
            for scope, values in found:
                decided[scope.path] = (name, {p: values[i] for p, i in zip(params, varying)})
    top = render(root, "", None)
    lines = [*python_comment(f"Imported by archcalc from {source}."), f"name: {_inline(model.name)}",
             f"source: {_inline(source)}", f"input: {_inline(list(model.input))}"]
    if blocks:
        lines.append("blocks:")
        for name, (params, items) in blocks.items():
            lines.append(f"  {name}:")
            if params:
                lines.append(f"    params: {_inline(params)}")
            lines.append("    layers:")
            lines += _emit(items, 3)
    lines.append("layers:")
    lines += _emit(top, 1)
    last = model.layers[-1].name if model.layers else "input"
    if model.outputs and model.outputs != [last]:
        lines.append(f"outputs: {_inline(model.outputs)}")
    return "\n".join(lines) + "\n"


def _last(scope: _Scope) -> str:
    child = scope.children[-1]
    return _last(child) if isinstance(child, _Scope) else child.name


def _scopes(scope: _Scope):
    yield scope
    for child in scope.children:
        if isinstance(child, _Scope):
            yield from _scopes(child)


def _height(scope: _Scope) -> int:
    return 1 + max((_height(c) for c in scope.children if isinstance(c, _Scope)), default=0)


def _abstract(items):
    """(items with every abstractable value replaced by a slot marker, the values in order)."""
    values = []

    def walk(item):
        kind = item[0]
        if kind == "layer":
            args = {}
            for k, v in item[2].items():
                if isinstance(v, _ABSTRACT) and k not in ("name", "from"):
                    values.append(v)
                    args[k] = "\0"
                else:
                    args[k] = v
            return ("layer", item[1], args)
        if kind == "call":
            args = {}
            for k, v in item[3].items():
                values.append(v)
                args[k] = "\0"
            return ("call", item[1], item[2], args)
        return ("group", item[1], [walk(i) for i in item[2]])

    return [walk(i) for i in items], values


def _slots(items, prefix=()):
    """The (path, argument) each abstracted value belongs to, in the order of :func:`_abstract`."""
    slots = []
    for item in items:
        if item[0] == "layer":
            slots += [(*prefix, item[2]["name"], k) for k, v in item[2].items()
                      if isinstance(v, _ABSTRACT) and k not in ("name", "from")]
        elif item[0] == "call":
            slots += [(*prefix, item[2], k) for k in item[3]]
        else:
            slots += _slots(item[2], (*prefix, item[1]))
    return slots


def _fill(template, columns, varying, names):
    """The block body: varying slots become parameter names, the others their common value."""
    counter = iter(range(len(columns)))
    params = dict(zip(varying, names))

    def value():
        i = next(counter)
        return params[i] if i in params else columns[i][0]

    def walk(item):
        if item[0] == "layer":
            return ("layer", item[1], {k: value() if v == "\0" else v for k, v in item[2].items()})
        if item[0] == "call":
            return ("call", item[1], item[2], {k: value() for k in item[3]})
        return ("group", item[1], [walk(i) for i in item[2]])

    return [walk(i) for i in template]


def _block_name(cls: str, blocks: dict) -> str:
    from archcalc.ops.base import REGISTRY

    base = re.sub(r"[^0-9A-Za-z_]", "_", cls) or "block"
    if not base[:1].isalpha():
        base = "b" + base
    name, copy = base, 1
    while name in blocks or REGISTRY.get(name) is not None or name in ("repeat", "residual", "layers"):
        copy += 1
        name = f"{base}_{copy}"
    return name


def _emit(items, depth: int) -> list[str]:
    pad = "  " * depth
    lines = []
    for item in items:
        if item[0] == "layer":
            lines.append(f"{pad}- {item[1]}: {_inline(item[2])}")
        elif item[0] == "call":
            lines.append(f"{pad}- {item[1]}: {_inline({'name': item[2], **item[3]})}")
        else:
            calls = item[2]
            if len(calls) > 1 and all(c[0] == "call" and c[1] == calls[0][1] and c[3] == calls[0][3] for c in calls) \
                    and [c[2] for c in calls] == [str(i) for i in range(len(calls))]:
                lines += [f"{pad}- repeat: {len(calls)}", f"{pad}  name: {_inline(item[1])}", f"{pad}  layers:",
                          f"{pad}    - {calls[0][1]}" + (f": {_inline(calls[0][3])}" if calls[0][3] else "")]
                continue
            lines += [f"{pad}- name: {_inline(item[1])}", f"{pad}  layers:"]
            lines += _emit(item[2], depth + 2)
    return lines
