"""videomnist_gpu: VideoMNIST clips synthesized on any torch device, streamed or exported."""

from videomnist_gpu.version import __version__

from videomnist_gpu.synth.config import VideoMNISTConfig  # noqa: E402
from videomnist_gpu.synth.digits import DigitBank, load_digit_bank  # noqa: E402
from videomnist_gpu.errors import UsageError, VideoMNISTError  # noqa: E402
from videomnist_gpu.synth.motions import MotionBounds, register_motion, registered_motions  # noqa: E402
from videomnist_gpu.hdf5.reader import HDF5VideoDataset  # noqa: E402
from videomnist_gpu.synth.synthesizer import Clips, Synthesizer  # noqa: E402
from videomnist_gpu.data.stream import VideoMNISTStream  # noqa: E402

__all__ = [
    "__version__",
    "VideoMNISTConfig",
    "Synthesizer",
    "Clips",
    "VideoMNISTStream",
    "VideoMNISTDataModule",
    "HDF5VideoDataset",
    "register_motion",
    "registered_motions",
    "MotionBounds",
    "DigitBank",
    "load_digit_bank",
    "UsageError",
    "VideoMNISTError",
]


def __getattr__(name: str):
    # The DataModule imports Lightning (slow): load it only when asked for.
    if name == "VideoMNISTDataModule":
        from videomnist_gpu.data.datamodule import VideoMNISTDataModule

        return VideoMNISTDataModule
    raise AttributeError(f"module 'videomnist_gpu' has no attribute {name!r}")
