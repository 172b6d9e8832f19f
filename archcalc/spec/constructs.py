"""The structured items of a layer list: block calls, `repeat`, branches and `residual`.

Mixed into :class:`~archcalc.spec.builder.Builder`, whose layer-list walk they call back into.
"""

from __future__ import annotations

from archcalc.errors import Location, SpecError, SpecErrors
from archcalc.graph import Node
from archcalc.limits import LIMITS, raise_hint
from archcalc.ops import REGISTRY
from archcalc.ops.base import describe
from archcalc.spec.expressions import dollar_name
from archcalc.spec.fields import FieldError, integer
from archcalc.spec.language import NAME, SHORTCUTS, describe_raw
from archcalc.spec.scope import Item, Scope, block_input, call_note
from archcalc.spec.yaml_loader import LList, LMap
from archcalc.suggest import did_you_mean


class Constructs:
    """Builds the structured items; each returns the node its construct outputs."""

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
        block_input(values, src)
        for p in names:
            if p in raw_args:
                if "from" not in item.meta:
                    self.check_in(raw_args[p], arg_locs[p], scope, src, None)
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
        frame = (bname, inner.label, item.loc, names, values)
        self.calls.append(frame)
        self.block_starts.append(len(self.graph.nodes))
        try:
            out = self.layer_list(body["layers"], body.value_loc("layers"), inner, src, f"layers of block '{bname}'")
        except SpecErrors:
            raise  # its errors have their notes
        except SpecError as exc:
            exc.notes.append(call_note(*frame))
            raise
        finally:
            self.calls.pop()
            self.block_starts.pop()
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
        if index is not None and (not isinstance(index, str) or not NAME.match(index) or "-" in index
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
        concat = REGISTRY.get("concat") if dense else None
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
            before = len(self.graph.nodes)
            out = self.layer_list(branch, raw.item_loc(j), step, src, "branch")
            if branch and len(self.graph.nodes) == before:
                self.emptied(f"branch {j + 1} of `{item.head}`", raw.item_loc(j))
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
        before = len(self.graph.nodes)
        main = self.layer_list(item.args, item.args_loc, inner, src, "residual")
        if item.args and len(self.graph.nodes) == before:
            self.emptied("the main path of `residual`", item.args_loc)
        if self.tainted((main,)):  # its shape is a placeholder's: leave the shortcut out
            return self.close(inner, main)
        if isinstance(shortcut, LList):
            side_scope = inner.child(inner.auto_name("shortcut"))
            before = len(self.graph.nodes)
            side = self.close(side_scope, self.layer_list(shortcut, where, side_scope, src, "shortcut"))
            if shortcut and len(self.graph.nodes) == before:
                self.emptied("the `shortcut` of `residual`", where)
            if side.shape != main.shape and not self.tainted((side,)):
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

    def emptied(self, what: str, loc: Location) -> None:
        """Refuse a layer list that `when:` emptied: it would silently pass its input through."""
        self.fail(
            f"{what} is empty: `when:` left out all its layers, so it would pass its input through unchanged",
            loc,
            hint="write `identity` in it (e.g. `- identity: {when: \"not use\"}`) where the input itself is meant",
        )

    def projection(self, src: Node, main: Node, scope: Scope, loc: Location) -> Node:
        """A 1x1 convolution matching the main path's shape, then the main path's first norm that
        declares ``shortcut_norm`` (batchnorm), if any."""
        a, b = src.shape, main.shape
        if len(a) != 3 or len(b) != 3 or a[1] % b[1] or a[2] % b[2] or a[1] // b[1] != a[2] // b[2]:
            self.fail(
                f"residual: cannot infer a projection shortcut from the input {describe(a)} from '{src.name}' "
                f"to {describe(b)} from '{main.name}'",
                loc,
                hint="a projection is a strided 1x1 convolution, so the sizes must shrink by one whole factor; "
                "write `shortcut:` as a list of layers",
            )
        norm = next((n.op for n in self.graph.nodes[src.index + 1:main.index + 1] if n.op.shortcut_norm), None)
        side = scope.child(scope.auto_name("shortcut"))
        conv_args = {"out": b[0], "kernel": 1, "stride": a[1] // b[1], "padding": 0, "bias": norm is None}
        x = self.add_node(REGISTRY.get("conv"), side.full("conv"), [src], conv_args, {}, loc, side, side.frozen,
                          use_defaults=False)
        if norm is not None:
            x = self.add_node(norm, side.full(norm.kind), [x], {}, {}, loc, side, side.frozen)
        return self.close(side, x)

