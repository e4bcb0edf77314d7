"""Keep Python's cyclic garbage collector out of phases that only allocate.

Why: loading a manifest, building 100,000 bodies, and an apply run all allocate
hundreds of thousands of objects that hold no reference cycles (reference counting
frees them), so the collector's passes over the growing heap find nothing and cost more
than the work itself. One helper, so that every phase pauses it the same way and
gives it back as it found it.

Pure standard library: the bottom of the package, importable from anywhere.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused(*, young: int | None = None) -> Iterator[None]:
    """Pause the cyclic collector for the block; restore it as it was on exit.

    ``young=None`` (a phase that makes no garbage worth collecting, such as reading a
    manifest or building bodies): the collector is off for the block, and turned back
    on afterwards only if it was on.

    ``young=N`` (a long run that does make some cyclic garbage, such as the engine's):
    what exists now is frozen out of every collection and the young generation holds
    ``N`` objects before a collection starts; the thresholds and the freeze are undone
    on exit.
    """
    if young is None:
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if enabled:
                gc.enable()
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
