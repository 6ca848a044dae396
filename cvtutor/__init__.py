"""cvtutor: the tested code behind *Large Models in Computer Vision*.

Submodules (import what you use; ``import cvtutor`` itself does not import
TensorFlow):

- :mod:`cvtutor.data`: CIFAR-10 loading (offline copies, the Keras download)
  and ``tf.data`` input pipelines.
- :mod:`cvtutor.profiles`: the ``quick``/``full`` run profiles.
- :mod:`cvtutor.reference`: NumPy-only reference implementations of the formulas.
- :mod:`cvtutor.layers`: ``SelfAttention`` and the Vision Transformer parts.
- :mod:`cvtutor.models`: the book's CNN, RNN, attention and ViT classifiers.
- :mod:`cvtutor.training`: seeding, compiling, fitting, evaluating.
- :mod:`cvtutor.modelfiles`: atomic saving and safe loading of ``.keras`` files.
- :mod:`cvtutor.plots`: the book's figures.
- :mod:`cvtutor.cli`: the ``cvtutor`` command.
"""

from cvtutor.profiles import Profile, get_profile

__version__ = "0.1.0"

__all__ = ["Profile", "get_profile", "__version__"]
