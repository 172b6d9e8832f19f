"""The spec YAML reader: YAML 1.2-style scalars, refusals, anchors and merges, and exact locations."""

from __future__ import annotations

import textwrap
import time

import pytest

import archcalc
from archcalc.errors import SpecError
from archcalc.limits import LIMITS
from archcalc.spec.yaml_loader import LList, LMap, load_yaml, load_yaml_file


def load(text: str):
    return load_yaml(textwrap.dedent(text), "t.yaml")


def refused(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        load(text)
    assert info.value.file == "t.yaml"
    return info.value


@pytest.mark.parametrize(
    "written, value",
    [
        ("1e-5", 1e-5),
        ("1E5", 1e5),
        ("2.5e+3", 2500.0),
        (".5", 0.5),
        ("1.", 1.0),
        ("-0.25", -0.25),
        ("64", 64),
        ("+3", 3),
        ("-7", -7),
        ("1_000", 1000),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("null", None),
        ("~", None),
        ("", None),
    ],
)
def test_plain_scalars(written, value):
    result = load(f"a: {written}\n")["a"]
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "NO", "On", "OFF", "y", "n"])
def test_yaml_11_booleans_stay_strings(word):
    assert load(f"a: {word}\n")["a"] == word


@pytest.mark.parametrize("written", ["0x10", "0o17", ".inf", "-.inf", ".nan", "1:30", "2015-06-01", "=", "<<"])
def test_other_yaml_11_forms_stay_strings(written):
    assert load(f"a: {written}\n")["a"] == written


@pytest.mark.parametrize("written, value", [("'5'", "5"), ('"1e-5"', "1e-5"), ("'true'", "true"),
                                            ('"null"', "null"), ("''", ""), ("!!str 12", "12")])
def test_quoted_scalars_are_strings(written, value):
    assert load(f"a: {written}\n")["a"] == value


def test_explicit_standard_tags():
    data = load("a: !!int '12'\nb: !!float 1\nc: !!bool true\nd: !!null ''\n")
    assert data == {"a": 12, "b": 1, "c": True, "d": None}


def test_block_scalars_are_strings():
    data = load("""\
        a: |
          line one
          line two
        b: >
          folded
          text
        """)
    assert data["a"] == "line one\nline two\n"
    assert data["b"] == "folded text\n"


def test_duplicate_keys_are_refused_at_the_second():
    exc = refused("""\
        a: 1
        b:
          c: 2
          c: 3
        """)
    assert exc.message == "duplicate key 'c' (first written at line 3, column 3)"
    assert (exc.line, exc.column) == (4, 3)
    exc = refused("x: {k: 1, k: 2}\n")
    assert (exc.line, exc.column) == (1, 11)


@pytest.mark.parametrize(
    "text, tag",
    [
        ("a: !!python/object/apply:os.system ['touch {marker}']\n", "!!python/object/apply:os.system"),
        ("a: !!python/object/new:os.system ['touch {marker}']\n", "!!python/object/new:os.system"),
        ("a: !!python/name:os.system ''\n", "!!python/name:os.system"),
        ("a: !!python/tuple [1, 2]\n", "!!python/tuple"),
        ("a: !shape [3, 224, 224]\n", "!shape"),
        ("a: !!set {x, y}\n", "!!set"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!timestamp 2015-06-01\n", "!!timestamp"),
        ("a: !!omap [b: 1]\n", "!!omap"),
        ("a: !<tag:example.com,2000:x> 1\n", "tag:example.com,2000:x"),
    ],
)
def test_tags_are_refused(tmp_path, text, tag):
    marker = tmp_path / "pwned"
    exc = refused(text.replace("{marker}", str(marker)))
    assert exc.message == f"YAML tag '{tag}' is not allowed"
    assert (exc.line, exc.column) == (1, 4)
    assert "plain data" in exc.hint
    assert not marker.exists()


def test_anchors_and_aliases():
    data = load("""\
        base: &conv {kernel: 3, padding: 1}
        sizes: &sizes [64, 128]
        a: *conv
        b: *sizes
        """)
    assert data["a"] == {"kernel": 3, "padding": 1}
    assert data["b"] == [64, 128]
    assert data.value_loc("a").line == 3  # where the alias is used


def test_merge_keys():
    data = load("""\
        base: &base {kernel: 3, padding: 1, stride: 1}
        wide: &wide {stride: 2, groups: 4}
        one:
          <<: *base
          padding: 0
        two:
          <<: [*wide, *base]
          out: 64
        """)
    assert data["one"] == {"padding": 0, "kernel": 3, "stride": 1}
    # Earlier mappings of a merge list win, and the mapping's own keys win over all.
    assert data["two"] == {"out": 64, "stride": 2, "groups": 4, "kernel": 3, "padding": 1}
    # Merged values keep the location where they were written.
    assert data["one"].value_loc("kernel").line == 1


def test_merge_of_a_non_mapping_is_refused():
    exc = refused("a: &x [1]\nb:\n  <<: *x\n")
    assert exc.message == "'<<' merges mappings only"
    assert (exc.line, exc.column) == (3, 7)


def test_merges_and_anchors_in_a_spec(spec_text):
    graph = spec_text("""\
        input: [3, 32, 32]
        layers:
          - conv: &c3 {out: 16, kernel: 3, padding: 1}
          - relu
          - conv: {<<: *c3, out: 32, name: wide}
        """)
    assert graph.nodes[-1].name == "wide"
    assert graph.nodes[-1].shape == (32, 32, 32)


def test_locations_of_keys_values_and_items():
    data = load("""\
        name: demo
        input: [3, 224, 224]
        layers:
          - conv: {out: 64, kernel: 3}
          - relu
          - linear:
              out: 10
        """)
    assert isinstance(data, LMap)
    assert data.pos == (1, 1)
    assert data.key_pos["input"] == (2, 1)
    assert data.value_pos["input"] == (2, 8)
    shape = data["input"]
    assert isinstance(shape, LList)
    assert shape.item_pos == [(2, 9), (2, 12), (2, 17)]
    layers = data["layers"]
    assert layers.item_pos == [(4, 5), (5, 5), (6, 5)]
    conv = layers[0]["conv"]
    assert conv.pos == (4, 11)
    assert conv.key_pos == {"out": (4, 12), "kernel": (4, 21)}
    assert conv.value_pos == {"out": (4, 17), "kernel": (4, 29)}
    linear = layers[2]["linear"]
    assert linear.key_pos["out"] == (7, 7)
    assert linear.value_pos["out"] == (7, 12)
    loc = linear.value_loc("out")
    assert (loc.file, loc.line, loc.column) == ("t.yaml", 7, 12)
    assert loc.source_line == "      out: 10"


def test_keys_are_text():
    assert load("1: a\ntrue: b\nnull: c\n") == {"1": "a", "true": "b", "null": "c"}


def test_keys_must_be_scalars():
    assert refused("? [a, b]\n: 1\n").message == "mapping keys must be plain names, not lists or mappings"


def test_alias_bomb_is_refused_quickly_at_the_alias():
    levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    start = time.perf_counter()
    exc = refused("\n".join(levels) + "\n")
    assert time.perf_counter() - start < 2
    assert exc.message.startswith("alias '*")
    assert "alias bomb" in exc.message
    # The caret is on the alias that took the count over the limit.
    assert exc.location.source_line[exc.column - 1] == "*"


@pytest.mark.parametrize("depth", [150, 100_000])
def test_deep_nesting_is_refused_without_recursing(depth):
    # At 100,000 levels libyaml's own depth limit may speak before ours (PyYAML >= 6.0.4):
    # either way the refusal is ours, on line 1, at a '[' beyond the 100th level, and quick.
    text = "a: " + "[" * depth + "]" * depth + "\n"
    start = time.perf_counter()
    exc = refused(text)
    assert time.perf_counter() - start < 2
    assert exc.message == "the spec is nested more than 100 levels deep"
    assert exc.line == 1
    assert exc.column >= 103  # the mapping is the first level, so the 100th '[' is the 101st
    assert text[exc.column - 1] == "["
    assert "max_nesting" in exc.hint


def test_yaml_syntax_errors_are_located():
    exc = refused("a: {b: 1\nc: 2\n")
    assert exc.message.startswith("YAML syntax: ")
    assert exc.line >= 1
    exc = refused("a:\n\tb: 1\n")
    assert exc.hint == "indent with spaces; YAML does not allow tabs"
    assert (exc.line, exc.column) == (2, 1)


def test_unclosed_flow_mapping_points_at_its_start():
    exc = refused("layers:\n  - conv: {out: 16, kernel: 3\n  - relu\n")
    assert (exc.line, exc.column) == (2, 11)
    assert "flow mapping that starts here" in exc.message


def test_documents_empty_and_several():
    assert refused("").message == "the spec is empty"
    assert refused("# only a comment\n").message == "the spec is empty"
    exc = refused("a: 1\n---\nb: 2\n")
    assert exc.message == "a spec is one YAML document, but a second one starts here"
    assert exc.line == 2


def test_control_characters_are_refused():
    exc = refused("a: b\x07c\n")
    assert exc.message == "YAML syntax: character U+0007 is not allowed in a spec"
    assert (exc.line, exc.column) == (1, 5)


def test_undefined_alias():
    exc = refused("a: *nowhere\n")
    assert exc.message == "alias '*nowhere' has no anchor '&nowhere' before it"


def test_files(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("a: 1\n", encoding="utf-8")
    assert load_yaml_file(good) == {"a": 1}
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(SpecError, match="not UTF-8 text"):
        load_yaml_file(binary)
    with pytest.raises(SpecError, match="cannot read spec"):
        load_yaml_file(tmp_path / "missing.yaml")
    with pytest.raises(SpecError):
        archcalc.load(tmp_path / "missing.yaml")


def test_a_spec_larger_than_the_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    from archcalc.limits import LIMITS
    from archcalc.spec.yaml_loader import load_yaml, load_yaml_file

    monkeypatch.setattr(LIMITS, "max_file_bytes", 100)
    text = "name: big\n# " + "é" * 45 + "\n"  # 58 characters, 103 bytes in UTF-8
    with pytest.raises(SpecError) as err:
        load_yaml(text, "big.yaml")
    assert err.value.render().startswith("big.yaml:1:1: error: the spec is 103 bytes, larger than the limit of 100 bytes")
    assert "archcalc --limit max_file_bytes=N" in err.value.hint
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="the spec is 103 bytes, larger than the limit of 100 bytes"):
        load_yaml_file(path)
    assert load_yaml("name: small\n", "small.yaml") == {"name": "small"}


def test_nesting_past_the_parsers_own_limit_says_so(monkeypatch):
    # With archcalc's limit raised past libyaml's, a refusal by libyaml must not claim ours.
    monkeypatch.setattr(LIMITS, "max_nesting", 5000)
    try:
        load("a: " + "[" * 3000 + "]" * 3000 + "\n")
    except SpecError as exc:
        assert exc.message == "the spec is nested more than 1,000 levels deep, more than the YAML parser allows"
        assert exc.line == 1
    else:
        pytest.skip("this YAML parser has no depth limit of its own (pure Python, or libyaml before PyYAML 6.0.4)")
