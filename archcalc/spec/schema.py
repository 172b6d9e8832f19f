"""A JSON Schema of the spec format, generated from the layer kinds so it cannot fall behind.

Editors (VS Code's YAML extension, JetBrains IDEs) use it to complete and check
specs as they are typed: `archcalc schema -o archcalc.schema.json`, then point
the editor at it, or add `# yaml-language-server: $schema=archcalc.schema.json`
to a spec. The schema checks structure; archcalc itself still checks meaning
(shapes, names, expressions).
"""

from __future__ import annotations

import re
from typing import Any

from archcalc.expect import ENTRY_KEYS, TOTAL_METRICS
from archcalc.lint import CODES
from archcalc.ops import REGISTRY, Field
from archcalc.spec.fields import EXPR_SCHEMA, TYPES, integer_schema
from archcalc.spec.language import CONSTRUCT_KEYS, REFERENCE_KEYS, SHORTCUTS, TOP_KEYS

SCHEMA_ID = "https://archcalc.invalid/schema/spec-1.json"
_IDENTIFIER = "[A-Za-z0-9_\\-]"
# Misspellings are looked for only in kinds of five letters or more: a block may well be
# called `b1` or `fc2`, one edit from `bn` and `fc`.
_NEAR_MISS_LENGTH = 5
_META = {
    "name": {"type": "string", "pattern": r"^([A-Za-z_][A-Za-z0-9_\-]*|[0-9]+)$"},
    "from": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
    "frozen": {"type": "boolean"},
    "when": {"anyOf": [{"type": "boolean"}, EXPR_SCHEMA]},
    "ignore": {"type": "array", "items": {"enum": sorted(CODES)}, "description": "warning codes to silence"},
}


def _field(field: Field) -> dict[str, Any]:
    schema = dict(TYPES[field.type].schema(field))
    if field.doc:
        schema["description"] = field.doc
    return schema


def _kind_items(kind: str, op) -> list[dict[str, Any]]:
    """The forms of one kind: by name (mapping), positional (list or scalar), or bare."""
    args = {f.name: _field(f) for f in op.fields}
    mapping = {"type": "object", "properties": {**args, **_META}, "additionalProperties": False}
    value: dict[str, Any] = {"anyOf": [mapping, {"type": "null"}]}
    if op.positional:
        positional = [args[name] for name in op.positional]
        value["anyOf"] += [
            {"type": "array", "prefixItems": positional, "items": False, "maxItems": len(positional)},
            positional[0],
        ]
    return [{
        "type": "object",
        "required": [kind],
        "properties": {kind: value, **_META},
        "additionalProperties": False,
    }]


def near_miss_pattern(kinds: list[str]) -> str:
    """A regular expression for the names one edit (a letter left out, added, changed or two
    swapped) from a kind of five letters or more, as `maxpol` is from `maxpool`.

    A block call or a bare item so named is far likelier a misspelt kind than a block, and
    a schema cannot look up which blocks a spec defines; so editors flag it.
    """
    alternatives = []
    for kind in kinds:
        if len(kind) < _NEAR_MISS_LENGTH:
            continue
        for i in range(len(kind) + 1):
            head, tail = re.escape(kind[:i]), re.escape(kind[i:])
            alternatives.append(f"{head}{_IDENTIFIER}{tail}")  # one added
            if i < len(kind):
                alternatives.append(f"{head}{_IDENTIFIER}?{re.escape(kind[i + 1:])}")  # one left out or changed
            if i + 1 < len(kind):
                alternatives.append(re.escape(kind[:i] + kind[i + 1] + kind[i] + kind[i + 2:]))  # two swapped
    return "^(" + "|".join(alternatives) + ")$"


def spec_schema() -> dict[str, Any]:
    kinds = sorted(name for name, op in REGISTRY.ops.items() if not op.graph_input)
    layer_list = {"$ref": "#/$defs/layers"}
    near_miss = {"$ref": "#/$defs/near_miss"}
    reserved = [*kinds, *CONSTRUCT_KEYS, "layers", "shortcut", "index", "dense"]
    items: list[dict[str, Any]] = [{"type": "string", "description": "a layer kind without arguments, or a block",
                                    "anyOf": [{"enum": kinds}, {"not": near_miss}]}]
    for name in kinds:
        items += _kind_items(name, REGISTRY.get(name))
    branches = {"type": "array", "items": layer_list, "minItems": 1}
    for merge in (name for name in kinds if REGISTRY.get(name).branch_merge):
        items.append({"type": "object", "required": [merge], "properties": {merge: branches, **_META},
                      "additionalProperties": False})
    items += [
        {"type": "object", "required": ["repeat", "layers"], "additionalProperties": False,
         "properties": {"repeat": integer_schema(1), "layers": layer_list, "index": {"type": "string"},
                        "dense": {"type": "boolean"}, **_META}},
        {"type": "object", "required": ["residual"], "additionalProperties": False,
         "properties": {"residual": layer_list, "shortcut": {"anyOf": [{"enum": list(SHORTCUTS)}, layer_list]},
                        **_META}},
        {"type": "object", "required": ["layers"], "additionalProperties": False,
         "properties": {"layers": layer_list, **_META}},
        {"type": "object", "required": ["split"], "additionalProperties": False,
         "description": "channels parted into views by sizes; the parts are name.0, name.1, ...",
         "properties": {"split": {"anyOf": [{"type": "array", "items": integer_schema(1), "minItems": 1},
                                            EXPR_SCHEMA]}, **_META}},
        {"type": "object", "required": ["chunk"], "additionalProperties": False,
         "description": "channels parted into n views as torch.chunk does; the parts are name.0, name.1, ...",
         "properties": {"chunk": integer_schema(1), **_META}},
        {"type": "object", "description": "a call of a block defined under `blocks:`", "minProperties": 1,
         "propertyNames": {"not": {"anyOf": [{"enum": reserved}, near_miss]}}},
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
        "input": {"type": "array", "items": integer_schema(1), "minItems": 1, "maxItems": 3},
        "vars": {"type": "object", "additionalProperties": {"$ref": "#/$defs/value"}},
        "defaults": {
            "type": "object",
            "properties": {
                name: {"type": "object", "properties": {f.name: _field(f) for f in REGISTRY.get(name).fields},
                       "additionalProperties": False}
                for name in kinds
            },
            "additionalProperties": False,
        },
        "blocks": {
            "type": "object",
            "propertyNames": {"not": {"enum": reserved}},
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
        "$defs": {
            "layers": {"type": "array", "items": {"anyOf": items}},
            "value": {"anyOf": [{"type": ["number", "string", "boolean"]},
                                {"type": "array", "items": {"$ref": "#/$defs/value"}}]},
            "near_miss": {"type": "string", "pattern": near_miss_pattern(kinds),
                          "description": "a name one edit from a layer kind: a misspelt kind"},
        },
    }
