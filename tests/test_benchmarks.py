"""The benchmark harness runs end to end on a tiny subset and writes a valid record (no timing asserted)."""

import json
import os
import subprocess
import sys

import pytest

from cifar_fakes import official_batches, write_batches_dir
from conftest import ROOT

from cvtutor.recipes import get_recipe
from cvtutor.records import load_records, summarize

# These runs check what the harness records, not how fast XLA's code is: compile with little
# optimisation, as CI's JAX pass does (XLA otherwise spends most of a tiny run compiling).
FAST_XLA = {"XLA_FLAGS": "--xla_backend_optimization_level=0"}


@pytest.mark.slow
def test_harness_writes_a_record_per_recipe_and_seed(tmp_path):
    write_batches_dir(tmp_path / "data", official_batches(per_batch=64))
    out = tmp_path / "results"
    # The baseline and one recipe that re-estimates batch-norm statistics and tests with flips: every
    # branch of the record (the recipes themselves are trained in tests/test_recipes.py).
    command = [sys.executable, "-m", "benchmarks.run", "tf-tutorial", "fast-cnn", "--seeds", "3",
               "--run-id", "smoke-run",
               "--train-size", "200", "--test-size", "64", "--epochs", "2",
               "--data-dir", str(tmp_path / "data"), "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    records = {json.loads(p.read_text())["recipe"]: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert set(records) == {"tf-tutorial", "fast-cnn"}
    assert {r["run_id"] for r in records.values()} == {"smoke-run"}
    assert not list(out.glob("*.tmp"))
    for record in records.values():
        # The one start of a run: a tenth of each class held out for validation, as in the chapters.
        assert record["seed"] == 3 and record["epochs"] == 2
        assert (record["train_images"], record["validation_images"]) == (180, 20)
        assert 0.0 <= record["validation_accuracy"] <= 1.0
        assert record["test_images"] == 64
        assert [p["epoch"] for p in record["curve"]] == [1, 2]
        assert 0 < record["load_seconds"] < record["curve"][0]["seconds"] <= record["curve"][1]["seconds"]
        assert record["curve"][1]["seconds"] <= record["wall_seconds"]
        assert 0.0 <= record["test_accuracy"] <= 1.0
        # batch-norm statistics re-estimated after the last epoch, as everywhere: the final accuracy is
        # the curve's last point exactly where there was nothing to re-estimate
        assert (record["batchnorm_batches"] > 0) == (record["recipe"] in ("fast-cnn",)), record["recipe"]
        if record["batchnorm_batches"] == 0:
            assert record["test_accuracy_plain"] == record["curve"][-1]["test_accuracy"]
        assert record["load_average_start"] >= 0 and record["load_average_end"] >= 0
        assert record["images_per_second"] > 0 and record["peak_rss_mib"] > 0
        assert record["data_source"].startswith("extracted official batches")
        assert "benchmarks.run tf-tutorial fast-cnn" in record["command"]
        assert {"keras", "numpy", "python"} <= set(record["versions"]) and record["backend"]
    assert records["tf-tutorial"]["batch_size"] == 32 and records["tf-tutorial"]["params"] == 122_570
    assert records["tf-tutorial"]["test_accuracy"] == records["tf-tutorial"]["test_accuracy_plain"]
    fast = records["fast-cnn"]
    assert fast["flip"] is True and fast["target"] == {"accuracy": 0.85, "time_ratio": 1.5} and fast["params"] == get_recipe("fast-cnn").build().count_params()
    # The recipe tests with flips and 1-pixel shifts; flips alone are measured apart, on the same
    # model, only where the recipe tests with flips.
    assert fast["shift"] == 1 and fast["test_accuracy"] == fast["test_accuracy_flip_translate"]
    assert 0.0 <= fast["test_accuracy_flip"] <= 1.0
    assert records["tf-tutorial"]["test_accuracy_flip_translate"] is None
    assert records["tf-tutorial"]["test_accuracy_flip"] is None and records["tf-tutorial"]["shift"] == 0
    # The summary pairs every recipe with the baseline of the same run.
    rows = {row["recipe"]: row for row in summarize(load_records(out), accuracy=0.0)}
    assert rows["tf-tutorial"]["ratio_to_baseline"] == 1.0
    assert rows["fast-cnn"]["ratio_to_baseline"] == fast["curve"][0]["seconds"] / records["tf-tutorial"]["curve"][0]["seconds"]


@pytest.mark.slow
def test_pipeline_benchmark_times_both_pipelines_and_records_them(tmp_path):
    write_batches_dir(tmp_path / "data", official_batches(per_batch=64))
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks.pipeline", "--data-dir", str(tmp_path / "data"),
               "--train-size", "96", "--batch-sizes", "32", "--passes", "1", "--out", str(out)]
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    [path] = out.glob("pipeline-*.json")
    record = json.loads(path.read_text())
    assert record["benchmark"] == "input-pipeline" and record["images"] == 96
    assert [(r["augment"], r["batch_size"]) for r in record["rows"]] == [(False, 32), (True, 32)]
    for row in record["rows"]:
        assert row["per_image_map"] > 0 and row["make_dataset"] > 0
        assert row["speedup"] == row["make_dataset"] / row["per_image_map"]
    assert "benchmarks.pipeline --data-dir" in record["command"] and record["data_source"]
    bad = subprocess.run(command[:-6] + ["--passes", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "--passes and --batch-sizes must be positive, got 0" in bad.stderr


def tiny_notebook(code: str) -> str:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Page"), nbformat.v4.new_code_cell(code)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(notebook)


@pytest.mark.slow
def test_book_build_timer_builds_a_book_and_records_it(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    (book / "_config.yml").write_text("title: tiny\nexecute:\n  execute_notebooks: force\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n- file: pages/sleep\n")
    (book / "index.md").write_text("# Tiny\n\nOne page.\n")
    (book / "pages").mkdir()
    (book / "pages" / "sleep.ipynb").write_text(tiny_notebook("import time\ntime.sleep(0.5)"))
    out = tmp_path / "builds"
    command = [sys.executable, "-m", "benchmarks.book_build", "--profile", "quick", "--book", str(book), "--out", str(out)]
    # --keep leaves the build, executed notebooks included, where asked.
    kept = tmp_path / "kept"
    result = subprocess.run([*command, "--keep", str(kept)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (kept / "_build" / "jupyter_execute" / "pages" / "sleep.ipynb").exists()
    [path] = out.glob("quick-*.json")
    record = json.loads(path.read_text())
    assert record["kind"] == "book-build" and record["profile"] == "quick" and record["returncode"] == 0
    assert record["seconds"] > 0 and record["html_pages"] >= 2 and record["error_tail"] == ""
    assert list(record["notebook_seconds"]) == ["pages/sleep.ipynb"] and record["notebook_failures"] == []
    assert 0.5 <= record["notebook_seconds"]["pages/sleep.ipynb"] < record["seconds"]
    assert "benchmarks.book_build --profile quick" in record["command"] and "--keep" in record["command"]
    assert record["commit"] is None  # the tiny book is no git checkout; the book's own records name theirs
    assert not (book / "_build").exists()  # built elsewhere, the book's own _build untouched
    # A notebook that fails to execute is named, and the build counts as failed.
    (book / "pages" / "sleep.ipynb").write_text(tiny_notebook("raise RuntimeError('on purpose')"))
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1 and "execution FAILED: pages/sleep.ipynb" in result.stdout
    [record] = [json.loads(p.read_text()) for p in out.glob("quick-*.json") if json.loads(p.read_text())["notebook_failures"]]
    assert record["notebook_failures"] == ["pages/sleep.ipynb"] and record["error_tail"]
    for p in out.glob("quick-*.json"):
        p.unlink()
    # A broken book fails with the reason in the record and exit status 1.
    (book / "_toc.yml").write_text("format: jb-book\nroot: missing\n")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1 and "FAILED" in result.stdout
    failed = [json.loads(p.read_text()) for p in out.glob("quick-*.json") if p != path]
    assert failed and failed[0]["returncode"] != 0 and failed[0]["error_tail"]


@pytest.mark.slow
def test_gpu_recipe_runs_on_the_cpu_and_records_compile_time_apart(tmp_path):
    write_batches_dir(tmp_path / "data", official_batches(per_batch=64))
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks.gpu", "--seeds", "1", "--epochs", "2", "--batch-size", "32",
               "--width", "4", "--train-size", "128", "--test-size", "50", "--data-dir", str(tmp_path / "data"),
               "--out", str(out)]
    env = os.environ | {"KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2", **FAST_XLA}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    [path] = out.glob("gpu-resnet9-seed1-*.json")
    record = json.loads(path.read_text())
    assert record["backend"] == "jax" and record["precision"] == "mixed_bfloat16"
    assert record["train_images"] == 128 and record["test_images"] == 50 and record["epochs"] == 2
    assert [p["epoch"] for p in record["curve"]] == [1, 2]
    assert record["compile_seconds"] > 0 and 0 < record["train_seconds"] < record["wall_seconds"]
    assert record["curve"][-1]["train_seconds"] == record["train_seconds"]
    assert 0.0 <= record["test_accuracy"] <= 1.0 and record["test_accuracy"] == record["curve"][-1]["test_accuracy_flip"]
    assert record["target"] == [0.94, 30] and record["target_clock"] == "train_seconds"
    assert record["params"] > 0
    # Readable by the same summary as the CPU records.
    [row] = summarize(load_records(out))
    assert row["recipe"] == "gpu-resnet9" and row["target_met"] is False


@pytest.mark.slow
def test_backend_benchmark_times_each_configuration_and_records_medians(tmp_path):
    from benchmarks.backends import configurations, summarize

    assert configurations(["tensorflow", "jax", "torch"]) == [
        {"backend": "tensorflow", "xla": xla, "precision": p} for xla in (False, True)
        for p in ("float32", "mixed_bfloat16")] + [
        {"backend": "jax", "xla": True, "precision": p} for p in ("float32", "mixed_bfloat16")] + [
        {"backend": "torch", "xla": False, "precision": p} for p in ("float32", "mixed_bfloat16")]
    base = {"backend": "tensorflow", "xla": False, "precision": "float32"}
    fast = {"backend": "jax", "xla": True, "precision": "float32"}
    rounds = [{"results": [{**base, "models": {"cnn": {"images_per_second": v}}},
                           {**fast, "models": {"cnn": {"images_per_second": 2 * v}}}]} for v in (100, 300, 200)]
    by_backend = {row["backend"]: row for row in summarize(rounds)}
    assert by_backend["tensorflow"]["images_per_second"] == 200 and by_backend["jax"]["ratio_to_tensorflow_float32"] == 2

    out = tmp_path / "backends"
    command = [sys.executable, "-m", "benchmarks.backends", "--backends", "jax", "--models", "cnn", "--rounds", "1",
               "--warmup", "1", "--steps", "2", "--batch-size", "8", "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=os.environ | FAST_XLA)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [path] = out.glob("backends-*.json")
    record = json.loads(path.read_text())
    assert [(r["backend"], r["precision"]) for r in record["rounds"][0]["results"]] == [
        ("jax", "float32"), ("jax", "mixed_bfloat16")]
    for row in record["summary"]:
        assert row["model"] == "cnn" and row["images_per_second"] > 0 and row["rounds"] == 1
    assert record["command"].startswith("python -m benchmarks.backends --backends jax")
    bad = subprocess.run(command[:3] + ["--steps", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--steps must be a positive integer, got 0" in bad.stderr


def test_a_recipe_is_timed_only_on_its_own_backend(capsys):
    import keras

    from benchmarks.run import main
    from cvtutor.recipes import RECIPES

    other = next(r for r in RECIPES.values() if r.backend != keras.backend.backend())
    with pytest.raises(SystemExit) as stop:
        main([other.name, "--train-size", "8"])
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"{other.name} runs on {other.backend}, but Keras runs on {keras.backend.backend()} here" in error
