"""From a parsed spec to a layer graph: the walk over the layer lists, and each node.

The top-level sections are read by :mod:`archcalc.spec.sections`, and blocks, repeats,
branches and residuals built by :mod:`archcalc.spec.constructs`. The builder walks the layer list once, in order, creating nodes and inferring
each output shape as it goes. Expressions are evaluated where they are used, so
``$in`` (the input channels), ``$h`` and ``$w`` are known, and block arguments
see the caller's values. Every error is raised as a SpecError at the exact
spot of the spec text that caused it.

With ``all_errors`` (what `archcalc check` asks for) an error confined to one layer
(an unknown kind or argument, a value of the wrong type, a shape its rule refuses)
is recorded and the layer replaced by a placeholder that passes its input on, so
the rest of the spec is still read; errors in layers after a placeholder that may
be its consequences (shapes, expressions) are left out. All are raised at the end
as one :class:`~archcalc.errors.SpecErrors`.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from archcalc.collector import paused_gc
from archcalc.errors import Location, SpecError, SpecErrors, SpecWarning
from archcalc.graph import Graph, Node
from archcalc.limits import LIMITS, raise_hint
from archcalc.ops import REGISTRY, Op, OpError
from archcalc.ops.base import describe
from archcalc.spec.constructs import Constructs
from archcalc.spec.expressions import ExpressionError, dollar_name, evaluate
from archcalc.spec.fields import FieldError, convert, default_value
from archcalc.spec.language import (
    CONSTRUCT_KEYS, META_KEYS, MODIFIER_KEYS, NAME, SPLIT_KEYS, TOP_KEYS, describe_raw,
)
from archcalc.spec.scope import BLOCK_IN, BLOCK_NODE, Item, Scope, block_input, call_note
from archcalc.spec.sections import Sections
from archcalc.spec.splits import ChannelSplits
from archcalc.spec.yaml_loader import LList, LMap
from archcalc.suggest import did_you_mean, unknown_kind

_QUOTE_HINT = (
    "inside `{ }` or `[ ]` a comma separates entries; quote expressions that contain commas, "
    "e.g. `out: \"max(16, width)\"`"
)
_IN, _H, _W = dollar_name("in"), dollar_name("h"), dollar_name("w")
_USES_IN = re.compile(r"\$in\b")


class Builder(Sections, Constructs, ChannelSplits):
    """Builds the layer graph of one parsed spec: :meth:`build`, once."""

    def __init__(self, doc, source_name: str, overrides: Mapping[str, Any] | None, input_shape,
                 all_errors: bool = False):
        if not isinstance(doc, LMap):
            loc = doc.loc() if isinstance(doc, LList) else Location(source_name, 1, 1)
            raise SpecError("a spec is a mapping with at least `input:` and `layers:`", loc)
        self.doc = doc
        self.source_name = source_name
        self.overrides = dict(overrides or {})
        self.input_override = input_shape
        self.names: dict[str, Node] = {}
        self.scope_outputs: dict[str, Node] = {}
        self.splits: dict[str, int] = {}
        self.blocks: dict[str, LMap] = {}
        self.edges = 0
        self.depth = 0  # layer lists being built, one inside the other
        self.aliases: list[Location] = []  # YAML aliases whose copied text is being built, innermost last
        self._written: dict[str, Location] | None = None
        self.graph: Graph | None = None
        self._field_names: dict[Op, list[str]] = {}  # per layer kind, for arguments()
        self._fields: dict[Op, list] = {}  # per layer kind, for add_node()
        # (nodes before, copies, item) of each repeat whose first copy is being built
        self.first_copies: list[tuple[int, int, Item]] = []
        self._allowed: dict[str, set[str]] = {}  # per item head, for split()
        self.warnings: list[SpecWarning] = []
        self.ignored: dict[str, frozenset[str]] = {}  # node name -> warning codes silenced for it
        self.calls: list[tuple] = []  # the block calls being built, outermost first, for notes
        self.block_starts: list[int] = []  # and the number of nodes built before each
        self.errors: list[SpecError] | None = [] if all_errors else None  # recorded so far
        self.poisoned: set[int] = set()  # ids of placeholders and of the nodes built from them

    # --- top level --------------------------------------------------------
    def build(self) -> Graph:
        try:
            with paused_gc():
                return self._build()
        except SpecErrors:
            raise
        except SpecError as error:
            if self.errors:  # one that stops the build, after some recorded ones
                raise SpecErrors([*self.errors, error]) from None
            raise
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
            if texts[key]:
                self.check_text(texts[key], doc.value_loc(key), f"`{key}`", free=key != "name")
        values = self.variables()
        ignore, tensor_cores = self.lint_settings()
        self.graph = Graph(
            name=texts["name"] or self.source_name,
            title=texts["title"],
            source=texts["source"],
            variables={k: v for k, v in values.items() if not k.startswith("__")},
            file=self.source_name,
            ignore=ignore,
            tensor_cores=tensor_cores,
            spec=doc,
            warnings=self.warnings,
            ignored=self.ignored,
        )
        defaults = self.defaults(doc.get("defaults"), doc.value_loc("defaults") if "defaults" in doc else None, {})
        self.read_blocks()
        scope = Scope(path=(), values=values, defaults=defaults)
        start = self.graph.add(
            Node("input", REGISTRY.get("input"), {"shape": self.input_shape(values)}, [], None, self.top_loc("input"))
        )
        start.shape = start.op.output_shape(start)
        self.names["input"] = start
        block_input(values, start)
        last = self.layer_list(doc["layers"], doc.value_loc("layers"), scope, start, "layers", fresh=False)
        if self.errors:
            raise SpecErrors(self.errors)
        self.graph.outputs = self.outputs(last, scope)
        self.graph.expectations = self.expectations()
        self.graph.reference = self.reference()
        self.graph.scopes = {k: v.name for k, v in self.scope_outputs.items()}
        self.graph.finish()
        return self.graph

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
        aliased = raw.pos != (loc.line, loc.column)  # a list written elsewhere, repeated by `*alias`
        if aliased:
            self.aliases.append(loc)
        try:
            for i, entry in enumerate(raw):
                where = raw.item_loc(i)
                copied = isinstance(entry, LMap) and entry.pos != (where.line, where.column)
                if copied:
                    self.aliases.append(where)
                try:
                    cur = self.item(self.split(entry, where), scope, cur, sole)
                finally:
                    if copied:
                        self.aliases.pop()
        finally:
            self.depth -= 1
            if aliased:
                self.aliases.pop()
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
        if head in SPLIT_KEYS:
            return self.channel_split(item, scope, cur)
        op = REGISTRY.get(head)
        if op is not None and op.branch_merge and isinstance(item.args, LList):
            return self.branches(item, scope, cur, sole)
        if head == "layers":
            inner = self.enter(item, scope, "group", sole)
            out = self.layer_list(item.args, item.args_loc, inner, self.start(item, scope, cur), "layers")
            return self.close(inner, out)
        if head in self.blocks:
            return self.block_call(item, scope, cur, sole)
        if op is None:
            suffix, hint = unknown_kind(head, REGISTRY.names(), [*self.blocks, *CONSTRUCT_KEYS])
            error = SpecError(f"unknown layer kind '{head}'" + suffix, item.loc,
                              hint=hint or "see `archcalc kinds` or docs/spec-format.md for the layer kinds")
            return self.placeholder(error, item, scope, cur, head if NAME.match(head) else "layer")
        return self.layer(op, item, scope, cur)

    # --- errors confined to one layer ------------------------------------
    def record(self, error: SpecError) -> None:
        """Keep an error and go on reading; stop at the limit."""
        error.notes.extend(call_note(*frame) for frame in reversed(self.calls))
        self.errors.append(error)
        if len(self.errors) >= LIMITS.max_errors:
            self.errors[-1].notes.append(
                f"stopped after {LIMITS.max_errors} errors; " + raise_hint("max_errors"))
            raise SpecErrors(self.errors)

    def tainted(self, nodes) -> bool:
        """Whether any of ``nodes`` is, or is built from, a placeholder."""
        return bool(self.poisoned) and any(id(n) in self.poisoned for n in nodes)

    def layer_failed(self, error: SpecError, inputs: list[Node], consequence: bool) -> None:
        """Raise ``error``, or with ``all_errors`` record it (unless it may be a consequence of an
        earlier error: ``consequence`` and an input built from a placeholder) and return."""
        if self.errors is None:
            raise error
        if not (consequence and self.tainted(inputs)):
            self.record(error)

    def placeholder(self, error: SpecError, item: Item, scope: Scope, cur: Node, base: str,
                    name: str | None = None) -> Node:
        """In place of a layer that cannot be built: its input, passed on under the layer's name
        (``name``, else its `name:` if valid, else an automatic one from ``base``)."""
        self.layer_failed(error, [cur], consequence=False)
        if name is None:
            written = item.meta.get("name")
            if written is not None and not (isinstance(written, str) and NAME.match(written)):
                del item.meta["name"]
            name = scope.full(self.local_name(item, scope, base))
        node = self.add_node(REGISTRY.get("identity"), name, [cur], {}, {}, item.loc, scope, scope.frozen)
        self.poisoned.add(id(node))
        return node

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
        if "from" not in item.meta:
            self.check_in(raw, loc, scope, cur, None)
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
        if not isinstance(name, str) or not (NAME.match(name) or (name.isascii() and name.isdigit())):
            rule = ("must not start with a digit unless it is all digits" if isinstance(name, str) and name[:1].isdigit()
                    else "expected letters, digits, '_' or '-' (no dots)")
            self.fail(f"`name` {rule}, got {describe_raw(name)}", item.meta_locs["name"])
        return name

    def ignoring(self, item: Item, scope: Scope) -> frozenset[str]:
        """The warning codes silenced for what ``item`` builds: its `ignore:` and its scope's."""
        if "ignore" not in item.meta:
            return scope.ignore
        return scope.ignore | self.codes(item.meta["ignore"], item.meta_locs["ignore"], "`ignore`")

    def check_in(self, raw, loc: Location, scope: Scope, src: Node, node: str | None) -> None:
        """Warn when `$in` in ``raw`` is not the channels of the enclosing block's input.

        Only where a layer of the block changed them: not for items with `from:` (whoever names
        an input knows whose channels `$in` are), nor for inputs from outside the block.
        """
        if (type(raw) is not str or not scope.blocks_open or src.shape[0] == scope.values[BLOCK_IN]
                or src.index < self.block_starts[-1]):
            return
        found = _USES_IN.search(raw)
        if found is None:
            return
        self.warnings.append(SpecWarning(
            f"`$in` here is {src.shape[0]}, the channels of '{src.name}', not {scope.values[BLOCK_IN]}, the "
            f"channels of the input of block '{scope.blocks_open[-1]}'",
            loc.within(raw, found.start()), node,
            hint="write `$block_in` for the block's input channels; if the input of this layer is meant, "
            "write `ignore: [changed-in]` on it",
            code="changed-in",
        ))

    def enter(self, item: Item, scope: Scope, base: str, sole: bool, **changes) -> Scope:
        """The scope a structured item builds in.

        Named items and block calls open a scope of their own; unnamed repeats,
        residuals and branches do not (their layers are numbered on in the
        enclosing scope), and neither does a block call that is the only item
        of a scope opened just for it.
        """
        frozen = self.frozen(item, scope)
        merge = REGISTRY.get(base)
        unscoped = base in CONSTRUCT_KEYS or (merge is not None and merge.branch_merge)
        ignore = self.ignoring(item, scope)
        if "name" not in item.meta and (unscoped or (sole and scope.path)):
            return scope.same(frozen=frozen, ignore=ignore, **changes)
        return scope.child(self.local_name(item, scope, base), frozen=frozen, ignore=ignore, **changes)

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
        if name == "$block_in":
            return scope.values[BLOCK_NODE]
        for k in range(len(scope.path), -1, -1):
            full = ".".join((*scope.path[:k], name))
            found = self.names.get(full) or self.scope_outputs.get(full)
            if found is not None:
                return found
            if full in self.splits:
                self.fail(f"{prefix}{what} names '{name}', a split into {self.splits[full]} parts; name one part",
                          loc, node, hint=f"its parts are {name}.0 to {name}.{self.splits[full] - 1}")
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
                          hint="to join several nodes use `concat: {from: [a, b]}` (or add, multiply, mean)")
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
        try:
            name = scope.full(self.local_name(item, scope, op.kind))
        except SpecError as error:  # a bad `name:`
            return self.placeholder(error, item, scope, cur, op.kind)
        owner = f"{op.kind} '{name}'"
        known = self._field_names.get(op)
        if known is None:
            known = self._field_names[op] = [f.name for f in op.fields]
        if "ignore" in item.meta:
            scope = scope.same(ignore=self.ignoring(item, scope))
        try:
            args, arg_locs = self.arguments(owner, op.positional, known, item, name)
        except SpecError as error:
            return self.placeholder(error, item, scope, cur, op.kind, name)
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

    def duplicate(self, name: str, loc: Location, name_loc: Location | None):
        """Refuse a second node called ``name``, at the text that repeats it: the `name:`, or
        the YAML alias that copied it (with a note pointing at the name in the anchor)."""
        first = self.names[name]
        where = ""
        if first.location is not None:
            same = first.location.file == loc.file
            where = f" at line {first.location.line}" if same else f" at {first.location}"
        message = f"duplicate node name '{name}': {first.kind} '{name}' is already defined{where}"
        if self.aliases and first.location == loc:
            alias = self.aliases[-1]
            text = alias.source_line[alias.column - 1:] if alias.source_line else ""
            shown = text.split()[0].rstrip(",]}") if text.startswith("*") else "the alias"
            raise SpecError(
                f"{message}, and the alias {shown} repeats it", alias, node=name,
                notes=[f"{name_loc or loc}: the name is written here, in the anchored text"],
                hint="give the copy another name (a block called twice, or `repeat:`, names each copy)",
            )
        self.fail(message, name_loc or loc, name, hint="give this node another `name:`")

    def add_node(self, op: Op, name: str, inputs: list[Node], raw_args: dict, arg_locs: dict,
                 loc: Location, scope: Scope, frozen: bool, use_defaults: bool = True,
                 name_loc: Location | None = None, from_loc: Location | None = None) -> Node:
        if name in self.names:
            self.duplicate(name, loc, name_loc)
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
        # `$in` of a layer that names its input (`from:`) means that input
        shifted = bool(scope.blocks_open) and first[0] != values[BLOCK_IN] and from_loc is None
        defaults = scope.defaults.get(op.kind) if use_defaults else None
        args, locs = {}, {}
        owner = f"{op.kind} '{name}'"
        fields = self._fields.get(op)
        if fields is None:  # Fields are frozen, so their defaults can be made once per kind
            fields = self._fields[op] = [(f, f.name, f.required, None if f.required else default_value(f))
                                         for f in op.fields]
        failed = False
        for f, fname, required, default in fields:
            if fname in raw_args:
                raw, where = raw_args[fname], arg_locs.get(fname, loc)
            elif defaults is not None and fname in defaults:
                raw, where = defaults[fname], defaults.value_loc(fname)
            elif required:
                example = f"`{op.kind}: {{{f.name}: ...}}`"
                if op.positional and op.positional[0] == f.name:
                    example += f" or `{op.kind}: [{', '.join(op.positional)}]`"
                self.layer_failed(SpecError(f"{op.kind} '{name}' needs argument '{f.name}' ({f.doc})", loc, name,
                                            hint=f"write {example}"), inputs, consequence=False)
                failed = True
                break
            else:
                args[fname] = default
                continue
            if shifted:
                self.check_in(raw, where, scope, inputs[0], name)
            try:
                args[fname] = convert(f, raw, values, owner)
            except FieldError as exc:
                # a value that reads the input's shape may be wrong because the input is
                self.layer_failed(self.value_error(exc, where, name), inputs,
                                  consequence=isinstance(raw, str) and "$" in raw)
                failed = True
                break
            locs[fname] = where
        node = Node(name, op, args, inputs, scope.label, loc, frozen or not op.trainable, locs)
        if not failed:
            try:
                node.derived = op.derive(node)
                node.shape = op.output_shape(node)
            except OpError as exc:
                error = SpecError(str(exc), locs.get(exc.field, loc) if exc.field else loc, name)
                self.layer_failed(error, inputs, consequence=True)
                failed = True
        if node.shape and max(node.shape) > LIMITS.max_integer:
            error = SpecError(f"{op.kind} '{name}' output {describe(node.shape)} is beyond any real network", loc,
                              name)
            self.layer_failed(error, inputs, consequence=True)
            failed = True
        if failed:
            node.shape = inputs[0].shape
        if failed or self.tainted(inputs):
            self.poisoned.add(id(node))
        if scope.ignore:
            self.ignored[name] = scope.ignore
        self.names[name] = node
        return self.graph.add(node)


def _unbalanced(text) -> int:
    """Open minus closed parentheses of a string (0 for anything else)."""
    return text.count("(") - text.count(")") if isinstance(text, str) else 0

