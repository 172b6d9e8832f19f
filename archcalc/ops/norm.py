"""Normalisation: batch, layer, group and instance normalisation, AlexNet's local response
normalisation, and learnt per-channel scales (ConvNeXt's layer scale)."""

from __future__ import annotations

from archcalc.ops.base import (
    Example,
    Field,
    Op,
    OpError,
    ReceptiveStep,
    Saved,
    describe,
    expect_image,
    no_params,
    none,
    numel,
    pointwise,
    register,
    saved_input,
    torch_class,
)

_EPS = Field("eps", "float", 1e-5, "added to the variance", minimum=0)
_AFFINE = Field("affine", "bool", True, "learn a scale and a shift per channel")
# Normalised with statistics over every position: like a gate, the same for all of them.
_STATISTICS_STEP = ReceptiveStep(context=True)


def channel_affine(op, node) -> tuple[int, int]:
    """A learnt scale (weight) and shift (bias) per channel, when ``affine``."""
    c = node.shape[0]
    return (c, c) if node.args["affine"] else (0, 0)


def _normalising_ops(node, affine: bool, shift: bool | None = None) -> int:
    """Per element: two reductions that read it (mean, variance), subtracting the mean and
    multiplying by the inverse deviation; then the learnt scale and shift."""
    shift = affine if shift is None else shift
    return numel(node.shape) * (4 + affine + shift)


def _statistics(node, shape, dtype: str) -> list[Saved]:
    """The input and the mean and inverse deviation of each normalised group, which
    torch's layer and group norms keep for their backward (for any of the gradients)."""
    return [saved_input(node), Saved("mean", shape, dtype), Saved("rstd", shape, dtype)]


@register
class BatchNorm(Op):
    kind = "batchnorm"
    aliases = ("bn",)
    family = "norm"
    doc = (
        "Batch normalisation over channels (or features of a flat input). Buffers are the "
        "running mean and variance plus torch's one-element batch counter."
    )
    rules = "2C params, 2C+1 buffers (running mean, variance, batch counter); other ops 2 per element"
    fields = (_EPS, Field("momentum", "float", 0.1, "running-statistics momentum", minimum=0), _AFFINE)
    shortcut_norm = True
    examples = (Example((3, 5, 4)), Example((6,), {"affine": False, "eps": 1e-3}))

    torch_classes = ("torch.nn.BatchNorm2d", "torch.nn.BatchNorm1d")

    def from_torch(self, module):
        if module.momentum is None or not module.track_running_stats:
            return None
        return {"eps": float(module.eps), "momentum": float(module.momentum), "affine": bool(module.affine)}

    def output_shape(self, node):
        shape = node.inputs[0].shape
        if len(shape) not in (1, 3):
            raise OpError(f"batchnorm '{node.name}' expects (C, H, W) or (features,) input")
        return shape

    params = channel_affine

    def buffers(self, node):
        return 2 * node.shape[0] + 1

    macs = none

    def other_ops(self, node):
        return 2 * numel(node.shape)

    receptive_step = pointwise

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """Training-mode batch norm keeps its input and the batch mean and inverse std per channel."""
        if not (any(needs_input_grad) or trainable):
            return []
        c = node.shape[0]
        return [
            saved_input(node),
            Saved("save_mean", (c,), "stat", per_sample=False),
            Saved("save_invstd", (c,), "stat", per_sample=False),
        ]

    def torch_module(self, node):
        from torch import nn

        cls = nn.BatchNorm2d if len(node.shape) == 3 else nn.BatchNorm1d
        a = node.args
        return cls(node.shape[0], eps=a["eps"], momentum=a["momentum"], affine=a["affine"])


@register
class LocalResponseNorm(Op):
    kind = "lrn"
    family = "norm"
    doc = "Local response normalisation across `size` neighbouring channels (AlexNet: size 5, k 2)."
    rules = "AlexNet's local response normalisation; no params; other ops `size + 5` per element"
    fields = (
        Field("size", "int", 5, "channels in the window", minimum=1),
        Field("alpha", "float", 1e-4, "scale"),
        Field("beta", "float", 0.75, "exponent"),
        Field("k", "float", 1.0, "additive constant (AlexNet uses 2)"),
    )
    positional = ("size",)
    examples = (Example((6, 4, 3), [3]), Example((4, 3, 3), {"size": 5, "k": 2.0}))

    torch_classes = ("torch.nn.LocalResponseNorm",)

    def from_torch(self, module):
        return {"size": module.size, "alpha": float(module.alpha), "beta": float(module.beta), "k": float(module.k)}

    def output_shape(self, node):
        shape = node.inputs[0].shape
        if len(shape) != 3:
            raise OpError(f"lrn '{node.name}' expects a 3-D input (C, H, W)")
        return shape

    params = no_params
    buffers = none
    macs = none

    def other_ops(self, node):
        """Per element: the square, the window of ``size`` squares, then scale, add ``k``, power, divide."""
        return numel(node.shape) * (node.args["size"] + 5)

    receptive_step = pointwise

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """torch's local_response_norm is composite: it keeps the input, the zero-padded squares
        (the average pool's input, ``size - 1`` channels longer), and the input and output of
        ``pow(beta)`` (the divisor)."""
        if not needs_input_grad[0]:
            return []
        c, h, w = node.shape
        return [
            saved_input(node),
            Saved("padded squares", (c + node.args["size"] - 1, h, w)),
            Saved("k + alpha * mean of squares", (c, h, w)),
            Saved("divisor", (c, h, w)),
        ]

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.LocalResponseNorm(a["size"], a["alpha"], a["beta"], a["k"])


@register
class LayerNorm(Op):
    kind = "layernorm"
    aliases = ("ln", "layer_norm")
    family = "norm"
    doc = (
        "Layer normalisation over the last axis: the features of a flat input or of each token of an "
        "(N, D) input, as torch's LayerNorm over them. For the channels of an image at every position "
        "use `layernorm2d`."
    )
    rules = "over the last axis: 2D params (D without `bias`, 0 without `affine`), no buffers; other ops 4 per element, +1 each for scale and shift"
    fields = (
        _EPS,
        Field("affine", "bool", True, "learn a scale per feature (torch's elementwise_affine)"),
        Field("bias", "bool", True, "learn a shift per feature too (with `affine`)"),
    )
    examples = (
        Example((6,)),
        Example((2, 2, 2), {"bias": False, "eps": 1e-6}, before=("flatten",)),
        Example((5,), {"affine": False}, before=({"linear": 4},)),
        Example((3, 4, 4), before=({"conv": {"out": 4, "kernel": 2, "stride": 2}}, "tokens", "class_token")),
    )

    def output_shape(self, node):
        shape = node.inputs[0].shape
        if len(shape) == 3:
            raise OpError(
                f"layernorm '{node.name}' normalises the last axis (the features of a flat input), got "
                f"{describe(shape)} from '{node.inputs[0].name}': for the channels of a (C, H, W) input at every "
                "position use layernorm2d (ConvNeXt), over all of (C, H, W) groupnorm with groups: 1"
            )
        return shape

    def params(self, node):
        d, a = node.shape[-1], node.args
        return (d if a["affine"] else 0), (d if a["affine"] and a["bias"] else 0)

    buffers = none
    macs = none

    def other_ops(self, node):
        return _normalising_ops(node, node.args["affine"], node.args["affine"] and node.args["bias"])

    receptive_step = pointwise

    def saved_for_backward(self, node, needs_input_grad, trainable):
        if not (any(needs_input_grad) or trainable):
            return []
        return _statistics(node, (*node.shape[:-1], 1), "stat")

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.LayerNorm(node.shape[-1], eps=a["eps"], elementwise_affine=a["affine"], bias=a["bias"])


@register
class ChannelLayerNorm(Op):
    kind = "layernorm2d"
    aliases = ("layer_norm2d",)
    family = "norm"
    doc = (
        "Layer normalisation over the channels at every position of a (C, H, W) input: "
        "ConvNeXt's LayerNorm2d (torchvision), nn.LayerNorm(C) applied channels-last."
    )
    rules = "over C at every position: 2C params, no buffers; other ops 6 per element"
    fields = (_EPS, _AFFINE)
    examples = (Example((4, 3, 5)), Example((3, 4, 4), {"affine": False, "eps": 1e-6}))

    # torchvision's ConvNeXt LayerNorm2d: permuted channels-last, F.layer_norm, permuted back, as LayerNorm2d here
    torch_classes = ("torchvision.models.convnext.LayerNorm2d",)

    def from_torch(self, module):
        affine = bool(module.elementwise_affine)
        if len(module.normalized_shape) != 1 or (affine and module.bias is None):
            return None
        return {"eps": float(module.eps), "affine": affine}

    def output_shape(self, node):
        return expect_image(node)

    params = channel_affine

    buffers = none
    macs = none

    def other_ops(self, node):
        return _normalising_ops(node, node.args["affine"])

    receptive_step = pointwise

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """Torch's layer norm of the channels-last view keeps that view (the input's storage)
        and a mean and inverse deviation per position."""
        if not (any(needs_input_grad) or trainable):
            return []
        _, h, w = node.shape
        return _statistics(node, (h, w, 1), "stat")

    def torch_module(self, node):
        a = node.args
        return LayerNorm2d(node.shape[0], eps=a["eps"], elementwise_affine=a["affine"])


@torch_class
def LayerNorm2d(torch, nn, F, math):
    class LayerNorm2d(nn.LayerNorm):
        """nn.LayerNorm over the channels of an (N, C, H, W) tensor, as torchvision's ConvNeXt
        computes it: permuted to channels-last, normalised, permuted back (a view)."""

        def forward(self, x):
            x = x.permute(0, 2, 3, 1)
            x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    return LayerNorm2d


@register
class GroupNorm(Op):
    kind = "groupnorm"
    aliases = ("gn", "group_norm")
    family = "norm"
    doc = (
        "Group normalisation (Wu & He 2018): channels split into `groups`, each normalised over "
        "its channels and all positions; `groups: 1` is layer norm over (C, H, W), `groups` = C "
        "instance norm. No running statistics."
    )
    rules = (
        "C divisible by `groups`; 2C params, no buffers; other ops 6 per element (4 without `affine`); "
        "its statistics over all positions add global context to the receptive field, not size"
    )
    fields = (Field("groups", "int", doc="number of channel groups", minimum=1), _EPS, _AFFINE)
    positional = ("groups",)
    examples = (
        Example((4, 3, 5), [2]),
        Example((6, 4, 4), {"groups": 3, "affine": False}, before=({"conv": {"out": 6, "kernel": 3, "padding": 1}},)),
        Example((6,), [1]),
    )

    def output_shape(self, node):
        shape = node.inputs[0].shape
        if len(shape) not in (1, 3):
            raise OpError(f"groupnorm '{node.name}' expects (C, H, W) or (features,) input, got {describe(shape)}")
        if shape[0] % node.args["groups"]:
            raise OpError(
                f"groupnorm '{node.name}': channels {shape[0]} are not divisible by groups={node.args['groups']}",
                "groups",
            )
        return shape

    params = channel_affine

    buffers = none
    macs = none

    def other_ops(self, node):
        return _normalising_ops(node, node.args["affine"])

    def receptive_step(self, node):
        return _STATISTICS_STEP if len(node.shape) == 3 else pointwise(self, node)

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """The input, and a mean and inverse deviation per group in the input's type (torch
        makes them float32 only when the input and the affine parameters differ in type)."""
        if not (any(needs_input_grad) or trainable):
            return []
        return _statistics(node, (node.args["groups"],), "act")

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.GroupNorm(a["groups"], node.shape[0], eps=a["eps"], affine=a["affine"])


@register
class InstanceNorm(Op):
    kind = "instancenorm"
    aliases = ("instance_norm",)
    family = "norm"
    doc = (
        "Instance normalisation: each channel of each sample over its positions (torch's "
        "InstanceNorm2d; no learnt scale and no running statistics unless asked, as in torch)."
    )
    rules = (
        "2C params with `affine`, 2C+1 buffers with `track_running_stats`; other ops 4 per element "
        "(+2 with `affine`; 2 with running statistics, which inference uses); statistics over all "
        "positions add global context to the receptive field"
    )
    fields = (
        _EPS,
        Field("momentum", "float", 0.1, "running-statistics momentum", minimum=0),
        Field("affine", "bool", False, "learn a scale and a shift per channel"),
        Field("track_running_stats", "bool", False,
              "keep running statistics (buffers), which inference then uses instead of the sample's"),
    )
    examples = (
        Example((3, 4, 5)),
        Example((4, 3, 3), {"affine": True}, before=({"conv": {"out": 4, "kernel": 1}},)),
        Example((2, 4, 4), {"affine": True, "track_running_stats": True}),
    )

    def output_shape(self, node):
        return expect_image(node)

    params = channel_affine

    def buffers(self, node):
        return 2 * node.shape[0] + 1 if node.args["track_running_stats"] else 0

    macs = none

    def other_ops(self, node):
        if node.args["track_running_stats"]:
            return 2 * numel(node.shape)
        return _normalising_ops(node, node.args["affine"])

    def receptive_step(self, node):
        return pointwise(self, node) if node.args["track_running_stats"] else _STATISTICS_STEP

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """torch runs it as a batch norm of the (1, N*C, H, W) view, with the affine parameters
        and running statistics repeated per sample: it keeps the input, those repeats and the
        batch mean and inverse deviation of each of the N*C channels."""
        if not (any(needs_input_grad) or trainable):
            return []
        c = node.shape[0]
        repeated = ["weight"] if node.args["affine"] else []
        if node.args["track_running_stats"]:
            repeated += ["running_mean", "running_var"]
        return [
            saved_input(node),
            *(Saved(f"{name} per sample", (c,)) for name in repeated),
            Saved("save_mean", (c,), "stat"),
            Saved("save_invstd", (c,), "stat"),
        ]

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.InstanceNorm2d(node.shape[0], eps=a["eps"], momentum=a["momentum"], affine=a["affine"],
                                 track_running_stats=a["track_running_stats"])


@register
class Scale(Op):
    kind = "scale"
    aliases = ("layer_scale",)
    family = "norm"
    doc = (
        "A learnt multiplier per channel (or feature), with an optional learnt shift: ConvNeXt's "
        "layer scale (torchvision's (C, 1, 1) parameter); with `frozen: true` a fixed affine transform."
    )
    rules = "C params (2C with `bias`), no MACs; other ops 1 per element (2 with `bias`)"
    fields = (
        Field("init", "float", 1.0, "initial value of every multiplier (ConvNeXt: 1e-6)"),
        Field("bias", "bool", False, "learn a shift per channel too"),
    )
    examples = (
        Example((4, 3, 3)),
        Example((3, 4, 4), {"init": 1e-6, "bias": True}, before=({"conv": {"out": 3, "kernel": 1}},)),
        Example((5,), {"bias": True}),
    )

    def output_shape(self, node):
        shape = node.inputs[0].shape
        if len(shape) not in (1, 3):
            raise OpError(f"scale '{node.name}' expects (C, H, W) or (features,) input, got {describe(shape)}")
        return shape

    def params(self, node):
        c = node.shape[0]
        return c, (c if node.args["bias"] else 0)

    buffers = none
    macs = none

    def other_ops(self, node):
        return numel(node.shape) * (1 + node.args["bias"])

    receptive_step = pointwise

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """``x * gamma`` keeps x for gamma's gradient only (x's gradient needs gamma, a parameter)."""
        return [saved_input(node)] if trainable else []

    def torch_module(self, node):
        return LayerScale(node.shape, node.args["init"], node.args["bias"])


@torch_class
def LayerScale(torch, nn, F, math):
    class LayerScale(nn.Module):
        """A learnt multiplier per channel, shaped (C, 1, 1) for images as torchvision's
        CNBlock.layer_scale, with an optional learnt shift."""

        def __init__(self, shape, init, bias):
            super().__init__()
            self.shape = tuple(shape)
            self.init = init
            size = (shape[0],) + (1,) * (len(shape) - 1)
            self.weight = nn.Parameter(torch.full(size, float(init)))
            self.bias = nn.Parameter(torch.zeros(size)) if bias else None

        def forward(self, x):
            x = x * self.weight
            return x if self.bias is None else x + self.bias

    return LayerScale
