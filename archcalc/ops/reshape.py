"""Kinds that move or pass values without arithmetic: input, flatten, dropout, stochastic depth, identity,
shuffle."""

from __future__ import annotations

from archcalc.ops.base import (
    Example,
    Field,
    REQUIRED,
    Op,
    OpError,
    ReceptiveStep,
    Saved,
    bind_call,
    expect_image,
    keeps_nothing,
    no_params,
    none,
    numel,
    pointwise,
    register,
    same_shape,
    torch_class,
)


class _Movement(Op):
    """No parameters, no arithmetic."""

    family = "reshape"
    params = no_params
    buffers = none
    macs = none
    other_ops = none


@register
class Input(_Movement):
    """The network input; created by the loader from the spec's `input:`."""

    kind = "input"
    family = "input"
    doc = "The network input (written as the top-level `input:`, not as a layer)."
    min_inputs = 0
    max_inputs = 0
    graph_input = True

    def output_shape(self, node):
        return node.args["shape"]

    receptive_step = pointwise
    saved_for_backward = keeps_nothing

    def moves_memory(self, node):
        """Nothing runs: the caller wrote the input."""
        return False

    def torch_module(self, node):
        raise TypeError("the network input is the module's argument, not a submodule")


@register
class Flatten(_Movement):
    kind = "flatten"
    doc = (
        "(C, H, W) -> (C*H*W,), a view. From here on each value depends on the whole grid, "
        "so the receptive field grows to cover it."
    )
    rules = "(C, H, W) → (C·H·W,); a view, no memory"
    is_view = True
    examples = (Example((3, 4, 5)),)

    torch_classes = ("torch.nn.Flatten",)
    torch_functions = ("flatten",)

    def from_torch(self, module):
        return {} if (module.start_dim, module.end_dim) == (1, -1) else None

    def from_torch_call(self, name, constants, kwargs):
        dims = [*constants, kwargs.pop("start_dim", 0 if not constants else None), kwargs.pop("end_dim", -1)]
        dims = [d for d in dims if d is not None]
        return {} if not kwargs and dims[:1] == [1] and dims[1:] in ([-1], [-1, -1]) else None

    def output_shape(self, node):
        return (numel(node.inputs[0].shape),)

    def receptive_step(self, node):
        shape = node.inputs[0].shape
        if len(shape) != 3:
            return ReceptiveStep()
        return ReceptiveStep((shape[1], shape[2]), (shape[1], shape[2]))

    # A view: its backward reshapes the gradient, keeping nothing.
    saved_for_backward = keeps_nothing

    def torch_module(self, node):
        from torch import nn

        return nn.Flatten()


@register
class Dropout(_Movement):
    kind = "dropout"
    doc = "Dropout; the identity at inference, so it adds no activation memory."
    rules = "identity at inference, no memory"
    fields = (Field("p", "float", 0.5, "drop probability", minimum=0, maximum=1),)
    positional = ("p",)
    is_view = True
    examples = (Example((3, 4, 4), [0.3]), Example((6,), {"p": 0.0}), Example((2, 3, 3), [1.0]))

    output_shape = same_shape
    receptive_step = pointwise

    torch_classes = ("torch.nn.Dropout",)

    def from_torch(self, module):
        return {"p": float(module.p)}

    def training_aliases_input(self, node):
        """In training dropout makes a new tensor, unless p is 0 (torch returns the input itself)."""
        return node.args["p"] == 0

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """The mask of kept units, scaled by 1 / (1 - p): bool on CUDA (native_dropout), the input's
        type on CPU, where torch multiplies the input by a noise tensor and keeps that."""
        p = node.args["p"]
        if not needs_input_grad[0] or p == 0:
            return []
        if p == 1:
            return [Saved("zero", (), per_sample=False)]
        return [Saved("mask", node.shape, "mask")]

    def torch_module(self, node):
        from torch import nn

        return nn.Dropout(node.args["p"])


@register
class DropPath(_Movement):
    kind = "drop_path"
    aliases = ("stochastic_depth",)
    doc = (
        "Stochastic depth (torchvision's StochasticDepth): in training each sample's branch is "
        "dropped with probability `p` (`mode: row`) or the whole batch's (`batch`); the identity at inference."
    )
    rules = "identity at inference, no memory; training keeps one mask value per sample (per batch with `batch`)"
    fields = (
        Field("p", "float", doc="drop probability", minimum=0, maximum=1),
        Field("mode", "choice", "row", "row: one draw per sample; batch: one for the whole batch",
              choices=("row", "batch")),
    )
    positional = ("p", "mode")
    is_view = True
    examples = (
        Example((3, 4, 4), [0.2], before=({"conv": {"out": 3, "kernel": 1}},)),
        Example((6,), {"p": 0.5, "mode": "batch"}, before=({"linear": 6},)),
        Example((2, 3, 3), [0.0]),
        Example((2, 3, 3), [1.0], before=({"conv": {"out": 2, "kernel": 1}},)),
    )

    output_shape = same_shape
    receptive_step = pointwise

    torch_classes = ("torchvision.ops.StochasticDepth",)

    def from_torch(self, module):
        return {"p": float(module.p), "mode": module.mode}

    def training_aliases_input(self, node):
        """In training it multiplies by the mask, a new tensor, unless p is 0 (torch returns the input)."""
        return node.args["p"] == 0

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """``x * mask`` keeps the mask (of the input's type; scaled by 1 / (1 - p)) for x's gradient."""
        if not needs_input_grad[0] or node.args["p"] == 0:
            return []
        shape = (1,) * len(node.shape)
        return [Saved("mask", shape, per_sample=node.args["mode"] == "row")]

    def torch_module(self, node):
        return StochasticDepth(node.args["p"], node.args["mode"])


@torch_class
def StochasticDepth(torch, nn, F, math):
    class StochasticDepth(nn.Module):
        """torchvision.ops.StochasticDepth: the input times a 0/1 draw per sample ("row") or per
        batch ("batch"), scaled by 1 / (1 - p) to keep the mean; the input itself at inference."""

        def __init__(self, p, mode):
            super().__init__()
            self.p = p
            self.mode = mode

        def forward(self, x):
            if not self.training or self.p == 0.0:
                return x
            survival = 1.0 - self.p
            size = [x.shape[0] if self.mode == "row" else 1] + [1] * (x.dim() - 1)
            noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
            if survival > 0.0:
                noise.div_(survival)
            return x * noise

        def extra_repr(self) -> str:
            return f"p={self.p}, mode={self.mode}"

    return StochasticDepth


@register
class Identity(_Movement):
    kind = "identity"
    doc = "Passes its input through; useful as a named tap point."
    rules = "a named tap point; a view"
    is_view = True
    examples = (Example((3, 4, 4)),)

    output_shape = same_shape
    receptive_step = pointwise
    saved_for_backward = keeps_nothing

    torch_classes = ("torch.nn.Identity",)

    def from_torch(self, module):
        return {}

    def torch_module(self, node):
        from torch import nn

        return nn.Identity()


@register
class ChannelShuffle(_Movement):
    kind = "channel_shuffle"
    doc = "Interleave channels across `groups` (ShuffleNet)."
    rules = "ShuffleNet's interleave; moves data, no ops"
    fields = (Field("groups", "int", doc="number of groups", minimum=1),)
    positional = ("groups",)
    examples = (Example((6, 3, 4), [3]),)

    torch_classes = ("torch.nn.ChannelShuffle",)
    # torch's own, and torchvision's ShuffleNetV2 function (a view, a transpose and a view: the same interleave)
    torch_functions = ("channel_shuffle", "torchvision.models.shufflenetv2.channel_shuffle")

    def from_torch(self, module):
        return {"groups": module.groups}

    def from_torch_call(self, name, constants, kwargs):
        a = bind_call({"groups": REQUIRED}, constants, kwargs)
        return None if a is None else {"groups": a["groups"]}

    def output_shape(self, node):
        c, h, w = expect_image(node)
        if c % node.args["groups"]:
            raise OpError(
                f"channel_shuffle '{node.name}': channels {c} are not divisible by "
                f"groups={node.args['groups']}",
                "groups",
            )
        return (c, h, w)

    receptive_step = pointwise
    # A reshape, a permute and a copy: their backward keeps nothing.
    saved_for_backward = keeps_nothing

    def torch_module(self, node):
        from torch import nn

        return nn.ChannelShuffle(node.args["groups"])
