"""The one way our commands declare flags: the original scripts' underscores, and dashes too."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_flag"]


def add_flag(parser: argparse.ArgumentParser | argparse._ArgumentGroup, name: str, **kwargs: Any) -> None:
    """Add `--name_with_underscores` and `--name-with-dashes` (same dest).

    The default is None unless given, so a preset file can fill in what the command line leaves out.
    """
    spellings = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
    kwargs.setdefault("default", None)
    parser.add_argument(*spellings, dest=name, **kwargs)
