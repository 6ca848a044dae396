"""The machine a number was measured on: cores, vector instructions, Keras and its backend.

Every chapter prints :func:`hardware` before it times anything, so that a reader can tell a
number measured on a laptop from one measured on a server.
"""

from __future__ import annotations

from pathlib import Path


def cpu_features() -> list[str]:
    """The CPU's vector-instruction flags that decide how fast it trains (``avx2``, ``fma``,
    ``avx512*``, ``amx*``; e.g. ``avx512_bf16`` for bfloat16 arithmetic), sorted; read from
    ``/proc/cpuinfo`` (Linux), an empty list where that is not available."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return sorted(f for f in set(flags) if f.startswith(("avx512", "amx", "avx2", "fma")))


def hardware() -> str:
    """A one-line description of this machine, for stating where numbers were measured
    (``"x86_64, 2 CPU cores, Keras 3.15.1 on tensorflow"``; in both languages:
    :func:`cvtutor.verdicts.this_machine`)."""
    from cvtutor.verdicts import this_machine  # the words, in both languages

    return this_machine().en
