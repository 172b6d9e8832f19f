"""Options shared by several commands, and how their values become library arguments."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable

import click

from archcalc.analysis import DTYPE_BYTES

if TYPE_CHECKING:
    from pathlib import Path


def complete_spec(ctx, param, incomplete: str):
    """Spec files and folders under the typed path, then the built-in names it begins.

    Paths are listed here, as plain items, rather than left to the shell ("file"
    items): click's bash script drops every other item when one is a file item.
    """
    from click.shell_completion import CompletionItem

    from archcalc.library import builtin_paths

    names = [n for n in builtin_paths() if n.startswith(incomplete.lower())]
    return [CompletionItem(p) for p in _spec_paths(incomplete)] + [CompletionItem(n) for n in names]


def _spec_paths(incomplete: str) -> list[str]:
    """Folders (with a trailing /) and *.yaml / *.yml files whose path begins with ``incomplete``."""
    from pathlib import Path

    stem = incomplete.rpartition("/")[2]
    head = incomplete[: len(incomplete) - len(stem)]
    try:
        entries = sorted(Path(head or ".").iterdir())
    except OSError:
        return []
    paths = []
    for entry in entries:
        if not entry.name.startswith(stem) or (entry.name.startswith(".") and not stem.startswith(".")):
            continue
        if entry.is_dir():
            paths.append(head + entry.name + "/")
        elif entry.suffix in (".yaml", ".yml"):
            paths.append(head + entry.name)
    return paths


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


def _as_path(ctx, param, value: str | None) -> Path | None:
    """--output as a :class:`pathlib.Path`, imported only when the option is given: with
    urllib.parse and ipaddress, which it imports, pathlib would add about 3 ms to every start-up."""
    if value is None:
        return None
    from pathlib import Path

    return Path(value)


def freeze_options(func):
    """--freeze-until NODE and --train-last N (shared with `summary`)."""
    func = click.option(
        "--train-last", type=click.IntRange(min=0), metavar="N",
        help="Freeze all but the last N weight layers (conv, linear) and what follows them; auxiliary heads too.",
    )(func)
    return click.option(
        "--freeze-until", metavar="NODE",
        help="Freeze NODE (a layer, or a block such as layer3) and everything it depends on.",
    )(func)


def check_freeze_options(freeze_until: str | None, train_last: int | None) -> None:
    if freeze_until is not None and train_last is not None:
        raise click.UsageError("use either --freeze-until or --train-last, not both")


def apply_freeze(graph, freeze_until: str | None, train_last: int | None):
    """Freeze ``graph`` as the options ask; returns the nodes frozen."""
    check_freeze_options(freeze_until, train_last)
    if freeze_until is None and train_last is None:
        return []
    from archcalc.training import freeze

    return freeze(graph, until=freeze_until, train_last=train_last)


def output_options(func):
    func = click.option("--force", is_flag=True, help="Overwrite --output if it exists.")(func)
    return click.option("--output", "-o", type=click.Path(dir_okay=False), callback=_as_path,
                        help="Write to FILE (atomically) instead of standard output.")(func)


def refuse_overwrite(output: Path | None, force: bool) -> None:
    """Stop before a file the user has would be replaced without --force."""
    if output is not None and output.exists() and not force:
        raise click.UsageError(f"{output} exists; pass --force to overwrite it")


def emit(text: str, output: Path | None, force: bool) -> None:
    """Print, or write a file atomically (temporary file + rename), never clobbering silently."""
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    from archcalc.atomic import write_atomically

    refuse_overwrite(output, force)
    write_atomically(output, lambda handle: handle.write(text.encode("utf-8")))
    click.echo(f"wrote {output}", err=True)


def width_option(func):
    return click.option(
        "--width", type=click.IntRange(min=20), metavar="N",
        help="Fit tables in N columns. Default: $COLUMNS, else the terminal's width, else 80 (as when piped); "
             "columns that do not fit are hidden, and a note says which.",
    )(func)


def output_width(requested: int | None = None) -> int:
    """--width, else $COLUMNS, else the terminal's width, else 80 (piped or written to a file)."""
    if requested:
        return requested
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if sys.stdout.isatty():
            return os.get_terminal_size(sys.stdout.fileno()).columns
    except (AttributeError, ValueError, OSError):
        pass
    return 80


def plain_output(output: Path | None) -> bool:
    """Whether the output is plain text: a file, or a stdout rich would not treat as a terminal.

    Decided as ``rich.console.Console.is_terminal`` decides (TTY_COMPATIBLE, then
    FORCE_COLOR, then ``isatty``) without importing rich, so a command printing to a
    pipe can skip rich altogether.
    """
    if output is not None:
        return True
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "0"
    force = os.environ.get("FORCE_COLOR")
    if force is not None:
        return force == ""
    isatty = getattr(sys.stdout, "isatty", None)
    return isatty is None or not isatty()


def plain_text(renderable, columns: int) -> str:
    """What rich prints of ``renderable`` on a plain console ``columns`` wide, without
    trailing spaces: the text of a pipe and of --output.

    Emoji codes are off here and on the terminal: a spec name such as ``:warning:`` is
    printed as written.
    """
    import io

    from rich.console import Console

    con = Console(file=io.StringIO(), width=columns, no_color=True, highlight=False, force_terminal=False,
                  emoji=False)
    con.print(renderable)
    return "\n".join(line.rstrip() for line in con.file.getvalue().split("\n"))


def show(build: Callable[[int], Any], output: Path | None, force: bool, width: int | None = None) -> None:
    """Print the rich renderable ``build(width)`` makes: in colour on a terminal; elsewhere,
    and to --output, as plain text without trailing spaces."""
    columns = output_width(width)
    if not plain_output(output):
        from rich.console import Console

        Console(highlight=False, emoji=False, width=columns).print(build(columns))
        return
    emit(plain_text(build(columns), columns), output, force)
