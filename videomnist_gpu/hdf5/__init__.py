"""The snapshot file: a seeded run frozen into the canonical VideoMNIST HDF5 layout and read back.

- `layout`: the one definition of what a file holds (datasets, dtypes, shapes, attributes, version).
- `chunks`: gzip chunks compressed on threads and written pre-filtered.
- `export`: `export_dataset`, the atomic writer (`PATH.partial`, renamed on success).
- `reader`: `HDF5VideoDataset`, a file read back as VideoGPT-style samples.
- `clip_files`: a split's shape and attributes, and pools of its clips, read for viewing and scoring.
- `verify`: `verify_file`, a file checked against its own stored config.
- `moving_mnist`: the classic Moving MNIST file (`mnist_test_seq.npy`) imported into the layout.

May import: `videomnist_gpu.synth`, `videomnist_gpu.data.prediction`, `videomnist_gpu.errors`,
`videomnist_gpu.interrupt`, `videomnist_gpu.atomic_file`, `videomnist_gpu.progress`,
`videomnist_gpu.version` (stamped into every file).
"""
