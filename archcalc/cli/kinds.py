"""archcalc kinds: the layer kinds a spec can use, with their arguments."""

from __future__ import annotations

import click


@click.command("kinds", epilog="Examples:\n\n  archcalc kinds\n\n  archcalc kinds conv")
@click.argument("kind", required=False)
def command(kind):
    """List the layer kinds, or describe one KIND's arguments."""
    from rich import box
    from rich.table import Table

    from archcalc.cli.options import console
    from archcalc.errors import SpecError
    from archcalc.ops import REGISTRY
    from archcalc.sinks import markup
    from archcalc.suggest import did_you_mean

    if kind:
        op = REGISTRY.get(kind)
        if op is None:
            raise SpecError(f"unknown layer kind '{kind}'" + did_you_mean(kind, REGISTRY.ops))
        table = Table(box=box.SIMPLE_HEAD, title=markup(f"{op.kind}: {op.doc}"), title_justify="left")
        for h in ("Argument", "Type", "Default", "Meaning"):
            table.add_column(h)
        for f in op.fields:
            default = "required" if f.required else str(f.default).lower() if isinstance(f.default, bool) else str(f.default)
            positional = f" (positional {op.positional.index(f.name) + 1})" if f.name in op.positional else ""
            table.add_row(*map(markup, (f.name, f.type + positional, default, f.doc)))
        console().print(table)
        if op.aliases:
            click.echo("aliases: " + ", ".join(op.aliases))
        return
    table = Table(box=box.SIMPLE_HEAD, title="Layer kinds", title_justify="left")
    for h in ("Kind", "Family", "Arguments", "What it is"):
        table.add_column(h)
    for op in sorted(REGISTRY.kinds(), key=lambda o: (o.family, o.kind)):
        if op.kind == "input":
            continue
        table.add_row(*map(markup, (op.kind, op.family, ", ".join(f.name for f in op.fields) or "-", op.doc)))
    console().print(table)
