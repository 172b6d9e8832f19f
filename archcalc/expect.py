"""`expect:` figures in a spec, and checking them against the computed analysis.

A figure may be exact (``params: 138357544``) or written with a unit
(``macs: 15.47G``); a figure with a unit and no explicit tolerance is allowed
the rounding of its last digit, so published figures can be copied as printed.
"""

from __future__ import annotations

import re
from typing import Any

from archcalc.errors import Location, SpecError
from archcalc.spec.yaml_loader import LList, LMap
from archcalc.suggest import did_you_mean
from archcalc.units import parse_fraction, parse_quantity

TOTAL_METRICS = (
    "params", "weights", "biases", "trainable_params", "frozen_params", "buffers",
    "training_only_params", "training_only_macs", "macs", "flops", "other_ops",
    "activations", "activation_bytes", "peak_activation_bytes", "param_bytes",
    "receptive_field", "output_shape",
)
NODE_METRICS = (
    "params", "weights", "biases", "buffers", "macs", "other_ops", "activations",
    "activation_bytes", "receptive_field", "output_shape",
)
BYTE_METRICS = {"activation_bytes", "peak_activation_bytes", "param_bytes"}
SHAPE_METRICS = {"output_shape", "receptive_field"}
ENTRY_KEYS = ("node", "tolerance", "source", "with")
_DECIMALS = re.compile(r"[-+]?\d*\.?(\d*)")


class Expectation:
    """One `expect:` figure as written, with the tolerance its rounding allows."""

    def __init__(self, metric: str, value: Any, tolerance: float, absolute: float, written: str, source: str,
                 node: str | None, overrides: dict[str, Any] | None = None, location: Location | None = None) -> None:
        self.metric = metric
        self.value = value
        self.tolerance = tolerance  # relative
        self.absolute = absolute  # allowed by the rounding of the written figure
        self.written = written
        self.source = source
        self.node = node
        self.overrides = {} if overrides is None else overrides
        self.location = location


class ExpectResult:
    """An expectation checked against the analysis."""

    def __init__(self, expectation: Expectation, actual: Any, passed: bool, message: str) -> None:
        self.expectation = expectation
        self.actual = actual
        self.passed = passed
        self.message = message


def _rounding(text: str, binary: bool) -> float:
    """Half a unit of the last written digit: '15.47G' -> 0.005e9."""
    if "e" in text.lower().replace("tib", "").replace("gib", ""):
        return 0.0
    digits = _DECIMALS.match(text.strip())
    decimals = len(digits.group(1)) if digits else 0
    unit = parse_quantity("1" + text.strip()[digits.end():], binary=binary) if digits else 1
    return 0.5 * 10**-decimals * unit


def parse_expectations(raw, loc: Location, builder) -> list[Expectation]:
    if not isinstance(raw, LList):
        builder.fail("`expect` expected a list of figures, e.g. `- {params: 138357544, source: ...}`", loc)
    result = []
    for i, entry in enumerate(raw):
        where = raw.item_loc(i)
        if not isinstance(entry, LMap):
            builder.fail("each `expect` entry is a mapping such as `{macs: 15.47G, source: ...}`", where)
        node = entry.get("node")
        allowed = NODE_METRICS if node is not None else TOTAL_METRICS
        metrics = [k for k in entry if k not in ENTRY_KEYS]
        for key in metrics:
            if key not in allowed:
                builder.fail(
                    f"cannot expect '{key}'" + (" of a node" if node is not None else "")
                    + did_you_mean(key, allowed), entry.key_loc(key),
                    hint="figures: " + ", ".join(allowed),
                )
        if len(metrics) != 1:
            builder.fail("each `expect` entry states exactly one figure", where)
        metric = metrics[0]
        value, vloc = entry[metric], entry.value_loc(metric)
        binary = metric in BYTE_METRICS
        absolute = 0.0
        if metric in SHAPE_METRICS:
            if isinstance(value, int) and metric == "receptive_field":
                value = [value, value]
            if not isinstance(value, LList) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                builder.fail(f"`{metric}` expected a list of integers", vloc)
            value = list(value)
        else:
            try:
                written = value
                value = parse_quantity(value, binary=binary)
                if isinstance(written, str):
                    absolute = _rounding(written, binary)
            except ValueError as exc:
                builder.fail(f"`{metric}`: {exc}", vloc)
        tolerance = 0.0
        if "tolerance" in entry:
            try:
                tolerance = parse_fraction(entry["tolerance"])
                absolute = 0.0
            except ValueError:
                builder.fail("`tolerance` expected a fraction such as 0.01 or '1%'", entry.value_loc("tolerance"))
        overrides = entry.get("with", {})
        if "with" in entry and not isinstance(overrides, LMap):
            builder.fail("`with` expected a mapping of variable values", entry.value_loc("with"))
        unknown = [k for k in overrides if k not in builder.graph.variables]
        if unknown:
            builder.fail(
                f"`with` sets unknown variable '{unknown[0]}'" + did_you_mean(unknown[0], builder.graph.variables),
                overrides.key_loc(unknown[0]),
            )
        for key, setting in overrides.items():
            if setting is None or isinstance(setting, (LMap, LList)):
                builder.fail(f"`with` expected a number or expression for '{key}'", overrides.value_loc(key))
        source = entry.get("source")
        if isinstance(source, str):
            builder.check_text(source, entry.value_loc("source"), "`source` of an `expect` figure", free=True)
        result.append(
            Expectation(
                metric=metric,
                value=value,
                tolerance=tolerance,
                absolute=absolute,
                written=str(entry[metric]),
                source=str(entry.get("source") or ""),
                node=None if node is None else str(node),
                overrides=dict(overrides),
                location=where,
            )
        )
    return result


def _actual(analysis, exp: Expectation):
    if exp.node is None:
        if exp.metric == "output_shape":
            return list(analysis.graph.outputs[0].shape)
        return analysis.totals[exp.metric]
    try:
        row = analysis.layer(analysis.graph.scopes.get(exp.node, exp.node))
    except KeyError:
        raise SpecError(
            f"`expect` names node '{exp.node}', which the network does not have"
            + did_you_mean(exp.node, [r.name for r in analysis.layers]),
            exp.location,
        ) from None
    return getattr(row, exp.metric)


def check_one(analysis, exp: Expectation) -> ExpectResult:
    actual = _actual(analysis, exp)
    subject = exp.metric + (f" of '{exp.node}'" if exp.node else "")
    if exp.overrides:
        subject += " with " + ", ".join(f"{k}={v}" for k, v in exp.overrides.items())
    if isinstance(exp.value, list):
        passed = actual == exp.value
        return ExpectResult(exp, actual, passed, f"{subject}: expected {exp.value}, got {actual}")
    allowed = max(abs(exp.value) * exp.tolerance, exp.absolute)
    passed = abs(actual - exp.value) <= allowed
    if passed:
        message = f"{subject}: {actual:,} matches {exp.written}"
    else:
        off = (actual - exp.value) / exp.value if exp.value else float("inf")
        message = f"{subject}: expected {exp.written}, got {actual:,} ({off:+.2%})"
    if exp.source:
        message += f" [{exp.source}]"
    return ExpectResult(exp, actual, passed, message)


def check_expectations(graph, *, batch: int = 1, dtype: str = "float32", loader=None,
                       analysis=None) -> list[ExpectResult]:
    """Check every `expect:` figure of a graph; entries with `with:` re-load the spec with those values.

    ``loader(overrides)`` rebuilds the graph with variable overrides; it is only
    called for entries that set `with:`. ``analysis`` is the graph's own at this batch and
    dtype where the caller has it already (`archcalc check`), so it is not computed twice.
    """
    from archcalc.analysis import analyze_graph

    cache: dict[tuple, Any] = {} if analysis is None else {(): analysis}
    results = []
    for exp in graph.expectations:
        key = tuple(sorted(exp.overrides.items()))
        if key not in cache:
            g = graph if not key else loader(dict(key))
            cache[key] = analyze_graph(g, batch=batch, dtype=dtype)
        results.append(check_one(cache[key], exp))
    return results
