"""Progress bars: tqdm's notebook widget in an interactive session, plain text in a report run.

Notebooks executed headlessly by ``mtlib report`` cannot draw widgets: their saved text shows
"0%" and their HTML needs JavaScript from the internet. The report therefore sets
``MTLIB_PLAIN_PROGRESS=1`` for the kernels it starts, and every bar in mtlib becomes a plain
text bar that refreshes at most every few seconds (the saved output keeps each refresh;
nbconvert collapses them to the last one in the HTML).
"""

from __future__ import annotations

import os
from typing import Any

PLAIN_ENV = "MTLIB_PLAIN_PROGRESS"
PLAIN_MININTERVAL = 5.0  # seconds between refreshes of a plain bar in a report run


def plain() -> bool:
    """Whether bars are plain text (``MTLIB_PLAIN_PROGRESS`` set to anything but 0/empty)."""
    return os.environ.get(PLAIN_ENV, "").strip() not in ("", "0")


def tqdm(*args: Any, **kwargs: Any):
    """A ``tqdm`` bar: ``tqdm.auto`` normally, ``tqdm.std`` under ``MTLIB_PLAIN_PROGRESS``."""
    if plain():
        from tqdm.std import tqdm as bar

        kwargs.setdefault("mininterval", PLAIN_MININTERVAL)
    else:
        from tqdm.auto import tqdm as bar
    return bar(*args, **kwargs)
