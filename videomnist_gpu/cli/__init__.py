"""The `videomnist` command: parse, call the library, map errors to exit codes.

Each subcommand lives in its own module of this package with two functions:
`add_parser(subparsers)` registers its flags and `run(args) -> int` does the work.

Exit codes: 0 success; 1 runtime failure; 2 usage error (a bad flag value, file or checkpoint);
128 + signal when interrupted (130 Ctrl-C, 143 SIGTERM), from the first line of `main` on (this
module imports no torch, so a signal while the subcommands load ends the same way). Every failure
prints one line `error: ...` on stderr; `--debug` adds the traceback, `--verbose` shows progress
and library logs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import threading
import traceback

from videomnist_gpu.version import __version__
from videomnist_gpu.errors import UsageError, VideoMNISTError
from videomnist_gpu.interrupt import check_interrupt, exit_on_signal, hold_for_test, interruptible

__all__ = ["main", "build_parser", "COMMANDS"]

# Subcommand modules, in the order `--help` lists them.
COMMANDS = ["generate", "verify", "visualize", "digits", "train", "evaluate", "bench", "import_moving_mnist", "export_for"]


class _Parser(argparse.ArgumentParser):
    """argparse that raises `UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # noqa: D102
        raise UsageError(f"{self.prog}: {message}")


def _global_flags(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--debug", action="store_true", default=default, help="show tracebacks on errors")
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="show progress lines, library log messages and warnings")


def _subparsers(parser: argparse.ArgumentParser):
    """The parsers of every subcommand, nested ones (`digits info`) included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield sub
                yield from _subparsers(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="videomnist",
        description="Synthesize VideoMNIST clips on any torch device: export, stream, view, train.",
    )
    parser.add_argument("--version", action="version", version=f"videomnist_gpu {__version__}",
                        help="print the version and exit")
    _global_flags(parser, False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"videomnist_gpu.cli.{name}").add_parser(subparsers)
    for sub in _subparsers(parser):  # also accepted after the subcommand; never reset the global value
        _global_flags(sub, argparse.SUPPRESS)
    return parser


def _configure_output(verbose: bool) -> None:
    """Quiet by default: no warnings a user cannot act on (library FutureWarnings, Lightning's
    hints); `--verbose` shows them, and our INFO log lines. (Lightning's own INFO banner is
    silenced around training, see `training.train`.)"""
    import warnings

    if verbose:
        logging.basicConfig(format="%(message)s")
        logging.getLogger("videomnist_gpu").setLevel(logging.INFO)
        return
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"lightning\.")


def main(argv: list[str] | None = None) -> int:
    with exit_on_signal():  # a signal while torch and the subcommands load: one line, 128 + signal
        hold_for_test("startup")
        argv = sys.argv[1:] if argv is None else list(argv)
        return _main(argv)


def _main(argv: list[str]) -> int:
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 0
        _configure_output(args.verbose)
        if not getattr(args, "records_signals", True):  # a command without safe points
            with _default_signals():
                return args.run(args)
        with interruptible():
            code = args.run(args)
            check_interrupt()  # a signal after the last safe point still ends in 128 + signal
            return code
    except VideoMNISTError as err:
        if debug:
            traceback.print_exc()
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:  # outside `interruptible`: `digits download`, or a non-main thread
        print("error: interrupted by SIGINT", file=sys.stderr)
        return 130
    except Exception as err:  # a bug or an unexpected library failure: one line, exit 1
        if debug:
            traceback.print_exc()
        print(f"error: {_one_line(err) or type(err).__name__} (run with --debug for the traceback)",
              file=sys.stderr)
        return 1


@contextlib.contextmanager
def _default_signals():
    """Python's own Ctrl-C (KeyboardInterrupt, caught in `_main`) for commands without safe points."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else ""
