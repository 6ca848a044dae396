"""The cvtutor command line, run as a real program, and the safety of model files."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cifar_fakes import official_batches, png_bytes, write_batches_dir

from cvtutor.modelfiles import ModelFileError, load_model, save_model

CLI = [sys.executable, "-m", "cvtutor.cli"]


def run(*args, timeout=300, **kwargs):
    env = os.environ | {"CVTUTOR_PROFILE": "full", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


@pytest.fixture()
def fake_data(tmp_path):
    """A tiny CIFAR-10 in the official batch format: 500 training and 100 test images."""
    write_batches_dir(tmp_path / "data", official_batches(per_batch=100))
    return tmp_path / "data"


# --- help and usage errors ---------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["data"], ["train"], ["evaluate"], ["predict"]])
def test_help_everywhere_without_importing_tensorflow(command):
    code = (
        "import sys; from cvtutor.cli import main\n"
        f"try: main({command + ['--help']!r})\n"
        "except SystemExit as e: assert e.code == 0\n"
        "assert 'tensorflow' not in sys.modules, 'help imported tensorflow'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "usage: cvtutor" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "required: COMMAND"),
        (["train", "resnet50"], "invalid choice: 'resnet50'"),
        (["train", "cnn", "--epochs", "0"], "expected a positive integer, got 0"),
        (["train", "cnn", "--batch-size", "many"], "expected a positive integer, got 'many'"),
        (["predict", "model.keras"], "the following arguments are required: IMAGE"),
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
    result = run("train", "cnn", "--epochs", 1, "--data-dir", fake_data, "-o", model_file, "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    trained = json.loads(result.stdout)
    assert trained["params"] == 122_570 and trained["epochs"] == 1 and model_file.is_file()
    assert not (tmp_path / "cnn.keras.partial").exists(), "the checkpoint folder must go once training finished"

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
    assert result.returncode == 1 and "notes.png: not a readable image" in result.stderr


def test_killed_training_resumes_from_its_last_completed_epoch(tmp_path):
    write_batches_dir(tmp_path / "data", official_batches(per_batch=400))  # 2,000 images: epochs of a few seconds
    model_file = tmp_path / "rnn.keras"
    state = tmp_path / "rnn.keras.partial" / "state.json"
    args = ["train", "rnn", "--epochs", 4, "--batch-size", 16, "--data-dir", tmp_path / "data", "-o", model_file]
    env = os.environ | {"CVTUTOR_PROFILE": "full", "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen([*CLI, *map(str, args), "--quiet"], env=env)
    deadline = time.monotonic() + 240
    while not (state.is_file() and json.loads(state.read_text())["epochs_done"] >= 1):
        assert process.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline, "no epoch finished in time"
        time.sleep(0.2)
    time.sleep(1.0)  # into the next epoch
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = json.loads(state.read_text())["epochs_done"]
    assert 1 <= done_before < 4 and not model_file.exists()

    result = run(*args, "--resume", "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["resumed_after_epoch"] == done_before and report["epochs"] == 4
    assert load_model(model_file).optimizer.iterations.numpy() == 4 * (2000 // 16 + (2000 % 16 > 0))


def test_resume_refuses_a_run_started_differently(tmp_path, fake_data):
    partial = tmp_path / "m.keras.partial"
    partial.mkdir()
    (partial / "model.keras").write_bytes(b"x")
    (partial / "state.json").write_text(json.dumps({"model": "cnn", "epochs": 5, "epochs_done": 1}))
    result = run("train", "cnn", "--epochs", 3, "--data-dir", fake_data, "-o", tmp_path / "m.keras", "--resume")
    assert result.returncode == 1 and "cannot resume" in result.stderr


# --- model files -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model():
    import keras

    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(3)(inputs))


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
    with pytest.raises(ValueError, match=r"must end in \.keras"):
        save_model(small_model, tmp_path / "model.h5")
    with pytest.raises(FileNotFoundError, match="no model file"):
        load_model(tmp_path / "missing.keras")


def test_train_offers_every_registered_model():
    from cvtutor.cli import MODEL_NAMES
    from cvtutor.models import MODELS

    assert set(MODEL_NAMES) == set(MODELS)
