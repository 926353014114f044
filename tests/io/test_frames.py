from pathlib import Path

import numpy as np
import pytest
import torch
from support import make_frame

from vfi.io.frames import FrameError, FrameInfo, encode_frame, probe_frame, read_frame, write_frame
from vfi.io.tensors import from_model_tensor, to_model_tensor

MODES = [("L", 8), ("L", 16), ("RGB", 8), ("RGB", 16)]


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize(("mode", "depth"), MODES)
def test_round_trip_keeps_pixels_mode_and_depth(tmp_path, suffix, mode, depth):
    frame = make_frame(mode, depth)
    path = tmp_path / f"f{suffix}"
    write_frame(path, frame)
    back = read_frame(path)
    assert back.dtype == frame.dtype
    assert np.array_equal(back, frame)
    info = probe_frame(path)
    assert (info.mode, info.bit_depth, info.width, info.height) == (mode, depth, 32, 24)


def test_write_leaves_no_temporary_files(tmp_path):
    write_frame(tmp_path / "a.png", make_frame())
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_encoding_is_deterministic():
    frame = make_frame("RGB", 16)
    assert encode_frame(frame, ".png") == encode_frame(frame.copy(), ".png")
    assert encode_frame(frame, ".tif") == encode_frame(frame.copy(), ".tif")


def test_empty_file_is_reported(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(FrameError, match="empty"):
        probe_frame(tmp_path / "a.png")


def test_truncated_png_is_reported(tmp_path):
    write_frame(tmp_path / "a.png", make_frame())
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "a.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(FrameError, match="truncated"):
        read_frame(tmp_path / "a.png")


def test_truncated_tiff_is_reported(tmp_path):
    write_frame(tmp_path / "a.tif", make_frame(height=64, width=64))
    data = (tmp_path / "a.tif").read_bytes()
    (tmp_path / "a.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(FrameError, match="TIFF"):
        read_frame(tmp_path / "a.tif")


def test_text_file_named_png_is_reported(tmp_path):
    (tmp_path / "a.png").write_text("not an image")
    with pytest.raises(FrameError, match="not a PNG"):
        probe_frame(tmp_path / "a.png")


def test_png_with_alpha_is_refused(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(FrameError, match="RGBA"):
        probe_frame(tmp_path / "a.png")


def test_error_names_the_file(tmp_path):
    path: Path = tmp_path / "frame_003.png"
    path.write_bytes(b"")
    with pytest.raises(FrameError, match="frame_003.png"):
        probe_frame(path)


def test_model_tensor_replicates_gray_to_three_channels_in_range():
    frame = np.array([[0, 255]], dtype=np.uint8)
    tensor = to_model_tensor(frame)
    assert tensor.shape == (3, 1, 2)
    assert torch.equal(tensor[:, 0, 0], torch.full((3,), -1.0))
    assert torch.equal(tensor[:, 0, 1], torch.full((3,), 1.0))


@pytest.mark.parametrize(("mode", "depth"), MODES)
def test_model_tensor_round_trip_is_exact(tmp_path, mode, depth):
    frame = make_frame(mode, depth)
    write_frame(tmp_path / "a.png", frame)
    info = probe_frame(tmp_path / "a.png")
    assert np.array_equal(from_model_tensor(to_model_tensor(frame), info), frame)


def test_gray_output_is_mean_of_channels():
    tensor = torch.stack(
        [torch.full((2, 2), -1.0), torch.full((2, 2), 0.0), torch.full((2, 2), 1.0)]
    )
    out = from_model_tensor(tensor, FrameInfo(2, 2, "L", 8))
    assert out.shape == (2, 2) and int(out[0, 0]) == 128


def test_rewrite_removes_temporary_files_of_a_killed_attempt(tmp_path):
    (tmp_path / ".a.png.x1y2.tmp").write_bytes(b"half a frame")
    (tmp_path / ".b.png.x1y2.tmp").write_bytes(b"another file's")
    write_frame(tmp_path / "a.png", make_frame())
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.png.x1y2.tmp", "a.png"]
