"""archcalc.profile: the real module's parameters, FLOPs, latency and memory beside the analysis."""

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import archcalc  # noqa: E402
from archcalc.library import find_builtin  # noqa: E402
from archcalc.profile import profile  # noqa: E402
from archcalc.torch.timing import percentile, summarize, time_forward, torch_threads  # noqa: E402



def _check_report(report, graph):
    assert json.loads(json.dumps(report)) == report, "the report is plain JSON"
    assert report["schema"] == "archcalc.profile/2"
    assert report["torch_version"] == torch.__version__ and report["threads"][0] >= 1
    assert report["seconds"]["setup"] >= report["seconds"]["import_torch"] > 0 and report["seconds"]["timing"] > 0
    assert report["cpu_load"]["cores"] >= 1
    assert report["params"]["matches"], report["params"]
    assert report["flops"]["matches"], report["flops"]["mismatches"]
    totals = archcalc.analyze(graph).totals
    assert report["params"]["module"]["params"] == totals["params"] + totals["training_only_params"]
    for entry in report["batches"]:
        lat = entry["latency"]
        assert 0 < lat["min_s"] <= lat["p10_s"] <= lat["median_s"] <= lat["p90_s"] <= lat["max_s"]
        assert lat["images_per_s"] == pytest.approx(entry["batch"] / lat["median_s"])
        assert lat["macs"] == totals["macs"] * entry["batch"]
        assert lat["macs_per_s"] > 0
        stability = entry["stability"]
        assert stability["verdict"] in ("stable", "unstable") and stability["advice"].startswith(stability["verdict"])
        assert lat["runs"] == stability["kept_blocks"] * stability["block_runs"]
        mem = entry["memory"]
        assert mem["peak_bytes"] > 0 and mem["analytic_peak_activation_bytes"] > 0


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "mobilenet-v2", "googlenet"])
def test_profile_builtin_on_cpu(name):
    if find_builtin(name) is None:
        pytest.skip(f"spec '{name}' is not in specs/ yet")
    events = []
    report = profile(name, batches=[1], warmup=1, repeat=3, max_time=0.5, progress=lambda *e: events.append(e))
    _check_report(report, archcalc.load(name))
    assert report["device"]["type"] == "cpu" and report["device"]["name"]
    stages = [stage for stage, _, _ in events]
    assert stages[:3] == ["build", "params", "flops"]
    assert ("time batch=1", report["batches"][0]["stability"]["blocks"] * report["batches"][0]["stability"]["block_runs"],
            None) in events
    assert "memory batch=1" in stages


def test_profile_several_batches_with_options(kinds):
    previous = torch.get_num_threads()
    report = profile(kinds, batches=[1, 4], warmup=1, repeat=2, min_time=0.02, max_time=0.5, threads=1,
                     channels_last=True)
    assert torch.get_num_threads() == previous, "the thread setting is restored"
    _check_report(report, kinds)
    assert report["threads"] == [1] and report["options"]["channels_last"]
    assert [b["batch"] for b in report["batches"]] == [1, 4]
    for entry in report["batches"]:
        lat = entry["latency"]
        assert lat["runs"] >= 2 and entry["stability"]["timed_s"] >= 0.02
    # Auxiliary heads are built and counted, not timed: the timed MACs are the inference ones.
    assert report["batches"][0]["latency"]["macs"] == archcalc.analyze(kinds).totals["macs"]


def test_profile_without_flops_or_memory(kinds):
    report = profile(kinds, batches=[2], warmup=0, repeat=1, max_time=0.2, flops=False, memory=False)
    assert report["flops"] is None and "memory" not in report["batches"][0]


def test_profile_compares_thread_counts(kinds):
    report = profile(kinds, batches=[1, 2], warmup=0, repeat=1, max_time=0.2, threads=[1, 2], flops=False)
    assert report["threads"] == [1, 2]
    assert [(e["threads"], e["batch"]) for e in report["batches"]] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert ["memory" in e for e in report["batches"]] == [True, True, False, False], "memory measured once"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"batches": []}, "batch sizes"),
        ({"batches": [0]}, "batch sizes"),
        ({"repeat": 0}, "repeat"),
        ({"threads": 0}, "threads"),
        ({"threads": [1, 0]}, "threads"),
        ({"min_time": 2, "max_time": 1}, "max_time"),
        ({"device": "meta"}, "meta"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_options_are_spec_errors(kinds, options, message):
    with pytest.raises(archcalc.SpecError, match=message):
        profile(kinds, **options)


def test_percentiles_and_summary():
    times = [0.5, 0.1, 0.4, 0.2, 0.3]
    assert percentile(times, 50) == 0.3
    assert percentile(times, 10) == pytest.approx(0.14)
    assert percentile(times, 90) == pytest.approx(0.46)
    stats = summarize(times, batch=8, macs=8_000)
    assert stats.p10_s <= stats.median_s <= stats.p90_s
    assert stats.images_per_s == pytest.approx(8 / 0.3) and stats.macs_per_s == pytest.approx(8_000 / 0.3)


def test_time_forward_counts_runs_and_reports_progress():
    calls, events = [], []
    timed = time_forward(calls.append, torch.zeros(1), warmup=2, repeat=5, max_time=0.5,
                         progress=lambda *e: events.append(e))
    runs = len(timed.times)
    assert runs >= 5 and runs % timed.block_runs == 0 and all(t > 0 for t in timed.times)
    assert len(calls) == 2 + runs
    assert events[:2] == [("warmup", 1, 2), ("warmup", 2, 2)] and events[-1] == ("time", runs, None)


def test_torch_threads_restores():
    before = torch.get_num_threads()
    with torch_threads(1) as used:
        assert used == torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_profile_on_cuda(kinds):
    report = profile(kinds, device="cuda", batches=[1, 8], warmup=2, repeat=5, max_time=2)
    _check_report(report, kinds)
    assert report["device"]["type"] == "cuda"
    assert report["batches"][0]["memory"]["method"] == "cuda.max_memory_allocated"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_profile_resnet50_on_cuda():
    if find_builtin("resnet50") is None:
        pytest.skip("spec 'resnet50' is not in specs/ yet")
    report = profile("resnet50", device="cuda", batches=[1, 16], warmup=3, repeat=10, max_time=5)
    _check_report(report, archcalc.load("resnet50"))


SETUP_IMPORTS = """
import sys
from archcalc.profile import profile
report = profile("lenet5", batches=[1], warmup=0, repeat=1, max_time=0.1)
assert report["flops"]["matches"] and report["flops"]["flop_counter_macs_total"] > 0
assert report["batches"][0]["memory"]["peak_bytes"] > 0
print(sorted(m for m in ("torch._dynamo", "torch._inductor", "sympy") if m in sys.modules))
"""


def test_profile_on_cpu_does_not_import_dynamo():
    """FLOPs (fvcore, FlopCounterMode) and memory (the profiler) are measured without the
    torch._dynamo / sympy chain, which would cost about as much as importing torch."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", SETUP_IMPORTS], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
