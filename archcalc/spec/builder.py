"""From a parsed spec to a layer graph: vars, defaults, blocks, repeats, branches.

The builder walks the layer list once, in order, creating nodes and inferring
each output shape as it goes. Expressions are evaluated where they are used, so
``$in`` (the input channels), ``$h`` and ``$w`` are known, and block arguments
see the caller's values. Every error is raised as a SpecError at the exact
spot of the spec text that caused it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from archcalc.collector import paused_gc
from archcalc.errors import Location, SpecError
from archcalc.graph import Graph, Node
from archcalc.limits import LIMITS, raise_hint
from archcalc.ops import REGISTRY, Op, OpError
from archcalc.ops.base import describe
from archcalc.spec.expressions import ExpressionError, dollar_name, evaluate
from archcalc.spec.fields import FieldError, convert, integer, number
from archcalc.spec.yaml_loader import LList, LMap, plain_scalar
from archcalc.suggest import did_you_mean

TOP_KEYS = (
    "name", "title", "source", "notes", "input", "vars", "defaults", "blocks",
    "layers", "outputs", "expect", "reference",
)
REFERENCE_KEYS = ("top1", "top5", "dataset", "source")
META_KEYS = ("name", "from", "frozen", "when")
BRANCH_MERGES = ("concat", "add", "multiply", "mean")
CONSTRUCT_KEYS = {
    "repeat": ("layers", "index", "dense"),
    "residual": ("shortcut",),
    "concat": (),
    "add": (),
    "multiply": (),
    "mean": (),
}
MODIFIER_KEYS = {"layers", "index", "dense", "shortcut"}
SHORTCUTS = ("auto", "identity", "projection", "optional", "none")
BLOCK_KEYS = ("params", "defaults", "layers", "doc")
_QUOTE_HINT = (
    "inside `{ }` or `[ ]` a comma separates entries; quote expressions that contain commas, "
    "e.g. `out: \"max(16, width)\"`"
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_MISSING = object()
_IN, _H, _W = dollar_name("in"), dollar_name("h"), dollar_name("w")


@dataclass
class Scope:
    """Where an item is built: its name path, visible values and defaults."""

    path: tuple[str, ...]
    values: dict[str, Any]
    defaults: dict[str, LMap]
    blocks_open: tuple[str, ...] = ()
    frozen: bool = False
    counters: dict[str, int] = field(default_factory=dict)
    opened: bool = False  # made for one item, so its output can be named by the path

    def full(self, local: str) -> str:
        return ".".join((*self.path, local))

    @property
    def label(self) -> str | None:
        return ".".join(self.path) or None

    def auto_name(self, base: str) -> str:
        n = self.counters.get(base, 0) + 1
        self.counters[base] = n
        return f"{base}{n}"

    def same(self, **changes) -> "Scope":
        """This scope with other values or defaults; names keep counting in it."""
        return Scope(
            path=self.path,
            values=changes.get("values", self.values),
            defaults=changes.get("defaults", self.defaults),
            blocks_open=changes.get("blocks_open", self.blocks_open),
            frozen=changes.get("frozen", self.frozen),
            counters=self.counters,
        )

    def child(self, local: str, **changes) -> "Scope":
        return Scope(
            path=(*self.path, local),
            values=changes.get("values", self.values),
            defaults=changes.get("defaults", self.defaults),
            blocks_open=changes.get("blocks_open", self.blocks_open),
            frozen=changes.get("frozen", self.frozen),
            opened=True,
        )


@dataclass
class Item:
    """One entry of a layer list, split into its head, arguments and meta fields."""

    head: str
    args: Any
    args_loc: Location
    loc: Location
    meta: dict[str, Any]
    meta_locs: dict[str, Location]
    extra: LMap | None  # the whole mapping, for construct modifiers

    def modifier(self, key: str, default=None):
        if self.extra is not None and key in self.extra:
            return self.extra[key]
        return default

    def modifier_loc(self, key: str) -> Location:
        if self.extra is not None and key in self.extra:
            return self.extra.value_loc(key)
        return self.loc


class Builder:
    def __init__(self, doc, source_name: str, overrides: Mapping[str, Any] | None, input_shape):
        if not isinstance(doc, LMap):
            loc = doc.loc() if isinstance(doc, LList) else Location(source_name, 1, 1)
            raise SpecError("a spec is a mapping with at least `input:` and `layers:`", loc)
        self.doc = doc
        self.source_name = source_name
        self.overrides = dict(overrides or {})
        self.input_override = input_shape
        self.names: dict[str, Node] = {}
        self.scope_outputs: dict[str, Node] = {}
        self.blocks: dict[str, LMap] = {}
        self.edges = 0
        self.depth = 0  # layer lists being built, one inside the other
        self._written: dict[str, Location] | None = None
        self.graph: Graph | None = None
        self._field_names: dict[Op, list[str]] = {}  # per layer kind, for arguments()
        self._fields: dict[Op, list] = {}  # per layer kind, for add_node()
        # (nodes before, copies, item) of each repeat whose first copy is being built
        self.first_copies: list[tuple[int, int, Item]] = []
        self._allowed: dict[str, set[str]] = {}  # per item head, for split()

    # --- errors -----------------------------------------------------------
    def fail(self, message: str, loc: Location | None, node: str | None = None, hint=None):
        raise SpecError(message, loc, node=node, hint=hint)

    def fail_value(self, exc: FieldError | ExpressionError, loc: Location | None, node: str | None = None,
                   what: str | None = None, text: str | None = None):
        """Raise a converter's or the evaluator's error, its caret inside the written expression."""
        message = exc.message if what is None else f"{what}: {exc.message}"
        text = getattr(exc, "text", None) or text
        if loc is not None and text is not None:
            loc = loc.within(text, exc.offset)
        raise SpecError(message, loc, node=node, hint=exc.hint)

    def top_loc(self, key: str) -> Location:
        return self.doc.key_loc(key) if key in self.doc else self.doc.loc()

    # --- top level --------------------------------------------------------
    def build(self) -> Graph:
        try:
            with paused_gc():
                return self._build()
        except RecursionError:  # a backstop: the depth limits should stop any spec before this
            raise SpecError(
                "the spec nests layers too deeply to build", self.doc.loc(),
                hint="lower the nesting of blocks, repeats and branches",
            ) from None

    def _build(self) -> Graph:
        doc = self.doc
        for key in doc:
            if key not in TOP_KEYS:
                self.fail(
                    f"unknown top-level field '{key}'" + did_you_mean(key, TOP_KEYS),
                    doc.key_loc(key),
                    hint="top-level fields: " + ", ".join(TOP_KEYS),
                )
        examples = {"input": "`input: [3, 224, 224]` (channels, height, width)",
                     "layers": "`layers:` followed by a list such as `- conv: {out: 64, kernel: 3}`"}
        for key in ("input", "layers"):
            if key not in doc:
                self.fail(f"the spec has no `{key}:`; every spec needs `input:` and `layers:`", doc.loc(),
                          hint=f"add {examples[key]}")
        texts = {}
        for key in ("name", "title", "source", "notes"):
            value = doc.get(key)
            if value is not None and not isinstance(value, (str, int, float)) or isinstance(value, bool):
                self.fail(f"`{key}` expected text, got {describe_raw(value)}", doc.value_loc(key))
            texts[key] = "" if value is None else str(value)
        values = self.variables()
        self.graph = Graph(
            name=texts["name"] or self.source_name,
            title=texts["title"],
            source=texts["source"],
            variables={k: v for k, v in values.items() if not k.startswith("__")},
            file=self.source_name,
        )
        defaults = self.defaults(doc.get("defaults"), doc.value_loc("defaults") if "defaults" in doc else None, {})
        self.read_blocks()
        scope = Scope(path=(), values=values, defaults=defaults)
        start = self.graph.add(
            Node("input", REGISTRY.get("input"), {"shape": self.input_shape(values)}, [], None, self.top_loc("input"))
        )
        start.shape = start.args["shape"]
        self.names["input"] = start
        last = self.layer_list(doc["layers"], doc.value_loc("layers"), scope, start, "layers", fresh=False)
        self.graph.outputs = self.outputs(last, scope)
        self.graph.expectations = self.expectations()
        self.graph.reference = self.reference()
        self.graph.scopes = {k: v.name for k, v in self.scope_outputs.items()}
        self.graph.finish()
        return self.graph

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
            if not _NAME.match(name) or name.startswith("__") or "-" in name:
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
        """A number or boolean from a literal or an expression."""
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            try:
                result = evaluate(raw, scope)
            except ExpressionError as exc:
                self.fail_value(exc, loc, what=what, text=raw)
            if isinstance(result, (int, float)):
                return result
            self.fail(f"{what} expected a number, got {result!r}", loc)
        if isinstance(raw, (int, float)):
            try:
                return number(raw, scope, what)
            except FieldError as exc:
                self.fail_value(exc, loc)
        self.fail(
            f"{what} expected a number or an expression, got {describe_raw(raw)}", loc,
            hint="expressions are written as text, e.g. \"2 * width\"" if isinstance(raw, (LList, LMap)) else None,
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
                hint = None if kind not in self.block_names() else "`defaults` apply to layer kinds, not to blocks"
                self.fail(
                    f"`defaults` names unknown layer kind '{kind}'" + did_you_mean(kind, REGISTRY.ops),
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
            if not _NAME.match(name):
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
                if not isinstance(p, str) or not _NAME.match(p) or "-" in p or p.startswith("__"):
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

    # --- layer lists ------------------------------------------------------
    def layer_list(self, raw, loc: Location, scope: Scope, cur: Node, what: str, fresh: bool = True) -> Node:
        """Build a list of items; ``fresh`` says the scope was made for this list alone."""
        if raw is None:
            return cur
        if not isinstance(raw, LList):
            self.fail(f"`{what}` expected a list of layers, got {describe_raw(raw)}", loc)
        if self.depth >= LIMITS.max_layer_depth:
            self.fail(
                f"layer lists are nested more than {LIMITS.max_layer_depth} levels deep, counting block calls",
                loc,
                hint=raise_hint("max_layer_depth"),
            )
        sole = fresh and len(raw) == 1
        self.depth += 1
        try:
            for i, entry in enumerate(raw):
                cur = self.item(self.split(entry, raw.item_loc(i)), scope, cur, sole)
        finally:
            self.depth -= 1
        return cur

    def split(self, entry, loc: Location) -> Item:
        if isinstance(entry, str):
            return Item(entry, None, loc, loc, {}, {}, None)
        if not isinstance(entry, LMap):
            self.fail(
                f"expected a layer such as `relu` or `conv: {{out: 64, kernel: 3}}`, got {describe_raw(entry)}", loc
            )
        if not entry:
            self.fail("empty layer entry", loc)
        heads = [k for k in entry if k not in META_KEYS and k not in MODIFIER_KEYS]
        if "repeat" in entry:
            heads = ["repeat"]
        if not heads:
            if "layers" in entry:
                heads = ["layers"]
            else:
                self.fail("this entry names no layer kind, only " + ", ".join(f"`{k}`" for k in entry), loc)
        if len(heads) > 1:
            self.fail(
                f"one entry holds two layers, '{heads[0]}' and '{heads[1]}'; write each layer as its own list item",
                entry.key_loc(heads[1]),
            )
        head = heads[0]
        meta = {k: entry[k] for k in META_KEYS if k in entry}
        meta_locs = {k: entry.value_loc(k) for k in meta}
        args = entry[head]
        if isinstance(args, LMap) and head not in ("repeat", "residual", "layers"):
            # Meta keys may also be written inside the argument mapping.
            inner = [k for k in META_KEYS if k in args]
            for key in inner:
                if key in meta:
                    self.fail(f"`{key}` is given twice, beside '{head}' and inside its arguments", args.key_loc(key))
                meta[key], meta_locs[key] = args[key], args.value_loc(key)
            if inner:
                args = args.without(inner)
        if len(entry) == 1:  # the head alone
            return Item(head, args, entry.value_loc(head), entry.key_loc(head), meta, meta_locs, entry)
        allowed = self._allowed.get(head)
        if allowed is None:
            allowed = set(META_KEYS) | {head} | set(CONSTRUCT_KEYS.get(head, ()))
            if head == "layers":
                allowed |= {"layers"}
            self._allowed[head] = allowed
        for key in entry:
            if key not in allowed:
                self.fail(
                    f"'{key}' does not apply to '{head}'" + did_you_mean(key, allowed - {head}),
                    entry.key_loc(key),
                )
        return Item(head, args, entry.value_loc(head), entry.key_loc(head), meta, meta_locs, entry)

    def item(self, item: Item, scope: Scope, cur: Node, sole: bool) -> Node:
        head = item.head
        if "when" in item.meta and not self.condition(item, scope, cur):
            return cur
        if head == "repeat":
            return self.repeat(item, scope, cur, sole)
        if head == "residual":
            return self.residual(item, scope, cur, sole)
        if head in BRANCH_MERGES and isinstance(item.args, LList):
            return self.branches(item, scope, cur, sole)
        if head == "layers":
            inner = self.enter(item, scope, "group", sole)
            out = self.layer_list(item.args, item.args_loc, inner, self.start(item, scope, cur), "layers")
            return self.close(inner, out)
        if head in self.blocks:
            return self.block_call(item, scope, cur, sole)
        op = REGISTRY.get(head)
        if op is None:
            known = [*REGISTRY.ops, *self.blocks, *CONSTRUCT_KEYS]
            self.fail(
                f"unknown layer kind '{head}'" + did_you_mean(head, known),
                item.loc,
                hint="see `archcalc kinds` or docs/spec-format.md for the layer kinds",
            )
        return self.layer(op, item, scope, cur)

    def condition(self, item: Item, scope: Scope, cur: Node) -> bool:
        """The value of an item's `when:`; a false condition leaves the item out."""
        raw, loc = item.meta["when"], item.meta_locs["when"]
        if isinstance(raw, bool):
            return raw
        if not isinstance(raw, str):
            self.fail(f"`when` of '{item.head}' expected a condition such as \"stride == 1\", got {describe_raw(raw)}",
                      loc,
                      hint="write the condition as text: `when: \"use_bn\"` or `when: \"stride == 1\"`")
        if "from" in item.meta:
            first = item.meta["from"]
            where = item.meta_locs["from"]
            if isinstance(first, LList) and first:
                first, where = first[0], first.item_loc(0)
            cur = self.resolve(first, scope, where, None)
        values = dict(scope.values)
        values[dollar_name("in")] = cur.shape[0]
        if len(cur.shape) == 3:
            values[dollar_name("h")], values[dollar_name("w")] = cur.shape[1], cur.shape[2]
        try:
            return bool(evaluate(raw, values))
        except ExpressionError as exc:
            self.fail_value(exc, loc, what=f"`when` of '{item.head}'", text=raw)

    # --- names and scopes -------------------------------------------------
    def local_name(self, item: Item, scope: Scope, base: str) -> str:
        name = item.meta.get("name")
        if name is None:
            # Automatic names skip those the spec gave explicitly (`name: conv2`).
            while True:
                local = scope.auto_name(base)
                full = scope.full(local)
                if full not in self.names and full not in self.scope_outputs:
                    return local
        if not isinstance(name, str) or not _NAME.match(name):
            self.fail(
                f"`name` expected letters, digits, '_' or '-' (no dots), got {describe_raw(name)}",
                item.meta_locs["name"],
            )
        return name

    def enter(self, item: Item, scope: Scope, base: str, sole: bool, **changes) -> Scope:
        """The scope a structured item builds in.

        Named items and block calls open a scope of their own; unnamed repeats,
        residuals and branches do not (their layers are numbered on in the
        enclosing scope), and neither does a block call that is the only item
        of a scope opened just for it.
        """
        frozen = self.frozen(item, scope)
        if "name" not in item.meta and (base in CONSTRUCT_KEYS or (sole and scope.path)):
            return scope.same(frozen=frozen, **changes)
        return scope.child(self.local_name(item, scope, base), frozen=frozen, **changes)

    def close(self, scope: Scope, out: Node) -> Node:
        label = scope.label
        if scope.opened and label not in self.names:
            self.scope_outputs.setdefault(label, out)
        return out

    def frozen(self, item: Item, scope: Scope, owner: str | None = None) -> bool:
        if "frozen" not in item.meta:
            return scope.frozen
        value = item.meta["frozen"]
        if not isinstance(value, bool):
            self.fail(
                f"{owner or repr(item.head)}: `frozen` expected true or false, got {describe_raw(value)}",
                item.meta_locs["frozen"],
                hint="archcalc reads YAML 1.2: booleans are true and false (unquoted)",
            )
        return value

    def resolve(self, name, scope: Scope, loc: Location, node: str | None = None, owner: str | None = None,
                what: str = "`from`") -> Node:
        """The node ``name`` refers to, relative to ``scope``; ``node`` is the one being built."""
        prefix = f"{owner}: " if owner else ""
        if not isinstance(name, str):
            self.fail(f"{prefix}{what} expected node names, got {describe_raw(name)}", loc, node)
        for k in range(len(scope.path), -1, -1):
            full = ".".join((*scope.path[:k], name))
            found = self.names.get(full) or self.scope_outputs.get(full)
            if found is not None:
                return found
        rule = "`from:` may only name earlier layers, so a spec cannot contain cycles"
        if node is not None and name in (node, node.rsplit(".", 1)[-1]):
            self.fail(f"{prefix}{what} names the node itself; a node cannot take its own output as input",
                      loc, node, hint=rule)
        later = self.written_names().get(name.rsplit(".", 1)[-1])
        if what == "`from`" and later is not None and (later.line, later.column) > (loc.line, loc.column):
            self.fail(
                f"{prefix}{what} names '{name}', which is defined later (line {later.line}); {rule}",
                loc,
                node,
            )
        prefix_path = ".".join(scope.path) + "." if scope.path else ""
        known = [*self.names, *self.scope_outputs]
        known += [k[len(prefix_path):] for k in known if prefix_path and k.startswith(prefix_path)]
        none = "no earlier node" if what == "`from`" else "no node"
        self.fail(
            f"{prefix}{what} names '{name}', but {none} has that name" + did_you_mean(name, known),
            loc,
            node,
            hint=(f"{rule}; " if what == "`from`" else "")
            + "names inside blocks are written block.layer (e.g. layer1.0.conv1)",
        )

    def written_names(self) -> dict[str, Location]:
        """Every `name:` written in the spec's layers and blocks, to explain a forward reference."""
        if self._written is None:
            found: dict[str, Location] = {}
            stack = [self.doc.get(k) for k in ("layers", "blocks")]
            while stack:
                value = stack.pop()
                if isinstance(value, LMap):
                    name = value.get("name")
                    if isinstance(name, str) and "name" in value.value_pos:
                        loc = value.value_loc("name")
                        if name not in found or (loc.line, loc.column) < (found[name].line, found[name].column):
                            found[name] = loc
                    stack.extend(value.values())
                elif isinstance(value, LList):
                    stack.extend(value)
            self._written = found
        return self._written

    def start(self, item: Item, scope: Scope, cur: Node) -> Node:
        """The single input of a structured item: `from:` or the previous layer."""
        if "from" not in item.meta:
            return cur
        raw, loc = item.meta["from"], item.meta_locs["from"]
        if isinstance(raw, LList):
            if len(raw) != 1:
                what = f"block '{item.head}'" if item.head in self.blocks else item.head
                self.fail(f"{what} takes one input, but `from` lists {len(raw)}", loc,
                          hint=f"to join several nodes use `concat: {{from: [a, b]}}` (or add, multiply, mean)")
            raw, loc = raw[0], raw.item_loc(0)
        owner = f"block '{item.head}'" if item.head in self.blocks else item.head
        return self.resolve(raw, scope, loc, owner=owner)

    def inputs(self, item: Item, scope: Scope, cur: Node, name: str, owner: str) -> list[Node]:
        if "from" not in item.meta:
            return [cur]
        raw, loc = item.meta["from"], item.meta_locs["from"]
        if isinstance(raw, LList):
            if not raw:
                self.fail(f"{owner}: `from` expected at least one node name, got an empty list", loc, name)
            return [self.resolve(x, scope, raw.item_loc(i), name, owner) for i, x in enumerate(raw)]
        return [self.resolve(raw, scope, loc, name, owner)]

    # --- plain layers -----------------------------------------------------
    def layer(self, op: Op, item: Item, scope: Scope, cur: Node) -> Node:
        name = scope.full(self.local_name(item, scope, op.kind))
        owner = f"{op.kind} '{name}'"
        known = self._field_names.get(op)
        if known is None:
            known = self._field_names[op] = [f.name for f in op.fields]
        args, arg_locs = self.arguments(owner, op.positional, known, item, name)
        inputs = self.inputs(item, scope, cur, name, owner)
        name_loc = item.meta_locs.get("name")
        return self.add_node(op, name, inputs, args, arg_locs, item.loc, scope, self.frozen(item, scope, owner),
                             name_loc=name_loc, from_loc=item.meta_locs.get("from"))

    def arguments(self, owner: str, positional, known, item: Item, node: str | None = None):
        """Raw arguments by name, from a mapping, a list (positional) or a scalar.

        ``owner`` names the node or block in messages (``conv 'conv1'``).
        """
        raw, loc = item.args, item.args_loc
        if raw is None:
            return {}, {}
        if isinstance(raw, LMap):
            args, locs = {}, {}
            cut = any(isinstance(k, str) and ")" in k and _unbalanced(k) < 0 for k in raw)
            for key, value in raw.items():
                if cut:
                    self.check_cut(owner, key, value, raw.value_loc(key), node)
                if key not in known:
                    self.fail(self.unknown_arg(owner, key, known), raw.key_loc(key), node,
                              hint=self.arg_hint(owner, positional, known))
                args[key], locs[key] = value, raw.value_loc(key)
            return args, locs
        values = list(raw) if isinstance(raw, LList) else [raw]
        locs = [raw.item_loc(i) for i in range(len(values))] if isinstance(raw, LList) else [loc]
        if any(_unbalanced(v) < 0 for v in values):
            for i, value in enumerate(values):
                self.check_cut(owner, positional[i] if i < len(positional) else str(i + 1), value, locs[i], node)
        if len(values) > len(positional):
            if not positional:
                self.fail(f"{owner} takes no positional arguments, got {len(values)}", loc, node,
                          hint=self.arg_hint(owner, positional, known))
            self.fail(
                f"{owner} takes at most {len(positional)} positional argument"
                f"{'s' if len(positional) > 1 else ''} ({', '.join(positional)}), got {len(values)}",
                locs[len(positional)],
                node,
                hint=self.arg_hint(owner, positional, known),
            )
        return dict(zip(positional, values)), dict(zip(positional, locs))

    def check_cut(self, owner: str, key: str, value, loc: Location, node: str | None = None) -> None:
        """Refuse an expression that YAML cut at a comma: `{out: max(16, w)}` reads `out: "max(16"`."""
        if _unbalanced(value) > 0:
            self.fail(
                f"{owner}: argument '{key}' is '{value}', an expression cut short at a comma",
                loc,
                node,
                hint=_QUOTE_HINT,
            )

    def arg_hint(self, owner: str, positional, known) -> str:
        known = list(known)
        text = "arguments: " + (", ".join(known) if known else "none")
        if positional:
            text += f"; positionally [{', '.join(positional)}]"
        return text

    def unknown_arg(self, owner: str, key: str, known) -> str:
        known = list(known)
        return f"{owner} has no argument '{key}'" + did_you_mean(key, known)

    def add_node(self, op: Op, name: str, inputs: list[Node], raw_args: dict, arg_locs: dict,
                 loc: Location, scope: Scope, frozen: bool, use_defaults: bool = True,
                 name_loc: Location | None = None, from_loc: Location | None = None) -> Node:
        if name in self.names:
            first = self.names[name]
            where = ""
            if first.location is not None:
                same = first.location.file == loc.file
                where = f" at line {first.location.line}" if same else f" at {first.location}"
            self.fail(
                f"duplicate node name '{name}': {first.kind} '{name}' is already defined{where}",
                name_loc or loc,
                name,
                hint="give this node another `name:`",
            )
        if len(self.graph.nodes) >= LIMITS.max_nodes:
            self.fail(f"the network has more than {LIMITS.max_nodes:,} nodes (reached at {op.kind} '{name}')",
                      loc, name, hint="check the `repeat:` counts; " + raise_hint("max_nodes"))
        for start, times, repeat in self.first_copies:
            self.check_copies(start, times, repeat)
        self.edges += len(inputs)
        if self.edges > LIMITS.max_edges:
            self.fail(
                f"the network has more than {LIMITS.max_edges:,} connections (reached at {op.kind} '{name}')",
                loc, name, hint="a dense `repeat:` joins every earlier copy, so its connections grow with the "
                "square of the count; " + raise_hint("max_edges"),
            )
        count = len(inputs)
        if count < op.min_inputs or (op.max_inputs is not None and count > op.max_inputs):
            expected = (
                f"{op.min_inputs}" if op.max_inputs == op.min_inputs
                else f"at least {op.min_inputs}" if op.max_inputs is None
                else f"{op.min_inputs} to {op.max_inputs}"
            )
            hint = None
            if op.max_inputs == 1 and count > 1:
                hint = "to join several nodes use concat, add, multiply or mean: `concat: {from: [a, b]}`"
            elif count < op.min_inputs:
                hint = f"list the nodes to join: `{op.kind}: {{from: [a, b]}}`"
            self.fail(f"{op.kind} '{name}' takes {expected} input{'s' if expected != '1' else ''}, got {count}",
                      from_loc or loc, name, hint=hint)
        values = dict(scope.values)
        first = inputs[0].shape
        values[_IN] = first[0]
        if len(first) == 3:
            values[_H], values[_W] = first[1], first[2]
        defaults = scope.defaults.get(op.kind) if use_defaults else None
        args, locs = {}, {}
        owner = f"{op.kind} '{name}'"
        fields = self._fields.get(op)
        if fields is None:  # Fields are frozen, so their defaults can be made once per kind
            fields = self._fields[op] = [(f, f.name, f.required, None if f.required else f.default_value)
                                         for f in op.fields]
        for f, fname, required, default in fields:
            if fname in raw_args:
                raw, where = raw_args[fname], arg_locs.get(fname, loc)
            elif defaults is not None and fname in defaults:
                raw, where = defaults[fname], defaults.value_loc(fname)
            elif required:
                example = f"`{op.kind}: {{{f.name}: ...}}`"
                if op.positional and op.positional[0] == f.name:
                    example += f" or `{op.kind}: [{', '.join(op.positional)}]`"
                self.fail(f"{op.kind} '{name}' needs argument '{f.name}' ({f.doc})", loc, name,
                          hint=f"write {example}")
            else:
                args[fname] = default
                continue
            try:
                args[fname] = convert(f, raw, values, owner)
            except FieldError as exc:
                self.fail_value(exc, where, name)
            locs[fname] = where
        node = Node(name, op, args, inputs, scope.label, loc, frozen or not op.trainable, locs)
        try:
            node.shape = op.output_shape(node)
        except OpError as exc:
            self.fail(str(exc), locs.get(exc.field, loc) if exc.field else loc, name)
        if node.shape and max(node.shape) > LIMITS.max_integer:
            self.fail(f"{op.kind} '{name}' output {describe(node.shape)} is beyond any real network", loc, name)
        self.names[name] = node
        return self.graph.add(node)

    def check_copies(self, start: int, times: int, item: Item) -> None:
        """While the first copy of a repeat is built, refuse it as soon as its copies would
        pass the node limit (nested repeats multiply), instead of building nodes until
        the limit is reached: seconds for `repeat: 100000` around `repeat: 100000`."""
        made = len(self.graph.nodes) + 1 - start
        if start + made * times > LIMITS.max_nodes:
            self.fail(
                f"`repeat: {times:,}` would make more than {LIMITS.max_nodes:,} nodes: its first copy "
                f"has {made:,} so far", item.args_loc,
                hint="check the `repeat:` counts; " + raise_hint("max_nodes"),
            )

    # --- structured items -------------------------------------------------
    def block_call(self, item: Item, scope: Scope, cur: Node, sole: bool) -> Node:
        bname, body = item.head, self.blocks[item.head]
        if bname in scope.blocks_open:
            chain = " -> ".join((*scope.blocks_open[scope.blocks_open.index(bname):], bname))
            self.fail(f"block '{bname}' calls itself ({chain}); blocks cannot be recursive", item.loc)
        if len(scope.blocks_open) >= LIMITS.max_block_depth:
            self.fail(f"blocks are nested more than {LIMITS.max_block_depth} calls deep", item.loc)
        params = body.get("params") or LList()
        names = list(params)
        raw_args, arg_locs = self.arguments(f"block '{bname}'", names, names, item)
        src = self.start(item, scope, cur)
        caller = dict(scope.values)
        caller[dollar_name("in")] = src.shape[0]
        if len(src.shape) == 3:
            caller[dollar_name("h")], caller[dollar_name("w")] = src.shape[1], src.shape[2]
        values = {k: v for k, v in self.graph.variables.items()}
        values.update({k: caller[k] for k in caller if k.startswith("__")})
        for p in names:
            if p in raw_args:
                values[p] = self.value(raw_args[p], caller, arg_locs[p], f"block '{bname}': argument '{p}'")
            elif isinstance(params, LMap) and params[p] is not None:
                values[p] = self.value(params[p], values, params.value_loc(p),
                                       f"block '{bname}': default of '{p}'")
            else:
                given = f" (the call gives {', '.join(raw_args)})" if raw_args else ""
                signature = ", ".join(
                    p if not isinstance(params, LMap) or params[p] is None else f"{p}={params[p]}" for p in names
                )
                self.fail(f"block '{bname}' needs argument '{p}'{given}", item.loc,
                          hint=f"block '{bname}' takes: {signature}")
        defaults = self.defaults(body.get("defaults"), body.value_loc("defaults") if "defaults" in body else None,
                                 scope.defaults)
        inner = self.enter(item, scope, bname, sole, values=values, defaults=defaults,
                           blocks_open=(*scope.blocks_open, bname))
        try:
            out = self.layer_list(body["layers"], body.value_loc("layers"), inner, src, f"layers of block '{bname}'")
        except SpecError as exc:
            shown = ", ".join(f"{p}={_value_text(values[p])}" for p in names)
            exc.notes.append(
                f"in block '{bname}'" + (f" ({inner.label})" if inner.label else "")
                + f", called at {item.loc}" + (f" with {shown}" if shown else "")
            )
            raise
        return self.close(inner, out)

    def repeat(self, item: Item, scope: Scope, cur: Node, sole: bool) -> Node:
        try:
            times = integer(item.args, scope.values, "`repeat`", minimum=1)
        except FieldError as exc:
            self.fail_value(exc, item.args_loc)
        if times > LIMITS.max_repeat:
            self.fail(
                f"`repeat` expected at most {LIMITS.max_repeat:,} copies, got {times:,}", item.args_loc,
                hint="no real network repeats a block this often; " + raise_hint("max_repeat"),
            )
        body = item.modifier("layers")
        if body is None:
            self.fail("`repeat` needs `layers:`, the list to repeat", item.loc)
        index = item.modifier("index")
        if index is not None and (not isinstance(index, str) or not _NAME.match(index) or "-" in index
                                  or index.startswith("__")):
            self.fail(f"`index` expected a variable name, got {describe_raw(index)}", item.modifier_loc("index"))
        dense = item.modifier("dense", False)
        if not isinstance(dense, bool):
            self.fail(f"`dense` expected true or false, got {describe_raw(dense)}", item.modifier_loc("dense"))
        # A named repeat numbers its copies (name.0, name.1, ...), and so does the
        # only item of a block (block.0, ...); otherwise the copies unroll into the
        # current scope, where automatic names keep counting.
        named = "name" in item.meta or (sole and bool(scope.path))
        outer = self.enter(item, scope, "repeat", sole)
        src = self.start(item, scope, cur)
        x, features = src, [src]
        concat = REGISTRY.get("concat")
        for i in range(times):
            values = {**outer.values, index: i} if index else outer.values
            step = outer.child(str(i), values=values) if named else outer.same(values=values)
            if dense and i > 0:
                x = self.add_node(concat, step.full(step.auto_name("concat")), list(features), {}, {}, item.loc,
                                  step, step.frozen)
            if i == 0:
                self.first_copies.append((len(self.graph.nodes), times, item))
            x = self.layer_list(body, item.modifier_loc("layers"), step, x, "layers", fresh=named)
            if i == 0:
                self.first_copies.pop()
            if named:
                self.close(step, x)
            features.append(x)
        if dense:
            x = self.add_node(concat, outer.full(outer.auto_name("concat")), features, {}, {}, item.loc, outer,
                              outer.frozen)
        return self.close(outer, x)

    def branches(self, item: Item, scope: Scope, cur: Node, sole: bool) -> Node:
        raw = item.args
        if not raw:
            self.fail(f"`{item.head}` expected a list of branches (each a list of layers)", item.args_loc)
        src = self.start(item, scope, cur)
        inner = self.enter(item, scope, item.head, sole)
        outs = []
        for j, branch in enumerate(raw):
            if not isinstance(branch, LList):
                self.fail(
                    f"branch {j + 1} of `{item.head}` expected a list of layers ([] for the input itself), "
                    f"got {describe_raw(branch)}",
                    raw.item_loc(j),
                    hint=f"to join named nodes write `{item.head}: {{from: [a, b]}}`",
                )
            step = inner.child(inner.auto_name("branch"))
            out = self.layer_list(branch, raw.item_loc(j), step, src, "branch")
            outs.append(self.close(step, out))
        op = REGISTRY.get(item.head)
        out = self.add_node(op, inner.full(inner.auto_name(item.head)), outs, {}, {}, item.loc, inner, inner.frozen)
        return self.close(inner, out)

    def residual(self, item: Item, scope: Scope, cur: Node, sole: bool) -> Node:
        shortcut = item.modifier("shortcut", "auto")
        where = item.modifier_loc("shortcut")
        if not isinstance(shortcut, LList) and shortcut not in SHORTCUTS:
            self.fail(
                f"`shortcut` expected {', '.join(SHORTCUTS)} or a list of layers, got {describe_raw(shortcut)}"
                + (did_you_mean(shortcut, SHORTCUTS) if isinstance(shortcut, str) else ""),
                where,
            )
        src = self.start(item, scope, cur)
        inner = self.enter(item, scope, "residual", sole)
        main = self.layer_list(item.args, item.args_loc, inner, src, "residual")
        if isinstance(shortcut, LList):
            side_scope = inner.child(inner.auto_name("shortcut"))
            side = self.close(side_scope, self.layer_list(shortcut, where, side_scope, src, "shortcut"))
            if side.shape != main.shape:
                self.fail(
                    f"residual: the main path gives {describe(main.shape)} from '{main.name}', but the shortcut "
                    f"gives {describe(side.shape)} from '{side.name}'; the two are added, so they must agree",
                    where,
                )
        elif shortcut == "none" or (shortcut == "optional" and main.shape != src.shape):
            return self.close(inner, main)
        elif shortcut == "identity" and main.shape != src.shape:
            self.fail(
                f"residual: `shortcut: identity` passes the input {describe(src.shape)} from '{src.name}', "
                f"but the main path gives {describe(main.shape)} from '{main.name}'",
                where,
                hint="use `shortcut: auto` or `projection` (a 1x1 convolution), or `optional` (no shortcut "
                "when the shapes differ)",
            )
        elif shortcut in ("identity", "optional") or (shortcut == "auto" and main.shape == src.shape):
            side = src
        else:
            side = self.projection(src, main, inner, where)
        out = self.add_node(REGISTRY.get("add"), inner.full(inner.auto_name("add")), [main, side], {}, {}, item.loc,
                            inner, inner.frozen)
        return self.close(inner, out)

    def projection(self, src: Node, main: Node, scope: Scope, loc: Location) -> Node:
        """A 1x1 convolution (plus batchnorm if the main path has one) matching the main path's shape."""
        a, b = src.shape, main.shape
        if len(a) != 3 or len(b) != 3 or a[1] % b[1] or a[2] % b[2] or a[1] // b[1] != a[2] // b[2]:
            self.fail(
                f"residual: cannot infer a projection shortcut from the input {describe(a)} from '{src.name}' "
                f"to {describe(b)} from '{main.name}'",
                loc,
                hint="a projection is a strided 1x1 convolution, so the sizes must shrink by one whole factor; "
                "write `shortcut:` as a list of layers",
            )
        norm = any(n.kind == "batchnorm" for n in self.graph.nodes[src.index + 1:main.index + 1])
        side = scope.child(scope.auto_name("shortcut"))
        conv_args = {"out": b[0], "kernel": 1, "stride": a[1] // b[1], "padding": 0, "bias": not norm}
        x = self.add_node(REGISTRY.get("conv"), side.full("conv"), [src], conv_args, {}, loc, side, side.frozen,
                          use_defaults=False)
        if norm:
            x = self.add_node(REGISTRY.get("batchnorm"), side.full("batchnorm"), [x], {}, {}, loc, side,
                              side.frozen)
        return self.close(side, x)


def _unbalanced(text) -> int:
    """Open minus closed parentheses of a string (0 for anything else)."""
    return text.count("(") - text.count(")") if isinstance(text, str) else 0


def _value_text(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe_raw(value) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)
