"""Kinds that change the spatial size without arithmetic: zero padding and cropping."""

from __future__ import annotations

from archcalc.ops.base import (
    Example,
    Field,
    Op,
    OpError,
    ReceptiveStep,
    expect_image,
    keeps_nothing,
    no_params,
    none,
    register,
)

_SIDES = ("top", "bottom", "left", "right")


def _sides(node) -> tuple[int, int, int, int]:
    return tuple(node.args[s] for s in _SIDES)  # type: ignore[return-value]


class _Frame(Op):
    """Rows and columns added or removed at the sides: no parameters, no arithmetic."""

    family = "spatial"
    rules = "zero padding / cropping per side; no params, no ops"
    params = no_params
    buffers = none
    macs = none
    other_ops = none
    # Both run as a (negative) constant pad, whose backward slices or pads the gradient.
    saved_for_backward = keeps_nothing


@register
class Pad(_Frame):
    kind = "pad"
    aliases = ("zeropad",)
    doc = (
        "Zero padding on each side (Keras ZeroPadding2D, torch ZeroPad2d): "
        "(C, H, W) -> (C, H + top + bottom, W + left + right)."
    )
    fields = tuple(Field(s, "int", 0, f"zero rows/columns added at the {s}", minimum=0) for s in _SIDES)
    examples = (Example((2, 4, 5), {"top": 1, "bottom": 2, "right": 1}),)

    torch_classes = ("torch.nn.ZeroPad2d",)

    def from_torch(self, module):
        """ZeroPad2d pads by positive amounts and crops by negative ones: `pad` or `crop`."""
        left, right, top, bottom = module.padding
        sides = {"top": top, "bottom": bottom, "left": left, "right": right}
        sign = 1 if self.kind == "pad" else -1
        if any(sign * v < 0 for v in sides.values()):
            return None
        return {k: sign * v for k, v in sides.items()}

    def output_shape(self, node):
        c, h, w = expect_image(node)
        top, bottom, left, right = _sides(node)
        return (c, h + top + bottom, w + left + right)

    def receptive_step(self, node):
        return ReceptiveStep(padding=(node.args["top"], node.args["left"]))

    def torch_module(self, node):
        from torch import nn

        top, bottom, left, right = _sides(node)
        return nn.ZeroPad2d((left, right, top, bottom))


@register
class Crop(_Frame):
    kind = "crop"
    doc = (
        "Cut rows and columns off each side (Keras Cropping2D): "
        "(C, H, W) -> (C, H - top - bottom, W - left - right)."
    )
    fields = tuple(Field(s, "int", 0, f"rows/columns removed at the {s}", minimum=0) for s in _SIDES)
    examples = (Example((2, 6, 5), {"top": 1, "bottom": 2, "left": 2}),)

    def output_shape(self, node):
        c, h, w = expect_image(node)
        top, bottom, left, right = _sides(node)
        ho, wo = h - top - bottom, w - left - right
        if ho < 1 or wo < 1:
            raise OpError(
                f"crop '{node.name}': cropping ({top}, {bottom}, {left}, {right}) leaves nothing of "
                f"the {h}x{w} input from '{node.inputs[0].name}'"
            )
        return (c, ho, wo)

    def receptive_step(self, node):
        return ReceptiveStep(padding=(-node.args["top"], -node.args["left"]))

    def torch_module(self, node):
        from torch import nn

        # Negative padding crops.
        top, bottom, left, right = _sides(node)
        return nn.ZeroPad2d((-left, -right, -top, -bottom))
