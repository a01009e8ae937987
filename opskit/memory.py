"""Handing freed memory back to the system after a big piece of work.

glibc keeps the heap a finished import or report build freed (tens of MiB of parsed rows,
DataFrames and cell formats) for the process's next allocations, so a long-running server's
resident memory stays at its highest point. :func:`release` collects garbage and asks glibc to
return what is free (``malloc_trim``); elsewhere (musl, macOS, Windows) it only collects.
:func:`existing_objects_frozen` keeps what already exists out of the collector's full passes
while a big piece of work runs; :func:`collector_paused` stops the collector while rows are
read.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import Iterator


def release() -> None:
    """Collect garbage and give the free heap back to the system where the C library can."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL(None).malloc_trim(0)


@contextlib.contextmanager
def existing_objects_frozen() -> Iterator[None]:
    """While the block runs, the objects that exist when it starts (the app, its modules,
    caches: a few hundred thousand) are left out of the garbage collector's passes
    (``gc.freeze``); the objects the work makes are collected as usual. A report pack makes
    enough objects for two or three full passes, each of which walked everything again (0.25 s
    of a 2.5 s pack). Afterwards everything is back in the collector's care (``gc.unfreeze``).
    Process-wide, and harmless when blocks overlap in threads: one ending early only gives the
    other's frozen objects back to the collector."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while the block runs: hundreds of thousands of row
    tuples (which hold no cycles) read from a database would trigger it over and over, a third
    of the read's CPU (``opskit.data``; the readings API pauses it a chunk at a time, never
    across a ``yield``). Process-wide; the block that found it enabled enables it again, so
    overlapping blocks in threads end with it enabled."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
