"""videomnist_gpu: VideoMNIST clips synthesized on any torch device, streamed or exported.

The public names load on first use, so `import videomnist_gpu` is instant and the `videomnist`
command handles Ctrl-C from its first line, before torch is imported.
"""

import importlib

from videomnist_gpu.version import __version__

# public name -> the module that defines it
_EXPORTS = {
    "VideoMNISTConfig": "videomnist_gpu.synth.config",
    "Synthesizer": "videomnist_gpu.synth.synthesizer",
    "Clips": "videomnist_gpu.synth.synthesizer",
    "VideoMNISTStream": "videomnist_gpu.data.stream",
    "VideoMNISTDataModule": "videomnist_gpu.data.datamodule",
    "HDF5VideoDataset": "videomnist_gpu.hdf5.reader",
    "register_motion": "videomnist_gpu.synth.motions",
    "registered_motions": "videomnist_gpu.synth.motions",
    "MotionBounds": "videomnist_gpu.synth.motions",
    "DigitBank": "videomnist_gpu.synth.digits",
    "load_digit_bank": "videomnist_gpu.synth.digits",
    "UsageError": "videomnist_gpu.errors",
    "VideoMNISTError": "videomnist_gpu.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'videomnist_gpu' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
