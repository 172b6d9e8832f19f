"""The Python API every other piece uses: load a spec, analyse it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from archcalc.analysis import Analysis, analyze_graph
from archcalc.graph import Graph
from archcalc.library import resolve_spec
from archcalc.spec.builder import Builder
from archcalc.spec.yaml_loader import load_yaml, load_yaml_file


def load(
    spec: str | Path,
    *,
    overrides: Mapping[str, Any] | None = None,
    input_shape: Sequence[int] | None = None,
    all_errors: bool = False,
) -> Graph:
    """Build the layer graph of a built-in spec name or a spec file.

    The first error stops the build; with ``all_errors`` the errors confined to one
    layer are collected and raised together as :class:`~archcalc.errors.SpecErrors`.
    """
    path = resolve_spec(spec)
    return Builder(load_yaml_file(path), str(path), overrides, input_shape, all_errors).build()


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

    ``spec`` is a built-in name (``"vgg16"``), a path, or a graph from :func:`load`.
    ``overrides`` sets the spec's ``vars``; ``input_shape`` replaces its input.
    """
    graph = spec if isinstance(spec, Graph) else load(spec, overrides=overrides, input_shape=input_shape)
    if batch < 1:
        from archcalc.errors import SpecError

        raise SpecError(f"batch must be a positive integer, got {batch}")
    return analyze_graph(graph, batch=batch, dtype=dtype)
