"""Writes the flag reference of docs/cli.md from the parsers themselves, so the two cannot drift.

    python docs/make_cli_reference.py    # rewrites the part between the two REFERENCE markers

`tests/test_cli_docs.py` fails when docs/cli.md differs from what this script writes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videomnist_gpu.cli import _subparsers, build_parser

DOC = Path(__file__).with_name("cli.md")
BEGIN = "<!-- REFERENCE BEGIN: written by docs/make_cli_reference.py, do not edit by hand -->"
END = "<!-- REFERENCE END -->"
GLOBAL = {"help", "debug", "verbose"}  # listed once, not under every subcommand


def _usage(action: argparse.Action) -> str:
    spelled = {o[2:] for o in action.option_strings}
    # every flag also takes dashes (`--output-dir`): list the underscore spelling only
    names = [o for o in action.option_strings if "-" not in o[2:] or o[2:].replace("-", "_") not in spelled]
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    if action.nargs == 0:
        args = ""
    else:
        metavar = action.metavar or action.dest.upper()
        metavar = " ".join(metavar) if isinstance(metavar, tuple) else metavar
        args = f" {metavar}" + (" ..." if action.nargs in ("+", "*") else "")
    first, *others = names
    text = f"`{first}{args}`"
    return text + (f" (also {', '.join(f'`{o}`' for o in others)})" if others else "")


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def reference() -> str:
    """The markdown reference of every subcommand and flag."""
    out = []
    for parser in _subparsers(build_parser()):
        actions = [a for a in parser._actions if a.dest not in GLOBAL]
        if any(isinstance(a, argparse._SubParsersAction) for a in actions):
            continue  # `digits` itself: its actions are listed below it
        out.append(f"### `{parser.prog}`\n")
        if parser.description:
            out.append(_escape(parser.description) + "\n")
        out.append("| flag | meaning |\n| --- | --- |")
        for action in actions:
            out.append(f"| {_escape(_usage(action))} | {_escape(action.help or '')} |")
        out.append("")
    return "\n".join(out)


def render(text: str) -> str:
    """`text` (docs/cli.md) with its reference part replaced by the current one."""
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n\n{reference()}\n{END}{tail}"


if __name__ == "__main__":
    DOC.write_text(render(DOC.read_text()))
