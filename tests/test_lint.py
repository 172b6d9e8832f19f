"""The checks behind `archcalc check`'s warnings, case by case (the golden output is in
test_check_golden.py): what each finds, what it must not find, and how `ignore:` scopes."""

from __future__ import annotations

import pytest

import archcalc
from archcalc.lint import lint
from archcalc.ops.base import window_tail


def codes(graph) -> list[tuple[str, str | None]]:
    return [(w.code, w.node) for w in lint(graph)]


@pytest.mark.parametrize("size, kernel, stride, before, after, dropped", [
    (224, 3, 2, 0, 0, 1),    # 3x3 stride 2 on an even input: the last row
    (224, 3, 2, 1, 1, 0),    # padded: the last window ends in the padding
    (224, 7, 2, 3, 3, 0),    # ResNet's stem
    (227, 11, 4, 0, 0, 0),   # AlexNet's conv1: 55 windows cover it exactly
    (224, 11, 4, 0, 0, 1),   # the same on 224 (NIN)
    (7, 2, 2, 0, 0, 1),      # a 2x2 pool on an odd input
    (56, 1, 2, 0, 0, 0),     # a 1x1 stride-2 projection skips every other row by design
    (9, 1, 3, 0, 0, 0),      # ... and every third: the tail is no wider than the gaps
    (10, 3, 4, 0, 0, 2),     # windows 0-2 and 4-6; row 7 is a gap, rows 8 and 9 are dropped beyond it
])
def test_window_tail(size, kernel, stride, before, after, dropped):
    assert window_tail(size, kernel, stride, before, after) == dropped


def test_the_imagenet_classics_drop_no_pixels():
    for name in ("vgg16", "resnet50", "alexnet", "googlenet", "mobilenet-v2", "inception-v3", "densenet121"):
        assert not [c for c in codes(archcalc.load(name)) if c[0] == "dropped-pixels"], name


def test_dropped_pixels_counts_rows_and_columns_apart(spec_text):
    g = spec_text("""\
        input: [3, 10, 12]
        layers:
          - conv: {out: 8, kernel: 3, stride: 4}
        """)
    [w] = lint(g)
    assert "leaves out the last 2 rows of its 10x12 input" in w.message
    assert "kernel 3x3, stride 4x4, padding 0; the output size 2x3 is rounded down" in w.message


def test_changed_in_only_where_a_layer_of_the_block_changed_the_channels(spec_text):
    g = spec_text("""\
        input: [16, 8, 8]
        blocks:
          unit:
            params: {c: $in}
            layers:
              - conv: {out: "$in", kernel: 1}          # still the block's input: fine
              - conv: {out: "2 * c", kernel: 1}
              - conv: {out: "$in // 2", kernel: 1}     # 32 here, not 16: questioned
              - conv: {out: "$in", kernel: 1, from: conv1}   # names its input: fine
              - {relu: {}, when: "$block_in == 16"}    # the block's input, by its name
        layers:
          - conv: {out: 16, kernel: 1, name: stem}
          - unit
          - conv: {out: "$in * 2", kernel: 1}          # top level: $in is the previous layer
        """)
    # (conv3 also feeds nothing: conv4 takes conv1's output)
    assert codes(g) == [("unconsumed", "unit1.conv3"), ("changed-in", "unit1.conv3")]
    assert g.nodes[-1].shape == (32, 8, 8)
    assert [n.name for n in g.nodes if n.kind == "relu"] == ["unit1.relu1"]


def test_block_input_names(spec_text):
    g = spec_text("""\
        input: [3, 16, 12]
        blocks:
          probe: [conv: {out: 8, kernel: 1}, conv: {out: "$block_in + $block_h + $block_w", kernel: 1}]
        layers:
          - conv: {out: "$block_in", kernel: 1}
          - probe
        """)
    assert g.nodes[1].shape == (3, 16, 12)
    assert g.nodes[-1].shape == (3 + 16 + 12, 16, 12)


def test_unconsumed_is_each_node_that_feeds_nothing(spec_text):
    g = spec_text("""\
        input: [3, 8, 8]
        layers:
          - conv: {out: 4, kernel: 1, name: a}
          - conv: {out: 4, kernel: 1, from: input, name: stray}
          - relu: {name: stray_relu}
          - conv: {out: 4, kernel: 1, from: a, name: aux}
          - conv: {out: 4, kernel: 1, from: a, name: head}
        outputs: [head, aux]
        """)
    assert codes(g) == [("unconsumed", "stray_relu")]


def test_ignore_on_a_block_call_covers_what_it_builds_and_nothing_else(spec_text):
    text = """\
        input: [3, 224, 224]
        blocks:
          down: [conv: {out: 8, kernel: 3, stride: 3}]
        layers:
          - down: {ignore: [dropped-pixels]}
          - down
        """
    assert codes(spec_text(text)) == [("dropped-pixels", "down2.conv1")]


def test_findings_from_one_line_are_reported_once_with_the_other_nodes(spec_text):
    g = spec_text("""\
        input: [3, 7, 7]
        blocks:
          down: [maxpool: 2]
        layers:
          - repeat: 3
            layers: [{down: {from: input}}]
          - concat: {from: [down1, down2, down3]}
        """)
    [w] = lint(g)
    assert (w.code, w.node, w.line) == ("dropped-pixels", "down1.maxpool1", 3)
    assert w.notes == ["the same 2 more times from this line: down2.maxpool1, down3.maxpool1"]


def test_unused_blocks_and_vars_follow_uses_through_each_other(spec_text):
    g = spec_text("""\
        input: [3, 8, 8]
        vars: {a: 4, b: "2 * a", c: 1}
        blocks:
          inner: [conv: {out: b, kernel: 1}]
          outer: [inner]
          lonely: [relu]
          lonely_caller: [lonely]
        layers:
          - outer
        """)
    assert codes(g) == [("unused-var", None), ("unused-block", None), ("unused-block", None)]
    assert [w.message.split("'")[1] for w in lint(g)] == ["c", "lonely", "lonely_caller"]


def test_tensor_cores_is_off_by_default_and_skips_the_image_and_depthwise(spec_text):
    text = """\
        input: [3, 8, 8]
        tensor_cores: TC
        layers:
          - conv: {out: 12, kernel: 3, padding: 1}
          - dwconv: {kernel: 3, padding: 1}
          - conv: {out: 16, kernel: 1, groups: 4}
        """
    assert codes(spec_text(text.replace("TC", "false"))) == []
    found = [w.message for w in lint(spec_text(text.replace("TC", "true")))]
    assert found == [
        "conv 'conv1': output channels 12 is not a multiple of 8, so tensor cores run it padded or not at all",
        "conv 'conv2': input channels per group 3 is not a multiple of 8, so tensor cores run it padded or not at all",
        "conv 'conv2': output channels per group 4 is not a multiple of 8, so tensor cores run it padded or not at all",
    ]


@pytest.mark.parametrize("construct", [
    "residual: [{conv: {out: 4, kernel: 1}, when: use}]",
    "residual: [relu]\n    shortcut: [{conv: {out: 4, kernel: 1}, when: use}]",
    "add: [[relu], [{relu: {}, when: use}]]",
])
def test_a_list_emptied_by_when_is_an_error(spec_text, construct):
    with pytest.raises(archcalc.SpecError, match="is empty: `when:` left out all its layers"):
        spec_text(f"input: [4, 8, 8]\nvars: {{use: false}}\nlayers:\n  - {construct}\n")
    spec_text(f"input: [4, 8, 8]\nvars: {{use: true}}\nlayers:\n  - {construct}\n")


def test_unknown_ignore_codes_are_errors(spec_text):
    with pytest.raises(archcalc.SpecError, match="`ignore` expected warning codes, got 'dropped-pixel'; did you mean"):
        spec_text("input: [3, 8, 8]\nlayers:\n  - relu: {ignore: [dropped-pixel]}\n")
    with pytest.raises(archcalc.SpecError, match="`tensor_cores` expected true or false"):
        spec_text("input: [3, 8, 8]\ntensor_cores: 8\nlayers:\n  - relu\n")


def test_a_block_name_ending_in_a_digit_is_kept_apart_from_its_counter(spec_text):
    g = spec_text("""\
        input: [3, 8, 8]
        blocks:
          up2: [conv: {out: 4, kernel: 1}]
        layers:
          - up2
          - up2
          - relu6
        """)
    assert [n.name for n in g.nodes[1:]] == ["up2_1.conv1", "up2_2.conv1", "relu6_1"]
