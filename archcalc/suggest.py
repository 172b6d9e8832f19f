"""'Did you mean' suggestions for misspelt names, kinds and fields."""

from __future__ import annotations

from typing import Callable, Iterable, Mapping


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name most like ``name``, or None when none is close.

    Close means similar spelling (difflib), the same name in another case, or a
    known name that ``name`` starts with (``convolution`` -> ``conv``).
    """
    known = [k for k in known if isinstance(k, str)]
    if not isinstance(name, str) or not name or not known:
        return None
    import difflib  # only when a name is wrong: not on the way of a correct spec

    lower = {k.lower(): k for k in known}
    if name.lower() in lower and lower[name.lower()] != name:
        return lower[name.lower()]
    matches = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    prefixes = [k for k in known if len(k) >= 3 and name.lower().startswith(k.lower())]
    if prefixes:
        return max(prefixes, key=len)
    return None


def did_you_mean(
    name: str, known: Iterable[str], render: Callable[[str], str] = str
) -> str:
    """A ``; did you mean 'x'?`` suffix, or nothing when no name is close."""
    match = closest(name, known)
    return f"; did you mean '{render(match)}'?" if match is not None else ""


# Layers of other frameworks that archcalc has no kind for yet, by their normalised names
# (see `_normal`): what the user is told instead of a "did you mean" that sends them the
# wrong way. A kind registered under any of these names wins over its entry here.
NOT_SUPPORTED = {
    **dict.fromkeys(("crossattention", "encoderdecoderattention"), "cross-attention"),
    **dict.fromkeys(("transformer", "transformerblock", "transformerencoder", "transformerencoderlayer",
                     "transformerdecoder", "transformerdecoderlayer", "vit", "swin"), "transformer blocks"),
    **dict.fromkeys(("lstm", "gru", "rnn", "lstmcell", "grucell", "rnncell", "convlstm", "recurrent"),
                    "recurrent layers (lstm, gru, rnn)"),
    **dict.fromkeys(("embedding", "embeddingbag", "positionalembedding", "positionalencoding"), "embeddings"),
    **dict.fromkeys(("conv1d", "convtranspose1d", "maxpool1d", "avgpool1d", "batchnorm1d"),
                    "1-D layers (archcalc works on (C, H, W) images and flat features)"),
    **dict.fromkeys(("conv3d", "convtranspose3d", "maxpool3d", "avgpool3d", "batchnorm3d"),
                    "3-D (volumetric) layers"),
    **dict.fromkeys(("deformconv", "deformableconv", "deformconv2d", "dcn"), "deformable convolutions"),
    **dict.fromkeys(("roialign", "roipool", "nms"), "detection operators (RoI pooling, NMS)"),
    **dict.fromkeys(("maxunpool", "maxunpool2d", "unpool"), "max unpooling"),
}


def _normal(name: str) -> str:
    """A layer name as frameworks spell it, reduced to compare: the last dotted part, lower
    case, letters and digits only, a trailing '2d' dropped (`nn.BatchNorm2d` -> `batchnorm`)."""
    text = "".join(c for c in name.rsplit(".", 1)[-1].lower() if c.isalnum())
    return text[:-2] if text.endswith("2d") and len(text) > 2 else text


def unknown_kind(name: str, kinds: Mapping[str, str], others: Iterable[str] = ()) -> tuple[str, str | None]:
    """What to add to "unknown layer kind 'name'": a suffix and, for a layer not supported yet, a hint.

    ``kinds`` maps every kind name and alias to its kind. A name that is a kind's name or
    alias spelt another way (`BatchNorm2d`, `max_pool2d`, `Conv2D`) points at that kind;
    a known layer archcalc has no kind for says so; else the closest spelling of a kind,
    alias or of ``others`` (blocks, keywords) is offered, if any is close.
    """
    if not isinstance(name, str):
        return "", None
    key = _normal(name)
    same = {}
    for known, kind in kinds.items():
        same.setdefault(_normal(known), kind)
    if key in same and same[key] != name:
        return f"; did you mean '{same[key]}'?", None
    if key in NOT_SUPPORTED:
        return (f": archcalc does not support {NOT_SUPPORTED[key]} yet",
                "`archcalc kinds` lists the layer kinds it has")
    return did_you_mean(name, [*kinds, *others]), None
