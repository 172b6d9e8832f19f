"""archcalc kinds: the layer kinds a spec can use, with their arguments."""

from __future__ import annotations

import click

from archcalc.cli.options import show, width_option


@click.command("kinds", epilog="Examples:\n\n  archcalc kinds\n\n  archcalc kinds conv")
@click.argument("kind", required=False)
@width_option
def command(kind, width):
    """List the layer kinds, or describe one KIND's arguments."""
    from rich.console import Group
    from rich.text import Text

    from archcalc.errors import SpecError
    from archcalc.ops import REGISTRY
    from archcalc.report.text import layout
    from archcalc.suggest import did_you_mean

    if kind:
        op = REGISTRY.get(kind)
        if op is None:
            raise SpecError(f"unknown layer kind '{kind}'" + did_you_mean(kind, REGISTRY.ops))
        cells = []
        for f in op.fields:
            default = "required" if f.required else str(f.default).lower() if isinstance(f.default, bool) else str(f.default)
            positional = f" (positional {op.positional.index(f.name) + 1})" if f.name in op.positional else ""
            cells.append([f.name, f.type + positional, default, f.doc])
        title = f"{op.kind}: {op.doc}" + ("\naliases: " + ", ".join(op.aliases) if op.aliases else "")
        headers = ["Argument", "Type", "Default", "Meaning"]
    else:
        cells = [[op.kind, op.family, ", ".join(f.name for f in op.fields) or "-", op.doc]
                 for op in sorted(REGISTRY.kinds(), key=lambda o: (o.family, o.kind)) if not op.graph_input]
        title = "Layer kinds"
        headers = ["Kind", "Family", "Arguments", "What it is"]

    def table(columns: int):
        # The last column wraps; the second, then the third, are hidden when even that is not enough.
        return Group(Text(title, style="bold"),
                     layout(headers, cells, [False] * 4, [None] * len(cells), columns, drop=[1, 2], flex=3, wrap=True))

    show(table, None, False, width)
