"""Training presets: flat YAML files of model hyperparameters and run settings.

Format (`configs/vqvae.yaml`, `configs/videogpt.yaml`, `configs/*_tiny.yaml`): one YAML mapping,
flat (no nesting), one `key: value` per line; values are numbers, booleans, strings or lists of
numbers (`downsample: [2, 4, 4]`). Keys are of two kinds:

- **model hyperparameters**: the keyword arguments of the model's constructor (`VQVAE`:
  `embedding_dim, n_codes, n_hiddens, n_res_layers, downsample, lr, in_channels,
  sequence_length, resolution, ...`; `VideoGPT`: `hidden_dim, heads, layers, dropout,
  attn_dropout, class_cond, n_classes, lr, warmup_steps, max_steps, ...`);
- **run settings** for the data and the Trainer, e.g. `batch_size, max_steps, seed,
  resolution, sequence_length, precision, val_check_interval, limit_val_batches`.

A key can be both (`resolution`, `sequence_length` for the VQ-VAE, `max_steps` for VideoGPT's LR
schedule): `model_kwargs(VQVAE, preset)` picks the constructor's keys, and the caller reads the
run settings it knows from the same dict. Command-line flags override preset values.

Example:
    >>> from videomnist_gpu.models import VQVAE
    >>> model_kwargs(VQVAE, {"n_codes": 64, "batch_size": 8, "resolution": 64})
    {'n_codes': 64, 'resolution': 64}
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from videomnist_gpu.errors import UsageError

__all__ = ["read_preset", "model_kwargs"]

_SCALARS = (bool, int, float, str, type(None))


def read_preset(path: str | os.PathLike) -> dict[str, Any]:
    """Read a flat YAML preset.

    Args:
        path: YAML file.

    Returns:
        `{key: value}`, lists kept as lists.

    Raises:
        UsageError: missing file, not a mapping, or a nested value.
    """
    from videomnist_gpu.synth.config import read_yaml_mapping

    if not os.path.isfile(path):
        raise UsageError(f"config: no such file {os.fspath(path)!r}.")
    try:
        preset = read_yaml_mapping(path)
    except ValueError as err:
        raise UsageError(str(err)) from None
    for key, value in preset.items():
        ok = isinstance(value, _SCALARS) or (
            isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value)
        )
        if not ok:
            raise UsageError(f"config: key {key!r} in {os.fspath(path)!r} must be a number, string, bool or list.")
    return preset


def model_kwargs(model_cls: type, preset: dict[str, Any]) -> dict[str, Any]:
    """The entries of `preset` that `model_cls.__init__` accepts, each of its default's type.

    Raises:
        UsageError: a value is not of the type of the parameter's default (an integer, a number,
            true/false, a list of integers), naming its flag: `--n_codes: expected an integer, got 'ten'`.
    """
    params = inspect.signature(model_cls.__init__).parameters
    kwargs = {k: v for k, v in preset.items() if k in params and k not in ("self", "vqvae")}
    for key, value in kwargs.items():
        _check_type(key, value, params[key].default)
    return kwargs


def _check_type(key: str, value: Any, default: Any) -> None:
    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif is_int(default):
        ok, kind = is_int(value), "an integer"
    elif isinstance(default, float):
        ok, kind = is_int(value) or isinstance(value, float), "a number"
    elif isinstance(default, (tuple, list)):
        ok, kind = isinstance(value, (tuple, list)) and all(map(is_int, value)), "a list of integers"
    else:  # no default, or None: checked by the model itself
        return
    if not ok:
        raise UsageError(f"--{key}: expected {kind}, got {value!r}")
