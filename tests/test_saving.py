"""A saved model loads with plain ``keras.saving.load_model`` in a fresh process after ``import cvtutor``.

Readers save models with ``model.save`` and load them in another script or notebook; cvtutor's
layers and losses must be found there without ``custom_objects`` and without importing
cvtutor's submodules by hand, whichever of ``keras`` and ``cvtutor`` is imported first.
"""

import subprocess
import sys

import pytest

from cvtutor.models import MODELS

SAVE = """
import sys
import numpy as np
import keras
import cvtutor
from cvtutor.losses import SmoothedSparseCrossentropy
from cvtutor.models import build_model

folder = sys.argv[1]
x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
np.save(f"{folder}/x.npy", x)
for name in sys.argv[2:]:
    keras.utils.set_random_seed(0)
    model = build_model(name)
    model.save(f"{folder}/{name}.keras")
    np.save(f"{folder}/{name}.npy", model.predict(x, verbose=0))
model = build_model("cnn")
model.compile(optimizer="adam", loss=SmoothedSparseCrossentropy(0.1), metrics=["accuracy"])
model.fit(x, np.array([1, 2]), epochs=1, verbose=0)
model.save(f"{folder}/compiled.keras")
np.save(f"{folder}/compiled.npy", model.predict(x, verbose=0))
"""

# The reader's script: nothing from cvtutor but the package itself, imported before or after keras.
# One process loads every model asked for (a TensorFlow start-up each would cost seconds) and
# prints one line per model, so that each model's test names its own failure.
LOAD = """
import sys, traceback
import numpy as np
{imports}
folder, compile, names = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
x = np.load(f"{{folder}}/x.npy")
for name in names:
    try:
        model = keras.saving.load_model(f"{{folder}}/{{name}}.keras", compile=compile)
        np.testing.assert_allclose(model.predict(x, verbose=0), np.load(f"{{folder}}/{{name}}.npy"),
                                   rtol=1e-5, atol=1e-5)
        if compile:
            assert type(model.loss).__name__ == "SmoothedSparseCrossentropy", model.loss
            assert abs(model.loss.label_smoothing - 0.1) < 1e-9
            model.evaluate(x, np.array([1, 2]), verbose=0)  # the loss and optimizer work after loading
        print("loaded", name)
    except Exception:
        print("failed", name, traceback.format_exc().replace("\\n", " | "))
"""


def _python(code, *args, cwd):
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved-models")
    _python(SAVE, folder, *MODELS, cwd=folder)
    return folder


@pytest.fixture(scope="module")
def loaded_after_import_cvtutor(saved):
    return _python(LOAD.format(imports="import cvtutor\nimport keras"), saved, 0, *sorted(MODELS), cwd=saved)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.slow
def test_every_builders_model_loads_with_plain_keras_after_import_cvtutor(loaded_after_import_cvtutor, name):
    [line] = [line for line in loaded_after_import_cvtutor.splitlines() if line.split()[1:2] == [name]]
    assert line == f"loaded {name}", line


@pytest.mark.slow
def test_a_model_compiled_with_the_smoothed_loss_loads_compiled(saved):
    out = _python(LOAD.format(imports="import keras\nimport cvtutor"), saved, 1, "compiled", cwd=saved)
    assert out.splitlines()[-1] == "loaded compiled", out


@pytest.mark.slow
def test_without_import_cvtutor_keras_cannot_find_the_layers(saved):
    """The check above could fail: plain Keras alone does not know cvtutor's layers."""
    out = _python(LOAD.format(imports="import keras"), saved, 0, "attention", cwd=saved)
    assert out.startswith("failed attention") and "Could not locate class" in out, out


def test_import_cvtutor_still_imports_neither_keras_nor_tensorflow():
    code = "import sys, cvtutor; assert not {'keras', 'tensorflow'} & set(sys.modules), sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
