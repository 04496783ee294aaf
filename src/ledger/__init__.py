"""The signed ledger core: envelopes, domain, transparency log, storage (no web, no projections)."""

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeAlias

Progress: TypeAlias = Callable[[int], None]
"""What long work (import, verify, export, catch-up, simulation) calls with how many more items it
has done; the front end decides how to show it."""

_GC_LOCK = threading.Lock()
_GC_USERS = 0
_GC_SAVED: tuple[int, int, int] = (0, 0, 0)


@contextmanager
def bulk_collections(young: int = 10_000) -> Iterator[None]:
    """Bulk work (import, verify) with the cyclic garbage collector out of the way (issue 18).

    With the default thresholds the collector ran every 700 new objects and twice per 8,000
    imported events rescanned the whole long-lived heap: a fifth of an import's CPU. Inside,
    what lived before is frozen (never rescanned) and a young collection waits for ``young``
    new objects; both are undone when the last concurrent user leaves.
    """
    global _GC_USERS, _GC_SAVED
    with _GC_LOCK:
        if _GC_USERS == 0:
            _GC_SAVED = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_GC_SAVED[0], young), _GC_SAVED[1], _GC_SAVED[2])
        _GC_USERS += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_USERS -= 1
            if _GC_USERS == 0:
                gc.set_threshold(*_GC_SAVED)
                gc.unfreeze()
