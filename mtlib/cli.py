"""``mtlib`` command line: each subcommand lives beside the code it drives.

A module listed in ``COMMAND_MODULES`` defines ``add_command(subparsers)``, which adds its
parser and sets ``func`` to a callable taking the parsed ``argparse.Namespace`` and
returning an exit code (or None for 0).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mtlib.errors import MtlibError

COMMAND_MODULES = (
    "mtlib.data.download",
    "mtlib.data.prepare",
    "mtlib.standin.corpus",
    "mtlib.standin.realism",
    "mtlib.report.runner",
    "mtlib.training.tagging",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mtlib", description="Music auto-tagging reproduction.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except MtlibError as err:
        print(f"mtlib {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        msg = f"mtlib {args.command}: interrupted; rerun the same command to resume"
        print(msg, file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
