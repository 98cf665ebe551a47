"""Feeding training: clips rendered on the fly, batched for a DataLoader or a Lightning Trainer.

- `stream`: `VideoMNISTStream`, an IterableDataset of rendered batches that resumes exactly.
- `datamodule`: `VideoMNISTDataModule`, the stream or an HDF5 export as a Lightning DataModule.
- `partition`: which clips each rank and worker renders (a pure function).
- `prediction`: a clip cut into observed frames (`context`) and frames to predict (`target`).

May import: `videomnist_gpu.synth`, `videomnist_gpu.errors`; `datamodule` also imports
`videomnist_gpu.hdf5.reader` (inside a function) to feed training from an exported file.
"""
