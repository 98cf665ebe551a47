"""Shared fixtures: devices to parametrize over, the offline digit source, a fake CUDA device."""

from __future__ import annotations

import contextlib

import pytest
import torch

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")),
]


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    return request.param


@pytest.fixture(autouse=True)
def _offline_data_root(tmp_path_factory, monkeypatch):
    """Point the MNIST root at an empty folder so `auto` resolves to the offline mnist-5k set."""
    monkeypatch.setenv("VIDEOMNIST_DATA", str(tmp_path_factory.getbasetemp() / "no-mnist"))


@contextlib.contextmanager
def fake_cuda():
    """Tensors made with device='cuda' inside carry shape, dtype and device but no data.

    Mixing in a real CPU tensor raises, and `.item()` raises: a render that completes inside
    proves the device discipline (nothing silently on the CPU, no host sync).
    """
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True):
        yield


@pytest.fixture(autouse=True)
def _no_dispatch_mode_left_active():
    """A test that leaves a FakeTensorMode (or any dispatch mode) active breaks every later test."""
    from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

    yield
    assert not _get_current_dispatch_mode_stack(), f"left active: {_get_current_dispatch_mode_stack()}"
