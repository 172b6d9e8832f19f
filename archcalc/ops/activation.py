"""Elementwise activations. Those torch can run in place add no activation memory."""

from __future__ import annotations

from archcalc.ops.base import (
    Example,
    Field,
    Op,
    OpError,
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
        """Every argument from the module's attribute of the same name (torch's modules keep them);
        not GELU's tanh approximation, which the kind does not compute."""
        if not all(hasattr(module, f.name) for f in self.fields) or getattr(module, "approximate", "none") != "none":
            return None
        return {f.name: getattr(module, f.name) for f in self.fields}

    def from_torch_call(self, name, constants, kwargs):
        inplace = kwargs.pop("inplace", name.endswith("_"))
        if constants or kwargs or (inplace and not self.can_run_inplace):
            return None
        return {"inplace": bool(inplace)} if self.can_run_inplace else {}

    def torch_kwargs(self, node) -> dict:
        """The kind's fields are the torch module's keyword arguments, by the same names."""
        kwargs = {f.name: node.args[f.name] for f in self.fields if f.name != "inplace"}
        if self.can_run_inplace:
            kwargs["inplace"] = node.args["inplace"] and node.inplace_allowed
        return kwargs

    def torch_module(self, node):
        from torch import nn

        return getattr(nn, self.torch_name)(**self.torch_kwargs(node))


# Kinds whose derivative torch computes from the output, and in-place kinds that keep their result.
_SAVE_OUTPUT = frozenset({"relu", "sigmoid", "tanh", "softmax"})
_INPLACE_SAVE_RESULT = frozenset({"relu", "leaky_relu", "elu", "selu"})

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
_activation("elu", "ELU", "x if x > 0 else alpha * (exp(x) - 1)",
            extra=(Field("alpha", "float", 1.0, "the value approached for x -> -inf is -alpha"),))
_activation("selu", "SELU", "scale * elu(x, alpha) with Klambauer et al.'s fixed constants (self-normalising)")
_activation("mish", "Mish", "x * tanh(softplus(x))")
_activation("softplus", "Softplus", "log(1 + exp(beta * x)) / beta; linear above `threshold`", inplace=False,
            extra=(Field("beta", "float", 1.0, "sharpness"),
                   Field("threshold", "float", 20.0, "beta * x above which it is x itself")))


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

@register
class HardTanh(_Activation):
    kind = "hardtanh"
    torch_name = "Hardtanh"
    doc = "x clipped to [min_val, max_val]"
    rules = "in place (no new activation memory) unless `inplace: false`"
    fields = (
        Field("min_val", "float", -1.0, "lower bound"),
        Field("max_val", "float", 1.0, "upper bound"),
        _INPLACE,
    )
    # Bounds beyond the oracle's inputs (0.5 to 1.5), so that every gradient is non-zero.
    examples = (
        Example((3, 4, 5), {"min_val": -2.0, "max_val": 2.0}),
        Example((2, 5, 4), {"min_val": 0.0, "max_val": 2.0}, before=({"conv": {"out": 3, "kernel": 1}},)),
    )

    def output_shape(self, node):
        if node.args["min_val"] >= node.args["max_val"]:
            raise OpError(
                f"hardtanh '{node.name}': min_val {node.args['min_val']} must be below max_val {node.args['max_val']}",
                "max_val",
            )
        return node.inputs[0].shape


@register
class PReLU(_Activation):
    kind = "prelu"
    torch_name = "PReLU"
    doc = "x if x > 0 else a * x, with the slope `a` learnt per channel (He et al. 2015), or one for all"
    rules = "C params (1 with `shared: true`); a new tensor"
    fields = (
        Field("shared", "bool", False, "one slope for all channels (torch's PReLU() default) instead of one each"),
        Field("init", "float", 0.25, "initial slope"),
    )
    can_run_inplace = False
    examples = (
        Example((3, 4, 5)),
        Example((2, 5, 4), {"shared": True}, before=({"conv": {"out": 3, "kernel": 1}},)),
        Example((6,), {"init": 0.1}),
    )

    def from_torch(self, module):
        """One slope, or one per channel; the initial value does not change what is counted."""
        return {"shared": module.num_parameters == 1}

    def params(self, node):
        return (1 if node.args["shared"] else node.shape[0]), 0

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """Its backward reads the input for both gradients, so the input is kept for either."""
        return [saved_input(node)] if needs_input_grad[0] or trainable else []

    def torch_kwargs(self, node):
        return {"num_parameters": 1 if node.args["shared"] else node.shape[0], "init": node.args["init"]}


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
