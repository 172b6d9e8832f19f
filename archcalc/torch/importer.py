"""A live ``nn.Module`` becomes a spec: trace it, map every call onto a layer kind.

The module is traced with ``torch.fx``, the torch classes the kinds name
(:attr:`archcalc.ops.base.Op.torch_classes`) as leaves; each call of a leaf, and each
function or tensor method a kind names (``torch_functions``), becomes one node of the
kind whose ``from_torch`` / ``from_torch_call`` gives its arguments. A node is named by
the module's qualified name (``layer1.0.conv1``), a function call by the module it is
called in and the kind (``layer1.0.add``), so that the spec's torch module
(:mod:`archcalc.torch.build`) has the original's ``state_dict`` keys. Anything no kind
computes stops the import: one :class:`ImportFailure` lists every such call, with its
count and where it occurs; the importer never writes a spec with a hole.

The traced graph is run once on fake tensors (shapes, no data): a kind then gets the constants
a call was given even where they are computed from shapes (``F.interpolate(x, size=x.shape[-2:])``),
and the parts of a call that returns several tensors (``x.chunk(2, dim=1)``) are known by their channels.
"""

from __future__ import annotations

import importlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from archcalc.errors import SpecError
from archcalc.ops.base import REGISTRY, REQUIRED, Op
from archcalc.torch import require_torch


class ImportFailure(SpecError):
    """The module cannot become a spec: what stops it, and where."""


@dataclass
class Layer:
    """One node of the imported network: its qualified name, kind, arguments and inputs."""

    name: str
    kind: str
    args: dict[str, Any]
    inputs: list[str]


@dataclass
class Imported:
    """The traced network: its input shape, layers in order, outputs and module classes by path."""

    name: str
    input: tuple[int, ...]
    layers: list[Layer]
    outputs: list[str]
    classes: dict[str, str] = field(default_factory=dict)


def _resolve(qualified: str):
    """The class or function at ``package.Name``; None where its package is not installed
    (torchvision's classes, for a user without torchvision)."""
    package, _, name = qualified.rpartition(".")
    try:
        return getattr(importlib.import_module(package), name)
    except ImportError:
        return None


def _kinds_by_class() -> dict[type, list[Op]]:
    table: dict[type, list[Op]] = defaultdict(list)
    for op in REGISTRY.kinds():
        for qualified in op.torch_classes:
            cls = _resolve(qualified)
            if cls is not None:
                table[cls].append(op)
    return table


def _kinds_by_name(attribute: str) -> dict[str, list[Op]]:
    """Kinds by the names in their ``attribute`` (``torch_functions``, ``torch_part_functions``):
    a function's or method's name ("cat"), or the qualified name of a Python function the kind
    computes as a whole ("package.module.name"), which the tracer then keeps as one call
    instead of tracing through it."""
    table: dict[str, list[Op]] = defaultdict(list)
    for op in REGISTRY.kinds():
        for name in getattr(op, attribute):
            table[name].append(op)
    return table


def _wrapped(functions) -> dict[Any, str]:
    """The Python functions named by qualified name in ``functions``, to that name."""
    found = {}
    for name in functions:
        if "." in name:
            function = _resolve(name)
            if function is not None:
                found[function] = name
    return found


def _written(op: Op, args: dict[str, Any]) -> dict[str, Any]:
    """The arguments a spec writes: those that differ from the kind's defaults."""
    defaults = {f.name: f.default for f in op.fields}
    return {k: v for k, v in args.items() if defaults.get(k, REQUIRED) is REQUIRED or defaults[k] != v}


def _tracer(leaves: dict[type, list[Op]], wrapped):
    from torch import fx

    class Tracer(fx.Tracer):
        """Leaves are the modules a kind computes; the innermost module being traced is kept,
        to name it when tracing fails."""

        def __init__(self):
            super().__init__(autowrap_functions=tuple(wrapped))
            self.inside: list[str] = []
            self.failed_in: str | None = None  # the innermost module whose forward raised

        def is_leaf_module(self, module, qualified_name):
            """Modules a kind computes, torch.nn's own, and any holding its own parameters or buffers:
            a module no kind computes is then reported by its class, not by the functions inside."""
            own = any(True for _ in module.parameters(recurse=False)) or any(True for _ in module.buffers(recurse=False))
            return type(module) in leaves or own or super().is_leaf_module(module, qualified_name)

        def call_module(self, module, forward, args, kwargs):
            self.inside.append(self.path_of_module(module))
            try:
                return super().call_module(module, forward, args, kwargs)
            except Exception:
                if self.failed_in is None:
                    self.failed_in = self.inside[-1]
                raise
            finally:
                self.inside.pop()

    return Tracer()


def _values(module, graph, input_shape, name: str) -> dict:
    """Every node's value on a (1, *input_shape) input, as fake tensors (shapes, no data) and the
    plain values computed from their shapes (sizes, counts): what an argument computed from
    ``x.shape`` is at this input."""
    torch = require_torch()
    from torch import fx
    from torch._subclasses.fake_tensor import FakeTensorMode

    values: dict = {}

    class Recorder(fx.Interpreter):
        def run_node(self, node):
            values[node] = super().run_node(node)
            return values[node]

    quiet = logging.getLogger("torch._subclasses.fake_tensor")  # logs a traceback before raising
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with FakeTensorMode(allow_non_fake_inputs=True):
            device = next((t.device for t in (*module.parameters(), *module.buffers())), "cpu")
            Recorder(fx.GraphModule(module, graph)).run(torch.empty(1, *input_shape, device=device))
    except Exception as exc:  # what the model raises at this input: a size it refuses, ...
        raise ImportFailure(
            f"cannot run {name} at input {'x'.join(map(str, input_shape))}: {str(exc).splitlines()[0]}",
            hint="give the input size the model expects with --input",
        ) from None
    finally:
        quiet.setLevel(level)
    return values


# Calls whose value may be other than one tensor: shapes and sizes, items of a tuple, parts.
_NOT_ONE_TENSOR = frozenset({"getattr", "getitem", "size", "dim", "numel", "chunk", "split", "unbind", "_assert"})


def _reads_shapes(graph) -> bool:
    """Whether any call may give something other than one tensor, so that the importer needs the
    values of the graph (:func:`_values`); a graph of module calls and tensor functions does not."""
    for node in graph.nodes:
        if node.op in ("call_function", "call_method"):
            name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
            if name in _NOT_ONE_TENSOR or isinstance(node.target, type):
                return True
    return False


def trace(module, input_shape: tuple[int, ...], name: str = "imported") -> Imported:
    """The network ``module`` computes on a (1, *input_shape) input, as kinds with arguments; the
    module is left in eval mode.

    A value computed from shapes alone (``x.shape[-2:]``, ``c // groups``, an assertion on a size)
    is what it is at this input: it enters the calls it feeds as a constant and is no layer.
    A call that returns several tensors (``x.chunk(2, dim=1)``) becomes one layer per part taken."""
    torch = require_torch()
    from torch import fx

    leaves = _kinds_by_class()
    functions = _kinds_by_name("torch_functions")
    wrapped = _wrapped(functions)
    tracer = _tracer(leaves, wrapped)
    try:
        # Traced in training mode, so that auxiliary heads (GoogLeNet's, Inception's) are calls too:
        # the spec keeps them as training-only outputs, and the module's state_dict includes them.
        graph = tracer.trace(module.train())
    except Exception as exc:  # fx raises many types: TraceError, TypeError, RuntimeError, ...
        module.eval()
        where = f"module '{tracer.failed_in}'" if tracer.failed_in else "the model's own forward"
        raise ImportFailure(
            f"cannot trace {name}: in {where}: {str(exc).splitlines()[0]}",
            hint="torch.fx cannot follow control flow that depends on tensor values; a fixed --input may "
                 "help, or move that part into a module archcalc has a kind for (a leaf)",
        ) from None
    module.eval()
    values = _values(module, graph, input_shape, name) if _reads_shapes(graph) else None
    modules = dict(module.named_modules())
    part_functions = _kinds_by_name("torch_part_functions")
    layers: list[Layer] = []
    names: dict[Any, str] = {}
    packed: dict[Any, list] = {}  # a tuple the model returns, made by calling a tuple class: its tensors
    parts: dict[Any, tuple[str, list, dict, Any]] = {}  # a call returning several tensors: its name, arguments, input
    unsupported: dict[str, list[str]] = defaultdict(list)
    taken: set[str] = {path for path in modules if path}
    used: set[str] = set()
    called_with_params: set[str] = set()
    outputs: list[str] = []

    def unique(base: str, own: bool = False) -> str:
        """``base``, or with a counter where a layer or (unless it is the module's own) a module has it."""
        candidate, copy = base, 1
        while candidate in used or (candidate in taken and not (own and copy == 1)):
            copy += 1
            candidate = f"{base}_{copy}"
        used.add(candidate)
        return candidate

    def is_tensor(node) -> bool:
        return values is None or isinstance(values.get(node), torch.Tensor)

    def tensors(args) -> list:
        found = []
        for a in args:
            if isinstance(a, fx.Node) and is_tensor(a):
                found.append(a)
            elif isinstance(a, (list, tuple)):
                found += tensors(a)
        return found

    def constant(value):
        """An argument with the values computed from shapes put in (a torch.Size as a tuple)."""
        if isinstance(value, fx.Node) and not is_tensor(value):
            value = values[value]
        if isinstance(value, (list, tuple)):
            return type(value)(constant(v) for v in value) if not isinstance(value, torch.Size) else tuple(value)
        return value

    def scope_of(node) -> str:
        stack = node.meta.get("nn_module_stack") or {}
        return next(reversed(stack.values()))[0] if stack else ""

    def call_key(node) -> str:
        if node.op == "call_method":
            return node.target
        return wrapped.get(node.target) or getattr(node.target, "__name__", str(node.target))

    for node in graph.nodes:
        if node.op == "placeholder":
            names[node] = "input"
            continue
        if node.op == "output":
            result = node.args[0]
            results = result.values() if isinstance(result, dict) else result if isinstance(result, (list, tuple)) \
                else [result]
            results = [r for v in results for r in packed.get(v, [v])]
            outputs = [names[v] for v in results if isinstance(v, fx.Node) and v in names]
            continue
        if node.op == "call_function" and isinstance(node.target, type) and issubclass(node.target, tuple):
            packed[node] = tensors(node.args) + tensors(node.kwargs.values())  # a named tuple of outputs
            continue
        inputs = tensors(node.args) + tensors(node.kwargs.values())
        if node.op == "get_attr":
            unsupported["a parameter or buffer read outside a module (get_attr)"].append(node.target)
            names[node] = node.name  # stands in, so that what follows is checked too
            continue
        value = values.get(node) if values is not None else None
        several = isinstance(value, (tuple, list)) and value and all(isinstance(v, torch.Tensor) for v in value)
        if node.op != "call_module" and not is_tensor(node) and not several:
            continue  # computed from shapes only: a constant where it is used
        if node.op == "call_module":
            sub = modules[node.target]
            described = f"{type(sub).__module__}.{type(sub).__qualname__}"
            own = [n for n, _ in (*sub.named_parameters(recurse=False), *sub.named_buffers(recurse=False))]
            if type(sub) not in leaves and own and not sub.__module__.startswith("torch.nn."):
                described += f" (holds its own {', '.join(own)})"
            found = _first(leaves.get(type(sub), ()), lambda op: op.from_torch(sub))
            where = node.target
            if any(True for _ in sub.parameters()) or any(True for _ in sub.buffers()):
                if node.target in called_with_params:
                    unsupported[f"{described} called more than once (shared weights)"].append(where)
                    continue
                called_with_params.add(node.target)
            base = node.target
        else:
            key = call_key(node)
            described = f"{'method' if node.op == 'call_method' else 'function'} {key}"
            where = scope_of(node) or "(top level)"
            args = [constant(a) for a in node.args]
            constants = [a for a in args if not isinstance(a, (fx.Node, list, tuple)) or not tensors([a])]
            leading = len(args) - len(constants)
            kwargs = {k: constant(v) for k, v in node.kwargs.items() if not (isinstance(v, fx.Node) and is_tensor(v))}
            if several:
                if key in part_functions and len(inputs) == 1 and all(tensors([a]) for a in args[:leading]):
                    parts[node] = (key, constants, kwargs, inputs[0])
                    continue
                found = None
            elif key == "getitem" and node.args[0] in parts:
                function, part_constants, part_kwargs, source = parts[node.args[0]]
                shape = tuple(values[source].shape[1:])
                found = _first(part_functions[function], lambda op: op.from_torch_part(
                    function, list(part_constants), dict(part_kwargs), args[1], shape))
                inputs = [source]
                key = function
            else:
                found = None
                if all(tensors([a]) for a in args[:leading]):
                    found = _first(functions.get(key, ()),
                                   lambda op: op.from_torch_call(key, list(constants), dict(kwargs)))
            base = ".".join(p for p in (scope_of(node), found[0].kind if found else "") if p)
        if found is None or not inputs or any(i not in names for i in inputs):
            unsupported[described].append(where)
            names[node] = node.name
            continue
        op, args = found
        layer = Layer(unique(base, node.op == "call_module"), op.kind, _written(op, args), [names[i] for i in inputs])
        names[node] = layer.name
        layers.append(layer)
    if unsupported:
        listing = "; ".join(
            f"{what} ×{len(paths)} at {', '.join(sorted(set(paths))[:6])}{', ...' if len(set(paths)) > 6 else ''}"
            for what, paths in sorted(unsupported.items())
        )
        raise ImportFailure(
            f"cannot import {name}: {len(unsupported)} operation(s) have no archcalc layer kind: {listing}",
            hint="nothing was written; a layer kind for each (archcalc/ops, see docs/spec-format.md "
                 "'Adding a layer kind') makes the import possible",
        )
    classes = {path: type(sub).__name__ for path, sub in modules.items() if path}
    return Imported(name, tuple(input_shape), layers, outputs, classes)


def _first(ops, arguments):
    """(op, args) of the first kind that computes the call, or None."""
    for op in ops:
        args = arguments(op)
        if args is not None:
            return op, args
    return None
