"""The benchmark scripts still run: tiny sizes, generous limits, no timing asserted.

The figures themselves are measured by running the scripts (benchmarks/README.md); this
only keeps them runnable as the code changes.
"""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
pytestmark = pytest.mark.skipif(not (Path(sys.executable).parent / "archcalc").exists(),
                                reason="needs the archcalc console script beside this Python")


def run_script(name: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], capture_output=True, text=True,
                            timeout=300, cwd=BENCHMARKS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_resource_limits_script():
    out = run_script("resource_limits.py", "--cases", "alias-bomb", "tera-channels", "tera-channels-profile",
                     "--max-seconds", "60", "--max-mib", "4000")
    assert "all 3 cases met every target" in out
    assert "9,000,000,000,029,000,000,000,000" in out
    assert "alias-bomb.yaml:7:8: error: alias '*f' takes the spec past 2,000,000 values" in out


def test_scaling_script():
    out = run_script("scaling.py", "--sizes", "20", "40", "--rounds", "1")
    assert "roughly linear and within target: yes" in out
    assert out.count(" table ") >= 2 and out.count(" json ") >= 2


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.skipif(_cuda_available(), reason="with a GPU the script runs the whole check (benchmarks/README.md)")
def test_gpu_check_skips_cleanly_without_cuda():
    out = run_script("gpu_check.py", "--budget", "60")
    assert out.startswith("SKIP: no CUDA device (") and "nothing installed, nothing run" in out
    assert "pytest" not in out and "install" not in out.replace("nothing installed", "")


def test_sweep_speed_script():
    out = run_script("sweep_speed.py", "--batches", "1", "2", "--sides", "64", "--dtypes", "float32", "--repeats", "1")
    assert "grid: 2 points" in out and "reuse is" in out


def test_roofline_fidelity_script():
    pytest.importorskip("torch")
    out = run_script("roofline_fidelity.py", "--specs", "lenet5", "--batch", "2", "--repeat", "1",
                     "--calibrate-size", "128", "--calibrate-copy-mib", "4")
    assert "lenet5 batch 2:" in out and "Spearman" in out and "predicted / measured" in out
