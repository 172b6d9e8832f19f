"""The Python API every other piece uses: load a spec, analyse it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from archcalc.analysis import Analysis, analyze_graph
from archcalc.graph import Graph
from archcalc.library import is_model_source, resolve_spec
from archcalc.spec.builder import Builder
from archcalc.spec.yaml_loader import load_yaml, load_yaml_file

if TYPE_CHECKING:
    from pathlib import Path


def load(
    spec: str | Path | Any,
    *,
    overrides: Mapping[str, Any] | None = None,
    input_shape: Sequence[int] | None = None,
    all_errors: bool = False,
) -> Graph:
    """Build the layer graph of a built-in spec name or a spec file.

    The first error stops the build; with ``all_errors`` the errors confined to one
    layer are collected and raised together as :class:`~archcalc.errors.SpecErrors`.
    """
    if is_model_source(spec) or not isinstance(spec, (str, os.PathLike)):
        return load_model(spec, input_shape=input_shape)
    path = resolve_spec(spec)
    return Builder(load_yaml_file(path), path, overrides, input_shape, all_errors).build()


def load_model(model, input_shape: Sequence[int] | None = None, *, name: str | None = None) -> Graph:
    """The layer graph of a torch model, imported in memory (archcalc.torch.importer): an
    ``nn.Module`` or a model source (``torchvision:resnet50``, ``path/file.py:Net``), traced at
    ``input_shape`` (C, H, W; default 3x224x224). Imports torch; specs never do."""
    from archcalc.torch.importer import trace
    from archcalc.torch.sources import DEFAULT_INPUT, import_source
    from archcalc.torch.spec_writer import flat_text

    shape = tuple(input_shape or DEFAULT_INPUT)
    if isinstance(model, (str, os.PathLike)):
        return load_text(import_source(str(model), shape), str(model))
    label = name or type(model).__name__
    return load_text(flat_text(trace(model, shape, label), f"the nn.Module {label}"), label)


def load_text(
    text: str,
    name: str = "<spec>",
    *,
    overrides: Mapping[str, Any] | None = None,
    input_shape: Sequence[int] | None = None,
    all_errors: bool = False,
) -> Graph:
    """Build the layer graph of spec text (errors are located in ``name``)."""
    return Builder(load_yaml(text, name), name, overrides, input_shape, all_errors).build()


def analyze(
    spec: str | Path | Graph,
    *,
    batch: int = 1,
    dtype: str = "float32",
    overrides: Mapping[str, Any] | None = None,
    input_shape: Sequence[int] | None = None,
) -> Analysis:
    """Shapes, parameters, MACs, memory and receptive fields of a spec.

    ``spec`` is a built-in name (``"vgg16"``), a path, a model source (``"torchvision:resnet50"``),
    a graph from :func:`load`, or an ``nn.Module`` (imported by :func:`load_model` at ``input_shape``).
    ``overrides`` sets the spec's ``vars``; ``input_shape`` replaces its input.
    """
    graph = spec if isinstance(spec, Graph) else load(spec, overrides=overrides, input_shape=input_shape)
    if batch < 1:
        from archcalc.errors import SpecError

        raise SpecError(f"batch must be a positive integer, got {batch}")
    return analyze_graph(graph, batch=batch, dtype=dtype)
