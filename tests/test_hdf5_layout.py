"""The writer's files and `videomnist_gpu.hdf5.layout` agree: names, dtypes, shapes, chunks, attributes.

Tiny exports only: 4 frames at 32x32, 10 px digits from the offline mnist-5k digits.
"""

import h5py
import numpy as np
import pytest

from videomnist_gpu import VideoMNISTConfig
from videomnist_gpu.hdf5.export import export_dataset
from videomnist_gpu.hdf5.layout import (FORMAT_VERSION, REQUIRED_ATTRS, SPLIT_NAMES, dataset_name, dataset_specs,
                                        decode_config, decode_motion_types, file_attrs, scalar_attr)
from videomnist_gpu.synth.digits import load_digit_bank


@pytest.mark.parametrize("num_digits, channels", [(1, 1), (2, 3)])
def test_export_matches_layout(tmp_path, num_digits, channels):
    config = VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32,
                              digit_size=10, num_digits=num_digits, rotation_range=20.0)
    path = export_dataset(tmp_path / "tiny.h5", config, 1, 1, channels=channels, compression="none",
                          device="cpu", progress=False)
    counts = {"train": 10, "test": 10}
    with h5py.File(path, "r") as f:
        want = {dataset_name(split, name): spec for split in SPLIT_NAMES
                for name, spec in dataset_specs(config, channels, counts[split]).items()}
        assert sorted(f.keys()) == sorted(want)
        assert {"train_angle", "test_angle"} <= set(want) and "train_scale" not in want  # rotation on, scale off
        for key, spec in want.items():
            ds = f[key]
            assert (ds.dtype, ds.shape, ds.chunks) == (spec.dtype, spec.shape, spec.chunks), key
        assert f["train_labels"].shape == ((10,) if num_digits == 1 else (10, num_digits))
        assert f["train_data"].shape == (40, *(config.image_size,) * 2, *((3,) if channels == 3 else ()))

        banks = {s: load_digit_bank("mnist-5k", s) for s in SPLIT_NAMES}
        expected = file_attrs(config, channels=channels, counts=counts, digit_source=banks["train"].source,
                              fingerprints={s: banks[s].fingerprint for s in SPLIT_NAMES}, render_device="cpu",
                              render_backend="torch")
        assert set(REQUIRED_ATTRS) | {"render_device", "render_backend"} == set(expected) == set(f.attrs)
        for key, value in expected.items():
            if key == "motion_types":
                assert decode_motion_types(f.attrs[key]) == tuple(config.motion_types)
                assert h5py.check_string_dtype(f.attrs.get_id(key).dtype) is not None  # variable-length strings
            else:
                assert scalar_attr(f.attrs[key]) == value, key
        assert decode_config(f.attrs["config_json"]) == config
        assert scalar_attr(f.attrs["format_version"]) == FORMAT_VERSION == 1
        assert np.array_equal(f["test_idx"][()], np.arange(10) * 4)
