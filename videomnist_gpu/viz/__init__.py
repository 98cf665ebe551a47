"""Looking at clips: pictures, videos, statistics and whole sample folders.

- `visualize`: GIF, MP4, PNG grids, a labelled montage and class comparisons of any batch of clips.
- `stats`: dataset statistics for `dataset_stats.txt`, computed incrementally over batches.
- `samples`: the sample folder of `videomnist visualize`, from an HDF5 export or from a config.

May import: `videomnist_gpu.synth`, `videomnist_gpu.hdf5`, `videomnist_gpu.errors`,
`videomnist_gpu.interrupt`, `videomnist_gpu.atomic_file`.
"""
