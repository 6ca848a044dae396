"""The numbers of the book's latest full build, shipped with the package as its reference values.

A chapter opened alone (Colab, a download) that quotes another chapter's number cannot show it
until the reader has run that chapter; a reader of the quick profile does not know what a full
run gives. So the glued values of a full-profile build (myst-nb's ``jupyter_execute/**/*.glue.json``,
each value's ``text/plain``) go into ``cvtutor/resources/reference_values.json``, with the
build they came from; :func:`cvtutor.notebook.quoted_values` shows them, labelled as the book's
full build, where the reader's own run has not computed them::

    python tools/book.py reference-values _build/jupyter_execute --record benchmarks/results/rebuilds/full-....json
"""

from __future__ import annotations

import json
from pathlib import Path

from notebook_files import ROOT, update_text

RESOURCE = ROOT / "cvtutor" / "resources" / "reference_values.json"


def collect(executed: Path) -> dict[str, dict[str, str]]:
    """``{notebook file name: {glue name: text/plain}}`` from a build's ``jupyter_execute`` folder.

    Raises:
        ValueError: the folder holds no glue data (not a build's ``jupyter_execute``).
    """
    found = {}
    for path in sorted(Path(executed).rglob("*.glue.json")):
        glued = json.loads(path.read_text(encoding="utf-8"))
        values = {name: output["data"]["text/plain"] for name, output in glued.items()
                  if "text/plain" in output.get("data", {})}
        if values:
            found[path.name.removesuffix(".glue.json") + ".ipynb"] = dict(sorted(values.items()))
    if not found:
        raise ValueError(f"{executed} holds no glued values (*.glue.json): give a build's jupyter_execute folder")
    return found


def resource_text(executed: Path, record: dict) -> str:
    """The resource's JSON: the build (profile, commit, when, the command that made it) and the values.

    Raises:
        ValueError: the record is not of a full-profile build.
    """
    if record.get("profile") != "full":
        raise ValueError(f"reference values come from a full-profile build; the record says {record.get('profile')!r}")
    build = {"profile": "full", "commit": record.get("commit"), "finished": record.get("finished"),
             "command": record.get("command")}
    return json.dumps({"build": build, "chapters": collect(executed)}, indent=1, ensure_ascii=False,
                      sort_keys=True) + "\n"


def write(executed: Path, record_path: Path, check: bool = False) -> bool:
    """Write the resource (or, with ``check``, only say whether it differs); True when it differed."""
    record = json.loads(Path(record_path).read_text(encoding="utf-8"))
    return update_text(RESOURCE, resource_text(executed, record), write=not check)
