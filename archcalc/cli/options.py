"""Options shared by several commands, and how their values become library arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from archcalc.analysis import DTYPE_BYTES


def complete_spec(ctx, param, incomplete: str):
    from archcalc.library import builtin_paths

    return [click.shell_completion.CompletionItem(n) for n in builtin_paths() if n.startswith(incomplete.lower())]


def parse_shape(ctx, param, value: str | None):
    if value is None:
        return None
    try:
        dims = tuple(int(d) for d in value.lower().replace(",", "x").split("x"))
    except ValueError:
        raise click.BadParameter(f"expected CxHxW such as 3x160x160, got '{value}'") from None
    if len(dims) not in (1, 3) or min(dims) < 1:
        raise click.BadParameter(f"expected CxHxW of positive integers, got '{value}'")
    return dims


def parse_sets(ctx, param, values) -> dict[str, Any]:
    from archcalc.spec.yaml_loader import plain_scalar

    result = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected name=value, got '{item}'")
        result[name.strip()] = plain_scalar(value.strip())
    return result


def analysis_options(func):
    """--input, --batch, --dtype and --set, for commands that analyse specs."""
    for option in reversed(
        [
            click.option("--input", "input_shape", callback=parse_shape, metavar="CxHxW",
                         help="Replace the spec's input shape, e.g. 3x160x160."),
            click.option("--batch", default=1, show_default=True, type=click.IntRange(min=1),
                         help="Batch size for activation memory and MACs."),
            click.option("--dtype", default="float32", show_default=True, type=click.Choice(list(DTYPE_BYTES)),
                         help="Element type for memory figures."),
            click.option("--set", "overrides", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
                         help="Override a spec variable (repeatable), e.g. --set alpha=0.5."),
        ]
    ):
        func = option(func)
    return func


def output_options(func):
    func = click.option("--force", is_flag=True, help="Overwrite --output if it exists.")(func)
    return click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                        help="Write to FILE (atomically) instead of standard output.")(func)


def emit(text: str, output: Path | None, force: bool) -> None:
    """Print, or write a file atomically (temporary file + rename), never clobbering silently."""
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    from archcalc.atomic import write_atomically

    if output.exists() and not force:
        raise click.UsageError(f"{output} exists; pass --force to overwrite it")
    write_atomically(output, lambda handle: handle.write(text.encode("utf-8")))
    click.echo(f"wrote {output}", err=True)


def plain_output(output: Path | None) -> bool:
    """Whether the output is plain text: a file, or a stdout rich would not treat as a terminal.

    Decided as ``rich.console.Console.is_terminal`` decides (TTY_COMPATIBLE, then
    FORCE_COLOR, then ``isatty``) without importing rich, so a command printing to a
    pipe can skip rich altogether.
    """
    if output is not None:
        return True
    import os
    import sys

    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "0"
    force = os.environ.get("FORCE_COLOR")
    if force is not None:
        return force == ""
    isatty = getattr(sys.stdout, "isatty", None)
    return isatty is None or not isatty()


def console(output: Path | None = None):
    """A rich console: colour on a terminal; plain, wide, stable text elsewhere or to a file.

    Emoji codes are off: a spec name such as ``:warning:`` is printed as written.
    """
    import io

    from rich.console import Console

    if output is not None:
        return Console(file=io.StringIO(), width=200, no_color=True, highlight=False, force_terminal=False,
                       emoji=False)
    probe = Console()
    return Console(highlight=False, emoji=False, width=None if probe.is_terminal else 200)


def show(renderable, output: Path | None, force: bool) -> None:
    """Print a rich renderable, or write its plain text to --output."""
    con = console(output)
    con.print(renderable)
    if output is not None:
        emit(con.file.getvalue(), output, force)
