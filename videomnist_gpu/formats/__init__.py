"""Other tools' files: ground truth in the formats the tracking and segmentation communities read.

- `output`: a folder written as ``PATH.partial`` and renamed when complete; frames as JPEG.
- `mot`: MOTChallenge sequences (``img1/``, ``seqinfo.ini``, ``gt/gt.txt``).
- `youtube_vis`: YouTube-VIS style JSON (RLE masks via the optional `pycocotools`) with its frames.

May import: `videomnist_gpu.synth`, `videomnist_gpu.hdf5`, `videomnist_gpu.errors`,
`videomnist_gpu.atomic_file`.
"""
