"""Elementwise activations. Those torch can run in place add no activation memory."""

from __future__ import annotations

from archcalc.ops.base import (
    Example,
    Field,
    Op,
    Saved,
    elementwise,
    no_params,
    none,
    pointwise,
    register,
    same_shape,
    saved_input,
    saved_output,
)


class _Activation(Op):
    family = "activation"
    torch_name: str = ""
    can_run_inplace = True
    examples = (
        Example((3, 4, 5)),
        # After a convolution, so that it may run in place.
        Example((2, 5, 4), before=({"conv": {"out": 3, "kernel": 1}},)),
    )

    output_shape = same_shape
    params = no_params
    buffers = none
    macs = none
    other_ops = elementwise
    receptive_step = pointwise

    def aliases_input(self, node):
        return node.args.get("inplace", False) and node.inplace_allowed

    def training_aliases_input(self, node):
        """In place exactly when the torch module is built with ``inplace=True``."""
        return bool(self.torch_kwargs(node).get("inplace", False))

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """What torch's derivative of the kind reads: the output for relu, sigmoid, tanh and
        softmax, the input for the others. In place, relu and leaky_relu keep their result;
        relu6 (hardtanh_), hardswish_, hardsigmoid_ and silu_ keep a copy of the input taken
        before it is overwritten."""
        if not needs_input_grad[0]:
            return []
        inplace = self.training_aliases_input(node)
        if self.kind in _SAVE_OUTPUT or (inplace and self.kind in _INPLACE_SAVE_RESULT):
            return [saved_output(node)]
        if inplace:
            return [Saved("input copy", node.inputs[0].shape)]
        return [saved_input(node)]

    def from_torch(self, module):
        return {"inplace": bool(module.inplace)} if self.can_run_inplace else {}

    def from_torch_call(self, name, constants, kwargs):
        inplace = kwargs.pop("inplace", name.endswith("_"))
        if constants or kwargs or (inplace and not self.can_run_inplace):
            return None
        return {"inplace": bool(inplace)} if self.can_run_inplace else {}

    def torch_kwargs(self, node) -> dict:
        if not self.can_run_inplace:
            return {}
        return {"inplace": node.args["inplace"] and node.inplace_allowed}

    def torch_module(self, node):
        from torch import nn

        return getattr(nn, self.torch_name)(**self.torch_kwargs(node))


# Kinds whose derivative torch computes from the output, and in-place kinds that keep their result.
_SAVE_OUTPUT = frozenset({"relu", "sigmoid", "tanh", "softmax"})
_INPLACE_SAVE_RESULT = frozenset({"relu", "leaky_relu"})

_INPLACE = Field("inplace", "bool", True, "overwrite the input (no new activation memory)")


def _activation(kind: str, torch_name: str, doc: str, *, inplace: bool = True, aliases=(), extra=()):
    fields = (*extra, _INPLACE) if inplace else tuple(extra)
    cls = type(
        kind.title().replace("_", ""),
        (_Activation,),
        {
            "kind": kind,
            "aliases": tuple(aliases),
            "torch_name": torch_name,
            "torch_classes": (f"torch.nn.{torch_name}",),
            "torch_functions": (kind, f"{kind}_") if inplace else (kind,),
            "doc": doc,
            "rules": "in place (no new activation memory) unless `inplace: false`" if inplace else "a new tensor",
            "fields": fields,
            "can_run_inplace": inplace,
            "__module__": __name__,
        },
    )
    return register(cls)


_activation("relu", "ReLU", "max(0, x)")
_activation("relu6", "ReLU6", "min(max(0, x), 6) (MobileNet)")
_activation("hardswish", "Hardswish", "x * relu6(x + 3) / 6 (MobileNetV3)")
_activation("hardsigmoid", "Hardsigmoid", "relu6(x + 3) / 6")
_activation("silu", "SiLU", "x * sigmoid(x)", aliases=("swish",))
_activation("sigmoid", "Sigmoid", "1 / (1 + exp(-x))", inplace=False)
_activation("tanh", "Tanh", "hyperbolic tangent (LeNet-5)", inplace=False)
_activation("gelu", "GELU", "x * Phi(x)", inplace=False)


@register
class LeakyReLU(_Activation):
    kind = "leaky_relu"
    torch_name = "LeakyReLU"
    doc = "x if x > 0 else slope * x"
    rules = "in place (no new activation memory) unless `inplace: false`"
    fields = (Field("negative_slope", "float", 0.01, "slope for x < 0"), _INPLACE)
    positional = ("negative_slope",)

    torch_classes = ("torch.nn.LeakyReLU",)
    torch_functions = ()

    def from_torch(self, module):
        return {"negative_slope": float(module.negative_slope), "inplace": bool(module.inplace)}

    def torch_kwargs(self, node):
        return {**super().torch_kwargs(node), "negative_slope": node.args["negative_slope"]}


@register
class Softmax(_Activation):
    kind = "softmax"
    torch_name = "Softmax"
    doc = "Softmax over channels (or features of a flat input)."
    rules = "a new tensor"
    examples = (Example((4, 3, 3)), Example((5,)))
    can_run_inplace = False
    torch_classes = ("torch.nn.Softmax",)
    torch_functions = ()

    def from_torch(self, module):
        return {} if module.dim == 1 else None

    def torch_kwargs(self, node):
        return {"dim": 1}
