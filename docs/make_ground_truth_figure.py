"""Renders docs/ground_truth.png: two frames of a three-digit `over` clip and their ground truth.

    python docs/make_ground_truth_figure.py    # real digits (mnist-5k), CPU, a second or two

Columns: the video; the instance mask; the boxes of the visible pixels (digit colours) and the
amodal boxes (grey) on the video; the flow to the next frame as a colour wheel.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from videomnist_gpu import Synthesizer, VideoMNISTConfig  # noqa: E402
from videomnist_gpu.viz.overlays import draw_boxes, flow_to_rgb, mask_to_rgb  # noqa: E402

config = VideoMNISTConfig(digits="mnist-5k", num_digits=3, composite="over", rotation_range=30.0,
                          scale_range=(0.9, 1.2))
clips = Synthesizer(config, device="cpu").render(torch.arange(32), annotations=(
    "instance_mask", "boxes", "amodal_boxes", "visibility", "flow", "depth"))
b = int((clips.visibility[:, 0].amin(dim=1) - 0.5).abs().argmin())  # a digit about half covered in frame 0
frames = [0, 6]
grey = [[160, 160, 160]] * 3
amodal = draw_boxes(clips.video[b], clips.amodal_boxes[b], colors=grey)  # (T, H, W, 3)
boxed = draw_boxes(amodal, clips.boxes[b])
flow = flow_to_rgb(clips.flow[b])  # (T-1, H, W, 3), the longest vector at full brightness
masks = mask_to_rgb(clips.instance_mask[b])  # (T, H, W, 3)
titles = ["video", "instance mask", "boxes (grey: amodal)", "flow to next frame"]
fig, axes = plt.subplots(len(frames), 4, figsize=(8, 4.2))
for row, t in enumerate(frames):
    for col, image in enumerate([clips.video[b, t].numpy(), masks[t], boxed[t], flow[t]]):
        ax = axes[row, col]
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if row == 0:
            ax.set_title(titles[col], fontsize=9)
    vis = ", ".join(f"{v:.2f}" for v in clips.visibility[b, t].tolist())
    axes[row, 0].set_ylabel(f"frame {t}\nvisibility {vis}", fontsize=8)
fig.suptitle(f"clip {b}: depth order {clips.depth[b].tolist()} (0 = front)", fontsize=9)
fig.tight_layout()
path = Path(__file__).with_name("ground_truth.png")
fig.savefig(path, dpi=100)
print(f"{path}: clip {b}, {path.stat().st_size // 1024} KB")
