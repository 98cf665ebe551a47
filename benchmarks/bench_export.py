"""Export benchmark: our `export_dataset` against the original per-frame scipy generator, same run.

Both arms produce the default dataset (configs/videomnist.yaml: 1,000 train + 200 test videos per
digit, 16x64x64; `--quick` for a tenth) into an HDF5 file, each in its own subprocess so peak
memory is that arm's alone: each child reports its own peak RSS (VmHWM of /proc/self/status at the
end of its work; the rusage of a child also counts the parent's memory at the fork, and its exit).

- ours: `videomnist_gpu.hdf5.export.export_dataset` (streamed batch by batch, one clip per chunk,
  fletcher32, gzip compressed on threads unless `--compression` says otherwise).
- original: `baselines.original_scipy_clips` (the original scripts' algorithm: scipy
  `affine_transform` per frame, Python loops; in `videomnist_gpu/bench/baselines.py`),
  called per class like the original scripts, all clips kept in memory, then written with
  h5py `compression="gzip"` and automatic chunking, as the original scripts did.

Prints wall times (whole process and work only) and their ratio, peak RSS of both (and ours above
the peak RSS of a process that only runs `import torch`, measured in the same run), file sizes,
and random-clip read latency (median of 200 random 16-frame reads from each file; ours also
through `HDF5VideoDataset`). `--rss_videos_per_digit N` also measures the peak RSS of
`videomnist generate --videos_per_digit N --sequence_length 32` (streaming: flat in N).

    python benchmarks/bench_export.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)


# ---------------------------------------------------------------------- the two arms (children)
def _arm_ours(out: Path, vpd: int, tvpd: int, device: str, compression: str, batch_size: int | None) -> dict:
    from videomnist_gpu import VideoMNISTConfig
    from videomnist_gpu.synth.config import read_yaml_mapping
    from videomnist_gpu.hdf5.export import export_dataset

    values = read_yaml_mapping(ROOT / "configs" / "videomnist.yaml")
    for key in ("videos_per_digit", "test_videos_per_digit", "output_file"):
        values.pop(key, None)
    config = VideoMNISTConfig.from_dict(values)
    start = time.perf_counter()
    export_dataset(out, config, vpd, tvpd, device=device, compression=compression, batch_size=batch_size,
                   overwrite=True, progress=False)
    return {"work_s": time.perf_counter() - start}


def _arm_original(out: Path, vpd: int, tvpd: int) -> dict:
    import h5py
    import numpy as np
    from videomnist_gpu.bench.baselines import original_scipy_clips

    from videomnist_gpu.synth.digits import load_digit_bank

    start = time.perf_counter()
    with h5py.File(out, "w") as f:
        for split, per_class in (("train", vpd), ("test", tvpd)):
            bank = load_digit_bank("auto", split)
            images, labels = bank.images.numpy(), bank.labels.numpy()
            videos, classes = [], []
            for c in range(10):  # the original scripts: per digit class, all clips in memory
                videos.append(original_scipy_clips(images[labels == c], per_class, seed=1000 * c + (split == "test")))
                classes += [c] * per_class
            video = np.concatenate(videos)  # (N, T, H, W)
            n, t = video.shape[:2]
            f.create_dataset(f"{split}_data", data=video.reshape(n * t, *video.shape[2:]), compression="gzip")
            f.create_dataset(f"{split}_idx", data=np.arange(n, dtype=np.int64) * t)
            f.create_dataset(f"{split}_labels", data=np.asarray(classes, dtype=np.int64))
        f.attrs["sequence_length"], f.attrs["resolution"] = 16, 64
    return {"work_s": time.perf_counter() - start}


def _peak_rss_mib() -> float:
    """This process's peak resident memory since its exec (VmHWM), MiB; Linux only."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(args: argparse.Namespace) -> None:
    if args.arm == "torch":
        import torch  # noqa: F401

        result = {}
    elif args.arm == "generate":
        from videomnist_gpu.cli import main as videomnist_main

        result = {"exit_code": videomnist_main(["generate", "--output_file", args.out, "--videos_per_digit",
                                                str(args.vpd), "--sequence_length", "32", "--device", args.device,
                                                "--overwrite"])}
    elif args.arm == "ours":
        result = _arm_ours(Path(args.out), args.vpd, args.tvpd, args.device, args.compression, args.batch_size)
    else:
        result = _arm_original(Path(args.out), args.vpd, args.tvpd)
    print(json.dumps({**result, "peak_rss_mib": _peak_rss_mib()}))


# ---------------------------------------------------------------------- parent
def _run_child(cmd: list[str]) -> tuple[dict, float, float]:
    """Run `cmd`; returns (its JSON line or {}, wall seconds, peak RSS MiB the child reported)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, _ = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed (exit {proc.returncode}): {' '.join(cmd)}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    return result, wall, result.get("peak_rss_mib", float("nan"))


def _read_latency(path: Path, reads: int = 200, length: int = 16, seed: int = 0) -> dict:
    import h5py
    import numpy as np

    rng = np.random.default_rng(seed)
    with h5py.File(path, "r") as f:
        data, idx = f["train_data"], f["train_idx"][()]
        picks = rng.integers(0, len(idx), size=reads)
        data[idx[0]:idx[0] + length]  # warm-up: open, metadata
        times = []
        for i in picks:
            t0 = time.perf_counter()
            data[idx[i]:idx[i] + length]
            times.append(time.perf_counter() - t0)
    return {"median_ms": 1e3 * float(np.median(times)), "p90_ms": 1e3 * float(np.quantile(times, 0.9))}


def _reader_latency(path: Path, reads: int = 200) -> float:
    import numpy as np

    from videomnist_gpu import HDF5VideoDataset

    ds = HDF5VideoDataset(path, 16, train=True, resolution=64)
    rng = np.random.default_rng(1)
    ds[0]
    times = []
    for i in rng.integers(0, len(ds), size=reads):
        t0 = time.perf_counter()
        ds[int(i)]
        times.append(time.perf_counter() - t0)
    ds.close()
    return 1e3 * float(np.median(times))


def _original_storage_bytes(ours: Path, out: Path) -> int:
    """Size of our clips stored the original scripts' way (data, idx, labels; gzip, automatic chunks)."""
    import h5py

    with h5py.File(ours, "r") as f, h5py.File(out, "w") as g:
        for split in ("train", "test"):
            g.create_dataset(f"{split}_data", data=f[f"{split}_data"][()], compression="gzip")
            g.create_dataset(f"{split}_idx", data=f[f"{split}_idx"][()])
            g.create_dataset(f"{split}_labels", data=f[f"{split}_labels"][()])
    size = out.stat().st_size
    out.unlink()
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the default dataset (100 + 20 per digit)")
    parser.add_argument("--device", default=None, help="device for our export (default: CUDA when available)")
    parser.add_argument("--compression", default="gzip", help="our export's compression (default gzip)")
    parser.add_argument("--batch_size", type=int, default=None, help="default: 128 on CPU, 512 on GPU")
    parser.add_argument("--out", default=None, help="folder for the files (default: a temporary folder)")
    parser.add_argument("--skip_original", action="store_true", help="only time our export")
    parser.add_argument("--rss_videos_per_digit", type=int, nargs="*", default=[],
                        help="also measure peak RSS of `generate --videos_per_digit N --sequence_length 32`")
    # child mode
    parser.add_argument("--arm", choices=["ours", "original", "torch", "generate"], help=argparse.SUPPRESS)
    parser.add_argument("--vpd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tvpd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out_file", dest="out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        _child(args)
        return

    import h5py
    import torch

    import videomnist_gpu
    from videomnist_gpu.synth.synthesizer import default_device

    device = args.device or str(default_device())
    vpd, tvpd = (100, 20) if args.quick else (1000, 200)
    folder = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench_export_"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"# export benchmark: {10 * vpd} train + {10 * tvpd} test videos, 16x64x64")
    print(f"# python {platform.python_version()}, torch {torch.__version__}, h5py {h5py.__version__}, "
          f"videomnist_gpu {videomnist_gpu.__version__}, device {device}, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}")
    me = [sys.executable, str(Path(__file__).resolve())]
    arms = {}
    ours_file = folder / "ours.h5"
    res, wall, rss = _run_child(me + ["--arm", "ours", "--vpd", str(vpd), "--tvpd", str(tvpd), "--out_file",
                                      str(ours_file), "--device", device, "--compression", args.compression,
                                      *(["--batch_size", str(args.batch_size)] if args.batch_size else [])])
    arms["ours"] = {"file": ours_file, "wall_s": wall, "work_s": res["work_s"], "rss_mib": rss}
    if not args.skip_original:
        orig_file = folder / "original.h5"
        res, wall, rss = _run_child(me + ["--arm", "original", "--vpd", str(vpd), "--tvpd", str(tvpd),
                                          "--out_file", str(orig_file)])
        arms["original"] = {"file": orig_file, "wall_s": wall, "work_s": res["work_s"], "rss_mib": rss}
    _, _, torch_rss = _run_child(me + ["--arm", "torch"])
    n = 10 * (vpd + tvpd)
    print(f"{'arm':<10} {'process s':>10} {'work s':>8} {'clips/s':>8} {'peak RSS MiB':>13} {'file MiB':>9} "
          f"{'read median ms':>15} {'read p90 ms':>12}")
    for name, a in arms.items():
        lat = _read_latency(a["file"])
        a.update(lat)
        print(f"{name:<10} {a['wall_s']:>10.1f} {a['work_s']:>8.1f} {n / a['work_s']:>8.0f} {a['rss_mib']:>13.0f} "
              f"{a['file'].stat().st_size / 2**20:>9.1f} {lat['median_ms']:>15.3f} {lat['p90_ms']:>12.3f}")
    print(f"peak RSS of `import torch` alone: {torch_rss:.0f} MiB; ours above it: "
          f"{arms['ours']['rss_mib'] - torch_rss:.0f} MiB")
    print(f"HDF5VideoDataset item (16 frames -> float32 (1,16,64,64)), median of 200: "
          f"{_reader_latency(ours_file):.3f} ms")
    if "original" in arms:
        o, u = arms["original"], arms["ours"]
        print(f"ratio original/ours: {o['wall_s'] / u['wall_s']:.2f}x end to end (processes), "
              f"{o['work_s'] / u['work_s']:.2f}x work only; "
              f"random 16-frame read {o['median_ms'] / u['median_ms']:.0f}x faster; "
              f"file size ours/original {u['file'].stat().st_size / o['file'].stat().st_size:.3f}")
    same = _original_storage_bytes(ours_file, folder / "ours_in_original_storage.h5")
    print(f"our clips stored the original way (gzip, automatic chunks, no ground truth): {same / 2**20:.1f} MiB; "
          f"our file / that: {ours_file.stat().st_size / same:.3f}")
    for n_large in args.rss_videos_per_digit:
        target = folder / f"rss_{n_large}.h5"
        _, wall, rss = _run_child(me + ["--arm", "generate", "--out_file", str(target), "--vpd", str(n_large),
                                        "--device", device])
        print(f"generate --videos_per_digit {n_large} --sequence_length 32: peak RSS {rss:.0f} MiB "
              f"({rss - torch_rss:.0f} above import torch), "
              f"{wall:.0f} s, {target.stat().st_size / 2**20:.0f} MiB file")
        target.unlink()
    if not args.out:
        for a in arms.values():
            a["file"].unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
