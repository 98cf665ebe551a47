"""Compress HDF5 chunks on threads and write them pre-filtered, readable by any HDF5 reader.

HDF5 runs a dataset's filters (here deflate, then fletcher32) one chunk at a time in the thread
that writes, so a gzip export is bound to one core. This module produces exactly the bytes that
filter pipeline stores, on a pool of threads (zlib releases the GIL while it compresses), and
hands them to HDF5 with `write_direct_chunk`. The dataset declares the standard pipeline, so plain
h5py, the HDF5 tools and upstream VideoGPT read the file without plugins, and a read checks both
deflate's own Adler-32 and the chunk's Fletcher-32.

Convention:
    stored chunk = zlib stream of the chunk's C-order bytes (deflate with the run-length strategy:
    on our mostly-black frames ~7% smaller and about twice as fast as zlib's default strategy at
    level 4) + Fletcher-32 of that stream, 4 bytes little-endian (HDF5's filter 3).

    >>> import zlib, numpy as np
    >>> chunk = deflate_chunk(np.zeros((2, 4, 4), np.uint8))
    >>> zlib.decompress(chunk[:-4]) == bytes(32), int.from_bytes(chunk[-4:], "little") == fletcher32(chunk[:-4])
    (True, True)
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["DEFLATE_LEVEL", "deflate_chunk", "fletcher32", "ChunkWriter"]

# The level declared in the file's filter pipeline; with the run-length strategy zlib's output
# does not depend on it (1..9 give the same bytes), so the fastest setting is also the smallest.
DEFLATE_LEVEL = 1


def fletcher32(data: bytes | memoryview) -> int:
    """HDF5's Fletcher-32 of `data` (16-bit big-endian words, an odd last byte padded with 0).

    Equal to HDF5's H5_checksum_fletcher32: both sums are kept modulo 65535 in ones'-complement
    form (a non-zero sum that is a multiple of 65535 reads 65535, only an all-zero input gives 0).
    The second sum, the sum of the running first sums, is the words weighted by n, n-1, ..., 1.
    """
    data = bytes(data)
    words = np.frombuffer(data + b"\0" * (len(data) % 2), dtype=">u2").astype(np.int64)  # (n,)
    first = int(words.sum())
    second = int(np.dot(words, np.arange(words.size, 0, -1, dtype=np.int64)))

    def fold(total: int) -> int:
        return 0 if total == 0 else (total - 1) % 65535 + 1

    return (fold(second) << 16) | fold(first)


def deflate_chunk(chunk: np.ndarray) -> bytes:
    """The bytes HDF5 stores for `chunk` under the pipeline deflate + fletcher32 (see Convention)."""
    packer = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, 15, 8, zlib.Z_RLE)
    body = packer.compress(np.ascontiguousarray(chunk)) + packer.flush()
    return body + fletcher32(body).to_bytes(4, "little")


class ChunkWriter:
    """Writes whole first-axis chunks of a deflate + fletcher32 dataset, compressed on threads.

    Pipelined: `write` queues a batch's chunks for compression and returns after storing the
    previous batch's, so the caller renders the next batch while this one compresses. Leaving
    the ``with`` block normally stores what is still queued; leaving it on an error (or
    interrupt) discards it. HDF5 calls stay in the calling thread.

    Args:
        threads: compression threads (default: the CPUs this process may use).
    """

    def __init__(self, threads: int | None = None) -> None:
        if threads is None:
            threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="deflate")
        self._queued: tuple | None = None  # (dataset, first_row, rows, futures) of the last write

    def write(self, dataset, first_row: int, chunks: np.ndarray) -> None:
        """Queue ``chunks[i]`` for the chunk at row ``first_row + i * chunk_rows`` of `dataset`.

        Shape:
            chunks: (B, *dataset.chunks), one dataset chunk each, in dataset order (kept
            referenced, and must not change, until stored).
        """
        rows = chunks.shape[1]
        if tuple(chunks.shape[1:]) != tuple(dataset.chunks) or first_row % rows:
            raise ValueError(f"chunks: expected whole chunks {dataset.chunks} at a chunk boundary, "
                             f"got {tuple(chunks.shape[1:])} at row {first_row}")
        futures = [self._pool.submit(deflate_chunk, chunk) for chunk in chunks]
        self.store()
        self._queued = (dataset, first_row, rows, futures)

    def store(self) -> None:
        """Write every queued chunk into its dataset (waits for their compression)."""
        if self._queued is None:
            return
        dataset, first_row, rows, futures = self._queued
        self._queued = None
        tail = (0,) * (len(dataset.chunks) - 1)
        for i, future in enumerate(futures):
            dataset.id.write_direct_chunk((first_row + i * rows, *tail), future.result())

    def __enter__(self) -> "ChunkWriter":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is None:
                self.store()
        finally:
            self._queued = None
            self._pool.shutdown(wait=True, cancel_futures=True)
