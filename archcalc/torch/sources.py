"""Where an imported model comes from: ``torchvision:NAME``, ``timm:NAME`` or ``path/file.py:NAME``.

The analytic path tells a model source from a spec by its text alone
(:func:`archcalc.library.is_model_source`), without importing this package or torch; only
:func:`import_source` imports them.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from archcalc.collector import freeze_imported
from archcalc.errors import SpecError
from archcalc.library import MODEL_FILE

DEFAULT_INPUT = (3, 224, 224)


def model_from_source(source: str, args: Mapping[str, Any] | None = None):
    """(the nn.Module, its name) for ``source``; builders get ``args`` and, from torchvision, weights=None."""
    args = dict(args or {})
    kind, _, name = source.partition(":")
    if kind == "torchvision":
        import torchvision

        if name not in torchvision.models.list_models():
            from archcalc.suggest import did_you_mean

            raise SpecError(f"torchvision has no model builder '{name}'"
                            + did_you_mean(name, torchvision.models.list_models()))
        return torchvision.models.get_model(name, **{**_no_weights(name), **args}), name
    if kind == "timm":
        if importlib.util.find_spec("timm") is None:
            raise SpecError(f"cannot import {source}: timm is not installed", hint="pip install timm")
        import timm

        return timm.create_model(name, pretrained=False, **args), name
    match = re.match(MODEL_FILE, source)
    if match is None:
        raise SpecError(f"'{source}' is not a model source", hint="torchvision:NAME, timm:NAME or path/file.py:NAME")
    return _from_file(Path(match["file"]), match["name"], args), match["name"]


def _no_weights(name: str) -> dict[str, None]:
    """weights=None, and weights_backbone=None where the builder has one (segmentation and detection
    models would otherwise download their backbone's weights): no download, ever."""
    import torchvision

    builder = torchvision.models.get_model_builder(name)
    return {p: None for p in ("weights", "weights_backbone") if p in inspect.signature(builder).parameters}


def _from_file(path: Path, name: str, args: dict):
    """The user's own file, imported as they would import it (its folder on sys.path)."""
    if not path.is_file():
        raise SpecError(f"cannot import {path}:{name}: no such file")
    folder = str(path.resolve().parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if added:
            sys.path.remove(folder)
    if not hasattr(module, name):
        raise SpecError(f"{path} defines no '{name}'")
    factory = getattr(module, name)
    if not callable(factory):
        raise SpecError(f"{path}:{name} is neither a module class nor a function")
    model = factory(**args)
    import torch

    if not isinstance(model, torch.nn.Module):
        kind = "class" if inspect.isclass(factory) else "function"
        raise SpecError(f"{path}:{name}: the {kind} returned {type(model).__name__}, not an nn.Module")
    return model


def shapes_only_model(source: str, args: Mapping[str, Any] | None = None):
    """(model, name) of ``source`` as an import needs it, without the weights' values where its
    builder allows: a library's builder (torchvision, timm) runs on the meta device, which skips
    initialising the weights (half a second of ResNet-50's import); one whose initialisation reads
    values (RegNet's: "Cannot copy out of meta tensor") and the user's own file run as written."""
    from archcalc.torch import require_torch

    torch = require_torch()
    if source.startswith(("torchvision:", "timm:")):
        try:
            with torch.device("meta"):
                return model_from_source(source, args)
        except NotImplementedError:
            pass
    return model_from_source(source, args)


def import_source(source: str, input_shape: Sequence[int] | None = None, args: Mapping[str, Any] | None = None,
                  flat: bool = True) -> str:
    """The spec text of the model at ``source``, at ``input_shape`` (default 3x224x224): every
    layer written out (``flat``), or with repeated module classes as blocks."""
    from archcalc.torch.importer import trace
    from archcalc.torch.spec_writer import flat_text, readable_text

    model, name = shapes_only_model(source, args)
    freeze_imported()  # torchvision or timm, and the model
    write = flat_text if flat else readable_text
    return write(trace(model, tuple(input_shape or DEFAULT_INPUT), name), source)
