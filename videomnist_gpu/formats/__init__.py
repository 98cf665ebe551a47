"""Files that other tools read, written from rendered clips: one module per format.

Ground truth for tracking and segmentation:

- `output`: a folder written as ``PATH.partial`` and renamed when complete; frames as JPEG.
- `mot`: MOTChallenge sequences (``img1/``, ``seqinfo.ini``, ``gt/gt.txt``).
- `youtube_vis`: YouTube-VIS style JSON (RLE masks via the optional `pycocotools`) with its frames.

Video prediction:

- `clip_source`: the clips a file holds, rendered batch by batch (seed, split, clips 0 .. N-1).
- `mnist_test_seq`: `mnist_test_seq.npy`, uint8 frames first (T, N, H, W), the file of the Toronto
  Moving MNIST test set, in the folders of torchvision's `MovingMNIST` and of OpenSTL.
- `idx`: digits as a gzipped MNIST IDX file (`train-images-idx3-ubyte.gz`), for OpenSTL's
  training generator.
- `predrnn_npz`: the `.npz` of PredRNN and E3D-LSTM (`clips`, `dims`, `input_raw_data`).
- `tools`: which files each tool needs and where (`export_for`), behind `videomnist export-for`.

Every file is written complete or not at all; large ones are streamed, never held in memory
whole. The canonical snapshot stays the HDF5 file (`videomnist_gpu.hdf5`).

May import: `videomnist_gpu.synth`, `videomnist_gpu.data.prediction`,
`videomnist_gpu.errors`, `videomnist_gpu.interrupt`, `videomnist_gpu.progress`, `videomnist_gpu.atomic_file`.
"""
