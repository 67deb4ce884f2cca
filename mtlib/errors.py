"""Errors that the command line reports as one clear line instead of a traceback."""


class MtlibError(Exception):
    """Base class: the message names the file or value and what was expected."""


class DataError(MtlibError):
    """Bad or missing input data (dataset root, annotations, audio, cache)."""
