"""Presets by name or path: `--config vqvae_tiny` or `--config my/own.yaml`.

The presets ship inside the package (`videomnist_gpu/configs/*.yaml`; in a source checkout the
same files are the repository's `configs/`), so preset names work from any directory and after
`pip install`. A value that names an existing file is that file; otherwise it is looked up by name
(with or without `.yaml`) among the shipped presets.

Example:
    >>> resolve_preset("vqvae_tiny").name
    'vqvae_tiny.yaml'
"""

from __future__ import annotations

import os
from pathlib import Path

from videomnist_gpu.errors import UsageError

__all__ = ["PRESET_DIR", "preset_names", "resolve_preset"]

PRESET_DIR = Path(__file__).resolve().parent / "configs"


def preset_names() -> list[str]:
    """Names of the shipped presets, sorted (`hq`, `test`, `videomnist`, `vqvae`, ...)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def resolve_preset(name_or_path: str | os.PathLike, flag: str = "--config") -> Path:
    """The YAML file for a preset name or a path; `UsageError` naming `flag` and the valid names."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    name = path.name[: -len(".yaml")] if path.name.endswith(".yaml") else path.name
    shipped = PRESET_DIR / f"{name}.yaml"
    if path.parent == Path(".") and shipped.is_file():
        return shipped
    if path.parent == Path("configs") and shipped.is_file():  # the README's old `configs/NAME.yaml`
        return shipped
    raise UsageError(f"{flag}: no such file or preset {os.fspath(name_or_path)!r}. "
                     f"Presets: {', '.join(preset_names())}, or a path to a YAML file")
