"""Error types the command line maps to exit codes.

`UsageError` (exit 2) is bad input: a flag, a config value, a path that cannot be used.
`VideoMNISTError` (exit 1) is a runtime failure: a corrupt file, a full disk, a failed check.
Both carry one line that names the problem; the CLI prints it without a traceback.
"""

__all__ = ["VideoMNISTError", "UsageError", "check_int"]


class VideoMNISTError(RuntimeError):
    """A runtime failure with a one-line explanation (CLI exit code 1)."""

    exit_code = 1


class UsageError(VideoMNISTError, ValueError):
    """Bad input from the user: names the argument and its valid values (CLI exit code 2)."""

    exit_code = 2


def check_int(name: str, value: object, minimum: int) -> int:
    """`value` if it is an integer (not a bool) >= `minimum`; else a one-line `UsageError` naming `name`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise UsageError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value
