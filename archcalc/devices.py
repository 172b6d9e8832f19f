"""The devices a roofline is drawn for: peak dense FLOP/s per dtype and memory bandwidth.

The table holds vendors' published figures (dense, without structured sparsity),
each with its source; "cpu" is this machine, as ``archcalc calibrate`` measured it and
stored it in the user's configuration file. No torch here: the table and the stored
figures are plain data, so ``roofline`` and ``sweep`` stay on the analytic path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from archcalc.errors import SpecError
from archcalc.suggest import did_you_mean

T = 1e12
G = 1e9


@dataclass(frozen=True)
class Device:
    name: str
    title: str
    peak_flops: dict[str, float]  # dtype -> FLOP/s (2 per multiply-accumulate)
    bandwidth: float  # bytes/s
    source: str

    def peak(self, dtype: str) -> float:
        if dtype not in self.peak_flops:
            raise SpecError(
                f"device '{self.name}' has no {dtype} figure; it has {', '.join(self.peak_flops)}"
            )
        return self.peak_flops[dtype]

    def ridge(self, dtype: str) -> float:
        """FLOPs per byte where the memory roof meets the compute roof."""
        return self.peak(dtype) / self.bandwidth

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "peak_flops": dict(self.peak_flops),
                "bandwidth": self.bandwidth, "source": self.source}


# float32 is the CUDA-core rate (TF32 tensor cores would be faster where a library enables
# them); float16/bfloat16 are the tensor-core rates with float32 accumulation where the vendor
# distinguishes it (GeForce cards halve it).
TABLE = {
    d.name: d
    for d in (
        Device("h100-sxm", "NVIDIA H100 SXM5 80GB", {"float32": 67 * T, "float16": 989.5 * T, "bfloat16": 989.5 * T},
               3350 * G, "NVIDIA H100 Tensor Core GPU datasheet (dense = half the sparsity figures)"),
        Device("a100", "NVIDIA A100 SXM4 80GB", {"float32": 19.5 * T, "float16": 312 * T, "bfloat16": 312 * T},
               2039 * G, "NVIDIA A100 Tensor Core GPU datasheet"),
        Device("l4", "NVIDIA L4", {"float32": 30.3 * T, "float16": 121 * T, "bfloat16": 121 * T},
               300 * G, "NVIDIA L4 Tensor Core GPU datasheet (dense = half the sparsity figures)"),
        Device("t4", "NVIDIA T4", {"float32": 8.1 * T, "float16": 65 * T},
               320 * G, "NVIDIA T4 Tensor Core GPU datasheet (mixed FP16/FP32 tensor rate)"),
        Device("rtx-4090", "NVIDIA GeForce RTX 4090", {"float32": 82.6 * T, "float16": 165.2 * T, "bfloat16": 165.2 * T},
               1008 * G, "NVIDIA Ada Lovelace GPU architecture whitepaper, appendix A (FP32 accumulate)"),
    )
}
CALIBRATED = "cpu"


def config_path() -> Path:
    """Where `archcalc calibrate` keeps its figures: $ARCHCALC_CONFIG, else the XDG config folder."""
    explicit = os.environ.get("ARCHCALC_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "archcalc" / "calibration.json"


def calibrated() -> Device | None:
    """This CPU as last calibrated, or None before `archcalc calibrate` has run."""
    path = config_path()
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Device(CALIBRATED, data["title"], {k: float(v) for k, v in data["peak_flops"].items()},
                      float(data["bandwidth"]), data["source"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise SpecError(f"{path}: not a calibration archcalc wrote ({error}); run `archcalc calibrate --force`") from None


def device_names() -> list[str]:
    return [*TABLE, CALIBRATED]


def get_device(name: str) -> Device:
    if name in TABLE:
        return TABLE[name]
    if name == CALIBRATED:
        found = calibrated()
        if found is None:
            raise SpecError("device 'cpu' is this machine as measured: run `archcalc calibrate` first",
                            hint=f"it stores two figures in {config_path()}")
        return found
    raise SpecError(f"unknown device '{name}'; choose from {', '.join(device_names())}" + did_you_mean(name, device_names()))
