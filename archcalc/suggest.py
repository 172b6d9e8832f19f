"""'Did you mean' suggestions for misspelt names, kinds and fields."""

from __future__ import annotations

import difflib
from typing import Callable, Iterable


def did_you_mean(
    name: str, known: Iterable[str], render: Callable[[str], str] = str
) -> str:
    """A ``; did you mean 'x'?`` suffix, or nothing when no name is close."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{render(matches[0])}'?" if matches else ""
