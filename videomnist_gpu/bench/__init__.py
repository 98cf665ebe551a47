"""Measuring synthesis throughput, and the generators we compare against.

- `throughput`: the synthesis grid per device against the baselines, in one run (`videomnist bench`).
- `baselines`: what users would run instead of us, written by us for equal work.
- `standard_baselines`: the two standard Moving MNIST generators, re-implemented per clip.
- `kernel_count`: device kernels and memory traffic of a synthesis call, counted without a GPU.

May import: `videomnist_gpu.synth`, `videomnist_gpu.errors`, `videomnist_gpu.version`.
"""
