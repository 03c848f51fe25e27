"""Python's cyclic garbage collector paused around work that makes many short-lived objects."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block, on again after it (unless it was off).

    Making a client's page, or laying out and writing a handout, allocates tens to hundreds
    of thousands of objects that live until the result is written and form almost no cycles:
    reference counting frees them. Left on, the collector walks them several times over and
    moves them into its older generations, which then makes it walk everything kept so far
    again and again (a third of a cold build of 1,000 pages; about 2 % of a handout, net of
    the catch-up). It runs again afterwards and catches up once.

    WeasyPrint's objects are the exception: the parsed page, its styles, boxes and text
    layouts are nearly all in reference cycles, so only that catch-up frees them, and it is
    costly (a sixth of a second for a 22-page handout, memory-bound). So nothing made in the
    block may still be referenced when it ends: those objects would be walked, kept, moved to
    an older generation and walked again there.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
