"""``cvtutor.data.load_image``: the model sees what a viewer sees, and bad files give one clear line.

Every input is made here, in a few lines: 16-bit greys and 16-bit RGB, a phone's
rotated JPEG, transparency, palettes, CMYK, and broken or oversized files.
"""

import io
import struct
import tarfile
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from cvtutor.data import CorruptDataError, load_image
from cvtutor.data import images


def encoded(image: Image.Image, fmt: str, name: str = "picture", **save_args) -> io.BytesIO:
    """``image`` saved as ``fmt`` into a named in-memory file, rewound for reading."""
    data = io.BytesIO()
    image.save(data, fmt, **save_args)
    data.seek(0)
    data.name = name
    return data


def blocks(height: int, width: int, seed: int = 0) -> np.ndarray:
    """An RGB picture of 8x8-pixel flat blocks: nothing symmetric, and JPEG keeps it nearly exact."""
    colours = np.random.default_rng(seed).integers(0, 256, (-(-height // 8), -(-width // 8), 3), dtype=np.uint8)
    return np.repeat(np.repeat(colours, 8, axis=0), 8, axis=1)[:height, :width]


def png_16_bit_rgb(pixels: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG, written by hand (Pillow cannot write one)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def assert_one_line_naming(error: BaseException, name: str) -> None:
    message = str(error)
    assert name in message, message
    assert "\n" not in message and "Traceback" not in message and 'File "' not in message
    assert error.__cause__ is None, "the Pillow exception must not be chained"
    assert error.__context__ is None or error.__suppress_context__, "nor shown as 'during handling...'"


# --- 16-bit images: scaled by range, not clipped -------------------------------------------------


def grey_16_bit(height=48, width=64) -> np.ndarray:
    """A 16-bit gradient covering 0..65535, with low bits that an 8-bit copy cannot hold."""
    ramp = np.linspace(0, 65535, height * width).reshape(height, width)
    return np.round(ramp).astype(np.uint16)


def eight_bit_copy(values16: np.ndarray) -> np.ndarray:
    return np.round(values16 / 257).astype(np.uint8)


def test_16_bit_grey_png_decodes_like_its_8_bit_version(tmp_path):
    values = grey_16_bit()
    Image.fromarray(values).save(tmp_path / "deep.png")
    Image.fromarray(eight_bit_copy(values)).save(tmp_path / "plain.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    # What Pillow alone does (the bug): everything above 255 becomes white.
    assert np.asarray(Image.open(tmp_path / "deep.png").convert("L")).mean() > 250
    deep, plain = load_image(tmp_path / "deep.png"), load_image(tmp_path / "plain.png")
    assert deep.shape == plain.shape == (48, 64, 3) and deep.dtype == np.uint8
    assert np.abs(deep.astype(int) - plain.astype(int)).max() <= 1
    assert len(np.unique(deep)) > 200  # the whole range of greys, not 0 and 255
    one = load_image(tmp_path / "deep.png", channels=1)
    assert one.shape == (48, 64, 1) and np.abs(one[..., 0].astype(int) - eight_bit_copy(values)).max() <= 1


@pytest.mark.parametrize("mode, fmt", [("I;16", "TIFF"), ("I;16B", "TIFF"), ("I", "TIFF")])
def test_every_16_bit_grey_mode_is_scaled_by_range(mode, fmt):
    values = grey_16_bit(16, 20)
    if mode == "I":
        image = Image.fromarray(values.astype(np.int32))
    else:
        image = Image.frombytes(mode, (20, 16), values.astype(">u2" if mode == "I;16B" else "<u2").tobytes())
    data = encoded(image, fmt)
    assert Image.open(data).mode == mode
    data.seek(0)
    got = load_image(data, channels=1)[..., 0]
    assert np.abs(got.astype(int) - eight_bit_copy(values)).max() <= 1


def test_16_bit_rgb_png_decodes_like_its_8_bit_version():
    values = np.stack([grey_16_bit(), grey_16_bit()[::-1], np.full((48, 64), 40_000)], axis=-1).astype(np.uint16)
    got = load_image(io.BytesIO(png_16_bit_rgb(values)))
    assert got.shape == (48, 64, 3)
    assert np.abs(got.astype(int) - eight_bit_copy(values).astype(int)).max() <= 1


# --- EXIF orientation --------------------------------------------------------------------------


def rotated_jpeg(upright: np.ndarray, orientation: int) -> io.BytesIO:
    """A JPEG whose stored pixels need EXIF ``orientation`` to be upright, as a phone writes it."""
    undo = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270, 3: Image.Transpose.ROTATE_180}
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = Image.fromarray(upright).transpose(undo[orientation])
    return encoded(stored, "JPEG", "phone.jpg", quality=95, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_exif_orientation_is_applied(orientation):
    upright = blocks(48, 80)
    stored = rotated_jpeg(upright, orientation)
    assert Image.open(stored).size != (80, 48) or orientation == 3
    stored.seek(0)
    got = load_image(stored)
    reference = load_image(encoded(Image.fromarray(upright), "JPEG", quality=95))
    assert got.shape == reference.shape == (48, 80, 3)
    assert np.abs(got.astype(int) - reference.astype(int)).mean() < 3
    # The comparison can fail: the same picture turned half-way round is far off.
    assert np.abs(got[::-1, ::-1].astype(int) - reference.astype(int)).mean() > 20


def test_exif_orientation_with_draft_decoding_and_resizing():
    upright = blocks(480, 800, seed=3)
    got = load_image(rotated_jpeg(upright, 6), image_size=(24, 40))
    reference = load_image(encoded(Image.fromarray(upright), "JPEG", quality=95), image_size=(24, 40))
    assert got.shape == (24, 40, 3)
    assert np.abs(got.astype(int) - reference.astype(int)).mean() < 4


def test_large_jpegs_are_decoded_at_reduced_scale(monkeypatch):
    calls = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = real_draft(self, mode, size)
        calls.append((size, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    photo = blocks(600, 800, seed=5)
    small = load_image(encoded(Image.fromarray(photo), "JPEG", quality=95), image_size=(64, 64))
    assert calls == [((64, 64), (100, 75))]  # 1/8 scale: still no smaller than 64x64
    full = Image.fromarray(photo).resize((64, 64), Image.Resampling.BILINEAR)
    assert small.shape == (64, 64, 3) and np.abs(small.astype(int) - np.asarray(full, dtype=int)).mean() < 6
    # Rotated: the draft size is asked in stored (sideways) orientation.
    calls.clear()
    load_image(rotated_jpeg(blocks(480, 800), 6), image_size=(24, 40))
    assert calls[0][0] == (24, 40)
    # No size asked: full decode, no draft.
    calls.clear()
    assert load_image(encoded(Image.fromarray(photo), "JPEG")).shape == (600, 800, 3)
    assert calls == []


# --- transparency, palettes, CMYK, grey and colour ---------------------------------------------


def test_rgba_is_composited_on_the_background():
    pixels = np.zeros((4, 6, 4), np.uint8)
    pixels[..., :3] = (255, 0, 0)
    pixels[0, :, 3] = 0  # fully transparent row
    pixels[1, :, 3] = 128  # half
    pixels[2:, :, 3] = 255
    data = encoded(Image.fromarray(pixels, "RGBA"), "PNG")
    got = load_image(data, background=(0, 0, 200))
    assert (got[0] == (0, 0, 200)).all()
    assert np.abs(got[1].astype(int) - (128, 0, 200 - 100)).max() <= 1
    assert (got[2:] == (255, 0, 0)).all()
    data.seek(0)
    assert (load_image(data)[0] == 255).all(), "white by default"


def test_grey_with_alpha_is_composited():
    pixels = np.zeros((3, 3, 2), np.uint8)
    pixels[..., 0] = 10
    pixels[0, 0, 1] = 0
    pixels[1:, :, 1] = 255
    got = load_image(encoded(Image.fromarray(pixels, "LA"), "PNG"), background=(100, 100, 100))
    assert tuple(got[0, 0]) == (100, 100, 100) and (got[1:] == 10).all()


def test_palette_with_transparency():
    image = Image.new("P", (5, 4), 1)
    image.putpalette([0, 0, 0, 0, 200, 0] + [0] * (254 * 3))
    image.putpixel((0, 0), 0)
    data = encoded(image, "PNG", transparency=0)
    assert Image.open(data).info.get("transparency") == 0
    data.seek(0)
    got = load_image(data, background=(9, 8, 7))
    assert tuple(got[0, 0]) == (9, 8, 7), "the transparent palette entry shows the background, not black"
    assert (got.reshape(-1, 3)[1:] == (0, 200, 0)).all()
    gif = encoded(image, "GIF", transparency=0)
    assert tuple(load_image(gif, background=(9, 8, 7))[0, 0]) == (9, 8, 7)


def test_palette_without_transparency_becomes_rgb():
    image = Image.new("P", (3, 2), 2)
    image.putpalette([0, 0, 0, 1, 2, 3, 50, 60, 70] + [0] * (253 * 3))
    assert (load_image(encoded(image, "PNG")) == (50, 60, 70)).all()


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (16, 16), (255, 0, 0, 0))  # pure cyan ink
    data = encoded(cmyk, "JPEG", quality=95)
    assert Image.open(data).mode == "CMYK"
    data.seek(0)
    got = load_image(data)
    assert got.shape == (16, 16, 3)
    assert np.abs(got.reshape(-1, 3).astype(int) - (0, 255, 255)).max() <= 3
    assert load_image(encoded(cmyk, "JPEG", quality=95), channels=1).shape == (16, 16, 1)


def test_grey_to_three_channels_and_rgb_to_one():
    grey = np.arange(24, dtype=np.uint8).reshape(4, 6) * 10
    three = load_image(encoded(Image.fromarray(grey), "PNG"))
    assert three.shape == (4, 6, 3) and (three == grey[..., None]).all()
    colour = blocks(8, 16, seed=1)
    one = load_image(encoded(Image.fromarray(colour), "PNG"), channels=1)
    luma = colour @ np.array([299, 587, 114]) / 1000  # ITU-R 601-2, as Pillow's convert("L")
    assert one.shape == (8, 16, 1) and np.abs(one[..., 0] - luma).max() <= 1


def test_bilevel_and_ycbcr_and_resizing():
    bits = Image.new("1", (8, 4), 1)
    assert (load_image(encoded(bits, "PNG")) == 255).all()
    ycbcr = Image.fromarray(blocks(16, 16)).convert("YCbCr")
    got = load_image(encoded(ycbcr, "JPEG", quality=95), image_size=(4, 8))
    assert got.shape == (4, 8, 3)


def test_image_size_none_keeps_the_picture_size_and_a_size_stretches_it():
    picture = encoded(Image.fromarray(blocks(30, 50)), "PNG")
    assert load_image(picture).shape == (30, 50, 3)
    picture.seek(0)
    stretched = load_image(picture, image_size=(10, 10))
    assert stretched.shape == (10, 10, 3) and stretched.dtype == np.uint8


def test_tarball_members_as_file_objects(tmp_path):
    Image.fromarray(blocks(8, 8)).save(tmp_path / "a.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with tarfile.open(tmp_path / "t.tar", "w") as tar:
        tar.add(tmp_path / "a.png", arcname="cat/a.png")
        tar.add(tmp_path / "bad.png", arcname="cat/bad.png")
    with tarfile.open(tmp_path / "t.tar") as tar:
        assert (load_image(tar.extractfile("cat/a.png")) == blocks(8, 8)).all()
        with pytest.raises(CorruptDataError) as info:
            load_image(tar.extractfile("cat/bad.png"))
        assert_one_line_naming(info.value, "t.tar")  # a member's file object is named after its archive
        # A file object named like its member (as load_image_folder names them) says which file and what kind.
        named = io.BytesIO(tar.extractfile("cat/bad.png").read())
        named.name = "t.tar:cat/bad.png"
        with pytest.raises(CorruptDataError, match=r"unreadable image: expected a complete \.png file") as info:
            load_image(named)
        assert_one_line_naming(info.value, "t.tar:cat/bad.png")


# --- bad files: one line naming the file ---------------------------------------------------------


def test_a_file_that_is_not_an_image(tmp_path):
    (tmp_path / "notes.txt").write_text("shopping list\nmilk\n")
    with pytest.raises(CorruptDataError, match="not an image file: expected one of .jpg") as info:
        load_image(tmp_path / "notes.txt")
    assert_one_line_naming(info.value, "notes.txt")
    assert isinstance(info.value, ValueError) and info.value.path == str(tmp_path / "notes.txt")


def test_a_text_file_named_like_an_image_is_not_called_truncated(tmp_path):
    (tmp_path / "notes.jpg").write_text("shopping list\nmilk\n")
    with pytest.raises(CorruptDataError, match="no image format in it .not an image at all, or damaged at its start") as info:
        load_image(tmp_path / "notes.jpg")
    assert "truncated" not in str(info.value)
    assert_one_line_naming(info.value, "notes.jpg")


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_an_unreadable_image(tmp_path, damage):
    data = encoded(Image.fromarray(blocks(64, 64)), "JPEG").getvalue()
    data = data[: len(data) // 2] if damage == "truncated" else data[:20] + bytes(200) + data[220:]
    (tmp_path / "holiday.jpg").write_bytes(data)
    with pytest.raises(CorruptDataError, match=r"unreadable image: expected a complete \.jpg file") as info:
        load_image(tmp_path / "holiday.jpg", image_size=(16, 16))
    assert_one_line_naming(info.value, "holiday.jpg")


@pytest.mark.parametrize("pixels", [50 * 40, 80 * 80])  # over the limit; over twice the limit (Pillow's own error)
def test_an_image_too_large_to_decode_safely(tmp_path, monkeypatch, pixels):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    side = int(pixels ** 0.5)
    Image.fromarray(np.zeros((side, pixels // side), np.uint8)).save(tmp_path / "bomb.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(CorruptDataError, match="too large to decode safely") as info:
            load_image(tmp_path / "bomb.png")
    assert_one_line_naming(info.value, "bomb.png")
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "fine.png")
    assert load_image(tmp_path / "fine.png").shape == (20, 20, 3)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"channels": 2}, ValueError, "channels must be one of 1, 3, got 2"),
        ({"channels": "3"}, TypeError, "channels must be one of 1, 3, got str '3'"),
        ({"image_size": (0, 5)}, ValueError, r"image_size must be None or \(height, width\), 2 integers >= 1, got \(0, 5\)"),
        ({"image_size": (5, 5, 3)}, ValueError, r"2 integers >= 1, got \(5, 5, 3\)"),
        ({"image_size": (5.0, 5)}, TypeError, r"image_size must be .* got tuple \(5.0, 5\)"),
        ({"image_size": 64}, TypeError, r"image_size must be None or \(height, width\), .* got int 64"),
        ({"background": (0, 0, 256)}, ValueError, r"background must be \(R, G, B\), 3 integers in \[0, 255\], got"),
        ({"background": "white"}, TypeError, "background must be .* got str 'white'"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, message):
    Image.fromarray(blocks(8, 8)).save(tmp_path / "a.png")
    with pytest.raises(error, match=message):
        load_image(tmp_path / "a.png", **kwargs)


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg: no such image file"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(ValueError, match="is a folder, expected an image file"):
        load_image(tmp_path)
    with pytest.raises(TypeError, match="io.BytesIO"):
        load_image(b"\x89PNG")
    (tmp_path / "a.txt").write_text("x")
    with open(tmp_path / "a.txt") as text, pytest.raises(TypeError, match="binary mode"):
        load_image(text)
    with pytest.raises(TypeError, match="source must be a path or a binary file object, got int 42"):
        load_image(42)


def test_image_extensions_are_ones_pillow_reads():
    known = images.image_extensions()
    assert {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".webp"} <= known
    assert ".pdf" not in known and ".mpg" not in known and ".txt" not in known
    assert images.is_image_name("IMG_0001.JPG") and not images.is_image_name("notes.TXT")
    # With or without pillow-heif: a photo it would read is never skipped as "not an image".
    assert images.is_image_name("IMG_0001.HEIC") and images.is_image_name("x.heif")
