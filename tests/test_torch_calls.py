"""How a kind reads the arguments of a torch call it computes (archcalc import), without torch:
``bind_call`` binds them to the function's signature, and each kind's ``from_torch_call`` /
``from_torch_part`` says what its spec arguments are, or None where it does not compute the call."""

from archcalc.ops import REGISTRY
from archcalc.ops.base import REQUIRED, bind_call

SIGNATURE = {"kernel_size": REQUIRED, "stride": None, "padding": 0}


def test_bind_call_binds_positional_and_keyword_arguments_with_the_defaults():
    assert bind_call(SIGNATURE, [3], {"padding": 1}) == {"kernel_size": 3, "stride": None, "padding": 1}
    assert bind_call(SIGNATURE, [], {"kernel_size": 2, "stride": 2}) == {"kernel_size": 2, "stride": 2, "padding": 0}


def test_bind_call_refuses_what_the_signature_does_not_take():
    assert bind_call(SIGNATURE, [3, 2, 1, 0], {}) is None  # more positional arguments than parameters
    assert bind_call(SIGNATURE, [3], {"dilation": 2}) is None  # a parameter it does not have
    assert bind_call(SIGNATURE, [], {"stride": 2}) is None  # a required one left out


def test_a_spatial_mean_is_a_global_average_pool_with_its_keepdim():
    mean = REGISTRY.get("global_avgpool").from_torch_call
    kwargs = {"keepdim": True}
    assert mean("mean", [[2, 3]], kwargs) == {"keepdim": True}
    assert kwargs == {"keepdim": True}  # the caller's keywords are read, not consumed
    assert mean("mean", [], {"dim": (-1, -2)}) == {"keepdim": False}
    assert mean("mean", [[2, 3], True], {}) == {"keepdim": True}
    assert mean("mean", [[1]], {}) is None  # over channels
    assert mean("mean", [[2, 3]], {"dtype": "float64"}) is None
    assert mean("adaptive_avg_pool2d", [1], {}) == {} and mean("adaptive_avg_pool2d", [], {"output_size": (1, 1)}) == {}
    assert mean("adaptive_avg_pool2d", [2], {}) is None


def test_the_parts_of_chunk_and_split_are_channel_slices():
    part = REGISTRY.get("slice").from_torch_part
    assert part("chunk", [3, 1], {}, -1, (7, 2, 2)) == {"start": 6, "end": 7}  # ceil(7 / 3) = 3, 3, 1
    assert part("chunk", [2], {"dim": -3}, 0, (6, 2, 2)) == {"start": 0, "end": 3}
    assert part("split", [], {"split_size_or_sections": [2, 4], "dim": 1}, 1, (6, 3, 3)) == {"start": 2, "end": 6}
    assert part("split", [4], {"dim": 1}, 1, (6, 3, 3)) == {"start": 4, "end": 6}
    assert part("chunk", [2], {}, 0, (6, 2, 2)) is None  # dim 0: the batch
    assert part("split", [[2, 3]], {"dim": 1}, 0, (6, 3, 3)) is None  # the sizes do not add up
