"""'Did you mean' suggestions for misspelt names, kinds and fields."""

from __future__ import annotations

from typing import Callable, Iterable


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
