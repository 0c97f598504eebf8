"""``herdref grade`` end to end: a class of three submissions that all hard-code the same five
ports (a correct herd and two with one bug each), graded side by side in network namespaces
and again one at a time without them; a submission that hangs is killed at its budget with
nothing left running; the Gradescope bundle's scripts grade a submission in a folder laid out
like ``/autograder``.

Every grade is recomputed from the submission's JSON report with the function grade uses.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from herdref.grading.namespaces import namespaces_unavailable
from herdref.grading.points import Points, score_report
from tests.e2e.herd_harness import wait_until, write_herd_file

# One pytest-xdist worker runs this module: its tests assert that no grade namespace is left,
# which a grade of this module running at the same time on another worker would contradict.
pytestmark = pytest.mark.xdist_group("grade")

BAD_HERDS = Path(__file__).parent / "bad_herds"
#: What the e2e budget allows: the quick non-destructive sweep plus the quick fault checks.
VALIDATE_OPTIONS = "--quick --timeout 2 --propagation 3 --startup 15 --skip stateful"
#: The checks that name the class's two bugs (and the dialect step they need): where a test is
#: about how grade runs (one at a time, inside the Gradescope bundle) rather than about what
#: validate finds, the class is graded on these alone. The parallel-namespaces test grades it
#: on the whole quick sweep.
NAMING_CHECKS_ONLY = f"{VALIDATE_OPTIONS} --only invalid-command,invalid-field-count"
#: submission -> (herd file in bad_herds/, the clause its bug breaks; None for the correct one)
CLASS: dict[str, tuple[str, str | None]] = {
    "correct": ("_base.py", None),
    "lowercase": ("lowercase_commands.py", "LEX-4"),
    "field_count": ("no_error_for_field_count.py", "ERR-3"),
}
LAUNCH = f"{sys.executable} server.py {{name}}"


def make_class(tmp_path: Path) -> tuple[Path, Path]:
    """Submission folders whose server.py reads its ports from a herd.toml next to it (the same
    five ports in every folder, as a class's hard-coded ports are); returns (folder, herd file)."""
    herd_file = write_herd_file(tmp_path)
    submissions = tmp_path / "submissions"
    for name, (herd, _) in CLASS.items():
        folder = submissions / name
        folder.mkdir(parents=True)
        shutil.copy(BAD_HERDS / "_base.py", folder / "_base.py")
        shutil.copy(BAD_HERDS / herd, folder / "server.py")
        shutil.copy(herd_file, folder / "herd.toml")
    return submissions, herd_file


def grade(
    *arguments: str, timeout: float = 400, temporary_folder: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = None if temporary_folder is None else {**os.environ, "TMPDIR": str(temporary_folder)}
    return subprocess.run(
        [sys.executable, "-m", "herdref", "grade", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )


def read_grades(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(newline="", encoding="utf-8") as file:
        return {row["submission"]: row for row in csv.DictReader(file)}


def assert_class_graded(out: Path, completed: subprocess.CompletedProcess[str]) -> None:
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    rows = read_grades(out)
    assert sorted(rows) == sorted(CLASS), output
    for name, (_, clause) in CLASS.items():
        row = rows[name]
        assert row["status"] == "graded", row
        folder = out / name
        for report in ("report.json", "report.html", "report.xml", "validate.log", "results.json"):
            assert (folder / report).is_file(), (name, report)
        document = json.loads((folder / "report.json").read_text())
        # The grade is reproducible from the JSON report alone.
        recomputed = score_report(document, Points())
        assert float(row["score"]) == recomputed.score and float(row["max_score"]) == recomputed.max_score
        assert row["broken_clauses"].split() == recomputed.broken_clauses
        if clause is not None:
            assert clause in recomputed.broken_clauses, (name, row)
            assert int(row["fail"]) + int(row["non_strict"]) >= 1, row
        results = json.loads((folder / "results.json").read_text())
        assert results["score"] == recomputed.score
        assert {"visibility", "output", "tests"} <= set(results)
        for test in results["tests"]:
            assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test), test
            assert test["status"] in ("passed", "failed")
        assert sum(test["score"] for test in results["tests"]) == pytest.approx(results["score"])
    correct = float(rows["correct"]["score"])
    assert correct == float(rows["correct"]["max_score"]), rows["correct"]
    assert all(correct > float(rows[name]["score"]) for name in CLASS if name != "correct"), rows


def herdref_namespaces() -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if line.startswith("herdref-grade-")]


def test_a_class_on_the_same_ports_is_graded_in_parallel_namespaces(tmp_path: Path) -> None:
    reason = namespaces_unavailable()
    if reason is not None:
        pytest.skip(f"parallel jobs need {reason}")
    submissions, herd_file = make_class(tmp_path)
    out = tmp_path / "grades"
    completed = grade(
        str(submissions), "--launch", LAUNCH, "--config", str(herd_file), "--out", str(out),
        "--jobs", "3", "--gradescope", f"--validate-options={VALIDATE_OPTIONS}",
    )  # fmt: skip
    assert_class_graded(out, completed)
    assert "3 at a time in network namespaces" in completed.stderr, completed.stderr
    assert herdref_namespaces() == []


def test_without_namespaces_the_class_is_graded_one_at_a_time(tmp_path: Path) -> None:
    submissions, herd_file = make_class(tmp_path)
    out = tmp_path / "grades"
    completed = grade(
        str(submissions), "--launch", LAUNCH, "--config", str(herd_file), "--out", str(out),
        "--jobs", "3", "--no-netns", "--gradescope", f"--validate-options={NAMING_CHECKS_ONLY}",
    )  # fmt: skip
    assert_class_graded(out, completed)
    notices = [line for line in completed.stderr.splitlines() if "at a time" in line]
    assert notices[0] == "herdref grade: --no-netns: grading one submission at a time", completed.stderr
    assert "(one at a time)" in notices[-1]


HANGING_SERVER = """
import os, subprocess, sys, time
from pathlib import Path
# A helper in a session of its own (as validate gives each server): killing a process group
# misses it, only a walk of the process tree finds it.
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
Path(f"pid-{sys.argv[1]}").write_text(f"{os.getpid()} {helper.pid}")
time.sleep(600)
"""


#: Long enough for the folder without server.py to be found unreachable on a loaded two-core
#: machine (about 1 s alone; over 4 s was seen while three pytest workers shared the cores), short
#: enough that the hanging submission's wait stays a small part of the run.
BUDGET_S = 10


def test_a_submission_over_its_budget_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    herd_file = write_herd_file(tmp_path)
    submissions = tmp_path / "submissions"
    (submissions / "hangs").mkdir(parents=True)
    (submissions / "hangs" / "server.py").write_text(HANGING_SERVER)
    (submissions / "no_server").mkdir()
    out = tmp_path / "grades"
    temporary_folder = tmp_path / "tmp"
    temporary_folder.mkdir()
    completed = grade(
        str(submissions), "--launch", LAUNCH, "--config", str(herd_file), "--out", str(out),
        "--no-netns", "--budget", str(BUDGET_S), "--gradescope",
        "--validate-options=--quick --startup 60", "-v",
        temporary_folder=temporary_folder,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    # -v: each job says what it runs and where; the budget's kill is announced.
    assert "hangs: checking on this host" in completed.stderr
    assert f"hangs: over its {BUDGET_S} s budget, killing it" in completed.stderr
    rows = read_grades(out)
    assert (
        rows["hangs"]["status"] == "timeout"
        and rows["hangs"]["note"] == f"killed after the {BUDGET_S} s budget"
    )
    assert rows["hangs"]["score"] == "0"
    # The server that made itself a session leader was found and killed with the checker.
    pids = [int(pid) for path in (submissions / "hangs").glob("pid-*") for pid in path.read_text().split()]
    assert pids
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    # The killed validate could not remove its temporary files; grade removed the job's folder.
    assert list(temporary_folder.iterdir()) == []
    # A folder without server.py: its server exits at once; the row says why.
    assert rows["no_server"]["status"] == "unreachable", rows["no_server"]
    assert "server.py" in rows["no_server"]["note"] or "exited" in rows["no_server"]["note"]
    for name in ("hangs", "no_server"):
        page = (out / name / "report.html").read_text()
        assert f"{name} was not graded" in page and rows[name]["status"] in page
        results = json.loads((out / name / "results.json").read_text())
        assert results["score"] == 0 and results["tests"] == [] and rows[name]["status"] in results["output"]


def test_the_gradescope_bundle_grades_a_submission_in_an_autograder_folder(tmp_path: Path) -> None:
    herd_file = write_herd_file(tmp_path)
    bundle = tmp_path / "autograder.zip"
    made = subprocess.run(
        [
            sys.executable, "-m", "herdref", "gradescope-bundle",
            "--config", str(herd_file), "-o", str(bundle),
            "--launch", "python3 server.py {name}", f"--validate-options={NAMING_CHECKS_ONLY}",
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    submission = root / "submission"
    submission.mkdir()
    shutil.copy(BAD_HERDS / "_base.py", submission / "_base.py")
    shutil.copy(BAD_HERDS / "lowercase_commands.py", submission / "server.py")
    shutil.copy(herd_file, submission / "herd.toml")
    # python3 on PATH must be the Python that runs the tests (the submission's own servers too).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    environment = {
        **os.environ,
        "HERDREF_AUTOGRADER_ROOT": str(root),
        "HERDREF_SKIP_INSTALL": "1",
        "HERDREF_PYTHON": sys.executable,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH")])
        ),
    }
    setup = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert setup.returncode == 0 and "nothing installed" in setup.stdout, setup.stdout + setup.stderr
    ran = subprocess.run(
        [str(root / "source" / "run_autograder")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    document = json.loads((root / "results" / "herdref-reports" / "report.json").read_text())
    recomputed = score_report(document, Points())
    assert results["score"] == recomputed.score < recomputed.max_score
    failed = [test["name"] for test in results["tests"] if test["status"] == "failed"]
    assert any("(LEX-4)" in name for name in failed), failed


@pytest.mark.parametrize("isolation", ["netns", "no-netns"])
def test_ctrl_c_stops_every_job_and_deletes_every_namespace(tmp_path: Path, isolation: str) -> None:
    if isolation == "netns" and namespaces_unavailable() is not None:
        pytest.skip(f"parallel jobs need {namespaces_unavailable()}")
    herd_file = write_herd_file(tmp_path)
    submissions = tmp_path / "submissions"
    for name in ("first", "second"):
        (submissions / name).mkdir(parents=True)
        (submissions / name / "server.py").write_text(HANGING_SERVER)
    options = ["--jobs", "2"] if isolation == "netns" else ["--no-netns"]
    grading = subprocess.Popen(
        [
            sys.executable, "-m", "herdref", "grade", str(submissions), "--launch", LAUNCH,
            "--config", str(herd_file), "--out", str(tmp_path / "grades"), *options,
            "--validate-options=--quick --startup 120",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(
            lambda: len(list(submissions.glob("*/pid-*"))) >= (10 if isolation == "netns" else 5),
            deadline_s=60,
            what="the hanging servers started",
        )
        if isolation == "netns":
            assert len(herdref_namespaces()) == 2
        grading.send_signal(signal.SIGINT)
        _, stderr = grading.communicate(timeout=60)
    finally:
        if grading.poll() is None:
            grading.kill()
            grading.wait()
    assert grading.returncode == 130, stderr
    assert "herdref grade: interrupted" in stderr
    pids = [int(pid) for path in submissions.glob("*/pid-*") for pid in path.read_text().split()]
    wait_until(
        lambda: all(not Path(f"/proc/{pid}").exists() for pid in pids),
        deadline_s=10,
        what="every server and helper killed",
    )
    assert herdref_namespaces() == []


def test_without_the_ip_command_grade_says_so_in_one_line_and_runs_one_at_a_time(tmp_path: Path) -> None:
    herd_file = write_herd_file(tmp_path)
    submissions = tmp_path / "submissions"
    for name in ("first", "second"):
        (submissions / name).mkdir(parents=True)  # no server.py: unreachable at once
    bin_dir = tmp_path / "bin"  # a PATH with Python and without ip
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    completed = subprocess.run(
        [
            sys.executable, "-m", "herdref", "grade", str(submissions), "--launch", LAUNCH,
            "--config", str(herd_file), "--out", str(tmp_path / "grades"), "--jobs", "2",
            "--validate-options=--quick --startup 5",
        ],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PATH": str(bin_dir)},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    notices = [line for line in completed.stderr.splitlines() if "parallel jobs need" in line]
    prefix = "herdref grade: grading one submission at a time: parallel jobs need "
    # Non-root machines are told about root first; root ones about the missing ip command.
    assert [line.removeprefix(prefix) for line in notices] in (
        ["the ip command (iproute2)"],
        ["root (ip netns add)"],
    )
    assert "(one at a time)" in completed.stderr.splitlines()[-1]
    assert sorted(read_grades(tmp_path / "grades")) == ["first", "second"]
