"""Pausing Python's cyclic garbage collector around bulk allocation."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def paused_gc():
    """Pause the cyclic garbage collector while per-layer objects pile up.

    Reading, building and analysing a large spec allocates millions of objects that all
    stay alive, and the collector would traverse them again and again as they
    accumulate (a third of the time of a 10,000-layer spec) without finding anything to
    free. Reference counting still frees everything else at once; the collector
    resumes, if it was running, when the block ends.
    """
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
