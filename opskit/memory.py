"""Handing freed memory back to the system after a big piece of work.

glibc keeps the heap a finished import or report build freed (tens of MiB of parsed rows,
DataFrames and cell formats) for the process's next allocations, so a long-running server's
resident memory stays at its highest point. :func:`release` collects garbage and asks glibc to
return what is free (``malloc_trim``); elsewhere (musl, macOS, Windows) it only collects.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc


def release() -> None:
    """Collect garbage and give the free heap back to the system where the C library can."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL(None).malloc_trim(0)
