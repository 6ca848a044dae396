"""Decoding phone photos from class folders: seconds and peak memory of ``load_image_folder`` on generated JPEGs.

    python -m benchmarks.decode                 # 2,000 photos of 4000x3000, resized to 64x64

Writes ``--count`` phone-sized JPEGs (4000x3000, quality 90, about 2-3 MB each,
every fourth stored sideways with EXIF Orientation 6 as phones write portraits)
into class folders in a temporary folder, then times
``cvtutor.data.load_image_folder(folder, image_size=(64, 64))`` from an empty
cache in a fresh process and reads that process's peak resident memory
(``resource.getrusage``: ``ru_maxrss`` of itself, its decoding threads
included, plus ``RUSAGE_CHILDREN`` should it ever start processes). The target
(issue 15): under 2 GiB on 2 cores. The time includes everything a reader
waits for on a first load: listing, decoding, resizing and writing the cache.
One JSON record per run goes to ``benchmarks/results/decode/``, with the
load average, since other work on the machine slows the decode.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cvtutor.records import write_record

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "decode"
TARGET_PEAK_MIB = 2048
CLASSES = ("beach", "city", "forest", "snow")
QUALITY = 90


def _backgrounds(width: int, height: int, count: int = 4) -> list:
    """Photo-like backgrounds: smooth colour gradients under sensor-like noise (uint8, ``height x width x 3``)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(12345)
    rows = np.linspace(0, 1, 64, dtype=np.float32)[:, None, None]
    cols = np.linspace(0, 1, 64, dtype=np.float32)[None, :, None]
    noise = rng.normal(0, 8, (height, width, 3)).astype(np.int16)
    backgrounds = []
    for _ in range(count):
        top, bottom, side = (rng.uniform(30, 225, 3).astype(np.float32) for _ in range(3))
        small = (top + (bottom - top) * rows + (side - top) * 0.3 * cols).astype(np.uint8)
        smooth = np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR), np.int16)
        backgrounds.append(np.clip(smooth + noise, 0, 255).astype(np.uint8))
    return backgrounds


def _photo(index: int, backgrounds: list):
    """Photo ``index``: a background (one of four, flipped one of four ways) with four objects of its own."""
    import numpy as np

    rng = np.random.default_rng(index)
    background = backgrounds[index % len(backgrounds)]
    flips = (slice(None, None, 1 - 2 * (index // 4 % 2)), slice(None, None, 1 - 2 * (index // 8 % 2)))
    picture = background[flips].copy()
    height, width = picture.shape[:2]
    for _ in range(4):  # objects: textured rectangles of their own colour
        y0, x0 = rng.integers(0, height * 3 // 4), rng.integers(0, width * 3 // 4)
        patch = picture[y0: y0 + height // 5, x0: x0 + width // 6]
        patch //= 4
        patch += rng.integers(0, 190, 3, dtype=np.uint8)
    return picture


def _write_photos(folder: str, indices: list[int], width: int, height: int) -> int:
    """Write photos ``indices`` into ``folder/<class>/``; return the bytes written."""
    from PIL import Image

    backgrounds = _backgrounds(width, height)
    written = 0
    for index in indices:
        image = Image.fromarray(_photo(index, backgrounds))
        path = Path(folder, CLASSES[index % len(CLASSES)], f"IMG_{index:05d}.jpg")
        exif = Image.Exif()
        if index % 4 == 3:  # a portrait: stored sideways, turned upright by the EXIF tag
            image = image.transpose(Image.Transpose.ROTATE_90)
            exif[0x0112] = 6
        exif[0x0110] = "cvtutor benchmark phone"  # Model
        image.save(path, "JPEG", quality=QUALITY, exif=exif.tobytes())
        written += path.stat().st_size
    return written


def generate(folder: Path, count: int, width: int, height: int, workers: int = 2) -> int:
    """``count`` photos in ``folder/<class>/`` for :data:`CLASSES`, made on ``workers`` processes; bytes written."""
    for name in CLASSES:
        (folder / name).mkdir(parents=True, exist_ok=True)
    shares = [list(range(k, count, workers)) for k in range(workers)]
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(_write_photos, [str(folder)] * workers, shares, [width] * workers, [height] * workers))


def measure_decode(folder: Path, image_size: tuple[int, int]) -> dict:
    """In this process: load ``folder`` with an empty cache; seconds, peak memory, what came back."""
    import resource

    import numpy as np

    from cvtutor.data import folders, load_image_folder

    os.environ["CVTUTOR_CACHE"] = tempfile.mkdtemp(prefix="cvtutor-decode-cache-")
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test), names = load_image_folder(folder, image_size)
    seconds = time.perf_counter() - start
    shutil.rmtree(os.environ["CVTUTOR_CACHE"], ignore_errors=True)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "seconds": seconds,
        "peak_rss_mib": own / 1024,
        "peak_rss_children_mib": children / 1024,
        "workers": folders.WORKERS,
        "train_images": len(x_train),
        "test_images": len(x_test),
        "class_names": list(names),
        "shapes": [list(x_train.shape), list(x_test.shape)],
        "mean_pixel": float(np.concatenate([x_train, x_test]).mean()),
        "labels_per_class": np.bincount(np.concatenate([y_train, y_test])).tolist(),
    }


def _versions() -> dict:
    import numpy
    import PIL
    from PIL import features

    return {"python": platform.python_version(), "numpy": numpy.__version__, "pillow": PIL.__version__,
            "libjpeg_turbo": features.version_feature("libjpeg_turbo")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="photos to generate (default 2000)")
    parser.add_argument("--photo-size", type=int, nargs=2, default=[4000, 3000], metavar=("WIDTH", "HEIGHT"),
                        help="pixels of each generated photo (default 4000 3000)")
    parser.add_argument("--image-size", type=int, nargs=2, default=[64, 64], metavar=("HEIGHT", "WIDTH"),
                        help="size load_image_folder resizes to (default 64 64)")
    parser.add_argument("--workdir", help="folder to generate the photos in (default: a temporary folder, removed)")
    parser.add_argument("--out", default=str(RESULTS), help="folder for the JSON record")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: decode this folder, print JSON
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure_decode(Path(args.measure), tuple(args.image_size))))
        return 0
    if args.count < 8 or min(args.photo_size) < 1 or min(args.image_size) < 1:
        parser.error(f"--count must be at least 8 and sizes positive, got {args.count}, {args.photo_size}, "
                     f"{args.image_size}")

    base = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="cvtutor-decode-"))
    folder = base / "photos"
    try:
        start = time.perf_counter()
        total_bytes = generate(folder, args.count, *args.photo_size)
        generate_seconds = time.perf_counter() - start
        print(f"generated {args.count} photos of {args.photo_size[0]}x{args.photo_size[1]} "
              f"({total_bytes / 2**20:.0f} MiB) in {generate_seconds:.0f} s", flush=True)
        load_before = os.getloadavg()
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.decode", "--measure", str(folder),
             "--image-size", *map(str, args.image_size)],
            cwd=ROOT, capture_output=True, text=True, check=False)
        load_after = os.getloadavg()
        if child.returncode != 0:
            print(child.stderr[-3000:], file=sys.stderr)
            return 1
        measured = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        if not args.workdir:
            shutil.rmtree(base, ignore_errors=True)
    peak = measured["peak_rss_mib"] + measured["peak_rss_children_mib"]
    record = {
        "benchmark": "decode",
        "images": args.count,
        "photo_size": args.photo_size,
        "jpeg_quality": QUALITY,
        "portrait_share": sum(1 for i in range(args.count) if i % 4 == 3) / args.count,
        "mean_file_mib": total_bytes / args.count / 2**20,
        "image_size": args.image_size,
        **measured,
        "images_per_second": args.count / measured["seconds"],
        "peak_mib": peak,
        "target_peak_mib": TARGET_PEAK_MIB,
        "within_target": peak < TARGET_PEAK_MIB,
        "generate_seconds": generate_seconds,
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores",
        "versions": _versions(),
        "command": " ".join(["python -m benchmarks.decode", *(sys.argv[1:] if argv is None else argv)]),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    print(f"decoded {args.count} photos to {args.image_size[0]}x{args.image_size[1]} in {measured['seconds']:.1f} s "
          f"({record['images_per_second']:.1f} images/s) on {measured['workers']} threads, peak {peak:.0f} MiB "
          f"(target < {TARGET_PEAK_MIB}); load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(write_record(record, args.out, "decode"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
