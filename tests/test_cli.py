"""The cvtutor command line and the safety of model files.

The commands run in this process, through ``cvtutor.cli.main`` (``run``); a real program is
started only where the process boundary is the point: ``--help`` without importing TensorFlow,
exit codes and JSON on stdout as a script sees them, and a kill -9 in the middle of training or
of a save.
"""

import contextlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
from cifar_fakes import official_batches, png_bytes, write_batches_dir

from cvtutor.cli import main
from cvtutor.contract import read_contract
from cvtutor.data import CLASS_NAMES
from cvtutor.modelfiles import ModelFileError, load_model, save_model
from cvtutor.resume import checkpoint_progress

CLI = [sys.executable, "-m", "cvtutor.cli"]
PROGRAM_ENV = os.environ | {"CVTUTOR_PROFILE": "full", "TF_CPP_MIN_LOG_LEVEL": "2"}


def run(*args) -> subprocess.CompletedProcess:
    """``cvtutor ARGS`` through ``main()`` in this process, in the full profile: its exit status
    (argparse's usage errors included) and what it wrote to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.get("CVTUTOR_PROFILE")
    os.environ["CVTUTOR_PROFILE"] = "full"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit:
                code = exit.code
    finally:
        if saved is None:
            os.environ.pop("CVTUTOR_PROFILE", None)
        else:
            os.environ["CVTUTOR_PROFILE"] = saved
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def run_program(*args, timeout=300) -> subprocess.CompletedProcess:
    """``cvtutor ARGS`` as a real program (``python -m cvtutor.cli``), in the full profile."""
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=PROGRAM_ENV)


@pytest.fixture()
def fake_data(tmp_path):
    """A tiny CIFAR-10 in the official batch format: 500 training and 100 test images."""
    write_batches_dir(tmp_path / "data", official_batches(per_batch=100))
    return tmp_path / "data"


# --- help and usage errors ---------------------------------------------------------------------


def test_help_and_usage_errors_without_importing_tensorflow():
    """One program: every command's --help exits 0, a usage error exits 2, and neither imports TensorFlow."""
    code = (
        "import sys; from cvtutor.cli import main\n"
        "for command in ([], ['data'], ['train'], ['evaluate'], ['predict']):\n"
        "    try: main(command + ['--help'])\n"
        "    except SystemExit as e: assert e.code == 0, (command, e.code)\n"
        "try: main(['train', 'cnn', '--epochs', '0'])\n"
        "except SystemExit as e: assert e.code == 2, e.code\n"
        "assert 'tensorflow' not in sys.modules, 'help or a usage error imported tensorflow'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("usage: cvtutor") == 5 and "expected a positive integer, got 0" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "required: COMMAND"),
        (["train", "resnet50"], "invalid choice: 'resnet50'"),
        (["train", "cnn", "--epochs", "0"], "expected a positive integer, got 0"),
        (["train", "cnn", "--batch-size", "many"], "expected a positive integer, got 'many'"),
        (["predict", "model.keras"], "the following arguments are required: IMAGE"),
        (["train"], "required: MODEL (or --recipe NAME, or --from PRETRAINED)"),
        (["train", "--recipe", "fast-cnn", "cnn"], "--recipe fast-cnn trains the resnet model, not cnn: leave out MODEL"),
        (["train", "--recipe", "fast-cnn", "--from", "m.keras"], "--recipe (a model trained from scratch) and --from"),
        (["train", "cnn", "--data", "d", "--data-dir", "c"], "--data (your class folders) and --data-dir"),
        (["train", "cnn", "--head-epochs", "2"], "apply only with --from"),
        (["train", "cnn", "--image-size", "64"], "expected 2 arguments"),
        (["evaluate", "m.keras", "--validation-split", "1.5"], "expected a fraction between 0 and 1, got 1.5"),
        (["predict", "m.keras", "a.png", "--classes", "cat"], "--classes expects 2 or more distinct"),
    ],
)
def test_usage_errors_exit_2_and_say_what_was_wrong(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_missing_files_are_named(tmp_path):
    result = run("predict", tmp_path / "nope.keras", tmp_path / "a.png")
    assert result.returncode == 1 and "nope.keras" in result.stderr
    result = run("data", "--data-dir", tmp_path / "nowhere")
    assert result.returncode == 1 and "nowhere" in result.stderr and "does not exist" in result.stderr


def test_a_script_gets_exit_status_and_json_on_stdout_from_the_program(tmp_path, fake_data):
    """As a real program: --json results on stdout and exit 0; an error as a JSON document, exit 1."""
    result = run_program("data", "--data-dir", fake_data, "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["train_images"] == 500, result.stderr
    result = run_program("data", "--data-dir", tmp_path / "nowhere", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["command"] == "data" and "does not exist" in report["error"]
    assert "nowhere" in result.stderr
    assert run_program("train", "cnn", "--epochs", "0").returncode == 2


# --- data, train, evaluate, predict --------------------------------------------------------------


def test_data_command_reports_source_and_counts(fake_data):
    result = run("data", "--data-dir", fake_data, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["source"]["kind"] == "batches-dir" and report["train_images"] == 500
    assert report["counts"]["train"]["airplane"] == 50 and report["counts"]["test"]["truck"] == 10
    text = run("data", "--data-dir", fake_data)
    assert "extracted official batches" in text.stdout and "airplane" in text.stdout


def test_train_evaluate_predict(fake_data, tmp_path):
    model_file = tmp_path / "cnn.keras"
    old_umask = os.umask(0o022)
    try:
        result = run("train", "cnn", "--epochs", 1, "--data-dir", fake_data, "-o", model_file, "--json", "--quiet")
    finally:
        os.umask(old_umask)
    assert result.returncode == 0, result.stderr
    trained = json.loads(result.stdout)
    assert trained["params"] == 122_570 and trained["epochs"] == 1 and model_file.is_file()
    assert trained["recipe"] == "cnn-adam", "a model without --recipe trains its named default recipe"
    assert not (tmp_path / "cnn.keras.partial").exists(), "the checkpoint folder must go once training finished"
    assert stat.S_IMODE(model_file.stat().st_mode) == 0o644, "a model file gets what model.save gives under umask 022"
    assert read_contract(load_model(model_file)).class_names == CLASS_NAMES

    result = run("evaluate", model_file, "--data-dir", fake_data, "--json", "--confusion-png", tmp_path / "cm.png")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    counts = np.array(report["confusion_matrix"]["counts"])
    assert counts.sum() == 100 and np.isclose(np.trace(counts) / 100, report["accuracy"])
    assert np.isclose(report["accuracy"], trained["test_accuracy"], atol=1e-6)
    assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"

    big = tmp_path / "big.png"
    big.write_bytes(png_bytes(np.random.default_rng(0).integers(0, 256, (300, 200, 3), dtype=np.uint8)))
    result = run("predict", model_file, big, "--top-k", 4, "--json")
    assert result.returncode == 0, result.stderr
    top = json.loads(result.stdout)["predictions"][0]["top"]
    probabilities = [t["probability"] for t in top]
    assert len(top) == 4 and probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1.0001
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    result = run("predict", model_file, not_an_image)
    assert result.returncode == 1 and "notes.png: unreadable image" in result.stderr


@pytest.mark.slow
def test_killed_training_resumes_from_its_last_completed_epoch(tmp_path):
    write_batches_dir(tmp_path / "data", official_batches(per_batch=400))  # 2,000 images: epochs of a few seconds
    model_file = tmp_path / "rnn.keras"
    args = ["train", "rnn", "--epochs", 4, "--batch-size", 16, "--data-dir", tmp_path / "data", "-o", model_file]
    process = subprocess.Popen([*CLI, *map(str, args), "--quiet"], env=PROGRAM_ENV)
    deadline = time.monotonic() + 240
    while not ((progress := checkpoint_progress(model_file)) and progress["epochs_done"] >= 1):
        assert process.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline, "no epoch finished in time"
        time.sleep(0.2)
    time.sleep(1.0)  # into the next epoch
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = checkpoint_progress(model_file)["epochs_done"]
    assert 1 <= done_before < 4 and not model_file.exists()
    result = run(*args, "--json", "--quiet")  # without --resume: the checkpoint is neither used nor overwritten
    assert result.returncode == 1 and "resume it (--resume)" in result.stderr
    assert checkpoint_progress(model_file)["epochs_done"] == done_before

    result = run(*args, "--resume", "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["resumed_after_epoch"] == done_before and report["epochs"] == 4
    # fit holds a tenth of the 2,000 images out for validation: 1,800 train, in batches of 16.
    assert report["train_images"] == 1800 and report["validation_images"] == 200
    assert load_model(model_file).optimizer.iterations.numpy() == 4 * -(-1800 // 16)


STEPS_PER_EPOCH = -(-450 // 64)  # fake_data's 500 training images, less the 50 held out, in batches of 64


def test_resume_after_the_run_finished_continues_instead_of_starting_over(tmp_path, fake_data):
    """The failing case: --epochs 2, then --epochs 3 --resume printed 'nothing to resume', trained from scratch
    and replaced the model."""
    model_file = tmp_path / "m.keras"
    args = ["train", "cnn", "--data-dir", fake_data, "-o", model_file, "--json"]
    assert run(*args, "--epochs", 2, "--quiet").returncode == 0
    finished = model_file.read_bytes()

    result = run(*args, "--epochs", 3, "--resume")
    assert result.returncode == 0, result.stderr
    assert "nothing to resume" not in result.stderr and "recipe cnn-adam (the default for cnn)" in result.stderr and "finished 2 epochs; training it on to 3" in result.stderr
    report = json.loads(result.stdout)
    assert (report["resumed_after_epoch"], report["started_from"], report["epochs"]) == (2, "finished", 3)
    model = load_model(model_file)
    assert int(model.optimizer.iterations.numpy()) == 3 * STEPS_PER_EPOCH, "one more epoch, not three from scratch"
    assert model_file.read_bytes() != finished

    continued = model_file.read_bytes()
    again = run(*args, "--epochs", 3, "--resume", "--quiet")
    assert again.returncode == 0 and json.loads(again.stdout)["started_from"] == "finished"
    assert model_file.read_bytes() == continued, "resuming a run that has its epochs changes nothing"
    fewer = run(*args, "--epochs", 1, "--resume")
    assert fewer.returncode == 1 and "trained for 3 epochs already" in fewer.stderr
    other = run(*args, "--epochs", 4, "--resume", "--seed", "1")
    assert other.returncode == 1 and "cannot resume" in other.stderr and "seed=0, not seed=1" in other.stderr
    for refused in (fewer, other):
        assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()[-1]) < 500
    assert model_file.read_bytes() == continued and not (tmp_path / "m.keras.partial").exists()


# --- model files -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model():
    import keras

    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(3)(inputs))


@pytest.mark.slow
def test_kill_during_save_leaves_the_previous_file_intact(tmp_path, small_model):
    target = tmp_path / "model.keras"
    save_model(small_model, target)
    script = (
        "import keras, sys\nfrom cvtutor.modelfiles import save_model\n"
        "inputs = keras.Input((4,)); model = keras.Model(inputs, keras.layers.Dense(3)(inputs))\n"
        "print('ready', flush=True)\n"
        f"while True: save_model(model, {str(target)!r})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    time.sleep(1.5)  # many saves in flight
    process.send_signal(signal.SIGKILL)
    process.wait()
    load_model(target)  # whatever is there now is a whole, loadable model


@pytest.mark.parametrize("damage", ["truncate", "flip", "text", "empty"])
def test_damaged_model_files_give_a_clear_error(tmp_path, small_model, damage):
    path = save_model(small_model, tmp_path / "m.keras")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :])
    elif damage == "text":
        path.write_text("not a model")
    else:
        path.write_bytes(b"")
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert info.value.path == str(path)
    result = run("evaluate", path)
    assert result.returncode == 1 and str(path) in result.stderr and "Traceback" not in result.stderr


def test_save_refuses_other_suffixes(tmp_path, small_model):
    with pytest.raises(ValueError, match=r"path must be a model file ending in \.keras, got '.*model\.h5'"):
        save_model(small_model, tmp_path / "model.h5")
    with pytest.raises(FileNotFoundError, match="no model file"):
        load_model(tmp_path / "missing.keras")


def test_train_offers_every_registered_model():
    from cvtutor.cli import MODEL_NAMES
    from cvtutor.models import MODELS

    assert set(MODEL_NAMES) == set(MODELS)


def test_train_with_a_named_recipe_and_an_override(fake_data, tmp_path):
    from cvtutor.recipes import get_recipe

    model_file = tmp_path / "fast.keras"
    result = run("train", "--recipe", "fast-cnn", "--epochs", 1, "--data-dir", fake_data, "-o", model_file,
                 "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    recipe = get_recipe("fast-cnn")
    assert report["recipe"] == "fast-cnn" and report["model"] == "resnet" and report["epochs"] == 1
    assert 0 <= report["test_accuracy_flip"] <= 1  # the recipe tests with flips
    model = load_model(model_file)
    assert model.count_params() == recipe.build().count_params()
    assert type(model.optimizer).__name__ == "SGD"  # the recipe's optimizer, not the plain Adam
    # One epoch over the 450 images left after the validation split, in the recipe's batches.
    assert int(model.optimizer.iterations.numpy()) == -(-450 // recipe.batch_size)


# --- models saved by plain Keras: what their outputs mean is read from the model ----------------


def photo(path, size=(50, 40), mode="RGB", seed=0):
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(path)
    return path


def class_folders(root, names, per_class=3, size=(32, 32)):
    for i, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for j in range(per_class):
            photo(root / name / f"{j}.png", size, seed=100 * i + j)
    return root


def test_a_softmax_model_saved_by_keras_is_not_softmaxed_twice(tmp_path):
    import keras

    inputs = keras.Input((32, 32, 3))
    dense = keras.layers.Dense(10, activation="softmax")
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    kernel, bias = dense.get_weights()
    dense.set_weights([np.zeros_like(kernel), np.log([0.978] + [0.022 / 9] * 9).astype("float32")])
    model.save(tmp_path / "soft.keras")
    result = run("predict", tmp_path / "soft.keras", photo(tmp_path / "a.jpg"), "--json")
    assert result.returncode == 0, result.stderr
    top = json.loads(result.stdout)["predictions"][0]["top"][0]
    assert top == {"class": "airplane", "probability": 0.978}, "97.8% stays 97.8% (softmaxed again it was 22.8%)"
    assert "ends in a softmax" in result.stderr and "CIFAR-10's class names" in result.stderr


def test_a_12_class_model_predicts_top_12_and_evaluates(tmp_path):
    from cvtutor.models import build_cnn
    from cvtutor.transfer import with_new_head

    with_new_head(build_cnn(), 12).save(tmp_path / "twelve.keras")
    image = photo(tmp_path / "a.png", (90, 20))
    result = run("predict", tmp_path / "twelve.keras", image, "--top-k", 12, "--json")
    assert result.returncode == 0, result.stderr
    top = json.loads(result.stdout)["predictions"][0]["top"]
    assert sorted(t["class"] for t in top) == sorted(f"class {i}" for i in range(12))
    assert "--classes" in result.stderr
    names = [f"kind{i:02d}" for i in range(12)]
    result = run("predict", tmp_path / "twelve.keras", image, "--top-k", 50, "--classes", ",".join(names))
    assert result.returncode == 0 and result.stdout.count("%") == 12 and "kind" in result.stdout

    class_folders(tmp_path / "twelve", names, per_class=3)
    result = run("evaluate", tmp_path / "twelve.keras", "--data", tmp_path / "twelve", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["class_names"] == names and np.array(report["confusion_matrix"]["counts"]).shape == (12, 12)
    assert report["test_images"] == 12 and "taken as the folder's classes" in result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len([n for n in notes if "names no classes" in n]) == 1, notes  # one note, not two that disagree
    assert report["notes"] == [n.removeprefix("note: ") for n in notes]
    text = run("evaluate", tmp_path / "twelve.keras", "--data", tmp_path / "twelve", "--classes", ",".join(names))
    assert text.returncode == 0 and "kind11" in text.stdout and "IndexError" not in text.stderr


def test_a_two_class_model_evaluates_a_folder_with_its_class_names(tmp_path):
    from cvtutor.contract import Contract, attach_contract
    from cvtutor.models import build_cnn

    attach_contract(build_cnn(num_classes=2), Contract(("cat", "dog"), (32, 32))).save(tmp_path / "pets.keras")
    class_folders(tmp_path / "pets", ["cat", "dog"], per_class=5)
    result = run("evaluate", tmp_path / "pets.keras", "--data", tmp_path / "pets", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert list(report["per_class_accuracy"]) == ["cat", "dog"] and report["notes"] == []
    class_folders(tmp_path / "zoo", ["cat", "dog", "emu"], per_class=2)
    result = run("evaluate", tmp_path / "pets.keras", "--data", tmp_path / "zoo")
    assert result.returncode == 1 and "does not know: emu (its classes: cat, dog)" in result.stderr
    result = run("evaluate", tmp_path / "pets.keras", "--data-dir", tmp_path / "zoo")
    assert result.returncode == 1 and "not a CIFAR-10 model" in result.stderr and "--data DIR" in result.stderr


def test_a_one_channel_model_gets_grayscale_images(tmp_path):
    from cvtutor.models import build_cnn

    build_cnn(input_shape=(28, 28, 1)).save(tmp_path / "gray.keras")
    result = run("predict", tmp_path / "gray.keras", photo(tmp_path / "colour.jpg", (64, 48)),
                 photo(tmp_path / "rgba.png", (30, 30), mode="RGBA"), "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["predictions"]) == 2
    class_folders(tmp_path / "digits", ["one", "two"], per_class=4, size=(40, 40))
    result = run("evaluate", tmp_path / "gray.keras", "--data", tmp_path / "digits", "--classes",
                 ",".join(f"c{i}" for i in range(10)))
    assert result.returncode == 1 and "does not know: one, two" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 or "Traceback" not in result.stderr


def test_data_command_checks_your_own_folders(tmp_path):
    class_folders(tmp_path / "mine", ["cat", "dog"], per_class=5, size=(50, 30))
    (tmp_path / "mine" / "dog" / ".DS_Store").write_bytes(b"junk")
    result = run("data", "--data", tmp_path / "mine", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["class_names"] == ["cat", "dog"] and report["counts"]["test"] == {"cat": 1, "dog": 1}
    assert report["train_images"] == 8
    (tmp_path / "mine" / "dog" / "notes.txt").write_text("not an image")
    result = run("data", "--data", tmp_path / "mine")
    assert result.returncode == 1 and "notes.txt" in result.stderr and "Traceback" not in result.stderr


def test_errors_from_deep_inside_become_one_line():
    from cvtutor.cli import _one_line

    error = ValueError("Input 0 of layer is incompatible:\n\x1b[1mexpected axis -1 to have value 1\x1b[0m")
    assert _one_line(error) == "Input 0 of layer is incompatible:"
    assert _one_line(RuntimeError("\n\x1b[31mboom\x1b[0m\nmore")) == "RuntimeError: boom"


# --- your own images, end to end: fine-tune a CIFAR-trained model, evaluate, predict --------------


def pattern(kind, size, rng):
    """A grey pattern of one of three kinds: horizontal stripes, vertical stripes or a disk, with noise."""
    rows, cols = np.mgrid[0:size, 0:size]
    band = max(2, size // 8)
    if kind == "horizontal":
        image = (rows // band) % 2
    elif kind == "vertical":
        image = (cols // band) % 2
    else:
        image = (rows - size / 2) ** 2 + (cols - size / 2) ** 2 < (size / 3) ** 2
    return np.clip(image * 200.0 + 30 + rng.normal(0, 15, (size, size)), 0, 255).astype(np.uint8)


def write_pattern(path_stem, kind, rng, index):
    """One image, of a random size 20..90 px, in one of PNG, JPEG, BMP (colour) or PNG (grayscale)."""
    from PIL import Image

    size = int(rng.integers(20, 91))
    grey = pattern(kind, size, rng)
    colour = (grey[..., None] / 255.0 * rng.integers(120, 256, 3)).astype(np.uint8)
    fmt = ("png", "jpg", "bmp", "grey")[index % 4]
    if fmt == "grey":
        path = path_stem.with_suffix(".png")
        Image.fromarray(grey, "L").save(path)
    else:
        path = path_stem.with_suffix(f".{fmt}")
        Image.fromarray(colour).save(path, **({"quality": 90} if fmt == "jpg" else {}))
    return path


def test_fine_tune_a_cifar_model_on_your_own_folders_then_evaluate_and_predict(tmp_path):
    import keras

    from cvtutor.models import build_cnn
    from cvtutor.training import compile_model

    kinds = ("disk", "horizontal", "vertical")
    rng = np.random.default_rng(0)
    for kind in kinds:
        (tmp_path / "photos" / kind).mkdir(parents=True)
        for i in range(40):
            write_pattern(tmp_path / "photos" / kind / f"{i:02d}", kind, rng, i)
    held_out = {kind: [write_pattern(tmp_path / f"new-{kind}-{i}", kind, rng, i) for i in range(4)] for kind in kinds}

    # The "CIFAR-trained" model: build_cnn, one epoch on random CIFAR-shaped images, saved by plain Keras.
    keras.utils.set_random_seed(0)
    pretrained = compile_model(build_cnn())
    x, y = np.random.default_rng(1).random((64, 32, 32, 3), dtype=np.float32), np.arange(64) % 10
    pretrained.fit(x, y, epochs=1, batch_size=32, verbose=0)
    pretrained.save(tmp_path / "cifar.keras")

    model_file = tmp_path / "shapes.keras"
    result = run("train", "--from", tmp_path / "cifar.keras", "--data", tmp_path / "photos", "--epochs", 6,
                 "--head-epochs", 2, "--batch-size", 16, "--fine-tune-learning-rate", "0.001", "-o", model_file,
                 "--json")
    assert result.returncode == 0, result.stderr
    trained = json.loads(result.stdout)
    assert trained["class_names"] == list(kinds) and trained["image_size"] == [32, 32] and trained["epochs"] == 6
    assert "a new head on frozen layers for 2 epochs" in result.stderr and "decoding photos" in result.stderr
    assert read_contract(load_model(model_file)).class_names == kinds

    result = run("evaluate", model_file, "--data", tmp_path / "photos", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["class_names"] == list(kinds) and report["test_images"] == 24  # 20% of 40 per class
    assert report["accuracy"] >= 0.8, report
    assert np.isclose(report["accuracy"], trained["test_accuracy"], atol=1e-6)

    paths = [p for kind in kinds for p in held_out[kind]]
    result = run("predict", model_file, *paths, "--json")
    assert result.returncode == 0, result.stderr
    predicted = [p["top"][0]["class"] for p in json.loads(result.stdout)["predictions"]]
    truth = [kind for kind in kinds for _ in held_out[kind]]
    accuracy = np.mean([p == t for p, t in zip(predicted, truth)])
    assert accuracy >= 0.8, list(zip(truth, predicted))


def test_a_message_after_an_unfinished_progress_bar_starts_on_its_own_line(capsys):
    from argparse import Namespace

    from cvtutor.cli import _Output

    out = _Output(Namespace(json=False, quiet=False))
    draw = out.decoding_bar("decoding photos")
    draw(0.5)
    out.info("note: something")
    draw(1.0)
    out.end_line()  # nothing open after a finished bar: no blank line
    err = capsys.readouterr().err
    assert err.endswith("50%\nnote: something\n\rdecoding photos [" + "#" * 30 + "] 100%\n"), repr(err)


def test_an_error_during_decoding_is_not_glued_to_the_progress_bar(tmp_path, capsys):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for k in range(30):
            Image.new("RGB", (8, 8), (k, 0, 0)).save(tmp_path / "photos" / name / f"{k:02d}.png")
    (tmp_path / "photos" / "b" / "zz.png").write_bytes(b"not a png")
    assert main(["data", "--data", str(tmp_path / "photos")]) == 1
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and error_lines[0].startswith("cvtutor data: error: "), repr(err)
