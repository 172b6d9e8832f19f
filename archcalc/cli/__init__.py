"""The `archcalc` command: a thin click shell over the library.

Each command lives in its own module, imported only when it runs, and imports what
it needs inside its function, so `archcalc summary` never loads torch and starts
fast. Spec errors raised anywhere below are rendered once, here, as located
compiler-style messages.
"""

from __future__ import annotations

import importlib

import click

from archcalc import __version__
from archcalc.errors import SpecError

CONVENTIONS_HELP = """\b
Conventions:
  MACs    multiply-accumulates: conv H_out*W_out*C_out*k_h*k_w*C_in/groups,
          linear in*out. Bias adds, pooling, activations and normalisation
          are not MACs (they are "other ops"). FLOPs = 2 x MACs, always
          labelled. torchvision's "GFLOPS" and fvcore's "flops" are MACs.
  Params  weights + biases; BatchNorm running statistics are buffers.
  Memory  activation values x dtype size x batch; in-place activations and
          views add nothing. "Peak live" frees a tensor after its last use.
  RF      receptive field size and jump; over a DAG the largest over paths.
"""


def _set_limits(ctx, param, values) -> None:
    from archcalc.limits import set_limit

    for text in values:
        name, sep, value = text.partition("=")
        try:
            if not sep or not value.strip().replace("_", "").isdigit():
                raise ValueError(f"expected NAME=N with N a positive integer, got '{text}'")
            set_limit(name.strip(), int(value.strip().replace("_", "")))
        except ValueError as error:
            raise click.BadParameter(str(error)) from None


class SpecFailure(click.ClickException):
    """A SpecError on its way out of click, printed as its full located message."""

    exit_code = 1

    def __init__(self, error: SpecError) -> None:
        super().__init__(error.render())
        self.error = error

    def show(self, file=None) -> None:
        click.echo(self.error.render(), err=True)


# Each subcommand's module (its ``command``), imported only when that command runs or
# when help lists them all: `archcalc summary` need not load what `profile` or `plot` use.
COMMANDS = {
    "check": "check",
    "compare": "compare",
    "diagram": "diagram",
    "export": "export",
    "import": "import_",
    "kinds": "kinds",
    "list": "listing",
    "memory": "memory",
    "plot": "plot",
    "profile": "profile",
    "schema": "schema",
    "summary": "summary",
    "sweep": "sweep",
    "roofline": "roofline",
    "calibrate": "calibrate",
}


class ArchcalcGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = COMMANDS.get(name)
        if module is None:
            return None
        return importlib.import_module(f"{__name__}.{module}").command

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SpecError as error:
            raise SpecFailure(error) from None


@click.group(
    cls=ArchcalcGroup,
    epilog=CONVENTIONS_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", "-V", prog_name="archcalc")
@click.option("--limit", "limits", multiple=True, metavar="NAME=N", envvar="ARCHCALC_LIMIT", callback=_set_limits,
              expose_value=False, is_eager=True,
              help="Raise a resource limit, e.g. --limit max_nodes=1000000 (repeatable; also ARCHCALC_LIMIT). "
                   "The limits: docs/spec-format.md, Limits.")
def cli() -> None:
    """Shapes, parameters, MACs, memory and receptive fields of CNNs from a YAML spec.

    \b
    archcalc summary vgg16                       per-layer table and totals
    archcalc compare naive-inception bottleneck  side by side, with ratios
    archcalc check specs/                        CI: parse, shape-check, verify `expect:`
    archcalc list                                the built-in networks

    SPEC is a built-in name (see `archcalc list`) or a path to a spec file.
    """


def main(args=None, prog_name: str | None = None, **extra):
    """The console script (and ``python -m archcalc``): one command, then the process exits.

    What is loaded by now (archcalc, click, PyYAML: some 17,000 objects the cyclic garbage
    collector tracks) lives until the exit, so the collector is told to leave it alone
    (``gc.freeze``): otherwise its passes at interpreter exit traverse it and free it object by
    object once the modules are cleared, which the process's end does anyway: about 9 ms, a tenth
    of ``archcalc summary``'s CPU time. The same once the command is done: what it built, a
    graph whose nodes point at each other, is only freed by that last pass, which traverses it
    and frees it node by node, 0.8 s of a 100,000-layer summary's 6.7 s (benchmarks/scaling.py);
    frozen, it is left to the process's end, while atexit handlers and the streams' flushing
    still run. Library callers and tests call :func:`cli`, and their collector stays as it was.
    """
    import gc

    gc.freeze()
    try:
        return cli.main(args, prog_name, **extra)
    finally:
        gc.freeze()
