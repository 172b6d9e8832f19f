"""archcalc list: the built-in specs, with figures computed from them (never typed in)."""

from __future__ import annotations

import json

import click

from archcalc.cli.options import show, width_option


@click.command(
    "list",
    epilog="""\b
Examples:
  archcalc list
  archcalc list resnet
  archcalc list --format json""",
)
@click.argument("filter", required=False, default="")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
              show_default=True, help="csv has exact integers and the source of each spec.")
@width_option
def command(filter, fmt, width):
    """List the built-in specs whose name or title contains FILTER, with input, params and MACs."""
    from archcalc.library import catalogue

    entries = catalogue(filter)
    if fmt == "json":
        click.echo(json.dumps({"schema": "archcalc.list/1", "specs": entries}, indent=2))
        return
    if fmt == "csv":
        from archcalc.report.formats import csv_text

        click.echo(csv_text(["name", "title", "input", "params", "macs", "source"],
                            [[e["name"], e["title"], "x".join(map(str, e["input"])), e["params"], e["macs"],
                              e["source"]] for e in entries]), nl=False)
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

    def table(columns: int):
        from rich.console import Group
        from rich.text import Text

        from archcalc.report.text import layout

        # The title wraps; Input, then MACs, then Params are hidden when even that is not enough.
        return Group(Text(f"{len(entries)} built-in specs", style="bold"),
                     layout(headers[:-1], [cells(e)[:-1] for e in entries], [False, False, True, True, True],
                            [None] * len(entries), columns, drop=[2, 4, 3, 1], flex=1, wrap=True))

    show(table, None, False, width)
