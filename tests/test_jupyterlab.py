"""A chapter notebook opens and runs in a real JupyterLab, as it is committed.

The test starts JupyterLab on a free loopback port (token auth, private runtime/config/data
folders), opens ``book/background.ipynb`` through the contents API, starts a kernel for it
through the sessions API, runs every code cell over the kernel's websocket in the Jupyter
messaging protocol, and checks each reply: ``ok``, or ``error`` for a cell tagged
``raises-exception``. Every paragraph that quotes numbers through ``{glue:text}`` references
(shown unrendered in JupyterLab) must have, just above it, an output that shows each of those
numbers as the book's text formats it (the cell ``tools/sync_book.py`` writes; #17, item 9).
Then it shuts the server down and checks that no process it started (the server, the kernel)
is left.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import REAL_DATA, ROOT

from cvtutor.notebook import format_glued, parse_glue_ref

sys.path.insert(0, str(ROOT / "tools"))
import sync_book  # noqa: E402

websocket = pytest.importorskip("websocket")  # websocket-client, a dependency of jupyterlab

NOTEBOOK = "book/background.ipynb"
START_TIMEOUT = 120  # seconds for the server to answer; the CI machine is small and busy
CELL_TIMEOUT = 300  # seconds for one cell
STOP_TIMEOUT = 30  # seconds for the server and its kernel to exit


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (from /proc), e.g. the kernels a server started."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class JupyterLab:
    """A JupyterLab server process and a small client for its REST API."""

    def __init__(self, workdir: Path):
        self.token = secrets.token_hex(24)
        self.runtime = workdir / "runtime"
        self.log = workdir / "jupyterlab.log"
        env = dict(
            os.environ,
            JUPYTER_RUNTIME_DIR=str(self.runtime),
            JUPYTER_CONFIG_DIR=str(workdir / "config"),
            JUPYTER_DATA_DIR=str(workdir / "data"),
            IPYTHONDIR=str(workdir / "ipython"),
            CVTUTOR_DATA=REAL_DATA or "",
        )
        env.setdefault("CVTUTOR_PROFILE", "quick")
        env.pop("CVTUTOR_CACHE", None)  # the user's cache, as in a reader's JupyterLab
        command = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", "--allow-root",
            "--ip=127.0.0.1", "--port=0", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={ROOT}",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.base = self._wait_until_serving()
        self.seen: set[int] = {self.process.pid}

    def note_processes(self) -> None:
        """Remember the server's processes now (e.g. a kernel), to check they are gone at the end."""
        self.seen |= descendants(self.process.pid)

    def _wait_until_serving(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        info = self.runtime / f"jpserver-{self.process.pid}.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            if info.is_file():
                try:
                    port = json.loads(info.read_text())["port"]
                    base = f"http://127.0.0.1:{port}/"
                    urllib.request.urlopen(self._request(base + "api/status"), timeout=10).close()
                    return base
                except (ValueError, KeyError, OSError):
                    pass  # the file is half written, or the server not yet answering
            time.sleep(0.5)
        pytest.fail(f"JupyterLab did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def _request(self, url: str, method: str = "GET", body=None) -> urllib.request.Request:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        request.add_header("Content-Type", "application/json")
        return request

    def api(self, path: str, method: str = "GET", body=None):
        with urllib.request.urlopen(self._request(self.base + path, method, body), timeout=60) as response:
            text = response.read()
            is_json = "json" in (response.headers["Content-Type"] or "")
            return response.status, (json.loads(text) if text and is_json else text)

    def stop(self) -> set[int]:
        """Shut down through the API (kernels first); returns the processes still alive after."""
        self.note_processes()
        started = set(self.seen)
        if self.process.poll() is None:
            try:
                self.api("api/shutdown", "POST")
            except OSError:
                pass
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and any(alive(pid) for pid in started):
            time.sleep(0.2)
        left = {pid for pid in started if alive(pid)}
        for pid in left:  # only processes this test started
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.wait(timeout=10)
        return left


@pytest.fixture
def jupyterlab(tmp_path):
    if not REAL_DATA:
        pytest.skip("the chapter reads CIFAR-10: set CVTUTOR_DATA")
    server = JupyterLab(tmp_path)
    try:
        yield server
    finally:
        left = server.stop()
        assert not left, f"processes left running after the shutdown: {sorted(left)}"
        assert server.process.returncode == 0, f"JupyterLab exited with {server.process.returncode}:\n{server.log_tail()}"


def execute(ws, session: str, code: str, stop_on_error: bool, shown: list[str] | None = None) -> tuple[str, list[str]]:
    """Run ``code`` through the kernel's shell channel; returns the reply's status and any tracebacks.

    The text the cell shows (printed lines, ``text/plain`` of its displays and result) is
    appended to ``shown``.
    """
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "test",
                   "version": "5.3", "date": datetime.now(timezone.utc).isoformat()},
        "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": stop_on_error},
    }))  # fmt: skip
    errors = []
    deadline = time.monotonic() + CELL_TIMEOUT
    # The reply (shell) can overtake the outputs (iopub) on the websocket: wait for both the reply
    # and the kernel's "idle" status for this request, which comes after all of its outputs.
    reply, idle = None, False
    while reply is None or not idle:
        ws.settimeout(max(1.0, deadline - time.monotonic()))
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            errors.append("\n".join(msg["content"]["traceback"])[-3000:])
        if shown is not None and msg["msg_type"] == "stream":
            shown.append(msg["content"]["text"])
        if shown is not None and msg["msg_type"] in ("display_data", "execute_result"):
            shown.append(msg["content"]["data"].get("text/plain", ""))
        if msg["channel"] == "shell" and msg["msg_type"] == "execute_reply":
            reply = msg["content"]["status"]
        if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
            idle = True
    return reply, errors


@pytest.mark.slow
def test_background_chapter_runs_in_jupyterlab(jupyterlab):
    status, page = jupyterlab.api(f"lab/tree/{NOTEBOOK}")
    assert status == 200 and b"JupyterLab" in page, "JupyterLab does not serve its page for the notebook"

    status, model = jupyterlab.api(f"api/contents/{NOTEBOOK}?content=1")
    assert status == 200 and model["type"] == "notebook" and model["format"] == "json"
    all_cells = model["content"]["cells"]
    cells = [c for c in all_cells if c["cell_type"] == "code"]
    assert cells, f"{NOTEBOOK} has no code cells"
    quoting = [c for c in all_cells if c["cell_type"] == "markdown" and sync_book.glue_refs(_text(c))]
    assert quoting, f"{NOTEBOOK} quotes no glued numbers: the check below would prove nothing"

    status, session = jupyterlab.api(
        "api/sessions", "POST", {"path": NOTEBOOK, "name": Path(NOTEBOOK).name, "type": "notebook", "kernel": {"name": "python3"}}
    )
    assert status == 201, session
    kernel = session["kernel"]["id"]
    jupyterlab.note_processes()
    assert len(jupyterlab.seen) > 1, "no kernel process under the server"
    ws = websocket.create_connection(
        jupyterlab.base.replace("http", "ws", 1) + f"api/kernels/{kernel}/channels?session_id={session['id']}",
        header=[f"Authorization: token {jupyterlab.token}"],
        timeout=60,
    )
    try:
        client_session = uuid.uuid4().hex
        number, above = 0, None  # the text shown by the code cell just above, if it is just above
        for cell in all_cells:
            if cell["cell_type"] == "markdown":
                refs = sync_book.glue_refs(_text(cell))
                if refs:
                    check_quoted_numbers(ws, client_session, refs, above, _text(cell))
                above = None
                continue
            number += 1
            source = _text(cell)
            expect_error = "raises-exception" in cell.get("metadata", {}).get("tags", [])
            shown: list[str] = []
            status, errors = execute(ws, client_session, source, stop_on_error=not expect_error, shown=shown)
            above = "".join(shown)
            where = f"{NOTEBOOK}, code cell {number}:\n{source[:300]}"
            if expect_error:
                assert status == "error", f"a cell tagged raises-exception raised nothing: {where}"
            else:
                assert status == "ok", f"{where}\n" + "\n".join(errors)
    finally:
        ws.close()
    status, _ = jupyterlab.api(f"api/sessions/{session['id']}", "DELETE")
    assert status == 204
    status, kernels = jupyterlab.api("api/kernels")
    assert kernels == [], f"kernels still running after the session was closed: {kernels}"


def _text(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def check_quoted_numbers(ws, session: str, refs: list[str], above: str | None, paragraph: str) -> None:
    """The output just above ``paragraph`` shows each of its glue references' values, formatted
    as the book formats them, from the values the kernel glued."""
    where = f"the paragraph {paragraph[:120]!r}"
    assert above is not None, f"no code cell with an output just above {where}"
    shown: list[str] = []
    status, errors = execute(ws, session, "import json\nfrom cvtutor.notebook import GLUED, _plain_text\n"
                             "print(json.dumps({k: _plain_text(v) for k, v in GLUED.items()}))",
                             stop_on_error=True, shown=shown)
    assert status == "ok", errors
    glued = json.loads("".join(shown))
    flat = " ".join(above.split())
    for ref in refs:
        notebook, name, spec = parse_glue_ref(ref)
        assert notebook is None, f"{ref}: this test's chapter quotes only its own numbers"
        assert name in glued, f"{ref} in {where} was not glued before it"
        number = " ".join(format_glued(glued[name], spec).split())
        assert f"{name} = {number}" in flat, f"{ref} = {number!r} is not shown above {where}; shown:\n{above}"
