"""`VideoMNISTConfig`: the one frozen description of a dataset.

The same object drives the Python API, the YAML presets in `configs/`, the command line and the
attributes of every HDF5 export. It validates itself on construction and round-trips through
JSON and YAML, so a file's stored config re-renders any of its clips.

Convention:
    Lengths are in pixels of the output frame. Angles are in degrees. `speed_range` is the
    digit's speed along its path in pixels per frame. `rotation_range=r` lets each digit's angle
    wander smoothly within [-r, r]; `scale_range=(lo, hi)` lets its scale wander within [lo, hi].
    Both change smoothly over a clip (sinusoids of a few radians per clip), never by jumps.
    `placement="integer"` puts each digit's top-left corner on a whole pixel (rounded down), as
    the classic Moving MNIST generators do; `"subpixel"` samples bilinearly between pixels.
    `composite="max"` keeps the brighter digit where digits overlap; `"sum"` adds them and clips
    at 255 (Stochastic Moving MNIST); `"over"` stacks opaque digits in a per-clip depth order
    drawn from the keyed randomness: a pixel shows the front-most digit with ink there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from videomnist_gpu.errors import UsageError, check_int, check_number, is_int, is_number
from videomnist_gpu.presets import resolve_preset

__all__ = ["VideoMNISTConfig", "MAX_DIGITS", "EXPORT_KEYS", "PLACEMENTS", "COMPOSITES", "read_yaml_mapping",
           "as_config", "preset_values"]

MNIST_SIZE = 28
MAX_DIGITS = 4
PLACEMENTS = ("subpixel", "integer")
COMPOSITES = ("max", "sum", "over")
# Keys a dataset preset (configs/*.yaml) may hold beside the config's fields: `videomnist generate`
# reads them; everything else that loads a preset skips them.
EXPORT_KEYS = ("videos_per_digit", "test_videos_per_digit", "output_file", "channels", "compression", "batch_size",
               "annotations")


@dataclasses.dataclass(frozen=True)
class VideoMNISTConfig:
    """Everything that determines the clips, and nothing else.

    Frozen: change a field with `replace`. Lists given for `motion_types`, `speed_range` and
    `scale_range` are stored as tuples.

    Args:
        sequence_length: frames per clip (T); an integer >= 2. Default 16.
        image_size: frame height and width (H = W) in pixels; an integer >= 8. Default 64.
        digit_size: side of a digit sprite in pixels, an integer >= 4; `None` (default) means 28
            at 64 px, scaled with `image_size` (56 at 128 px).
        num_digits: digits per clip (K), 1..`MAX_DIGITS` (4); they composite as `composite`
            says. Default 1.
        motion_types: names of registered motions (see `registered_motions`), non-empty, each at
            most once (one name alone, `"bounce"`, means that one motion); each clip draws one of
            them uniformly. Default
            `("bounce", "circular", "linear")`.
        margin: pixels at each border that no ink may touch; an integer >= 0. Default 5.
        speed_range: (min, max) speed along the path, pixels per frame; finite, 0 < min <= max.
            Default (1.0, 3.0).
        rotation_range: maximum absolute angle in degrees, 0..180 (0: no rotation). Default 0.0.
        scale_range: (min, max) scale of the digit, within 0.25..4.0, min <= max
            ((1, 1): no scaling). Default (1.0, 1.0).
        fps: frames per second written into exports and videos; an integer >= 1. Default 10.
        seed: the seed of every random number (see `keyed_random`); 0..2**63 - 1. Default 0.
        digits: digit source: `auto` (default), `mnist`, `mnist-5k` or a path to a folder of IDX
            files. Only checked to be a non-empty string here; `load_digit_bank` resolves it.
        placement: `subpixel` (default, bilinear between pixels) or `integer` (top-left on
            whole pixels).
        composite: where digits overlap: `max` (default), `sum` (added, clipped at 255) or
            `over` (the front-most digit with ink there, in a per-clip random depth order).

    Raises:
        UsageError: (a `ValueError`) on construction, with one line naming the field, when a field has the wrong
            type (a bool is not an integer), lies outside the ranges above, names an unknown
            `placement`, `composite` or motion, repeats a motion, or when `image_size` leaves a
            digit no room to move inside `margin` (the message says the smallest `image_size`
            that fits).

    Example:
        >>> VideoMNISTConfig(image_size=128).digit_size
        56
        >>> VideoMNISTConfig.from_json(VideoMNISTConfig(seed=3).to_json()).seed
        3
        >>> VideoMNISTConfig(num_digits=5)
        Traceback (most recent call last):
        ...
        videomnist_gpu.errors.UsageError: num_digits: must be an integer within 1..4, got 5
    """

    sequence_length: int = 16
    image_size: int = 64
    digit_size: int | None = None
    num_digits: int = 1
    motion_types: tuple[str, ...] = ("bounce", "circular", "linear")
    margin: int = 5
    speed_range: tuple[float, float] = (1.0, 3.0)
    rotation_range: float = 0.0
    scale_range: tuple[float, float] = (1.0, 1.0)
    fps: int = 10
    seed: int = 0
    digits: str = "auto"
    placement: str = "subpixel"
    composite: str = "max"

    def __post_init__(self) -> None:
        if isinstance(self.motion_types, str):  # `motion_types: bounce` names one motion
            object.__setattr__(self, "motion_types", (self.motion_types,))
        for name in ("motion_types", "speed_range", "scale_range"):
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                object.__setattr__(self, name, tuple(value))
        if self.digit_size is None and is_int(self.image_size):
            object.__setattr__(self, "digit_size", max(1, round(MNIST_SIZE * self.image_size / 64)))
        self._validate()

    # ------------------------------------------------------------------ derived geometry
    @property
    def translation_only(self) -> bool:
        """True when digits neither rotate nor scale (the fast rendering path)."""
        return self.rotation_range == 0 and self.scale_range == (1.0, 1.0)

    @property
    def digit_half_extent(self) -> float:
        """Half the side of the axis-aligned box that holds a digit at any angle and scale."""
        angle = math.radians(min(self.rotation_range, 45.0))
        return self.digit_size / 2 * self.scale_range[1] * (math.cos(angle) + math.sin(angle))

    @property
    def center_bounds(self) -> tuple[float, float]:
        """(lo, hi): where a digit's centre may be so its box keeps `margin` px (+1 for subpixel)."""
        reach = self.margin + self.digit_half_extent + (1.0 if self.placement == "subpixel" else 0.0)
        return reach, self.image_size - reach

    # ------------------------------------------------------------------ serialization
    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (tuples as lists), as JSON and YAML store them."""
        out = dataclasses.asdict(self)
        for name in ("motion_types", "speed_range", "scale_range"):
            out[name] = list(out[name])
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "VideoMNISTConfig":
        """Build a config from a mapping of field names (missing fields take their defaults).

        Args:
            values: field name -> value, as `to_dict` returns.

        Returns:
            The validated config.

        Raises:
            ValueError: `values` is not a dict, holds a key that is not a field (the message
                lists the valid ones), or a value fails validation.
        """
        if not isinstance(values, dict):
            raise UsageError(f"config: expected a mapping of fields, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UsageError(f"config: unknown key {unknown[0]!r}. Valid: {', '.join(sorted(known))}")
        return cls(**values)

    def to_json(self) -> str:
        """Canonical JSON of `to_dict` (sorted keys): what exports store and `fingerprint` hashes."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "VideoMNISTConfig":
        """Parse `to_json`'s output (or any JSON object of fields) back into a config.

        Args:
            text: a JSON object whose keys are field names.

        Raises:
            ValueError: `text` is not valid JSON, or `from_dict` rejects what it holds.
        """
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise UsageError(f"config: not valid JSON ({err.msg} at line {err.lineno})") from None
        return cls.from_dict(values)

    def to_yaml(self) -> str:
        """The fields as a YAML mapping in field order, loadable by `from_yaml`."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "VideoMNISTConfig":
        """Load a dataset preset: this class's fields (all optional); `EXPORT_KEYS` are skipped.

        Args:
            path: a shipped preset's name (`moving_mnist`, see `presets.preset_names`) or a YAML
                file holding a mapping (an empty file gives the defaults).

        Raises:
            UsageError: (a `ValueError`) no such preset or file, the file is not text or valid
                YAML, does not hold a mapping, holds an unknown key, or a value fails validation.
        """
        values = preset_values(path)
        return cls.from_dict({k: v for k, v in values.items() if k not in EXPORT_KEYS})

    def replace(self, **changes: Any) -> "VideoMNISTConfig":
        """A copy with `changes` applied; `digit_size` follows a new `image_size` unless given.

        Raises:
            ValueError: a key of `changes` is not a field, or the new config fails validation.
        """
        values = self.to_dict()
        if "image_size" in changes and "digit_size" not in changes:
            values["digit_size"] = None
        values.update(changes)
        return VideoMNISTConfig.from_dict(values)

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: equal configs, equal fingerprints."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        from videomnist_gpu.synth.motions import registered_motions

        for name, minimum, maximum in (("sequence_length", 2, None), ("image_size", 8, None), ("digit_size", 4, None),
                                       ("num_digits", 1, MAX_DIGITS), ("margin", 0, None), ("fps", 1, None),
                                       ("seed", 0, 2**63 - 1)):
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum, maximum))  # numpy -> int
        _check_range("speed_range", self.speed_range, minimum=0.0, positive=True)
        _check_range("scale_range", self.scale_range, minimum=0.25, maximum=4.0)
        check_number("rotation_range", self.rotation_range, 0, 180)  # degrees
        if not isinstance(self.digits, str) or not self.digits:
            raise UsageError(f"digits: expected auto, mnist, mnist-5k or a folder path, got {self.digits!r}")
        for name, valid_values in (("placement", PLACEMENTS), ("composite", COMPOSITES)):
            if getattr(self, name) not in valid_values:
                raise UsageError(f"{name}: unknown {getattr(self, name)!r}. Valid: {', '.join(valid_values)}")
        if (not isinstance(self.motion_types, tuple) or not self.motion_types
                or not all(isinstance(m, str) for m in self.motion_types)):
            raise UsageError(f"motion_types: expected a non-empty list of names, got {self.motion_types!r}")
        valid = registered_motions()
        for motion in self.motion_types:
            if motion not in valid:
                raise UsageError(f"motion_types: unknown motion {motion!r}. Valid: {', '.join(valid)}")
        if len(set(self.motion_types)) != len(self.motion_types):
            raise UsageError(f"motion_types: each motion may appear once, got {list(self.motion_types)}")
        lo, hi = self.center_bounds
        if hi - lo < 4:
            need = math.ceil(2 * (self.image_size / 2 - (hi - lo) / 2) + 4)
            raise UsageError(
                f"image_size: {self.image_size} px leaves no room to move a {self.digit_size} px digit "
                f"(scale up to {self.scale_range[1]}, rotation {self.rotation_range} deg) inside a "
                f"{self.margin} px margin; use image_size >= {need} or a smaller digit_size/margin"
            )


def as_config(config: "VideoMNISTConfig | dict | str | os.PathLike | None", flag: str = "config") -> VideoMNISTConfig:
    """The config that `config` describes: every public constructor accepts these forms.

    Args:
        config: a `VideoMNISTConfig`; a dict of its fields; a preset name (`moving_mnist`) or a
            YAML path (`VideoMNISTConfig.from_yaml`); None: the default config.
        flag: the argument's name in messages (`--config` on the command line).

    Raises:
        UsageError: none of those forms, no such preset or file, or a field fails validation.

    Example:
        >>> as_config("moving_mnist").num_digits, as_config({"num_digits": 3}).num_digits
        (2, 3)
    """
    if config is None:
        return VideoMNISTConfig()
    if isinstance(config, VideoMNISTConfig):
        return config
    if isinstance(config, dict):
        return VideoMNISTConfig.from_dict(config)
    if isinstance(config, (str, os.PathLike)):
        values = preset_values(config, flag)
        return VideoMNISTConfig.from_dict({k: v for k, v in values.items() if k not in EXPORT_KEYS})
    raise UsageError(f"{flag}: expected a VideoMNISTConfig, a dict of its fields, a preset name or a YAML path, "
                     f"got {type(config).__name__}")


def preset_values(name_or_path: str | os.PathLike, flag: str = "config") -> dict[str, Any]:
    """The mapping a dataset preset holds (config fields and `EXPORT_KEYS`), by name or path.

    Raises:
        UsageError: no such preset or file (naming `flag` and the presets), or the file is not a
            YAML mapping.
    """
    return read_yaml_mapping(resolve_preset(name_or_path, flag=flag))


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; one-line `ValueError` otherwise."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise UsageError(f"config: cannot read {path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise UsageError(f"config: {path} is not a text (YAML) file") from None
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"config: {path} is not valid YAML{where}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise UsageError(f"config: {path} must hold a mapping of fields, got {type(values).__name__}")
    return values


def _check_range(name: str, value: Any, minimum: float, maximum: float | None = None,
                 positive: bool = False) -> None:
    ok = (isinstance(value, tuple) and len(value) == 2
          and all(is_number(v) for v in value))
    if not ok:
        raise UsageError(f"{name}: expected two numbers (min, max), got {value!r}")
    lo, hi = value
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise UsageError(f"{name}: expected finite min <= max, got {list(value)}")
    if lo < minimum or (maximum is not None and hi > maximum):
        bound = f">= {minimum}" if maximum is None else f"within {minimum}..{maximum}"
        raise UsageError(f"{name}: values must be {bound}, got {list(value)}")
    if positive and lo <= 0:
        raise UsageError(f"{name}: min must be > 0 so every clip moves, got {list(value)}")
