"""Reliability, round two: faults users report with image tools and model files, each handled with
one clear line and nothing lost (issue #29). One section per kind of fault; each reproduces it."""

import errno
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from cifar_fakes import official_batches, write_batches_dir
from test_cli import PROGRAM_ENV, class_folders, photo, run, run_program

from cvtutor.contract import Contract, attach_contract
from cvtutor.data import CorruptDataError, load_image, load_image_folder
from cvtutor.data import images as images_module
from cvtutor.data.cache import CacheNotWritten
from cvtutor.files import NAME_MAX, ensure_room, fitting_name, write_target
from cvtutor.modelfiles import ModelFileError, load_model, save_model
from cvtutor.models import build_cnn
from cvtutor.resume import RunInProgress, TrainingDiverged, checkpoint_dir, train_to_file
from cvtutor.training import compile_model

CLI = [sys.executable, "-m", "cvtutor.cli"]


@pytest.fixture()
def fake_data(tmp_path):
    write_batches_dir(tmp_path / "data", official_batches(per_batch=100))
    return tmp_path / "data"


NOISE = ("Traceback", "oneDNN", "cuda", "absl::", "tensorflow/", "Segmentation", "h5py")


def one_line(stderr: str) -> str:
    """The error: stderr's one line with ``error:``, its last; before it only the command's own
    progress lines (``data: ...``), nothing from TensorFlow, h5py or a traceback."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if " error: " in line]
    assert errors == lines[-1:] and not any(word in stderr for word in NOISE), stderr
    return lines[-1]


# --- 1. training that diverges: stopped, reported, nothing saved ------------------------------------


def test_a_run_whose_loss_becomes_nan_stops_and_keeps_the_previous_model(fake_data, tmp_path):
    model_file = tmp_path / "m.keras"
    assert run("train", "cnn", "--epochs", 1, "--data-dir", fake_data, "-o", model_file, "--quiet").returncode == 0
    good = model_file.read_bytes()
    # 1e20, not 1e12: Keras 3.15 keeps the loss of a 1e12 step finite (about 1e12)
    result = run("train", "cnn", "--epochs", 2, "--learning-rate", "1e20", "--data-dir", fake_data, "-o",
                 model_file, "--quiet", "--json")
    assert result.returncode == 1, result.stdout
    line = one_line(result.stderr)
    assert "training diverged" in line and "epoch 1, step" in line and "lower learning rate than 1e+20" in line
    assert f"{model_file} was left as it was" in line
    assert json.loads(result.stdout)["error"] == line.split("error: ", 1)[1], "a valid JSON error document"
    assert model_file.read_bytes() == good and not checkpoint_dir(model_file).exists()


def test_train_to_file_raises_training_diverged_and_saves_nothing(tmp_path):
    def build():
        return compile_model(attach_contract(build_cnn(), Contract(tuple("abcdefghij"), (32, 32))), learning_rate=1e20)

    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 64)
    with pytest.raises(TrainingDiverged, match=r"the loss became (nan|inf) at epoch 1, step \d+; nothing was saved"):
        train_to_file(tmp_path / "m.keras", build, train, train, epochs=3, settings={"learning_rate": 1e20},
                      batch_size=16, verbose=0)
    assert list(tmp_path.iterdir()) == []


def _nan_model(path):
    model = attach_contract(build_cnn(), Contract(tuple("abcdefghij"), (32, 32)))
    model.set_weights([np.full(w.shape, np.nan, w.dtype) for w in model.get_weights()])
    save_model(model, path)
    return path


def test_a_model_with_nan_weights_is_refused_by_predict_and_evaluate(tmp_path, fake_data):
    model_file = _nan_model(tmp_path / "nan.keras")
    image = photo(tmp_path / "a.png")
    result = run("predict", model_file, image)
    assert result.returncode == 1 and result.stdout == "", "no nan% printed"
    line = one_line(result.stderr)
    assert str(model_file) in line and "not finite numbers (NaN or infinity) for 1 of 1 images" in line
    result = run("predict", model_file, image, "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["command"] == "predict", "valid JSON, no NaN token"
    result = run("evaluate", model_file, "--data", class_folders(tmp_path / "f", list("abcdefghij"), 2))
    assert result.returncode == 1 and "not finite numbers" in result.stderr


# --- 2. a class folder that is a dangling link -------------------------------------------------------


def test_a_class_folder_linked_to_nowhere_is_named_not_dropped(tmp_path):
    root = class_folders(tmp_path / "photos", ["cat", "dog"], per_class=3)
    (root / "bird").symlink_to(tmp_path / "unmounted-drive" / "bird")
    result = run("data", "--data", root)
    assert result.returncode == 1 and "integrity: ok" not in result.stdout
    line = one_line(result.stderr)
    assert "bird" in line and "does not exist" in line and "not mounted" in line
    with pytest.raises(CorruptDataError, match="bird: a symbolic link"):
        load_image_folder(root, (16, 16))
    # A dangling link to one photo is the same fault.
    (root / "bird").unlink()
    (root / "dog" / "x.png").symlink_to(tmp_path / "gone.png")
    with pytest.raises(CorruptDataError, match=r"x\.png: a symbolic link"):
        load_image_folder(root, (16, 16))


def test_a_link_inside_a_tarball_is_named(tmp_path):
    root = class_folders(tmp_path / "photos", ["cat", "dog"], per_class=3)
    (root / "bird").symlink_to(root / "cat")
    tarball = tmp_path / "photos.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(root, arcname="photos", recursive=True)
    with pytest.raises(CorruptDataError, match=r"photos/bird: a link \(to .*\) inside the archive"):
        load_image_folder(tarball, (16, 16))


# --- 3. a model path that is a symbolic link --------------------------------------------------------


def test_saving_through_a_link_writes_its_target_and_keeps_the_link(tmp_path):
    shared = tmp_path / "shared" / "model.keras"
    inputs = keras.Input((4,))
    old, new = (keras.Model(inputs, keras.layers.Dense(n)(inputs)) for n in (2, 3))
    save_model(old, shared)
    link = tmp_path / "mine.keras"
    link.symlink_to(shared)
    save_model(new, link)
    assert link.is_symlink() and os.readlink(link) == str(shared)
    assert load_model(shared).output_shape == (None, 3), "the shared model the link points to was updated"
    assert write_target(link) == shared and write_target(shared) == shared


# --- 4. a cache folder that cannot be written ---------------------------------------------------------


def test_an_unwritable_cache_is_a_note_and_the_data_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")  # mkdir fails even for root
    monkeypatch.setenv("CVTUTOR_CACHE", str(blocker / "cvtutor"))
    root = class_folders(tmp_path / "photos", ["cat", "dog"], per_class=5)
    with pytest.warns(CacheNotWritten, match="were not cached in"):
        (x_train, _), _, names = load_image_folder(root, (16, 16))
    assert names == ("cat", "dog") and len(x_train) == 8
    result = run("data", "--data", root)
    assert result.returncode == 0, result.stderr
    note = [line for line in result.stderr.splitlines() if "not cached" in line]
    assert len(note) == 1 and note[0].startswith("note: ") and "CVTUTOR_CACHE" in note[0] and str(blocker) in note[0]


# --- 5. a model file written by a newer Keras or cvtutor --------------------------------------------------


def _as_if_written_by_newer_versions(path: Path) -> Path:
    """Rewrite a saved model as a newer Keras and cvtutor would: a layer argument this Keras does not
    know, and newer version numbers."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["future_argument"] = True
    text = json.dumps(config).replace('"cvtutor_version": "', '"cvtutor_version": "99.0.0-')
    members["config.json"] = text.encode()
    members["metadata.json"] = json.dumps({**json.loads(members["metadata.json"]), "keras_version": "9.9.9"}).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_model_from_newer_versions_names_them_and_the_cause(tmp_path):
    path = tmp_path / "newer.keras"
    save_model(attach_contract(build_cnn(), Contract(tuple("abcdefghij"), (32, 32))), path)
    _as_if_written_by_newer_versions(path)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    assert "future_argument" in message, "the real cause, not only Keras's advice"
    assert "written by Keras 9.9.9 and cvtutor 99.0.0-" in message
    assert f"installed: Keras {keras.__version__}" in message and "pip install --upgrade keras cvtutor" in message
    result = run("evaluate", path)
    assert result.returncode == 1 and "written by Keras 9.9.9" in one_line(result.stderr)


# --- 6. a disk that fills during a save --------------------------------------------------------------------


def test_a_full_disk_is_one_line_and_replaces_nothing(fake_data, tmp_path, monkeypatch):
    model_file = tmp_path / "m.keras"
    assert run("train", "cnn", "--epochs", 1, "--data-dir", fake_data, "-o", model_file, "--quiet").returncode == 0
    before = model_file.read_bytes()
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=10_000))
    result = run("train", "cnn", "--epochs", 2, "--data-dir", fake_data, "-o", model_file, "--resume", "--quiet")
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert f"no space left on device while writing {model_file}" in line and "no earlier file was replaced" in line
    assert model_file.read_bytes() == before
    with pytest.raises(OSError) as info:
        ensure_room(tmp_path / "x.keras", 1 << 30)
    assert info.value.errno == errno.ENOSPC and str(tmp_path / "x.keras") in str(info.value)


@pytest.mark.slow
def test_a_really_full_disk_ends_the_program_with_exit_1_and_one_line(fake_data, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (not root)")
    try:
        result = subprocess.run([*CLI, "train", "cnn", "--epochs", "1", "--data-dir", str(fake_data), "-o",
                                 str(small / "m.keras"), "--quiet"], capture_output=True, text=True, env=PROGRAM_ENV,
                                timeout=600)
        assert result.returncode == 1, (result.returncode, result.stderr[-2000:])  # not 139, a segmentation fault
        assert "no space left on device" in one_line(result.stderr)
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)


# --- 7. output the console cannot encode -----------------------------------------------------------------


def test_class_names_the_console_cannot_show_are_escaped_not_fatal(tmp_path):
    model_file = tmp_path / "pets.keras"
    attach_contract(build_cnn(num_classes=2), Contract(("猫", "狗"), (32, 32))).save(model_file)
    env = PROGRAM_ENV | {"PYTHONIOENCODING": "cp1252"}
    result = subprocess.run([*CLI, "predict", str(model_file), str(photo(tmp_path / "a.png"))],
                            capture_output=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert b"\\u732b" in result.stdout and b"\\u72d7" in result.stdout


def test_folder_names_that_are_not_utf8_train_and_print_on_a_strict_utf8_console(tmp_path):
    root = tmp_path / "photos"
    latin1 = os.fsdecode(b"caf\xe9")  # a Windows zip's Latin-1 name, read as surrogates
    class_folders(root, ["tea", latin1], per_class=4)
    env = PROGRAM_ENV | {"PYTHONIOENCODING": "utf-8:strict"}
    result = subprocess.run([*CLI, "train", "cnn", "--data", str(root), "--epochs", "1", "--image-size", "32", "32",
                             "-o", str(tmp_path / "m.keras")], capture_output=True, env=env, timeout=600)
    assert result.returncode == 0 and b"saved" in result.stdout, result.stderr[-2000:]
    result = subprocess.run([*CLI, "data", "--data", str(root)], capture_output=True, env=env, timeout=300)
    assert result.returncode == 0 and b"caf\\udce9" in result.stdout, result.stdout + result.stderr


# --- 8. floating-point images ------------------------------------------------------------------------------


def test_a_float_tiff_in_0_1_is_scaled_not_black(tmp_path):
    from PIL import Image

    values = np.linspace(0, 1, 20 * 30, dtype=np.float32).reshape(20, 30)
    Image.fromarray(values, mode="F").save(tmp_path / "f.tif")
    pixels = load_image(tmp_path / "f.tif", channels=1)[..., 0]
    assert pixels.min() == 0 and pixels.max() == 255 and abs(int(pixels.mean()) - 127) <= 2


@pytest.mark.parametrize("values, expected", [
    (np.array([[0.0, 0.5, 1.0]]), [0, 128, 255]),
    (np.array([[0.0, 127.0, 255.0]]), [0, 127, 255]),
    (np.array([[-1.0, 0.0, 3.0]]), [0, 64, 255]),
])
def test_float_pixels_are_scaled_by_their_range(values, expected):
    assert images_module.float_to_8_bit(values).ravel().tolist() == expected


def test_float16_and_rgb_float_tiffs_load_with_tifffile(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    grey = np.linspace(0, 1, 12, dtype=np.float16).reshape(3, 4)
    tifffile.imwrite(tmp_path / "h.tif", grey)
    tifffile.imwrite(tmp_path / "rgb.tif", np.dstack([grey.astype(np.float32)] * 3))
    for name in ("h.tif", "rgb.tif"):
        pixels = load_image(tmp_path / name)
        assert pixels.shape == (3, 4, 3) and pixels[0, 0, 0] == 0 and pixels[-1, -1, 0] == 255
    tifffile.imwrite(tmp_path / "nan.tif", np.full((3, 4), np.nan, np.float16))
    with pytest.raises(CorruptDataError, match=r"nan\.tif: a floating-point image with NaN"):
        load_image(tmp_path / "nan.tif")


def test_without_tifffile_the_error_names_the_layout_and_the_fix(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    tifffile.imwrite(tmp_path / "h.tif", np.zeros((3, 4), np.float16))
    code = ("import sys; sys.modules['tifffile'] = None\nfrom cvtutor.data import load_image\n"
            f"try: load_image({str(tmp_path / 'h.tif')!r})\nexcept ValueError as e: print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "h.tif: a TIFF layout Pillow does not read" in out and "pip install tifffile" in out


# --- 9. long file names ------------------------------------------------------------------------------------


def test_a_legal_long_model_name_saves_and_resumes(fake_data, tmp_path):
    name = "m" * (NAME_MAX - len(".keras") - 4) + ".keras"  # 249 bytes: legal, as model.save writes it
    model_file = tmp_path / name
    assert len(checkpoint_dir(model_file).name.encode()) <= NAME_MAX
    result = run("train", "cnn", "--epochs", 1, "--data-dir", fake_data, "-o", model_file, "--quiet")
    assert result.returncode == 0, result.stderr
    result = run("train", "cnn", "--epochs", 2, "--data-dir", fake_data, "-o", model_file, "--resume", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["epochs"] == 2, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["data", name], "no checkpoint or temporary file left"


def test_fitting_names_are_short_enough_distinct_and_keep_their_start():
    long = "é" * 200  # 400 bytes
    a, b = fitting_name(long + "a", 20), fitting_name(long + "b", 20)
    assert a != b and a.startswith("é" * 100) and all(len(n.encode()) <= NAME_MAX - 20 for n in (a, b))
    assert fitting_name("short.keras", 20) == "short.keras"


# --- 10. iPhone photos (HEIF/HEIC) --------------------------------------------------------------------------


def test_heic_photos_load_with_the_plugin_and_otherwise_name_it(tmp_path):
    pytest.importorskip("pillow_heif")
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "IMG_0001.HEIC")
    assert load_image(tmp_path / "IMG_0001.HEIC", (20, 30)).shape == (20, 30, 3)
    for folder in ("cat", "dog"):  # a folder of iPhone photos
        (tmp_path / "photos" / folder).mkdir(parents=True)
        for i in range(2):
            shutil.copy(tmp_path / "IMG_0001.HEIC", tmp_path / "photos" / folder / f"IMG_000{i}.HEIC")
    code = ("import sys; sys.modules['pillow_heif'] = None\nfrom cvtutor.data import load_image, load_image_folder\n"
            f"try: load_image({str(tmp_path / 'IMG_0001.HEIC')!r})\nexcept ValueError as e: print(e)\n"
            f"try: load_image_folder({str(tmp_path / 'photos')!r}, (8, 8))\nexcept ValueError as e: print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.splitlines()
    assert len(out) == 2 and all("a HEIF/HEIC photo" in line and "pip install pillow-heif" in line for line in out), out
    assert "IMG_0001.HEIC" in out[0] and "IMG_000" in out[1]


# --- TensorFlow's start-up lines, two runs into one file, a class too small to test ---------------------------


def test_an_error_of_a_command_that_loads_tensorflow_is_one_line_on_stderr(tmp_path):
    result = run_program("predict", tmp_path / "nope.keras", tmp_path / "a.png")
    assert result.returncode == 1
    assert one_line(result.stderr).startswith("cvtutor predict: error: no model file")


def test_a_model_that_runs_prints_nothing_of_tensorflows_on_stderr(tmp_path):
    # TensorFlow's CUDA probe writes to file descriptor 2 when the first model runs, after import.
    save_model(attach_contract(build_cnn(), Contract(tuple("abcdefghij"), (32, 32))), tmp_path / "m.keras")
    photo(tmp_path / "a.png")
    result = run_program("predict", tmp_path / "m.keras", tmp_path / "a.png")
    assert result.returncode == 0 and "a.png: " in result.stdout, result.stderr
    assert not any(word in result.stderr for word in NOISE), result.stderr


@pytest.mark.slow
def test_a_second_run_into_the_same_file_is_refused_naming_the_first(tmp_path):
    write_batches_dir(tmp_path / "data", official_batches(per_batch=400))
    model_file = tmp_path / "rnn.keras"
    args = ["train", "rnn", "--epochs", "3", "--batch-size", "16", "--data-dir", str(tmp_path / "data"), "-o",
            str(model_file), "--quiet"]
    first = subprocess.Popen([*CLI, *args], env=PROGRAM_ENV)
    try:
        deadline = time.monotonic() + 240
        while not (checkpoint_dir(model_file) / "state.json").exists():
            assert first.poll() is None and time.monotonic() < deadline, "the first run ended before it began training"
            time.sleep(0.2)
        second = run(*args, "--resume")
        assert second.returncode == 1
        line = one_line(second.stderr)
        assert f"another run (process {first.pid} on" in line and f"is training into {model_file}" in line
    finally:
        first.kill()
        first.wait()
    with pytest.raises(RunInProgress):  # the library's own error, for a script that trains
        import fcntl

        folder = checkpoint_dir(tmp_path / "other.keras")
        folder.mkdir()
        with open(folder / "lock", "a+") as held:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX)
            train_to_file(tmp_path / "other.keras", None, None, None, epochs=1, settings={})


def test_a_class_with_one_image_is_said_to_be_never_evaluated(tmp_path):
    root = class_folders(tmp_path / "photos", ["cat", "dog"], per_class=5)
    photo(tmp_path / "photos" / "emu.png")  # stays beside the folders: ignored
    (root / "emu").mkdir()
    photo(root / "emu" / "only.png")
    result = run("data", "--data", root)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: class 'emu'")]
    assert len(notes) == 1 and "no held-out images (1 image in all" in notes[0]
