"""The `videomnist` command: parse, call the library, map errors to exit codes.

Each subcommand lives in its own module of this package with two functions:
`add_parser(subparsers)` registers its flags and `run(args) -> int` does the work.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from videomnist_gpu import __version__
from videomnist_gpu.errors import UsageError, VideoMNISTError

__all__ = ["main", "build_parser"]

# Subcommand modules, in the order `--help` lists them.
COMMANDS = ["generate", "verify", "visualize", "digits", "train", "evaluate", "bench"]


class _Parser(argparse.ArgumentParser):
    """argparse that raises `UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # noqa: D102
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="videomnist",
        description="Synthesize VideoMNIST clips on any torch device: export, stream, view, train.",
    )
    parser.add_argument("--version", action="version", version=f"videomnist_gpu {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"videomnist_gpu.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 0
        return args.run(args)
    except VideoMNISTError as err:
        if debug:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
