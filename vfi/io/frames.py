"""Reading and writing microscopy frames.

Frames are numpy arrays: H x W (grayscale, "L") or H x W x 3 (RGB), dtype uint8 or uint16.
PNG goes through OpenCV (Pillow reduces 16-bit RGB PNG to 8 bits on reading), TIFF through
tifffile. Frames are written atomically (`vfi.io.atomic`).
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tifffile

from vfi.io.atomic import write_bytes_atomic

PNG_SUFFIXES = (".png",)
TIFF_SUFFIXES = (".tif", ".tiff")
FRAME_SUFFIXES = PNG_SUFFIXES + TIFF_SUFFIXES
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"  # IEND chunk type and its fixed CRC: the last 8 bytes of a whole PNG
PNG_COMPRESSION = 6  # fixed, so reruns write the same bytes


class FrameError(ValueError):
    """A frame file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class FrameInfo:
    """What validation needs to know of a frame without decoding its pixels."""

    width: int
    height: int
    mode: str  # "L" or "RGB"
    bit_depth: int  # 8 or 16

    def describe(self) -> str:
        return f"{self.width}x{self.height} {self.mode} {self.bit_depth}-bit"


def probe_frame(path: Path) -> FrameInfo:
    """Read a frame's header and check that the file is complete, without decoding pixels.

    Cheap enough to run on every frame of hundreds of sequences when the DAG is built.
    Raises FrameError for empty, truncated, non-image or unsupported files.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise FrameError(f"{path}: cannot be read ({err.strerror})") from err
    if size == 0:
        raise FrameError(f"{path}: the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix in PNG_SUFFIXES:
        return _probe_png(path, size)
    if suffix in TIFF_SUFFIXES:
        return _probe_tiff(path, size)
    raise FrameError(f"{path}: unsupported file type {suffix!r}; use PNG or TIFF")


_PNG_COLOUR_TYPES = {0: "L", 2: "RGB", 3: "palette", 4: "LA", 6: "RGBA"}


def _probe_png(path: Path, size: int) -> FrameInfo:
    with open(path, "rb") as f:
        head = f.read(33)
        f.seek(max(0, size - 8))
        tail = f.read(8)
    if not head.startswith(PNG_SIGNATURE):
        raise FrameError(f"{path}: not a PNG file (wrong signature); re-export it as PNG")
    if len(head) < 33 or head[12:16] != b"IHDR":
        raise FrameError(f"{path}: PNG header is truncated or corrupt")
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", head[16:26])
    if tail != PNG_END:
        raise FrameError(
            f"{path}: PNG is truncated (no end marker; {size} bytes); copy the file again"
        )
    mode = _PNG_COLOUR_TYPES.get(colour_type, f"colour type {colour_type}")
    if mode not in ("L", "RGB"):
        raise FrameError(
            f"{path}: PNG is {mode}; only grayscale (L) and RGB frames are supported "
            "(drop the alpha channel / palette when exporting)"
        )
    if bit_depth not in (8, 16):
        raise FrameError(f"{path}: {bit_depth}-bit PNG; only 8- and 16-bit frames are supported")
    return FrameInfo(width, height, mode, bit_depth)


def _probe_tiff(path: Path, size: int) -> FrameInfo:
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            shape, dtype = page.shape, page.dtype
            ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts, strict=False)]
            # Counting pages walks the chain of page headers without decoding any pixels.
            # Reduced-resolution pages (thumbnails, pyramid levels) are no further frames: the
            # first page is still what gets read. Any other page makes the file a stack.
            pages = len(tif.pages)
            stack = pages > 1 and not all(tif.pages[i].is_reduced for i in range(1, pages))
            # A stack can also sit behind one page header (ImageJ and tifffile write "truncated"
            # files: one page whose description announces the whole stack); its series says so.
            series_shape = shape if stack else tif.series[0].shape
    except Exception as err:  # tifffile raises several types for broken files
        raise FrameError(f"{path}: not a readable TIFF file ({err})") from err
    if stack:
        raise FrameError(
            f"{path}: TIFF holds {pages} pages (a stack or time series); "
            "export each frame as its own single-page file"
        )
    if tuple(series_shape) != tuple(shape):
        images = math.prod(series_shape) // max(1, math.prod(shape))
        raise FrameError(
            f"{path}: TIFF holds {images} images behind one page (a stack or time series of "
            f"shape {tuple(series_shape)}); export each frame as its own single-page file"
        )
    if ends and max(ends) > size:
        raise FrameError(f"{path}: TIFF is truncated (image data ends past the end of the file)")
    return _info_from_array_shape(path, shape, dtype)


def _info_from_array_shape(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> FrameInfo:
    if dtype == np.uint8:
        depth = 8
    elif dtype == np.uint16:
        depth = 16
    else:
        raise FrameError(f"{path}: pixel type {dtype}; only 8- and 16-bit frames are supported")
    if len(shape) == 2:
        return FrameInfo(shape[1], shape[0], "L", depth)
    if len(shape) == 3 and shape[2] == 3:
        return FrameInfo(shape[1], shape[0], "RGB", depth)
    raise FrameError(
        f"{path}: image of shape {tuple(shape)}; expected one grayscale or RGB frame "
        "(no alpha channel, no stacks)"
    )


def read_frame(path: Path) -> np.ndarray:
    """Decode a frame: H x W or H x W x 3 (RGB order), uint8 or uint16."""
    path = Path(path)
    info = probe_frame(path)
    if path.suffix.lower() in PNG_SUFFIXES:
        data = np.fromfile(path, dtype=np.uint8)
        array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if array is None:
            raise FrameError(f"{path}: PNG data is corrupt and cannot be decoded")
        if array.ndim == 3:
            array = np.ascontiguousarray(array[..., ::-1])  # OpenCV decodes to BGR
    else:
        try:
            array = tifffile.imread(path)
        except Exception as err:
            raise FrameError(f"{path}: TIFF data is corrupt and cannot be decoded ({err})") from err
    checked = _info_from_array_shape(path, array.shape, array.dtype)
    if checked != info:
        raise FrameError(f"{path}: decoded as {checked.describe()}, header says {info.describe()}")
    return array


def encode_frame(array: np.ndarray, suffix: str, *, like: Path | None = None) -> bytes:
    """The file bytes of a frame; deterministic for the same pixels (and the same `like`).

    A TIFF frame takes the pixel size and ImageJ calibration of the TIFF file `like` (the
    sequence's keyframe), if given: see `_tiff_calibration`. PNG frames ignore `like`.
    """
    _info_from_array_shape(Path(f"<frame>{suffix}"), array.shape, array.dtype)
    suffix = suffix.lower()
    if suffix in PNG_SUFFIXES:
        pixels = array[..., ::-1] if array.ndim == 3 else array
        ok, buf = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
        if not ok:
            raise FrameError("OpenCV could not encode the frame as PNG")
        return buf.tobytes()
    if suffix in TIFF_SUFFIXES:
        calibration = _tiff_calibration(like) if like is not None else {}
        out = io.BytesIO()
        photometric = "rgb" if array.ndim == 3 else "minisblack"
        tifffile.imwrite(
            out, array, photometric=photometric, compression="zlib", metadata=None, **calibration
        )
        return out.getvalue()
    raise FrameError(f"cannot write frames as {suffix!r}; use .png or .tif")


def write_frame(path: Path, array: np.ndarray, *, like: Path | None = None) -> None:
    """Write a frame atomically in the format its suffix names, keeping its mode and bit depth.

    `like`: a reference frame (the keyframe); a TIFF frame keeps its pixel size and ImageJ tags.
    """
    path = Path(path)
    write_bytes_atomic(path, encode_frame(array, path.suffix, like=like))


# Keys of an ImageJ description that make the image a stack; dropped unless they say 1.
_IMAGEJ_STACK_KEYS = frozenset({b"images", b"channels", b"slices", b"frames"})
_TIFF_DEFAULT_RESOLUTION_UNIT = int(tifffile.RESUNIT.INCH)  # when the tag is absent


def _tiff_calibration(like: Path) -> dict[str, Any]:
    """The `tifffile.imwrite` keywords that give a frame the calibration of the TIFF `like`.

    Taken from `like`'s first page: XResolution and YResolution (the exact rationals) with
    ResolutionUnit, and the ImageJ description (its raw bytes, from "ImageJ="; it holds unit,
    spacing, finterval, origin, display range...) less the lines that would make the frame a
    stack (images, channels, slices, frames other than 1). Nothing that describes the pixel data
    is taken. Empty when `like` is not a TIFF file (by its suffix); the frame's bytes are those
    written without `like` too when `like` has none of these tags or only tifffile's defaults
    (1 pixel per unit, ResolutionUnit NONE, no ImageJ description).
    """
    like = Path(like)
    if like.suffix.lower() not in TIFF_SUFFIXES:
        return {}
    try:
        with tifffile.TiffFile(like) as tif:
            page = tif.pages.first
            xres = _tag_value(page, "XResolution")
            yres = _tag_value(page, "YResolution")
            unit = _tag_value(page, "ResolutionUnit")
            description = _imagej_description(tif.filehandle, page)
    except Exception as err:  # tifffile raises several types for broken files
        raise FrameError(
            f"{like}: not a readable TIFF file ({err}); cannot copy its resolution and ImageJ tags"
        ) from err
    calibration: dict[str, Any] = {}
    if _is_rational(xres) and _is_rational(yres):
        calibration["resolution"] = (tuple(map(int, xres)), tuple(map(int, yres)))
        if unit is None:
            unit = _TIFF_DEFAULT_RESOLUTION_UNIT
    if unit is not None and int(unit) in {int(u) for u in tifffile.RESUNIT}:
        calibration["resolutionunit"] = int(unit)
    if description is not None:
        lines = description.split(b"\n")
        calibration["description"] = b"\n".join(x for x in lines if not _makes_a_stack(x))
    return calibration


def _tag_value(page: tifffile.TiffPage, name: str) -> Any:
    tag = page.tags.get(name)
    return None if tag is None else tag.value


def _is_rational(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) for v in value)
        and value[0] >= 0
        and value[1] > 0
    )


def _imagej_description(fh: tifffile.FileHandle, page: tifffile.TiffPage) -> bytes | None:
    """The raw bytes (up to the first NUL) of the page's ImageDescription written by ImageJ.

    Read raw rather than as tifffile's decoded text, which tifffile would only write back if
    it were 7-bit ASCII.
    """
    for tag in page.tags.getall(270, ()):
        fh.seek(tag.valueoffset)
        raw = fh.read(tag.valuebytecount).split(b"\0", 1)[0]
        if raw.startswith(b"ImageJ="):
            return raw
    return None


def _makes_a_stack(line: bytes) -> bool:
    key, _, value = line.partition(b"=")
    return key.strip() in _IMAGEJ_STACK_KEYS and value.strip() != b"1"


def max_value(dtype: np.dtype) -> int:
    return int(np.iinfo(dtype).max)
