"""Every built-in spec, automatically: it loads, names its source, and its `expect:` figures hold."""

import pytest

import archcalc
from archcalc.analysis import analyze_graph, params_and_macs
from archcalc.expect import check_expectations
from archcalc.library import builtin_paths

SPECS = sorted(builtin_paths())


def test_library_is_not_empty():
    assert {"vgg16", "alexnet", "naive-inception", "bottleneck", "resnet18"} <= set(SPECS)


@pytest.mark.parametrize("name", SPECS)
def test_spec_figures_hold(name):
    graph = archcalc.load(name)
    assert graph.name == name, "a spec's `name:` must equal its file name"
    assert graph.title and graph.source, "every built-in spec names a title and a source"
    assert graph.expectations, "every built-in spec carries published figures in `expect:`"
    analysis = analyze_graph(graph)
    results = check_expectations(graph, loader=lambda overrides: archcalc.load(name, overrides=overrides),
                                 analysis=analysis)
    failed = [r.message for r in results if not r.passed]
    assert not failed, "\n".join(failed)
    # What `archcalc list` shows, computed without the rest of the analysis.
    assert params_and_macs(graph) == (analysis.totals["params"], analysis.totals["macs"])


@pytest.mark.parametrize("name", SPECS)
def test_spec_declares_a_parameter_figure(name):
    graph = archcalc.load(name)
    metrics = {e.metric for e in graph.expectations if e.node is None}
    assert metrics & {"params", "macs", "weights"}, "each spec checks at least one total figure"
