"""archcalc: shapes, parameters, MACs, memory and receptive fields of CNNs from a YAML spec."""

from archcalc.analysis import Analysis
from archcalc.api import analyze, load, load_model, load_text
from archcalc.errors import Location, SpecError

__version__ = "0.1.0"
__all__ = ["Analysis", "Location", "SpecError", "analyze", "load", "load_model", "load_text", "__version__"]
