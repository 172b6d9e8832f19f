"""Pictures of a network: per-layer bars, the accuracy landscape, and layer-graph diagrams.

Data extraction (:mod:`archcalc.plot.data`, :mod:`archcalc.plot.labels`,
:mod:`archcalc.plot.diagram`) is pure Python and never imports matplotlib, so tests
can assert on what is plotted and ``archcalc diagram`` works without the extra.
Only the drawing modules (:mod:`archcalc.plot.layers`, :mod:`archcalc.plot.landscape`)
import matplotlib, inside their functions, after :func:`require_matplotlib`.
"""

from __future__ import annotations

from pathlib import Path

from archcalc.atomic import write_atomically
from archcalc.errors import SpecError
from archcalc.extras import install_hint

INSTALL_HINT = install_hint("plot")
FORMATS = ("png", "svg", "pdf")


def require_matplotlib():
    """Import matplotlib (headless, Agg) or raise a one-line SpecError naming the extra."""
    try:
        import matplotlib
    except ImportError as exc:
        raise SpecError(f"plotting needs matplotlib, which is not installed; run: {INSTALL_HINT}") from exc
    return matplotlib


def image_format(path: Path) -> str:
    """The image format a file name asks for, from its extension: png, svg or pdf."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise SpecError(
            f"cannot tell the image format of '{path}'; name the file .png, .svg or .pdf",
            hint="for example: -o vgg16.png",
        )
    return suffix


def new_figure(width: float, height: float):
    """A matplotlib Figure on an Agg canvas: no pyplot state, no display needed."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: Path, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` atomically, in the format its name says."""
    path = Path(path)
    fmt = image_format(path)
    # A fixed date keeps SVG and PDF output byte-stable between runs.
    metadata = {"Date": None} if fmt in ("svg", "pdf") else {}
    write_atomically(path, lambda handle: fig.savefig(handle, format=fmt, dpi=dpi, metadata=metadata))
    return path
