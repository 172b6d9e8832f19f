"""archcalc plot: the data behind each picture, and what the matplotlib figures really draw."""

import subprocess
import sys
import textwrap

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import archcalc  # noqa: E402
from archcalc.library import builtin_paths  # noqa: E402
from archcalc.plot import save_figure  # noqa: E402
from archcalc.plot.data import AREA_PER_MPARAM, landscape_points, layer_series  # noqa: E402
from archcalc.plot.labels import Box, place_labels  # noqa: E402
from archcalc.plot.landscape import draw_landscape  # noqa: E402
from archcalc.plot.layers import PANELS, draw_layers, shown_labels  # noqa: E402

VGG16_BARS = (
    ["input"]
    + [f"block1.{n}" for n in ("conv1", "conv2", "maxpool1")]
    + [f"block2.{n}" for n in ("conv1", "conv2", "maxpool1")]
    + [f"block{b}.{n}" for b in (3, 4, 5) for n in ("conv1", "conv2", "conv3", "maxpool1")]
    + ["fc6", "fc7", "fc8"]
)


@pytest.fixture(scope="module")
def vgg16():
    return archcalc.analyze("vgg16")


def read_png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# --- the data ---------------------------------------------------------------------------------


def test_vgg16_series_is_the_lecture_table(vgg16):
    series = layer_series(vgg16)
    assert series.labels == VGG16_BARS
    bar = {b.name: b for b in series.bars}
    assert bar["block1.conv1"].activation_bytes == 64 * 224 * 224 * 4  # "224*224*64 = 3.2M" values
    assert bar["block1.conv1"].params == 3 * 3 * 3 * 64 + 64
    assert bar["block1.conv2"].macs == 224 * 224 * 64 * 3 * 3 * 64
    assert bar["fc6"].params == 7 * 7 * 512 * 4096 + 4096  # "102,760,448" + biases
    # Nothing is lost by leaving out the empty slots (in-place ReLUs, dropout, flatten).
    assert series.omitted_empty == 18
    for metric, total in (("activation_bytes", "activation_bytes"), ("params", "params"), ("macs", "macs")):
        assert sum(series.values(metric)) == vgg16.totals[total]
    # The lecture's observation: memory in the early convolutions, parameters in the late FC layers.
    memory, params = series.values("activation_bytes"), series.values("params")
    assert series.labels[memory.index(max(memory))].startswith("block1.")
    assert series.labels[params.index(max(params))] == "fc6"
    assert sum(params[-3:]) / sum(params) > 0.89


def test_depth_collapses_blocks_into_summed_bars(vgg16):
    series = layer_series(vgg16, depth=1)
    assert series.labels == ["input", "block1", "block2", "block3", "block4", "block5", "fc6", "fc7", "fc8"]
    block1 = series.bars[1]
    assert (block1.kind, block1.layers) == ("block", 5)
    assert block1.params == 38_720 and block1.macs == 86_704_128 + 1_849_688_064
    assert sum(series.values("params")) == vgg16.totals["params"]


def test_all_nodes_and_training_only_rows():
    googlenet = archcalc.analyze("googlenet")
    full = layer_series(googlenet, all_nodes=True)
    assert full.omitted_empty == 0 and full.omitted_training_only > 0
    assert len(full.bars) == sum(1 for m in googlenet.layers if not m.training_only)
    assert sum(full.values("params")) == googlenet.totals["params"] == 6_624_904


def test_landscape_points_cover_every_builtin_with_a_reference():
    analyses = [archcalc.analyze(p) for p in builtin_paths().values()]
    points, skipped = landscape_points(analyses)
    with_reference = {a.graph.name for a in analyses if a.graph.reference}
    assert {p.name for p in points} == with_reference and len(points) >= 20
    assert set(skipped) == {a.graph.name for a in analyses} - with_reference
    assert [p.macs for p in points] == sorted(p.macs for p in points)
    vgg16 = next(p for p in points if p.name == "vgg16")
    assert (vgg16.top1, vgg16.top5, vgg16.params, vgg16.macs) == (71.592, 90.382, 138_357_544, 15_470_264_320)
    assert all(p.area == pytest.approx(p.params / 1e6 * AREA_PER_MPARAM) for p in points)


def test_landscape_plots_efficientnet_and_mobilenet_v3_with_their_published_accuracy(run, tmp_path):
    """The default landscape (every built-in with a reference) holds both, at torchvision's
    documented acc@1 and the analysed MACs and parameters."""
    points = {p.name: p for p in landscape_points([archcalc.analyze(n) for n in ("efficientnet-b0",
                                                                               "mobilenet-v3-large")])[0]}
    efficientnet, mobilenet = points["efficientnet-b0"], points["mobilenet-v3-large"]
    assert (efficientnet.top1, efficientnet.top5, efficientnet.params, efficientnet.macs) == (
        77.692, 93.532, 5_288_548, 385_814_752)
    assert (mobilenet.top1, mobilenet.top5, mobilenet.params, mobilenet.macs) == (
        74.042, 91.34, 5_483_032, 216_589_760)
    assert "EfficientNet_B0_Weights.IMAGENET1K_V1" in efficientnet.source
    assert "MobileNet_V3_Large_Weights.IMAGENET1K_V1" in mobilenet.source
    out = tmp_path / "landscape.svg"
    assert run("plot", "landscape", "-o", str(out)).exit_code == 0
    svg = out.read_text()
    for name in points:
        assert f'id="bubble:{name}"' in svg and f'id="label:{name}"' in svg


# --- label placement ----------------------------------------------------------------------------


def test_place_labels_never_overlaps_and_is_deterministic():
    anchors = [(200 + 3 * (i % 4), 150 + 2 * (i // 4)) for i in range(12)]  # a tight crowd
    anchors += [(40, 40), (360, 260)]
    sizes = [(40 + 5 * (i % 3), 12) for i in range(len(anchors))]
    bounds = Box(0, 0, 400, 300)
    boxes = place_labels(anchors, sizes, bounds, radii=[8] * len(anchors))
    assert boxes == place_labels(anchors, sizes, bounds, radii=[8] * len(anchors))
    for i, a in enumerate(boxes):
        assert a.inside(bounds)
        assert (a.x1 - a.x0, a.y1 - a.y0) == pytest.approx(sizes[i])
        assert all(not a.touches_circle(x, y, 3) for x, y in anchors)
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    # A lone label sits right beside its point.
    assert boxes[-2].x0 == pytest.approx(40 + 3 + 3) and boxes[-2].center[1] == pytest.approx(40)


# --- the figures --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_layers_figure_draws_the_series(vgg16, tmp_path, suffix):
    series = layer_series(vgg16)
    fig = draw_layers(series)
    axes = fig.axes[:3]
    for ax, (metric, what, _) in zip(axes, PANELS):
        bars = ax.patches
        assert [round(b.get_x() + b.get_width() / 2, 6) for b in bars] == list(range(len(series.bars)))
        heights = [b.get_height() for b in bars]
        values = series.values(metric)
        scale = values[heights.index(max(heights))] / max(heights)
        assert heights == pytest.approx([v / scale for v in values])
        assert what in ax.get_ylabel()
    assert "MiB" in axes[0].get_ylabel() and "millions" in axes[1].get_ylabel()
    assert "billions" in axes[2].get_ylabel()
    # Memory in MiB: block1.conv1 is 12.25 MiB exactly.
    assert axes[0].patches[1].get_height() == pytest.approx(64 * 224 * 224 * 4 / 2**20)
    assert [t.get_text() for t in axes[2].get_xticklabels()] == VGG16_BARS
    assert all(t.get_rotation() == 90 for t in axes[2].get_xticklabels())
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[2])
    assert "VGG-16" in fig._suptitle.get_text()
    path = save_figure(fig, tmp_path / f"vgg16.{suffix}")
    if suffix == "png":
        width, height = read_png_size(path)
        assert width > 1000 and height > 1000
    else:
        text = path.read_text()
        assert text.lstrip().startswith("<?xml") and "<svg" in text and "fc6" in text


def test_many_layers_thin_out_their_names():
    series = layer_series(archcalc.analyze("resnet50"))
    assert len(series.bars) > 70
    shown = shown_labels(series, 70)
    assert len(shown) <= 70 and shown[0] == (0, "input") and shown[1][0] == 2
    fig = draw_layers(series)
    assert [t.get_text() for t in fig.axes[2].get_xticklabels()] == [name for _, name in shown]
    assert "every 2nd name" in fig.axes[2].get_xlabel()


def _label_boxes(fig):
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in fig.archcalc_labels]


@pytest.mark.parametrize("log", [True, False])
def test_landscape_bubbles_and_labels(tmp_path, log):
    points, _ = landscape_points([archcalc.analyze(p) for p in builtin_paths().values()])
    fig = draw_landscape(points, log=log)
    ax = fig.axes[0]
    bubbles = {c.get_gid().split(":", 1)[1]: c for c in ax.collections if (c.get_gid() or "").startswith("bubble:")}
    assert set(bubbles) == {p.name for p in points}
    for p in points:
        (x, y), = bubbles[p.name].get_offsets()
        assert (x, y) == pytest.approx((p.gmacs, p.top1))
        assert bubbles[p.name].get_sizes()[0] / p.params == pytest.approx(AREA_PER_MPARAM / 1e6)
    assert [t.get_text() for t in fig.archcalc_labels] == [p.name for p in points]
    frame = ax.get_window_extent(fig.canvas.get_renderer())
    boxes = _label_boxes(fig)
    for i, a in enumerate(boxes):
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (fig.archcalc_labels[i].get_text(), b)
    assert ax.get_xscale() == ("log" if log else "linear")
    assert "GMACs" in ax.get_xlabel() and "Top-1" in ax.get_ylabel()
    legend = ax.get_legend()
    assert "parameters" in legend.get_title().get_text()
    sizes = [h.get_markersize() ** 2 for h in legend.legend_handles]
    assert sizes[-1] / sizes[0] == pytest.approx(140 / 5)
    for suffix in ("png", "svg"):
        save_figure(fig, tmp_path / f"landscape.{suffix}", dpi=100)
    assert read_png_size(tmp_path / "landscape.png") == (1100, 750)
    # Saving does not move a label: still no overlaps at the saved resolution.
    boxes = _label_boxes(fig)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


# --- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_cli_plot_layers_and_landscape(run, tmp_path, suffix):
    out = tmp_path / f"vgg16.{suffix}"
    result = run("plot", "layers", "vgg16", "--depth", "1", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000
    assert run("plot", "layers", "vgg16", "-o", str(out)).exit_code == 2  # exists, no --force
    assert run("plot", "layers", "vgg16", "--log", "-o", str(out), "--force").exit_code == 0
    land = tmp_path / f"land.{suffix}"
    result = run("plot", "landscape", "vgg16", "resnet50", "lenet5", "-o", str(land))
    assert result.exit_code == 0 and land.exists()
    assert "skipped (no `reference:` accuracy): lenet5" in result.output


def test_cli_plot_errors(run, tmp_path):
    result = run("plot", "layers", "vgg16", "-o", str(tmp_path / "x.jpg"))
    assert result.exit_code == 1 and ".png, .svg or .pdf" in result.output
    result = run("plot", "landscape", "lenet5", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == 1 and "no spec with a `reference:`" in result.output
    assert "Examples:" in run("plot", "layers", "--help").output
    assert "archcalc[plot]" in run("plot", "--help").output


def test_missing_matplotlib_is_one_line_naming_the_extra(run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for args in (["layers", "vgg16"], ["landscape"]):
        result = run("plot", *args, "-o", str(tmp_path / "x.png"))
        assert result.exit_code == 1
        assert result.output.strip() == (
            "error: plotting needs matplotlib, which is not installed; run: pip install 'archcalc[plot]' "
            "(from a checkout: pip install '.[plot]')"
        )
    # The diagram needs no extra.
    assert run("diagram", "vgg16", "--depth", "1").exit_code == 0


def test_summary_and_diagram_never_import_matplotlib():
    code = textwrap.dedent(
        """
        import sys
        from archcalc.cli import cli
        for args in (["summary", "vgg16"], ["diagram", "resnet18", "--format", "svg"], ["plot", "--help"]):
            try:
                cli.main(args, standalone_mode=False)
            except SystemExit:
                pass
        assert "matplotlib" not in sys.modules, "matplotlib was imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_docs_images_are_there():
    from pathlib import Path

    images = Path(__file__).parent.parent / "docs" / "images"
    for name in ("landscape.png", "vgg16-layers.png"):
        width, height = read_png_size(images / name)
        assert width >= 1000 and height >= 700
