"""cvtutor: the tested code behind *Large Models in Computer Vision*.

Submodules (import what you use; ``import cvtutor`` itself does not import
TensorFlow or Keras):

- :mod:`cvtutor.data`: CIFAR-10 loading (offline copies, the Keras download)
  and ``tf.data`` input pipelines.
- :mod:`cvtutor.profiles`: the ``quick``/``full`` run profiles.
- :mod:`cvtutor.reference`: NumPy-only reference implementations of the formulas.
- :mod:`cvtutor.layers`: ``SelfAttention`` and the Vision Transformer parts.
- :mod:`cvtutor.models`: the book's CNN, RNN, attention and ViT classifiers.
- :mod:`cvtutor.training`: the training loop: seeding, compiling, fitting, evaluating.
- :mod:`cvtutor.prediction`: logits, with test-time flips and shifts.
- :mod:`cvtutor.resume`: a run into a ``.keras`` file that resumes after a kill
  (its epoch backups: :mod:`cvtutor.backups`).
- :mod:`cvtutor.modelfiles`: atomic saving and safe loading of ``.keras`` files.
- :mod:`cvtutor.plots`: the book's figures.
- :mod:`cvtutor.cli`: the ``cvtutor`` command.

After ``import cvtutor``, ``keras.saving.load_model`` can read a model that
uses cvtutor's layers or losses: they are registered (under the package name
``cvtutor``) as soon as Keras is imported, before or after cvtutor.
"""

from importlib import metadata as _metadata

from cvtutor._registration import register_with_keras_when_imported as _register
from cvtutor.profiles import Profile, get_profile

try:
    __version__ = _metadata.version("cvtutor")  # one source of truth: pyproject.toml
except _metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0+unknown"

_register()

__all__ = ["Profile", "get_profile", "__version__"]
