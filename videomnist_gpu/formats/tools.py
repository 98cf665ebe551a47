"""Which files each video-prediction tool reads, and where: `export_for`, behind `videomnist export-for`.

For `export_for(["torchvision", "openstl", "predrnn"], "data", config)` with the test split:

    data/MovingMNIST/mnist_test_seq.npy           torchvision.datasets.MovingMNIST("data")
    data/moving_mnist/mnist_test_seq.npy          OpenSTL's fixed test set (the same bytes: a hard link)
    data/moving_mnist/train-images-idx3-ubyte.gz  OpenSTL's training digits: our train digits
    data/moving-mnist-valid.npz                   PredRNN's --valid_data_paths

(`--split train` writes PredRNN's `moving-mnist-train.npz` instead; OpenSTL trains on the fly and
has no train file.) Every path is checked before anything is rendered, each file is written
atomically, and a failure removes what the call wrote: a request either gives every file or none.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from videomnist_gpu.atomic_file import atomic_file, check_output_dir, check_output_file, removed_on_failure
from videomnist_gpu.data.prediction import check_split_frames
from videomnist_gpu.errors import UsageError
from videomnist_gpu.formats.clip_source import ClipSource
from videomnist_gpu.formats.idx import OPENSTL_DIGITS_PATH, write_idx_images
from videomnist_gpu.formats.mnist_test_seq import OPENSTL_PATH, TORCHVISION_PATH, write_mnist_test_seq
from videomnist_gpu.formats.predrnn_npz import PREDRNN_FILES, write_predrnn_npz
from videomnist_gpu.synth.digits import load_digit_bank

__all__ = ["export_for", "tool_files", "loading_calls", "ToolFile", "TOOLS"]

TOOLS = ("torchvision", "openstl", "predrnn")


@dataclass(frozen=True)
class ToolFile:
    """One file a tool reads: `kind` (`mnist_test_seq`, `idx` or `predrnn`) at `path` under the root."""

    tool: str
    kind: str
    path: str


def _check_tools(tools: str | Sequence[str]) -> list[str]:
    tools = [tools] if isinstance(tools, str) else list(tools)
    if not tools:
        raise UsageError(f"tools: name at least one. Valid: {', '.join(TOOLS)}")
    for tool in tools:
        if tool not in TOOLS:
            raise UsageError(f"tools: unknown tool {tool!r}. Valid: {', '.join(TOOLS)}")
    return list(dict.fromkeys(tools))


def tool_files(tools: str | Sequence[str], split: str = "test") -> list[ToolFile]:
    """The files `tools` read, for clips of `split`, in writing order.

    >>> [f.path for f in tool_files(["openstl", "predrnn"])]
    ['moving_mnist/mnist_test_seq.npy', 'moving_mnist/train-images-idx3-ubyte.gz', 'moving-mnist-valid.npz']

    Raises:
        UsageError: an unknown tool, or OpenSTL with the train split (it draws its training
            clips on the fly; its only fixed file is the test set).
    """
    files = []
    for tool in _check_tools(tools):
        if tool == "torchvision":
            files.append(ToolFile(tool, "mnist_test_seq", TORCHVISION_PATH))
        elif tool == "openstl":
            if split != "test":
                raise UsageError("split: OpenSTL reads a fixed test set only (it draws its training clips on the "
                                 "fly from the digits file); use --split test")
            files += [ToolFile(tool, "mnist_test_seq", OPENSTL_PATH), ToolFile(tool, "idx", OPENSTL_DIGITS_PATH)]
        else:
            files.append(ToolFile(tool, "predrnn", PREDRNN_FILES[split]))
    return files


def export_for(tools: str | Sequence[str], output_dir: str | os.PathLike, source: ClipSource, *,
               split_frames: tuple[int, int] | None = None, overwrite: bool = False,
               progress: bool | None = None) -> list[Path]:
    """Write the files `tools` read (see `tool_files`) under `output_dir`; returns their paths.

    Args:
        tools: names from `TOOLS` (a string for one).
        output_dir: the root folder each tool is given (created if missing).
        source: the clips (`ClipSource`: config, N, split, batch size, device).
        split_frames: `(n_past, n_future)`, adding up to T: PredRNN's input and output frames
            (default: T split in halves, 10 + 10 for Moving MNIST); checked for every tool, since
            torchvision's `split_ratio` and OpenSTL's input/output lengths must match it too.
        overwrite: replace existing files (each only once its new version is complete).
        progress: see `videomnist_gpu.progress.progress_bar`.

    Raises:
        UsageError: unknown tool, frames that do not add up to T, an output folder or file that
            cannot be written (a file exists without `overwrite`), or digits that cannot be
            loaded; nothing is written. `VideoMNISTError` (e.g. a full disk) or `Interrupted`
            during the writes: the files written so far are removed.
    """
    files = tool_files(tools, source.split)
    t = source.frames
    split_frames = check_split_frames((t // 2, t - t // 2) if split_frames is None else split_frames, t)
    root = check_output_dir(output_dir, "output_dir")
    for file in files:
        check_output_file(root / file.path, "output_dir", overwrite=overwrite)
    source.load_digits()
    written: dict[str, Path] = {}  # kind -> first file of that kind
    paths: list[Path] = []
    try:
        with removed_on_failure(root, *{(root / file.path).parent for file in files}):  # folders made here
            for file in files:
                path = root / file.path
                if file.kind in written:  # the same bytes under another tool's folder
                    _link_or_copy(written[file.kind], path, overwrite)
                elif file.kind == "mnist_test_seq":
                    write_mnist_test_seq(path, source, overwrite=overwrite, progress=progress)
                elif file.kind == "idx":
                    bank = load_digit_bank(source.config.digits, "train")  # 28 px as loaded: OpenSTL's size
                    write_idx_images(path, bank.images.cpu().numpy(), overwrite=overwrite)  # (N, 28, 28)
                else:
                    write_predrnn_npz(path, source, split_frames, overwrite=overwrite, progress=progress)
                written.setdefault(file.kind, path)
                paths.append(path)
    except BaseException:
        for path in paths:  # files of a folder that existed before: removed one by one
            path.unlink(missing_ok=True)
        raise
    return paths


def _link_or_copy(existing: Path, path: Path, overwrite: bool) -> None:
    """`path` becomes a hard link to `existing` (a copy where the file system has no hard links)."""
    with atomic_file(path, "output_dir", overwrite=overwrite) as partial:
        try:
            os.link(existing, partial)
        except OSError:
            shutil.copyfile(existing, partial)


def loading_calls(tools: str | Sequence[str], output_dir: str | os.PathLike, split: str,
                  split_frames: tuple[int, int]) -> list[str]:
    """One line per tool: the call that reads what `export_for` wrote.

    >>> print(loading_calls("predrnn", "data", "test", (10, 10))[0])
    predrnn: python run.py --dataset_name mnist --valid_data_paths data/moving-mnist-valid.npz --input_length 10 --total_length 20
    """
    root = str(output_dir)
    n_past, n_future = split_frames
    lines = []
    for tool in _check_tools(tools):
        if tool == "torchvision":
            lines.append(f"torchvision: torchvision.datasets.MovingMNIST({root!r}, split='test', split_ratio={n_past})"
                         f"  # items ({n_future}, 1, H, W) uint8: the frames to predict; split='train': the "
                         f"{n_past} observed")
        elif tool == "openstl":
            lines.append(f"openstl: python tools/train.py -d mmnist --data_root {root} --pre_seq_length {n_past} "
                         f"--aft_seq_length {n_future} -c CONFIG  # or openstl.datasets.MovingMNIST({root!r}, "
                         f"is_train=False, n_frames_input={n_past}, n_frames_output={n_future})")
        else:
            flag = "--train_data_paths" if split == "train" else "--valid_data_paths"
            lines.append(f"predrnn: python run.py --dataset_name mnist {flag} "
                         f"{os.path.join(root, PREDRNN_FILES[split])} --input_length {n_past} "
                         f"--total_length {n_past + n_future}")
    return lines
