"""Receptive fields against autograd on every built-in spec, and through global operations.

Each spec is read at the smallest square input it accepts (its own input when smaller); six
nodes per spec (two where the input must stay large), evenly spread, are probed at a centre and
two corners, all in one batch (tests/oracles.py). float32 is enough here: weights and
inputs are positive, so nothing cancels.
"""

import pytest

import archcalc
from archcalc.errors import SpecError
from archcalc.library import builtin_paths

torch = pytest.importorskip("torch")

import oracles  # noqa: E402

SPECS = sorted(builtin_paths())
SIZES = (32, 48, 64, 80, 96, 128, 160, 188, 224, 299)  # 188: the smallest U-Net tile

SE_TOY = """
input: [8, 32, 32]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, name: c1}
  - multiply: [[], [global_avgpool, conv: {out: 8, kernel: 1}, sigmoid]]
  - conv: {out: 8, kernel: 3, padding: 1, name: c2}
  - multiply: [[], [global_avgpool, conv: {out: 8, kernel: 1}, sigmoid]]
  - conv: {out: 8, kernel: 3, padding: 1, name: c3}
"""


def smallest(name):
    """The spec at the smallest square input that builds (or its own, if not an image or smaller)."""
    graph = archcalc.load(name)
    shape = graph.input.shape
    if len(shape) != 3:
        return graph
    for size in SIZES:
        if size >= max(shape[1:]):
            return graph
        try:
            return archcalc.load(name, input_shape=(shape[0], size, size))
        except SpecError:
            continue
    return graph


@pytest.mark.parametrize("name", SPECS)
def test_builtin_spec_receptive_fields_match_autograd(name):
    graph = smallest(name)
    large = len(graph.input.shape) == 3 and max(graph.input.shape[1:]) > 128  # Inception-v3's side head needs 299
    probes = oracles.probe_receptive_fields(graph, dtype=torch.float32, limit=2 if large else 6)
    assert probes
    assert all(p.agrees for p in probes), [p for p in probes if not p.agrees][:3]


def test_a_gate_adds_global_context_not_size():
    """The issue's reproducer: the SE gate's (C, 1, 1) jump must not reach the (C, H, W) output."""
    graph = archcalc.load_text(SE_TOY, "se.yaml")
    rows = {r.name: r for r in archcalc.analyze(graph).layers}
    assert (rows["c2"].receptive_field, rows["c2"].jump) == ([5, 5], [1, 1])
    assert (rows["c3"].receptive_field, rows["c3"].jump) == ([7, 7], [1, 1])
    assert not rows["c1"].global_context and rows["c2"].global_context and rows["c3"].global_context
    for context in (False, True):
        probes = oracles.probe_receptive_fields(graph, context=context)
        assert all(p.agrees for p in probes), [p for p in probes if not p.agrees]
    centre = next(p for p in oracles.probe_receptive_fields(graph, context=True)
                  if p.node == "c3" and p.position == (16, 16))
    assert centre.measured == ((0, 31), (0, 31))  # through the gates it reads every position


def test_se_resnet50_total_is_sane(run):
    analysis = archcalc.analyze(archcalc.load("se-resnet50"))
    resnet = archcalc.analyze(archcalc.load("resnet50"))
    # The gates add context, not size: the windows are ResNet-50's.
    assert analysis.totals["receptive_field"] == resnet.totals["receptive_field"]
    assert "Receptive field  427×427" in run("summary", "se-resnet50").output
