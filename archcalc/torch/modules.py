"""The torch modules that ``torch.nn`` lacks, for the layer kinds that need them.

Each class here is self-contained (it uses only ``torch``, ``nn`` and ``F``), because
:func:`archcalc.torch.build.export_torch_source` copies the source of the classes a
network uses into the exported file, which must run without archcalc installed.

The arithmetic is arranged so that the counters archcalc checks against (fvcore and
``torch.utils.flop_counter``) see the same multiply-accumulates as the analytic rules
in :mod:`archcalc.ops`: a partial connection table runs as grouped convolutions over
the listed channels only, not as a dense convolution with zeroed weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class TableConv2d(nn.Module):
    """LeNet-5's C3: output channel ``o`` convolves only the input channels ``table[o]``.

    Parameters are exactly ``sum(len(row)) * kh * kw`` weights plus one bias per output.
    Rows with the same number of inputs run together as one grouped convolution over
    the gathered channels, so a counter sees ``len(row) * kh * kw`` MACs per output
    position of each row, as the analytic rule counts. Padding is not an argument:
    the builder puts a ``ZeroPad2d`` in front when the spec asks for it.
    """

    def __init__(self, table, kernel_size, stride=1, dilation=1, bias=True):
        super().__init__()
        self.table = [[int(c) for c in row] for row in table]
        self.kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
        self.dilation = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
        by_fan_in: dict[int, list[int]] = {}
        for row, inputs in enumerate(self.table):
            by_fan_in.setdefault(len(inputs), []).append(row)
        # Output channels of each group, and the input channels it gathers (row after row).
        self.rows = [rows for _, rows in sorted(by_fan_in.items())]
        self.sources = [[c for r in rows for c in self.table[r]] for rows in self.rows]
        kh, kw = self.kernel_size
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(len(rows), len(self.table[rows[0]]), kh, kw)) for rows in self.rows
        )
        self.bias = nn.Parameter(torch.empty(len(self.table))) if bias else None
        order = [r for rows in self.rows for r in rows]
        # Position of each output channel in the concatenated group outputs; None when in order.
        self.order = None if order == sorted(order) else sorted(range(len(order)), key=order.__getitem__)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in +-1/sqrt(fan_in) per row, torch's Conv2d default for its fan-in."""
        kh, kw = self.kernel_size
        for weight in self.weights:
            bound = 1 / math.sqrt(weight.shape[1] * kh * kw)
            nn.init.uniform_(weight, -bound, bound)
        if self.bias is not None:
            fan_in = sum(len(row) for row in self.table) * kh * kw / len(self.table)
            nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def forward(self, x):
        parts = [
            F.conv2d(x[:, sources], weight, None, self.stride, 0, self.dilation, len(rows))
            for rows, sources, weight in zip(self.rows, self.sources, self.weights)
        ]
        y = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
        if self.order is not None:
            y = y[:, self.order]
        if self.bias is not None:
            y = y + self.bias.view(1, -1, 1, 1)
        return y

    def extra_repr(self) -> str:
        return (
            f"{len(self.table)} outputs from a table of {sum(map(len, self.table))} connections, "
            f"kernel_size={self.kernel_size}, stride={self.stride}, bias={self.bias is not None}"
        )


class Subsample(nn.Module):
    """LeNet-5's subsampling: the sum over each window times one coefficient per map, plus one bias.

    Written as average pooling scaled by the window area, so it costs one multiply per
    output value (the analytic MACs) and holds exactly two parameters per map.
    """

    def __init__(self, channels, kernel_size=2, stride=None):
        super().__init__()
        self.channels = channels
        self.kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        stride = self.kernel_size if stride is None else stride
        self.stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """LeCun et al. 1998 (appendix C): uniform in +-2.4 / fan_in; the bias starts at zero."""
        fan_in = self.kernel_size[0] * self.kernel_size[1]
        nn.init.uniform_(self.weight, -2.4 / fan_in, 2.4 / fan_in)
        nn.init.zeros_(self.bias)

    def forward(self, x):
        area = self.kernel_size[0] * self.kernel_size[1]
        pooled = F.avg_pool2d(x, self.kernel_size, self.stride)
        return pooled * (area * self.weight).view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class RBF(nn.Module):
    """LeNet-5's output: per class, the squared Euclidean distance to a fixed vector.

    The vectors were drawn by hand in the paper (7x12 bitmaps of +-1), so they are
    parameters with ``requires_grad=False``: counted as parameters, never trained.
    ``|x - w|^2`` is computed as ``|x|^2 - 2 x.w + |w|^2`` so the work is one
    ``in x out`` matrix product, the multiply-accumulates the analytic rule counts.
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features), requires_grad=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Random +-1 codes, the form of the paper's bitmaps."""
        with torch.no_grad():
            self.weight.copy_(torch.randint(0, 2, self.weight.shape).mul_(2).sub_(1))

    def forward(self, x):
        squares = x.pow(2).sum(1, keepdim=True) + self.weight.pow(2).sum(1)
        return squares - 2 * (x @ self.weight.t())

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class Concat(nn.Module):
    """Concatenation of its inputs along channels (dim 1, after the batch)."""

    def forward(self, *inputs):
        return torch.cat(inputs, 1)


class Add(nn.Module):
    """Elementwise sum of its inputs (residual joins)."""

    def forward(self, *inputs):
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        return total


class Multiply(nn.Module):
    """Elementwise product of its inputs, broadcasting (C, 1, 1) gates over positions."""

    def forward(self, *inputs):
        product = inputs[0]
        for x in inputs[1:]:
            product = product * x
        return product


class Mean(nn.Module):
    """Elementwise mean of its inputs (FractalNet's join)."""

    def forward(self, *inputs):
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        return total / len(inputs)
