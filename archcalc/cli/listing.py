"""archcalc list: the built-in specs, with figures computed from them (never typed in)."""

from __future__ import annotations

import json

import click


@click.command(
    "list",
    epilog="""\b
Examples:
  archcalc list
  archcalc list resnet
  archcalc list --format json""",
)
@click.argument("filter", required=False, default="")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True)
def command(filter, fmt):
    """List the built-in specs whose name or title contains FILTER, with input, params and MACs."""
    from archcalc.library import catalogue

    entries = catalogue(filter)
    if fmt == "json":
        click.echo(json.dumps({"schema": "archcalc.list/1", "specs": entries}, indent=2))
        return
    from archcalc.units import format_count

    def cells(e):
        return [e["name"], e["title"], "×".join(map(str, e["input"])), format_count(e["params"]),
                format_count(e["macs"], 2), e["source"]]

    headers = ["Name", "Title", "Input", "Params", "MACs", "Source"]
    if fmt == "markdown":
        from archcalc.report.formats import markdown_table

        click.echo(markdown_table(headers, [cells(e) for e in entries], [False, False, True, True, True, False]), nl=False)
        return
    from rich import box
    from rich.table import Table

    from archcalc.cli.options import console

    table = Table(box=box.SIMPLE_HEAD, title=f"{len(entries)} built-in specs", title_justify="left")
    for h in headers[:-1]:
        table.add_column(h, justify="right" if h in ("Params", "MACs", "Input") else "left")
    from archcalc.sinks import markup

    for e in entries:
        table.add_row(*map(markup, cells(e)[:-1]))
    console().print(table)
