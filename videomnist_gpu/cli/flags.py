"""The one way our commands declare flags, and the vocabulary every subcommand shares.

Flags keep the original scripts' underscores and accept dashes too (`--output_dir`,
`--output-dir`). A concept has one spelling in every subcommand (`VOCABULARY`); older spellings
stay accepted as aliases of it (`sample --n`, `generate --sample_formats`), so existing command
lines keep working. `tests/test_cli_vocabulary.py` walks every subcommand's parser to hold this.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_flag", "VOCABULARY", "SYNONYMS"]

# concept -> metavar, in every subcommand that has the concept
VOCABULARY = {
    "output_dir": "DIR",
    "output_file": "FILE",
    "num_samples": "N",
    "formats": "FMT",
    "config": "NAME_OR_PATH",
    "dataset_config": "NAME_OR_PATH",
    "device": "DEVICE",
    "seed": "N",
    "batch_size": "N",
}
# other spellings of those concepts: allowed only as aliases of the concept's own flag
SYNONYMS = {
    "output": ("output_dir", "output_file"), "out": ("output_dir", "output_file"),
    "output_path": ("output_dir", "output_file"), "output_prefix": ("output_dir", "output_file"),
    "n": ("num_samples",), "num": ("num_samples",), "count": ("num_samples",), "n_samples": ("num_samples",),
    "num_videos": ("num_samples",),
    "sample_formats": ("formats",), "format": ("formats",), "fmt": ("formats",),
    "dataset": ("config", "dataset_config"), "preset": ("config", "dataset_config"),
    "random_seed": ("seed",), "bs": ("batch_size",), "batch": ("batch_size",),
}


def _spellings(name: str) -> list[str]:
    return [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])


def add_flag(parser: argparse.ArgumentParser | argparse._ArgumentGroup, name: str, *,
             aliases: tuple[str, ...] = (), **kwargs: Any) -> argparse.Action:
    """Add `--name_with_underscores` and `--name-with-dashes` (same dest), plus old `aliases`.

    The default is None unless given, so a preset file can fill in what the command line leaves
    out; a concept of `VOCABULARY` gets its shared metavar.
    """
    spellings = [s for n in (name, *aliases) for s in _spellings(n)]
    kwargs.setdefault("default", None)
    if name in VOCABULARY and kwargs.get("action") not in ("store_true", "store_false"):
        kwargs.setdefault("metavar", VOCABULARY[name])
    return parser.add_argument(*spellings, dest=kwargs.pop("dest", name), **kwargs)
