"""Grading a batch: each submission's ``herdref validate`` run as a subprocess, side by side.

Rules:

* A submission can never stop the batch: its validate runs in a subprocess of its own process
  group, under a wall-clock budget; on expiry that group and every server it started (found
  before anything is killed, while they are still its children) are SIGKILLed, and the
  submission's row says so.
* With network namespaces (Linux, root, iproute2) each running job has its own namespace, so
  N jobs use the same hard-coded ports at once; otherwise jobs run one at a time.
* Whatever ends the batch (the last job, Ctrl-C, SIGTERM), every process it started is killed
  and every namespace it added is deleted.
* Each submission's folder under the output directory gets validate's JSON, HTML and JUnit
  reports, its console output (``validate.log``) and its servers' output.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from herdref.checker.processes import signal_group, start_process
from herdref.grading.namespaces import Namespace, NamespaceError
from herdref.grading.points import Points, PointsError, Score, score_report

__all__ = [
    "Batch",
    "GradeSettings",
    "SubmissionResult",
    "find_submissions",
    "kill_tree",
    "log_tail",
    "validate_command",
    "write_fallback_report",
]

logger = logging.getLogger(__name__)

#: validate's exit statuses that say more than "graded" (ExitStatus: USAGE, UNREACHABLE,
#: CHECKER_ERROR, INCOMPLETE); a checker error or a run cut by its time budget keeps its score,
#: but the row says the checker's run, not the herd, fell short.
_STATUS_BY_EXIT: Final = {2: "usage-error", 4: "unreachable", 5: "checker-error", 6: "incomplete"}
_LOG_TAIL_LINES: Final = 30


@dataclass(frozen=True, slots=True)
class GradeSettings:
    launch: str
    config: Path
    out_dir: Path
    points: Points
    #: Wall-clock seconds one submission's validate may take.
    budget_s: float
    #: More validate options (e.g. ``--quick``), appended to each command.
    validate_options: list[str] = field(default_factory=list)
    gradescope: bool = False


@dataclass(slots=True)
class SubmissionResult:
    submission: str
    #: graded, checker-error, timeout, unreachable, usage-error, no-report, garbage-report, start-error.
    status: str
    exit_status: int | None
    elapsed_s: float
    score: Score | None = None
    note: str = ""
    report: dict[str, Any] | None = None

    @property
    def report_dir(self) -> str:
        return self.submission


def find_submissions(root: Path, *, single: bool, out_dir: Path | None = None) -> list[Path]:
    """One folder per submission (sorted; hidden ones and the output folder left out), or
    ``root`` itself."""
    if single:
        return [root]
    skip = out_dir.resolve() if out_dir is not None else None
    return sorted(
        path
        for path in root.iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.resolve() != skip
    )


def validate_command(submission: Path, out: Path, settings: GradeSettings) -> list[str]:
    """The ``herdref validate`` command that grades ``submission`` into ``out``."""
    return [
        sys.executable,
        "-m",
        "herdref",
        "validate",
        "--quiet",
        "--launch",
        settings.launch,
        "--cwd",
        str(submission.resolve()),
        "--config",
        str(settings.config.resolve()),
        "--json",
        str(out / "report.json"),
        "--html",
        str(out / "report.html"),
        "--junit",
        str(out / "report.xml"),
        "--keep-output",
        str(out / "server-output"),
        *settings.validate_options,
    ]


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``process``'s group and everything it started, even in sessions of their own."""
    signal_group(process.pid, signal.SIGSTOP)  # nothing new can be started from here on
    for pid in _descendants(process.pid):
        signal_group(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    signal_group(process.pid, signal.SIGKILL)
    process.wait()


def log_tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def write_fallback_report(out: Path, result: SubmissionResult) -> None:
    """``report.html`` for a submission validate wrote none for (it never came up, outlived its
    budget, crashed the checker): why, validate's last output and each server's."""
    escape = html.escape
    sections = [
        f"<h1>herdref grade: {escape(result.submission)} was not graded</h1>",
        f"<p><b>{escape(result.status)}</b>: {escape(result.note or 'no detail')}</p>",
        f"<h2>herdref validate's output (end)</h2><pre>{escape(log_tail(out / 'validate.log'))}</pre>",
    ]
    for server_log in sorted((out / "server-output").glob("*.log")):
        sections.append(f"<h2>{escape(server_log.name)}</h2><pre>{escape(log_tail(server_log))}</pre>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>herdref grade: "
        f"{escape(result.submission)}</title></head><body>{''.join(sections)}</body></html>\n"
    )
    (out / "report.html").write_text(page, encoding="utf-8")


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


class Batch:
    """Grades submissions with ``jobs`` workers; namespaces when ``use_namespaces``."""

    def __init__(
        self,
        settings: GradeSettings,
        *,
        jobs: int,
        use_namespaces: bool,
        on_result: Callable[[SubmissionResult], None],
    ) -> None:
        self.settings = settings
        self.jobs = jobs if use_namespaces else 1
        self.use_namespaces = use_namespaces
        self.on_result = on_result
        self._lock = threading.Lock()
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._namespaces: dict[str, Namespace] = {}
        self._stopping = threading.Event()

    # ---- one submission ------------------------------------------------------------------

    def grade_one(self, submission: Path, slot: int) -> SubmissionResult:
        name = submission.name
        out = self.settings.out_dir / name
        out.mkdir(parents=True, exist_ok=True)
        # A rerun into the same folder must not show the last run's reports as this one's.
        for stale in ("report.json", "report.html", "report.xml", "results.json"):
            (out / stale).unlink(missing_ok=True)
        shutil.rmtree(out / "server-output", ignore_errors=True)
        command = validate_command(submission, out, self.settings)
        namespace = None
        started = time.monotonic()
        if self.use_namespaces:
            namespace = Namespace(f"herdref-grade-{os.getpid()}-{slot}")
            with self._lock:
                self._namespaces[name] = namespace
            try:
                namespace.create()
            except NamespaceError as exc:
                self._forget(name)
                return SubmissionResult(name, "start-error", None, 0.0, note=f"namespace: {exc}")
            command = namespace.prefix(command)
        # validate and the servers keep their temporary files under a folder of the job's own,
        # removed here whatever ended the job: a validate killed at its budget cannot clean up.
        job_tmp = Path(tempfile.mkdtemp(prefix=f"herdref-grade-{slot}-"))
        try:
            result = self._run(name, command, out, started, job_tmp)
        finally:
            self._forget(name)
            shutil.rmtree(job_tmp, ignore_errors=True)
        if result.score is None:
            # Not graded: the page says why first (validate's own report, if any, stays as JSON).
            write_fallback_report(out, result)
        return result

    def _forget(self, name: str) -> None:
        with self._lock:
            namespace = self._namespaces.pop(name, None)
        if namespace is not None:
            namespace.delete()

    def _run(
        self, name: str, command: list[str], out: Path, started: float, job_tmp: Path
    ) -> SubmissionResult:
        log_path = out / "validate.log"
        environment = {**os.environ, "TMPDIR": str(job_tmp)}
        with log_path.open("wb") as log:
            try:
                process = start_process(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
            except OSError as exc:
                return SubmissionResult(name, "start-error", None, 0.0, note=str(exc))
            with self._lock:
                self._running[name] = process
            where = f"in network namespace {command[3]}" if command[0] == "ip" else "on this host"
            logger.info("%s: checking %s (pid %d): %s", name, where, process.pid, shlex.join(command))
            try:
                exit_status: int | None = process.wait(timeout=self.settings.budget_s)
            except subprocess.TimeoutExpired:
                logger.warning("%s: over its %g s budget, killing it", name, self.settings.budget_s)
                kill_tree(process)
                exit_status = None
            finally:
                with self._lock:
                    self._running.pop(name, None)
        elapsed = round(time.monotonic() - started, 3)
        if exit_status is None:
            note = f"killed after the {self.settings.budget_s:g} s budget"
            return SubmissionResult(name, "timeout", None, elapsed, note=note)
        if self._stopping.is_set():
            return SubmissionResult(name, "interrupted", exit_status, elapsed, note="batch interrupted")
        return self._judge(name, exit_status, out, elapsed)

    def _judge(self, name: str, exit_status: int, out: Path, elapsed: float) -> SubmissionResult:
        report_path = out / "report.json"
        tail = log_tail(out / "validate.log")
        status = _STATUS_BY_EXIT.get(exit_status)
        # Unreachable or a usage error: validate still writes its reports (every check SKIPPED),
        # but nothing was judged, so the submission is not graded and the row says why.
        if not report_path.exists() or status in ("usage-error", "unreachable"):
            note = _last_line(tail) or f"validate exited with status {exit_status} and wrote no report"
            return SubmissionResult(name, status or "no-report", exit_status, elapsed, note=note)
        try:
            document = json.loads(report_path.read_text(encoding="utf-8"))
            if not isinstance(document, dict):
                raise PointsError("the report is not a JSON object")
            score = score_report(document, self.settings.points)
        except (ValueError, OSError) as exc:
            return SubmissionResult(
                name, "garbage-report", exit_status, elapsed, note=f"report.json unreadable: {exc}"
            )
        note = _last_line(tail) if status else ""
        return SubmissionResult(
            name, status or "graded", exit_status, elapsed, score=score, report=document, note=note
        )

    # ---- the batch -----------------------------------------------------------------------

    def stop(self) -> None:
        """Kill every running job and delete every namespace (Ctrl-C, SIGTERM)."""
        self._stopping.set()
        with self._lock:
            running = list(self._running.values())
            namespaces = list(self._namespaces.values())
        for process in running:
            kill_tree(process)
        for namespace in namespaces:
            namespace.delete()

    def run(self, submissions: list[Path]) -> list[SubmissionResult]:
        """Grade every submission; results in the order they finish. Ctrl-C propagates after
        everything started has been killed and removed."""
        results: list[SubmissionResult] = []
        free_slots = list(range(self.jobs))
        pending = list(submissions)
        executor = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grade")
        active: dict[Future[SubmissionResult], int] = {}
        try:
            while pending or active:
                while pending and free_slots and not self._stopping.is_set():
                    slot = free_slots.pop(0)
                    active[executor.submit(self.grade_one, pending.pop(0), slot)] = slot
                # A short timeout keeps the main thread responsive to Ctrl-C.
                done, _ = wait(list(active), timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    free_slots.append(active.pop(future))
                    result = future.result()
                    results.append(result)
                    self.on_result(result)
        except BaseException:
            self.stop()
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        return results
