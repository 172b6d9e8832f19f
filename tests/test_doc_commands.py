"""Every command that README.md and docs/*.md show is run, and what they show it printing is current.

A ```bash block is a list of commands: each `archcalc ...` line (environment assignments
before it allowed) must exit 0, and each file it writes with `-o` must appear. A ```text
block that starts with `$ archcalc ...` shows output: every line it shows must be a line of
the real output (a `...` line stands for lines left out). `profile`'s lines are compared with
their figures masked, since latencies, the CPU's name and versions differ from run to run.
Commands are run in-process, in a scratch folder where `specs/` is the repository's.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from archcalc.cli import cli
from archcalc.limits import LIMITS

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Shown, but not run here, each for a reason.
NOT_RUN = {
    "pip install .": "tests/test_packaging.py installs the wheel in a fresh venv and runs it",
    'python -m pip install -e ".[test]" && python -m pytest -n auto': "the test command: this very run",
}
COMPLETION = 'eval "$(_ARCHCALC_COMPLETE=bash_source archcalc)"'


@dataclasses.dataclass
class Shown:
    doc: str
    line: int
    command: str
    output: str | None = None  # None for a command of a bash block


def shown_commands() -> list[Shown]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for block in re.finditer(r"```(bash|text)\n(.*?)```", text, re.S):
            lang, body = block.groups()
            line = text[: block.start()].count("\n") + 2
            if lang == "text":
                first, _, output = body.partition("\n")
                if first.startswith("$ archcalc "):
                    found.append(Shown(doc.name, line, first[2:], output))
                continue
            for offset, command in enumerate(body.splitlines()):
                command = re.sub(r"\s+#\s.*$", "", command).strip()
                if command and not command.startswith("#"):
                    found.append(Shown(doc.name, line + offset, command))
    return found


COMMANDS = shown_commands()


def split(command: str) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(command)
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == "archcalc", command
    return env, words[1:]


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    (tmp_path / "docs" / "images").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    saved = LIMITS.as_dict()  # --limit changes the process-wide limits
    yield tmp_path
    for name, value in saved.items():
        setattr(LIMITS, name, value)


def invoke(command: str):
    env, args = split(command)
    # Shown as on a 200-column terminal (tables fit $COLUMNS; piped output is 80 wide otherwise).
    return CliRunner().invoke(cli, args, prog_name="archcalc", env={"COLUMNS": "200", **env}, terminal_width=200)


def test_the_docs_show_many_commands():
    assert sum(c.output is None for c in COMMANDS) >= 25
    assert sum(c.output is not None for c in COMMANDS) >= 4


def test_every_shown_command_is_run_or_excused():
    for c in COMMANDS:
        runnable = c.command == COMPLETION or c.command in NOT_RUN or split(c.command)
        assert runnable, c


@pytest.mark.parametrize(
    "shown", [c for c in COMMANDS if c.output is None and c.command not in NOT_RUN and c.command != COMPLETION],
    ids=lambda c: f"{c.doc}:{c.line}",
)
def test_bash_command_runs(shown, scratch):
    result = invoke(shown.command)
    assert result.exit_code == 0, result.output
    _, args = split(shown.command)
    for flag, value in zip(args, args[1:]):
        if flag in ("-o", "--output"):
            assert (scratch / value).stat().st_size > 0, value


def test_completion_script_is_printed():
    result = CliRunner().invoke(cli, [], prog_name="archcalc", env={"_ARCHCALC_COMPLETE": "bash_source"})
    assert result.exit_code == 0
    assert "complete -o nosort -F _archcalc_completion archcalc" in result.output


def masked(line: str) -> str:
    """A profile line with what varies between runs and machines masked: figures, the CPU's
    name, and the stability verdicts (a shared machine may be quiet for one run, not the next)."""
    line = re.sub(r"cpu \(.*\)(?=\s+·)", "cpu (…)", line)
    line = re.sub(r"\b(torch|fvcore) \d\S*", r"\1 (version)", line)
    line = re.sub(r"^(\s*batch \d+(?:, \d+ threads?)?): .*", r"\1: (verdict)", line)
    line = re.sub(r"\b(stable|BIMODAL|DRIFTING|NOISY)\b", "(verdict)", line)
    line = re.sub(r"\d[\d,.]*", "#", line)
    line = re.sub("─+", "─", line)  # a rule as wide as the table, which the figures widen
    return " ".join(line.split())


@pytest.mark.parametrize("shown", [c for c in COMMANDS if c.output is not None], ids=lambda c: f"{c.doc}:{c.line}")
def test_shown_output_is_current(shown, scratch):
    result = invoke(shown.command)
    assert result.exit_code == 0, result.output
    printed = [line.rstrip() for line in result.output.splitlines()]
    shown_lines = [line.rstrip() for line in shown.output.splitlines() if line.strip() != "..."]
    if split(shown.command)[1][0] == "profile":
        printed, shown_lines = [masked(s) for s in printed], [masked(s) for s in shown_lines]
    missing = [line for line in shown_lines if line not in printed]
    assert not missing, "\n".join(missing)


def test_bad_input_example_is_the_real_message(scratch):
    found = re.search(r"```text\n\$ cat broken.yaml\n(.*?)\$ archcalc summary broken.yaml\n(.*?)```",
                      (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    spec, message = found.groups()
    (scratch / "broken.yaml").write_text(spec, encoding="utf-8")
    result = CliRunner().invoke(cli, ["summary", "broken.yaml"], prog_name="archcalc")
    assert result.exit_code == 1
    assert result.stderr == message
