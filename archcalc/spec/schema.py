"""A JSON Schema of the spec format, generated from the layer kinds so it cannot fall behind.

Editors (VS Code's YAML extension, JetBrains IDEs) use it to complete and check
specs as they are typed: `archcalc schema -o archcalc.schema.json`, then point
the editor at it, or add `# yaml-language-server: $schema=archcalc.schema.json`
to a spec. The schema checks structure; archcalc itself still checks meaning
(shapes, names, expressions).
"""

from __future__ import annotations

from typing import Any

from archcalc.expect import ENTRY_KEYS, TOTAL_METRICS
from archcalc.lint import CODES
from archcalc.ops import REGISTRY, Field
from archcalc.spec.language import META_KEYS, REFERENCE_KEYS, SHORTCUTS, TOP_KEYS

SCHEMA_ID = "https://archcalc.invalid/schema/spec-1.json"
_EXPR = {"type": "string", "description": "an expression, e.g. \"4 * width\""}
_INT = {"anyOf": [{"type": "integer"}, _EXPR]}
_PAIR = {"anyOf": [{"type": "integer"}, _EXPR, {"type": "array", "items": _INT, "minItems": 2, "maxItems": 2}]}
_FIELD_TYPES: dict[str, dict[str, Any]] = {
    "int": _INT,
    "pair": _PAIR,
    "padding": {"anyOf": [{"enum": ["same", "valid"]}, *_PAIR["anyOf"]]},
    "float": {"anyOf": [{"type": "number"}, _EXPR]},
    "bool": {"anyOf": [{"type": "boolean"}, _EXPR]},
    "table": {"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": 0}}},
}
_META = {
    "name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_\-]*$"},
    "from": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
    "frozen": {"type": "boolean"},
    "when": {"anyOf": [{"type": "boolean"}, _EXPR]},
    "ignore": {"type": "array", "items": {"enum": sorted(CODES)}, "description": "warning codes to silence"},
}
assert set(_META) == set(META_KEYS)


def _field(field: Field) -> dict[str, Any]:
    schema = dict(_FIELD_TYPES[field.type])
    if field.doc:
        schema["description"] = field.doc
    return schema


def _kind_items(kind: str, fields: tuple[Field, ...]) -> list[dict[str, Any]]:
    """The forms of one kind: by name (mapping), positional (list or scalar), or bare."""
    args = {f.name: _field(f) for f in fields}
    mapping = {"type": "object", "properties": {**args, **_META}, "additionalProperties": False}
    value: dict[str, Any] = {"anyOf": [mapping, {"type": "null"}]}
    if fields:
        value["anyOf"] += [{"type": "array"}, {"type": ["integer", "number", "string"]}]
    return [{
        "type": "object",
        "required": [kind],
        "properties": {kind: value, **_META},
        "additionalProperties": False,
    }]


def spec_schema() -> dict[str, Any]:
    kinds = sorted(REGISTRY.ops)
    layer_list = {"$ref": "#/$defs/layers"}
    items: list[dict[str, Any]] = [{"type": "string", "description": "a layer kind without arguments, or a block"}]
    for name in kinds:
        op = REGISTRY.get(name)
        if op.kind != "input":
            items += _kind_items(name, op.fields)
    branches = {"type": "array", "items": layer_list, "minItems": 1}
    for merge in ("concat", "add", "multiply", "mean"):
        items.append({"type": "object", "required": [merge], "properties": {merge: branches, **_META},
                      "additionalProperties": False})
    items += [
        {"type": "object", "required": ["repeat", "layers"], "additionalProperties": False,
         "properties": {"repeat": _INT, "layers": layer_list, "index": {"type": "string"},
                        "dense": {"type": "boolean"}, **_META}},
        {"type": "object", "required": ["residual"], "additionalProperties": False,
         "properties": {"residual": layer_list, "shortcut": {"anyOf": [{"enum": list(SHORTCUTS)}, layer_list]},
                        **_META}},
        {"type": "object", "required": ["layers"], "additionalProperties": False,
         "properties": {"layers": layer_list, **_META}},
        {"type": "object", "description": "a call of a block defined under `blocks:`", "minProperties": 1,
         "propertyNames": {"not": {"enum": [*kinds, "repeat", "residual", "layers", "shortcut", "index", "dense"]}}},
    ]
    number_or_text = {"anyOf": [{"type": "number"}, {"type": "string"}]}
    expect_entry = {
        "type": "object",
        "properties": {
            **{m: {"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "array", "items": {"type": "integer"}}]}
               for m in TOTAL_METRICS},
            "node": {"type": "string"},
            "tolerance": number_or_text,
            "source": {"type": "string"},
            "with": {"type": "object"},
        },
        "additionalProperties": False,
        "minProperties": 1,
    }
    assert set(ENTRY_KEYS) <= set(expect_entry["properties"])
    properties = {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "source": {"type": "string"},
        "notes": {"type": "string"},
        "input": {"type": "array", "items": _INT, "minItems": 1, "maxItems": 3},
        "vars": {"type": "object", "additionalProperties": {"type": ["number", "string", "boolean"]}},
        "defaults": {
            "type": "object",
            "properties": {
                name: {"type": "object", "properties": {f.name: _field(f) for f in REGISTRY.get(name).fields},
                       "additionalProperties": False}
                for name in kinds if name != "input"
            },
            "additionalProperties": False,
        },
        "blocks": {
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    layer_list,
                    {"type": "object", "required": ["layers"], "additionalProperties": False,
                     "properties": {"params": {"anyOf": [{"type": "array", "items": {"type": "string"}},
                                                        {"type": "object"}]},
                                    "defaults": {"$ref": "#/properties/defaults"},
                                    "layers": layer_list, "doc": {"type": "string"}}},
                ]
            },
        },
        "layers": layer_list,
        "outputs": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
        "expect": {"type": "array", "items": expect_entry},
        "reference": {
            "type": "object",
            "required": ["top1"],
            "properties": {"top1": {"type": "number", "minimum": 0, "maximum": 100},
                           "top5": {"type": "number", "minimum": 0, "maximum": 100},
                           "dataset": {"type": "string"}, "source": {"type": "string"}},
            "additionalProperties": False,
        },
        "ignore": _META["ignore"],
        "tensor_cores": {"type": "boolean", "description": "warn about channel counts that are not multiples of 8"},
    }
    assert set(properties) == set(TOP_KEYS)
    assert set(REFERENCE_KEYS) == set(properties["reference"]["properties"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "archcalc architecture spec",
        "type": "object",
        "required": ["input", "layers"],
        "properties": properties,
        "additionalProperties": False,
        "$defs": {"layers": {"type": "array", "items": {"anyOf": items}}},
    }
