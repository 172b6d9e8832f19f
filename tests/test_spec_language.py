"""Each construct of the spec language, checked by the shapes, parameters and names it produces."""

from __future__ import annotations

import pytest

import archcalc
from archcalc.errors import SpecError


def names(graph):
    return [n.name for n in graph.nodes]


def node(graph, name):
    for n in graph.nodes:
        if n.name == name:
            return n
    raise KeyError(name)


def inputs(graph, name):
    return [src.name for src in node(graph, name).inputs]


def test_sequential_layers_and_positional_forms(spec_text):
    g = spec_text("""\
        input: [3, 32, 32]
        layers:
          - conv: [16, 3, 1, 1]          # out, kernel, stride, padding
          - relu
          - maxpool: [2, 2]              # kernel, stride
          - conv: {out: 32, kernel: [3, 1], padding: [1, 0]}
          - global_avgpool
          - flatten
          - linear: 10                   # out
        """)
    assert names(g) == ["input", "conv1", "relu1", "maxpool1", "conv2", "global_avgpool1", "flatten1", "linear1"]
    assert node(g, "conv1").shape == (16, 32, 32)
    assert node(g, "maxpool1").shape == (16, 16, 16)
    assert node(g, "conv2").shape == (32, 16, 16)
    a = archcalc.analyze(g)
    assert a.layer("conv1").params == 3 * 16 * 9 + 16
    assert a.layer("conv2").params == 16 * 32 * 3 + 32
    assert a.layer("linear1").params == 32 * 10 + 10
    assert g.outputs == [node(g, "linear1")]


def test_padding_same_and_valid(spec_text):
    g = spec_text("""\
        input: [3, 15, 15]
        layers:
          - conv: {out: 4, kernel: 3, stride: 2, padding: same}
          - conv: {out: 4, kernel: 3, padding: valid}
        """)
    assert node(g, "conv1").shape == (4, 8, 8)
    assert node(g, "conv2").shape == (4, 6, 6)


def test_defaults_per_kind_aliases_and_explicit_arguments(spec_text):
    g = spec_text("""\
        input: [3, 32, 32]
        defaults:
          conv2d: {kernel: 3, padding: 1, bias: false}
          fc: {bias: false}
        layers:
          - conv: 8
          - conv: {out: 8, kernel: 1, padding: 0}
          - flatten
          - fc: 10
        """)
    a = archcalc.analyze(g)
    assert a.layer("conv1").params == 3 * 8 * 9  # kernel 3 and no bias from defaults
    assert a.layer("conv2").params == 8 * 8  # explicit arguments win
    assert node(g, "conv1").shape == (8, 32, 32)
    assert a.layer("linear1").params == 8 * 32 * 32 * 10  # written `fc`, named by its kind


def test_defaults_per_block_apply_inside_only(spec_text):
    g = spec_text("""\
        input: [4, 8, 8]
        defaults:
          conv: {kernel: 3, padding: 1}
        blocks:
          pointwise:
            defaults:
              conv: {kernel: 1, padding: 0, bias: false}
            layers:
              - conv: 4
        layers:
          - pointwise
          - conv: 4
        """)
    a = archcalc.analyze(g)
    assert a.layer("pointwise1.conv1").params == 16
    assert a.layer("conv1").params == 4 * 4 * 9 + 4


def test_vars_and_overrides(spec_text):
    text = """\
        input: [3, resolution, resolution]
        vars:
          width: 16
          alpha: 1.0
          resolution: 32
        layers:
          - conv: {out: "make_divisible(width * alpha, 8)", kernel: 3, padding: 1}
        """
    assert node(spec_text(text), "conv1").shape == (16, 32, 32)
    g = spec_text(text, overrides={"alpha": "0.5", "resolution": 64})
    assert node(g, "conv1").shape == (8, 64, 64)
    assert g.variables == {"width": 16, "alpha": 0.5, "resolution": 64}
    g = spec_text(text, input_shape=[3, 20, 24])
    assert node(g, "conv1").shape == (16, 20, 24)


def test_dollar_names_in_arguments(spec_text):
    g = spec_text("""\
        input: [6, 7, 5]
        layers:
          - conv: {out: "2 * $in", kernel: 1}
          - avgpool: {kernel: ["$h", "$w"]}
        """)
    assert node(g, "conv1").shape == (12, 7, 5)
    assert node(g, "avgpool1").shape == (12, 1, 1)


def test_repeat_unnamed_continues_the_numbering(spec_text):
    g = spec_text("""\
        input: [3, 8, 8]
        vars: {depth: 3}
        layers:
          - conv: {out: 4, kernel: 1}
          - repeat: depth
            index: i
            layers:
              - conv: {out: "4 * (i + 2)", kernel: 1}
              - relu
        """)
    assert names(g)[1:] == ["conv1", "conv2", "relu1", "conv3", "relu2", "conv4", "relu3"]
    assert [node(g, f"conv{k}").shape[0] for k in (2, 3, 4)] == [8, 12, 16]


def test_repeat_named_numbers_its_copies(spec_text):
    g = spec_text("""\
        input: [3, 8, 8]
        layers:
          - repeat: 2
            name: body
            layers:
              - conv: {out: 4, kernel: 1}
              - relu
          - relu
        """)
    assert names(g)[1:] == ["body.0.conv1", "body.0.relu1", "body.1.conv1", "body.1.relu1", "relu1"]
    assert inputs(g, "body.1.conv1") == ["body.0.relu1"]


def test_repeat_dense_connectivity(spec_text):
    g = spec_text("""\
        input: [16, 8, 8]
        layers:
          - repeat: 3
            name: dense
            dense: true
            layers:
              - conv: {out: 4, kernel: 3, padding: 1}
        """)
    assert inputs(g, "dense.0.conv1") == ["input"]
    assert inputs(g, "dense.1.concat1") == ["input", "dense.0.conv1"]
    assert inputs(g, "dense.2.concat1") == ["input", "dense.0.conv1", "dense.1.conv1"]
    assert node(g, "dense.2.conv1").inputs[0].shape == (24, 8, 8)
    out = g.outputs[0]
    assert out.name == "dense.concat1"
    assert out.shape == (16 + 3 * 4, 8, 8)
    a = archcalc.analyze(g)
    assert [a.layer(f"dense.{i}.conv1").params for i in range(3)] == [(16 + 4 * i) * 4 * 9 + 4 for i in range(3)]


def test_concat_branches_with_the_input_itself(spec_text):
    g = spec_text("""\
        input: [8, 8, 8]
        layers:
          - concat:
              - [conv: {out: 4, kernel: 1}]
              - - conv: {out: 2, kernel: 1}
                - conv: {out: 6, kernel: 3, padding: 1, name: wide}
              - []
        """)
    assert names(g)[1:] == ["branch1.conv1", "branch2.conv1", "branch2.wide", "concat1"]
    assert inputs(g, "concat1") == ["branch1.conv1", "branch2.wide", "input"]
    assert node(g, "concat1").shape == (18, 8, 8)


def test_add_multiply_and_mean_joins(spec_text):
    g = spec_text("""\
        input: [8, 4, 4]
        layers:
          - add:
              - [conv: {out: 8, kernel: 3, padding: 1}]
              - []
          - multiply:
              - []
              - - global_avgpool
                - conv: {out: 2, kernel: 1}
                - relu
                - conv: {out: 8, kernel: 1}
                - sigmoid
          - mean:
              - [conv: {out: 8, kernel: 1}]
              - [conv: {out: 8, kernel: 1}]
              - [identity]
        """)
    assert node(g, "add1").shape == (8, 4, 4)
    assert inputs(g, "add1") == ["branch1.conv1", "input"]
    # Unnamed joins open no scope, so their branches number on: branch3, branch4, ...
    assert node(g, "branch4.sigmoid1").shape == (8, 1, 1)
    assert node(g, "multiply1").shape == (8, 4, 4)  # the (C, 1, 1) gate broadcasts
    assert inputs(g, "multiply1") == ["add1", "branch4.sigmoid1"]
    assert node(g, "mean1").shape == (8, 4, 4)
    assert inputs(g, "mean1") == ["branch5.conv1", "branch6.conv1", "branch7.identity1"]


RESIDUAL = """\
    input: [16, 8, 8]
    layers:
      - residual:
          - conv: {{out: {out}, kernel: 3, stride: {stride}, padding: 1, bias: false}}
          {norm}
        {shortcut}
    """


def residual(spec_text, out=16, stride=1, norm=True, shortcut=None):
    return spec_text(RESIDUAL.format(
        out=out, stride=stride, norm="- batchnorm" if norm else "",
        shortcut=f"shortcut: {shortcut}" if shortcut else "",
    ))


def test_residual_auto_identity(spec_text):
    g = residual(spec_text)
    assert names(g)[1:] == ["conv1", "batchnorm1", "add1"]
    assert inputs(g, "add1") == ["batchnorm1", "input"]


def test_residual_auto_projection_with_batchnorm(spec_text):
    g = residual(spec_text, out=32, stride=2)
    assert names(g)[1:] == ["conv1", "batchnorm1", "shortcut1.conv", "shortcut1.batchnorm", "add1"]
    proj = node(g, "shortcut1.conv")
    assert proj.args["kernel"] == (1, 1) and proj.args["stride"] == (2, 2) and proj.args["bias"] is False
    assert proj.shape == (32, 4, 4)
    a = archcalc.analyze(g)
    assert a.layer("shortcut1.conv").params == 16 * 32
    assert inputs(g, "add1") == ["batchnorm1", "shortcut1.batchnorm"]


def test_residual_projection_without_batchnorm_has_a_bias(spec_text):
    g = residual(spec_text, out=32, norm=False, shortcut="projection")
    assert names(g)[1:] == ["conv1", "shortcut1.conv", "add1"]
    assert archcalc.analyze(g).layer("shortcut1.conv").params == 16 * 32 + 32


def test_residual_projection_forced_when_shapes_match(spec_text):
    g = residual(spec_text, shortcut="projection")
    assert "shortcut1.conv" in names(g)


def test_residual_identity_and_none(spec_text):
    assert inputs(residual(spec_text, shortcut="identity"), "add1") == ["batchnorm1", "input"]
    g = residual(spec_text, shortcut="none")
    assert names(g)[1:] == ["conv1", "batchnorm1"]


def test_residual_optional(spec_text):
    # MobileNetV2: identity when the shapes match, no shortcut otherwise.
    assert inputs(residual(spec_text, shortcut="optional"), "add1") == ["batchnorm1", "input"]
    g = residual(spec_text, out=24, shortcut="optional")
    assert names(g)[1:] == ["conv1", "batchnorm1"]


def test_residual_shortcut_as_layers(spec_text):
    g = residual(spec_text, out=32, stride=2, shortcut="[avgpool: 2, conv: {out: 32, kernel: 1}]")
    assert names(g)[1:] == ["conv1", "batchnorm1", "shortcut1.avgpool1", "shortcut1.conv1", "add1"]
    assert node(g, "add1").shape == (32, 4, 4)


BLOCKS = """\
    input: [8, 16, 16]
    vars: {base: 4}
    blocks:
      unit:
        params: {out: null, stride: 1, mid: "$in // 2"}
        layers:
          - conv: {out: mid, kernel: 1, name: reduce}
          - conv: {out: out, kernel: 3, stride: stride, padding: 1, name: expand}
      triple:
        params: [a, b, c]
        layers:
          - conv: {out: "a + b + c", kernel: 1}
    layers:
"""


def test_block_calls_positional_mapping_defaults_and_dollar_in(spec_text):
    g = spec_text(BLOCKS + """\
      - unit: [16]
      - unit: {out: 32, stride: 2}
      - unit: [8, 1, "base * 3"]
      - triple: [1, 2, "base"]
    """)
    assert names(g)[1:] == [
        "unit1.reduce", "unit1.expand", "unit2.reduce", "unit2.expand",
        "unit3.reduce", "unit3.expand", "triple1.conv1",
    ]
    assert node(g, "unit1.reduce").shape == (4, 16, 16)  # mid = $in // 2 of the call's input
    assert node(g, "unit1.expand").shape == (16, 16, 16)
    assert node(g, "unit2.reduce").shape == (8, 16, 16)
    assert node(g, "unit2.expand").shape == (32, 8, 8)
    assert node(g, "unit3.reduce").shape == (12, 8, 8)  # arguments see the caller's vars
    assert node(g, "triple1.conv1").shape == (7, 8, 8)


def test_block_bodies_see_globals_and_params_only(spec_text):
    spec_text("""\
        input: [3, 8, 8]
        vars: {width: 4}
        blocks:
          uses_global:
            layers: [conv: {out: width, kernel: 1}]
        layers:
          - uses_global
        """)
    with pytest.raises(SpecError) as info:
        spec_text("""\
            input: [3, 8, 8]
            blocks:
              leaks:
                layers: [conv: {out: "4 * (i + 1)", kernel: 1}]
            layers:
              - repeat: 2
                index: i
                layers: [leaks]
            """)
    assert "undefined name 'i'" in info.value.message
    assert info.value.notes and "in block 'leaks'" in info.value.notes[0]


def test_naming_rules(spec_text):
    g = spec_text("""\
        input: [3, 8, 8]
        blocks:
          basic:
            layers:
              - conv: {out: 4, kernel: 1}
              - relu
          stage:
            params: [n]
            layers:
              - repeat: n
                layers:
                  - basic
        layers:
          - conv: {out: 4, kernel: 1, name: conv2}
          - conv: {out: 4, kernel: 1}
          - conv: {out: 4, kernel: 1}
          - basic
          - {basic: {}, name: named}
          - stage: [2]
          - {stage: [1], name: layer1}
          - {layers: [relu, relu], name: group}
          - relu
        """)
    assert names(g)[1:] == [
        "conv2", "conv1", "conv3",  # automatic names skip the explicit `conv2`
        "basic1.conv1", "basic1.relu1",  # block call: blockname + counter
        "named.conv1", "named.relu1",
        "stage1.0.conv1", "stage1.0.relu1", "stage1.1.conv1", "stage1.1.relu1",  # sole repeat of a block
        "layer1.0.conv1", "layer1.0.relu1",
        "group.relu1", "group.relu2",  # named group
        "relu1",
    ]


def test_named_nodes_and_from(spec_text):
    g = spec_text("""\
        input: [3, 8, 8]
        blocks:
          tap:
            layers:
              - conv: {out: 4, kernel: 1, name: a}
              - conv: {out: 4, kernel: 1, name: b, from: a}
              - add: {from: [a, b]}
        layers:
          - {tap: {}, name: t}
          - conv: {out: 2, kernel: 1, from: t.a}
          - conv: {out: 2, kernel: 1, from: input, name: side}
          - concat: {from: [t, t.b, side]}
          - {layers: [relu], name: g, from: conv1}
        """)
    assert inputs(g, "t.b") == ["t.a"]  # names resolve relative to the enclosing block
    assert inputs(g, "t.add1") == ["t.a", "t.b"]
    assert inputs(g, "conv1") == ["t.a"]  # absolute block.layer
    assert inputs(g, "side") == ["input"]
    assert inputs(g, "concat1") == ["t.add1", "t.b", "side"]  # a block's name is its output
    assert node(g, "concat1").shape == (10, 8, 8)
    assert inputs(g, "g.relu1") == ["conv1"]


def test_outputs_with_a_training_only_aux_head(spec_text):
    g = spec_text("""\
        input: [3, 16, 16]
        vars: {num_classes: 10}
        blocks:
          head:
            layers:
              - global_avgpool
              - flatten
              - linear: {out: num_classes, name: fc}
        layers:
          - conv: {out: 8, kernel: 3, padding: 1, name: stem}
          - {head: {}, name: aux, from: stem}
          - conv: {out: 16, kernel: 3, padding: 1, from: stem}
          - {head: {}, name: main}
        outputs: [main.fc, aux.fc]
        """)
    assert [n.name for n in g.outputs] == ["main.fc", "aux.fc"]
    a = archcalc.analyze(g)
    assert [r.name for r in a.layers if r.training_only] == ["aux.global_avgpool1", "aux.flatten1", "aux.fc"]
    assert a.totals["training_only_params"] == 8 * 10 + 10
    assert a.totals["params"] == (3 * 8 * 9 + 8) + (8 * 16 * 9 + 16) + (16 * 10 + 10)


def test_when_leaves_items_out(spec_text):
    text = """\
        input: [4, 8, 8]
        vars: {use_bn: true, se: 0}
        layers:
          - conv: {out: 4, kernel: 1}
          - batchnorm: {when: use_bn}
          - relu:
            when: "not use_bn"
          - {identity: {}, when: "se > 0"}
          - repeat: 2
            when: "$in == 4"
            layers: [relu6]
        """
    assert names(spec_text(text))[1:] == ["conv1", "batchnorm1", "relu6_1", "relu6_2"]
    assert names(spec_text(text, overrides={"use_bn": "false", "se": 1}))[1:] == [
        "conv1", "relu1", "identity1", "relu6_1", "relu6_2",
    ]


def test_frozen_layers_and_blocks(spec_text):
    g = spec_text("""\
        input: [3, 8, 8]
        blocks:
          pair:
            layers:
              - conv: {out: 4, kernel: 1}
              - conv: {out: 4, kernel: 1}
        layers:
          - conv: {out: 4, kernel: 1, frozen: true}
          - {pair: {}, frozen: true}
          - conv: {out: 2, kernel: 1}
        """)
    a = archcalc.analyze(g)
    assert [r.name for r in a.layers if not r.trainable] == ["conv1", "pair1.conv1", "pair1.conv2"]
    assert a.totals["frozen_params"] == 16 + 20 + 20
    assert a.totals["trainable_params"] == 10


def test_meta_keys_beside_or_inside_the_arguments(spec_text):
    g = spec_text("""\
        input: [3, 8, 8]
        layers:
          - conv: {out: 4, kernel: 1}
            name: beside
          - conv: {out: 4, kernel: 1, name: inside, from: input}
        """)
    assert names(g)[1:] == ["beside", "inside"]
    assert inputs(g, "inside") == ["input"]
    with pytest.raises(SpecError, match="`name` is given twice, beside 'conv' and inside its arguments"):
        spec_text("""\
            input: [3, 8, 8]
            layers:
              - conv: {out: 4, kernel: 1, name: a}
                name: b
            """)


def test_flow_mapping_expressions_must_be_quoted(spec_text):
    g = spec_text("""\
        input: [3, 8, 8]
        layers:
          - conv: {out: "max(16, 2 * 4)", kernel: 1}
        """)
    assert node(g, "conv1").shape == (16, 8, 8)
    with pytest.raises(SpecError) as info:
        spec_text("""\
            input: [3, 8, 8]
            layers:
              - conv: {out: max(16, 8), kernel: 1}
            """)
    assert info.value.message == "conv 'conv1': argument 'out' is 'max(16', an expression cut short at a comma"
    assert "quote expressions" in info.value.hint


def test_errors_inside_blocks_note_the_call(spec_text):
    with pytest.raises(SpecError) as info:
        spec_text("""\
            input: [3, 8, 8]
            blocks:
              unit:
                params: [groups]
                layers:
                  - conv: {out: 8, kernel: 1, groups: groups}
            layers:
              - {unit: [2], name: u}
            """)
    exc = info.value
    assert exc.message == "conv 'u.conv1': input channels 3 are not divisible by groups=2"
    assert (exc.line, exc.column) == (6, 43)  # the `groups` value in the block body
    assert exc.notes == ["in block 'unit' (u), called at inline.yaml:8:6 with groups=2"]
