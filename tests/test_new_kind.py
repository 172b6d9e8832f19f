"""A new layer kind is one file: the example of docs/spec-format.md ("Adding a layer kind"),
written to a temporary module, is registered, in the JSON Schema, documented, held to torch by
every per-kind oracle and exported, with no other file touched."""

import importlib.util
import re
import runpy
import sys
from pathlib import Path

import pytest

import archcalc
from archcalc.ops.base import REGISTRY, TORCH_CLASSES
from archcalc.spec.schema import spec_schema

torch = pytest.importorskip("torch")

import test_kinds  # noqa: E402

ROOT = Path(__file__).parent.parent
HEADER = """from archcalc.ops.base import (Example, Field, Op, elementwise, keeps_nothing, no_params, none, pointwise,
                               register, same_shape, torch_class)

"""


def docs_example() -> str:
    text = (ROOT / "docs" / "spec-format.md").read_text()
    section = text[text.index("### Adding a layer kind"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def times_kind(tmp_path):
    path = tmp_path / "times_kind.py"
    path.write_text(HEADER + docs_example())
    spec = importlib.util.spec_from_file_location("times_kind", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["times_kind"] = module
    try:
        spec.loader.exec_module(module)
        yield REGISTRY.get("times")
    finally:
        REGISTRY.remove("times")
        TORCH_CLASSES.pop("TimesModule", None)
        sys.modules.pop("times_kind", None)


def test_a_kind_in_one_file_is_registered_schemad_documented_tested_and_exported(times_kind, tmp_path):
    assert times_kind is not None and times_kind.kind == "times"
    schema = spec_schema()
    assert schema["properties"]["defaults"]["properties"]["times"]["properties"]["factor"]
    assert any("times" in item.get("properties", {}) for item in schema["$defs"]["layers"]["items"]["anyOf"])
    table = runpy.run_path(str(ROOT / "docs" / "make_kinds.py"))["render"]()
    assert "| `times` |" in table and "Multiplies every value by a constant." in table
    for index in range(len(times_kind.examples)):
        graph, module = test_kinds.built_example("times", index)
        for check in test_kinds.CHECKS:  # shapes, params, MACs, other ops, saved, RF, export
            check("times", graph, module)
    graph = archcalc.load_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n  - times: 3\n", "s.yaml")
    assert archcalc.analyze(graph).layer("times1").other_ops == 4 * 6 * 6


def test_a_kind_that_forgets_a_rule_is_refused():
    from archcalc.ops.base import Op, no_params, pointwise, register, same_shape

    with pytest.raises(TypeError, match="states no rule for buffers, macs, other_ops, saved_for_backward"):
        @register
        class Forgetful(Op):
            kind = "forgetful"
            output_shape = same_shape
            params = no_params
            receptive_step = pointwise

            def torch_module(self, node):
                raise NotImplementedError
    assert REGISTRY.get("forgetful") is None


def test_choice_fields_have_a_schema():
    """`choice` is a field type like the others: its converter and schema live in one table."""
    from archcalc.ops.base import Field
    from archcalc.spec.fields import TYPES

    assert TYPES["choice"].schema(Field("mode", "choice", "a", choices=("a", "b"))) == {"enum": ["a", "b"]}
