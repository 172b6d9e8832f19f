"""The published JSON Schema accepts every built-in spec and every docs example, and catches typos."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

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
])
def test_schema_catches_typos(validator, bad):
    assert list(validator.iter_errors(plain(load_yaml(bad, "bad.yaml"))))


def test_schema_command(tmp_path):
    out = tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["schema", "-o", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text()) == spec_schema()
