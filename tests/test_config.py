import json

import pytest

from videomnist_gpu import VideoMNISTConfig


def test_defaults_match_the_original_dataset():
    c = VideoMNISTConfig()
    assert (c.sequence_length, c.image_size, c.digit_size, c.num_digits, c.margin, c.fps) == (16, 64, 28, 1, 5, 10)
    assert c.motion_types == ("bounce", "circular", "linear")
    assert c.translation_only


def test_digit_size_scales_with_image_size_unless_given():
    assert VideoMNISTConfig(image_size=128).digit_size == 56
    assert VideoMNISTConfig(image_size=128, digit_size=28).digit_size == 28
    assert VideoMNISTConfig().replace(image_size=128).digit_size == 56


def test_json_and_yaml_round_trip(tmp_path):
    c = VideoMNISTConfig(image_size=96, num_digits=2, rotation_range=15.0, scale_range=(0.8, 1.1),
                         motion_types=("spiral", "bounce"), seed=7)
    assert VideoMNISTConfig.from_json(c.to_json()) == c
    path = tmp_path / "c.yaml"
    path.write_text(c.to_yaml())
    assert VideoMNISTConfig.from_yaml(path) == c
    assert json.loads(c.to_json())["motion_types"] == ["spiral", "bounce"]
    assert c.fingerprint() == VideoMNISTConfig.from_json(c.to_json()).fingerprint()
    assert c.fingerprint() != c.replace(seed=8).fingerprint()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"sequence_length": 0}, "sequence_length"),
        ({"sequence_length": 2.5}, "sequence_length"),
        ({"image_size": -64}, "image_size"),
        ({"image_size": 4}, "image_size"),
        ({"digit_size": 0}, "digit_size"),
        ({"num_digits": 0}, "num_digits"),
        ({"num_digits": 9}, "num_digits"),
        ({"motion_types": ("zigzag",)}, "motion_types"),
        ({"motion_types": ()}, "motion_types"),
        ({"motion_types": ("bounce", "bounce")}, "motion_types"),
        ({"margin": -1}, "margin"),
        ({"speed_range": (3.0, 1.0)}, "speed_range"),
        ({"speed_range": (0.0, 1.0)}, "speed_range"),
        ({"speed_range": (1.0,)}, "speed_range"),
        ({"rotation_range": 200}, "rotation_range"),
        ({"rotation_range": "lots"}, "rotation_range"),
        ({"scale_range": (0.1, 1.0)}, "scale_range"),
        ({"fps": 0}, "fps"),
        ({"seed": -1}, "seed"),
        ({"digits": ""}, "digits"),
        ({"image_size": 40, "digit_size": 28}, "image_size"),
        ({"image_size": 64, "rotation_range": 45, "scale_range": (1.0, 1.5)}, "image_size"),
    ],
)
def test_bad_values_raise_value_error_naming_the_field(changes, field):
    with pytest.raises(ValueError) as info:
        VideoMNISTConfig(**changes)
    message = str(info.value)
    assert message.startswith(field), message
    assert "\n" not in message


def test_unknown_motion_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown motion 'zigzag'. Valid: bounce, circular, linear, spiral"):
        VideoMNISTConfig(motion_types=("zigzag",))


def test_unknown_key_and_bad_yaml(tmp_path):
    with pytest.raises(ValueError, match="unknown key 'colour'"):
        VideoMNISTConfig.from_dict({"colour": "red"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("image_size: [64\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        VideoMNISTConfig.from_yaml(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        VideoMNISTConfig.from_yaml(listy)
