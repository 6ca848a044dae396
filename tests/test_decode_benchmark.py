"""The decoding benchmark runs end to end on a handful of small photos and writes a valid record (no timing asserted)."""

import json
import subprocess
import sys

from conftest import ROOT


def test_decode_benchmark_writes_a_record(tmp_path):
    out, work = tmp_path / "results", tmp_path / "work"
    command = [sys.executable, "-m", "benchmarks.decode", "--count", "12", "--photo-size", "80", "60",
               "--image-size", "16", "16", "--workdir", str(work), "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    [path] = out.glob("decode-*.json")
    record = json.loads(path.read_text())
    assert record["benchmark"] == "decode" and record["images"] == 12
    assert record["photo_size"] == [80, 60] and record["image_size"] == [16, 16]
    assert record["train_images"] + record["test_images"] == 12
    assert record["shapes"] == [[record["train_images"], 16, 16, 3], [record["test_images"], 16, 16, 3]]
    assert record["class_names"] == ["beach", "city", "forest", "snow"] and record["labels_per_class"] == [3, 3, 3, 3]
    assert record["seconds"] > 0 and record["images_per_second"] == 12 / record["seconds"]
    assert 0 < record["peak_rss_mib"] <= record["peak_mib"] and record["within_target"] is True
    assert record["workers"] == 2 and record["target_peak_mib"] == 2048
    assert len(record["load_average_before"]) == 3 and record["load_average_after"][0] >= 0
    assert "benchmarks.decode --count 12" in record["command"] and record["versions"]["pillow"]
    # The generated photos: JPEGs in class folders, a quarter of them stored sideways with EXIF Orientation 6.
    from PIL import Image

    photos = sorted((work / "photos").rglob("*.jpg"))
    assert len(photos) == 12
    sideways = [p for p in photos if Image.open(p).getexif().get(0x0112) == 6]
    assert len(sideways) == 3 and all(Image.open(p).size == (60, 80) for p in sideways)


def test_decode_benchmark_refuses_bad_arguments(tmp_path):
    command = [sys.executable, "-m", "benchmarks.decode", "--count", "3", "--out", str(tmp_path)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--count must be at least 8" in result.stderr
    assert not list(tmp_path.glob("*.json"))
