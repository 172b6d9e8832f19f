"""The published JSON Schema accepts every built-in spec and every docs example, and catches typos."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import archcalc

from archcalc.cli import cli
from archcalc.library import builtin_paths
from archcalc.spec.schema import spec_schema
from archcalc.spec.yaml_loader import load_yaml_file, load_yaml

jsonschema = pytest.importorskip("jsonschema")
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def validator():
    schema = spec_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def plain(value):
    """LMap/LList to plain dicts and lists, as an editor would see the YAML."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@pytest.mark.parametrize("name", sorted(builtin_paths()))
def test_builtin_specs_validate(validator, name):
    errors = list(validator.iter_errors(plain(load_yaml_file(builtin_paths()[name]))))
    assert not errors, [e.message for e in errors[:3]]


def test_docs_examples_validate(validator):
    text = (ROOT / "docs" / "spec-format.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if re.search(r"^layers:", b, re.M)]
    for block in blocks:
        assert not list(validator.iter_errors(plain(load_yaml(block, "doc.yaml")))), block


@pytest.mark.parametrize("bad", [
    "input: [3, 8, 8]\nlayer: []\n",
    "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernal: 3}\n",
    "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3, bias: 3}\n",
    "input: [3, 8, 8]\nlayers:\n  - repeat: 2\n    layer: [relu]\n",
    "input: [3, 8, 8]\nlayers:\n  - residual: [relu]\n    shortcut: sideways\n",
    "input: [3, 8, 8]\nlayers: [relu]\nexpect:\n  - {parms: 3}\n",
    "input: [3, 8, 8]\nlayers:\n  - maxpol: [2, 2]\n",
    "input: [3, 8, 8]\nlayers:\n  - batchnrom\n",
    "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3, stride: 0}\n",
    "input: [3, 8, 8]\nlayers:\n  - conv: [8, 3, 1, 1, 2]\n",
    "input: [3, 8, 8]\nlayers:\n  - conv: [8, [3, 0]]\n",
    "input: [3, 8, 8]\nlayers:\n  - dropout: 1.5\n",
    "input: [3, 8, 8]\nlayers:\n  - relu: [1]\n",
    "input: [3, 8, 8]\nlayers:\n  - repeat: 0\n    layers: [relu]\n",
    "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3, bias: \"off\"}\n",
])
def test_schema_catches_typos(validator, bad):
    assert list(validator.iter_errors(plain(load_yaml(bad, "bad.yaml"))))


def test_schema_command(tmp_path):
    out = tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["schema", "-o", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text()) == spec_schema()


BAD_SPECS = ROOT / "tests" / "bad_specs"
# The bad specs whose fault is structure, which a schema can see: a kind, key or type that
# does not exist, a literal out of its range, too many positional arguments.
STRUCTURAL = {
    "bad_expect_metric", "block_named_like_kind", "branch_not_list", "frozen_not_bool",
    "input_not_list", "integer_literal_too_long", "list_for_mapping", "missing_input", "missing_layers",
    "name_starts_with_digit",
    "negative_size", "too_many_positional", "two_kinds_one_item", "unknown_argument", "unknown_default_kind",
    "unknown_kind", "unknown_shortcut", "unknown_top_level", "vars_list", "when_not_condition", "yes_for_bool",
    "zero_input", "zero_size",
}
# YAML the loader refuses before there is a document to validate (or none at all).
UNREADABLE = {"alias_bomb", "duplicate_key", "empty_spec", "python_tag", "tab_indent", "two_documents", "unknown_tag",
              "yaml_bad_indent", "yaml_syntax"}


def test_every_bad_spec_is_classified():
    """A new bad spec must be sorted here: structural (the schema refuses it) or not."""
    meaning = {
        "add_shapes", "block_missing_argument", "block_unknown_argument", "channels_below_one", "concat_spatial",
        "conv_on_flat", "duplicate_node", "error_in_block", "expr_attribute", "expr_import", "expr_lambda",
        "expr_power", "expr_syntax", "flow_comma", "from_cycle", "from_self", "groups_not_divisible",
        "kernel_too_large", "linear_on_image", "merge_one_input", "missing_argument", "multiply_shapes",
        "mutual_recursion", "non_integer_size", "output_below_one", "outputs_unknown", "pool_on_flat",
        "pool_padding", "recursive_block", "repeat_limit", "repeat_past_node_limit", "residual_identity_shapes",
        "shortcut_mismatch", "string_for_number", "text_for_number", "undefined_from", "undefined_name",
        "unknown_dollar", "unknown_function", "unknown_override", "framework_kind_name", "list_arithmetic",
        "list_index_range", "log_domain", "split_named_whole", "split_sizes", "unsupported_kind",
    }
    assert STRUCTURAL | UNREADABLE | meaning == {p.stem for p in BAD_SPECS.glob("*.yaml")}


@pytest.mark.parametrize("name", sorted(STRUCTURAL))
def test_structural_bad_specs_are_invalid(validator, name):
    document = plain(load_yaml_file(BAD_SPECS / f"{name}.yaml"))
    assert list(validator.iter_errors(document))


@pytest.mark.parametrize("text", [
    "input: [3, 8, 8]\nlayers:\n  - conv: [8, [3, 1], 1, same]\n",
    "input: [3, 8, 8]\nlayers:\n  - conv: {out: \"2 * $in\", kernel: 3, bias: false}\n  - relu\n",
    "input: [3, 8, 8]\nlayers:\n  - dropout: 0.5\n  - maxpool: 2\n",
    "input: [3, 8, 8]\nblocks:\n  stem: [relu]\n  unit2: [relu]\nlayers:\n  - stem\n  - unit2: {name: u}\n",
])
def test_schema_accepts_what_the_loader_accepts(validator, text):
    assert not list(validator.iter_errors(plain(load_yaml(text, "ok.yaml"))))
    archcalc.load_text(text, "ok.yaml")


def test_kinds_are_an_enum_and_fields_carry_their_bounds():
    schema = spec_schema()
    items = schema["$defs"]["layers"]["items"]["anyOf"]
    bare = items[0]
    assert "maxpool" in bare["anyOf"][0]["enum"] and "input" not in bare["anyOf"][0]["enum"]
    conv = next(i for i in items if i.get("required") == ["conv"])["properties"]["conv"]
    mapping, _, positional, scalar = conv["anyOf"]
    assert mapping["additionalProperties"] is False
    assert mapping["properties"]["out"]["anyOf"][0] == {"type": "integer", "minimum": 1}
    assert positional["maxItems"] == 4 and positional["items"] is False
    assert scalar == mapping["properties"]["out"]
    dropout = next(i for i in items if i.get("required") == ["dropout"])["properties"]["dropout"]
    assert dropout["anyOf"][0]["properties"]["p"]["anyOf"][0] == {"type": "number", "minimum": 0, "maximum": 1}


def test_every_meta_key_has_a_schema():
    from archcalc.spec.language import META_KEYS
    from archcalc.spec.schema import _META

    assert set(_META) == set(META_KEYS)
