"""Registering cvtutor's Keras objects without importing Keras (and TensorFlow) early.

``keras.saving.load_model`` finds a custom layer or loss only once the class is
registered with ``@keras.saving.register_keras_serializable`` (Keras docs,
"Customizing saving and serialization"), that is, once the module defining it
has been imported. ``import cvtutor`` must stay fast and free of TensorFlow
(the command line's ``--help``), so instead of importing those modules it
imports them right after Keras itself finishes importing, whenever that is.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings

# The modules whose import registers every serializable cvtutor object.
MODULES = ("cvtutor.layers", "cvtutor.losses", "cvtutor.contract", "cvtutor.whitening")


def _register_now() -> None:
    for name in MODULES:
        importlib.import_module(name)


class _AfterKerasLoader(importlib.abc.Loader):
    """Runs Keras's own loader, then imports cvtutor's serializable objects."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _KerasImportHook)]
        try:
            _register_now()
        except Exception as e:  # never break `import keras` itself
            warnings.warn(f"cvtutor could not register its Keras layers ({type(e).__name__}: {e}); "
                          "import cvtutor.layers before loading a model that uses them", stacklevel=2)


class _KerasImportHook(importlib.abc.MetaPathFinder):
    """A meta path finder that wraps the loader of the top-level ``keras`` package.

    It stays in place until Keras is actually executed: a mere look-up
    (``importlib.util.find_spec("keras")``, as TensorFlow does) imports nothing.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None:
            spec.loader = _AfterKerasLoader(spec.loader)
        return spec


def register_with_keras_when_imported() -> None:
    """Register cvtutor's layers and losses now if Keras is imported, else right after it is."""
    if "keras" in sys.modules:
        _register_now()
    elif not any(isinstance(finder, _KerasImportHook) for finder in sys.meta_path):
        sys.meta_path.insert(0, _KerasImportHook())
