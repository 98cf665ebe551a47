"""`videomnist digits`: fetch full MNIST (the only command that touches the network) or describe a source."""

from __future__ import annotations

import argparse

from videomnist_gpu.cli.flags import add_flag
from videomnist_gpu.synth.digits import download_mnist, load_digit_bank


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("digits", help="download full MNIST or describe a digit source",
                                   description="Download full MNIST (the only command that uses the network) "
                                               "or describe a digit source.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(parser))

    download = actions.add_parser("download", help="download full MNIST into --root (needs network)")
    add_flag(download, "root", metavar="DIR", help="data root (default: $VIDEOMNIST_DATA, else ~/.cache/videomnist)")
    # a network download has no safe points: Ctrl-C acts at once (KeyboardInterrupt), as usual
    download.set_defaults(run=_download, records_signals=False)

    info = actions.add_parser("info", help="print a source's name, digit counts and fingerprint")
    add_flag(info, "digits", default="auto", metavar="SOURCE", help="auto | mnist | mnist-5k | PATH to IDX files")
    add_flag(info, "root", metavar="DIR", help="data root (default: $VIDEOMNIST_DATA, else ~/.cache/videomnist)")
    info.set_defaults(run=_info)


def _download(args: argparse.Namespace) -> int:
    path = download_mnist(args.root)
    print(f"MNIST is in {path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    for split in ("train", "test"):
        bank = load_digit_bank(args.digits, split, root=args.root)
        print(f"{split}: {bank.source} {len(bank)} digits, sha256 {bank.fingerprint}")
    return 0
