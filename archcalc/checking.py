"""What `archcalc check` does, as a library: parse, shape-check and verify specs in files and folders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from archcalc.errors import Location, SpecError, SpecErrors, SpecWarning
from archcalc.limits import LIMITS
from archcalc.expect import ExpectResult, check_expectations
from archcalc.units import format_bytes, format_count

SCHEMA = "archcalc.check/1"
BUDGETS = {
    # option name: (totals key, formatter, what it limits)
    "params": ("params", format_count, "parameters"),
    "macs": ("macs", format_count, "MACs"),
    "activation_memory": ("activation_bytes", format_bytes, "activation memory (sum over nodes)"),
}


@dataclass
class Finding:
    passed: bool
    message: str
    location: Location | None
    metric: str | None = None
    expected: Any = None
    actual: Any = None
    source: str = ""


@dataclass
class FileReport:
    """What checking one file found. ``errors`` are the spec's errors (all of those confined
    to one layer, see :class:`~archcalc.errors.SpecErrors`) and the warnings whose code
    fails a check (``unconsumed``); with ``strict`` every warning fails it too."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[SpecError] = field(default_factory=list)
    warnings: list[SpecWarning] = field(default_factory=list)
    strict: bool = False
    built: bool = True  # False when the spec has errors that stopped its analysis

    @property
    def error(self) -> SpecError | None:
        return self.errors[0] if self.errors else None

    @property
    def passed(self) -> bool:
        return not self.errors and all(f.passed for f in self.findings) and not (self.strict and self.warnings)


def spec_files(paths: Iterable[str | Path]) -> list[Path]:
    """Spec files named directly, or found recursively (``*.yaml``, ``*.yml``) in folders."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


# A line that starts with the `layers:` key: how a spec is told from other YAML
# (workflows, pre-commit configs, compose files) when a hook hands over every file.
_LAYERS_KEY = re.compile(rb"^[\"']?layers[\"']?[ \t]*:", re.M)


def is_spec(path: Path) -> bool:
    """Whether a YAML file is an archcalc spec: it has a top-level ``layers:`` key.

    Read as bytes and searched, not parsed, so a spec with a syntax error is still a
    spec (and gets its error), and a file too large to parse is judged by its start.
    """
    with open(path, "rb") as file:
        return _LAYERS_KEY.search(file.read(LIMITS.max_file_bytes)) is not None


def check_file(path: Path | str, budgets: Mapping[str, float], overrides: Mapping[str, Any] | None = None,
               strict: bool = False) -> FileReport:
    import archcalc
    from archcalc.analysis import analyze_graph
    from archcalc.lint import CODES, lint

    report = FileReport(str(path), strict=strict)
    try:
        graph = archcalc.load(path, overrides=overrides, all_errors=True)
        analysis = analyze_graph(graph)
        results: list[ExpectResult] = check_expectations(
            graph, loader=lambda extra: archcalc.load(path, overrides={**(overrides or {}), **extra}),
            analysis=analysis,
        )
    except SpecError as error:
        report.errors = error.errors if isinstance(error, SpecErrors) else [error]
        report.built = False
        return report
    for warning in lint(graph):
        if CODES[warning.code].error_in_check:
            report.errors.append(warning.as_error())
        else:
            report.warnings.append(warning)
    for r in results:
        e = r.expectation
        report.findings.append(
            Finding(r.passed, r.message, e.location, e.metric, e.value, r.actual, e.source)
        )
    start = Location(str(path), 1, 1)
    for option, limit in budgets.items():
        key, fmt, what = BUDGETS[option]
        actual = analysis.totals[key]
        passed = actual <= limit
        verdict = "within" if passed else "exceeds"
        report.findings.append(
            Finding(passed, f"{what} {fmt(actual)} {verdict} the budget of {fmt(limit)}", start, key, limit, actual)
        )
    return report


def report_to_dict(report: FileReport) -> dict:
    return {
        "path": report.path,
        "passed": report.passed,
        "error": report.error.to_dict() if report.error else None,
        "errors": [e.to_dict() for e in report.errors],
        "warnings": [w.to_dict() for w in report.warnings],
        "checks": [
            {
                "metric": f.metric,
                "passed": f.passed,
                "expected": f.expected,
                "actual": f.actual,
                "message": f.message,
                "source": f.source,
                "line": f.location.line if f.location else None,
                "column": f.location.column if f.location else None,
            }
            for f in report.findings
        ],
    }
