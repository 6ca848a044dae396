"""Shorten the long lines of the book's code cells without changing what the code does.

A line of a code cell may be at most ``sync_book.LINE`` (88) characters, so that it fits the
page's content column (tests/test_book.py checks it). For each code cell with a longer line:

1. ``ruff format --range`` reformats the statements that hold a long line (needs ruff:
   ``pip install ruff``);
2. a long comment is wrapped onto comment lines (a trailing comment moves above its line);
3. a long string literal inside brackets is split into adjacent literals.

Every changed cell is checked: its syntax tree (comments aside) equals the old one, else the cell
is left as it was. Lines it cannot shorten are listed. ::

    python tools/book.py wrap           # list what it would change
    python tools/book.py wrap --write   # change the notebooks
"""

from __future__ import annotations

import ast
import glob
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

from notebook_files import read_notebook, write_notebook
from sync_book import LINE as MAX, ROOT, is_quoted_cell

RUFF = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))


def src(c):
    return c["source"] if isinstance(c["source"], str) else "".join(c["source"])


def ruff_range(code, line):
    if not os.access(RUFF, os.X_OK):
        return None
    r = subprocess.run([RUFF, "format", "--isolated", f"--line-length={MAX}", f"--range={line}:{line}",
                        "--stdin-filename", "cell.py", "-"], input=code + "\n", capture_output=True, text=True)
    return r.stdout.rstrip("\n") if r.returncode == 0 else None


def ruff_pass(code):
    tried = set()
    while True:
        lines = code.splitlines()
        longs = [n + 1 for n, l in enumerate(lines) if len(l) > MAX and (n + 1, l) not in tried]
        if not longs:
            return code
        n = longs[0]
        tried.add((n, lines[n - 1]))
        new = ruff_range(code, n)
        if new is not None:
            code = new


def comment_pass(code):
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return code
    lines = code.splitlines()
    comments = {t.start[0]: t for t in tokens if t.type == tokenize.COMMENT}
    out = []
    for n, line in enumerate(lines, start=1):
        tok = comments.get(n)
        if len(line) <= MAX or tok is None:
            out.append(line)
            continue
        indent = re.match(r"\s*", line).group(0)
        text = tok.string.lstrip("#").strip()
        before = line[:tok.start[1]].rstrip()
        width = MAX - len(indent) - 2
        wrapped = [f"{indent}# {w}" for w in textwrap.wrap(text, width, break_on_hyphens=False,
                                                            break_long_words=False)]
        if before.strip():  # a trailing comment goes above its line
            out += wrapped + [before]
        else:
            out += wrapped
    return "\n".join(out)


STRING = re.compile(r"^(\s*)(\w+=|else )?([rRbBfFuU]{0,2})(\"|')(.*)\4(\s*[,)\]}]*\s*)$")


def split_body(body, room, is_f):
    """Split a string body at spaces (not inside f-string braces) into pieces of at most room."""
    pieces, start, depth, last_space, i = [], 0, 0, None, 0
    while i < len(body):
        ch = body[i]
        if is_f and body[i:i + 2] in ("{{", "}}"):
            i += 2
            continue
        if is_f and ch == "{":
            depth += 1
        elif is_f and ch == "}":
            depth -= 1
        elif ch == "\\":
            i += 2
            continue
        elif ch == " " and depth == 0:
            last_space = i
        if i - start >= room and last_space is not None and last_space > start:
            pieces.append(body[start:last_space + 1])
            start = last_space + 1
            last_space = None
        i += 1
    pieces.append(body[start:])
    return [p for p in pieces if p]


def string_pass(code):
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return code
    depth_at = {}
    depth = 0
    for t in tokens:
        if t.type == tokenize.OP and t.string in "([{":
            depth += 1
        elif t.type == tokenize.OP and t.string in ")]}":
            depth -= 1
        elif t.type == tokenize.STRING:
            depth_at.setdefault(t.start[0], depth)
    out = []
    for n, line in enumerate(code.splitlines(), start=1):
        m = STRING.match(line)
        if len(line) <= MAX or not m or depth_at.get(n, 0) == 0 or '"""' in line or "'''" in line:
            out.append(line)
            continue
        indent, kw, prefix, quote, body, tail = m.groups()
        kw = kw or ""
        lead = indent + kw
        room = MAX - len(lead) - len(prefix) - 2 - len(tail.strip()) - 1
        pieces = split_body(body, room, "f" in prefix.lower())
        if len(pieces) < 2:
            out.append(line)
            continue
        pad = " " * len(lead)
        for k, p in enumerate(pieces):
            first = lead if k == 0 else pad
            end = tail if k == len(pieces) - 1 else ""
            out.append(f"{first}{prefix}{quote}{p}{quote}{end}")
    return "\n".join(out)


def same_code(a, b):
    a, b = ("\n".join(l for l in x.splitlines() if not l.lstrip().startswith(("%", "!", "#__MAGIC__")))
            for x in (a, b))
    try:
        return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
    except SyntaxError:
        return False


def reformat(code):
    magic = ""
    lines = code.splitlines()
    if lines and lines[0].startswith("%%writefile"):
        magic, code = lines[0] + "\n", "\n".join(lines[1:])
    masked = [l for l in lines if l.lstrip().startswith(("%", "!"))]
    if masked:
        if any(l != l.lstrip() for l in masked):
            return None
        code = "\n".join("#__MAGIC__" + l if l in masked else l for l in lines)
    new = code
    for step in (comment_pass, ruff_pass, string_pass, ruff_pass, string_pass, comment_pass):
        cand = step(new)
        if same_code(new, cand):
            new = cand
    if masked:
        code = code.replace("#__MAGIC__", "")
        new = new.replace("#__MAGIC__", "")
    return magic + new if new != code else None


def wrap(files=None, write: bool = False) -> int:
    """Shorten the long code lines of ``files`` (default: every chapter notebook), printing what
    changed and what is left; the notebooks are rewritten only with ``write``. 1 if long lines are left."""
    files = [Path(f) for f in files] if files else sorted(Path(p) for p in glob.glob(str(ROOT / "book" / "*.ipynb")))
    if not os.access(RUFF, os.X_OK):
        print("ruff not found (pip install ruff): only comments and strings are shortened")
    left_total = 0
    for f in files:
        nb = read_notebook(f)
        changed, left = 0, []
        for i, c in enumerate(nb["cells"]):
            if c["cell_type"] != "code" or is_quoted_cell(c):
                continue
            code = src(c)
            if code.startswith("# Setup: this notebook runs against cvtutor"):
                continue  # written by sync_book.py
            if not any(len(line) > MAX for line in code.splitlines()):
                continue
            new = reformat(code)
            if new is not None:
                c["source"] = new.splitlines(keepends=True)
                changed += 1
            left += [(i, line) for line in src(c).splitlines() if len(line) > MAX]
        print(f"{f.name}: {changed} cells shortened" + (f", {len(left)} long lines left:" if left else ""))
        for i, line in left:
            print(f"    cell {i}: {line}")
        left_total += len(left)
        if write and changed:
            write_notebook(f, nb)
    return 1 if left_total else 0
