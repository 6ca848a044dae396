"""The benchmark harness runs end to end on a tiny subset and writes a valid record (no timing asserted)."""

import json
import os
import subprocess
import sys

from cifar_fakes import official_batches, write_batches_dir
from conftest import ROOT


def test_harness_writes_a_record_per_recipe_and_seed(tmp_path):
    write_batches_dir(tmp_path / "data", official_batches(per_batch=64))
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks.run", "tf-tutorial", "article-cnn-pipeline", "--seeds", "3",
               "--train-size", "200", "--test-size", "64", "--epochs", "2",
               "--data-dir", str(tmp_path / "data"), "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    records = {json.loads(p.read_text())["recipe"]: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert set(records) == {"tf-tutorial", "article-cnn-pipeline"}
    assert not list(out.glob("*.tmp"))
    for record in records.values():
        assert record["seed"] == 3 and record["epochs"] == 2 and record["train_images"] == 200
        assert record["test_images"] == 64 and record["params"] == 122_570
        assert [p["epoch"] for p in record["curve"]] == [1, 2]
        assert 0 < record["load_seconds"] < record["curve"][0]["seconds"] <= record["curve"][1]["seconds"]
        assert record["curve"][1]["seconds"] <= record["wall_seconds"]
        assert 0.0 <= record["test_accuracy"] <= 1.0 and record["test_accuracy"] == record["curve"][-1]["test_accuracy"]
        assert record["images_per_second"] > 0 and record["peak_rss_mib"] > 0
        assert record["data_source"].startswith("extracted official batches")
        assert "benchmarks.run tf-tutorial article-cnn-pipeline" in record["command"]
        assert {"keras", "numpy", "python"} <= set(record["versions"]) and record["backend"]
    assert records["tf-tutorial"]["batch_size"] == 32
