"""Kinds that change the spatial size without arithmetic: zero padding and cropping."""

from __future__ import annotations

from archcalc.ops.base import Field, Op, OpError, expect_image, register

_SIDES = ("top", "bottom", "left", "right")


def _sides(node) -> tuple[int, int, int, int]:
    return tuple(node.args[s] for s in _SIDES)  # type: ignore[return-value]


@register
class Pad(Op):
    kind = "pad"
    aliases = ("zeropad",)
    family = "spatial"
    doc = (
        "Zero padding on each side (Keras ZeroPadding2D, torch ZeroPad2d): "
        "(C, H, W) -> (C, H + top + bottom, W + left + right)."
    )
    fields = tuple(Field(s, "int", 0, f"zero rows/columns added at the {s}", minimum=0) for s in _SIDES)

    def output_shape(self, node):
        c, h, w = expect_image(node)
        top, bottom, left, right = _sides(node)
        return (c, h + top + bottom, w + left + right)

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """constant_pad_nd's backward slices the gradient: nothing is kept."""
        return []

    def torch_module(self, node):
        from torch import nn

        top, bottom, left, right = _sides(node)
        return nn.ZeroPad2d((left, right, top, bottom))


@register
class Crop(Op):
    kind = "crop"
    family = "spatial"
    doc = (
        "Cut rows and columns off each side (Keras Cropping2D): "
        "(C, H, W) -> (C, H - top - bottom, W - left - right)."
    )
    fields = tuple(Field(s, "int", 0, f"rows/columns removed at the {s}", minimum=0) for s in _SIDES)

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

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """A negative constant pad: its backward pads the gradient, keeping nothing."""
        return []

    def torch_module(self, node):
        from torch import nn

        # Negative padding crops.
        top, bottom, left, right = _sides(node)
        return nn.ZeroPad2d((-left, -right, -top, -bottom))
