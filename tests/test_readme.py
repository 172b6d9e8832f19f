"""The README's example outputs are what archcalc prints today.

Each ```text block that starts with ``$ archcalc ...`` (other than `profile`, whose
timings vary) is run, and every line it shows must be a line of the real output;
a ``...`` line stands for lines left out. The "Bad input" example is run from the spec
it shows, and its message must be exactly the one shown.
"""

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from archcalc.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def examples():
    for match in re.finditer(r"```text\n\$ archcalc (.*?)\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        command, shown = match.group(1), match.group(2)
        if not command.startswith("profile"):
            yield pytest.param(command, shown, id=command)


def test_readme_has_examples():
    assert len(list(examples())) >= 3


@pytest.mark.parametrize("command, shown", list(examples()))
def test_readme_output_is_current(command, shown):
    result = CliRunner().invoke(cli, shlex.split(command), prog_name="archcalc", terminal_width=200)
    assert result.exit_code == 0, result.output
    printed = [line.rstrip() for line in result.output.splitlines()]
    missing = [line for line in shown.splitlines() if line.strip() != "..." and line.rstrip() not in printed]
    assert not missing, "\n".join(missing)


def test_bad_input_example_is_the_real_message(tmp_path, monkeypatch):
    found = re.search(r"```text\n\$ cat broken.yaml\n(.*?)\$ archcalc summary broken.yaml\n(.*?)```",
                      README.read_text(encoding="utf-8"), re.S)
    spec, message = found.groups()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.yaml").write_text(spec, encoding="utf-8")
    result = CliRunner().invoke(cli, ["summary", "broken.yaml"], prog_name="archcalc")
    assert result.exit_code == 1
    assert result.stderr == message
