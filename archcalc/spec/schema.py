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
from archcalc.spec.language import REFERENCE_KEYS, SHORTCUTS, TOP_KEYS

SCHEMA_ID = "https://archcalc.invalid/schema/spec-1.json"
# An expression is any text but a YAML 1.1 boolean word: archcalc reads YAML 1.2, where
# `bias: yes` is the text 'yes', which no field accepts (the loader says so with a hint).
_EXPR = {"type": "string", "description": "an expression, e.g. \"4 * width\"",
         "not": {"pattern": "^\\s*([Yy]([Ee][Ss])?|[Nn][Oo]?|[Oo]([Nn]|[Ff][Ff]))\\s*$"}}
_IDENTIFIER = "[A-Za-z0-9_\\-]"
# Misspellings are looked for only in kinds of five letters or more: a block may well be
# called `b1` or `fc2`, one edit from `bn` and `fc`.
_NEAR_MISS_LENGTH = 5
_META = {
    "name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_\-]*$"},
    "from": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
    "frozen": {"type": "boolean"},
    "when": {"anyOf": [{"type": "boolean"}, _EXPR]},
    "ignore": {"type": "array", "items": {"enum": sorted(CODES)}, "description": "warning codes to silence"},
}


def _integer(minimum=None, maximum=None) -> dict[str, Any]:
    """An integer literal within the bounds, or an expression (checked when it is evaluated)."""
    literal: dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        literal["minimum"] = minimum
    if maximum is not None:
        literal["maximum"] = maximum
    return {"anyOf": [literal, _EXPR]}


def _pair(minimum=None) -> dict[str, Any]:
    one = _integer(minimum)
    return {"anyOf": [*one["anyOf"], {"type": "array", "items": one, "minItems": 2, "maxItems": 2}]}


def _field(field: Field) -> dict[str, Any]:
    """The schema of one argument, with the bounds and choices its converter enforces."""
    if field.type == "int":
        schema = _integer(field.minimum, field.maximum)
    elif field.type == "pair":
        schema = _pair(field.minimum)
    elif field.type == "padding":
        schema = {"anyOf": [{"enum": ["same", "valid"]}, *_pair(0)["anyOf"]]}
    elif field.type == "float":
        number: dict[str, Any] = {"type": "number"}
        if field.minimum is not None:
            number["minimum"] = field.minimum
        if field.maximum is not None:
            number["maximum"] = field.maximum
        schema = {"anyOf": [number, _EXPR]}
    elif field.type == "bool":
        schema = {"anyOf": [{"type": "boolean"}, _EXPR]}
    elif field.type == "table":
        schema = {"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": 0}}}
    elif field.type == "choice":
        schema = {"enum": list(field.choices)}
    else:
        raise AssertionError(f"no schema for field type {field.type}")
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
    kinds = sorted(REGISTRY.ops)
    layer_list = {"$ref": "#/$defs/layers"}
    layer_kinds = [name for name in kinds if REGISTRY.get(name).kind != "input"]
    near_miss = {"$ref": "#/$defs/near_miss"}
    reserved = [*kinds, "repeat", "residual", "layers", "shortcut", "index", "dense"]
    items: list[dict[str, Any]] = [{"type": "string", "description": "a layer kind without arguments, or a block",
                                    "anyOf": [{"enum": layer_kinds}, {"not": near_miss}]}]
    for name in layer_kinds:
        items += _kind_items(name, REGISTRY.get(name))
    branches = {"type": "array", "items": layer_list, "minItems": 1}
    for merge in ("concat", "add", "multiply", "mean"):
        items.append({"type": "object", "required": [merge], "properties": {merge: branches, **_META},
                      "additionalProperties": False})
    items += [
        {"type": "object", "required": ["repeat", "layers"], "additionalProperties": False,
         "properties": {"repeat": _integer(1), "layers": layer_list, "index": {"type": "string"},
                        "dense": {"type": "boolean"}, **_META}},
        {"type": "object", "required": ["residual"], "additionalProperties": False,
         "properties": {"residual": layer_list, "shortcut": {"anyOf": [{"enum": list(SHORTCUTS)}, layer_list]},
                        **_META}},
        {"type": "object", "required": ["layers"], "additionalProperties": False,
         "properties": {"layers": layer_list, **_META}},
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
        "input": {"type": "array", "items": _integer(1), "minItems": 1, "maxItems": 3},
        "vars": {"type": "object", "additionalProperties": {"type": ["number", "string", "boolean"]}},
        "defaults": {
            "type": "object",
            "properties": {
                name: {"type": "object", "properties": {f.name: _field(f) for f in REGISTRY.get(name).fields},
                       "additionalProperties": False}
                for name in layer_kinds
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
            "near_miss": {"type": "string", "pattern": near_miss_pattern(layer_kinds),
                          "description": "a name one edit from a layer kind: a misspelt kind"},
        },
    }
