"""The kernel and byte counter: exact on small known programs, and it runs on the real render."""
import torch

from conftest import fake_cuda
from videomnist_gpu import VideoMNISTConfig
from videomnist_gpu.bench.kernel_count import KernelCounter, count_render_kernels


def test_counts_kernels_and_bytes_of_known_ops():
    with fake_cuda():
        x = torch.zeros(4, 8, device="cuda")  # 128 bytes
        w = torch.zeros(1, 8, device="cuda")  # 32 bytes, broadcast over rows
        out = torch.empty(4, 8, device="cuda")
        index = torch.zeros(2, dtype=torch.int64, device="cuda")  # 16 bytes
        with KernelCounter(clips=4) as counter:
            x.view(8, 4).t().unsqueeze(0)  # views: no kernel
            torch.mul(x, w, out=out)  # reads 128 + 32, writes 128
            out.add_(1.0)  # in place: reads and writes 128
            torch.index_select(x, 0, index)  # a gather: reads the 64 bytes it copies and the index, writes 64
    c = counter.count
    assert dict(c.per_op) == {"mul": 1, "add_": 1, "index_select": 1}
    assert c.bytes_per_op == {"mul": 128 + 32 + 128, "add_": 128 + 128, "index_select": 64 + 16 + 64}
    assert c.kernels == 3 and c.bytes_written == 128 + 128 + 64
    assert c.bytes_per_clip == (c.bytes_read + c.bytes_written) / 4


def test_counts_the_render_on_fake_cuda():
    config = VideoMNISTConfig(digits="mnist-5k", sequence_length=4)
    small, large = count_render_kernels(config, 8), count_render_kernels(config, 64)
    assert small.kernels == large.kernels > 20  # fixed shapes: kernels do not grow with the batch
    output = 4 * 64 * 64
    assert large.bytes_written_per_clip >= output and large.bytes_read_per_clip > 0
    assert large.per_op["index_select"] == 1  # one copy places every frame
