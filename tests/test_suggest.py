"""Suggestions for an unknown layer kind: a kind under another spelling, a layer not supported yet."""

import pytest

from archcalc.errors import SpecError
from archcalc.ops import REGISTRY
from archcalc.ops.base import Example, Op, keeps_nothing, no_params, none, pointwise, register, same_shape
from archcalc.suggest import NOT_SUPPORTED, unknown_kind


def error_for(spec_text, layer: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        spec_text(f"input: [3, 8, 8]\nlayers:\n  - {layer}\n")
    return info.value


@pytest.mark.parametrize("written, kind", [
    ("BatchNorm2d", "batchnorm"),
    ("nn.Conv2d", "conv"),
    ("torch.nn.MaxPool2d", "maxpool"),
    ("max_pool2d", "maxpool"),
    ("AdaptiveAvgPool2d", "adaptive_avgpool"),
    ("Linear", "linear"),
    ("ReLU6", "relu6"),
    ("ChannelShuffle", "channel_shuffle"),
])
def test_a_kind_spelt_as_a_framework_spells_it(spec_text, written, kind):
    error = error_for(spec_text, written)
    assert error.message == f"unknown layer kind '{written}'; did you mean '{kind}'?"


@pytest.mark.parametrize("written, concept", [
    ("lstm", "recurrent layers (lstm, gru, rnn)"),
    ("GRU", "recurrent layers (lstm, gru, rnn)"),
    ("CrossAttention", "cross-attention"),
    ("TransformerEncoderLayer", "transformer blocks"),
    ("conv3d", "3-D (volumetric) layers"),
    ("Embedding", "embeddings"),
])
def test_a_layer_not_supported_yet_is_said_so(spec_text, written, concept):
    error = error_for(spec_text, written)
    assert error.message == f"unknown layer kind '{written}': archcalc does not support {concept} yet"
    assert error.hint == "`archcalc kinds` lists the layer kinds it has"
    assert (error.location.line, error.location.column) == (3, 5)


def test_misspellings_still_get_the_closest_kind(spec_text):
    assert error_for(spec_text, "maxpol").message == "unknown layer kind 'maxpol'; did you mean 'maxpool'?"
    assert error_for(spec_text, "zzzz").message == "unknown layer kind 'zzzz'"


def test_defaults_get_the_same_suggestions(spec_text):
    with pytest.raises(SpecError) as info:
        spec_text("input: [3, 8, 8]\ndefaults:\n  BatchNorm2d: {eps: 0.001}\nlayers: [relu]\n")
    assert info.value.message == "`defaults` names unknown layer kind 'BatchNorm2d'; did you mean 'batchnorm'?"


@pytest.fixture
def a_new_kind():
    """A kind another module registers, with aliases: suggestions follow it without being told."""

    @register
    class Widget(Op):
        kind = "widget_transform"
        aliases = ("gizmo2d", "lstm")
        examples = (Example((3, 4, 4)),)
        output_shape = same_shape
        params = no_params
        buffers = macs = other_ops = none
        receptive_step = pointwise
        saved_for_backward = keeps_nothing

        def torch_module(self, node):
            raise NotImplementedError

    yield Widget
    REGISTRY.remove("widget_transform")


def test_aliases_of_kinds_registered_later_are_followed(a_new_kind):
    assert unknown_kind("Gizmo2D", REGISTRY.names()) == ("; did you mean 'widget_transform'?", None)
    # a registered name wins over the table of layers not supported yet
    assert "lstm" in NOT_SUPPORTED
    assert unknown_kind("LSTM", REGISTRY.names()) == ("; did you mean 'widget_transform'?", None)


def test_the_table_names_no_registered_kind():
    from archcalc.suggest import _normal

    registered = {_normal(name) for name in REGISTRY.names()}
    assert not registered & set(NOT_SUPPORTED)
