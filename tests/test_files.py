"""One atomic-write helper for every file cvtutor writes: whole or absent, with plain-write permissions."""

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cvtutor.files import atomic_path, atomic_write, plain_write_mode


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture()
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_file_gets_what_a_plain_write_gives(tmp_path, umask_022):
    with atomic_write(tmp_path / "a.json", "w") as f:
        f.write("{}")
    (tmp_path / "plain.json").write_text("{}")
    assert mode_of(tmp_path / "a.json") == mode_of(tmp_path / "plain.json") == 0o644
    os.umask(0o077)
    with atomic_write(tmp_path / "private.bin") as f:
        f.write(b"x")
    assert mode_of(tmp_path / "private.bin") == 0o600


def test_existing_file_keeps_its_mode(tmp_path, umask_022):
    target = tmp_path / "shared.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and mode_of(target) == 0o640
    assert plain_write_mode(target) == 0o640 and plain_write_mode(tmp_path / "none") == 0o644


def test_an_error_inside_the_block_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "record.json"
    target.write_text('{"old": 1}')
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as f:
            f.write('{"half')
            raise RuntimeError("disk on fire")
    assert json.loads(target.read_text()) == {"old": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]


def test_atomic_path_suffix_and_a_writer_that_wrote_nothing(tmp_path):
    target = tmp_path / "sub" / "w.weights.h5"
    with atomic_path(target, suffix=".weights.h5") as tmp:
        assert tmp.parent == target.parent and tmp.name.endswith(".weights.h5") and tmp.name.startswith(".")
        tmp.write_bytes(b"data")
    assert target.read_bytes() == b"data"
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "x.bin") as tmp:
            tmp.unlink()  # a writer that failed silently: nothing must replace the target
    assert not (tmp_path / "x.bin").exists()
    with pytest.raises(ValueError, match="mode must be one of 'w', 'wb', got 'a'"):
        with atomic_write(tmp_path / "y", "a"):
            pass
    with pytest.raises(TypeError, match="mode must be one of 'w', 'wb', got NoneType None"):
        with atomic_write(tmp_path / "y", None):
            pass


def test_kill_mid_write_leaves_the_previous_file(tmp_path):
    target = tmp_path / "big.bin"
    target.write_bytes(b"A" * 1000)
    script = textwrap.dedent(f"""
        import os, signal
        from cvtutor.files import atomic_write
        with atomic_write({str(target)!r}) as f:
            f.write(b"B" * 10_000_000)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script])
    assert result.returncode == -9
    assert target.read_bytes() == b"A" * 1000


# --- every writer goes through it: model files, caches, records --------------------------------


def test_save_model_gives_0644_like_model_save_and_keeps_0640(tmp_path, umask_022):
    import keras

    from cvtutor.modelfiles import save_model

    tmp_path = tmp_path / "models"
    tmp_path.mkdir()
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    model.save(tmp_path / "plain.keras")
    save_model(model, tmp_path / "ours.keras")
    assert mode_of(tmp_path / "ours.keras") == mode_of(tmp_path / "plain.keras") == 0o644
    (tmp_path / "ours.keras").chmod(0o640)
    save_model(model, tmp_path / "ours.keras")
    assert mode_of(tmp_path / "ours.keras") == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours.keras", "plain.keras"]


def test_cache_npz_gives_0644_and_keeps_0640(tmp_path, umask_022):
    from cvtutor.data import cache

    arrays = (np.zeros((2, 32, 32, 3), np.uint8), np.zeros(2, np.int64))
    path = tmp_path / "c.npz"
    cache.save(path, "f1", arrays, arrays)
    assert mode_of(path) == 0o644
    assert cache.load(path, "f1")[0][0].shape == (2, 32, 32, 3)
    path.chmod(0o640)
    cache.save(path, "f2", arrays, arrays)
    assert mode_of(path) == 0o640 and cache.load(path, "f2") is not None


def test_records_and_train_results_are_written_with_plain_permissions(tmp_path, umask_022):
    tmp_path = tmp_path / "records"
    from cvtutor.records import write_record
    from cvtutor.training import TrainResult

    record = {"finished": "2026-01-01T00:00:00", "recipe": "r", "seed": 0}
    path = write_record(record, tmp_path, "r")
    assert json.loads(path.read_text()) == record and mode_of(path) == 0o644
    TrainResult("m", 1, 1, 1.0, 0.5, 0.5, 10, 10).to_json(tmp_path / "result.json")
    assert mode_of(tmp_path / "result.json") == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_no_writer_keeps_its_own_mkstemp_or_rename():
    """The helper is the one place that renames temporary files into place."""
    root = Path(__file__).resolve().parent.parent / "cvtutor"
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "files.py" and ("mkstemp" in p.read_text() or "os.replace(" in p.read_text())]
    assert offenders == []


def test_a_folder_appears_whole_or_not_at_all(tmp_path):
    from cvtutor.files import atomic_folder

    target = tmp_path / "sub" / "preset"
    with atomic_folder(target) as staging:
        (staging / "config.json").write_text("{}")
        assert not target.exists(), "nothing at the path while the folder is written"
    assert (target / "config.json").read_text() == "{}"
    with pytest.raises(RuntimeError), atomic_folder(tmp_path / "broken") as staging:
        (staging / "half.json").write_text("{")
        raise RuntimeError("the writer failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"], "no half-written folder, no staging left"
