"""The README's pre-commit snippet and the shipped hook work with the real pre-commit.

Each run is in a scratch git repository holding a good spec, a broken one and YAML that
is not a spec (a workflow, the pre-commit config itself), which the hook must leave alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROKEN = "input: [3, 32, 32]\nlayers:\n  - flatten\n  - conv: {out: 8, kernel: 3}\n"


def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.search(r"```yaml\n(repos:\n.*?)```", text, re.S).group(1)


@pytest.fixture
def repo(tmp_path):
    work = tmp_path / "models"
    (work / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "specs" / "lenet5.yaml", work / "good.yaml")
    (work / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    (work / ".github" / "workflows" / "ci.yml").write_text("name: ci\non: [push]\njobs: {}\n", encoding="utf-8")
    (work / ".pre-commit-config.yaml").write_text(readme_snippet(), encoding="utf-8")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def pre_commit(*args):
        subprocess.run(["git", "add", "-A"], cwd=work, check=True)
        return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)

    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    return work, pre_commit


def assert_fails_only_the_broken_spec(result):
    assert result.returncode == 1, result.stdout + result.stderr
    assert "broken.yaml:4:5: error: conv 'conv1' expects a 3-D input" in result.stdout
    assert "2 spec(s), 1 ok, 1 failing, 2 other YAML file(s) skipped" in result.stdout
    assert "ci.yml" not in result.stdout and "unknown top-level field" not in result.stdout


def test_readme_snippet_checks_specs_only(repo):
    work, pre_commit = repo
    assert_fails_only_the_broken_spec(pre_commit("run", "--all-files"))
    (work / "broken.yaml").unlink()
    fixed = pre_commit("run", "--all-files")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


@pytest.mark.slow
def test_shipped_hook_installs_and_runs(repo):
    # pre-commit installs archcalc from this checkout into an environment of its own.
    _, pre_commit = repo
    assert_fails_only_the_broken_spec(pre_commit("try-repo", str(ROOT), "archcalc-check", "--all-files"))


@pytest.mark.parametrize("text, spec", [
    (BROKEN, True),
    ("# a comment\n'layers': []\n", True),
    ("input: [3, 8, 8]\nlayers: {bad: [\n", True),  # a broken spec is still a spec
    ("repos:\n  - repo: local\n", False),
    ("jobs:\n  build:\n    layers: 3\n", False),  # `layers:` nested, not top level
])
def test_a_spec_is_told_by_its_top_level_layers_key(tmp_path, text, spec):
    from archcalc.checking import is_spec

    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    assert is_spec(path) is spec


def test_only_specs_with_nothing_but_other_yaml_passes(tmp_path, run):
    (tmp_path / "ci.yml").write_text("on: [push]\n", encoding="utf-8")
    result = run("check", "--only-specs", str(tmp_path))
    assert result.exit_code == 0
    assert result.output == "archcalc check: 0 spec(s), 0 ok, 0 failing, 1 other YAML file(s) skipped\n"
