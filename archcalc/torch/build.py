"""Layer graph -> one ``torch.fx.GraphModule``, and the same network as PyTorch source.

Each graph node becomes one submodule, made by its kind's ``Op.torch_module`` (the
single definition per kind, beside its analytic rules), and one fx node, so a module
path, an fx node, a row of the analysis and an fvcore scope all refer to the same spec
node. Spec names are dotted scopes (``layer1.0.conv1``): :func:`torch_paths` keeps them
as the submodule's qualified name (nested containers), so the ``state_dict`` keys are
those of a torch model whose modules carry the same names (an imported one's), and
falls back to a flat attribute where a component cannot be one. fx variable names
cannot contain dots or shadow builtins, so :func:`torch_names` makes them safe
identifiers (``layer1_0_conv1``, ``eval_``), unique and stable.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import re
import textwrap
from contextlib import contextmanager

from archcalc.graph import Graph, Node
from archcalc.sinks import python_comment
from archcalc.torch import check_memory, require_torch, resolve_device, resolve_dtype

# Globals of fx's generated code and of the exported source; a node may not shadow them.
_CODE_GLOBALS = {"self", "torch", "nn", "F", "math", "device", "inf", "nan", "NoneType", "fx_pytree", "pytree"}


@functools.cache
def _reserved() -> frozenset[str]:
    """Names a node may not take: keywords, builtins, code globals, GraphModule attributes."""
    import builtins

    torch = require_torch()
    from torch import fx

    module = fx.GraphModule(torch.nn.Module(), fx.Graph())
    return frozenset({*keyword.kwlist, *dir(builtins), *_CODE_GLOBALS, *dir(module)})


def torch_names(graph: Graph) -> dict[int, str]:
    """Node index -> identifier used for its submodule and fx node.

    Characters other than letters, digits and ``_`` (the scope dots, dashes) become
    ``_``; a reserved name gets ``_`` behind; clashes get ``_2``, ``_3``. Spec names
    start with a letter, ``_`` or (all digits) a digit, which gets ``_`` before it, so the
    result is an identifier.
    """
    reserved = _reserved()
    used: set[str] = set()
    names: dict[int, str] = {}
    for node in graph.nodes:
        base = re.sub(r"[^0-9A-Za-z_]", "_", node.name)
        if base[:1].isdigit():  # a top-level node named by a number (a Sequential's child)
            base = "_" + base
        if base in reserved:
            base += "_"
        name, copy = base, 1
        while name in used or name in reserved:
            copy += 1
            name = f"{base}_{copy}"
        used.add(name)
        names[node.index] = name
    return names


# A submodule name torch takes (no dot, not empty); those that are not identifiers (RegNet's
# ``block1-0``) are reached with getattr / get_submodule.
_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*\Z")


@functools.cache
def _module_attributes() -> frozenset[str]:
    """Names a nested container's child may not take: nn.Module's own attributes."""
    torch = require_torch()
    return frozenset(dir(torch.nn.Module()))


def torch_paths(graph: Graph) -> dict[int, str]:
    """Node index -> qualified name of its submodule: the spec name where every component can be
    a submodule name (letters, digits, ``_`` and ``-``, not a reserved name) and no node's
    path is another's container; otherwise the node's :func:`torch_names` identifier at the top."""
    names = torch_names(graph)
    top, nested = _reserved(), _module_attributes()
    wanted = {}
    for node in graph.nodes:
        if node.op.graph_input:
            continue
        parts = node.name.split(".")
        if all(_COMPONENT.match(p) and p not in keyword.kwlist and p not in nested for p in parts) \
                and parts[0] not in top:
            wanted[node.index] = node.name
    containers = {p.rsplit(".", 1)[0] for p in wanted.values() if "." in p}
    containers = {".".join(c.split(".")[:k]) for c in containers for k in range(1, c.count(".") + 2)}
    paths = {i: p for i, p in wanted.items() if p not in containers}
    used = set(paths.values()) | containers
    for node in graph.nodes:
        if node.op.graph_input or node.index in paths:
            continue
        base, copy = names[node.index], 1
        name = base
        while name in used:
            copy += 1
            name = f"{base}_{copy}"
        used.add(name)
        paths[node.index] = name
    return paths


@contextmanager
def _factory_defaults(torch, device, dtype):
    """New parameters are created directly on ``device`` in ``dtype``: no float32 CPU copy first."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(previous)


def _fx_graph(graph: Graph, names: dict[int, str], outputs: list[Node], keep: set[int] | None = None):
    """An fx graph calling one submodule per node (those in ``keep``, or all), returning ``outputs``."""
    from torch import fx

    paths = torch_paths(graph)
    fx_graph = fx.Graph()
    values = {}
    for node in graph.nodes:
        if keep is not None and node.index not in keep:
            continue
        name = names[node.index]
        if node.op.graph_input:
            values[node.index] = fx_graph.placeholder(name)
        else:
            args = tuple(values[src.index] for src in node.inputs)
            values[node.index] = fx_graph.create_node("call_module", paths[node.index], args, name=name)
    results = [values[out.index] for out in outputs]
    fx_graph.output(results[0] if len(results) == 1 else tuple(results))
    return fx_graph


def class_name(graph: Graph) -> str:
    """``naive-inception`` -> ``NaiveInception``: the module's class name.

    A name that would start with a digit, or clash with a class the exported source
    copies in (a spec named ``add`` must not redefine ``Add``), gets ``Net`` added.
    """
    from archcalc.ops.base import TORCH_CLASSES

    words = re.split(r"[^0-9A-Za-z]+", graph.name)
    name = "".join(w[:1].upper() + w[1:] for w in words if w) or "Network"
    if name[0].isdigit():
        return "Net" + name
    return name + "Net" if name in TORCH_CLASSES else name


def build_module(
    graph: Graph,
    *,
    device="cpu",
    dtype: str = "float32",
    batch: int = 1,
    allow_large: bool = False,
    init: bool = True,
    analysis=None,
):
    """The spec as one ``torch.fx.GraphModule`` on ``device`` in ``dtype``, in eval mode.

    Every node is a submodule named by :func:`torch_names`; auxiliary outputs are
    built too (the forward returns a tuple in ``graph.outputs`` order), so the
    module holds ``params + training_only_params`` parameters. Before anything is
    allocated, the memory for the parameters and for a forward pass at ``batch`` is
    estimated and a SpecError raised if it exceeds free memory, unless ``allow_large``.
    Nodes marked ``frozen`` get ``requires_grad=False``.

    ``init=False`` skips torch's random initialisation and leaves every parameter
    and buffer at zero: building is then one memset (VGG-16 in a fraction of a
    second instead of seconds), for counting, where values do not matter.
    """
    torch = require_torch()
    from torch import fx

    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype)
    if not allow_large:
        check_memory(graph, dev, batch, dtype, analysis)
    names, paths = torch_names(graph), torch_paths(graph)
    submodules = {}
    with _factory_defaults(torch, dev if init else torch.device("meta"), torch_dtype):
        for node in graph.nodes:
            if not node.op.graph_input:
                module = node.op.torch_module(node)
                if node.frozen:
                    module.requires_grad_(False)
                submodules[paths[node.index]] = module
    fx_graph = _fx_graph(graph, names, graph.outputs)
    module = fx.GraphModule(submodules, fx_graph, class_name=class_name(graph)).eval()
    if not init:
        module.to_empty(device=dev)
        with torch.no_grad():
            for tensor in (*module.parameters(), *module.buffers()):
                tensor.zero_()
    return module


def inference_module(module, graph: Graph):
    """The network with its main output only, sharing ``module``'s submodules (no copy).

    Auxiliary heads (GoogLeNet's side classifiers) run only in training; timing
    and memory are measured on this view so they match the analytic inference
    totals, which leave those heads out.
    """
    if len(graph.outputs) < 2:
        return module
    from torch import fx

    main = graph.outputs[0]
    fx_graph = _fx_graph(graph, torch_names(graph), [main], keep=graph.ancestors(main))
    return fx.GraphModule(module, fx_graph, class_name=type(module).__name__).eval()


def input_tensor(graph: Graph, batch: int, device, dtype: str, channels_last: bool = False):
    """A random input of the spec's shape for ``batch`` images."""
    torch = require_torch()
    x = torch.randn(batch, *graph.input.shape, device=resolve_device(device), dtype=resolve_dtype(dtype))
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def parameter_check(graph: Graph, module, analysis=None) -> dict:
    """The module's parameters and buffers beside the analytic counts, over every node.

    Auxiliary heads are in the module, so the analytic side is ``params +
    training_only_params`` (the latter also given alone), and buffers and frozen parameters are summed over all
    nodes (the analytic ``buffers`` total leaves training-only nodes out).
    """
    from archcalc.torch import per_sample_analysis

    analysis = per_sample_analysis(graph, "float32") if analysis is None else analysis
    rows = analysis.layers
    measured = {
        "params": sum(p.numel() for p in module.parameters()),
        "frozen_params": sum(p.numel() for p in module.parameters() if not p.requires_grad),
        "buffers": sum(b.numel() for b in module.buffers()),
    }
    expected = {
        "params": analysis.totals["params"] + analysis.totals["training_only_params"],
        "frozen_params": sum(r.params for r in rows if not r.trainable),
        "buffers": sum(r.buffers for r in rows),
    }
    return {
        "module": measured,
        "analytic": expected,
        "matches": measured == expected,
        "training_only_params": analysis.totals["training_only_params"],
    }


# --- export -------------------------------------------------------------------


def _constructor(module) -> str:
    """Python source that constructs ``module`` again, from its ``__init__`` arguments.

    Each argument is read back from the attribute of the same name, which is how
    torch's modules and ours store them; ``bias`` is stored as a tensor or None and
    is written as a bool. Arguments equal to their default are left out, and so are arguments
    defaulting to None that are not kept (deprecated aliases such as Hardtanh's ``min_value``).
    """
    from torch import nn

    cls = type(module)
    if cls is nn.Sequential:
        return "nn.Sequential(" + ", ".join(_constructor(child) for child in module) + ")"
    args = []
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in ("device", "dtype"):
            continue
        if not hasattr(module, p.name):
            if p.default is None:
                continue
            raise TypeError(f"cannot export {cls.__name__}: argument '{p.name}' is not kept as an attribute")
        value = getattr(module, p.name)
        if p.name == "bias":
            value = value is not None
        if p.default is not p.empty and type(value) is type(p.default) and value == p.default:
            continue
        args.append(f"{p.name}={value!r}")
    prefix = "nn." if getattr(nn, cls.__name__, None) is cls else ""
    return f"{prefix}{cls.__name__}({', '.join(args)})"


def _identifiers(path: str) -> bool:
    return all(p.isidentifier() for p in path.split("."))


def _submodule(path: str) -> str:
    """Source reading the submodule at ``path``: attributes, or get_submodule past an index."""
    return f"self.{path}" if _identifiers(path) else f"self.get_submodule({path!r})"


def _attach(path: str, constructor: str) -> str:
    """Source registering ``constructor`` at ``path`` (its parent already made)."""
    if _identifiers(path):
        return f"self.{path} = {constructor}"
    parent, _, leaf = path.rpartition(".")
    owner = _submodule(parent) if parent else "self"
    return f"{owner}.add_module({leaf!r}, {constructor})"


def export_torch_source(graph: Graph) -> str:
    """Runnable PyTorch source of the module :func:`build_module` makes.

    The file needs only torch: the custom classes it uses (``TableConv2d`` ..., made with
    :func:`archcalc.ops.base.torch_class` beside their kinds) are copied in. Submodule paths match the built module's (:func:`torch_paths`), so its ``state_dict``
    loads into the exported class. The forward deletes each intermediate after its
    last use, as fx's generated code does, so the two hold the same memory.
    """
    torch = require_torch()
    from archcalc.ops.base import TORCH_CLASSES

    names = torch_names(graph)
    with torch.device("meta"):  # constructors run for their arguments only: allocate nothing
        built = {node.index: node.op.torch_module(node) for node in graph.nodes if not node.op.graph_input}
    classes: list[type] = []
    for module in built.values():
        for sub in module.modules():
            cls = type(sub)
            handle = TORCH_CLASSES.get(cls.__name__)
            if handle is not None and handle.cls is cls and cls not in classes:
                classes.append(cls)

    # Spec text enters the source only as comments (python_comment splits every line
    # break Python knows) and literals made by repr().
    lines = python_comment(graph.title or graph.name)
    lines += python_comment(f"Spec: {graph.name}" + (f" ({graph.file})" if graph.file else ""))
    lines += ["# Generated by archcalc."]
    lines += ["import math", "", "import torch", "import torch.nn.functional as F", "from torch import nn", ""]
    lines.append(f"INPUT_SHAPE = {tuple(graph.input.shape)!r}")
    for cls in classes:
        lines += ["", "", textwrap.dedent(inspect.getsource(cls)).rstrip()]
    paths = torch_paths(graph)
    lines += ["", "", f"class {class_name(graph)}(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    made = set()
    for node in graph.nodes:
        if node.op.graph_input:
            continue
        *parents, _ = paths[node.index].split(".")
        for k in range(1, len(parents) + 1):
            container = ".".join(parents[:k])
            if container not in made:
                made.add(container)
                lines.append(f"        {_attach(container, 'nn.Module()')}")
        lines.append(f"        {_attach(paths[node.index], _constructor(built[node.index]))}")
        if node.frozen:
            lines.append(f"        {_submodule(paths[node.index])}.requires_grad_(False)")

    last_use: dict[int, int] = {}
    for node in graph.nodes:
        for src in node.inputs:
            last_use[src.index] = node.index
    kept = {out.index for out in graph.outputs}
    lines += ["", f"    def forward(self, {names[graph.input.index]}):"]
    for node in graph.nodes:
        if node.op.graph_input:
            continue
        args = ", ".join(names[src.index] for src in node.inputs)
        lines.append(f"        {names[node.index]} = {_submodule(paths[node.index])}({args})")
        done = sorted({s.index for s in node.inputs if last_use[s.index] == node.index and s.index not in kept})
        if done:
            lines.append("        del " + ", ".join(names[i] for i in done))
    results = [names[out.index] for out in graph.outputs]
    lines.append("        return " + (results[0] if len(results) == 1 else "(" + ", ".join(results) + ")"))
    return "\n".join(lines) + "\n"
