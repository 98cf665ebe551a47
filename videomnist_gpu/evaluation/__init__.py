"""Scoring clips (a model's samples, reconstructions, any uint8 video) against real VideoMNIST clips.

- `evaluate`: the metrics (digit accuracy, motion, ink, Frechet distance) and their report.
- `prediction_metrics`: MSE, MAE, PSNR and SSIM of predicted frames, as video-prediction papers define them.
- `digit_classifier`: the small CNN that reads the digit in a frame, trained once and cached.

May import: `videomnist_gpu.synth`, `videomnist_gpu.hdf5`, `videomnist_gpu.errors`,
`videomnist_gpu.presets`, `videomnist_gpu.interrupt` (safe points for Ctrl-C), `videomnist_gpu.atomic_file`.
"""
