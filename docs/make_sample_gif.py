"""Renders docs/videomnist_sample.gif: one clip of each of bounce, circular, linear, spiral, side by side.

    python docs/make_sample_gif.py    # default config, real digits (mnist-5k), CPU, a second or two
"""

from pathlib import Path

import torch

from videomnist_gpu import Synthesizer, VideoMNISTConfig
from videomnist_gpu.viz.visualize import save_video_grid

MOTIONS = ("bounce", "circular", "linear", "spiral")

config = VideoMNISTConfig(digits="mnist-5k", motion_types=MOTIONS)
synth = Synthesizer(config, device="cpu")
clips = synth.render(torch.arange(64))  # (64, 16, 64, 64): enough to hold every motion
first = [int((clips.motion == m).nonzero()[0]) for m in range(len(MOTIONS))]  # first clip of each motion
path = Path(__file__).with_name("videomnist_sample.gif")
save_video_grid(clips.video[first], path, fmt="gif", ncol=len(MOTIONS), fps=config.fps, scale=3)
print(f"{path}: clips {first} ({', '.join(MOTIONS)}), {path.stat().st_size // 1024} KB")
