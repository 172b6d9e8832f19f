"""The wheel, installed into a fresh virtual environment, works from any directory."""

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repo(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
        check=True,
    )
    wheels = list(dist.glob("archcalc-*.whl"))
    assert len(wheels) == 1
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheels[0])], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    listing = subprocess.run([str(bin_dir / "archcalc"), "list"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, check=True)
    assert "vgg16" in listing.stdout and "alexnet" in listing.stdout
    summary = subprocess.run([str(bin_dir / "archcalc"), "summary", "vgg16"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, check=True)
    assert "138,357,544" in summary.stdout
    as_module = subprocess.run([str(bin_dir / "python"), "-m", "archcalc", "summary", "vgg16"], cwd=elsewhere,
                               env=env, capture_output=True, text=True, check=True)
    assert as_module.stdout == summary.stdout
    located = subprocess.run(
        [str(bin_dir / "python"), "-c", "import archcalc.library as l; print(l.specs_dir())"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    )
    assert str(env_dir) in located.stdout, "the installed wheel must carry its own specs"
    no_torch = subprocess.run(
        [str(bin_dir / "python"), "-c", "import archcalc, sys; archcalc.analyze('vgg16'); print('torch' in sys.modules)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    )
    assert no_torch.stdout.strip() == "False"
