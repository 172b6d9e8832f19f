"""The top-level sections of a spec besides `layers:`, and the builder's error helpers.

`vars:`, `input:`, `defaults:`, `blocks:`, `outputs:`, `expect:` and `reference:` are read
here; :class:`~archcalc.spec.builder.Builder` mixes this class in with the layer-list
walk and :class:`~archcalc.spec.constructs.Constructs`.
"""

from __future__ import annotations

from typing import Any, Mapping

from archcalc.errors import Location, SpecError
from archcalc.graph import Node
from archcalc.limits import LIMITS
from archcalc.lint import CODES
from archcalc.ops import REGISTRY
from archcalc.spec.expressions import ExpressionError, evaluate
from archcalc.spec.fields import FieldError, integer, number
from archcalc.spec.language import (
    BLOCK_KEYS, CONSTRUCT_KEYS, META_KEYS, MODIFIER_KEYS, NAME, REFERENCE_KEYS, describe_raw,
)
from archcalc.spec.scope import Scope
from archcalc.spec.text import FREE_TEXT_EXTRAS, IDENTIFIER_EXTRAS, refused
from archcalc.spec.yaml_loader import LList, LMap, plain_scalar
from archcalc.suggest import did_you_mean, unknown_kind


class Sections:
    """Reads the top-level sections; every part of the builder raises its errors through here."""

    # --- errors -----------------------------------------------------------
    def fail(self, message: str, loc: Location | None, node: str | None = None, hint=None):
        raise SpecError(message, loc, node=node, hint=hint)

    def fail_value(self, exc: FieldError | ExpressionError, loc: Location | None, node: str | None = None,
                   what: str | None = None, text: str | None = None):
        """Raise a converter's or the evaluator's error, its caret inside the written expression."""
        raise self.value_error(exc, loc, node, what, text)

    def value_error(self, exc: FieldError | ExpressionError, loc: Location | None, node: str | None = None,
                    what: str | None = None, text: str | None = None) -> SpecError:
        message = exc.message if what is None else f"{what}: {exc.message}"
        text = getattr(exc, "text", None) or text
        if loc is not None and text is not None:
            loc = loc.within(text, exc.offset)
        return SpecError(message, loc, node=node, hint=exc.hint)

    def codes(self, raw, loc: Location, what: str) -> frozenset[str]:
        """The warning codes of an `ignore:` list."""
        values = list(raw) if isinstance(raw, LList) else [raw]
        for i, code in enumerate(values):
            if not isinstance(code, str) or code not in CODES:
                where = raw.item_loc(i) if isinstance(raw, LList) else loc
                suggestion = did_you_mean(code, CODES) if isinstance(code, str) else ""
                self.fail(f"{what} expected warning codes, got {describe_raw(code)}" + suggestion, where,
                          hint="the codes: " + ", ".join(CODES) + " (docs/warnings.md)")
        return frozenset(values)

    def lint_settings(self) -> tuple[frozenset[str], bool]:
        """The top-level `ignore:` codes and `tensor_cores:` flag."""
        ignore = self.codes(self.doc["ignore"], self.doc.value_loc("ignore"), "`ignore`") \
            if self.doc.get("ignore") is not None else frozenset()
        tensor_cores = self.doc.get("tensor_cores", False)
        if not isinstance(tensor_cores, bool):
            self.fail(f"`tensor_cores` expected true or false, got {describe_raw(tensor_cores)}",
                      self.doc.value_loc("tensor_cores"))
        return ignore, tensor_cores

    def check_text(self, text: str, loc: Location, what: str, free: bool) -> None:
        """Refuse a line break in an identifier, or a tab in free text (archcalc.spec.text)."""
        found = refused(text, FREE_TEXT_EXTRAS if free else IDENTIFIER_EXTRAS)
        if found is not None:
            offset, char = found
            rule = ("free text: printable characters and line breaks" if free
                    else "an identifier: printable characters on one line")
            self.fail(f"{what} holds {char}; it is {rule}", loc.within(text, offset))

    def top_loc(self, key: str) -> Location:
        return self.doc.key_loc(key) if key in self.doc else self.doc.loc()

    # --- top-level sections ---------------------------------------------
    def reference(self) -> dict[str, Any] | None:
        """Published accuracy of the network: `reference: {top1: 71.6, top5: 90.4, source: ...}`."""
        raw = self.doc.get("reference")
        if raw is None:
            return None
        if not isinstance(raw, LMap):
            self.fail("`reference` expected a mapping such as {top1: 71.6, top5: 90.4, source: ...}",
                      self.doc.value_loc("reference"))
        result: dict[str, Any] = {"dataset": "ImageNet"}
        for key, value in raw.items():
            if key not in REFERENCE_KEYS:
                self.fail(f"unknown field '{key}' in `reference`" + did_you_mean(key, REFERENCE_KEYS),
                          raw.key_loc(key), hint="fields: " + ", ".join(REFERENCE_KEYS))
            if key in ("top1", "top5"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
                    self.fail(f"`{key}` expected an accuracy in percent (0 to 100), got {describe_raw(value)}",
                              raw.value_loc(key))
            elif not isinstance(value, str):
                self.fail(f"`{key}` expected text, got {describe_raw(value)}", raw.value_loc(key))
            else:
                self.check_text(value, raw.value_loc(key), f"`reference` {key}", free=key == "source")
            result[key] = value
        if "top1" not in result:
            self.fail("`reference` needs `top1`", raw.loc())
        return result

    def variables(self) -> dict[str, Any]:
        raw = self.doc.get("vars")
        values: dict[str, Any] = {}
        if raw is None:
            raw = LMap()
            raw.src, raw.pos, raw.key_pos, raw.value_pos = self.doc.src, self.doc.pos, {}, {}
        elif not isinstance(raw, LMap):
            self.fail(
                f"`vars` expected a mapping of names to default values, got {describe_raw(raw)}",
                self.doc.value_loc("vars"),
                hint="write `vars: {width: 64, num_classes: 1000}`",
            )
        for name in self.overrides:
            if name not in raw:
                known = list(raw)
                self.fail(
                    f"cannot set unknown variable '{name}'" + did_you_mean(str(name), known),
                    self.top_loc("vars"),
                    hint=("variables of this spec: " + ", ".join(known)) if known else "this spec declares no `vars:`",
                )
        for name, value in raw.items():
            if not NAME.match(name) or name.startswith("__") or "-" in name:
                self.fail(
                    f"variable name '{name}' must be an identifier (letters, digits and '_', not starting with '__')",
                    raw.key_loc(name),
                )
            loc = raw.value_loc(name)
            if name in self.overrides:
                value = self.overrides[name]
                if isinstance(value, str):
                    value = plain_scalar(value)
                what = f"variable '{name}' (set to {value!r})"
            else:
                what = f"variable '{name}'"
            values[name] = self.value(value, values, loc, what)
        return values

    def value(self, raw, scope: Mapping[str, Any], loc: Location, what: str):
        """A number, boolean or list of values from a literal or an expression."""
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, LList):  # held as a tuple: a value no expression can change
            limit = LIMITS.max_integer
            return tuple(item if type(item) is int and -limit <= item <= limit  # most items: no message made
                         else self.value(item, scope, raw.item_loc(i), f"{what}, item {i}") for i, item in enumerate(raw))
        if isinstance(raw, str):
            try:
                result = evaluate(raw, scope)
            except ExpressionError as exc:
                self.fail_value(exc, loc, what=what, text=raw)
            if isinstance(result, (int, float, tuple)):
                return result
            self.fail(f"{what} expected a number, got {result!r}", loc)
        if isinstance(raw, (int, float)):
            try:
                return number(raw, scope, what)
            except FieldError as exc:
                self.fail_value(exc, loc)
        self.fail(
            f"{what} expected a number or an expression, got {describe_raw(raw)}", loc,
            hint="expressions are written as text, e.g. \"2 * width\"" if isinstance(raw, LMap) else None,
        )

    def input_shape(self, values) -> tuple[int, ...]:
        if self.input_override is not None:
            given = self.input_override
            try:
                dims = [plain_scalar(d) if isinstance(d, str) else d for d in given]
                ok = all(isinstance(d, (int, float)) and not isinstance(d, bool) and int(d) == d for d in dims)
                shape = tuple(int(d) for d in dims) if ok else ()
            except (TypeError, ValueError, OverflowError):
                ok = False
            if not ok or len(shape) not in (1, 3) or min(shape) < 1 or max(shape) > LIMITS.max_integer:
                self.fail(f"the input shape expected [C, H, W] of positive integers, got {given!r}",
                          self.top_loc("input"))
            return shape
        raw, loc = self.doc["input"], self.doc.value_loc("input")
        if not isinstance(raw, LList) or len(raw) not in (1, 3):
            got = f"a list of {len(raw)}" if isinstance(raw, LList) else describe_raw(raw)
            self.fail(f"`input` expected [C, H, W] (or [features]), got {got}", loc,
                      hint="e.g. `input: [3, 224, 224]` for an RGB image of 224x224")
        dims = []
        axes = ("channels", "height", "width") if len(raw) == 3 else ("features",)
        for i, dim in enumerate(raw):
            try:
                dims.append(integer(dim, values, f"`input` {axes[i]}", minimum=1, maximum=LIMITS.max_integer))
            except FieldError as exc:
                self.fail_value(exc, raw.item_loc(i))
        return tuple(dims)

    def defaults(self, raw, loc, inherited: dict[str, LMap]) -> dict[str, LMap]:
        if raw is None:
            return inherited
        if not isinstance(raw, LMap):
            self.fail(f"`defaults` expected a mapping from layer kind to arguments, got {describe_raw(raw)}", loc,
                      hint="e.g. `defaults: {conv: {kernel: 3, padding: 1}}`")
        merged = dict(inherited)
        for kind, args in raw.items():
            op = REGISTRY.get(kind)
            if op is None:
                suffix, hint = unknown_kind(kind, REGISTRY.names())
                if kind in self.block_names():
                    hint = "`defaults` apply to layer kinds, not to blocks"
                self.fail(
                    f"`defaults` names unknown layer kind '{kind}'" + suffix,
                    raw.key_loc(kind),
                    hint=hint or "see `archcalc kinds` or docs/spec-format.md for the layer kinds",
                )
            if not isinstance(args, LMap):
                self.fail(
                    f"defaults for '{kind}' expected a mapping of arguments, got {describe_raw(args)}",
                    raw.value_loc(kind),
                    hint=f"write `{kind}: {{name: value, ...}}`",
                )
            known = {f.name for f in op.fields}
            for arg in args:
                if arg not in known:
                    self.fail(self.unknown_arg(op.kind, arg, known), args.key_loc(arg))
            if op.kind in merged:
                combined = LMap(merged[op.kind])
                combined.src, combined.pos = args.src, args.pos
                combined.key_pos = {**merged[op.kind].key_pos, **args.key_pos}
                combined.value_pos = {**merged[op.kind].value_pos, **args.value_pos}
                combined.update(args)
                args = combined
            merged[op.kind] = args
        return merged

    def block_names(self) -> list[str]:
        raw = self.doc.get("blocks")
        return list(raw) if isinstance(raw, LMap) else []

    def read_blocks(self) -> None:
        raw = self.doc.get("blocks")
        if raw is None:
            return
        if not isinstance(raw, LMap):
            self.fail("`blocks` expected a mapping from block name to definition", self.doc.value_loc("blocks"))
        for name, body in raw.items():
            loc = raw.key_loc(name)
            if not NAME.match(name):
                self.fail(f"block name '{name}' must be an identifier (letters, digits, '_' or '-')", loc)
            if REGISTRY.get(name) or name in CONSTRUCT_KEYS or name in META_KEYS or name in MODIFIER_KEYS:
                self.fail(f"block '{name}' has the name of a built-in layer kind or keyword", loc,
                          hint=f"rename the block, e.g. '{name}_block'")
            if isinstance(body, LList):
                wrapped = LMap(layers=body)
                wrapped.src, wrapped.pos = body.src, body.pos
                wrapped.key_pos, wrapped.value_pos = {"layers": body.pos}, {"layers": body.pos}
                body = wrapped
            if not isinstance(body, LMap) or "layers" not in body:
                self.fail(
                    f"block '{name}' expected a mapping with `layers:` (and optional `params:`), got "
                    + ("a mapping without `layers:`" if isinstance(body, LMap) else describe_raw(body)),
                    raw.value_loc(name),
                )
            if isinstance(body.get("doc"), str):
                self.check_text(body["doc"], body.value_loc("doc"), f"`doc` of block '{name}'", free=True)
            for key in body:
                if key not in BLOCK_KEYS:
                    self.fail(
                        f"unknown field '{key}' in block '{name}'" + did_you_mean(key, BLOCK_KEYS), body.key_loc(key)
                    )
            params = body.get("params")
            if params is not None and not isinstance(params, (LMap, LList)):
                self.fail(
                    f"`params` of block '{name}' expected a list of names or a mapping of names to defaults",
                    body.value_loc("params"),
                )
            for i, p in enumerate(params or ()):
                where = params.key_loc(p) if isinstance(params, LMap) else params.item_loc(i)
                if not isinstance(p, str) or not NAME.match(p) or "-" in p or p.startswith("__"):
                    self.fail(
                        f"parameter {describe_raw(p)} of block '{name}' must be an identifier "
                        "(letters, digits and '_', not starting with '__')",
                        where,
                    )
            self.blocks[name] = body

    def outputs(self, last: Node, scope: Scope) -> list[Node]:
        raw = self.doc.get("outputs")
        if raw is None:
            return [last]
        loc = self.doc.value_loc("outputs")
        if isinstance(raw, str):
            raw_list, locs = [raw], [loc]
        elif isinstance(raw, LList) and raw and all(isinstance(x, str) for x in raw):
            raw_list, locs = list(raw), [raw.item_loc(i) for i in range(len(raw))]
        else:
            self.fail(
                f"`outputs` expected a node name or a list of node names (main output first), got {describe_raw(raw)}",
                loc,
            )
        return [self.resolve(name, scope, where, what="`outputs`") for name, where in zip(raw_list, locs)]

    def expectations(self) -> list:
        from archcalc.expect import parse_expectations

        raw = self.doc.get("expect")
        if raw is None:
            return []
        return parse_expectations(raw, self.doc.value_loc("expect"), self)
