"""`videomnist import-moving-mnist FILE --output_file F.h5`: the classic test set in our layout."""

from __future__ import annotations

import argparse

from videomnist_gpu.cli.flags import add_flag


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "import-moving-mnist", help="convert the classic mnist_test_seq.npy into a VideoMNIST HDF5 file",
        description="Convert the classic Moving MNIST test set (mnist_test_seq.npy: uint8 frames first, "
        "(20, 10000, 64, 64)) into the VideoMNIST HDF5 layout as its test split, so the reader, "
        "`videomnist verify` and `videomnist visualize --split test` work on it.",
    )
    p.add_argument("file", metavar="FILE", help="the .npy file: uint8 (T, N, H, W), frames first")
    add_flag(p, "output_file", required=True, metavar="FILE", help="HDF5 file to write (written as FILE.partial, then renamed)")
    add_flag(p, "overwrite", action="store_true", default=False, help="replace an existing output file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from videomnist_gpu.hdf5.moving_mnist import import_moving_mnist

    path = import_moving_mnist(args.file, args.output_file, overwrite=args.overwrite)
    print(f"wrote {path}: the clips of {args.file} as the test split")
    return 0
