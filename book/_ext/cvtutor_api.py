"""Sphinx settings for the API reference appendix (book/api/) that _config.yml cannot express.

Loaded through ``sphinx: local_extensions:`` in _config.yml. Two autodoc hooks:

- The pages ask for ``:undoc-members:``, so that every public name of a module gets an entry,
  docstring or not (tests/test_api_docs.py checks that). Inside a class, though, only documented
  members are listed: the undocumented overrides of Keras's API (``build``, ``call``,
  ``get_config``) and dataclass fields (described under the class's Attributes) would only
  repeat what the class's entry says.
- Google-style Attributes may describe two fields on one line (``test_loss, test_accuracy: ...``);
  napoleon splits such lines under Args but not under Attributes, so they become one field per
  name here, each with the shared description.
- Keras layers, losses and models inherit ``__new__(cls, *args, **kwargs)`` from Keras, which
  autodoc reads before ``__init__``: their entries would all show ``(*args, **kwargs)``. They show
  the arguments of their ``__init__`` instead.
"""

from __future__ import annotations

import inspect
import re

from sphinx.util.inspect import signature as sphinx_signature
from sphinx.util.inspect import stringify_signature


def skip_undocumented_class_members(app, what, name, obj, skip, options):
    """autodoc-skip-member: inside a class, leave out members without a docstring of their own."""
    if what in ("class", "exception") and not skip and not _has_own_doc(obj):
        return True
    return None


def _has_own_doc(obj) -> bool:
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if inspect.isroutine(obj) or isinstance(obj, property) or inspect.isclass(obj):
        return bool(getattr(obj, "__doc__", None))
    return False  # a plain value (a dataclass field's default): its __doc__ is its type's


def split_shared_fields(app, what, name, obj, options, lines):
    """autodoc-process-docstring, after napoleon: ``:ivar a, b: text`` becomes one field per name."""
    out, i = [], 0
    while i < len(lines):
        field = re.match(r"^:ivar ([\w ]+(?:, *[\w ]+)+): (.*)$", lines[i])
        if not field:
            out.append(lines[i])
            i += 1
            continue
        body = [field.group(2)]
        i += 1
        while i < len(lines) and lines[i][:1].isspace():
            body.append("    " + lines[i].strip())
            i += 1
        for var in field.group(1).split(","):
            out += [f":ivar {var.strip()}: {body[0]}", *body[1:]]
    lines[:] = out


def init_signature(app, what, name, obj, options, signature, return_annotation):
    """autodoc-process-signature: a Keras class's own ``__init__`` arguments, not ``*args, **kwargs``."""
    if what not in ("class", "exception") or signature != "(*args, **kwargs)":
        return None
    if not any(base.__module__.split(".")[0] == "keras" for base in inspect.getmro(obj)[1:]):
        return None
    try:
        sig = sphinx_signature(obj.__init__, bound_method=True)
    except (TypeError, ValueError):
        return None
    show_annotation = app.config.autodoc_typehints not in ("none", "description")
    return stringify_signature(sig, show_annotation=show_annotation, show_return_annotation=False), return_annotation


def setup(app):
    app.connect("autodoc-skip-member", skip_undocumented_class_members)
    app.connect("autodoc-process-signature", init_signature)
    app.connect("autodoc-process-docstring", split_shared_fields, priority=600)  # napoleon: 500
    return {"parallel_read_safe": True, "parallel_write_safe": True}
