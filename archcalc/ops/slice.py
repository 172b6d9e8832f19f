"""A channel range of the input, as a view: the kind `split:` and `chunk:` items are built of.

ShuffleNetV2's ``x.chunk(2, dim=1)`` and the CSP/C2f blocks' ``split`` return views of
their input, one per part; archcalc writes each part as one `slice` node, so every node
keeps one output, and a view node aliases its input's storage in the memory figures.
"""

from __future__ import annotations

from archcalc.ops.base import (
    REQUIRED,
    Example,
    Field,
    Op,
    OpError,
    bind_call,
    describe,
    keeps_nothing,
    no_params,
    none,
    pointwise,
    register,
    torch_class,
)


@torch_class
def ChannelSlice(torch, nn, F, math):
    class ChannelSlice(nn.Module):
        """Channels ``start`` to ``end`` (exclusive) of the input, a view as torch.split's parts are."""

        def __init__(self, start, end):
            super().__init__()
            self.start, self.end = start, end

        def forward(self, x):
            return x.narrow(1, self.start, self.end - self.start)

        def extra_repr(self):
            return f"start={self.start}, end={self.end}"

    return ChannelSlice


@register
class Slice(Op):
    kind = "slice"
    aliases = ("narrow", "channel_slice")
    family = "reshape"
    doc = (
        "Channels start to end (end exclusive, as Python's x[:, start:end]) of the input, a view. "
        "`split:` and `chunk:` items are made of these."
    )
    rules = "channels [start, end) of (C, H, W) or (features,); a view, no memory, no ops"
    fields = (
        Field("start", "int", 0, "first channel kept", minimum=0),
        Field("end", "int", doc="one past the last channel kept", minimum=1),
    )
    positional = ("start", "end")
    is_view = True
    examples = (Example((6, 3, 4), [2, 5]), Example((8,), {"end": 3}), Example((4, 2, 2), [0, 4]))

    torch_part_functions = ("chunk", "split")
    # Their arguments after the input (bind_call); torch.split names its first one split_size_or_sections.
    _PART_CALLS = {"chunk": {"chunks": REQUIRED, "dim": 0}, "split": {"split_size": REQUIRED, "dim": 0}}

    def from_torch_part(self, name, constants, kwargs, index, shape):
        """Part ``index`` of ``x.chunk(n, dim=1)`` or ``x.split(size_or_sizes, dim=1)``: torch's chunks
        are ceil(C / n) channels each (the last what is left), split's parts the sizes given."""
        kwargs = {("split_size" if k == "split_size_or_sections" else k): v for k, v in kwargs.items()}
        a = bind_call(self._PART_CALLS[name], constants, kwargs)
        # dim 1 of the batched tensor: the channels, also written -len(shape)
        if a is None or a["dim"] not in (1, -len(shape)) or not isinstance(index, int):
            return None
        first = a["chunks" if name == "chunk" else "split_size"]
        channels = shape[0]
        if isinstance(first, int):
            size = -(-channels // first) if name == "chunk" else first
            sizes = [min(size, channels - start) for start in range(0, channels, size)]
        else:
            sizes = list(first)
        if sum(sizes) != channels or not -len(sizes) <= index < len(sizes):
            return None
        index %= len(sizes)
        return {"start": sum(sizes[:index]), "end": sum(sizes[:index + 1])}

    params = no_params
    buffers = none
    macs = none
    other_ops = none
    receptive_step = pointwise
    # narrow's backward needs only the input's shape.
    saved_for_backward = keeps_nothing

    def output_shape(self, node):
        shape = node.inputs[0].shape
        start, end = node.args["start"], node.args["end"]
        if end > shape[0]:
            raise OpError(
                f"slice '{node.name}': end {end} is past the {shape[0]} channels of {describe(shape)} "
                f"from '{node.inputs[0].name}'",
                "end",
            )
        if start >= end:
            raise OpError(f"slice '{node.name}': start {start} is not before end {end}", "start")
        return (end - start, *shape[1:])

    def input_gradients(self, node):
        """The gradient of a part is scattered into a new tensor of the whole input."""
        return "each"

    def label(self, node):
        return f"slice {node.args['start']}:{node.args['end']}"

    def torch_module(self, node):
        return ChannelSlice(node.args["start"], node.args["end"])
