"""``herdref validate`` command lines run in processes forked from one interpreter that has
already imported the checker and built the grammar's parse tables.

Why: a ``python3 -m herdref validate`` start costs about one second of CPU before the first
byte goes to the herd (aiohttp for the Places fixture, the checks, Lark's LALR tables), against
about 0.4 s for the quick checks of a small herd that follow. The corpus runs validate on every
herd of ``manifest.toml``; on the two cores CI has, those starts alone were several minutes of
the run. A forked child runs the same ``herdref.tools.cli.main`` with the same arguments, cwd and
environment, writes its output to files, and ends as any interpreter ends (threads joined, exit
handlers run); only the import is shared. Every other e2e test still starts validate with
``python3 -m herdref``, so the real entry point stays covered.

The interpreter is this file run as a script. It reads one JSON request per line on stdin and
answers on stdout, single-threaded (a thread could hold a lock that the forked child would then
never see released):

    request:  {"id": 1, "argv": [...], "cwd": "...", "env": {...}, "stdout": PATH, "stderr": PATH}
    answers:  {"id": 1, "pid": 4242}    then    {"id": 1, "returncode": 0}
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: How long a run over its time has to write its threads' stacks, and then to be reaped once
#: killed (a kill is reaped at once: more means the warm interpreter has stopped answering).
_STACKS_WRITTEN_S = 1.0
_REAPED_S = 10.0
#: What a validate run imports and builds before it talks to a herd: the cost shared by forking.
_PRELOADED = (
    "herdref.tools.cli",
    "herdref.tools.validate",
    "herdref.checker.checks",
    "herdref.checker.runner",
    "herdref.places.fixture",
    "importlib.metadata",
)


def _serve() -> None:
    """The warm interpreter's loop: start a forked validate per request, report each exit."""
    import importlib

    for module in _PRELOADED:
        importlib.import_module(module)
    from herdref.protocol import lark_parser

    lark_parser()

    # SIGCHLD wakes the selector through this pipe, so exits are reported as they happen.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    pending = b""
    running: dict[int, int] = {}  # pid -> request id

    def answer(message: dict[str, Any]) -> None:
        os.write(sys.stdout.fileno(), json.dumps(message).encode() + b"\n")

    while True:
        for key, _ in selector.select():
            if key.fd == wake_read:
                os.read(wake_read, 4096)
                continue
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:  # the test session ended: children still running are its to kill
                return
            pending += chunk
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _become_validate(request)  # never returns
                running[pid] = request["id"]
                answer({"id": request["id"], "pid": pid})
        while running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            answer({"id": running.pop(pid), "returncode": os.waitstatus_to_exitcode(status)})


def _become_validate(request: dict[str, Any]) -> None:
    """In the forked child: become ``herdref validate`` with the request's argv and files."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()  # the caller's environment as it is now, as a new process would get it
    os.environ.update(request["env"])
    tempfile.tempdir = None  # found again from TMPDIR, as a new process would
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    # Fresh text streams: the parent's objects (and any lock state in them) stay behind.
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.argv = ["herdref", *request["argv"]]
    # A run over its time is sent SIGUSR1 before it is killed: every thread's stack goes to its
    # stderr, so the test's failure shows where it stood, not only that it ran over.
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    from herdref.tools.cli import main

    # Raised through the parent's loop to the top: the interpreter then ends as any does.
    raise SystemExit(main(request["argv"]))


@dataclass
class _Run:
    started: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    pid: int = 0
    returncode: int | None = None


class WarmValidate:
    """A warm interpreter, and :meth:`run`, which is ``subprocess.run`` for validate argv."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self._process = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._writing = threading.Lock()
        self._runs: dict[int, _Run] = {}
        self._next_id = 0
        self._reader = threading.Thread(target=self._read_answers, daemon=True)
        self._reader.start()

    def _read_answers(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            message = json.loads(line)
            run = self._runs[message["id"]]
            if "pid" in message:
                run.pid = message["pid"]
                run.started.set()
            else:
                run.returncode = message["returncode"]
                run.ended.set()
        for run in list(self._runs.values()):  # the interpreter died: nothing more will come
            run.started.set()
            run.ended.set()

    def run(self, argv: Sequence[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run ``herdref <argv>`` in ``cwd``; raises :class:`subprocess.TimeoutExpired` (after
        killing it) when it runs over ``timeout`` s, as ``subprocess.run`` does."""
        with self._writing:
            self._next_id += 1
            number = self._next_id
            run = self._runs[number] = _Run()
            outputs = self.scratch / f"validate-{number}.out", self.scratch / f"validate-{number}.err"
            request = {"id": number, "argv": list(argv), "cwd": str(cwd), "env": dict(os.environ)}
            request |= {"stdout": str(outputs[0]), "stderr": str(outputs[1])}
            stdin: IO[bytes] | None = self._process.stdin
            assert stdin is not None
            stdin.write(json.dumps(request).encode() + b"\n")
            stdin.flush()
        finished = run.ended.wait(timeout)
        if not finished and run.started.wait(0) and run.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(run.pid, signal.SIGUSR1)  # its threads' stacks, to its stderr
                run.ended.wait(_STACKS_WRITTEN_S)
                os.kill(run.pid, signal.SIGKILL)
            if not run.ended.wait(_REAPED_S):
                raise RuntimeError(f"validate run {number} (pid {run.pid}) was killed and never reaped")
        stdout, stderr = (path.read_text(errors="replace") if path.exists() else "" for path in outputs)
        if not finished:
            raise subprocess.TimeoutExpired(["herdref", *argv], timeout, stdout, stderr)
        if run.returncode is None:
            raise RuntimeError(f"the warm validate interpreter died (exit {self._process.poll()})")
        return subprocess.CompletedProcess(["herdref", *argv], run.returncode, stdout, stderr)

    def __enter__(self) -> WarmValidate:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(10)
        if self._process.stdout is not None:
            self._process.stdout.close()


_shared: list[WarmValidate] = []


def shared() -> WarmValidate:
    """This process's one warm interpreter, started on first use (closed by :func:`close_shared`,
    which tests/e2e/conftest.py calls as the session ends)."""
    if not _shared:
        _shared.append(WarmValidate(Path(tempfile.mkdtemp(prefix="herdref-warm-validate-"))))
    return _shared[0]


def close_shared() -> None:
    while _shared:
        warm = _shared.pop()
        warm.close()
        shutil.rmtree(warm.scratch, ignore_errors=True)


if __name__ == "__main__":
    _serve()
