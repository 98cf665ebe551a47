"""Error types the command line maps to exit codes, and the checks that raise them.

`UsageError` (exit 2) is bad input: a flag, a config value, a path that cannot be used.
`VideoMNISTError` (exit 1) is a runtime failure: a corrupt file, a full disk, a failed check.
Both carry one line that names the problem; the CLI prints it without a traceback.

The checks (`check_int`, `check_number`, `check_choice`) are the one way every argument is
validated: each returns the value in its plain Python type or raises a `UsageError` whose line
starts with the argument's name and says what is valid.

Example:
    >>> import numpy as np
    >>> check_int("batch_size", np.int64(8), 1)
    8
    >>> check_int("batch_size", True, 1)
    Traceback (most recent call last):
    ...
    videomnist_gpu.errors.UsageError: batch_size: must be an integer >= 1, got True
    >>> check_number("fps", 0, above=0)
    Traceback (most recent call last):
    ...
    videomnist_gpu.errors.UsageError: fps: must be a finite number > 0, got 0
    >>> check_choice("split", "val", ("train", "test"))
    Traceback (most recent call last):
    ...
    videomnist_gpu.errors.UsageError: split: unknown 'val'. Valid: train, test
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import TypeVar

__all__ = ["VideoMNISTError", "UsageError", "check_int", "check_number", "check_choice", "is_int", "is_number"]

T = TypeVar("T")


class VideoMNISTError(RuntimeError):
    """A runtime failure with a one-line explanation (CLI exit code 1)."""

    exit_code = 1


class UsageError(VideoMNISTError, ValueError):
    """Bad input from the user: names the argument and its valid values (CLI exit code 2)."""

    exit_code = 2


def is_int(value: object) -> bool:
    """True for a Python or numpy integer, False for a bool (which Python counts as an integer)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)  # numpy's bool is no Integral


def is_number(value: object) -> bool:
    """True for a real number (Python or numpy, NaN and infinities included), False for a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _bound(minimum: float | None, maximum: float | None, above: float | None = None) -> str:
    low = f"> {above}" if above is not None else None if minimum is None else f">= {minimum}"
    if low is not None and maximum is not None:
        return f" within {minimum}..{maximum}" if above is None else f" {low} and <= {maximum}"
    if low is not None:
        return f" {low}"
    return "" if maximum is None else f" <= {maximum}"


def check_int(name: str, value: object, minimum: int | None = None, maximum: int | None = None) -> int:
    """`value` as an `int` if it is an integer (Python or numpy, not a bool) within the bounds.

    Raises:
        UsageError: ``NAME: must be an integer >= MIN, got VALUE`` (or ``within MIN..MAX``).
    """
    if not is_int(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise UsageError(f"{name}: must be an integer{_bound(minimum, maximum)}, got {value!r}")
    return int(value)


def check_number(name: str, value: object, minimum: float | None = None, maximum: float | None = None, *,
                 above: float | None = None) -> float:
    """`value` as a `float` if it is a finite real number (not a bool) within the bounds.

    `above` is an exclusive lower bound (``above=0``: positive).

    Raises:
        UsageError: ``NAME: must be a finite number > 0, got VALUE`` (the bounds given).
    """
    ok = (is_number(value) and math.isfinite(value) and (minimum is None or value >= minimum)
          and (maximum is None or value <= maximum) and (above is None or value > above))
    if not ok:
        raise UsageError(f"{name}: must be a finite number{_bound(minimum, maximum, above)}, got {value!r}")
    return float(value)


def check_choice(name: str, value: T, choices: Collection[T]) -> T:
    """`value` if it is one of `choices`.

    Raises:
        UsageError: ``NAME: unknown VALUE. Valid: A, B, C``.
    """
    try:
        ok = value in choices
    except TypeError:  # an unhashable value asked of a set
        ok = False
    if not ok or isinstance(value, bool):
        raise UsageError(f"{name}: unknown {value!r}. Valid: {', '.join(str(c) for c in choices)}")
    return value
