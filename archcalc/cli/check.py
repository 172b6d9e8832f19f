"""archcalc check: for CI and pre-commit; exit 0 when all pass, 1 when any fails, 2 on usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import click

from archcalc.cli.options import parse_sets


def parse_budget(binary: bool):
    def callback(ctx, param, value):
        if value is None:
            return None
        from archcalc.units import parse_quantity

        try:
            return parse_quantity(value, binary=binary)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


@click.command(
    "check",
    epilog="""\b
Examples:
  archcalc check specs/
  archcalc check model.yaml --max-params 10M --max-macs 2G
  archcalc check specs/ --max-activation-memory 200MiB --format github
  archcalc check specs/ --strict
\b
Warnings (warning[CODE]) point at likely mistakes in a spec that builds; a spec
silences one with `ignore: [CODE]` on a layer or at its top level. The codes:
docs/warnings.md.
\b
Exit status: 0 all specs pass, 1 a spec fails (error, `expect:` figure,
budget, a node that feeds nothing, or with --strict any warning), 2 usage
error (e.g. a path that does not exist).""",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--max-params", callback=parse_budget(False), metavar="N", help="Fail specs with more parameters, e.g. 10M.")
@click.option("--max-macs", callback=parse_budget(False), metavar="N", help="Fail specs with more MACs, e.g. 2G.")
@click.option("--max-activation-memory", callback=parse_budget(True), metavar="SIZE",
              help="Fail specs whose activations (float32, batch 1, summed over nodes) exceed SIZE, e.g. 200MiB.")
@click.option("--set", "overrides", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
              help="Override a variable in every spec checked.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "csv", "markdown"]), default="text",
              show_default=True, help="github prints workflow annotations that point at the spec line; csv and "
                                      "markdown one row per file (a Markdown table suits a pull-request comment).")
@click.option("--only-specs", is_flag=True,
              help="Skip YAML files without a top-level `layers:` key (for hooks that pass every YAML file).")
@click.option("--strict", is_flag=True, help="Fail specs that have warnings, too.")
def command(paths, max_params, max_macs, max_activation_memory, overrides, fmt, only_specs, strict):
    """Parse and shape-check specs in PATHS (files or folders, recursively) and verify their `expect:` figures."""
    from archcalc.checking import check_file, is_spec, report_to_dict, spec_files
    from archcalc.sinks import github_message, github_property, terminal

    files = spec_files(paths)
    if not files:
        raise click.UsageError("no spec files (*.yaml, *.yml) found in " + ", ".join(map(str, paths)))
    skipped = []
    if only_specs:
        kept = []
        for f in files:
            (kept if is_spec(f) else skipped).append(f)
        files = kept
    budgets = {
        k: v
        for k, v in (("params", max_params), ("macs", max_macs), ("activation_memory", max_activation_memory))
        if v is not None
    }
    reports = [check_file(f, budgets, overrides, strict) for f in files]
    failed = [r for r in reports if not r.passed]
    if fmt == "json":
        click.echo(json.dumps({"schema": "archcalc.check/1", "passed": not failed,
                               "files": [report_to_dict(r) for r in reports],
                               "skipped": [str(f) for f in skipped]}, indent=2))
    elif fmt in ("csv", "markdown"):
        click.echo(_file_table(reports, fmt), nl=False)
        if fmt == "markdown":
            click.echo("\n" + _tally(reports, failed, skipped))
    elif fmt == "github":
        for r in reports:
            problems = [("error", e.location, e.text(), e.code) for e in r.errors]
            problems += [("error", f.location, f.message, None) for f in r.findings if not f.passed]
            problems += [("warning", w.location, w.text(), w.code) for w in r.warnings]
            for level, loc, message, code in problems:
                where = f"file={github_property(loc.file if loc else r.path)}"
                if loc:
                    where += f",line={loc.line},col={loc.column}"
                if code:
                    where += f",title={github_property(code)}"
                click.echo(f"::{level} {where}::{github_message(message)}")
        click.echo(_tally(reports, failed, skipped))
    else:
        for r in reports:
            path = terminal(r.path)
            if not r.built:
                click.echo(f"FAIL {path}")
            else:
                warned = f", {len(r.warnings)} warning{'s' if len(r.warnings) > 1 else ''}" if r.warnings else ""
                click.echo(f"{'ok  ' if r.passed else 'FAIL'} {path} ({len(r.findings)} checks{warned})")
            for problem in (*r.errors, *r.warnings):
                click.echo("  " + problem.render().replace("\n", "\n  "))
            for f in r.findings:
                if not f.passed:
                    click.echo(f"  {terminal(str(f.location))}: {terminal(f.message)}")
        click.echo(_tally(reports, failed, skipped))
    click.get_current_context().exit(1 if failed else 0)


def _problems(report) -> list[str]:
    """What failed in one file, each as 'file:line:column: message'."""
    if report.error:
        return [report.error.headline()]
    return [f"{f.location}: {f.message}" for f in report.findings if not f.passed]


def _file_table(reports, fmt: str) -> str:
    """One row per file: its status, how many checks ran and failed, and what failed."""
    from archcalc.report.formats import csv_text, markdown_table

    header = ["file", "status", "checks", "failing", "problems"]
    body = []
    for r in reports:
        failing = len(_problems(r))
        status = "error" if r.error else ("ok" if r.passed else "fail")
        body.append([str(r.path), status, len(r.findings), failing, "; ".join(_problems(r))])
    if fmt == "csv":
        return csv_text(header, body)
    return markdown_table([h.capitalize() for h in header], body, [False, False, True, True, False])


def _tally(reports, failed, skipped) -> str:
    warnings = sum(len(r.warnings) for r in reports)
    tally = f"archcalc check: {len(reports)} spec(s), {len(reports) - len(failed)} ok, {len(failed)} failing"
    return (tally + (f", {warnings} warning(s)" if warnings else "")
            + (f", {len(skipped)} other YAML file(s) skipped" if skipped else ""))
