"""Built-in specs that upsample, each against the real torch module: the DCGAN generator and
discriminator (pytorch/examples dcgan/main.py), the paper's U-Net and torchvision's FCN-ResNet50.

Every figure is compared with a reference module written here (or torchvision's): parameters,
buffers, output shape, the total MACs by torch.utils.flop_counter, and the MACs of every
convolution one by one. The references run on the meta device (shapes only), so a 572x572
U-Net costs nothing.
"""

import pytest

import archcalc

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from archcalc.torch.flops import flop_counter_counts  # noqa: E402

NZ, NGF, NDF, NC = 100, 64, 64, 3


class DCGANGenerator(nn.Module):
    """pytorch/examples dcgan/main.py's Generator (its `ngpu` data-parallel branch left out)."""

    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(NZ, NGF * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 8), nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 8, NGF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 4), nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 2), nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF), nn.ReLU(True),
            nn.ConvTranspose2d(NGF, NC, 4, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


class DCGANDiscriminator(nn.Module):
    """pytorch/examples dcgan/main.py's Discriminator."""

    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(NC, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 4, NDF * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
        )

    def forward(self, image):
        return self.main(image).view(-1, 1).squeeze(1)


def _double_conv(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3), nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Ronneberger et al. 2015, Figure 1: valid 3x3 convolutions, 2x2 max pooling, 2x2 up-convolutions
    halving the channels, the contracting path's maps cropped to the centre and concatenated."""

    WIDTHS = (64, 128, 256, 512, 1024)

    def __init__(self, classes=2):
        super().__init__()
        self.down = nn.ModuleList(_double_conv(cin, cout) for cin, cout in zip((1, *self.WIDTHS[:-1]), self.WIDTHS))
        self.pool = nn.MaxPool2d(2, 2)
        self.up = nn.ModuleList(nn.ConvTranspose2d(w, w // 2, 2, 2) for w in reversed(self.WIDTHS[1:]))
        self.up_conv = nn.ModuleList(_double_conv(w, w // 2) for w in reversed(self.WIDTHS[1:]))
        self.classifier = nn.Conv2d(64, classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = self.pool(x)
        for up, conv, skip in zip(self.up, self.up_conv, reversed(skips)):
            x = up(x)
            h, w = x.shape[-2:]
            top, left = (skip.shape[-2] - h) // 2, (skip.shape[-1] - w) // 2
            x = conv(torch.cat([skip[..., top:top + h, left:left + w], x], 1))
        return self.classifier(x)


def _fcn_resnet50():
    torchvision = pytest.importorskip("torchvision")
    return torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False)


def _measured(module, input_shape):
    """(params, buffers, output shape per sample, total MACs, the MACs of each convolution in order)."""
    with torch.device("meta"):
        x = torch.empty(1, *input_shape)
    module = module.to("meta").eval()
    counts = flop_counter_counts(module, (x,))
    with torch.no_grad():
        out = module(x)
    out = out["out"] if isinstance(out, dict) else out
    convs = [name for name, sub in module.named_modules() if isinstance(sub, (nn.Conv2d, nn.ConvTranspose2d))]
    return (sum(p.numel() for p in module.parameters()), sum(b.numel() for b in module.buffers()),
            list(out.shape[1:]), counts[""] // 2, sorted(counts[name] // 2 for name in convs))


REFERENCES = {
    "dcgan-generator": DCGANGenerator,
    "dcgan-discriminator": DCGANDiscriminator,
    "unet": UNet,
    "fcn-resnet50": _fcn_resnet50,
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_spec_equals_its_torch_module(name):
    analysis = archcalc.analyze(name)
    totals = analysis.totals
    params, buffers, shape, macs, conv_macs = _measured(REFERENCES[name](), analysis.graph.input.shape)
    assert totals["params"] == params
    assert totals["buffers"] == buffers
    assert totals["macs"] == macs
    assert sorted(r.macs for r in analysis.layers if r.kind in ("conv", "conv_transpose")) == conv_macs
    output = list(analysis.graph.outputs[0].shape)
    # The discriminator's `view(-1, 1).squeeze(1)` gives one value per sample; the spec flattens to [1].
    assert output == (shape or [1])


def test_published_figures():
    figures = {name: archcalc.analyze(name).totals for name in REFERENCES}
    assert figures["dcgan-generator"]["macs"] == 104_628_224
    assert figures["dcgan-generator"]["params"] == 3_576_704
    assert figures["dcgan-discriminator"]["params"] == 2_765_568
    assert figures["unet"]["params"] == 31_030_658
    assert list(archcalc.load("unet").outputs[0].shape) == [2, 388, 388]
    assert figures["fcn-resnet50"]["params"] == 32_957_013
    assert list(archcalc.load("fcn-resnet50").outputs[0].shape) == [21, 224, 224]


def test_the_issues_stand_in_figure_is_the_generator_convolving_its_output_grid():
    """Issue 15's 428,343,296 MACs: the generator written with zero padding and stride-1 convolutions
    that make the same sizes (n -> 2n needs n + 3 zero rows), so every layer convolves its output
    grid: 16 times the work of the first transposed convolution, 4 times each stride-2 one."""
    layers = ["  - pad: {top: 3, bottom: 3, left: 3, right: 3}", "  - conv: 512"]
    for size, width in ((4, 256), (8, 128), (16, 64), (32, 3)):
        before, after = (size + 3) // 2, (size + 4) // 2
        layers += [f"  - pad: {{top: {before}, bottom: {after}, left: {before}, right: {after}}}", f"  - conv: {width}"]
    stand_in = archcalc.load_text("input: [100, 1, 1]\ndefaults: {conv: {kernel: 4, bias: false}}\nlayers:\n"
                                  + "\n".join(layers) + "\n", "stand-in.yaml")
    assert list(stand_in.outputs[0].shape) == [3, 64, 64]
    assert archcalc.analyze(stand_in).totals["macs"] == 428_343_296
    real = [r.macs for r in archcalc.analyze("dcgan-generator").layers if r.kind == "conv_transpose"]
    assert 16 * real[0] + 4 * sum(real[1:]) == 428_343_296
    assert sum(real) == 104_628_224
