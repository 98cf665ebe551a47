import torch

from videomnist_gpu.synth.keyed_random import bits_below, random_bits, uniforms


def test_bits_are_a_pure_function_of_seed_split_and_index():
    idx = torch.tensor([0, 1, 2, 2**40 + 5, 7])
    a = random_bits(3, "train", idx, 6)
    b = torch.cat([random_bits(3, "train", idx[i:i + 1], 6) for i in [0, 1, 2, 3, 4]])
    assert torch.equal(a, b)
    assert a.dtype == torch.int64 and a.shape == (5, 6)
    assert int(a.min()) >= 0 and int(a.max()) < 2**32
    assert not torch.equal(a, random_bits(4, "train", idx, 6))
    assert not torch.equal(a, random_bits(3, "test", idx, 6))
    assert not torch.equal(random_bits(2**33, "train", idx, 6), random_bits(0, "train", idx, 6))


def test_uniforms_look_uniform_and_are_exact_floats():
    u = uniforms(random_bits(0, "train", torch.arange(20000), 4))
    assert float(u.min()) >= 0 and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) < 0.01
    hist = torch.histc(u, bins=10, min=0, max=1) / u.numel()
    assert float((hist - 0.1).abs().max()) < 0.01
    assert torch.equal(u * 2**24, (u * 2**24).round())  # 24-bit grid: same on every device


def test_neighbouring_indices_are_uncorrelated():
    u = uniforms(random_bits(0, "train", torch.arange(10000), 2))
    a, b = u[:-1, 0], u[1:, 0]
    corr = torch.corrcoef(torch.stack([a, b]))[0, 1]
    assert abs(float(corr)) < 0.05
    corr01 = torch.corrcoef(u.T)[0, 1]
    assert abs(float(corr01)) < 0.05


def test_bits_below_covers_the_range_without_bias():
    n = torch.tensor(7)
    v = bits_below(random_bits(1, "train", torch.arange(70000), 1), n)
    counts = torch.bincount(v.flatten(), minlength=7)
    assert counts.numel() == 7 and int(counts.min()) > 9500
