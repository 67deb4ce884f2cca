"""Progress bars, log lines and announcements: on screen interactively, in a log file in a report.

Three calls, for three kinds of output::

    tqdm(*args, **kwargs)   # a progress bar (the signature of tqdm.tqdm)
    log(message)            # a log line: epochs, "resuming run ...", "waiting for lock" ...
    announce(message)       # a line for the reader of the notebook or terminal

Interactively (``MTLIB_LOG_FILE`` unset) bars are ``tqdm.auto`` (a widget in Jupyter, text in
a terminal) and ``log``/``announce`` print to stdout.

``mtlib report`` sets ``MTLIB_LOG_FILE`` for each notebook's kernel to that notebook's log
(``results/logs/NN_slug.log``), so the executed notebook shows results, not logs: bars become
plain text lines in the log (one line per refresh, at most every few seconds), ``log`` lines go
to the log only, ``announce`` goes to stdout and the log, and Python warnings raised in the
kernel go to the log instead of stderr (installed when this module is imported). Every write
opens the file in append mode and closes it, so a crash loses nothing and worker processes,
which inherit the variable, append to the same file. The report site leaves out of a chapter
every printed line that the log holds (:func:`logged_messages`), announcements included.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from pathlib import Path
from typing import Any

LOG_ENV = "MTLIB_LOG_FILE"
LOG_MININTERVAL = 5.0  # seconds between refreshes of a bar written to the log
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # cursor moves tqdm writes for nested bars


def log_file() -> Path | None:
    """The log file of a report run (``MTLIB_LOG_FILE``), or None when interactive."""
    value = os.environ.get(LOG_ENV, "").strip()
    return Path(value) if value else None


STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # each log line: this stamp, a space, the message
_STAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (.*)$")


def _stamp() -> str:
    return time.strftime(STAMP_FORMAT)


def logged_messages(path: Path) -> set[str]:
    """The messages of a report log (each line without its stamp); empty without the file.

    The report site leaves out of a chapter every printed line that its kernel also logged:
    bars, log lines and announcements are for terminals and logs, not for the report.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return set()
    return {m.group(1) for m in map(_STAMPED.match, text.splitlines()) if m}


def _append(path: Path, text: str) -> None:
    """Append ``text`` and close the file: flushed at once, and no handle outlives the call."""
    try:
        f = open(path, "a", encoding="utf-8")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a", encoding="utf-8")
    with f:
        f.write(text)


def _append_lines(path: Path, message: str) -> None:
    stamp = _stamp()
    lines = str(message).splitlines() or [""]
    _append(path, "".join(f"{stamp} {line}\n" for line in lines))


class _LogStream:
    """A file for tqdm that turns each bar refresh into one timestamped line of the log.

    tqdm redraws a bar in place with ``\\r`` (and ANSI cursor moves for nested bars); in a
    log file that would be one endless line, so refreshes are split into lines instead.
    """

    encoding = "utf-8"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last = ""

    def write(self, text: str) -> int:
        parts = (_ANSI.sub("", part).rstrip() for part in re.split(r"[\r\n]", text))
        lines = []
        for line in parts:
            if line.strip() and line != self.last:  # close() redraws the last refresh
                lines.append(line)
                self.last = line
        if lines:
            _append_lines(self.path, "\n".join(lines))
        return len(text)

    def flush(self) -> None:
        pass  # every write is already on disk


def tqdm(*args: Any, **kwargs: Any):
    """A progress bar: ``tqdm.auto`` interactively, plain text lines in the log in a report."""
    path = log_file()
    if path is None:
        from tqdm.auto import tqdm as bar

        return bar(*args, **kwargs)
    from tqdm.std import tqdm as bar

    kwargs["file"] = _LogStream(path)  # never the notebook, whatever the caller asked for
    kwargs["mininterval"] = max(float(kwargs.get("mininterval") or 0), LOG_MININTERVAL)
    kwargs.setdefault("ascii", True)
    # A log is not cluttered by a finished bar; its final count and rate are worth keeping.
    kwargs["leave"] = True
    return bar(*args, **kwargs)


def log(message: str) -> None:
    """A log line: stdout interactively; in a report, a timestamped line in the log only."""
    path = log_file()
    if path is None:
        print(message, flush=True)
    else:
        _append_lines(path, message)


def announce(message: str) -> None:
    """A line for the reader: always stdout; in a report, also a timestamped line in the log."""
    print(message, flush=True)
    path = log_file()
    if path is not None:
        _append_lines(path, message)


def route_warnings() -> None:
    """Send Python warnings to the log while ``MTLIB_LOG_FILE`` is set (idempotent).

    Replaces ``warnings.showwarning``; with the variable unset, warnings go to whatever
    displayed them before. ``warnings.catch_warnings`` restores the previous function on exit.
    """
    previous = warnings.showwarning
    if getattr(previous, "_mtlib_routed", False):
        return

    def showwarning(message, category, filename, lineno, file=None, line=None):
        path = log_file()
        if path is None or file is not None:  # an explicit file is the caller's choice
            previous(message, category, filename, lineno, file, line)
            return
        text = warnings.formatwarning(message, category, filename, lineno, line)
        _append_lines(path, text.rstrip("\n"))

    showwarning._mtlib_routed = True  # type: ignore[attr-defined]
    warnings.showwarning = showwarning


# A report kernel imports mtlib in its first cells; warnings from then on belong in the log.
if log_file() is not None:
    route_warnings()

__all__ = ["LOG_ENV", "announce", "log", "log_file", "logged_messages", "route_warnings",
           "tqdm"]
