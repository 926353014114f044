import io
import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
from support import make_frame

from vfi.io.frames import FrameError, encode_frame, probe_frame, read_frame, write_frame

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


def test_rewrite_removes_temporary_files_of_a_killed_attempt(tmp_path):
    (tmp_path / ".a.png.x1y2.tmp").write_bytes(b"half a frame")
    (tmp_path / ".b.png.x1y2.tmp").write_bytes(b"another file's")
    write_frame(tmp_path / "a.png", make_frame())
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.png.x1y2.tmp", "a.png"]


def test_multi_page_tiff_is_refused_naming_the_page_count(tmp_path):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.zeros((3, 24, 32), np.uint8), photometric="minisblack")
    with pytest.raises(FrameError, match=rf"^{re.escape(str(path))}: TIFF holds 3 pages"):
        probe_frame(path)


def test_imagej_hyperstack_stored_as_pages_is_refused_naming_the_page_count(tmp_path):
    path = tmp_path / "hyperstack.tif"
    stack = np.zeros((2, 3, 24, 32), np.uint16)  # 2 time points x 3 slices
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "TZYX", "unit": "micron"})
    with pytest.raises(FrameError, match=rf"^{re.escape(str(path))}: TIFF holds 6 pages"):
        probe_frame(path)


def test_imagej_stack_behind_a_single_page_header_is_refused(tmp_path):
    path = tmp_path / "truncated.tif"
    stack = np.zeros((5, 24, 32), np.uint16)
    tifffile.imwrite(path, stack, imagej=True, truncate=True, metadata={"axes": "TYX"})
    with pytest.raises(FrameError, match=rf"^{re.escape(str(path))}: TIFF holds 5 images"):
        probe_frame(path)


@pytest.mark.parametrize(("mode", "depth"), [("L", 8), ("L", 16), ("RGB", 8)])  # no RGB48 in ImageJ
def test_single_page_imagej_tiff_is_accepted(tmp_path, mode, depth):
    frame = make_frame(mode, depth)
    path = tmp_path / "keyframe.tif"
    tifffile.imwrite(path, frame, imagej=True, metadata={"unit": "micron"})
    assert np.array_equal(read_frame(path), frame)


def test_tiff_with_a_reduced_resolution_thumbnail_page_is_accepted(tmp_path):
    frame = make_frame()
    path = tmp_path / "with_thumbnail.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(frame, photometric="minisblack", metadata=None)
        tif.write(frame[::2, ::2], photometric="minisblack", subfiletype=1, metadata=None)
    assert np.array_equal(read_frame(path), frame)


def write_keyframe(path: Path, frame: np.ndarray) -> Path:
    """A keyframe as Fiji saves it: 0.65 micron pixels, z spacing and frame interval."""
    resolution = (1 / 0.65, 1 / 0.65)
    metadata = {"unit": "micron", "spacing": 2.5, "finterval": 0.5}
    if frame.ndim == 3 and frame.dtype == np.uint16:
        # ImageJ has no 16-bit RGB image (tifffile's imagej=True would write 24 pages of 32 x 3):
        # such a keyframe comes from other software that writes an ImageJ description.
        description = "ImageJ=1.11a\n" + "".join(f"{k}={v}\n" for k, v in metadata.items())
        tifffile.imwrite(
            path, frame, photometric="rgb", resolution=resolution, description=description
        )
    else:
        tifffile.imwrite(path, frame, imagej=True, resolution=resolution, metadata=metadata)
    return path


def calibration(path: Path) -> tuple:
    """What tifffile reports of a TIFF's size and calibration."""
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages.first.tags
        resolution = tuple(tags[name].value for name in ("XResolution", "YResolution"))
        return len(tif.pages), resolution, tags["ResolutionUnit"].value, tif.imagej_metadata


def test_generated_tiff_keeps_the_resolution_and_imagej_tags_of_its_keyframe(tmp_path):
    keyframe = write_keyframe(tmp_path / "frame_001.tif", make_frame(seed=1))
    pixels = make_frame(seed=2)
    out = tmp_path / "frame_002.tif"
    write_frame(out, pixels, like=keyframe)
    pages, resolution, unit, imagej = calibration(out)
    assert (pages, resolution, unit, imagej) == calibration(keyframe)
    assert pages == 1
    assert resolution == ((20, 13), (20, 13))  # 1 / 0.65 pixels per micron
    assert imagej["unit"] == "micron" and imagej["spacing"] == 2.5 and imagej["finterval"] == 0.5
    assert np.array_equal(read_frame(out), pixels)


@pytest.mark.parametrize(("mode", "depth"), [("L", 16), ("RGB", 8), ("RGB", 16)])
def test_generated_rgb_and_16_bit_tiffs_keep_the_calibration_of_their_keyframe(
    tmp_path, mode, depth
):
    keyframe = write_keyframe(tmp_path / "frame_001.tif", make_frame(mode, depth, seed=1))
    pixels = make_frame(mode, depth, seed=2)
    out = tmp_path / "frame_002.tif"
    write_frame(out, pixels, like=keyframe)
    assert calibration(out) == calibration(keyframe)
    back = read_frame(out)
    assert back.dtype == pixels.dtype and np.array_equal(back, pixels)


def test_stack_layout_of_a_reference_description_is_not_copied(tmp_path):
    reference = tmp_path / "stack.tif"
    metadata = {"axes": "TZYX", "unit": "micron", "spacing": 2.5, "finterval": 0.5}
    tifffile.imwrite(reference, np.zeros((2, 3, 24, 32), np.uint8), imagej=True, metadata=metadata)
    out = tmp_path / "frame.tif"
    write_frame(out, make_frame(), like=reference)
    pages, _, _, imagej = calibration(out)
    assert pages == 1
    assert not {"images", "slices", "frames"} & imagej.keys()
    assert (imagej["unit"], imagej["spacing"], imagej["finterval"]) == ("micron", 2.5, 0.5)
    assert np.array_equal(read_frame(out), make_frame())


def test_keyframe_resolution_is_copied_without_an_imagej_description(tmp_path):
    keyframe = tmp_path / "keyframe.tif"
    tifffile.imwrite(keyframe, make_frame(), resolution=(400, 400), resolutionunit="CENTIMETER")
    out = tmp_path / "frame.tif"
    write_frame(out, make_frame(seed=1), like=keyframe)
    assert calibration(out)[:3] == (1, ((400, 1), (400, 1)), tifffile.RESUNIT.CENTIMETER)
    with tifffile.TiffFile(out) as tif:
        assert tif.pages.first.tags.get("ImageDescription") is None


def test_keyframe_imagej_description_is_copied_byte_for_byte(tmp_path):
    description = b"ImageJ=1.54f\nunit=\xb5m\nxorigin=3.5\n"  # not 7-bit ASCII
    keyframe = tmp_path / "keyframe.tif"
    tifffile.imwrite(keyframe, make_frame(), description=description, metadata=None)
    out = tmp_path / "frame.tif"
    write_frame(out, make_frame(seed=1), like=keyframe)
    with tifffile.TiffFile(out) as tif:
        tag = tif.pages.first.tags["ImageDescription"]
        tif.filehandle.seek(tag.valueoffset)
        assert tif.filehandle.read(tag.valuebytecount) == description + b"\0"


def tiff_bytes_before_like(array: np.ndarray) -> bytes:
    """The bytes a TIFF frame was written with before frames could follow a keyframe."""
    out = io.BytesIO()
    photometric = "rgb" if array.ndim == 3 else "minisblack"
    tifffile.imwrite(out, array, photometric=photometric, compression="zlib", metadata=None)
    return out.getvalue()


@pytest.mark.parametrize("reference", [None, "keyframe.png", "plain.tif"])
@pytest.mark.parametrize(("mode", "depth"), MODES)
def test_tiff_bytes_are_unchanged_without_a_calibrated_tiff_keyframe(
    tmp_path, mode, depth, reference
):
    frame = make_frame(mode, depth)
    like = None
    if reference is not None:
        like = tmp_path / reference
        write_frame(like, make_frame(mode, depth, seed=1))  # PNG, or TIFF with no calibration
    write_frame(tmp_path / "out.tif", frame, like=like)
    assert (tmp_path / "out.tif").read_bytes() == tiff_bytes_before_like(frame)
    assert encode_frame(frame, ".tif", like=like) == tiff_bytes_before_like(frame)


def test_tiff_written_like_a_keyframe_is_the_same_bytes_twice(tmp_path):
    keyframe = write_keyframe(tmp_path / "keyframe.tif", make_frame("RGB", 16, seed=1))
    frame = make_frame("RGB", 16)
    write_frame(tmp_path / "a.tif", frame, like=keyframe)
    write_frame(tmp_path / "b.tif", frame.copy(), like=keyframe)
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()
    assert (tmp_path / "a.tif").read_bytes() != encode_frame(frame, ".tif")


def test_png_frame_ignores_a_tiff_keyframe(tmp_path):
    keyframe = write_keyframe(tmp_path / "keyframe.tif", make_frame())
    frame = make_frame(seed=1)
    assert encode_frame(frame, ".png", like=keyframe) == encode_frame(frame, ".png")


def test_unreadable_tiff_keyframe_is_reported_by_name(tmp_path):
    keyframe = tmp_path / "keyframe.tif"
    keyframe.write_text("not a TIFF")
    with pytest.raises(FrameError, match=rf"^{re.escape(str(keyframe))}: not a readable TIFF"):
        write_frame(tmp_path / "frame.tif", make_frame(), like=keyframe)
