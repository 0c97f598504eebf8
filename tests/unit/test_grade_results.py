"""grades.csv rows and Gradescope results.json from submission results, and how a batch judges
what validate left behind (no report, garbage, a report)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from herdref.grading.batch import Batch, GradeSettings, SubmissionResult, find_submissions
from herdref.grading.gradescope import results_document
from herdref.grading.points import Points, score_report
from herdref.grading.table import CSV_COLUMNS, write_grades_csv

REPORT = {
    "spec_profile": "lenient",
    "checks": [
        {"check": "skew", "clause": "AT-2", "level": "MUST", "verdict": "PASS", "summary": "", "title": "t"},
        {
            "check": "flood-all",
            "clause": "FLOOD-1",
            "level": "MUST",
            "verdict": "FAIL",
            "summary": "never reached Clark",
            "expected": "AT ...",
            "seen": "no record",
            "replay": "herdref validate --only flood-all",
            "transcript": ["+0.000s Bailey > b'IAMAT ...'"],
        },
        {"check": "places-radius-metres", "clause": "PLACES-2", "verdict": "UNSUPPORTED", "summary": "no"},
    ],
    "defects": [
        {
            "check": "flood-all",
            "verdict": "FAIL",
            "clause": "FLOOD-1",
            "level": "MUST",
            "summary": "never reached Clark",
            "blocks": ["flood-newest-wins"],
            "evidence": "#flood-all",
        }
    ],
}
REQUIRED_COLUMNS = (
    "submission,score,max_score,pass,fail,non_strict,blocked,unsupported,error,elapsed_s,broken_clauses"
)


def graded(name: str = "alice") -> SubmissionResult:
    return SubmissionResult(name, "graded", 1, 12.5, score=score_report(REPORT, Points()), report=REPORT)


def test_grades_csv_has_the_required_columns_and_a_row_per_submission(tmp_path: Path) -> None:
    never_started = SubmissionResult("bob", "unreachable", 4, 2.0, note="Bailey exited with status 3")
    path = tmp_path / "grades.csv"
    write_grades_csv(path, [never_started, graded()])
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert set(REQUIRED_COLUMNS.split(",")) <= set(CSV_COLUMNS)
    assert [row["submission"] for row in rows] == ["alice", "bob"]
    alice, bob = rows
    assert (alice["score"], alice["max_score"], alice["fail"], alice["unsupported"]) == ("1", "2", "1", "1")
    assert alice["broken_clauses"] == "FLOOD-1"
    # A submission without a report is out of the max_score the graded ones share.
    assert (bob["score"], bob["max_score"], bob["status"]) == ("0", "2", "unreachable")
    assert bob["note"] == "Bailey exited with status 3"


def test_results_json_follows_gradescope_and_adds_up() -> None:
    document = results_document(graded(), log_tail="", visibility="after_published")
    assert document["score"] == 1 and document["visibility"] == "after_published"
    tests = {test["name"]: test for test in document["tests"]}
    assert tests["skew (AT-2)"]["status"] == "passed" and tests["skew (AT-2)"]["max_score"] == 1
    flood = tests["flood-all (FLOOD-1)"]
    assert flood["status"] == "failed" and flood["score"] == 0
    assert "never reached Clark" in flood["output"] and "replay: herdref validate" in flood["output"]
    unsupported = tests["places-radius-metres (PLACES-2)"]
    assert unsupported["max_score"] == 0 and "not counted" in unsupported["output"]
    assert sum(test["score"] for test in document["tests"]) == document["score"]
    # The overall output opens with the diagnosis, as every report does.
    assert document["output"].splitlines()[1:] == [
        "",
        "Defects, in the order to fix them:",
        "1. FAIL flood-all (FLOOD-1, MUST): never reached Clark [blocks 1: flood-newest-wins]",
    ]


def test_results_json_of_a_submission_that_never_ran_says_why() -> None:
    result = SubmissionResult("bob", "timeout", None, 600.0, note="killed after the 600 s budget")
    document = results_document(result, log_tail="last words")
    assert document["score"] == 0 and document["tests"] == []
    assert "timeout" in document["output"] and "last words" in document["output"]


def _batch(tmp_path: Path) -> Batch:
    settings = GradeSettings(
        launch="x", config=tmp_path / "herd.toml", out_dir=tmp_path, points=Points(), budget_s=1
    )
    return Batch(settings, jobs=1, use_namespaces=False, on_result=lambda result: None)


def test_a_batch_tells_a_missing_a_garbage_and_a_good_report_apart(tmp_path: Path) -> None:
    batch = _batch(tmp_path)
    out = tmp_path / "alice"
    out.mkdir()
    (out / "validate.log").write_text("Traceback ...\nRuntimeError: boom\n")
    missing = batch._judge("alice", 1, out, 1.0)
    assert (missing.status, missing.note) == ("no-report", "RuntimeError: boom")
    (out / "report.json").write_text("{not json")
    garbage = batch._judge("alice", 1, out, 1.0)
    assert garbage.status == "garbage-report" and garbage.score is None
    (out / "report.json").write_text(json.dumps({"checks": [{"verdict": 3}]}))
    assert batch._judge("alice", 1, out, 1.0).status == "garbage-report"
    (out / "report.json").write_text(json.dumps(REPORT))
    good = batch._judge("alice", 1, out, 1.0)
    assert good.status == "graded" and good.score is not None and good.score.score == 1
    # validate writes its reports for an unreachable herd too (every check SKIPPED): nothing
    # was judged, so it is not graded, and the row keeps validate's reason.
    unreachable = batch._judge("alice", 4, out, 1.0)
    assert unreachable.status == "unreachable" and unreachable.score is None
    assert unreachable.note == "RuntimeError: boom"
    checker_error = batch._judge("alice", 5, out, 1.0)
    assert checker_error.status == "checker-error" and checker_error.score is not None


def test_submissions_are_the_visible_folders_but_the_output_folder(tmp_path: Path) -> None:
    for name in ("bob", "alice", ".git", "grades"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("x")
    found = find_submissions(tmp_path, single=False, out_dir=tmp_path / "grades")
    assert [path.name for path in found] == ["alice", "bob"]
    assert find_submissions(tmp_path / "alice", single=True) == [tmp_path / "alice"]
