"""Decoding one image file as a viewer sees it: the one decoder the folder loader and ``predict`` share.

A photo viewer does more than read pixels: it turns the picture upright as the
camera's EXIF Orientation tag says, shows a 16-bit scan with its full range of
greys, and draws a transparent PNG on a background. A model that is to agree
with its user must see the same picture, so :func:`load_image` does each of
those steps, with Pillow, before resizing:

1. refuse an image whose width x height exceeds ``PIL.Image.MAX_IMAGE_PIXELS``
   (Pillow's decompression-bomb limit), read from the header before any pixel
   is decoded;
2. JPEG only, when a size is asked for: ``Image.draft`` lets libjpeg decode at
   1/2, 1/4 or 1/8 scale, never below the asked size (a 4000x3000 photo
   decodes as 500x375 for a 64x64 result), which is most of the speed and
   memory of decoding phone photos;
3. ``PIL.ImageOps.exif_transpose``: the EXIF Orientation tag applied;
4. 16-bit greys (modes ``I;16``, ``I;16B``, ``I;16L``, ``I;16N``, ``I``) scaled
   by range, ``round(v * 255 / 65535)``, where Pillow's own ``convert("L")``
   clips everything above 255 to white (16-bit RGB(A) PNGs Pillow already
   reads as 8-bit by their high byte, the same range scaling); floating-point
   pixels (Pillow's mode ``F``; float16 or multi-channel float TIFFs, which
   Pillow cannot open, through ``tifffile`` where it is installed) scaled by
   their range (:func:`float_to_8_bit`: 0..1, as float images are usually
   stored, times 255; 0..255 as they are; any other range stretched from its
   minimum to its maximum), where ``convert("L")`` would read 0..1 as black;
5. transparency (an alpha channel, or a palette or grey/RGB ``transparency``
   entry) composited on ``background``;
6. palette, bilevel, grey, CMYK, YCbCr and other modes converted to RGB, or to
   luminance (ITU-R 601-2, ``L = R*299/1000 + G*587/1000 + B*114/1000``,
   Pillow's ``convert("L")``) for one channel;
7. resized to ``image_size`` with Pillow's bilinear filter (antialiased), the
   aspect ratio not kept, as ``keras.utils.image_dataset_from_directory``
   resizes by default.

Only the first frame of an animated or multi-page file is read, as Keras does.
HEIF/HEIC photos (iPhones' default) are read where the ``pillow-heif`` plugin is
installed (``pip install "cvtutor[images]"``); without it, the error says so.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from cvtutor import checks
from cvtutor.data.errors import CorruptDataError

# File name endings of image formats Pillow decodes (the ones it only identifies, such as
# .mpg, or only writes, such as .pdf, are not here). Compared in lower case.
_COMMON_EXTENSIONS = (
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".gif", ".bmp", ".dib", ".tif", ".tiff", ".webp",
    ".avif", ".ppm", ".pgm", ".pbm", ".pnm", ".pfm", ".tga", ".ico", ".cur", ".qoi", ".jp2", ".j2k", ".j2c",
    ".jpc", ".jpf", ".jpx", ".psd", ".pcx", ".sgi", ".rgb", ".rgba", ".bw", ".dds", ".icns", ".xbm", ".xpm",
    ".msp", ".ras", ".im", ".blp", ".fits", ".fit", ".ftc", ".ftu", ".dcx", ".fli", ".flc",
)
# HEIF/HEIC photos count as images with or without the plugin that reads them (pillow-heif), so a
# folder of iPhone photos gets the error that names the plugin, not "no images found".
_HEIF_EXTENSIONS = (".heic", ".heif")
# Listed in messages that say what was expected.
EXPECTED_FORMATS = ".jpg, .jpeg, .png, .bmp, .gif, .tif, .tiff, .webp (or another format Pillow reads)"
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_EXIF_ORIENTATION = 0x0112
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
# ISO base media "ftyp" brands of HEIF still images and HEIC photos (bytes 8..12 of the file).
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")

try:  # HEIF/HEIC through the pillow-heif plugin, where it is installed (cvtutor[images])
    from pillow_heif import register_heif_opener as _register_heif

    _register_heif()
    HEIF_SUPPORT = True
except ImportError:
    HEIF_SUPPORT = False


def image_extensions() -> frozenset[str]:
    """The file name endings (lower case, with the dot) of the image formats this Pillow decodes,
    and HEIF/HEIC's (read through ``pillow-heif``; without it, loading one says so)."""
    Image.init()
    readable = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    return frozenset(ext for ext in _COMMON_EXTENSIONS if ext in readable) | frozenset(_HEIF_EXTENSIONS)


def is_image_name(name: str) -> bool:
    """Whether a file name ends like an image Pillow decodes (``.jpg``, ``.PNG``, ...)."""
    return os.path.splitext(name)[1].lower() in image_extensions()


def _check_image_size(image_size) -> tuple[int, int] | None:
    if image_size is None:
        return None
    return checks.integers("image_size", image_size, 2, minimum=1, expected="None or (height, width)")


def _check_channels(channels) -> int:
    return checks.one_of("channels", channels, (1, 3))


def _check_background(background) -> tuple[int, int, int]:
    return checks.integers("background", background, 3, minimum=0, maximum=255, expected="(R, G, B)")


def _one_line(error: BaseException) -> str:
    if isinstance(error, Image.UnidentifiedImageError):
        return "Pillow recognises no image format in it"  # its own text repeats the file's repr
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _scale_16_bit(im: Image.Image) -> Image.Image:
    """A 16-bit grey image to 8 bits by range: ``round(v * 255 / 65535)``, i.e. ``round(v / 257)``."""
    values = np.asarray(im).astype(np.int64)
    values = np.clip(values, 0, 65535)  # mode "I" holds 32-bit integers; 16-bit files use 0..65535
    return Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8))  # 2-D uint8: mode "L"


def float_to_8_bit(values: np.ndarray) -> np.ndarray:
    """Floating-point pixels to uint8 by their range: within 0..1 (the usual range of float images)
    times 255; within 0..255 as they are; any other range stretched from its minimum (0) to its
    maximum (255). Rounded to the nearest integer.

    Raises:
        ValueError: a pixel is NaN or infinite.
    """
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("a floating-point image with NaN or infinite pixels")
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if low >= 0 and high <= 1:
        scaled = values * 255
    elif low >= 0 and high <= 255:
        scaled = values
    else:
        scaled = (values - low) * (255 / (high - low)) if high > low else np.zeros_like(values)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _to_colour(im: Image.Image, channels: int, background: tuple[int, int, int]) -> Image.Image:
    """Any Pillow mode to ``"RGB"`` (channels 3) or ``"L"`` (channels 1), as a viewer shows it."""
    if im.mode in _SIXTEEN_BIT_MODES:
        im = _scale_16_bit(im)
    elif im.mode == "F":  # 32-bit float: by its range (float_to_8_bit), not clipped as convert("L") does
        im = Image.fromarray(float_to_8_bit(np.asarray(im)))
    if im.mode in _ALPHA_MODES or (im.mode in ("P", "L", "RGB", "1") and im.info.get("transparency") is not None):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        im = flat
    if channels == 3:
        return im if im.mode == "RGB" else im.convert("RGB")
    if im.mode == "L":
        return im
    return (im if im.mode == "RGB" else im.convert("RGB")).convert("L")


def _source_name(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", None) or "<file object>")


def _problem_with(name: str, error: BaseException) -> str:
    """The one-line problem for a file Pillow could not decode: not an image, or a damaged one."""
    ending = os.path.splitext(name)[1].lower()
    if ending and ending in image_extensions() and isinstance(error, Image.UnidentifiedImageError):
        # Pillow cannot tell a renamed text file from an image damaged at its start: say both.
        return (f"unreadable image: expected a complete {ending} file, but Pillow recognises no image format "
                "in it (not an image at all, or damaged at its start)")
    if ending and ending in image_extensions():
        return f"unreadable image: expected a complete {ending} file, but it is damaged or truncated ({_one_line(error)})"
    return f"not an image file: expected one of {EXPECTED_FORMATS} ({_one_line(error)})"


def decode(source, name: str, image_size=None, channels: int = 3, background=(255, 255, 255)) -> np.ndarray:
    """:func:`load_image` without argument checks or warning handling, for callers that did both.

    The folder loader calls this from its worker threads (``warnings.catch_warnings``
    is not thread-safe, so it silences Pillow's decompression-bomb warning once, around
    the whole pool); ``name`` is what error messages call the file. A path that cannot
    be opened raises the ``OSError`` of ``open`` (``PermissionError``, ...), not a
    ``CorruptDataError``: the file's content was never seen.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as file:
            return _decode_file(file, name, image_size, channels, background)
    return _decode_file(source, name, image_size, channels, background)


def _tiff_by_tifffile(file, name: str) -> Image.Image:
    """A TIFF that Pillow cannot open (float16, multi-channel float, ...), read with ``tifffile``:
    its first page, floats by their range (:func:`float_to_8_bit`), 16-bit integers by range.

    Raises:
        CorruptDataError: ``tifffile`` is not installed (the message says how to get it), or the
            TIFF is damaged or has a layout that cannot be shown as an image.
    """
    try:
        import tifffile
    except ImportError:
        raise CorruptDataError(name, "a TIFF layout Pillow does not read (such as 16-bit floats or floats in "
                                     "several channels): pip install tifffile (or \"cvtutor[images]\") to read it, "
                                     "or save it with 8- or 16-bit integers") from None
    file.seek(0)
    try:
        array = np.asarray(tifffile.imread(file, key=0))
    except Exception as e:  # tifffile raises many kinds for bad bytes
        raise CorruptDataError(name, f"unreadable TIFF ({_one_line(e)})") from None
    if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[-1] not in (3, 4):
        array = np.moveaxis(array, 0, -1)  # planar (channels first) to interleaved
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (1, 3, 4)):
        raise CorruptDataError(name, f"a TIFF of shape {array.shape}: expected one grey, RGB or RGBA image")
    if np.issubdtype(array.dtype, np.floating):
        try:
            array = float_to_8_bit(array)
        except ValueError as e:
            raise CorruptDataError(name, str(e)) from None
    elif array.dtype != np.uint8:
        array = ((np.clip(array.astype(np.int64), 0, 65535) * 255 + 32767) // 65535).astype(np.uint8)
    return Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array)


def _open(file, name: str) -> Image.Image:
    """``Image.open``, with the two common formats Pillow alone does not read handled by name:
    TIFF layouts it cannot open (through ``tifffile``) and HEIF/HEIC photos (an error naming the
    plugin where it is not installed)."""
    try:
        return Image.open(file)
    except Image.UnidentifiedImageError:
        file.seek(0)
        head = file.read(16)
        if head[:4] in _TIFF_MAGIC:
            return _tiff_by_tifffile(file, name)
        if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS and not HEIF_SUPPORT:
            raise CorruptDataError(name, "a HEIF/HEIC photo (the format iPhones save): pip install pillow-heif "
                                         "(or \"cvtutor[images]\") to read it, or export it as JPEG") from None
        raise


def _decode_file(file, name: str, image_size, channels: int, background) -> np.ndarray:
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with _open(file, name) as im:
            width, height = im.size
            if limit is not None and width * height > limit:
                raise CorruptDataError(
                    name, f"image too large to decode safely: {width}x{height} = {width * height:,} pixels; "
                    f"expected at most {limit:,} (PIL.Image.MAX_IMAGE_PIXELS)")
            if image_size is not None and im.format == "JPEG":
                try:
                    orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
                except Exception:  # unreadable EXIF: decoded as stored, as viewers do
                    orientation = 1
                wanted = image_size[::-1] if orientation in (5, 6, 7, 8) else image_size
                im.draft(None, (wanted[1], wanted[0]))  # Pillow takes (width, height)
            im.load()
            try:
                upright = ImageOps.exif_transpose(im)
            except Exception:  # damaged EXIF but good pixels: keep them as stored
                upright = im
            mode = upright.mode
            try:
                result = _to_colour(upright, channels, background)
            except ValueError as e:
                raise CorruptDataError(
                    name, f"colour mode {mode} cannot be converted to {'RGB' if channels == 3 else 'grey'}; "
                    f"expected an RGB, grey, palette, CMYK or YCbCr image ({_one_line(e)})") from None
            if image_size is not None and result.size != (image_size[1], image_size[0]):
                result = result.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(result, dtype=np.uint8)
    except CorruptDataError:
        raise
    except Image.DecompressionBombError as e:
        raise CorruptDataError(name, f"image too large to decode safely ({_one_line(e)})") from None
    except MemoryError:
        raise
    except Exception as e:  # Pillow raises many kinds for bad bytes: OSError, SyntaxError, ValueError, ...
        raise CorruptDataError(name, _problem_with(name, e)) from None
    return pixels.reshape(pixels.shape[0], pixels.shape[1], channels)


def load_image(source, image_size=None, channels=3, background=(255, 255, 255)) -> np.ndarray:
    """Decode one image file to the pixels a viewer would show, optionally resized.

    The steps, in order, are in this module's docstring: decompression-bomb
    guard, JPEG draft decoding, EXIF orientation
    (``PIL.ImageOps.exif_transpose``), 16-bit range scaling, transparency
    composited on ``background``, conversion to RGB or luminance, bilinear
    resize without keeping the aspect ratio (Keras's
    ``image_dataset_from_directory`` default).

    Args:
        source: a path (``str`` or ``os.PathLike``) or a binary file object
            opened for reading, such as ``tarfile.TarFile.extractfile``'s; its
            ``name`` attribute, if any, names it in errors.
        image_size: ``(height, width)`` to resize to, or None for the
            picture's own (upright) size.
        channels: 3 for RGB, 1 for luminance (ITU-R 601-2 luma, as Pillow's
            ``convert("L")``).
        background: ``(R, G, B)``, 0..255 each, under transparent pixels.

    Returns:
        uint8 array of shape ``(height, width, channels)``, values 0..255.

    Raises:
        CorruptDataError: (a ``ValueError``) the file is not an image Pillow
            reads, is damaged or truncated, or is larger than
            ``PIL.Image.MAX_IMAGE_PIXELS`` pixels; one line naming the file.
        FileNotFoundError: ``source`` is a path to nothing.
        ValueError: ``source`` is a folder; ``image_size``, ``channels`` or
            ``background`` has a bad value (a size below 1, 2 channels, a level above 255).
        TypeError: an argument of the wrong kind (raw ``bytes`` need
            ``io.BytesIO`` around them; text files are refused; ``image_size`` or
            ``background`` not integers, ``channels`` not an integer).
    """
    size = _check_image_size(image_size)
    channels = _check_channels(channels)
    background = _check_background(background)
    checks.not_instance("source", source, (bytes, bytearray, memoryview), "a path or a binary file object",
                        "wrap raw bytes in io.BytesIO(...)")
    checks.not_instance("source", source, io.TextIOBase, "a path or a binary file object",
                        "open the file in binary mode ('rb')")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            raise ValueError(f"{path}: is a folder, expected an image file")
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such image file")
    elif not hasattr(source, "read"):
        raise TypeError(f"source must be a path or a binary file object, got {checks.describe(source)}")
    with warnings.catch_warnings():
        # Images over the limit are refused with a clear error instead of Pillow's warning.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return decode(source, _source_name(source), size, channels, background)
